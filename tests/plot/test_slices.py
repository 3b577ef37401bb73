"""Static views of a Landscape (a slice through a model's loss): what each figure holds.

The landscapes are built by hand (known grids, random directions in 5 parameters), so every
check compares against numbers computed here: grid minima, projected trajectories, labels.
"""

import numpy as np
import pytest
from matplotlib.figure import Figure

from losslab.errors import LosslabError
from losslab.landscapes import Landscape
from losslab.plot import _slice, static, style
from losslab.plot.export import save_figure

N_PARAMS = 5


def landscape_2d(kind="random", **extra) -> Landscape:
    rng = np.random.default_rng(0)
    x, y = np.linspace(-1, 1, 11), np.linspace(-0.5, 0.5, 7)
    X, Y = np.meshgrid(x, y, indexing="ij")
    loss = (X - 0.4) ** 2 + 3 * (Y + 0.2) ** 2 + 0.05  # grid minimum at x = 0.4, y = -1/6
    info = {"kind": kind, "normalization": "filter", "seed": 0, **extra}
    return Landscape(
        (x, y),
        {"loss": loss, "accuracy": 1 - loss / loss.max()},
        rng.normal(size=N_PARAMS),
        rng.normal(size=(2, N_PARAMS)),
        {"directions": info},
    )


def landscape_1d(kind="toward") -> Landscape:
    rng = np.random.default_rng(1)
    x = np.linspace(-0.5, 1.5, 21)
    loss = (x - 0.5) ** 2 + 0.1
    return Landscape(
        (x,),
        {"loss": loss, "accuracy": 1 - loss},
        rng.normal(size=N_PARAMS),
        rng.normal(size=(1, N_PARAMS)),
        {"directions": {"kind": kind}},
    )


def on_slice(land: Landscape, coords) -> np.ndarray:
    """Parameter vectors (T, n_params) at slice coordinates (T, k)."""
    return land.parameters(np.asarray(coords, dtype=float))


def lines(ax, gid):
    return [line for line in ax.lines if line.get_gid() == gid]


def test_2d_view_is_a_surface_and_a_contour_with_labels_from_the_metadata():
    land = landscape_2d()
    fig = static.slice_view(land)
    assert isinstance(fig, Figure)
    surface, contour = fig.axes
    assert surface.name == "3d" and contour.name == "rectilinear"
    assert len(contour.child_axes) == 1  # one colour bar, an inset by the contour: both share it
    assert contour.get_xlabel() == "direction 1 (filter-normalized, seed 0)"
    assert contour.get_ylabel() == "direction 2 (filter-normalized, seed 0)"
    assert surface.get_xlabel().replace("\n", " ") == contour.get_xlabel()
    assert surface.get_zlabel() == "loss"
    assert contour.child_axes[0].get_ylabel() == "loss"
    assert contour.get_xlim() == (-1.0, 1.0) and contour.get_ylim() == (-0.5, 0.5)


def test_origin_and_grid_minimum_are_marked_where_they_are():
    land = landscape_2d()
    ax = static.slice_contour(land)
    (origin,) = lines(ax, "losslab-origin")
    assert (origin.get_xdata()[0], origin.get_ydata()[0]) == (0.0, 0.0)
    (best,) = lines(ax, "losslab-best")
    expected = land.point(land.argmin("loss"))
    assert (best.get_xdata()[0], best.get_ydata()[0]) == tuple(expected)
    assert best.get_label() == f"grid minimum of loss = {land.min('loss'):.4g}"


def test_accuracy_marks_the_grid_maximum():
    land = landscape_2d()
    ax = static.slice_contour(land, metric="accuracy")
    (best,) = lines(ax, "losslab-best")
    index = np.unravel_index(np.argmax(land.values["accuracy"]), land.shape)
    assert (best.get_xdata()[0], best.get_ydata()[0]) == tuple(land.point(index))
    assert best.get_label().startswith("grid maximum of accuracy")
    assert ax.child_axes[0].get_ylabel() == "accuracy"


