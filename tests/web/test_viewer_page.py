"""The "Open a result" page's callback as a plain function: a computed landscape file is
uploaded and its values are in the figure exactly; the metric, log and 3-D switches; the
training path; files that are not losslab results, and oversized ones, are refused in one line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from viewer_samples import computed, data_url

import losslab as ll
from losslab.errors import LosslabError
from losslab.web import viewer_files
from losslab.web.pages import viewer
from losslab.web.pages._shared import ERROR, NO
from losslab.web.pages.viewer import ID

NO_LOG: list = []


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return computed(tmp_path_factory.mktemp("viewer"))


def opened(land_path, *, view="contour", metric="loss", log=NO_LOG, run_path=None):
    """The page after uploading `land_path` (and `run_path`), then switching the controls."""
    first = viewer.show(
        ID.upload, data_url(land_path), land_path.name, None, None, "contour", None, NO_LOG, {}
    )
    files = first.files
    if run_path is not None:
        files = viewer.show(
            ID.run_upload,
            None,
            None,
            data_url(run_path),
            run_path.name,
            "contour",
            None,
            NO_LOG,
            files,
        ).files
    return viewer.show(ID.view, None, None, None, None, view, metric, log, files)


def field(figure):
    (trace,) = [t for t in figure.data if t.name == "landscape"]
    return trace


def test_an_uploaded_landscape_is_drawn_with_its_values(files):
    land_path, _ = files
    land = ll.load_result(land_path)
    shown = opened(land_path)
    trace = field(shown.figure)
    assert trace.type == "contour"
    np.testing.assert_array_equal(np.asarray(trace.z), land.values["loss"].T)
    np.testing.assert_array_equal(np.asarray(trace.x), land.coords[0])
    np.testing.assert_array_equal(np.asarray(trace.y), land.coords[1])
    assert [o["value"] for o in shown.metrics] == ["loss", "accuracy"]
    assert "land.h5" in str(shown.about)
    assert "%{x" in trace.hovertemplate and "%{y" in trace.hovertemplate
    assert "loss = %{z" in trace.hovertemplate


def test_metric_log_and_3d_switches(files):
    land_path, _ = files
    land = ll.load_result(land_path)
    accuracy = field(opened(land_path, metric="accuracy").figure)
    np.testing.assert_array_equal(np.asarray(accuracy.z), land.values["accuracy"].T)
    logged = field(opened(land_path, log=["log"]).figure)
    np.testing.assert_allclose(np.asarray(logged.z), np.log10(land.values["loss"].T))
    np.testing.assert_array_equal(np.asarray(logged.customdata), land.values["loss"].T)
    surface = field(opened(land_path, view="3d").figure)
    assert surface.type == "surface"
    np.testing.assert_array_equal(np.asarray(surface.customdata), land.values["loss"].T)


def test_the_training_path_is_projected_into_the_slice(files):
    land_path, run_path = files
    land, run = ll.load_result(land_path), ll.load_result(run_path)
    shown = opened(land_path, run_path=run_path)
    (path,) = [t for t in shown.figure.data if t.name == "training trajectory (projected)"]
    expected = land.project(run.params.numpy())
    inside = np.isfinite(np.asarray(path.x, dtype=float))
    assert inside.sum() >= 2
    np.testing.assert_allclose(np.asarray(path.x, dtype=float)[inside], expected[inside, 0])
    np.testing.assert_allclose(np.asarray(path.y, dtype=float)[inside], expected[inside, 1])
    assert "run.json" in str(shown.about)


def test_a_training_run_alone_shows_its_loss(files):
    _, run_path = files
    run = ll.load_result(run_path)
    shown = viewer.show(
        ID.upload, data_url(run_path), "run.json", None, None, "contour", None, NO_LOG, {}
    )
    (curve,) = [t for t in shown.figure.data if t.meta == "curve"]
    np.testing.assert_array_equal(np.asarray(curve.y), run.train_loss.numpy())


def test_a_file_that_is_not_a_result_is_refused_in_one_line(tmp_path):
    fake = tmp_path / "notes.h5"
    fake.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(LosslabError) as caught:
        viewer.show(ID.upload, data_url(fake), "notes.h5", None, None, "contour", None, NO_LOG, {})
    assert "\n" not in str(caught.value) and "notes.h5" in str(caught.value)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(LosslabError, match="not a losslab result file"):
        viewer_files.store_upload(data_url(text), "notes.txt")


def test_the_page_shows_a_refusal_as_a_visible_message(tmp_path):
    """Through the page's callback: the message component gets the one line, in red, and
    the figure and the open file stay as they were."""
    fake = tmp_path / "fake.json"
    fake.write_text('{"hello": 1}')
    values = viewer.answer(
        ID.upload,
        data_url(fake),
        "fake.json",
        None,
        None,
        "contour",
        None,
        NO_LOG,
        {"result": "example"},
    )
    fields = [f.name for f in dataclasses.fields(viewer.Shown)]
    out = dict(zip(fields, values, strict=True))
    assert out["level"] == ERROR
    assert "fake.json" in out["message"] and "\n" not in out["message"]
    assert out["figure"] is NO and out["files"] is NO


def test_an_oversize_upload_is_refused_before_decoding(monkeypatch, files):
    land_path, _ = files
    monkeypatch.setattr(viewer_files, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(LosslabError, match="larger than") as caught:
        viewer_files.store_upload(data_url(land_path), "land.h5")
    assert "losslab view" in str(caught.value)


def test_tokens_never_name_a_server_path():
    for token in ("../../etc/passwd", "/etc/passwd", "a" * 63, None, 5):
        with pytest.raises(LosslabError, match="damaged"):
            viewer_files.opened(token)
