"""The neural-landscapes page: its computations against closed forms and the library, its
figures' traces, and each callback's logic as a plain function (request -> train -> slice)."""

from importlib import resources

import numpy as np
import pytest
import torch

import losslab as ll
from losslab.connectivity import WidthSweep, slice_roughness
from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.landscapes import convexity
from losslab.models import build, normal_equation
from losslab.plot import style
from losslab.plot.scene import Path
from losslab.results import to_json
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


def test_shipped_width_sweep_is_the_page_measurement_recomputed():
    """The data file is a WidthSweep of the page's family and settings, every width x seed;
    one cell recomputed now (width 4, seed 1, paired with seed 2 as in the full sweep) gives
    its numbers."""
    sweep = width_lesson.load()
    assert sweep.widths.tolist() == list(networks.WIDTHS)
    assert sweep.seeds.tolist() == list(range(width_lesson.N_SEEDS))
    again = width_lesson.measure(widths=[4], seeds=[1, 2])
    same = {k: v for k, v in again.settings.items() if k != "n_params"}
    assert same == {k: v for k, v in sweep.settings.items() if k != "n_params"}
    assert same["epochs"] == networks.NETWORK_TRAINING["epochs"] and same["planes"] == 3
    shipped, now = sweep.at(4, 1), again.at(4, 1)
    assert set(shipped) == set(now) == set(sweep.samples)
    # A share counts grid points (841 of them): one point's flip is the most a platform moves.
    assert now["nonconvex_share"] == pytest.approx(shipped["nonconvex_share"], abs=1.01 / 29**2)
    assert now["top_eigenvalue"] == pytest.approx(shipped["top_eigenvalue"], rel=1e-3)
    for figure in ("loss", "accuracy", "roughness", "barrier_before", "barrier_after"):
        assert now[figure] == pytest.approx(shipped[figure], rel=1e-4, abs=1e-6), figure


def test_the_data_file_is_what_the_script_writes():
    """The codec's JSON of what `load` reads, naming the command that made it."""
    shipped = resources.files("losslab.web").joinpath(width_lesson.DATA_FILE).read_text()
    assert width_lesson.shipped_text() == shipped
    assert to_json(width_lesson.load()) == shipped
    assert width_lesson.load().settings["made_by"] == width_lesson.COMMAND
    rows = width_lesson.shipped_rows()
    assert [r["width"] for r in rows] == list(networks.WIDTHS)
    np.testing.assert_array_equal(
        [r["roughness_sd"] for r in rows], width_lesson.load().sd("roughness")
    )
    assert len(shipped) < 40_000


def test_the_sweeps_networks_are_the_pages(narrow):
    """make_model under torch seeded with s is the page's network of seed s (the same first
    weights), and the chart's dot is the page's own slice."""
    data = load_dataset(networks.NETWORK_DATA, seed=0)
    for width, seed in ((8, 3), (64, 0)):
        torch.manual_seed(seed)
        mine = width_lesson.make_model(width).state_dict()
        page = build("mlp", data, width=width, depth=networks.DEPTH, seed=seed).state_dict()
        assert mine.keys() == page.keys()
        assert all(torch.equal(mine[k], page[k]) for k in mine)
    spec = networks.NetworkSpec(width=8, seed=0)
    assert neural.this_network(spec, "nonconvex_share") == (narrow.nonconvex_share, 0)
    assert neural.this_network(spec, "roughness") == (slice_roughness(narrow.loss), 0)
    run, _ = networks.trained_network(8, 0)
    assert neural.this_network(spec, "loss") == (float(run.train_loss[-1]), 0)
    assert neural.this_network(spec, "top_eigenvalue") is None


def _numpy_trend_start(means) -> int:
    """The oracle: the first index from which every later step falls (a plain loop)."""
    for start in range(len(means)):
        if all(means[i] > means[i + 1] for i in range(start, len(means) - 1)):
            return start
    return len(means) - 1


