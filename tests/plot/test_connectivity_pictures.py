"""Pictures of paths between two models and of width sweeps: the scenes hold the results'
numbers (oracles: the Path's values, the Bezier formula, the sweep's mean and sd), both
backends draw them (rows of small multiples, whiskers), and every format is written."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import losslab as ll  # noqa: E402
from losslab import directions  # noqa: E402
from losslab.connectivity import Path as Route  # noqa: E402
from losslab.objectives import ModelObjective  # noqa: E402
from losslab.plot import backend_mpl, backend_plotly, connectivity, interactive, static  # noqa: E402
from losslab.plot.export import save_figure  # noqa: E402
from losslab.plot.scene import Axis, LegendEntry, Markers, Panel, Path, Scene  # noqa: E402


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))


def route(kind: str, loss, accuracy, anchors) -> Route:
    t = torch.linspace(0, 1, len(loss), dtype=torch.float64)
    values = {
        "loss": torch.tensor(loss, dtype=torch.float64),
        "accuracy": torch.tensor(accuracy, dtype=torch.float64),
    }
    from losslab.connectivity.path import barriers

    layout = ll.params.ParamLayout.of(tiny_model())
    return Route(kind, t, values, barriers(t, values), anchors, layout.names, layout.shapes)


def anchors(rows: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(rows)
    return torch.randn(rows, 17, generator=generator, dtype=torch.float64)


LINE = route("linear", [0.1, 0.9, 0.2], [0.9, 0.5, 0.95], anchors(2))
CURVE = route("bezier", [0.1, 0.05, 0.2], [0.9, 0.97, 0.95], anchors(3))


def test_profile_draws_each_path_and_the_straight_line_between_its_ends():
    scene = connectivity.profile_scene([("line", LINE, "before"), ("curve", CURVE, "bezier")])
    loss, accuracy = scene.panels
    assert (loss.title, accuracy.title) == ("loss along the path", "accuracy along the path")
    lines = loss.find(Path, "path")
    np.testing.assert_array_equal(lines[0].y, [0.1, 0.9, 0.2])
    np.testing.assert_array_equal(lines[1].x, [0, 0.5, 1])
    chords = loss.find(Path, "chord")
    np.testing.assert_array_equal(chords[0].x, [0, 1])
    np.testing.assert_array_equal(chords[0].y, [0.1, 0.2])
    assert lines[0].label == "line: barrier 0.75"  # 0.9 - (0.1 + 0.2) / 2
    assert accuracy.find(Path, "path")[0].label == "line: barrier 0.425"  # 0.925 - 0.5
    assert lines[1].colour == "#2ca02c" and chords[1].colour == "#2ca02c"
    assert loss.find(LegendEntry)[0].style == "chord"


def plane_of(curve: Route):
    """The Gram-Schmidt plane through the anchors, computed here as the oracle."""
    a, b, c = curve.anchors
    u = (b - a) / torch.linalg.vector_norm(b - a)
    w = (c - a) - ((c - a) @ u) * u
    v = w / torch.linalg.vector_norm(w)
    model = tiny_model()
    objective = ModelObjective(model, "cross_entropy", (torch.randn(8, 2), torch.arange(8) % 2))
    plane = directions.custom([u, v], model, origin=a)
    return ll.landscape(objective, plane, span=[(-1.0, 8.0), (-2.0, 6.0)], resolution=4)


def test_plane_marks_the_anchors_and_draws_the_curve_in_the_plane():
    land = plane_of(CURVE)
    scene = connectivity.plane_scene(land, CURVE)
    panel = scene.panel
    a, b, c = (np.concatenate([m.x, m.y]) for m in panel.find(Markers))
    np.testing.assert_allclose(a, [0, 0], atol=1e-9)
    length = float(torch.linalg.vector_norm(CURVE.anchors[1] - CURVE.anchors[0]))
    np.testing.assert_allclose(b, [length, 0], atol=1e-9)
    (curve,) = panel.find(Path, "bezier")
    middle = np.array([curve.x[50], curve.y[50]])
    np.testing.assert_allclose(middle, 0.25 * a + 0.5 * c + 0.25 * b, atol=1e-9)
    np.testing.assert_allclose(land.project(CURVE.point(0.5).numpy()), middle, atol=1e-9)
    assert panel.find(LegendEntry)[1].colour != "white"  # the white curve's legend reads


def sweep(n_seeds: int = 3):
    widths = torch.tensor([4, 8, 16])
    generator = torch.Generator().manual_seed(0)
    samples = {
        f: torch.rand(3, n_seeds, generator=generator, dtype=torch.float64)
        for f in ll.connectivity.sweep_result.FIGURES
    }
    return ll.WidthSweep(widths=widths, seeds=torch.arange(n_seeds), samples=samples, settings={})


def test_width_scene_has_a_panel_per_figure_with_sd_whiskers():
    result = sweep()
    scene = connectivity.width_scene(result)
    assert len(scene.panels) == 7 and scene.grid == (2, 4)
    barriers = scene.panels[2]
    before, after = barriers.find(Path)
    np.testing.assert_allclose(before.y, result.mean("barrier_before"))
    np.testing.assert_allclose(after.errors, result.sd("barrier_after"))
    np.testing.assert_allclose(before.errors, result.samples["barrier_before"].std(1, correction=1))
    assert barriers.x.scale == "log"


def test_both_backends_lay_small_multiples_in_rows_and_draw_whiskers():
    figure = backend_mpl.draw(connectivity.width_scene(sweep()))
    assert len(figure.axes) == 7
    rows = sorted({round(ax.get_position().y0, 3) for ax in figure.axes})
    assert len(rows) == 2
    bars = [c for c in figure.axes[0].collections if c.get_gid() == "losslab-loss-errors"]
    assert len(bars) == 1 and len(bars[0].get_segments()) == 3
    fig = backend_plotly.draw(connectivity.width_scene(sweep()))
    assert fig.layout.xaxis5.domain[0] == fig.layout.xaxis.domain[0]  # row 2 under row 1
    loss = next(trace for trace in fig.data if trace.meta == "loss")
    np.testing.assert_allclose(loss.error_y.array, sweep().sd("loss"))
    assert fig.layout.xaxis.type == "log"


def test_a_scene_without_columns_keeps_one_row():
    panel = Panel("chart", (Path(np.arange(3.0), np.arange(3.0)),), x=Axis("x"))
    assert Scene((panel, panel, panel)).grid == (1, 3)
    assert Scene((panel, panel, panel), columns=2).place(2) == (1, 0)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf", ".html"])
def test_every_picture_is_written_in_every_format(tmp_path, suffix):
    renderer = interactive if suffix == ".html" else static
    land = plane_of(CURVE)
    for name, drawn in (
        ("profile", renderer.path_profile({"line": LINE, "curve": CURVE})),
        ("plane", renderer.bezier_plane(land, CURVE)),
        ("widths", renderer.width_curves(sweep(2))),
    ):
        path = save_figure(drawn, tmp_path / f"{name}{suffix}")
        assert path.stat().st_size > 1000
