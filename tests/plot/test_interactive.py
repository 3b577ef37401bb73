"""plotly renderers: trace types, what each trace holds, and the same meaning as the static plots.

Traces are found by their `meta` tag ("path", "start", "end", "diverged", "minimum", ...).
"""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

import losslab as ll
from losslab import optim
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.plot import interactive, style


def traces(fig: go.Figure, meta: str) -> list:
    return [t for t in fig.data if t.meta == meta]


@pytest.fixture(scope="module")
def rosenbrock_race():
    rosenbrock = ll.surface("rosenbrock")
    runs = ll.race(
        rosenbrock, [optim.gd(1e-3), optim.momentum(1e-3), optim.newton()], (-1.5, 2.0), 60
    )
    return rosenbrock, runs


def test_contour_is_a_labelled_plotly_figure_with_the_grid_in_xy_order():
    booth = ll.surface("booth")
    fig = interactive.contour(booth, resolution=15)
    assert isinstance(fig, go.Figure)
    (land,) = traces(fig, "landscape")
    assert isinstance(land, go.Contour) and land.colorscale[0][1] == "#440154"  # Viridis
    x, y, z = np.asarray(land.x), np.asarray(land.y), np.asarray(land.z)
    assert z.shape == (len(y), len(x))
    # plotly's z[j][i] is at (x[i], y[j]): check one point off the diagonal.
    expected = booth(torch.tensor([x[2], y[11]]))
    assert z[11, 2] == pytest.approx(float(expected))
    assert fig.layout.xaxis.title.text == "w1 (x)" and fig.layout.yaxis.title.text == "w2 (y)"
    assert fig.layout.title.text == "booth"
    assert tuple(fig.layout.xaxis.range) == (-10.0, 10.0)
    assert fig.layout.template.layout.paper_bgcolor == "white"  # plotly_white
    assert "loss" in land.hovertemplate and "w1" in land.hovertemplate
    (minimum,) = traces(fig, "minimum")
    assert (minimum.x[0], minimum.y[0]) == (1.0, 3.0)


def test_log_contour_colours_log_values_and_hovers_the_true_loss():
    fig = interactive.contour(ll.surface("rosenbrock"), resolution=12)
    (land,) = traces(fig, "landscape")
    assert land.colorbar.title.text.startswith("log10(")
    np.testing.assert_allclose(np.asarray(land.z), np.log10(np.asarray(land.customdata)))
    assert "customdata" in land.hovertemplate


class HalfDefined(Objective):
    """sqrt(x + 3) + y^2: NaN left of x = -3."""

    name = "half_defined"
    n_params = 2

    def __call__(self, params):
        x, y = params.unbind(-1)
        return torch.sqrt(x + 3) + y**2


def test_non_finite_values_become_gaps():
    fig = interactive.contour(HalfDefined(), bounds=[[-5, 5], [-1, 1]], resolution=11)
    (land,) = traces(fig, "landscape")
    z = np.asarray(land.z, dtype=float)
    assert np.isnan(z[:, np.asarray(land.x) < -3]).all()
    assert np.isfinite(z[:, np.asarray(land.x) > -3]).all()
    assert "not finite" in land.colorbar.title.text


def test_paths_start_where_the_runs_start_and_end_with_star_or_red_x(rosenbrock_race):
    rosenbrock, runs = rosenbrock_race
    wild = ll.descend(rosenbrock, optim.gd(0.01), (-1.5, 2.0), 60)
    assert wild.diverged
    fig = interactive.contour(rosenbrock, trajectories=[*runs, wild], resolution=12)
    paths = traces(fig, "path")
    assert len(paths) == 4 and all(isinstance(t, go.Scatter) for t in paths)
    assert len(traces(fig, "start")) == 4
    assert len(traces(fig, "end")) == 3 and len(traces(fig, "diverged")) == 1
    for path, run in zip(paths, [*runs, wild], strict=True):
        assert (path.x[0], path.y[0]) == (-1.5, 2.0)
        assert len(path.x) == run.stopped_at + 1
        np.testing.assert_allclose(
            np.asarray(path.customdata)[:, 1], run.losses[: run.stopped_at + 1].numpy()
        )
    assert f"diverged at step {wild.stopped_at + 1}" in paths[-1].name
    (cross,) = traces(fig, "diverged")
    assert cross.marker.symbol == "x" and cross.marker.color == style.DIVERGED_COLOUR
    assert len({p.line.color for p in paths}) == 4
    assert paths[0].line.color == style.OPTIMIZER_COLOURS["gd"]
    assert tuple(fig.layout.yaxis.range) == (-1.0, 3.0)  # the view stays on the window