def test_the_width_claims_are_what_the_shipped_numbers_show():
    """Derive each trend from the raw samples (numpy), then hold the page's sentences and
    the quiz to them."""
    sweep = width_lesson.load()
    raw = {f: sweep.samples[f].numpy() for f in sweep.samples}  # (W, S) each
    widths = list(networks.WIDTHS)
    lines = width_lesson.claim_lines(sweep)
    for figure, scale, fmt in (
        ("nonconvex_share", 100, ".0f"),
        ("roughness", 1, ".2f"),
        ("top_eigenvalue", 1, ".2f"),
        ("barrier_before", 1, ".3f"),
    ):
        means = scale * raw[figure].mean(axis=1)
        sds = scale * raw[figure].std(axis=1, ddof=1)
        start = _numpy_trend_start(means)
        assert width_lesson.trend_start(means) == start
        (line,) = [
            x for x in lines if x.startswith(width_lesson._capital(width_lesson._NAMES[figure]))
        ]
        if start < len(widths) - 1:
            assert f"from width {widths[start]} to {widths[-1]}" in line
            assert f"{means[start]:{fmt}} \u00b1 {sds[start]:{fmt}}" in line
            assert f"{means[-1]:{fmt}} \u00b1 {sds[-1]:{fmt}}" in line
        else:
            assert "does not fall steadily" in line
    # The quiz: the share's trend starts where it says, each step of it more than twice the
    # standard error of the difference (no step of it is seed noise) ...
    share = raw["nonconvex_share"]
    start = widths.index(neural.WIDTH_TREND_START)
    assert _numpy_trend_start(share.mean(axis=1)) == start
    n = share.shape[1]
    for i in range(start, len(widths) - 1):
        se = np.hypot(share[i].std(ddof=1), share[i + 1].std(ddof=1)) / np.sqrt(n)
        assert share[i].mean() - share[i + 1].mean() > 2 * se, widths[i]
    # ... and matching leaves under 5 % of the barrier from MATCHED_FROM up, not below it.
    ratio = raw["barrier_after"].mean(axis=1) / raw["barrier_before"].mean(axis=1)
    below = ratio < width_lesson.MATCHED_REL
    first = widths.index(neural.MATCHED_FROM)
    assert below[first:].all() and (first == 0 or not below[first - 1])
    assert width_lesson.matched_from(sweep) == neural.MATCHED_FROM
    assert raw["barrier_after"][:2].mean(axis=1).min() > 0.1  # "narrow ones keep a barrier"
    (matching,) = [x for x in lines if x.startswith("Weight matching")]
    assert f"from width {neural.MATCHED_FROM} up" in matching
    if (raw["barrier_after"].mean(axis=1) < raw["barrier_before"].mean(axis=1)).all():
        assert "at every width" in matching
    unfit = (raw["loss"] > width_lesson.FIT_LOSS).sum(axis=1)
    for w, k in zip(widths, unfit, strict=True):
        assert (f"{k} of {n} at width {w}" in lines[-1]) == (k > 0)
    questions = {q.prompt: q for q in neural.QUESTIONS}
    rights = [o.text for q in questions.values() for o in q.options if o.correct]
    assert any(f"From width {neural.WIDTH_TREND_START} up" in r for r in rights)
    assert any(f"from width {neural.MATCHED_FROM} up weight matching" in r for r in rights)
    assert "smoother and more convex" not in neural.LEDE + neural.PAGE.teaches


def _sweep(samples: dict, widths=(2, 4, 8)) -> WidthSweep:
    """A hand-made sweep: figure -> (W, 2) numbers; the required figures default to 0."""
    zeros = np.zeros((len(widths), 2))
    every = {f: zeros for f in ("loss", "barrier_before", "barrier_after", "top_eigenvalue")}
    every |= {"nonconvex_share": zeros, "roughness": zeros} | samples
    return WidthSweep(
        torch.tensor(widths),
        torch.tensor([0, 1]),
        {f: torch.as_tensor(np.asarray(v, dtype=np.float64)) for f, v in every.items()},
        {"planes": 1},
    )


