"""Neural landscapes: the convex bowls of linear and logistic regression in their raw weights,
beside a small network's landscape on a 2-D slice, with its training path and a width control.
The page opens on the bowl against the mountains, turning (`_contrast`).

The network's picture takes three stages, each its own callback so the page can say where it
is: `request` validates the controls into a job (kept in the browser), `train_stage` trains
the network (cached, `losslab.web.networks`), `slice_stage` evaluates the slice and draws it,
`sweep_stage` places this network in the width chart of the figure chosen in its menu: a
`width_sweep` of the page's own family, measured once over many seeds and shipped with the
package (`losslab.web.width_lesson`).
The convex models are drawn from the same job by `convex`. Each is a plain function here; the
server keeps no per-browser state, only memoized results keyed by the validated job, and each
request runs in its own thread, so one visitor's computation never holds up another's page.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, replace
from typing import Any

from dash import Input, Output, dcc, html

from losslab.connectivity import slice_roughness
from losslab.errors import LosslabError
from losslab.plot import style
from losslab.web import components as ui
from losslab.web import figures, networks, parse, scenes, width_lesson
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _contrast
from losslab.web.pages import _shared as shared

ID = Ids("neural")
KEY = "neural"
DEFAULT_WIDTH = 8
N_STAGES = 3
# What the quiz says of the shipped measurements; a test checks both against them:
# where the mean non-convex share starts to fall at every doubling (width_lesson.trend_start),
# and from which width weight matching leaves less than 5 % of the barrier
# (width_lesson.matched_from).
WIDTH_TREND_START = 16
MATCHED_FROM = 32
WIDTH_MARKS = {i: str(w) for i, w in enumerate(networks.WIDTHS)}
# Each path in its optimizer's colour: full-batch gradient descent for the convex models,
# SGD with momentum for the network.
CONVEX_PATH = style.OPTIMIZER_COLOURS["gd"]
CONVEX_PATH_LABEL = "training path (full-batch gradient descent)"
NETWORK_PATH = style.OPTIMIZER_COLOURS["momentum"]
NETWORK_PATH_LABEL = "training path (SGD + momentum, projected)"


@dataclass(frozen=True)
class Job:
    """What the browser asked for, validated: the network and how to look at it."""

    spec: networks.NetworkSpec
    view: str

    def to_dict(self) -> dict:
        return {
            "width": self.spec.width,
            "slice": self.spec.slice,
            "seed": self.spec.seed,
            "view": self.view,
        }

    def revision(self, *keys: str) -> int:
        """A positive number that names these choices (the figures' datarevision): the same
        choices give the same number, other choices (almost surely) another."""
        chosen = {k: v for k, v in self.to_dict().items() if not keys or k in keys}
        return zlib.crc32(json.dumps(chosen, sort_keys=True).encode()) % (2**31 - 1) + 1

    @classmethod
    def from_dict(cls, data) -> Job:
        """A job sent back by the browser: checked again, as anything from a client is."""
        if not isinstance(data, dict):
            raise LosslabError("the page state is damaged: reload the page.")
        width = parse.integer(data.get("width"), "width", low=1, high=max(networks.WIDTHS))
        slice_kind = parse.choice(data.get("slice"), "slice", networks.SLICES)
        seed = parse.integer(data.get("seed"), "seed", low=0, high=networks.MAX_SEED)
        view = parse.choice(data.get("view"), "view", figures.VIEWS)
        return cls(networks.NetworkSpec(width=width, slice=slice_kind, seed=seed), view)


@dataclass(frozen=True)
class Requested(shared.Outputs):
    job: Any = shared.NO
    width_text: Any = shared.NO
    progress: Any = shared.NO
    status: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO


@dataclass(frozen=True)
class Swept(shared.Outputs):
    """The width chart, the line under it, and the progress."""

    out: Any = shared.NO
    key: Any = shared.NO
    progress: Any = shared.NO
    status: Any = shared.NO


@dataclass(frozen=True)
class Drawn(shared.Outputs):
    figure: Any = shared.NO
    facts: Any = shared.NO
    drawn: Any = shared.NO
    progress: Any = shared.NO
    status: Any = shared.NO


def request(width_index, slice_kind, seed, view) -> Requested:
    """Controls -> a validated job; the stages that follow compute it."""
    index = parse.integer(width_index, "width", low=0, high=len(networks.WIDTHS) - 1)
    width = networks.WIDTHS[index]
    seed = parse.integer(seed, "seed", low=0, high=networks.MAX_SEED)
    job = Job(
        networks.NetworkSpec(
            width=width, slice=parse.choice(slice_kind, "slice", networks.SLICES), seed=seed
        ),
        parse.choice(view, "view", figures.VIEWS),
    )
    return Requested(
        job=job.to_dict(),
        width_text=f"{width} neurons per hidden layer",
        progress=0,
        status=f"1/{N_STAGES}: training the width-{width} network on {networks.NETWORK_DATA}\u2026",
        message="",
        level=shared.INFO,
    )


@dataclass(frozen=True)
class Convex(shared.Outputs):
    figure: Any = shared.NO
    facts: Any = shared.NO


def convex(job_data) -> Convex:
    """The two convex models in the job's view (they do not depend on the network)."""
    job = Job.from_dict(job_data)
    slices = [
        ("linear", networks.linear_regression(0)),
        ("logistic", networks.logistic_regression(0)),
    ]
    lines = [
        html.Li([html.Strong(s.title.split(" (")[0] + ": "), "; ".join(s.facts)]) for _, s in slices
    ]
    return Convex(
        figure=figures.lessons(
            scenes.lessons_scene(
                [(key, lesson, CONVEX_PATH, CONVEX_PATH_LABEL) for key, lesson in slices],
                job.view,
            ),
            job.view,
            height=figures.CONVEX_HEIGHT,
            revision=job.revision("view"),
        ),
        facts=html.Ul(lines, className="ll-facts"),
    )


def train_stage(job_data) -> shared.Stage:
    """Stage 1: train the network (memoized) and hand the job on to stage 2."""
    job = Job.from_dict(job_data)
    run, _ = networks.trained_network(job.spec.width, job.spec.seed)
    points = networks.NETWORK_RESOLUTION**2
    return shared.Stage(
        out=job.to_dict(),
        progress=1,
        status=f"2/{N_STAGES}: trained ({run.n_steps} steps); evaluating its loss at {points} "
        f"points of the {_slice_name(job.spec.slice)} slice\u2026",
    )


def slice_stage(job_data) -> Drawn:
    """Stage 2: the slice through the trained weights (memoized), drawn with the path."""
    job = Job.from_dict(job_data)
    result = networks.network_slice(job.spec)
    return Drawn(
        figure=figures.lessons(
            scenes.lessons_scene([("network", result, NETWORK_PATH, NETWORK_PATH_LABEL)], job.view),
            job.view,
            height=figures.NETWORK_HEIGHT,
            revision=job.revision(),
        ),
        facts=facts(result),
        drawn=job.to_dict(),
        progress=2,
        status=f"3/{N_STAGES}: drawn; placing this network's random slice in the width chart\u2026",
    )


def sweep_stage(job_data, figure=width_lesson.DEFAULT_FIGURE) -> Swept:
    """Stage 3: the width chart of the chosen figure (shipped means over seeds), with this
    network as a dot where the page has measured it itself (its random slice, memoized and
    already computed when the page shows the random slice; its final loss)."""
    job = Job.from_dict(job_data)
    figure = parse.choice(figure, "figure", tuple(width_lesson.CHART))
    mine = this_network(job.spec, figure)
    sweep = width_lesson.load()
    scene = scenes.sweep_scene(sweep, figure, job.spec.width, mine)
    return Swept(
        out=figures.sweep(
            scene, revision=_chart_revision(job, figure), dot=width_lesson.CHART[figure].dot
        ),
        key=sweep_key(figure, mine is not None),
        progress=N_STAGES,
        status=f"Ready: width {job.spec.width}, {_slice_name(job.spec.slice)} slice, "
        f"seed {job.spec.seed}.",
    )


def _chart_revision(job: Job, figure: str) -> int:
    """The width chart's datarevision: it changes with the width, the seed and the figure."""
    return zlib.crc32(f"{job.revision('width', 'seed')} {figure}".encode()) % (2**31 - 1) + 1


def this_network(spec: networks.NetworkSpec, figure: str) -> tuple[float, int] | None:
    """(the page's network's own value of `figure`, its seed), or None where the page has not
    measured it (its curvature and barriers are measured by the sweep only)."""
    if figure in ("nonconvex_share", "roughness"):
        lesson = networks.network_slice(replace(spec, slice="random"))
        if figure == "nonconvex_share":
            return lesson.nonconvex_share, spec.seed
        return slice_roughness(lesson.loss), spec.seed
    if figure == "loss":
        run, _ = networks.trained_network(spec.width, spec.seed)
        return float(run.train_loss[-1]), spec.seed
    return None


def sweep_key(figure: str, with_dot: bool) -> str:
    """The line under the width chart: what its marks are and what the figure measures."""
    chart = width_lesson.CHART[figure]
    dot = "\u25cf the network on the left \u00b7 " if with_dot else ""
    return (
        f"\u25bc your width \u00b7 {dot}bars: mean of {width_lesson.N_SEEDS} seeds, whiskers "
        f"\u00b11 sd between them (measured once: {width_lesson.COMMAND}). "
        f"{chart.about[0].upper()}{chart.about[1:]}."
    )


def facts(result: networks.Lesson) -> list:
    """The side panel: what the numbers of this slice say, one line each."""
    return [
        html.H3("What this network's slice says"),
        html.Ul([html.Li(line) for line in result.facts], className="ll-facts"),
    ]


def _slice_name(kind: str) -> str:
    return "random filter-normalized" if kind == "random" else "PCA"


# -- layout and registration --------------------------------------------------------------------


def layout():
    controls = [
        ui.control(
            "View",
            dcc.RadioItems(
                id=ID.view,
                options=[
                    {"label": "contours", "value": "contour"},
                    {"label": "3-D surfaces", "value": "3d"},
                ],
                value="contour",
                inline=True,
                className="ll-checks",
                inputClassName="ll-radio",
            ),
        ),
        ui.control(
            "Network width",
            html.Div(
                [
                    html.Div(id=ID.width_text, className="ll-value"),
                    dcc.Slider(
                        id=ID.width,
                        min=0,
                        max=len(networks.WIDTHS) - 1,
                        step=1,
                        value=networks.WIDTHS.index(DEFAULT_WIDTH),
                        marks=WIDTH_MARKS,
                        updatemode="mouseup",
                        included=False,
                    ),
                    ui.settled(ID.width, networks.WIDTHS.index(DEFAULT_WIDTH)),
                ]
            ),
            hint="Two hidden layers of this many ReLU neurons. Wider networks have many more "
            "weights than the 375 training points need (overparameterized).",
        ),
        ui.control(
            "Network slice",
            dcc.RadioItems(
                id=ID.slice,
                options=[
                    {"label": "random, filter-normalized", "value": "random"},
                    {"label": "PCA of the training path", "value": "pca"},
                ],
                value="random",
                className="ll-checks",
                inputClassName="ll-radio",
            ),
            hint="Both planes pass through the trained weights.",
        ),
        ui.control(
            "Seed",
            ui.number_field(ID.seed, 0, low=0, high=networks.MAX_SEED, label="seed"),
            hint="Draws the network's first weights, its batches and the random directions.",
            html_for=ID.seed,
        ),
        ui.progress(ID.progress, ID.status, N_STAGES),
        ui.message(ID.message),
    ]
    main = [
        ui.graph(
            ID.convex, height=figures.CONVEX_HEIGHT, narrow_height=figures.CONVEX_NARROW_HEIGHT
        ),
        html.P(
            "Two weights, no hidden layer: every point of these maps is a whole model, and the "
            "loss is convex, one bowl with one bottom.",
            className="ll-hint",
        ),
        html.Div(id=ID.convex_facts, className="ll-convex-facts"),
        ui.split(
            dcc.Loading(
                ui.graph(ID.graph, height=figures.NETWORK_HEIGHT),
                type="dot",
                delay_show=400,
                color="#3b528b",
            ),
            [
                html.Div(id=ID.facts, className="ll-about ll-card"),
                ui.control(
                    "Width chart shows",
                    dcc.Dropdown(
                        id=ID.figure,
                        options=[
                            {"label": chart.label, "value": key}
                            for key, chart in width_lesson.CHART.items()
                        ],
                        value=width_lesson.DEFAULT_FIGURE,
                        clearable=False,
                        searchable=False,
                    ),
                    html_for=ID.figure,
                ),
                ui.graph(ID.sweep, height=figures.SWEEP_HEIGHT),
                html.P(
                    sweep_key(width_lesson.DEFAULT_FIGURE, True),
                    id=ID.sweep_key,
                    className="ll-hint",
                ),
                html.Div(
                    [
                        html.H3("What width does"),
                        html.P(
                            f"Measured over {width_lesson.N_SEEDS} seeds per width "
                            f"({width_lesson.N_PLANES} random planes each), means:"
                        ),
                        html.Ul(
                            [
                                html.Li(line)
                                for line in width_lesson.claim_lines(width_lesson.load())
                            ],
                            id=ID.sweep_claim,
                            className="ll-facts",
                        ),
                    ],
                    className="ll-about ll-card",
                ),
            ],
        ),
        dcc.Store(id=ID.job),
        dcc.Store(id=ID.trained),
        dcc.Store(id=ID.drawn),
    ]
    return ui.page_frame(
        KEY, PAGE.title, LEDE, controls, main, QUESTIONS, intro=_contrast.section()
    )


def register(app) -> None:
    _contrast.register(app)

    def failed_request(message: shared.Message) -> tuple:
        return Requested(message=message.text, level=message.level, status="").values()

    def failed_draw(message: shared.Message) -> tuple:
        return Drawn(status=message.text).values()

    app.callback(
        Output(ID.job, "data"),
        Output(ID.width_text, "children"),
        Output(ID.progress, "value"),
        Output(ID.status, "children"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Input(ID.width + shared.SETTLED, "data"),
        Input(ID.slice, "value"),
        Input(ID.seed, "value"),
        Input(ID.view, "value"),
    )(shared.guarded(lambda *a: request(*a).values(), failed_request))
    shared.register_settle(app, ID.width)
    shared.register_stepper(app, ID.seed, low=0, high=networks.MAX_SEED, fallback=0)

    app.callback(
        Output(ID.convex, "figure"),
        Output(ID.convex_facts, "children"),
        Input(ID.job, "data"),
        prevent_initial_call=True,
    )(shared.guarded(lambda job: convex(job).values(), lambda message: Convex().values()))

    app.callback(
        Output(ID.trained, "data"),
        Output(ID.progress, "value", allow_duplicate=True),
        Output(ID.status, "children", allow_duplicate=True),
        Input(ID.job, "data"),
        prevent_initial_call=True,
    )(shared.guarded(lambda job: train_stage(job).values(), shared.failed_stage))

    app.callback(
        Output(ID.graph, "figure"),
        Output(ID.facts, "children"),
        Output(ID.drawn, "data"),
        Output(ID.progress, "value", allow_duplicate=True),
        Output(ID.status, "children", allow_duplicate=True),
        Input(ID.trained, "data"),
        prevent_initial_call=True,
    )(shared.guarded(lambda job: slice_stage(job).values(), failed_draw))

    def failed_sweep(message: shared.Message) -> tuple:
        return Swept(status=message.text).values()

    app.callback(
        Output(ID.sweep, "figure"),
        Output(ID.sweep_key, "children"),
        Output(ID.progress, "value", allow_duplicate=True),
        Output(ID.status, "children", allow_duplicate=True),
        Input(ID.drawn, "data"),
        Input(ID.figure, "value"),
        prevent_initial_call=True,
    )(shared.guarded(lambda job, figure: sweep_stage(job, figure).values(), failed_sweep))


LEDE = (
    "Real models on bundled data: two convex bowls you can see whole, and a network you can "
    "only see through a slice."
)

QUESTIONS = (
    Question(
        "In the linear-regression map the gradient-descent path ends on the circled cross. "
        "Why can that point be computed without any descent at all?",
        (
            Option(
                "The MSE of a linear model is a quadratic in the weights: setting its gradient "
                "to zero gives linear equations (the normal equation) with one solution.",
                True,
                "The gradient of mean((Xw - y)\u00b2) is 2X\u1d40(Xw - y)/N; it is zero where "
                "X\u1d40X w = X\u1d40y, which has one solution when X\u1d40X is invertible: "
                "the bottom of the bowl.",
            ),
            Option(
                "Because the data were generated from known weights, which are the minimum.",
                False,
                "The generating weights (the diamond) sit near the minimum but not on it: the "
                "noise in the labels moves the least-squares solution a little.",
            ),
            Option(
                "Any loss surface has a closed-form minimum if you have only two weights.",
                False,
                "Logistic regression also has two weights here, and its minimum has no closed "
                "form: it is found by iterating.",
            ),
        ),
    ),
    Question(
        "With the random filter-normalized slice, the network's training path is a short "
        "squiggle at the centre; with the PCA slice it crosses the map. Why?",
        (
            Option(
                "Training moved the weights mostly along directions that a random plane in "
                "hundreds of dimensions almost never contains.",
                True,
                "Two random directions are nearly perpendicular to any fixed direction when "
                "there are many weights, so the path's shadow on them is tiny; PCA picks the "
                "two directions the path moved along most.",
            ),
            Option(
                "The PCA slice uses a different, longer training run.",
                False,
                "Both slices use the same run (same width and seed); only the plane you look "
                "through changes.",
            ),
            Option(
                "Filter normalization shrinks the path.",
                False,
                "Filter normalization rescales the directions, not the path; the path is short "
                "because it is almost perpendicular to the random plane.",
            ),
        ),
    ),
    Question(
        "The width chart measures many seeds per width (pick its figures in the menu above "
        "it). What do its numbers show about wider networks?",
        (
            Option(
                f"From width {WIDTH_TREND_START} up, each doubling leaves less of the random "
                f"slice curving downward, and from width {MATCHED_FROM} up weight matching "
                "removes nearly all of the barrier between two seeds' networks; the narrowest "
                "networks show neither.",
                True,
                "Among networks that fit the data, the wider ones sit in more nearly convex "
                "basins on this slice (Li et al. 2018 saw the same with width), with a smaller "
                "top Hessian eigenvalue. Swapping hidden neurons leaves a network's function "
                "unchanged, so much of the barrier between two runs is only their neurons "
                "being in different orders (Ainsworth et al. 2022): once matched, wide "
                "networks are joined by a nearly flat straight line.",
            ),
            Option(
                "Every doubling makes the slice more convex and the barrier lower, from the "
                "narrowest network up.",
                False,
                f"Not here: below width {WIDTH_TREND_START} the mean share goes up and down, "
                "and the narrowest networks, which often stop before fitting the moons, keep "
                "a real barrier even after matching. That is why the chart shows many seeds "
                "rather than one.",
            ),
            Option(
                "Matching cannot change the barrier: a permuted network computes the same "
                "function.",
                False,
                "The function at the end does not change, but the straight line between the "
                "two weight vectors does: after matching it runs between lined-up neurons, "
                "and pick \u201cbarrier to another seed's network\u201d to see it drop.",
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/neural",
    title="Neural landscapes",
    teaches="What the loss of real models looks like: convex bowls for linear and logistic "
    "regression, and a network seen through a slice, with what its width does (and does not "
    "do) to that slice, to its curvature and to the barrier between two runs, measured over "
    "many seeds.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
