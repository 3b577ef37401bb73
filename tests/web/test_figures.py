"""The web lab's pictures: numbers and colours on the scenes (scenes.py), and on the plotly
figures what the browser relies on (figures.py): the raster contour under an invisible heatmap,
fixed trace indices, patches that draw exactly what a full figure draws, animation specs."""

import json

import numpy as np
import pytest
import torch
from plotly.io.json import to_json_plotly

import losslab as ll
from losslab.errors import LosslabError
from losslab.plot import _runs, backend_plotly, style
from losslab.plot.scene import Arrows, ColourScale, Field, Markers, Path, Scene, mesh_top
from losslab.web import animation, figures, scenes


@pytest.fixture(scope="module")
def booth():
    return ll.surface("booth")


def one_run(trajectory):
    (run,) = _runs.runs(trajectory)
    return run


# -- the raster contour -------------------------------------------------------------------------


def test_raster_bands_follow_the_colour_scale_and_the_top_row_is_the_largest_y(booth):
    field = scenes.field(ll.evaluate_grid(booth, resolution=60))
    picture = backend_plotly.raster(field, levels=10)
    rgb = picture.rgb()
    assert picture.indices.shape == (60, 60) and rgb.shape == (60, 60, 3)
    # The lowest value (the minimum (1, 3)) is in band 0; flipped rows put y = 3 near the top.
    i, j = np.unravel_index(np.nanargmin(field.z), field.z.shape)  # 'ij': x[i], y[j]
    assert field.x[i] == pytest.approx(1, abs=0.2) and field.y[j] == pytest.approx(3, abs=0.2)
    index = picture.indices[59 - j, i]
    assert index // backend_plotly.LINE_SHADES == 0
    band0 = backend_plotly.colourmap_rgb(np.array(0.05)).round()
    assert np.abs(picture.palette[index].astype(float) - band0).max() <= 1 + 255 * 0.35
    assert len(picture.palette) <= 256
    assert picture.png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_raster_marks_non_finite_values_transparent():
    surface = ll.surface("log(x) + y")  # log of a negative number is nan on half the window
    picture = backend_plotly.raster(scenes.field(ll.evaluate_grid(surface, resolution=40)))
    assert (picture.indices == picture.transparent).any()
    assert (picture.indices != picture.transparent).any()


def test_the_image_covers_the_window_under_an_invisible_heatmap(booth):
    land = ll.evaluate_grid(booth, resolution=41)
    run = one_run(ll.descend(booth, ll.optim.gd(0.02), [-8.0, -6.0], 5))
    scene = scenes.explorer_plane(land, run, _runs.minima_array(booth), None)
    fig = figures.draw(scene, revision=2, uirevision="booth")
    (image,) = fig.layout.images
    dx = 20 / 40
    assert image.x == pytest.approx(-10 - dx / 2) and image.sizex == pytest.approx(41 * dx)
    assert image.y == pytest.approx(10 + dx / 2) and image.layer == "below"
    assert image.source.startswith("data:image/png;base64,")
    heat = fig.data[0]
    assert heat.type == "heatmap" and heat.opacity == 0 and heat.meta == "landscape"
    field = scene.panel.items[0]
    assert heat.colorbar.title.text == field.scale.label
    # Every HOVER_STRIDE-th grid point, 'xy' order, coloured values on the scale's range.
    s = figures.HOVER_STRIDE
    np.testing.assert_allclose(heat.x, land.coords[0][::s])
    np.testing.assert_allclose(np.asarray(heat.z), field.z[::s, ::s].T, rtol=1e-6)
    assert (heat.zmin, heat.zmax) == (field.scale.lo, field.scale.hi)
    assert fig.layout.datarevision == 2 and fig.layout.uirevision == "booth"
    assert fig.layout.height is None, "the page's graph decides the height"


