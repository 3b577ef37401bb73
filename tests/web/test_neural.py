"""The neural-landscapes page: its computations against closed forms and the library, its
figures' traces, and each callback's logic as a plain function (request -> train -> slice)."""

from dataclasses import replace
from importlib import resources

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
from losslab.web import figures, networks, scenes, width_lesson
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


# -- the width lesson ---------------------------------------------------------------------------


def test_shipped_width_lesson_is_the_page_measurement_recomputed():
    """The data file was made with the page's settings, holds every cell, and one cell
    recomputed now gives its number (the script's `measure`, cheap for width 4)."""
    assert width_lesson.shipped_settings() == width_lesson.settings()
    samples = width_lesson.load()
    cells = {(s.width, s.seed, s.plane) for s in samples}
    assert cells == {
        (w, seed, plane)
        for w in networks.WIDTHS
        for seed in range(width_lesson.N_SEEDS)
        for plane in range(width_lesson.N_PLANES)
    }
    shipped = next(s for s in samples if (s.width, s.seed, s.plane) == (4, 1, 2))
    again = width_lesson.measure(4, 1, 2)
    # A share counts grid points (841 of them): one point's flip is the most a platform moves.
    assert again.nonconvex_share == pytest.approx(shipped.nonconvex_share, abs=1.01 / 29**2)
    assert again.rise == pytest.approx(shipped.rise, rel=1e-4, abs=1e-6)
    assert again.final_loss == pytest.approx(shipped.final_loss, rel=1e-4, abs=1e-6)


def test_the_data_file_is_what_the_script_writes():
    """Its first line names the command; the script's writer gives back the file exactly."""
    shipped = resources.files("losslab.web").joinpath(width_lesson.DATA_FILE).read_text()
    assert shipped.splitlines()[1].startswith(f' "made_by": "{width_lesson.COMMAND}')
    assert width_lesson.to_json(width_lesson.load(), width_lesson.shipped_settings()) == shipped


def test_the_page_slice_is_plane_zero_of_the_width_lesson(narrow):
    """The dot the chart draws for the page's network is the chart's own measure of it."""
    assert width_lesson.measure(8, 0, 0).nonconvex_share == narrow.nonconvex_share


def test_the_width_claim_is_what_the_shipped_numbers_show():
    """Derive the trend from the raw samples (numpy, not `summarise`), then hold the page's
    sentence and the quiz to it."""
    samples = width_lesson.load()
    table = {  # width -> (seeds,) shares and rises, each seed averaged over its planes
        w: np.array(
            [
                [
                    np.mean([getattr(s, f) for s in samples if (s.width, s.seed) == (w, seed)])
                    for seed in range(width_lesson.N_SEEDS)
                ]
                for f in ("nonconvex_share", "rise")
            ]
        )
        for w in networks.WIDTHS
    }
    means = np.array([table[w][0].mean() for w in networks.WIDTHS])
    start = networks.WIDTHS.index(neural.WIDTH_TREND_START)
    # The trend the quiz names: the share falls at every doubling from its start on, by more
    # than twice the standard error of the difference (no step of it is seed noise) ...
    for w, v in zip(networks.WIDTHS[start:], networks.WIDTHS[start + 1 :], strict=False):
        se = np.hypot(*(table[x][0].std(ddof=1) / np.sqrt(width_lesson.N_SEEDS) for x in (w, v)))
        assert table[w][0].mean() - table[v][0].mean() > 2 * se, (w, v)
    # ... and it starts there: the step before it rises (widths 8 -> 16 on these numbers).
    assert start == 0 or means[start - 1] < means[start]
    assert width_lesson.trend_start(width_lesson.shipped_rows()) == neural.WIDTH_TREND_START
    rows = {r.width: r for r in width_lesson.shipped_rows()}
    assert [rows[w].share_mean for w in networks.WIDTHS] == pytest.approx(list(means))
    # The page says exactly that, with the chart's numbers.
    text = width_lesson.claim(width_lesson.shipped_rows())
    first, last = rows[neural.WIDTH_TREND_START], rows[max(networks.WIDTHS)]
    assert f"from width {neural.WIDTH_TREND_START} to {max(networks.WIDTHS)}" in text
    assert f"{100 * first.share_mean:.0f} \u00b1 {100 * first.share_sd:.0f} %" in text
    assert f"{100 * last.share_mean:.0f} \u00b1 {100 * last.share_sd:.0f} %" in text
    rises = [table[w][1].mean() for w in networks.WIDTHS[start:]]
    assert ("gets flatter" in text) == all(a > b for a, b in zip(rises, rises[1:], strict=False))
    narrow_means = means[:start]
    if start > 1 and not np.all(np.diff(narrow_means) < 0):
        assert "show no trend" in text
    assert "smoother and more convex" not in neural.LEDE + neural.PAGE.teaches
    (question,) = [q for q in neural.QUESTIONS if "width chart" in q.prompt]
    (right,) = [o for o in question.options if o.correct]
    assert f"From width {neural.WIDTH_TREND_START} up" in right.text


