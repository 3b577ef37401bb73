"""plotly views of a Landscape: a trace per view, the same overlays as the static views."""

import numpy as np
import plotly.graph_objects as go
import pytest
from test_slices import landscape_1d, landscape_2d, on_slice

from losslab.errors import LosslabError
from losslab.plot import interactive
from losslab.plot.export import save_figure


def traces(fig: go.Figure, meta: str) -> list:
    return [t for t in fig.data if t.meta == meta]


def test_2d_view_has_a_surface_in_a_scene_and_a_contour_beside_it():
    land = landscape_2d()
    fig = interactive.slice_view(land)
    surface, contour = traces(fig, "landscape")
    assert isinstance(surface, go.Surface) and surface.scene == "scene"
    assert isinstance(contour, go.Contour) and contour.xaxis == "x"
    assert surface.showscale is False and contour.colorbar.title.text == "loss"
    # 'ij' values drawn as plotly's 'xy': z[j][i] at (x[i], y[j])
    np.testing.assert_array_equal(np.asarray(contour.z), land.values["loss"].T)
    np.testing.assert_array_equal(np.asarray(surface.z), land.values["loss"].T)
    assert fig.layout.xaxis.title.text == "direction 1 (filter-normalized, seed 0)"
    assert fig.layout.yaxis.title.text == "direction 2 (filter-normalized, seed 0)"
    assert fig.layout.scene.xaxis.title.text == "direction 1"
    assert tuple(fig.layout.xaxis.range) == (-1.0, 1.0)
    # Each marker is drawn in both views; the legend lists it once.
    origins = traces(fig, "origin")
    assert len(origins) == 2 and [t.showlegend for t in origins] == [False, True]
    best_3d, best_2d = traces(fig, "best")
    assert (best_2d.x[0], best_2d.y[0]) == tuple(land.point(land.argmin()))
    assert (best_3d.x[0], best_3d.y[0]) == tuple(land.point(land.argmin()))


def test_trajectory_is_projected_and_cut_at_the_window_in_both_views():
    land = landscape_2d()
    coords = np.array([[3.0, 0.0], [0.5, 0.2], [0.0, 0.0]])
    fig = interactive.slice_view(land, trajectory=on_slice(land, coords))
    path_3d, path_2d = traces(fig, "trajectory")
    expected = land.project(on_slice(land, coords))
    np.testing.assert_allclose(np.asarray(path_2d.x, float)[1:], expected[1:, 0])
    assert np.isnan(np.asarray(path_2d.x, float)[0])
    np.testing.assert_allclose(np.asarray(path_3d.y, float)[1:], expected[1:, 1], atol=1e-12)
    assert traces(fig, "start") == [] and len(traces(fig, "end")) == 2
    assert tuple(fig.layout.xaxis.range) == (-1.0, 1.0)


def test_log_and_metric_choice():
    land = landscape_2d()
    fig = interactive.slice_contour(land, log=True)
    (contour,) = traces(fig, "landscape")
    assert contour.colorbar.title.text == "log10(loss)"
    np.testing.assert_allclose(np.asarray(contour.z), np.log10(land.values["loss"].T))
    fig = interactive.slice_surface(land, metric="accuracy")
    (surface,) = traces(fig, "landscape")
    assert surface.colorbar.title.text == "accuracy" and surface.showscale
    assert traces(fig, "best")[0].name.startswith("grid maximum of accuracy")
    with pytest.raises(LosslabError, match="metric == 'nope'"):
        interactive.slice_view(land, metric="nope")


def test_marked_points_in_both_views():
    land = landscape_2d()
    fig = interactive.slice_view(land, mark={"normal equation": on_slice(land, [[0.2, 0.1]])[0]})
    marks = traces(fig, "mark")
    assert len(marks) == 2
    assert marks[1].x[0] == pytest.approx(0.2) and marks[1].y[0] == pytest.approx(0.1)
    assert marks[1].name == "normal equation (0.2, 0.1)"


def test_1d_curve_with_accuracy_on_a_second_y_axis_and_the_interpolation_ends():
    land = landscape_1d()
    fig = interactive.slice_view(land)
    (curve,) = traces(fig, "curve")
    (accuracy,) = traces(fig, "secondary")
    np.testing.assert_array_equal(np.asarray(curve.y), land.values["loss"])
    assert curve.yaxis == "y" and accuracy.yaxis == "y2"
    assert fig.layout.yaxis2.title.text == "accuracy"
    anchors = [(t.name, t.x[0]) for t in traces(fig, "anchor")]
    assert anchors == [("a (start)", 0.0), ("b (end)", 1.0)]
    assert fig.layout.xaxis.title.text == "interpolation \u03b1 (0 = start, 1 = end)"


def test_interactive_reexports_and_html_export(tmp_path):
    path = save_figure(interactive.slice_view(landscape_2d()), tmp_path / "slice.html")
    text = path.read_text()
    assert "<html" in text and len(text) > 1_000_000  # plotly.js embedded: works offline
    assert "https://cdn.plot.ly/plotly" not in text