def test_colour_scale_round_trips_and_refuses_damaged_state():
    land = ll.evaluate_grid(ll.surface("rosenbrock"), resolution=30)
    scale = scenes.field(land).scale
    assert scale.log and ColourScale.from_dict(scale.to_dict()) == scale
    np.testing.assert_allclose(scale.transform([10.0]), np.log10([10.0]))
    for bad in (
        None,
        {"log": True},
        {**scale.to_dict(), "lo": "x"},
        {**scale.to_dict(), "hi": -99},
    ):
        with pytest.raises(LosslabError, match="damaged"):
            ColourScale.from_dict(bad)


# -- explorer -----------------------------------------------------------------------------------


def explorer_figures(objective, run):
    flat_land = ll.evaluate_grid(objective, resolution=30)
    box = np.array([[c[0], c[-1]] for c in flat_land.coords])
    minima = _runs.minima_array(objective)
    flat = scenes.explorer_plane(flat_land, run, minima, _runs.gradient_field(objective, box))
    ground = scenes.field(ll.evaluate_grid(objective, resolution=20), draw="surface")
    solid = scenes.explorer_surface(ground, run, minima)
    return flat, solid


@pytest.mark.parametrize("name", ["booth", "x**2 + 3*y**2"])
def test_explorer_figures_keep_their_trace_indices(name):
    """A typed surface (no known minima) keeps the same indices: its minima item is empty."""
    objective = ll.surface(name)
    run = one_run(ll.descend(objective, ll.optim.gd(0.02), [-2.0, -1.5], 40))
    for view, scene in zip(figures.VIEWS, explorer_figures(objective, run), strict=True):
        fig = figures.draw(scene, revision=3)
        metas = [t.meta for t in fig.data]
        for role, index in figures.EXPLORER_TRACES[view].items():
            assert metas[index] == role, (view, role)
        path = fig.data[figures.EXPLORER_TRACES[view]["path"]]
        np.testing.assert_array_equal(path.x, run.path[:, 0])
        assert path.name == run.legend and path.line.color == run.colour
        start = fig.data[figures.EXPLORER_TRACES[view]["start"]]
        assert list(start.x) == [run.path[0, 0]]
        assert metas[-2:] == ["legend", "legend"]
    assert len(metas) == 7  # 3-D: landscape, minimum, path, start, end, 2 legend entries


def test_explorer_gradient_arrows_are_drawn_or_empty_at_the_same_indices(booth):
    run = one_run(ll.descend(booth, ll.optim.gd(0.02), [-8.0, -6.0], 40))
    land = ll.evaluate_grid(booth, resolution=30)
    box = np.array([[c[0], c[-1]] for c in land.coords])
    minima = _runs.minima_array(booth)
    shown = figures.draw(
        scenes.explorer_plane(land, run, minima, _runs.gradient_field(booth, box)), revision=1
    )
    hidden = figures.draw(scenes.explorer_plane(land, run, minima, None), revision=1)
    where = figures.EXPLORER_TRACES["contour"]
    assert [t.meta for t in shown.data] == [t.meta for t in hidden.data]
    assert len(shown.data[where["gradient"]].x) > 0 and len(hidden.data[where["gradient"]].x) == 0
    assert (
        shown.data[where["gradient"]].showlegend and not hidden.data[where["gradient"]].showlegend
    )
    assert shown.layout.yaxis.scaleanchor == "x"  # one unit is as long on both axes
    assert list(shown.layout.xaxis.range) == [-10.0, 10.0]


def test_explorer_3d_lifts_the_path_on_the_surface_scale(booth):
    run = one_run(ll.descend(booth, ll.optim.gd(0.02), [-8.0, -6.0], 40))
    _, solid = explorer_figures(booth, run)
    field = solid.panel.items[0]
    fig = figures.draw(solid, revision=4)
    path = fig.data[figures.EXPLORER_TRACES["3d"]["path"]]
    np.testing.assert_allclose(path.z, field.heights(run.path, run.losses))
    assert (np.asarray(path.z) >= field.scale.height(run.losses) - 1e-12).all()
    # The minimum (1, 3) sits on the surface: its height is the surface's there, lifted.
    minimum = fig.data[figures.EXPLORER_TRACES["3d"]["minimum"]]
    at = np.array([[1.0, 3.0]])
    assert minimum.z[0] == pytest.approx(field.heights(at, field.at(at))[0])


