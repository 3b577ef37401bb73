"""matplotlib renderers: each function returns what it drew, and draws what it promises.

Artists are found by the gid the renderer gives them ("losslab-path", "losslab-start", ...).
Resolutions are small: the point is the structure, not the picture.
"""

import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver

import losslab as ll
from losslab import optim
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.plot import pictures, static, style
from losslab.plot.scene import Field


class Lab(Objective):
    """A test objective: f = x + 0.01 y, tilted so 'ij' vs 'xy' order shows, NaN where x > 1."""

    name = "lab"
    n_params = 2

    def __call__(self, params):
        x, y = params.unbind(-1)
        return torch.where(x > 1, torch.nan, x + 0.01 * y)

    @property
    def bounds(self):
        return torch.tensor([[-2.0, 2.0], [-1.0, 1.0]], dtype=torch.float64)


def gids(ax: Axes, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def lines(ax: Axes, gid: str) -> list:
    return [line for line in ax.lines if line.get_gid() == gid]


@pytest.fixture(scope="module")
def rosenbrock_race():
    rosenbrock = ll.surface("rosenbrock")
    runs = ll.race(
        rosenbrock, [optim.gd(1e-3), optim.momentum(1e-3), optim.newton()], (-1.5, 2.0), 60
    )
    return rosenbrock, runs


def test_contour_returns_axes_on_a_new_figure_with_labels_title_and_colour_bar():
    ax = static.contour(ll.surface("bowl"), resolution=20)
    assert isinstance(ax, Axes) and isinstance(ax.figure, Figure)
    assert ax.get_xlabel() == "w1 (x)" and ax.get_ylabel() == "w2 (y)"
    assert ax.get_title() == "bowl"
    assert ax.get_xlim() == (-5.0, 5.0) and ax.get_ylim() == (-5.0, 5.0)
    assert len(ax.child_axes) == 1  # the colour bar
    assert ax.child_axes[0].get_ylabel() == "f"


def test_contour_draws_on_a_given_axes():
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert static.contour(ll.surface("saddle"), resolution=10, ax=right) is right
    assert not left.collections


def test_contour_is_oriented_x_across_y_up():
    # f = x + 0.01 y: the lowest filled band hugs the left edge (small x) from bottom to top.
    ax = static.contour(Lab(), resolution=40, minima=False)
    lowest = ax.collections[0].get_paths()[0].vertices
    assert lowest[:, 0].max() < -1.5
    assert lowest[:, 1].min() < -0.9 and lowest[:, 1].max() > 0.9


def test_himmelblau_minimum_is_marked_at_3_2():
    ax = static.contour(ll.surface("himmelblau"), resolution=20)
    (marker,) = lines(ax, "losslab-minimum")
    points = np.column_stack([marker.get_xdata(), marker.get_ydata()])
    assert np.abs(points - [3.0, 2.0]).sum(1).min() < 1e-6
    assert marker.get_label() == "known minimum"


def test_non_finite_values_are_masked_and_the_colour_bar_says_so():
    (field,) = pictures.contour(Lab(), resolution=21).panel.find(Field)
    x = field.x
    assert np.isnan(field.values[x > 1, :]).all()
    assert np.isfinite(field.values[x <= 1, :]).all()
    # 'ij' order, as a Landscape: values[i, j] = f(x[i], y[j])
    assert field.values[5, 3] == pytest.approx(x[5] + 0.01 * field.y[3])
    ax = static.contour(Lab(), resolution=21)
    assert "not finite" in ax.child_axes[0].get_ylabel()
    # No filled band reaches into the NaN half (x > 1, one grid step of slack).
    filled = np.concatenate([p.vertices for p in ax.collections[0].get_paths()])
    assert filled[:, 0].max() <= 1 + (x[1] - x[0]) + 1e-9


def test_log_scale_is_chosen_for_rosenbrock_and_labelled():
    ax = static.contour(ll.surface("rosenbrock"), resolution=30)
    assert ax.child_axes[0].get_ylabel().startswith("log10(")
    ax = static.contour(ll.surface("rosenbrock"), resolution=30, log=False)
    assert ax.child_axes[0].get_ylabel() == "f"
    ax = static.contour(ll.surface("bowl"), resolution=30)
    assert ax.child_axes[0].get_ylabel() == "f"


def test_gradient_field_arrows_are_parallel_to_the_gradient():
    himmelblau = ll.surface("himmelblau")
    ax = static.contour(himmelblau, resolution=20, gradient_field=True)
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    assert quiver.N == 20 * 20
    points = np.asarray(quiver.get_offsets())
    _, grads = himmelblau.value_and_grad(torch.as_tensor(points))
    expected = grads.numpy() / np.linalg.norm(grads.numpy(), axis=1, keepdims=True)
    drawn = np.column_stack([quiver.U, quiver.V])
    drawn = drawn / np.linalg.norm(drawn, axis=1, keepdims=True)
    np.testing.assert_allclose(drawn, expected, atol=1e-9)


def test_trajectories_draw_one_path_start_and_end_per_run(rosenbrock_race):
    rosenbrock, runs = rosenbrock_race
    ax = static.contour(rosenbrock, trajectories=runs, resolution=20)
    paths = lines(ax, "losslab-path")
    assert len(paths) == 3
    assert len(lines(ax, "losslab-start")) == 3
    assert len(lines(ax, "losslab-end")) + len(lines(ax, "losslab-diverged")) == 3
    for path, run in zip(paths, runs, strict=True):
        assert (path.get_xdata()[0], path.get_ydata()[0]) == (-1.5, 2.0)
        assert len(path.get_xdata()) == run.stopped_at + 1
        assert path.get_label().startswith(run.label)
    colours = {path.get_color() for path in paths}
    assert len(colours) == 3
    # The view stays on the window whatever the paths do.
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 3.0)


