"""The "Open a result" page in a real browser: a computed landscape file chosen in the page's
upload box is drawn, and the values read back from the plot (`gd._fullData`) are the file's;
the training path is added; a file that is not a losslab result is refused on the page."""

from __future__ import annotations

import numpy as np
import pytest
from browser_js import MESSAGE_HAS
from viewer_samples import computed

import losslab as ll

pytestmark = pytest.mark.browser

GRAPH = "viewer-graph"
# The drawn landscape's grid and values, and the projected path, as plotly holds them.
DRAWN = """() => {
  const gd = window.losslab.plotDiv('viewer-graph');
  const field = gd._fullData.find(t => t.name === 'landscape');
  const path = gd._fullData.find(t => t.name === 'training trajectory (projected)');
  return {type: field.type, x: Array.from(field.x), y: Array.from(field.y),
          z: field.z.map(row => Array.from(row)),
          hover: field.hovertemplate,
          path: path ? {x: Array.from(path.x), y: Array.from(path.y)} : null};
}"""
SHOWS = """([graph, name]) => {
  const gd = window.losslab && window.losslab.plotDiv(graph);
  return !!(gd && gd._fullData && gd._fullData.some(t => t.name === name));
}"""


def choose(page, upload: str, path) -> None:
    page.set_input_files(f"#{upload} input[type=file]", str(path))


def test_an_uploaded_landscape_is_drawn_with_the_files_values(page, lab_url, tmp_path):
    land_path, run_path = computed(tmp_path)
    land, run = ll.load_result(land_path), ll.load_result(run_path)
    page.goto(lab_url + "/viewer")
    page.wait_for_function(SHOWS, arg=[GRAPH, "landscape"])  # the example
    choose(page, "viewer-upload", land_path)
    page.wait_for_function(MESSAGE_HAS, arg=["viewer-message", "Showing land.h5"])
    drawn = page.evaluate(DRAWN)
    assert drawn["type"] == "contour"
    np.testing.assert_array_equal(np.array(drawn["x"]), land.coords[0])
    np.testing.assert_array_equal(np.array(drawn["y"]), land.coords[1])
    np.testing.assert_array_equal(np.array(drawn["z"]), land.values["loss"].T)
    assert drawn["path"] is None

    choose(page, "viewer-run-upload", run_path)
    page.wait_for_function(SHOWS, arg=[GRAPH, "training trajectory (projected)"])
    path = page.evaluate(DRAWN)["path"]
    expected = land.project(run.params.numpy())
    x = np.array([np.nan if v is None else v for v in path["x"]], dtype=float)
    y = np.array([np.nan if v is None else v for v in path["y"]], dtype=float)
    inside = np.isfinite(x)
    assert inside.sum() >= 2
    np.testing.assert_allclose(x[inside], expected[inside, 0])
    np.testing.assert_allclose(y[inside], expected[inside, 1])


def test_a_file_that_is_not_a_result_is_refused_on_the_page(page, lab_url, tmp_path):
    fake = tmp_path / "fake.json"
    fake.write_text('{"hello": 1}')
    page.goto(lab_url + "/viewer")
    page.wait_for_function(SHOWS, arg=[GRAPH, "landscape"])
    choose(page, "viewer-upload", fake)
    page.wait_for_function(MESSAGE_HAS, arg=["viewer-message", "fake.json"])
    message = page.locator("#viewer-message")
    assert "ll-error" in message.get_attribute("class")
    assert message.is_visible() and "\n" not in message.inner_text().strip()