def test_a_patch_draws_exactly_what_the_full_figure_draws(booth):
    run = one_run(ll.descend(booth, ll.optim.gd(0.02), [-8.0, -6.0], 40))
    for view, scene in zip(figures.VIEWS, explorer_figures(booth, run), strict=True):
        full = figures.draw(scene, revision=1)
        kind = "surface" if view == "3d" else "plane"
        ground = scene.panel.items[0]
        items = scenes.run_items(run, kind, ground.scale, ground if view == "3d" else None)
        patched = figures.traces(scenes.bare_panel(kind), items)
        for role, trace in zip(("path", "start", "end"), patched, strict=True):
            drawn = full.data[figures.EXPLORER_TRACES[view][role]].to_plotly_json()
            assert as_sent(trace) == as_sent(drawn), (view, role)


def as_sent(trace: dict) -> dict:
    """A trace (or axis) as the browser gets it: plotly's JSON encoding (numpy arrays as
    lists, NaN as null), read back."""
    return json.loads(to_json_plotly(trace))


def test_plain_traces_encode_exactly_as_validated_plotly_traces(booth):
    # Patches send a click's items as plain dicts, skipping plotly's validation: the same JSON
    # as the validated traces, on the plane, in 3-D, on a loss chart, with a hidden end (NaN).
    run = one_run(ll.descend(booth, ll.optim.gd(0.02), [-8.0, -6.0], 40))
    surface, runs = rosenbrock_race()
    ground = explorer_figures(booth, run)[1].panel.items[0]
    cases = [
        (scenes.bare_panel(), scenes.run_items(run)),
        (scenes.bare_panel("surface"), scenes.run_items(run, "surface", ground.scale, ground)),
        (scenes.bare_panel(), scenes.first_frame(scenes.run_items(runs[1]))),
        (scenes.loss_panel_of(runs), scenes.loss_items(runs)),
        (scenes.loss_panel_of(runs, first=True), scenes.loss_items(runs, first=True)),
    ]
    for panel, items in cases:
        for item in items:
            plain = backend_plotly.item_json(item, panel)
            assert isinstance(plain["x"], (list, np.ndarray)), item.name
            checked = backend_plotly.item_trace(item, panel).to_plotly_json()
            assert as_sent(plain) == as_sent(checked), (panel.kind, item.name)


# -- race and noise -----------------------------------------------------------------------------


def rosenbrock_race():
    surface = ll.surface("rosenbrock")
    optimizers = [ll.optim.gd(1e-3), ll.optim.newton()]
    runs = _runs.runs(ll.race(surface, optimizers, [-1.5, 2.0], 20))
    return surface, runs


def test_runs_figure_first_frame_shows_only_the_starts():
    surface, runs = rosenbrock_race()
    land = ll.evaluate_grid(surface, resolution=30)
    scene = scenes.runs_scene(land, runs, _runs.minima_array(surface), loss_panel=True, first=True)
    fig = figures.draw(scene, revision=1)
    for i, run in enumerate(runs):
        where = figures.run_indices(i, len(runs), loss_panel=True)
        path, start, end, loss = (fig.data[where[k]] for k in ("path", "start", "end", "loss"))
        assert (path.meta, start.meta, loss.meta) == ("path", "start", "loss")
        assert list(path.x) == [-1.5] and list(start.x) == [-1.5] and len(loss.x) == 1
        assert end.meta in ("end", "diverged") and np.isnan(end.x[0])  # hidden: null in JSON
        assert path.line.color == loss.line.color == run.colour
    assert fig.data[-1].meta == "legend" and fig.data[-2].meta == "legend"
    assert '"x":[null]' in fig.to_json().replace(" ", "")  # what the player hides ends with
    # Fixed loss axes: every loss of every run fits, on a log axis (all losses >= 0).
    assert fig.layout.yaxis2.type == "log" and fig.layout.xaxis2.range == (0, 20)
    assert fig.layout.yaxis2.exponentformat == "power"  # 10^-3, not 1m
    assert fig.layout.xaxis.showgrid is False and fig.layout.xaxis2.showgrid is True  # no grid
    # over the map; the loss chart keeps its grid
    lo, hi = fig.layout.yaxis2.range
    for run in runs:
        shown = np.log10(scenes.shown_losses(run, True))
        assert lo < shown.min() and shown.max() < hi


