"""The web lab's figures: the contour raster, the invisible heatmap, fixed trace indices and
the animation specs."""

import numpy as np
import pytest
import torch

import losslab as ll
from losslab.errors import LosslabError
from losslab.plot import _common as common
from losslab.web import animation, figures, theme


@pytest.fixture(scope="module")
def booth():
    return ll.surface("booth")


def test_raster_bands_follow_the_colour_scale_and_the_top_row_is_the_largest_y(booth):
    land = common.landscape_2d(booth, None, 60, False)
    picture = figures.raster(land.colouring, levels=10)
    rgb = picture.rgb()
    assert picture.indices.shape == (60, 60) and rgb.shape == (60, 60, 3)
    # The lowest value (the minimum (1, 3)) is in band 0; flipped rows put y = 3 near the top.
    col = land.colouring
    j, i = np.unravel_index(np.nanargmin(col.z), col.z.shape)
    index = picture.indices[59 - j, i]
    assert index // figures.LINE_SHADES == 0
    band0 = theme.viridis_rgb(np.array(0.05)).round()
    assert np.abs(picture.palette[index].astype(float) - band0).max() <= 1 + 255 * 0.35
    assert len(picture.palette) <= 256
    assert picture.png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_raster_marks_non_finite_values_transparent():
    surface = ll.surface("log(x) + y")  # log of a negative number is nan on half the window
    land = common.landscape_2d(surface, None, 40, False)
    picture = figures.raster(land.colouring)
    assert (picture.indices == picture.transparent).any()
    assert (picture.indices != picture.transparent).any()


def test_backdrop_image_covers_the_window_and_the_heatmap_is_invisible(booth):
    ground = figures.backdrop(booth, resolution=41)
    image = ground.image()
    dx = 20 / 40
    assert image["x"] == pytest.approx(-10 - dx / 2) and image["sizex"] == pytest.approx(41 * dx)
    assert image["y"] == pytest.approx(10 + dx / 2) and image["layer"] == "below"
    assert image["source"].startswith("data:image/png;base64,")
    heat = ground.heatmap()
    assert heat.opacity == 0 and heat.meta == "landscape"
    assert heat.colorbar.title.text == ground.land.colouring.label


def test_scale_round_trips_and_refuses_damaged_state():
    col = common.landscape_2d(ll.surface("rosenbrock"), None, 30, None).colouring
    scale = figures.Scale.of(col)
    assert scale.log and figures.Scale.from_dict(scale.to_dict()) == scale
    np.testing.assert_allclose(scale.transform([10.0]), np.log10([10.0]))
    for bad in (
        None,
        {"log": True},
        {**scale.to_dict(), "lo": "x"},
        {**scale.to_dict(), "hi": -99},
    ):
        with pytest.raises(LosslabError, match="damaged"):
            figures.Scale.from_dict(bad)


def test_explorer_figures_keep_their_trace_indices(booth):
    run = figures.one_run(ll.descend(booth, ll.optim.gd(0.02), [-8.0, -6.0], 40))
    flat = figures.explorer_2d(
        booth, figures.backdrop(booth, resolution=30), run, arrows=True, revision=3
    )
    metas = [t.meta for t in flat.data]
    for role, index in figures.EXPLORER_TRACES.items():
        assert metas[index] == (run.label if role == "path" else role)
    assert len(flat.data[2].x) > 0  # gradient arrows drawn
    assert flat.layout.datarevision == 3 and flat.layout.images[0].layer == "below"
    assert flat.layout.yaxis.scaleanchor == "x"  # one unit is as long on both axes
    solid, scale = figures.explorer_3d(booth, run, revision=4)
    assert [t.meta for t in solid.data][:8] == [
        "landscape",
        "gradient-outline",
        "gradient",
        "crosshair",
        "minimum",
        "path",
        "start",
        "end",
    ]
    np.testing.assert_allclose(solid.data[5].z, scale.height(run.losses))


def test_runs_figure_first_frame_shows_only_the_starts():
    surface = ll.surface("rosenbrock")
    runs = common.runs(ll.race(surface, [ll.optim.gd(1e-3), ll.optim.newton()], [-1.5, 2.0], 20))
    ground = figures.backdrop(surface, resolution=30)
    fig = figures.runs_figure(
        surface, ground, runs, (-1.5, 2.0), loss_panel=True, revision=1, first_frame=True
    )
    stride = figures.run_stride(True)
    for i in range(len(runs)):
        path, end, loss = fig.data[
            figures.RUN_BASE + stride * i : figures.RUN_BASE + stride * (i + 1)
        ]
        assert list(path.x) == [-1.5] and list(end.x) == [None] and len(loss.x) == 1
    assert fig.layout.yaxis2.type == "log" and fig.data[-1].meta == "legend"


def test_eigen_arrows_point_in_along_x_and_out_along_y_on_the_saddle():
    saddle = ll.surface("saddle")
    point = ll.inspect(saddle, [0.0, 0.0])
    notes = figures.eigen_annotations(point, saddle.bounds.numpy())
    repel = [n for n in notes if n["arrowcolor"] == theme.REPELLING]
    attract = [n for n in notes if n["arrowcolor"] == theme.ATTRACTING]
    assert len(repel) == len(attract) == 2
    assert all(n["x"] == pytest.approx(0) and abs(n["y"]) > 0 for n in repel)  # tips away on y
    assert all(
        n["x"] == pytest.approx(0) and n["y"] == pytest.approx(0) for n in attract
    )  # tips in


def test_basins_figure_has_a_map_and_a_path_per_optimizer():
    h = ll.surface("himmelblau")
    opts = [ll.optim.gd(0.01), ll.optim.sgd_noise(0.01, noise=5.0, seed=1)]
    maps = [ll.basins(h, o, resolution=12, n_steps=30) for o in opts]
    runs = common.runs(ll.race(h, opts, [0.0, 0.0], 30))
    fig = figures.basins_figure(list(zip(("a", "b"), maps, strict=True)), runs, (0.0, 0.0))
    assert [t.meta for t in fig.data].count("basins") == 2
    assert fig.data[4].xaxis == "x2" and fig.layout.xaxis2.domain[0] > fig.layout.xaxis.domain[1]


def test_animation_spec_is_plain_json():
    run = figures.one_run(ll.descend(ll.surface("bowl"), ll.optim.gd(0.1), [-4.0, 3.0], 10))
    x, y = run.path[:, 0], run.path[:, 1]
    spec = animation.spec(
        "g",
        7,
        [animation.path_track(5, x, y), animation.end_track(7, x[-1:], y[-1:], n=len(x))],
        len(x),
        duration=animation.duration_ms(len(x)),
        board=animation.board("b", ["loss"], [animation.board_row(run, [run.losses])], cards=True),
    )
    import json

    again = json.loads(json.dumps(spec, allow_nan=False))
    assert (
        again["token"] == 7 and again["frame"] == len(x) - 1 and again["tracks"][1]["n"] == len(x)
    )
    assert again["board"]["layout"] == "cards" and again["board"]["rows"][0]["n"] == len(x)
    assert 900 <= again["duration_ms"] <= 4000
    assert torch.is_tensor(run.path) is False