def test_gradient_segments_are_parallel_to_the_gradient():
    himmelblau = ll.surface("himmelblau")
    fig = interactive.contour(himmelblau, gradient_field=True, resolution=10)
    (arrows,) = traces(fig, "gradient")
    x = np.array([np.nan if v is None else v for v in arrows.x], dtype=float)
    y = np.array([np.nan if v is None else v for v in arrows.y], dtype=float)
    # Every arrow is 7 entries: tail, tip, gap, barb, tip, barb, gap.
    tails = np.column_stack([x[0::7], y[0::7]])
    tips = np.column_stack([x[1::7], y[1::7]])
    assert len(tails) == 400
    centres = (tails + tips) / 2
    _, grads = himmelblau.value_and_grad(torch.as_tensor(centres))
    expected = grads.numpy() / np.linalg.norm(grads.numpy(), axis=1, keepdims=True)
    drawn = (tips - tails) / np.linalg.norm(tips - tails, axis=1, keepdims=True)
    np.testing.assert_allclose(drawn, expected, atol=1e-9)
    assert fig.layout.yaxis.scaleanchor == "x"  # equal scales: perpendicular looks it


def test_critical_points_by_kind():
    himmelblau = ll.surface("himmelblau")
    points = ll.critical_points(himmelblau, resolution=15)
    fig = interactive.contour(himmelblau, critical_points=points, resolution=10)
    symbols = {t.meta: t.marker.symbol for t in fig.data if t.meta.startswith("critical-")}
    assert set(symbols) == {"critical-minimum", "critical-saddle", "critical-maximum"}
    assert len(set(symbols.values())) == 3


def test_one_dimensional_objectives():
    well = ll.surface("double_well")
    with pytest.raises(LosslabError, match="curve_1d"):
        interactive.contour(well)
    runs = ll.race(well, [optim.gd(0.05), optim.momentum(0.05)], (2.2,), 30)
    fig = interactive.landscape(well, trajectories=runs, resolution=50)
    (curve,) = traces(fig, "curve")
    assert len(curve.x) == 50
    paths = traces(fig, "path")
    assert len(paths) == 2 and paths[0].x[0] == 2.2
    assert len(paths[0].marker.color) == runs[0].stopped_at + 1  # a colour per step: the ramp
    notes = [a.text for a in fig.layout.annotations]
    assert any("f'(x)" in t and "steps = 30" in t for t in notes)


def test_surface_3d_traces():
    himmelblau = ll.surface("himmelblau")
    run = ll.descend(himmelblau, optim.gd(0.01), (0.0, 0.0), 20)
    fig = interactive.surface_3d(himmelblau, trajectories=run, resolution=12)
    (surface,) = traces(fig, "landscape")
    assert isinstance(surface, go.Surface)
    (path,) = traces(fig, "path")
    assert isinstance(path, go.Scatter3d) and (path.x[0], path.y[0]) == (0.0, 0.0)
    assert fig.layout.scene.xaxis.title.text == "w1 (x)"
    with pytest.raises(LosslabError, match="curve_1d"):
        interactive.surface_3d(ll.surface("parabola"))


def test_basin_map_heatmap_and_shares():
    himmelblau = ll.surface("himmelblau")
    basin_map = ll.basins(himmelblau, optim.gd(0.05), resolution=10, n_steps=60)
    fig = interactive.basin_map(basin_map, objective=himmelblau)
    (heat,) = traces(fig, "basins")
    assert isinstance(heat, go.Heatmap)
    np.testing.assert_array_equal(np.asarray(heat.z), basin_map.labels.numpy().T)
    names = [t.name for t in traces(fig, "legend")]
    assert names[0].startswith("minimum (3, 2): ") and any(n.startswith("diverged") for n in names)
    shares = [float(n.rsplit(" ", 1)[1].rstrip("%")) for n in names]
    assert sum(shares) == pytest.approx(100, abs=0.5)


def test_hessian_view_arrows_and_text():
    saddle = ll.surface("saddle")
    fig = interactive.hessian_view(ll.inspect(saddle, (0.0, 0.0)), saddle)
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 4
    assert {a.arrowcolor for a in arrows} == {style.ATTRACTING_COLOUR, style.REPELLING_COLOUR}
    (box,) = [a for a in fig.layout.annotations if not a.showarrow]
    assert "kind: saddle" in box.text and "det: -4" in box.text


def test_loss_curves_and_race(rosenbrock_race):
    rosenbrock, runs = rosenbrock_race
    fig = interactive.loss_curves(runs)
    assert len(traces(fig, "loss")) == 3 and fig.layout.yaxis.type == "log"
    fig = interactive.race(rosenbrock, runs)
    assert isinstance(traces(fig, "landscape")[0], go.Contour)
    losses = traces(fig, "loss")
    assert len(losses) == 3 and all(t.xaxis == "x2" for t in losses)
    assert all(t.xaxis == "x" for t in traces(fig, "path"))
    # One legend entry per run: the loss curve follows its path's legend group.
    assert not any(t.showlegend for t in losses)
    assert {t.legendgroup for t in losses} == {t.legendgroup for t in traces(fig, "path")}
    data = fig.to_dict()["data"]
    assert {d["type"] for d in data} == {"contour", "scatter"}