def test_loss_axes_are_linear_when_a_loss_is_negative():
    surface = ll.surface("x**2 + y**2 - 5")
    runs = _runs.runs(ll.descend(surface, ll.optim.gd(0.1), [1.0, 1.0], 10))
    x, y = scenes.loss_axes(runs)
    assert y.scale == "linear" and y.range[0] < -5 < y.range[1] and x.range == (0.0, 10.0)
    np.testing.assert_array_equal(scenes.shown_losses(runs[0], False), runs[0].losses)


def test_basins_figure_has_a_map_and_a_path_per_optimizer():
    h = ll.surface("himmelblau")
    opts = [ll.optim.gd(0.01), ll.optim.sgd_noise(0.01, noise=5.0, seed=1)]
    maps = [ll.basins(h, o, resolution=12, n_steps=30) for o in opts]
    runs = _runs.runs(ll.race(h, opts, [0.0, 0.0], 30))
    scene = scenes.basins_scene(list(zip(("a", "b"), maps, strict=True)), runs)
    fig = figures.draw(scene, revision=1)
    assert [t.meta for t in fig.data] == ["basins", "path", "start", "end"] * 2
    assert fig.data[figures.BASIN_STRIDE].xaxis == "x2"
    assert fig.layout.xaxis2.domain[0] > fig.layout.xaxis.domain[1]
    # One colour per minimum, grey: no known minimum, black: diverged (the one style table).
    field = scene.panels[0].items[0]
    k = len(maps[0].minima)
    assert field.categories.labels == tuple(range(-2, k))
    assert field.categories.colours[:2] == (style.DIVERGED_BASIN_COLOUR, style.NO_MINIMUM_COLOUR)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), maps[0].labels.numpy().T)


# -- curvature ----------------------------------------------------------------------------------


def test_eigen_arrows_point_in_along_x_and_out_along_y_on_the_saddle():
    saddle = ll.surface("saddle")
    point = ll.inspect(saddle, [0.0, 0.0])
    box = saddle.bounds.numpy()
    marker, attracting, repelling, flat = scenes.inspected_items(point, box)
    assert isinstance(marker, Markers) and (marker.x[0], marker.y[0]) == (0.0, 0.0)
    assert len(flat.tails) == 0  # no zero eigenvalue on the saddle
    np.testing.assert_allclose(attracting.tips, 0.0)  # tips in, from both sides along x
    assert np.all(np.abs(attracting.tails[:, 0]) > 0) and np.allclose(attracting.tails[:, 1], 0)
    np.testing.assert_allclose(repelling.tails, 0.0)  # tips away along y
    assert np.allclose(repelling.tips[:, 0], 0) and np.all(np.abs(repelling.tips[:, 1]) > 0)
    notes = figures.annotations([attracting, repelling])
    assert [n["arrowcolor"] for n in notes] == [style.ATTRACTING_COLOUR] * 2 + [
        style.REPELLING_COLOUR
    ] * 2
    assert all(n["y"] == pytest.approx(0) and n["x"] == pytest.approx(0) for n in notes[:2])