def test_trajectory_is_the_projection_cut_at_the_window():
    land = landscape_2d()
    coords = np.array([[2.0, 0.3], [0.9, 0.2], [0.5, 0.1], [0.1, 0.0], [0.0, 0.0]])
    points = on_slice(land, coords)
    points[:-1] += 1e-3  # a little off the plane: a projection, not the coordinates given
    fig = static.slice_view(land, trajectory=points)
    surface, contour = fig.axes
    (path,) = lines(contour, "losslab-trajectory")
    expected = land.project(points)
    expected[0] = np.nan  # x = 2 is outside [-1, 1]: cut, not drawn
    np.testing.assert_allclose(path.get_xdata(), expected[:, 0])
    np.testing.assert_allclose(path.get_ydata(), expected[:, 1])
    assert contour.get_xlim() == (-1.0, 1.0) and contour.get_ylim() == (-0.5, 0.5)
    assert lines(contour, "losslab-start") == []  # the start lies outside the window
    (end,) = lines(contour, "losslab-end")
    assert end.get_xdata()[0] == pytest.approx(expected[-1, 0])
    labels = [t.get_text() for t in contour.get_legend().get_texts()]
    assert "training trajectory (projected)" in labels and "end" in labels
    # On the surface the path is lifted to the slice's values (exact at grid points).
    (lifted,) = lines(surface, "losslab-trajectory")
    x3, y3, z3 = lifted.get_data_3d()
    np.testing.assert_allclose(x3, expected[:, 0])
    i, j = 5, 3  # the last point is the origin, grid point (5, 3)
    lift = style.SURFACE_LIFT * np.ptp(land.values["loss"])
    assert z3[-1] == pytest.approx(land.values["loss"][i, j] + lift)


def test_trajectory_accepts_a_run_object_and_checks_its_size():
    land = landscape_2d()

    class Run:
        params = on_slice(land, [[0.1, 0.1], [0.0, 0.0]])

    ax = static.slice_contour(land, trajectory=Run())
    (path,) = lines(ax, "losslab-trajectory")
    np.testing.assert_allclose(path.get_xdata(), [0.1, 0.0], atol=1e-12)
    with pytest.raises(LosslabError, match="3 parameters per point"):
        static.slice_contour(land, trajectory=np.zeros((4, 3)))


def test_marked_points_are_projected_and_labelled():
    land = landscape_2d()
    w = on_slice(land, [[0.25, -0.25]])[0]
    ax = static.slice_contour(land, mark={"normal equation": w})
    (mark,) = lines(ax, "losslab-mark")
    assert mark.get_xdata()[0] == pytest.approx(0.25)
    assert mark.get_ydata()[0] == pytest.approx(-0.25)
    assert mark.get_label() == "normal equation (0.25, -0.25)"


def test_log_colours_by_log10_and_says_so():
    land = landscape_2d()
    fig = static.slice_view(land, log=True)
    surface, contour = fig.axes
    (bar,) = contour.child_axes
    assert bar.get_ylabel() == "log10(loss)"
    assert surface.get_zlabel() == "log10 loss"
    assert fig.get_suptitle().startswith("log10 loss")
    lo, hi = bar.get_ylim()
    assert hi == pytest.approx(np.log10(land.values["loss"].max()))


def test_plane_marks_its_three_anchors_instead_of_the_origin():
    land = landscape_2d(kind="plane")
    ax = static.slice_contour(land)
    assert lines(ax, "losslab-origin") == []
    anchors = lines(ax, "losslab-anchor")
    got = [(a.get_label(), a.get_xdata()[0], a.get_ydata()[0]) for a in anchors]
    assert got == [("a", 0.0, 0.0), ("b", 1.0, 0.0)]  # c at (0, 1) is outside y in [-0.5, 0.5]
    assert ax.get_xlabel() == "direction 1 (a \u2192 b)"