def test_width_lesson_sentences_oracles():
    """Hand-made sweeps with known means and spreads: each sentence says what they show."""
    falling = _sweep({"nonconvex_share": [[0.2, 0.3], [0.5, 0.5], [0.1, 0.1]]})
    text = width_lesson.describe(falling, "nonconvex_share")
    assert "falls at every doubling from width 4 to 8, 50 \u00b1 0 % \u2192 10 \u00b1 0 %" in text
    assert "from width 2 to 4 it does not fall steadily (25, 50 %)" in text
    rising = _sweep({"roughness": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.5]]})
    assert width_lesson.describe(rising, "roughness") == (
        "The roughness does not fall steadily with width (0.10, 0.20, 0.40)."
    )
    assert width_lesson.trend_start([3, 2, 1]) == 0 and width_lesson.trend_start([1, 2]) == 1
    barriers = _sweep(
        {
            "barrier_before": [[1, 1], [1, 1], [1, 1]],
            "barrier_after": [[2, 2], [0.5, 0.5], [0.01, 0.03]],
        }
    )
    text = width_lesson.matching_effect(barriers)
    assert "at 2 of 3 widths (4, 8)" in text and "1.000 \u2192 0.020" in text
    assert "from width 8 up less than 5 %" in text
    assert width_lesson.matched_from(barriers) == 8
    assert width_lesson.matched_from(barriers, rel=0.6) == 4
    assert width_lesson.matched_from(barriers, rel=0.01) is None
    assert width_lesson.unfit(barriers) == ""
    unfit = _sweep({"loss": [[0.3, 0.01], [0.2, 0.1], [0.01, 0.01]]})
    assert width_lesson.unfit(unfit).endswith("1 of 2 at width 2; 2 of 2 at width 4.")
    assert width_lesson.claim(unfit).startswith("Over 2 seeds per width (1 random planes each):")


@pytest.mark.parametrize("width", networks.WIDTHS)
def test_width_chart_has_whiskers_and_shows_the_chosen_width(width):
    """Every width: whiskers of +-1 sd, the bar in the path colour, and a pointer above the
    bar's whisker inside the axis range, so the choice shows even on a bar of height 0; the
    page's network is a dot on its bar, seen whole even at 0%."""
    sweep = width_lesson.load()
    figure = figures.sweep(
        scenes.sweep_scene(sweep, "nonconvex_share", width, (0.0, 7)), revision=3
    )
    bar, pointer, mine = figure.data
    assert list(bar.x) == [str(w) for w in networks.WIDTHS] and bar.meta == "sweep"
    np.testing.assert_allclose(bar.y, 100 * sweep.mean("nonconvex_share"))
    np.testing.assert_allclose(bar.error_y.array, 100 * sweep.sd("nonconvex_share"))
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


@pytest.mark.parametrize("choice", list(width_lesson.CHART))
def test_every_figure_of_the_chart_draws_the_sweeps_means_and_spreads(choice):
    sweep = width_lesson.load()
    chart = width_lesson.CHART[choice]
    swept = neural.sweep_stage(
        {"width": 8, "slice": "random", "seed": 0, "view": "contour"}, choice
    )
    names = ("barrier_before", "barrier_after") if choice == "barrier" else (choice,)
    bars = [t for t in swept.out.data if t.type == "bar"]
    assert [b.meta for b in bars] == (
        ["sweep-before", "sweep"] if choice == "barrier" else ["sweep"]
    )
    # a title that fits the ~300 px side column
    assert swept.out.layout.title.text == chart.title and 0 < len(chart.title) <= 40
    lo, hi = swept.out.layout.yaxis.range
    for bar, name in zip(bars, names, strict=True):
        np.testing.assert_allclose(bar.y, chart.scale * sweep.mean(name))
        np.testing.assert_allclose(bar.error_y.array, chart.scale * sweep.sd(name))
        assert lo < 0 and max(bar.y + bar.error_y.array) < hi
    (pointer,) = [t for t in swept.out.data if t.meta == "sweep-pointer"]
    assert list(pointer.x) == ["8"] and pointer.y[0] < hi
    (mine,) = [t for t in swept.out.data if t.meta == "sweep-this"]
    if len(mine.y):  # the pointer sits above this network's dot, never on it
        assert mine.y[0] < pointer.y[0] and mine.y[0] < hi
    assert (len(mine.x) == 1) == (choice in ("nonconvex_share", "roughness", "loss"))
    assert chart.about[1:] in swept.key and ("the network on the left" in swept.key) == bool(
        len(mine.x)
    )
    with pytest.raises(LosslabError, match="^Figure "):
        neural.sweep_stage({"width": 8, "slice": "random", "seed": 0, "view": "contour"}, "rise")


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
    assert swept.out.data[0].meta == "sweep" and "mean of 10 seeds" in swept.key
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