def test_curvature_figure_keeps_one_trace_per_kind_and_the_point_at_its_index():
    saddle = ll.surface("saddle")
    found = ll.critical_points(saddle)
    point = ll.inspect(saddle, [0.5, -1.0])
    scene = scenes.curvature_scene(ll.evaluate_grid(saddle, resolution=30), found, point)
    fig = figures.draw(scene, revision=1)
    metas = [t.meta for t in fig.data]
    assert metas[1:5] == [f"critical-{k}" for k in scenes.CURVATURE_KINDS]
    assert metas[figures.CURVATURE_POINT] == "point"
    assert metas[figures.CURVATURE_FLAT] == "eigen-flat"
    saddles = fig.data[1 + scenes.CURVATURE_KINDS.index("saddle")]
    assert list(saddles.x) == [0.0] and saddles.showlegend
    assert len(fig.data[1].x) == 0 and not fig.data[1].showlegend  # no minimum: empty, kept
    assert len(fig.layout.annotations) == 4  # two arrows per eigen-direction


# -- descent in 1-D -----------------------------------------------------------------------------


def test_descent_scene_draws_the_tangent_with_the_slope_at_the_current_step():
    well = ll.surface("double_well")
    run = one_run(ll.descend(well, ll.optim.gd(0.05), [2.2], 30))
    values, grads = _runs.derivative_at(well, run.path)
    curve = ll.evaluate_grid(well, resolution=200)
    scene = scenes.descent_scene(curve, run, values, grads[:, 0], 3, _runs.minima_array(well), 0.45)
    fig = figures.draw(scene, revision=1)
    assert [t.meta for t in fig.data] == list(figures.DESCENT_TRACES)
    path, head, tangent = (scene.panel.items[k] for k in (2, 3, 4))
    assert isinstance(path, Path) and len(path.x) == 4 and head.x[0] == run.path[3, 0]
    slope = (tangent.y[1] - tangent.y[0]) / (tangent.x[1] - tangent.x[0])
    # Oracle: f(x) = x^4 / 4 - 0.85 x^2 + 0.1 x has f'(x) = x^3 - 1.7 x + 0.1.
    x = run.path[3, 0]
    assert slope == pytest.approx(x**3 - 1.7 * x + 0.1, rel=1e-9)
    minima = scene.panel.items[1]
    np.testing.assert_allclose(minima.y, well(torch.as_tensor(minima.x)[:, None]), rtol=1e-3)


# -- animation ----------------------------------------------------------------------------------


def test_animation_spec_is_plain_json():
    run = one_run(ll.descend(ll.surface("bowl"), ll.optim.gd(0.1), [-4.0, 3.0], 10))
    x, y = run.path[:, 0], run.path[:, 1]
    spec = animation.spec(
        "g",
        7,
        [animation.path_track(5, x, y), animation.end_track(7, x[-1:], y[-1:], n=len(x))],
        len(x),
        duration=animation.duration_ms(len(x)),
        board=animation.board("b", ["loss"], [animation.board_row(run, [run.losses])], cards=True),
    )
    again = json.loads(json.dumps(spec, allow_nan=False))
    assert (
        again["token"] == 7 and again["frame"] == len(x) - 1 and again["tracks"][1]["n"] == len(x)
    )
    assert again["board"]["layout"] == "cards" and again["board"]["rows"][0]["n"] == len(x)
    assert 900 <= again["duration_ms"] <= 4000
    assert torch.is_tensor(run.path) is False


def test_hidden_gradient_arrows_are_an_empty_item_not_a_missing_one(booth):
    run = one_run(ll.descend(booth, ll.optim.gd(0.02), [-8.0, -6.0], 5))
    scene = scenes.explorer_plane(
        ll.evaluate_grid(booth, resolution=20), run, np.empty((0, 2)), None
    )
    arrows = scene.panel.items[1]
    assert isinstance(arrows, Arrows) and arrows.tails.shape == (0, 2)
    assert scene.panel.items[2].name == "minimum" and len(scene.panel.items[2].x) == 0


