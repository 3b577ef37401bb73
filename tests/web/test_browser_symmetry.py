"""The symmetry page in a real browser: tap two neurons of one hidden layer in the diagram, and
the page shows them swapped while both networks' outputs stay the same; a tap in another layer
is refused with a message; the staged paths arrive.

Trace arrays are read from `gd._fullData` (plotly >= 6 keeps `gd.data` arrays base64-encoded).
"""

from __future__ import annotations

import pytest
from browser_js import GRAPH_READY, MESSAGE_HAS

pytestmark = pytest.mark.browser

GRAPH = "symmetry-graph"
# Page px of the node at (column, position), from the drawn nodes trace.
NODE_AT = """([column, position]) => {
  const gd = window.losslab.plotDiv('symmetry-graph');
  const nodes = gd._fullData.find(t => t.meta === 'nodes');
  const k = nodes.customdata.findIndex(c => c[0] === column && c[1] === position);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.d2p(nodes.x[k]),
          y: box.top + ya._offset + ya.d2p(nodes.y[k])};
}"""
COLUMN_NAMES = """(column) => {
  const nodes = window.losslab.plotDiv('symmetry-graph')._fullData.find(t => t.meta === 'nodes');
  return nodes.customdata.map((c, k) => [c[0], nodes.text[k]])
    .filter(([c]) => c === column).map(([, name]) => name);
}"""
# The largest difference between the two boundary maps' values (the networks' margins).
BOUNDARY_GAP = """() => {
  const data = window.losslab.plotDiv('symmetry-boundary')._fullData;
  const [a, b] = ['boundary-trained', 'boundary-swapped'].map(m => data.find(t => t.meta === m).z);
  let gap = 0;
  a.forEach((row, i) => row.forEach((v, j) => { gap = Math.max(gap, Math.abs(v - b[i][j])); }));
  return {gap, n: a.length * a[0].length};
}"""


def tap(page, column: int, position: int) -> None:
    where = page.evaluate(NODE_AT, [column, position])
    page.mouse.click(where["x"], where["y"])


def test_two_taps_swap_two_neurons_and_the_outputs_stay_the_same(page, lab_url, tmp_path):
    page.goto(lab_url + "/symmetry")
    page.wait_for_function(GRAPH_READY, arg=[GRAPH, 1])
    page.locator("#" + GRAPH).scroll_into_view_if_needed()
    assert page.evaluate(COLUMN_NAMES, 1) == list("ABCDEFGH")

    tap(page, 1, 2)
    page.wait_for_function(MESSAGE_HAS, arg=["symmetry-message", "Picked C"])
    tap(page, 1, 5)
    page.wait_for_function(MESSAGE_HAS, arg=["symmetry-swap-list", "C\u2194F"])
    assert "Swapped C and F" in page.inner_text("#symmetry-message")
    assert page.evaluate(COLUMN_NAMES, 1) == list("ABFDECGH")  # F where C was, and back
    assert page.evaluate(COLUMN_NAMES, 2) == list("IJKLMNOP")
    difference = float(page.inner_text("#symmetry-difference"))
    assert 0 <= difference < 1e-5
    assert float(page.inner_text("#symmetry-distance")) > 1.0
    boundary = page.evaluate(BOUNDARY_GAP)
    assert boundary["n"] == 80 * 80 and boundary["gap"] < 1e-5
    page.screenshot(path=str(tmp_path / "symmetry-swapped.png"), full_page=True)

    # J of hidden layer 2, then B of hidden layer 1: refused, J still picked.
    tap(page, 2, 1)
    page.wait_for_function(MESSAGE_HAS, arg=["symmetry-message", "Picked J"])
    tap(page, 1, 1)
    page.wait_for_function(MESSAGE_HAS, arg=["symmetry-message", "only neurons of one layer"])
    assert page.evaluate(COLUMN_NAMES, 1) == list("ABFDECGH")

    # Part 2's stages ran on their own: three paths and their barriers.
    try:
        page.wait_for_function(MESSAGE_HAS, arg=["symmetry-status", "Ready"], timeout=60_000)
    except Exception as error:  # say where the stages stopped
        status = page.inner_text("#symmetry-status")
        progress = page.evaluate("() => document.getElementById('symmetry-progress').value")
        raise AssertionError(f"stages stopped at {progress}: {status!r}") from error
    metas = "() => window.losslab.plotDiv('symmetry-paths')._fullData.map(t => t.meta)"
    assert {"path-before", "path-after", "path-bezier"} <= set(page.evaluate(metas))
    before = float(page.inner_text("#symmetry-barrier-before"))
    after = float(page.inner_text("#symmetry-barrier-after"))
    assert after < before