def test_width_lesson_summary_and_claim_oracles():
    """Hand-made samples: two seeds x two planes per width, known means and spreads."""
    S = width_lesson.Sample
    samples = [
        S(w, seed, plane, share + 0.02 * (plane - 0.5) + 0.1 * (seed - 0.5), 1.0 / w, loss)
        for w, share, loss in ((2, 0.2, 0.3), (4, 0.5, 0.01), (8, 0.3, 0.01), (16, 0.1, 0.01))
        for seed in (0, 1)
        for plane in (0, 1)
    ]
    rows = width_lesson.summarise(reversed(samples))
    assert [r.width for r in rows] == [2, 4, 8, 16]
    assert [r.share_mean for r in rows] == pytest.approx([0.2, 0.5, 0.3, 0.1])
    assert rows[0].share_sd == pytest.approx(0.1 / np.sqrt(2))  # seeds at 0.15 and 0.25
    assert [r.n_fit for r in rows] == [0, 2, 2, 2] and rows[0].rise_mean == 0.5
    assert width_lesson.trend_start(rows) == 4
    text = width_lesson.claim(rows)
    assert "from width 4 to 16" in text and "50 \u00b1 7 % \u2192 10 \u00b1 7 %" in text
    assert "gets flatter" in text and "Width 2 shows no trend (20 %)" in text
    assert ": 2 of their 2 networks stop short of fitting the data" in text
    falling = width_lesson.summarise([s for s in samples if s.width >= 4])
    assert "no trend" not in width_lesson.claim(falling)
    # Narrow networks that all fit: no excuse is offered; a last step that rises: no trend.
    fitted = [replace(s, final_loss=0.01) for s in samples]
    assert "stop short" not in width_lesson.claim(width_lesson.summarise(fitted))
    rising = [replace(s, nonconvex_share=s.width / 100) for s in samples]
    assert width_lesson.claim(width_lesson.summarise(rising)).endswith(
        "does not fall steadily with width (2, 4, 8, 16 %)."
    )
    x = y = np.linspace(-1, 1, 5)
    bowl = np.add.outer(x**2, y**2)
    assert width_lesson.slice_rise(bowl) == pytest.approx(bowl.mean())
    assert width_lesson.slice_rise(np.add.outer(x, 2 * y)) == pytest.approx(0.0)


@pytest.mark.parametrize("width", networks.WIDTHS)
def test_width_chart_has_whiskers_and_shows_the_chosen_width(width):
    """Every width: whiskers of +-1 sd, the bar in the path colour, and a pointer above the
    bar's whisker inside the axis range, so the choice shows even on a bar of height 0; the
    page's network is a dot on its bar, seen whole even at 0%."""
    rows = width_lesson.shipped_rows()
    figure = figures.sweep(scenes.sweep_scene(rows, width, (0.0, 7)), revision=3)
    bar, pointer, mine = figure.data
    assert list(bar.x) == [str(w) for w in networks.WIDTHS] and bar.meta == "sweep"
    np.testing.assert_allclose(bar.y, [100 * r.share_mean for r in rows])
    np.testing.assert_allclose(bar.error_y.array, [100 * r.share_sd for r in rows])
    assert bar.error_y.visible is not False and min(bar.error_y.array) > 0
    chosen = list(bar.x).index(str(width))
    assert bar.marker.color[chosen] == style.OPTIMIZER_COLOURS["momentum"]
    assert set(bar.marker.color) - {bar.marker.color[chosen]} == {style.BAR_COLOUR}
    assert "mean \u00b1 sd of 10 seeds" in bar.hovertext[chosen]
    lo, hi = figure.layout.yaxis.range
    top = bar.y[chosen] + bar.error_y.array[chosen]
    assert list(pointer.x) == [str(width)] and top < pointer.y[0] < hi
    assert pointer.marker.color == style.OPTIMIZER_COLOURS["momentum"]
    assert pointer.hoverinfo == "skip" and "seed 7): %{y:.0f}%" in mine.hovertemplate
    assert list(mine.x) == [str(width)] and lo < mine.y[0] == 0.0 and mine.name.endswith("7)")
    assert figure.layout.xaxis.type == "category"


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
    with pytest.raises(LosslabError, match=f"^{words.capitalize()} "):
        neural.request(*args)


@pytest.mark.parametrize(
    "junk",
    [None, "x", [], {"width": 8}, {"width": 7, "slice": "random", "seed": 0, "view": "contour"}],
)
def test_stages_check_the_job_the_browser_sends_back(junk):
    for stage in (neural.convex, neural.train_stage, neural.slice_stage, neural.sweep_stage):
        with pytest.raises(LosslabError):
            stage(junk)