# Rosenbrock's valley floor y = x**2, where f = (1 - x)**2: narrow against a grid cell.
FLOOR_T = np.linspace(-1.4, 1.4, 500)
FLOOR = np.column_stack([FLOOR_T, FLOOR_T**2])
FLOOR_F = (1 - FLOOR_T) ** 2


def rosenbrock_ground(resolution: int, rule=ColourScale.of_surface) -> Field:
    land = ll.evaluate_grid(ll.surface("rosenbrock"), resolution=resolution)
    values = np.asarray(land.values["loss"])
    return Field(*land.coords, values, "surface", rule(values, True, "f"))


def drawn_mesh(ground: Field, points: np.ndarray) -> np.ndarray:
    scale = ground.scale
    return mesh_top((ground.x, ground.y), np.clip(ground.z, scale.lo, scale.hi), points)


@pytest.mark.parametrize("resolution", [72, figures.SURFACE_RESOLUTION])
def test_a_3d_path_on_rosenbrocks_valley_floor_stays_above_the_drawn_surface(resolution):
    """The mesh spans the narrow valley above its floor, so a point on the floor at its own
    (lifted) height is hidden inside the surface somewhere; drawn by Field.heights it is a lift
    above the mesh (either triangulation) everywhere."""
    ground = rosenbrock_ground(resolution, ColourScale.of)
    scale = ground.scale
    mesh = drawn_mesh(ground, FLOOR)
    assert (scale.height(FLOOR_F) < mesh).any(), "the loss alone would be hidden"
    lift = style.SURFACE_LIFT * (scale.hi - scale.lo)
    assert (ground.heights(FLOOR, FLOOR_F) >= mesh + 0.99 * lift).all()


def test_the_lab_draws_rosenbrock_in_3d_without_a_saw_tooth_along_the_valley():
    """Saw-tooth: along the floor the mesh rises and falls by how far each grid row happens to
    sample from the true floor. Plain log10(f) at the lab's resolution: teeth up to a tenth of
    the z range; the surface scale (log10(f + c)) and resolution of the lab: under 3 %."""
    plain = rosenbrock_ground(figures.SURFACE_RESOLUTION, ColourScale.of)
    ground = scenes.field(
        ll.evaluate_grid(ll.surface("rosenbrock"), resolution=figures.SURFACE_RESOLUTION),
        draw="surface",
    )

    def teeth(field: Field) -> float:
        floor = np.clip(field.scale.transform(FLOOR_F), field.scale.lo, field.scale.hi)
        return float(np.max(drawn_mesh(field, FLOOR) - floor) / (field.scale.hi - field.scale.lo))

    assert teeth(plain) > 0.1
    assert ground.scale.label.startswith("log10(f + ")
    assert teeth(ground) < 0.03


def test_axes_for_a_patch_are_the_axes_a_drawn_figure_gets():
    # The race's loss axes go out as plain settings, without drawing the panel: every setting
    # is the one `draw` gives (log and linear losses; a plane of equal units).
    _, runs = rosenbrock_race()
    negative = _runs.runs(ll.descend(ll.surface("x**2 + y**2 - 5"), ll.optim.gd(0.1), [1, 1], 9))
    plane = scenes.plane_panel([], np.array([[-2.0, 2.0], [-1.0, 3.0]]))
    for panel in (scenes.loss_panel_of(runs), scenes.loss_panel_of(negative), plane):
        layout = backend_plotly.draw(Scene((panel,))).layout
        drawn = (layout.xaxis.to_plotly_json(), layout.yaxis.to_plotly_json())
        for plain, axis in zip(figures.axes(panel), drawn, strict=True):
            assert {key: as_sent(plain)[key] for key in plain} == {
                key: as_sent(axis)[key] for key in plain
            }, panel.kind
    assert figures.axes(scenes.loss_panel_of(runs))[1]["type"] == "log"