def test_a_batched_trajectory_gives_one_path_per_start_and_one_legend_entry():
    bowl = ll.surface("bowl")
    batch = ll.descend(bowl, optim.gd(0.1), [[1.0, 1.0], [-2.0, 3.0], [4.0, -1.0]], 10)
    ax = static.contour(bowl, trajectories=batch, resolution=10)
    assert len(lines(ax, "losslab-path")) == 3
    labels = [h.get_label() for h in ax.get_legend().legend_handles]
    assert sum(label.startswith("gd(") for label in labels) == 1


def test_a_diverged_run_ends_with_a_red_x_and_says_so():
    bowl = ll.surface("bowl")
    run = ll.descend(bowl, optim.gd(1.5), (1.0, 1.0), 200)
    assert run.diverged
    ax = static.contour(bowl, trajectories=run, resolution=10)
    (path,) = lines(ax, "losslab-path")
    assert f"diverged at step {run.stopped_at + 1}" in path.get_label()
    (cross,) = lines(ax, "losslab-diverged")
    assert cross.get_marker() == "x" and cross.get_color() == style.DIVERGED_COLOUR
    assert not lines(ax, "losslab-end")
    assert ax.get_xlim() == (-5.0, 5.0)


def test_critical_points_are_marked_by_kind():
    himmelblau = ll.surface("himmelblau")
    points = ll.critical_points(himmelblau, resolution=15)
    ax = static.contour(himmelblau, critical_points=points, resolution=10)
    kinds = {p.kind for p in points}
    assert kinds == {"minimum", "saddle", "maximum"}
    markers = {kind: lines(ax, f"losslab-critical-{kind}")[0].get_marker() for kind in kinds}
    assert len(set(markers.values())) == 3
    assert len(lines(ax, "losslab-critical-saddle")[0].get_xdata()) == 4


def test_one_dimensional_objectives_are_refused_by_contour_and_dispatched_by_landscape():
    well = ll.surface("double_well")
    with pytest.raises(LosslabError, match="curve_1d"):
        static.contour(well)
    with pytest.raises(LosslabError, match="curve_1d"):
        static.surface_3d(well)
    ax = static.view(well, resolution=50)
    assert ax.get_xlabel() == "w (x)"
    ax = static.view(ll.surface("bowl"), resolution=10)
    assert ax.get_ylabel() == "w2 (y)"
    with pytest.raises(LosslabError, match="contour"):
        static.curve_1d(ll.surface("bowl"))


def test_mismatched_trajectory_is_refused():
    run = ll.descend(ll.surface("parabola"), optim.gd(0.1), (1.0,), 5)
    with pytest.raises(LosslabError, match="parameter"):
        static.contour(ll.surface("bowl"), trajectories=run, resolution=10)
    with pytest.raises(LosslabError, match="Trajectory"):
        static.contour(ll.surface("bowl"), trajectories=["not a run"], resolution=10)


def test_surface_3d_lifts_paths_onto_the_surface():
    himmelblau = ll.surface("himmelblau")
    run = ll.descend(himmelblau, optim.gd(0.01), (0.0, 0.0), 30)
    ax = static.surface_3d(himmelblau, trajectories=run, resolution=15, log=False)
    assert ax.name == "3d"
    (path,) = lines(ax, "losslab-path")
    x, y, z = path.get_data_3d()
    assert (x[0], y[0]) == (0.0, 0.0)
    # z = the loss a lift (SURFACE_LIFT of the colour range) above it, or as far above the drawn
    # mesh where that is higher (Field.heights): never below the loss, close to it on a 15 grid
    losses = run.losses[: run.stopped_at + 1].numpy()
    span = ax.get_zlim()[1] - ax.get_zlim()[0]
    assert (z > losses).all()
    assert (z - losses < 0.1 * span).all()
    assert len(lines(ax, "losslab-start")) == 1 and len(lines(ax, "losslab-end")) == 1
    with pytest.raises(LosslabError, match="3-D Axes"):
        static.surface_3d(himmelblau, resolution=10, ax=Figure().add_subplot())


