"""The scene: every number, colour and size of a picture decided once, in plain data, and
both backends drawing the same scene elements from it.

Oracles: a plain per-point loop for interpolation, closed forms for the colour transform,
the style table for sizes and colours, a saved-and-loaded Landscape for the file round trip.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

import losslab as ll
from losslab import optim
from losslab.errors import LosslabError
from losslab.plot import backend_mpl, backend_plotly, build, interactive, pictures, static, style
from losslab.plot.scene import (
    ColourScale,
    Field,
    LegendEntry,
    Markers,
    Path,
    Scene,
    interpolate,
)


@pytest.fixture(scope="module")
def race():
    """Three runs on Rosenbrock (one diverges) and the scene of their contour."""
    rosenbrock = ll.surface("rosenbrock")
    runs = ll.race(
        rosenbrock, [optim.gd(1e-3), optim.momentum(1e-3), optim.gd(0.05)], (-1.5, 2.0), 40
    )
    assert any(run.diverged for run in runs)
    scene = pictures.contour(rosenbrock, trajectories=runs, resolution=30, gradient_field=True)
    return rosenbrock, runs, scene


# -- the one colour transform -------------------------------------------------------------------


def test_colour_scale_is_log10_f_when_positive_and_shifted_otherwise():
    values = np.array([[-2.0, 0.0], [1.0, 100.0]])
    scale = ColourScale.of(values, log=True)
    assert scale.label.startswith("log10(f - min + 1e-12)")
    z = scale.transform(values, clamp=False)
    assert np.isfinite(z).all()
    assert z[0, 0] == pytest.approx(-12.0)
    assert z[1, 1] == pytest.approx(math.log10(102.0 + 1e-12))
    positive = ColourScale.of(np.array([0.5, 5.0, 50.0]), log=True)
    assert positive.label == "log10(f)"
    np.testing.assert_allclose(
        positive.transform([0.5, 5.0, 50.0], clamp=False), np.log10([0.5, 5.0, 50.0])
    )
    # The range starts at the 0.2% quantile of the logs; a value below it (a run ending lower
    # than the grid) is clamped there, never given log(< 0).
    grid = np.geomspace(1e-3, 1e3, 1001)
    scale = ColourScale.of(grid, log=True)
    assert scale.lo == pytest.approx(np.quantile(np.log10(grid), 0.002))
    assert scale.transform([1e-9])[0] == pytest.approx(scale.lo)
    linear = ColourScale.of(np.array([1.0, np.nan, 3.0]), log=False)
    assert (linear.lo, linear.hi, linear.label) == (1.0, 3.0, "f (blank: not finite)")
    with pytest.raises(LosslabError, match="not finite anywhere"):
        ColourScale.of(np.array([np.nan, np.inf]), log=False)


def test_colour_scale_round_trips_through_a_dict_and_refuses_a_damaged_one():
    scale = ColourScale.of(np.array([0.0, 1.0, 10.0]), log=True)
    assert ColourScale.from_dict(scale.to_dict()) == scale
    for damaged in ({}, {**scale.to_dict(), "lo": "x"}, {**scale.to_dict(), "hi": scale.lo}):
        with pytest.raises(LosslabError, match="damaged"):
            ColourScale.from_dict(damaged)


def test_heights_on_a_surface_follow_the_scale_with_one_lift():
    linear = ColourScale.of(np.array([0.0, 10.0]), log=False)
    lift = style.SURFACE_LIFT * 10.0
    np.testing.assert_allclose(linear.height([-5.0, 3.0]), [-5.0 + lift, 3.0 + lift])
    log = ColourScale.of(np.array([1.0, 100.0]), log=True)
    # log: clipped to the colour range, as the surface is
    np.testing.assert_allclose(log.height([1e6]), [2.0 + style.SURFACE_LIFT * (2.0 - log.lo)])


# -- the one interpolation rule -----------------------------------------------------------------


def _loop_bilinear(x, y, values, px, py):
    """Oracle: find the cell by a plain loop, interpolate; NaN outside."""
    if not (x[0] <= px <= x[-1] and y[0] <= py <= y[-1]):
        return math.nan
    i = max(k for k in range(len(x) - 1) if x[k] <= px) if px < x[-1] else len(x) - 2
    j = max(k for k in range(len(y) - 1) if y[k] <= py) if py < y[-1] else len(y) - 2
    s = (px - x[i]) / (x[i + 1] - x[i])
    t = (py - y[j]) / (y[j + 1] - y[j])
    return (
        (1 - s) * (1 - t) * values[i, j]
        + s * (1 - t) * values[i + 1, j]
        + (1 - s) * t * values[i, j + 1]
        + s * t * values[i + 1, j + 1]
    )


def test_interpolation_is_bilinear_inside_and_nan_outside_the_window():
    rng = np.random.default_rng(0)
    x, y = np.linspace(-1, 2, 7), np.linspace(0, 1, 5)
    values = rng.normal(size=(7, 5))
    points = np.column_stack([rng.uniform(-1.5, 2.5, 200), rng.uniform(-0.3, 1.3, 200)])
    points = np.vstack([points, [[2.0, 1.0], [-1.0, 0.0], [np.nan, 0.5]]])
    got = interpolate((x, y), values, points)
    expected = [_loop_bilinear(x, y, values, px, py) for px, py in points]
    np.testing.assert_allclose(got, expected, equal_nan=True, atol=1e-12)
    assert np.isnan(got).sum() == sum(math.isnan(e) for e in expected) > 10
    assert np.isnan(style.OUTSIDE_WINDOW)
    # 1-D: the same rule
    np.testing.assert_allclose(
        interpolate((x,), values[:, 0], [[-1.0], [0.25], [3.0]]),
        [values[0, 0], 0.5 * (values[2, 0] + values[3, 0]), np.nan],
        equal_nan=True,
    )


def test_both_backends_lift_a_path_by_the_same_rule_and_break_it_outside_the_window():
    from losslab.landscapes.result import Landscape

    x, y = np.linspace(-1, 1, 11), np.linspace(-1, 1, 9)
    values = np.add.outer(x**2, y**2)
    land = Landscape((x, y), {"loss": values}, np.zeros(2), np.eye(2), {})
    inside = np.array([[0.0, 0.0], [0.5, 0.5], [0.95, -0.3], [3.0, 0.0]])
    panel = build.slice_surface_panel(land, trajectory=inside)
    (path,) = panel.find(Path, "trajectory")
    expected = ColourScale.of(values, False, "loss").height(
        [_loop_bilinear(x, y, values, px, py) for px, py in inside]
    )
    np.testing.assert_allclose(path.z, expected, equal_nan=True)
    assert np.isnan(path.z[-1]) and np.isfinite(path.z[:-1]).all()
    scene = Scene((panel,))
    fig = backend_plotly.draw(scene)
    (trace,) = [t for t in fig.data if t.meta == "trajectory"]
    ax = backend_mpl.draw(scene).axes[0]
    (line,) = [a for a in ax.lines if a.get_gid() == "losslab-trajectory"]
    np.testing.assert_allclose(np.asarray(trace.z, dtype=float), path.z, equal_nan=True)
    np.testing.assert_allclose(line.get_data_3d()[2], path.z, equal_nan=True)


# -- the scene holds the numbers ----------------------------------------------------------------


def test_contour_scene_holds_the_grid_runs_and_markers(race):
    rosenbrock, runs, scene = race
    panel = scene.panel
    (field,) = panel.find(Field)
    grid = ll.evaluate_grid(rosenbrock, resolution=30)
    np.testing.assert_array_equal(field.values, grid.values["loss"])  # 'ij', straight through
    assert field.scale.log and field.scale.label == "log10(f)"
    paths = panel.find(Path, "path")
    assert [p.colour for p in paths] == ["#1f77b4", "#ff7f0e", style.EXTRA_COLOURS[0]]
    for path, run in zip(paths, runs, strict=True):
        assert len(path.x) == run.stopped_at + 1 and path.status == run.status
        np.testing.assert_array_equal(path.values, run.losses[: run.stopped_at + 1].numpy())
    assert len(panel.find(Markers, "start")) == 3
    assert len(panel.find(Markers, "end")) + len(panel.find(Markers, "diverged")) == 3
    (cross,) = panel.find(Markers, "diverged")
    assert cross.style == "diverged" and style.MARKERS["diverged"].colour == style.DIVERGED_COLOUR
    (minimum,) = panel.find(Markers, "minimum")
    assert (minimum.x[0], minimum.y[0]) == (1.0, 1.0)
    assert [e.label for e in panel.find(LegendEntry)] == ["start", "end", "diverged"]
    assert panel.x.range == (-2.0, 2.0) and panel.y.range == (-1.0, 3.0) and panel.equal


def test_scene_modules_import_without_matplotlib_or_plotly():
    code = (
        "import sys\n"
        "for name in ('matplotlib', 'plotly'):\n"
        "    sys.modules[name] = None\n"
        "import losslab as ll\n"
        "from losslab.plot import build, pictures, scene, style\n"
        "s = pictures.contour(ll.surface('bowl'), resolution=5)\n"
        "assert s.panel.find(scene.Field)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- both backends draw the same scene ----------------------------------------------------------


def _mpl_by_gid(ax) -> dict[str, list]:
    out: dict[str, list] = {}
    for artist in ax.get_children():
        if artist.get_gid():
            out.setdefault(artist.get_gid().removeprefix("losslab-"), []).append(artist)
    return out


def _plotly_by_meta(fig) -> dict[str, list]:
    out: dict[str, list] = {}
    for trace in fig.data:
        out.setdefault(str(trace.meta), []).append(trace)
    return out


def test_both_backends_draw_the_same_elements_colours_and_sizes(race):
    _, runs, scene = race
    ax = backend_mpl.draw(scene).axes[0]
    fig = backend_plotly.draw(scene)
    mpl, ply = _mpl_by_gid(ax), _plotly_by_meta(fig)
    for name in ("path", "start", "end", "diverged", "minimum"):
        items = scene.panel.find(Path if name == "path" else Markers, name)
        assert len(mpl[name]) == len(ply[name]) == len(items) > 0, name
    # The same colours: each path in its run's colour, in both.
    for line, trace, item in zip(mpl["path"], ply["path"], scene.panel.find(Path), strict=True):
        assert line.get_color() == trace.line.color == item.colour
    # The same end-marker sizes, from the one table (plotly in px = pt * 4/3).
    for name in ("start", "end", "diverged", "minimum"):
        look = style.MARKERS[name]
        assert {a.get_markersize() for a in mpl[name]} == {look.size}
        sizes = [t.marker.size for t in ply[name]]
        scale = style.PLOTLY_SYMBOL_SCALE.get(look.symbol, 1.0)
        assert sizes == [pytest.approx(look.size * style.PX_PER_PT * scale)] * len(sizes)
        assert {t.marker.symbol for t in ply[name]} == {style.SYMBOLS[look.symbol][1]}
        assert {a.get_marker() for a in mpl[name]} == {style.SYMBOLS[look.symbol][0]}
    for line, trace in zip(mpl["end"], ply["end"], strict=True):
        assert line.get_markerfacecolor() == trace.marker.color  # the run's colour
    assert ply["diverged"][0].marker.color == style.DIVERGED_COLOUR
    assert mpl["diverged"][0].get_color() == style.DIVERGED_COLOUR
    # The same gradient field: one arrow per point of the 20 x 20 grid in both.
    (quiver,) = mpl["gradient"]
    (arrows,) = scene.panel.find(type(scene.panel.items[1]))
    assert quiver.N == len(arrows.tails) == 400
    assert sum(x is None for x in ply["gradient"][0].x) == 2 * 400  # shaft + head, None each
    # The same colour range.
    (field,) = scene.panel.find(Field)
    (contour,) = ply["landscape"]
    assert (contour.zmin, contour.zmax) == (field.scale.lo, field.scale.hi)
    filled = mpl["landscape"][0]
    assert (filled.levels[0], filled.levels[-1]) == pytest.approx((field.scale.lo, field.scale.hi))


def test_one_dimensional_scenes_draw_alike(tmp_path):
    well = ll.surface("double_well")
    runs = ll.race(well, [optim.gd(0.05), optim.momentum(0.05)], (2.2,), 40)
    scene = pictures.curve_1d(well, trajectories=runs, resolution=100)
    ax = backend_mpl.draw(scene).axes[0]
    fig = backend_plotly.draw(scene)
    mpl, ply = _mpl_by_gid(ax), _plotly_by_meta(fig)
    assert len(mpl["path"]) == len(ply["path"]) == 2
    assert len(mpl["steps"][0].get_facecolors()) == len(ply["path"][0].marker.color)
    # Minima sit on the curve by the one interpolation rule in both.
    (minimum,) = scene.panel.find(Markers, "minimum")
    np.testing.assert_allclose(mpl["minimum"][0].get_ydata(), minimum.y)
    np.testing.assert_allclose(ply["minimum"][0].y, minimum.y)
    # f'(x) in the boxes comes from the objective's gradient at each run's end
    _, grads = well.value_and_grad(torch.tensor([[runs[0].params[-1, 0].item()]]))
    texts = [t.get_text() for t in ax.texts]
    assert f"f'(x) = {float(grads[0, 0]):.4g}" in texts[0]
    assert [a.text for a in fig.layout.annotations] == texts


def test_plotly_raster_option_keeps_trace_indices_and_draws_an_image(race):
    _, _, scene = race
    plain = backend_plotly.draw(scene)
    fast = backend_plotly.draw(scene, raster=True, hover_stride=3, uirevision="r", datarevision=7)
    assert [t.meta for t in plain.data] == [t.meta for t in fast.data]
    assert len(fast.layout.images) == 1 and fast.layout.images[0].layer == "below"
    heat = fast.data[0]
    assert heat.type == "heatmap" and heat.opacity == 0
    (field,) = scene.panel.find(Field)
    assert np.asarray(heat.z).shape == (len(field.y[::3]), len(field.x[::3]))
    assert (fast.layout.uirevision, fast.layout.datarevision) == ("r", 7)
    indices = backend_plotly.trace_indices(fast)
    assert indices["landscape"] == [0] and indices["gradient-outline"] == [1]
    # The raster's bands are the scale's colours: the lowest band of Viridis at the minimum.
    image = backend_plotly.raster(field)
    assert image.rgb().shape == (len(field.y), len(field.x), 3)
    i, j = np.unravel_index(np.nanargmin(field.z), field.z.shape)
    pixel = image.rgb()[len(field.y) - 1 - j, i].astype(float)
    lowest = backend_plotly.colourmap_rgb(np.array(0.5 / style.N_LEVELS))
    assert np.abs(pixel - lowest).max() <= 255 * (1 - backend_plotly.EDGE_SHADE) + 1


# -- a saved landscape draws with no objective --------------------------------------------------


def test_a_saved_landscape_draws_without_its_objective(tmp_path):
    himmelblau = ll.surface("himmelblau")
    path = ll.evaluate_grid(himmelblau, resolution=25).save(tmp_path / "himmelblau.h5")
    loaded = ll.load_result(path)
    from_file = pictures.contour(loaded)
    from_objective = pictures.contour(himmelblau, resolution=25)
    (a,), (b,) = from_file.panel.find(Field), from_objective.panel.find(Field)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.scale == b.scale
    (minima,) = from_file.panel.find(Markers, "minimum")
    np.testing.assert_allclose(
        np.column_stack([minima.x, minima.y]), himmelblau.minima.numpy(), atol=1e-12
    )
    assert from_file.panel.title == "himmelblau" and from_file.panel.x.label == "w1 (x)"
    ax = static.contour(loaded)
    assert ax.get_title() == "himmelblau" and len(ax.child_axes) == 1
    fig = interactive.surface_3d(loaded)
    assert fig.layout.title.text == "himmelblau"
    with pytest.raises(LosslabError, match="needs the objective"):
        static.contour(loaded, gradient_field=True)
    one_d = ll.evaluate_grid(ll.surface("double_well"), resolution=50).save(tmp_path / "w.h5")
    ax = static.view(ll.load_result(one_d))
    assert ax.get_xlabel() == "w (x)"


def test_eigen_arrows_are_the_same_annotations_alone_or_in_a_figure():
    from losslab.plot.scene import Arrows

    saddle = ll.surface("saddle")
    scene = pictures.hessian_view(ll.inspect(saddle, (0.0, 0.0)), saddle)
    arrows = scene.panel.find(Arrows, "eigen")
    assert [a.style for a in arrows] == ["repelling", "attracting"]
    alone = [note for a in arrows for note in backend_plotly.eigen_annotations(a)]
    drawn = [a.to_plotly_json() for a in backend_plotly.draw(scene).layout.annotations]
    assert alone == [note for note in drawn if note.get("showarrow")]
    assert {note["arrowcolor"] for note in alone} == {
        style.ATTRACTING_COLOUR,
        style.REPELLING_COLOUR,
    }


def test_spectrum_nodes_sit_on_the_bottom_edge_in_both_backends():
    from losslab.curvature.density import Spectrum

    grid = torch.linspace(-1, 3, 50, dtype=torch.float64)
    density = torch.exp(-(grid**2))
    nodes = torch.tensor([[0.0, 1.0, 2.5]], dtype=torch.float64)
    weights = torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64)
    result = Spectrum(grid, density, nodes, weights, 0.1, 10, 5, 0)
    scene = pictures.spectrum(result)
    (ticks,) = scene.panel.find(Markers, "nodes")
    np.testing.assert_array_equal(ticks.x, [0.0, 1.0])  # weight 0: not a node that counts
    ax = backend_mpl.draw(scene).axes[0]
    (line,) = [a for a in ax.lines if a.get_gid() == "losslab-nodes"]
    assert list(line.get_ydata()) == [0.0, 0.0]  # axes fraction: the bottom edge
    (trace,) = [t for t in backend_plotly.draw(scene).data if t.meta == "nodes"]
    np.testing.assert_allclose(trace.y, [scene.panel.y.range[0]] * 2)  # the log axis' bottom


def test_a_panel_without_legend_leaves_the_other_panels_legend(race):
    rosenbrock, runs, _ = race
    scene = pictures.race(rosenbrock, runs)
    assert [p.legend for p in scene.panels] == ["below", "none"]
    fig = backend_plotly.draw(scene)
    assert fig.layout.showlegend is not False
    shown = [t.name for t in fig.data if t.showlegend and t.meta == "path"]
    assert len(shown) == 3
    assert all(name.startswith(run.label) for name, run in zip(shown, runs, strict=True))
    loss_lines = [t for t in fig.data if t.meta == "loss"]
    assert len(loss_lines) == 3 and not any(t.showlegend for t in loss_lines)
    # clicking a run in the legend hides its path and its loss curve: one legend group
    paths = [t for t in fig.data if t.meta == "path"]
    assert [t.legendgroup for t in paths] == [t.legendgroup for t in loss_lines]


def test_a_slice_along_raw_axes_is_shown_in_the_weights_as_the_same_landscape():
    from losslab.landscapes.result import Landscape
    from losslab.plot import _slice

    x, y = np.linspace(-1, 1, 5), np.linspace(-2, 2, 3)
    origin = np.array([2.0, -1.0, 7.0])
    directions = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    values = np.add.outer(x, 10 * y)
    land = Landscape((x, y), {"loss": values}, origin, directions, {"directions": {"kind": "axes"}})
    view = _slice.slice_of(land, "loss")
    assert isinstance(view.grid, Landscape)  # the one grid result, re-parametrized
    np.testing.assert_array_equal(view.offset, [2.0, -1.0])
    np.testing.assert_array_equal(view.coords[0], x + 2.0)
    # every grid point is the same parameter vector in both parametrizations
    np.testing.assert_allclose(view.grid.parameters(view.grid.grid()), land.parameters(land.grid()))
    np.testing.assert_array_equal(view.values, values)
    assert view.labels == ("w1", "w2")


def test_mesh_top_is_exact_on_a_plane_and_the_higher_triangulation_on_a_saddle_cell():
    from losslab.plot.scene import mesh_top

    x, y = np.linspace(0.0, 1.0, 3), np.linspace(0.0, 2.0, 5)
    plane = np.add.outer(2 * x, 3 * y)  # both triangulations of a plane are the plane
    points = np.random.default_rng(0).uniform([0, 0], [1, 2], (50, 2))
    np.testing.assert_allclose(mesh_top((x, y), plane, points), 2 * points[:, 0] + 3 * points[:, 1])
    # One cell with corners 0, 0 on one diagonal and 1, 1 on the other: at its centre one
    # triangulation is at 0, the other at 1; the top is 1. Outside the grid: NaN.
    cell = np.array([[0.0, 1.0], [1.0, 0.0]])
    top = mesh_top((np.array([0.0, 1.0]), np.array([0.0, 1.0])), cell, [[0.5, 0.5], [2.0, 0.0]])
    assert top[0] == pytest.approx(1.0) and np.isnan(top[1])
