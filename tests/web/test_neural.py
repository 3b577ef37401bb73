"""The neural-landscapes page: its computations against closed forms and the library, its
figures' traces, and each callback's logic as a plain function (request -> train -> slice)."""

import numpy as np
import pytest
import torch

import losslab as ll
from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.landscapes import convexity
from losslab.models import normal_equation
from losslab.plot import style
from losslab.plot.scene import Path
from losslab.web import figures, networks, scenes
from losslab.web.pages import neural


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """As `losslab serve` runs: small networks, and other processes on the same cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def bowl():
    return networks.linear_regression(0)


@pytest.fixture(scope="module")
def logistic():
    return networks.logistic_regression(0)


@pytest.fixture(scope="module")
def narrow():
    return networks.network_slice(networks.NetworkSpec(width=8, slice="random", seed=0))


# -- the convex models --------------------------------------------------------------------------


def test_linear_bowl_is_the_mse_of_the_data_with_the_normal_equation_marked(bowl):
    X, y = load_dataset("linear", seed=0).train
    X, y = X.double().numpy(), y.double().numpy()
    solution = normal_equation(torch.as_tensor(X), torch.as_tensor(y)).numpy()
    assert bowl.marks["normal-equation solution"] == pytest.approx(tuple(solution))
    # Oracle for the grid and its orientation ('ij'): loss[i, j] is the MSE at (x[i], y[j]).
    x1, x2 = bowl.landscape.coords
    for i, j in ((3, 30), (25, 7), (40, 0)):
        w = np.array([x1[i], x2[j]])
        assert bowl.loss[i, j] == pytest.approx(np.mean((X @ w - y) ** 2), rel=1e-5)
    i, j = np.unravel_index(np.argmin(bowl.loss), bowl.loss.shape)
    step = x1[1] - x1[0]
    assert abs(x1[i] - solution[0]) <= step and abs(x2[j] - solution[1]) <= step
    # The grid is a Landscape of the identity slice: its points ARE the weights.
    np.testing.assert_array_equal(bowl.landscape.directions, np.eye(2))
    np.testing.assert_array_equal(bowl.landscape.origin, np.zeros(2))
    # Full-batch gradient descent walks from the first weights to the solution.
    assert np.allclose(bowl.path[-1], solution, atol=0.01)
    assert np.all(np.diff(bowl.path_loss) <= 1e-9)
    assert bowl.nonconvex_share == 0.0


def test_logistic_minimum_has_zero_gradient_and_is_the_lowest_point(logistic):
    data = load_dataset("logistic", seed=0)
    X, y = data.train
    w = torch.tensor(logistic.marks["fitted minimum"], dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(X.double() @ w, y.double())
    (grad,) = torch.autograd.grad(loss, w)
    assert grad.norm() < 1e-3
    assert logistic.loss.min() >= float(loss.detach()) - 1e-6
    assert logistic.marks["weights that made the data"] == (2.0, -1.0)
    assert logistic.nonconvex_share == 0.0


# -- the network --------------------------------------------------------------------------------


def test_network_slice_is_centred_on_the_trained_weights(narrow):
    run, _ = networks.trained_network(8, 0)
    x, y = narrow.landscape.coords
    centre = np.argmin(np.abs(x)), np.argmin(np.abs(y))
    assert x[centre[0]] == 0.0 and y[centre[1]] == 0.0
    assert narrow.loss[centre] == pytest.approx(float(run.train_loss[-1]), rel=1e-4)
    np.testing.assert_allclose(narrow.landscape.origin, run.final.double().numpy())
    assert narrow.path.shape == (run.n_records, 2)
    assert np.allclose(narrow.path[-1], 0.0, atol=1e-9)  # the end of training is the centre
    assert narrow.log and narrow.axis_titles[0].startswith("direction 1")
    assert any("114 weights" in line for line in narrow.facts)
    assert any("perpendicular to this random plane" in line for line in narrow.facts)


def test_pca_slice_holds_the_path_and_says_how_much():
    pca = networks.network_slice(networks.NetworkSpec(width=8, slice="pca", seed=0))
    start = pca.path[0]
    assert np.hypot(*start) > 1.0, "on the PCA plane the path crosses the map"
    x, y = pca.landscape.coords
    assert x[0] < start[0] < x[-1] and y[0] < start[1] < y[-1]
    assert pca.axis_titles[0].startswith("PC 1 (")
    assert any("of the path's movement" in line for line in pca.facts)


def test_width_smooths_the_slice():
    """The third question's claim: the wide networks' slices are (nearly) convex."""
    rows = networks.width_sweep(0)
    assert [w for w, _, _ in rows] == list(networks.WIDTHS)
    shares = {w: share for w, share, _ in rows}
    assert shares[256] < 0.05 < shares[4]
    assert max(shares[w] for w in (128, 256)) < min(shares[w] for w in (2, 4, 8))
    assert all(0.0 <= share <= 1.0 and loss > 0 for _, share, loss in rows)
    scene = scenes.sweep_scene(rows, 16)
    (bars,) = scene.panel.items
    np.testing.assert_allclose(bars.heights, [100 * share for _, share, _ in rows])
    figure = figures.sweep(scene, revision=3)
    bar = figure.data[0]
    assert list(bar.x) == [str(w) for w in networks.WIDTHS] and bar.meta == "sweep"
    chosen = list(bar.x).index("16")
    assert bar.marker.color[chosen] == style.OPTIMIZER_COLOURS["momentum"]
    assert set(bar.marker.color) - {bar.marker.color[chosen]} == {style.BAR_COLOUR}
    assert figure.layout.xaxis.type == "category" and tuple(figure.layout.yaxis.range) == (0, 100)
    assert "final training loss" in bar.hovertext[chosen]


def test_results_are_cached_per_choice(narrow):
    assert networks.network_slice(networks.NetworkSpec(width=8, slice="random", seed=0)) is narrow
    assert networks.trained_network(8, 0) is networks.trained_network(8, 0)


def test_network_spec_refuses_what_the_page_does_not_offer():
    for bad in ({"width": 3}, {"slice": "hessian"}, {"seed": -1}, {"seed": 1.5}):
        with pytest.raises(LosslabError):
            networks.NetworkSpec(**bad)


def test_nonconvex_share_and_lifting_oracles():
    x = y = np.linspace(-1, 1, 21)
    X, Y = np.meshgrid(x, y, indexing="ij")
    # A plane is exact under bilinear interpolation: the 3-D path sits on it, lifted by the
    # style's share of the colour range; a point outside the window has no height (NaN).
    grid = ll.Landscape((x, y), {"loss": 3 + 2 * X + 3 * Y}, np.zeros(2), np.eye(2))
    points = np.array([[0.13, -0.77], [0.5, 0.5], [5.0, 0.0]])
    plane = networks.Lesson("plane", grid, points, np.ones(3), {}, ("a", "b"))
    # The web lab shows the core's estimate (tested in tests/test_convexity.py).
    assert plane.nonconvex_share == convexity.landscape_nonconvex_share(grid) == 0.0
    panel = scenes.lesson_panel("plane", plane, "3d", "#000000", "path")
    path = panel.find(Path, "path-plane")[0]
    lift = style.SURFACE_LIFT * (8 - (-2))
    expected = 3 + 2 * points[:2, 0] + 3 * points[:2, 1] + lift
    np.testing.assert_allclose(path.z[:2], expected)
    assert np.isnan(path.z[2])


# -- figures ------------------------------------------------------------------------------------


def _metas(figure) -> list[str]:
    return [trace.meta for trace in figure.data]


def _draw(lessons, view, revision):
    scene = scenes.lessons_scene([(k, s, "#1f77b4", "training path") for k, s in lessons], view)
    return scene, figures.lessons(scene, view, height=400, revision=revision)


@pytest.mark.parametrize("view", figures.VIEWS)
def test_figures_draw_three_landscapes_with_paths(bowl, logistic, narrow, view):
    convex_scene, convex = _draw([("linear", bowl), ("logistic", logistic)], view, 7)
    network_scene, network = _draw([("network", narrow)], view, 8)
    metas = _metas(convex) + _metas(network)
    for key in ("linear", "logistic", "network"):
        for role in ("landscape", "path", "start", "end"):
            assert f"{role}-{key}" in metas
    kind = "surface" if view == "3d" else "contour"  # never animated: plain contour traces
    assert [t.type for t in convex.data if t.meta.startswith("landscape")] == [kind, kind]
    assert not convex.layout.images
    assert convex.layout.datarevision == 7 and network.layout.datarevision == 8
    # Each mark once in the legend, in the first panel that has it.
    legend = [t.name for t in convex.data if t.meta.startswith("mark") and t.showlegend]
    assert legend == ["normal-equation solution", "weights that made the data", "fitted minimum"]
    assert [t.name for t in convex.data if t.showlegend].count("training path") == 1
    # The loss on the scene is the landscape's, 'ij', on the colour scale of the lesson.
    (field,) = [i for i in network_scene.panel.items if i.name == "landscape-network"]
    np.testing.assert_array_equal(field.values, narrow.loss)
    assert field.scale.log and not convex_scene.panels[0].items[0].scale.log
    path = next(t for t in network.data if t.meta == "path-network")
    np.testing.assert_allclose(path.x, narrow.path[:, 0])
    if view == "contour":
        assert convex.layout.xaxis.title.text == "w1" and convex.layout.yaxis2.title.text == "w2"
        assert convex.layout.yaxis.scaleanchor == "x"  # raw weights: one unit on both axes
        assert network.layout.yaxis.title.text.startswith("direction 2")
        colour = next(t for t in network.data if t.meta == "landscape-network")
        assert colour.colorbar.title.text == "log10(loss)"
    else:
        assert not any(t.type == "scatter" for t in convex.data), "no stray 2-D axes in 3-D"
        np.testing.assert_allclose(path.z, field.heights(narrow.path, field.at(narrow.path)))


# -- callbacks as plain functions ---------------------------------------------------------------


def test_request_then_the_three_stages_report_progress_and_draw():
    asked = neural.request(2, "random", 0, "contour")
    assert asked.job == {"width": 8, "slice": "random", "seed": 0, "view": "contour"}
    assert asked.progress == 0 and asked.status.startswith("1/3")
    assert asked.width_text == "8 neurons per hidden layer"
    trained = neural.train_stage(asked.job)
    assert trained.progress == 1 and trained.status.startswith("2/3") and trained.out == asked.job
    drawn = neural.slice_stage(trained.out)
    assert drawn.progress == 2 and drawn.status.startswith("3/3") and drawn.drawn == asked.job
    assert "landscape-network" in _metas(drawn.figure)
    swept = neural.sweep_stage(drawn.drawn)
    assert swept.progress == neural.N_STAGES == 3 and swept.status.startswith("Ready")
    assert swept.out.data[0].meta == "sweep"
    assert "114 weights" in str(drawn.facts)
    assert drawn.figure.layout.datarevision == neural.Job.from_dict(asked.job).revision()
    convex = neural.convex(asked.job)
    assert {"landscape-linear", "landscape-logistic"} <= set(_metas(convex.figure))
    assert "normal equation: w = (2.005, -1.003)" in str(convex.facts)


def test_revisions_change_with_the_choices():
    a = neural.Job.from_dict({"width": 8, "slice": "random", "seed": 0, "view": "3d"})
    b = neural.Job.from_dict({"width": 16, "slice": "random", "seed": 0, "view": "3d"})
    assert a.revision() != b.revision() and a.revision() >= 1
    assert a.revision("view") == b.revision("view")


@pytest.mark.parametrize(
    "args, words",
    [
        ((99, "random", 0, "contour"), "width"),
        ((2, "eigen", 0, "contour"), "slice"),
        ((2, "random", -3, "contour"), "seed"),
        ((2, "random", "1; rm -rf /", "contour"), "seed"),
        ((2, "random", 0, "4d"), "view"),
    ],
)
def test_request_refuses_bad_controls_with_a_message(args, words):
    with pytest.raises(LosslabError, match=words):
        neural.request(*args)


@pytest.mark.parametrize(
    "junk",
    [None, "x", [], {"width": 8}, {"width": 7, "slice": "random", "seed": 0, "view": "contour"}],
)
def test_stages_check_the_job_the_browser_sends_back(junk):
    for stage in (neural.convex, neural.train_stage, neural.slice_stage, neural.sweep_stage):
        with pytest.raises(LosslabError):
            stage(junk)