def test_curve_1d_draws_steps_in_order_and_annotates_the_end():
    well = ll.surface("double_well")
    runs = ll.race(well, [optim.gd(0.05), optim.momentum(0.05)], (2.2,), 40)
    ax = static.curve_1d(well, trajectories=runs, resolution=100)
    assert ax.get_title() == "double_well"
    paths = lines(ax, "losslab-path")
    assert len(paths) == 2 and paths[0].get_xdata()[0] == 2.2
    steps = gids(ax, "losslab-steps")
    assert len(steps) == 2
    colours = steps[0].get_facecolors()
    assert len(colours) == runs[0].stopped_at + 1
    assert colours[0][:3].sum() > colours[-1][:3].sum()  # pale first step, full colour last
    texts = [t.get_text() for t in ax.texts]
    assert any("f'(x)" in t and "steps = 40" in t and t.startswith("gd(") for t in texts)
    assert len(lines(ax, "losslab-minimum")[0].get_xdata()) == 2


def test_basin_map_colours_labels_and_gives_shares():
    himmelblau = ll.surface("himmelblau")
    basin_map = ll.basins(himmelblau, optim.gd(0.05), resolution=12, n_steps=60)
    ax = static.basin_map(basin_map, objective=himmelblau)
    (image,) = gids(ax, "losslab-basins")
    np.testing.assert_array_equal(image.get_array(), basin_map.labels.numpy().T)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith("minimum (3, 2): ")
    assert any(t.startswith("diverged: ") for t in texts)
    assert image.cmap(image.norm(-2))[:3] == (0.0, 0.0, 0.0)  # diverged is black


def test_hessian_view_on_the_saddle():
    saddle = ll.surface("saddle")
    ax = static.hessian_view(ll.inspect(saddle, (0.0, 0.0)), saddle)
    box = "\n".join(t.get_text() for t in ax.texts)
    assert "kind: saddle" in box and "eigenvalues: -2, 2" in box and "det: -4" in box
    arrows = gids(ax, "losslab-eigen")
    assert len(arrows) == 4  # two per eigen-direction
    colours = {a.arrow_patch.get_edgecolor()[:3] for a in arrows}
    assert len(colours) == 2  # blue attracting, red repelling
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("repelling" in t for t in legend) and any("attracting" in t for t in legend)


def test_hessian_view_in_one_dimension():
    well = ll.surface("double_well")
    (peak,) = [p for p in ll.critical_points(well) if p.kind == "maximum"]
    ax = static.hessian_view(peak, well)
    assert any("kind: maximum" in t.get_text() for t in ax.texts)


def test_loss_curves_scale_and_diverged_marks(rosenbrock_race):
    _, runs = rosenbrock_race
    ax = static.loss_curves(runs)
    assert len(lines(ax, "losslab-loss")) == 3
    assert ax.get_yscale() == "log"
    bowl = ll.surface("bowl")
    wild = ll.descend(bowl, optim.gd(1.5), (1.0, 1.0), 50)
    ax = static.loss_curves([wild], log=False)
    assert ax.get_yscale() == "linear"
    assert len(lines(ax, "losslab-diverged")) == 1
    well = ll.descend(ll.surface("double_well"), optim.gd(0.05), (2.2,), 30)  # losses < 0
    assert static.loss_curves(well).get_yscale() == "symlog"
    with pytest.raises(LosslabError, match="at least one"):
        static.loss_curves([])


def test_race_is_one_figure_with_landscape_and_loss_curves(rosenbrock_race):
    rosenbrock, runs = rosenbrock_race
    figure = static.race(rosenbrock, runs)
    assert isinstance(figure, Figure)
    left, right = figure.axes  # the colour bar is an inset of the left Axes
    assert left.get_title() == "rosenbrock" and right.get_xlabel() == "step"
    assert "from (-1.5, 2)" in figure.get_suptitle()


def test_hessian_view_radius_must_be_positive():
    saddle = ll.surface("saddle")
    with pytest.raises(LosslabError, match="radius"):
        static.hessian_view(ll.inspect(saddle, (0.0, 0.0)), saddle, radius=-1.0)
    ax = static.hessian_view(ll.inspect(saddle, (0.5, 0.0)), saddle, radius=0.25)
    assert ax.get_xlim() == (0.25, 0.75)