def test_pca_axes_give_the_explained_variance():
    land = landscape_2d(kind="pca", explained_variance=[0.61234, 0.2])
    ax = static.slice_contour(land)
    assert ax.get_xlabel() == "PC1 (61.2% of variance)"
    assert ax.get_ylabel() == "PC2 (20.0% of variance)"


def test_1d_curve_has_accuracy_on_a_twin_axis_and_the_interpolation_ends():
    land = landscape_1d()
    fig = static.slice_view(land)
    main, twin = fig.axes
    (curve,) = lines(main, "losslab-curve")
    np.testing.assert_array_equal(curve.get_ydata(), land.values["loss"])
    (accuracy,) = lines(twin, "losslab-secondary")
    np.testing.assert_array_equal(accuracy.get_ydata(), land.values["accuracy"])
    assert twin.get_ylabel() == "accuracy" and main.get_ylabel() == "loss"
    anchors = lines(main, "losslab-anchor")
    assert [(a.get_label(), a.get_xdata()[0]) for a in anchors] == [
        ("a (start)", 0.0),
        ("b (end)", 1.0),
    ]
    assert anchors[1].get_ydata()[0] == pytest.approx(0.35)  # loss at 1: 0.25 + 0.1
    assert main.get_xlabel() == "interpolation \u03b1 (0 = start, 1 = end)"
    (best,) = lines(main, "losslab-best")
    assert best.get_xdata()[0] == pytest.approx(0.5)


def test_1d_random_direction_marks_the_origin_and_a_trajectory_on_the_curve():
    land = landscape_1d(kind="random")
    ax = static.slice_curve(land, trajectory=on_slice(land, [[1.0], [0.5], [0.0]]), log=True)
    assert lines(ax, "losslab-anchor") == [] and len(lines(ax, "losslab-origin")) == 1
    (path,) = lines(ax, "losslab-trajectory")
    np.testing.assert_allclose(path.get_xdata(), [1.0, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(path.get_ydata(), [0.35, 0.1, 0.35], atol=1e-12)
    assert ax.get_yscale() == "log"


def test_wrong_metric_or_dimension_is_one_clear_error():
    with pytest.raises(LosslabError, match="metric == 'acc'.*loss, accuracy"):
        static.slice_view(landscape_2d(), metric="acc")
    with pytest.raises(LosslabError, match="needs a 2-D landscape"):
        static.slice_contour(landscape_1d())
    with pytest.raises(LosslabError, match="needs a 1-D landscape"):
        static.slice_curve(landscape_2d())
    with pytest.raises(LosslabError, match="3-D Axes"):
        static.slice_surface(landscape_2d(), ax=Figure().add_subplot())


def test_nan_values_are_gaps_and_labelled():
    land = landscape_2d()
    land.values["loss"][0, :] = np.nan
    ax = static.slice_contour(land)
    assert "not finite" in ax.child_axes[0].get_ylabel()


def test_static_reexports_and_the_figures_save(tmp_path):
    fig = static.slice_view(landscape_2d(), trajectory=on_slice(landscape_2d(), [[0, 0]]))
    path = save_figure(fig, tmp_path / "slice.svg")
    assert path.read_text().lstrip().startswith("<?xml")
    save_figure(static.slice_view(landscape_1d()), tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_interpolation_is_exact_on_the_grid_and_linear_between():
    land = landscape_2d()
    data = _slice.slice_of(land, "loss")
    x, y = land.coords
    grid = np.array([[x[2], y[5]], [x[10], y[0]]])
    np.testing.assert_allclose(
        _slice.interpolate(data, grid), [land.values["loss"][2, 5], land.values["loss"][10, 0]]
    )
    middle = np.array([[(x[2] + x[3]) / 2, y[5]]])
    expected = (land.values["loss"][2, 5] + land.values["loss"][3, 5]) / 2
    assert _slice.interpolate(data, middle)[0] == pytest.approx(expected)
    assert np.isnan(_slice.interpolate(data, np.array([[5.0, 0.0]]))[0])
