"""The "Open a result" page as plain functions and through its upload route: a computed
landscape file is uploaded and its values are in the figure exactly; the metric, log and 3-D
switches; the training path; files that are not losslab results, and oversized ones, are
refused in one line that the page shows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from viewer_samples import computed

import losslab as ll
from losslab.errors import LosslabError
from losslab.web import create_app, viewer_files
from losslab.web.pages import viewer
from losslab.web.pages._shared import ERROR, NO
from losslab.web.pages.viewer import ID

NO_LOG: list = []


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return computed(tmp_path_factory.mktemp("viewer"))


@pytest.fixture(scope="module")
def client():
    return create_app([viewer.PAGE]).server.test_client()


def post(client, data: bytes, name: str):
    """What the page's browser half does with a chosen file: its bytes to the upload route."""
    response = client.post(
        viewer.UPLOAD_ROUTE,
        query_string={"name": name},
        data=data,
        content_type="application/octet-stream",
    )
    return response.status_code, response.get_json()


def sent(path) -> dict:
    """The upload route's answer for a file (as the plain function behind it gives it)."""
    return {"token": viewer_files.store_bytes(path.read_bytes(), path.name), "name": path.name}


def opened(land_path, *, view="contour", metric="loss", log=NO_LOG, run_path=None):
    """The page after uploading `land_path` (and `run_path`), then switching the controls."""
    files = viewer.show(ID.received, sent(land_path), None, "contour", None, NO_LOG, {}).files
    if run_path is not None:
        files = viewer.show(
            ID.run_received, None, sent(run_path), "contour", None, NO_LOG, files
        ).files
    return viewer.show(ID.view, None, None, view, metric, log, files)


def field(figure):
    (trace,) = [t for t in figure.data if t.name == "landscape"]
    return trace


def test_the_upload_route_keeps_a_landscape_and_the_page_draws_its_values(files, client):
    land_path, _ = files
    land = ll.load_result(land_path)
    status, answer = post(client, land_path.read_bytes(), "land.h5")
    assert status == 200 and answer["name"] == "land.h5"
    shown = viewer.show(ID.received, answer, None, "contour", None, NO_LOG, {})
    trace = field(shown.figure)
    assert trace.type == "contour"
    np.testing.assert_array_equal(np.asarray(trace.z), land.values["loss"].T)
    np.testing.assert_array_equal(np.asarray(trace.x), land.coords[0])
    np.testing.assert_array_equal(np.asarray(trace.y), land.coords[1])
    assert [o["value"] for o in shown.metrics] == ["loss", "accuracy"]
    assert "land.h5" in str(shown.about) and shown.message == "Showing land.h5."
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
    x, y = np.asarray(path.x, dtype=float), np.asarray(path.y, dtype=float)
    inside = np.isfinite(x)
    assert inside.sum() >= 2
    np.testing.assert_allclose(x[inside], expected[inside, 0])
    np.testing.assert_allclose(y[inside], expected[inside, 1])
    assert "run.json" in str(shown.about)
    removed = viewer.show(ID.clear_run, None, None, "contour", "loss", NO_LOG, shown.files)
    assert "run" not in removed.files
    assert not [t for t in removed.figure.data if "trajectory" in str(t.name)]


def test_a_training_run_alone_shows_its_loss(files):
    _, run_path = files
    run = ll.load_result(run_path)
    shown = viewer.show(ID.received, sent(run_path), None, "contour", None, NO_LOG, {})
    (curve,) = [t for t in shown.figure.data if t.meta == "curve"]
    np.testing.assert_array_equal(np.asarray(curve.y), run.train_loss.numpy())


def test_a_file_that_is_not_a_result_is_refused_in_one_line(tmp_path, client):
    status, answer = post(client, b"not an hdf5 file at all", "notes.h5")
    assert status == 200 and "notes.h5" in answer["error"] and "\n" not in answer["error"]
    status, answer = post(client, b"hello", "notes.txt")
    assert status == 200 and "not a losslab result file" in answer["error"]
    status, answer = post(client, b'{"hello": 1}', "fake.json")
    assert status == 200 and "fake.json" in answer["error"]
    with pytest.raises(LosslabError, match="fake.json"):
        viewer_files.store_bytes(b'{"hello": 1}', "fake.json")


def test_the_page_shows_a_refusal_as_a_visible_message(client):
    """The route's refusal reaches the page's message line, in red; the figure and the open
    file stay as they were."""
    _, answer = post(client, b'{"hello": 1}', "fake.json")
    values = viewer.answer(
        ID.received, answer, None, "contour", None, NO_LOG, {"result": viewer.EXAMPLE}
    )
    out = dict(zip([f.name for f in dataclasses.fields(viewer.Shown)], values, strict=True))
    assert out["level"] == ERROR
    assert "fake.json" in out["message"] and "\n" not in out["message"]
    assert out["figure"] is NO and out["files"] is NO


def test_an_oversize_upload_is_refused(monkeypatch, files, client):
    land_path, _ = files
    monkeypatch.setattr(viewer_files, "MAX_UPLOAD_BYTES", 1000)
    status, answer = post(client, land_path.read_bytes(), "land.h5")
    assert status == 413 and "larger than" in answer["error"]
    assert "losslab view land.h5" in answer["error"]


def test_callback_requests_keep_the_small_limit(client):
    response = client.post(
        "/_dash-update-component", data=b"x" * (3 * 1024 * 1024), content_type="application/json"
    )
    assert response.status_code == 413


def test_tokens_never_name_a_server_path():
    for token in ("../../etc/passwd", "/etc/passwd", "a" * 63, None, 5):
        with pytest.raises(LosslabError, match="damaged"):
            viewer_files.opened(token)


def test_the_page_opens_with_the_files_given_to_losslab_view(monkeypatch, tmp_path):
    """With both files given, the page's first answer draws the landscape and the path."""
    from losslab.web.viewer_files import PRELOAD_ENV, PRELOAD_RUN_ENV

    land, run = computed(tmp_path)
    monkeypatch.setenv(PRELOAD_ENV, str(land))
    monkeypatch.setenv(PRELOAD_RUN_ENV, str(run))
    files = viewer.first_files()
    shown = viewer.show(None, None, None, "contour", None, [], files)
    names = [t.name for t in shown.figure.data]
    assert "landscape" in names and "training trajectory (projected)" in names
    assert "land.h5" in str(shown.about) and "run.json" in str(shown.about)
