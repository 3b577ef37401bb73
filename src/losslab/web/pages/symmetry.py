"""Symmetry and connectivity: swap two hidden neurons of a trained network and see that nothing
it computes changes while its weight vector moves far away; then two networks trained from
different seeds, the loss along the straight line between them before and after their neurons
are matched, and along a trained curve.

Part 1 is one callback, `update`: a tap on the diagram (where the pointer really was, from
shared.register_click) or Reset, and the swaps so far, which the browser keeps (a dcc.Store:
[[layer, i, j], ...] and the neuron picked for the next swap), give the new swaps (the rules:
pages/_taps.py), the diagram, both networks' decision boundaries and the comparison
(`losslab.web.swaps`). Part 2 runs in four stages, each its own callback so the page can say
where it is: `request` validates the controls into a job (kept in the browser), then
`train_stage`, `match_stage`, `line_stage` (draws the two straight lines) and `curve_stage`
(adds the Bezier curve), each memoized by the validated job (`losslab.web.pairs`). The server
keeps no per-browser state.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

from dash import Input, Output, State, ctx, dcc, html

from losslab.errors import LosslabError
from losslab.plot import style
from losslab.plot.scene import number
from losslab.web import components as ui
from losslab.web import diagram, networks, pairs, parse, swaps
from losslab.web import symmetry_figures as charts
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _shared as shared
from losslab.web.pages import _taps as taps
from losslab.web.quiz import quiz_section

ID = Ids("symmetry")
KEY = "symmetry"
N_STAGES = 4
IDENTITY_COLOURS = style.BASIN_COLOURS  # a hidden neuron keeps its colour when it moves


# -- part 1: swapping neurons -------------------------------------------------------------------


@dataclass(frozen=True)
class Updated(shared.Outputs):
    state: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO
    diagram: Any = shared.NO
    boundary: Any = shared.NO
    readout: Any = shared.NO


def update(trigger, click, state_data) -> Updated:
    """A tap on the diagram (`trigger` == ID.click), Reset (ID.reset) or the first call (None)
    -> the new state, what happened in words, and the figures. Nothing is recomputed for the
    boundary and the readout when the swaps did not change."""
    if trigger == ID.reset:
        done = taps.Tapped(
            taps.SwapState(), shared.Message("Back to the trained network: no swaps."), "No swaps"
        )
    else:
        done = taps.tap(
            taps.SwapState.from_json(state_data),
            taps.clicked_node(click) if trigger == ID.click else None,
        )
    state = done.state
    previous = None if trigger in (ID.reset, None) else taps.SwapState.from_json(state_data).swaps
    return Updated(
        state=state.to_json(),
        message=done.message.text,
        level=done.message.level,
        diagram=draw_diagram(state, done.headline),
        **({} if previous == state.swaps else compared(state.swaps)),
    )


def draw_diagram(state: taps.SwapState, title: str):
    names, colours = _nodes(state.swaps)
    shown = swaps.swapped_model(state.swaps)
    return diagram.diagram(
        shown, names, colours, state.picked, title=title, revision=_revision(state.to_json())
    )


def compared(moves: swaps.Swaps) -> dict:
    """The boundary figure and the readout for the network after `moves`."""
    found = swaps.compare(moves)
    X, y = swaps.training_points()
    figure = charts.boundary(
        found.grid_x,
        found.grid_y,
        found.margin,
        found.swapped_margin,
        X.double().numpy(),
        y.numpy(),
        revision=_revision(moves.to_json()),
    )
    return {"boundary": figure, "readout": readout(moves, found)}


def readout(moves: swaps.Swaps, found: swaps.Comparison) -> list:
    """What the comparison says, one line each (the browser test reads these)."""
    n_points = len(swaps.training_points()[0])
    n_outputs = n_points + swaps.GRID**2
    difference = "0 (exactly)" if found.max_difference == 0 else number(found.max_difference, 2)
    if moves.moves:
        done = ", ".join(_move_text(moves, k) for k in range(len(moves.moves)))
        swapped = f"{len(moves.moves)} swap{'s' if len(moves.moves) > 1 else ''}: {done}"
    else:
        swapped = "No swaps yet: tap two neurons of one hidden layer."
    width = swaps.WIDTH
    copies = math.factorial(width) ** swaps.N_HIDDEN
    return [
        html.H3("Trained network against swapped network"),
        html.Ul(
            [
                html.Li(swapped, id=ID.swap_list),
                html.Li(
                    [
                        "Largest difference of any output (2 class scores at "
                        f"{n_points} training points and {swaps.GRID**2:,} grid points, "
                        f"{2 * n_outputs:,} numbers): ",
                        html.Strong(difference, id=ID.difference),
                    ]
                ),
                html.Li(
                    f"Predictions that differ: {found.disagree} of {n_points}; training loss "
                    f"{found.loss:.3f} and accuracy {100 * found.accuracy:.0f}% for both."
                ),
                html.Li(
                    [
                        "Distance between the two weight vectors: ",
                        html.Strong(f"{found.distance:.2f}", id=ID.distance),
                        f", {100 * found.relative_distance:.0f}% of the length of the trained "
                        f"one ({found.norm:.2f}).",
                    ]
                ),
                html.Li(
                    f"Orders of the two hidden layers: {width}! \u00d7 {width}! = {copies:,} "
                    "networks with this same function."
                ),
            ],
            className="ll-facts",
        ),
    ]


def _move_text(moves: swaps.Swaps, k: int) -> str:
    """Swap k in the names the neurons had before it."""
    before = swaps.Swaps(moves.moves[:k], moves.width)
    layer, i, j = moves.moves[k]
    return f"{taps.name_at(before, layer, i)}\u2194{taps.name_at(before, layer, j)}"


def _nodes(moves: swaps.Swaps) -> tuple[list[list[str]], list[list[str]]]:
    sizes = taps.node_sizes()
    names, colours = [], []
    orders = moves.orders()
    for column, n in enumerate(sizes):
        if column in (0, len(sizes) - 1):
            names.append([taps.name_at(moves, column, p) for p in range(n)])
            colours.append([diagram.END_COLOUR] * n)
        else:
            order = orders[column - 1]
            names.append([swaps.label(column, int(o), moves.width) for o in order])
            colours.append([IDENTITY_COLOURS[int(o) % len(IDENTITY_COLOURS)] for o in order])
    return names, colours


def _revision(data) -> int:
    return zlib.crc32(json.dumps(data, sort_keys=True).encode()) % (2**31 - 1) + 1


# -- part 2: two networks, in stages ------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """What the browser asked for in part 2, validated."""

    spec: pairs.PairSpec

    def to_dict(self) -> dict:
        return {"width": self.spec.width, "seed_a": self.spec.seed_a, "seed_b": self.spec.seed_b}

    def revision(self) -> int:
        return _revision(self.to_dict())

    @classmethod
    def from_dict(cls, data) -> Job:
        """A job sent back by the browser: checked again, as anything from a client is."""
        if not isinstance(data, dict):
            raise LosslabError("the page state is damaged: reload the page.")
        width = parse.integer(data.get("width"), "width", low=1, high=max(pairs.WIDTHS))
        seed_a = parse.integer(data.get("seed_a"), "seed A", low=0, high=networks.MAX_SEED)
        seed_b = parse.integer(data.get("seed_b"), "seed B", low=0, high=networks.MAX_SEED)
        return cls(pairs.PairSpec(width, seed_a, seed_b))


@dataclass(frozen=True)
class Requested(shared.Outputs):
    job: Any = shared.NO
    progress: Any = shared.NO
    status: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO


@dataclass(frozen=True)
class Drawn(shared.Outputs):
    figure: Any = shared.NO
    facts: Any = shared.NO
    out: Any = shared.NO
    progress: Any = shared.NO
    status: Any = shared.NO


def request(width, seed_a, seed_b) -> Requested:
    """Controls -> a validated job; the stages that follow compute it."""
    width = parse.choice(str(width), "width", [str(w) for w in pairs.WIDTHS])
    seed_a = parse.integer(seed_a, "seed A", low=0, high=networks.MAX_SEED)
    seed_b = parse.integer(seed_b, "seed B", low=0, high=networks.MAX_SEED)
    job = Job(pairs.PairSpec(int(width), seed_a, seed_b))
    return Requested(
        job=job.to_dict(),
        progress=0,
        status=f"1/{N_STAGES}: training two width-{width} networks (seeds {seed_a} and "
        f"{seed_b}) on {networks.NETWORK_DATA}\u2026",
        message="",
        level=shared.INFO,
    )


def train_stage(job_data) -> shared.Stage:
    """Stage 1: train networks A and B (memoized)."""
    job = Job.from_dict(job_data)
    a, b = (
        networks.trained_network(job.spec.width, s)[0] for s in (job.spec.seed_a, job.spec.seed_b)
    )
    pairs.models(job.spec)
    return shared.Stage(
        out=job.to_dict(),
        progress=1,
        status=f"2/{N_STAGES}: trained (loss {float(a.train_loss[-1]):.3g} and "
        f"{float(b.train_loss[-1]):.3g}); matching B's neurons to A's\u2026",
    )


def match_stage(job_data) -> shared.Stage:
    """Stage 2: weight matching (memoized)."""
    job = Job.from_dict(job_data)
    found, _ = pairs.matching(job.spec)
    return shared.Stage(
        out=job.to_dict(),
        progress=2,
        status=f"3/{N_STAGES}: matched ({found.n_moved} of {sum(found.sizes)} hidden neurons "
        "of B moved); "
        f"the loss along both straight lines\u2026",
    )


def line_stage(job_data) -> Drawn:
    """Stage 3: the two straight lines (memoized), drawn."""
    job = Job.from_dict(job_data)
    before, after = pairs.lines(job.spec)
    return Drawn(
        figure=paths_figure(job, before, after, None),
        facts=path_facts(job, before, after, None),
        out=job.to_dict(),
        progress=3,
        status=f"4/{N_STAGES}: training the bend of a Bezier curve from A to B "
        f"({pairs.BEZIER['epochs']} epochs)\u2026",
    )


@dataclass(frozen=True)
class Curved(shared.Outputs):
    figure: Any = shared.NO
    facts: Any = shared.NO
    progress: Any = shared.NO
    status: Any = shared.NO


def curve_stage(job_data) -> Curved:
    """Stage 4: the Bezier curve (memoized), added to the chart."""
    job = Job.from_dict(job_data)
    before, after = pairs.lines(job.spec)
    curve = pairs.curve(job.spec)
    spec = job.spec
    return Curved(
        figure=paths_figure(job, before, after, curve),
        facts=path_facts(job, before, after, curve),
        progress=N_STAGES,
        status=f"Ready: width {spec.width}, seeds {spec.seed_a} and {spec.seed_b}.",
    )


LABELS = {
    "before": "straight line, as trained",
    "after": "straight line, after weight matching",
    "bezier": "Bezier curve (trained bend)",
}
LEGEND = {"before": "line as trained", "after": "line after matching", "bezier": "Bezier curve"}


def paths_figure(job: Job, before, after, curve):
    losses = {"before": before.values["loss"].numpy(), "after": after.values["loss"].numpy()}
    labels = {
        key: f"{LEGEND[key]}: barrier {number(path.barrier['loss'], 2)}"
        for key, path in (("before", before), ("after", after), ("bezier", curve))
        if path is not None
    }
    if curve is not None:
        losses["bezier"] = curve.values["loss"].numpy()
    return charts.paths(
        before.t.numpy(), losses, labels, revision=job.revision() + (curve is not None)
    )


def path_facts(job: Job, before, after, curve) -> list:
    """The side card: each path's barrier (loss, and the accuracy it loses on the way)."""
    rows = [("before", before), ("after", after)] + ([("bezier", curve)] if curve else [])
    ends = before.values["loss"].numpy()
    lines = [
        html.Li(
            [
                html.Strong(f"{LABELS[key]}: "),
                html.Span(number(path.barrier["loss"], 2), id=getattr(ID, f"barrier_{key}")),
                f" above the chord at most; {_accuracy_drop(path)}.",
            ]
        )
        for key, path in rows
    ]
    if curve is None:
        lines.append(html.Li("Bezier curve: training its bend\u2026"))
    found, _ = pairs.matching(job.spec)
    n_moved, total = found.n_moved, sum(found.sizes)
    went = "lowered" if after.barrier["loss"] < before.barrier["loss"] else "changed"
    matched = (
        f"Weight matching moved {n_moved} of B's {total} hidden neurons and {went} the straight "
        f"line's barrier from {number(before.barrier['loss'], 2)} to "
        f"{number(after.barrier['loss'], 2)}."
    )
    return [
        html.H3("How high each path climbs (barrier)"),
        html.P(
            f"Networks A (seed {job.spec.seed_a}) and B (seed {job.spec.seed_b}): training loss "
            f"{ends[0]:.3g} and {ends[-1]:.3g}.",
            className="ll-hint",
        ),
        html.Ul(lines, className="ll-facts"),
        html.P(matched, id=ID.matched_text),
    ]


# -- layout and registration --------------------------------------------------------------------


def _accuracy_drop(path) -> str:
    """The accuracy barrier in percentage points, in words."""
    points = max(0.0, 100 * path.barrier.get("accuracy", 0.0))
    if round(points) == 0:
        return "accuracy stays on its chord (within half a point)"
    return f"accuracy drops up to {points:.0f} points below its chord"


def layout():
    part1_controls = [
        html.Div(
            [
                html.Label("What to do", className="ll-label"),
                html.P(
                    "Tap a hidden neuron (a circle), then another one in the same column: the "
                    "two trade places, each taking its incoming weights, its bias and its "
                    "outgoing weights along. Then compare the two networks' boundaries and "
                    "the numbers under them.",
                    className="ll-hint",
                ),
            ],
            className="ll-control",
        ),
        html.Div(
            ui.button(ID.reset, "Reset", title="back to the trained network"),
            className="ll-buttons",
        ),
        html.Div(
            [
                html.Span("\u2014", style={"color": diagram.POSITIVE, "fontWeight": 700}),
                " positive weight  ",
                html.Span("\u2014", style={"color": diagram.NEGATIVE, "fontWeight": 700}),
                " negative weight; thicker: larger. The network: the neural page's width-8 "
                f"network (2 \u2192 8 \u2192 8 \u2192 2, seed {swaps.SEED}) trained on the moons.",
            ],
            className="ll-hint",
        ),
    ]
    part1 = [
        # the diagram and the boundary side by side on a desktop (both in view while tapping),
        # the message right under the diagram (where the eyes are on a phone)
        html.Div(
            [
                html.Div(
                    [
                        ui.graph(
                            ID.graph, height=diagram.HEIGHT, narrow_height=diagram.NARROW_HEIGHT
                        ),
                        ui.message(ID.message),
                    ]
                ),
                ui.graph(ID.boundary, height=charts.BOUNDARY_HEIGHT),
            ],
            className="ll-pair",
        ),
        html.Div(
            [
                html.Div(id=ID.readout, className="ll-about ll-card"),
                html.Div(
                    [html.H3("Why nothing changes"), *(html.P(p) for p in WHY_SAME)],
                    className="ll-about ll-card ll-lesson",
                ),
            ],
            className="ll-pair",
        ),
        dcc.Store(id=ID.state),
        dcc.Store(id=ID.click),
    ]
    part2_controls = [
        ui.control(
            "Width of both networks",
            dcc.RadioItems(
                id=ID.width,
                options=[{"label": str(w), "value": w} for w in pairs.WIDTHS],
                value=pairs.DEFAULT_WIDTH,
                inline=True,
                className="ll-checks ll-inline",
                inputClassName="ll-radio",
            ),
            hint="Two hidden layers of this many neurons each.",
        ),
        ui.control(
            "Seed of network A",
            ui.number_field(ID.seed_a, 0, low=0, high=networks.MAX_SEED, label="seed A"),
            html_for=ID.seed_a,
        ),
        ui.control(
            "Seed of network B",
            ui.number_field(ID.seed_b, 1, low=0, high=networks.MAX_SEED, label="seed B"),
            hint="Each seed draws a network's first weights and its batches.",
            html_for=ID.seed_b,
        ),
        ui.progress(ID.progress, ID.status, N_STAGES),
        ui.message(ID.pair_message),
    ]
    part2 = [
        ui.split(
            ui.graph(
                ID.paths, height=charts.PATHS_HEIGHT, narrow_height=charts.PATHS_NARROW_HEIGHT
            ),
            [html.Div(id=ID.facts, className="ll-about ll-card")],
        ),
        html.Div(
            [html.H3("What the paths show"), *(html.P(p) for p in WHY_PATHS)],
            className="ll-about ll-card ll-lesson",
        ),
        dcc.Store(id=ID.job),
        dcc.Store(id=ID.trained),
        dcc.Store(id=ID.matched),
        dcc.Store(id=ID.lined),
    ]
    return html.Div(
        [
            html.Div([html.H1(PAGE.title), html.P(LEDE, className="ll-lede")], className="ll-head"),
            html.H2("1. Swap two neurons", className="ll-subhead"),
            _body(part1_controls, part1),
            html.H2("2. Two networks, and the paths between them", className="ll-subhead"),
            _body(part2_controls, part2),
            quiz_section(KEY, QUESTIONS),
        ],
        className="ll-page",
        id=f"{KEY}-page",
    )


def _body(controls: list, main: list):
    """Controls on the left, figures on the right (above one another on a phone), as
    components.page_frame lays out a page with one part."""
    return html.Div(
        [
            html.Aside(controls, className="ll-controls", **{"aria-label": "controls"}),
            html.Section(main, className="ll-main"),
        ],
        className="ll-body",
    )


def register(app) -> None:
    def failed_update(message: shared.Message) -> tuple:
        return Updated(message=message.text, level=message.level).values()

    shared.register_click(app, ID.graph, ID.click)
    app.callback(
        Output(ID.state, "data"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Output(ID.graph, "figure"),
        Output(ID.boundary, "figure"),
        Output(ID.readout, "children"),
        Input(ID.click, "data"),
        Input(ID.reset, "n_clicks"),
        State(ID.state, "data"),
    )(
        shared.guarded(
            lambda click, _reset, state: update(ctx.triggered_id, click, state).values(),
            failed_update,
        )
    )

    def failed_request(message: shared.Message) -> tuple:
        return Requested(message=message.text, level=message.level, status="").values()

    def failed_draw(message: shared.Message) -> tuple:
        return Drawn(status=message.text).values()

    app.callback(
        Output(ID.job, "data"),
        Output(ID.progress, "value"),
        Output(ID.status, "children"),
        Output(ID.pair_message, "children"),
        Output(ID.pair_message, "className"),
        Input(ID.width, "value"),
        Input(ID.seed_a, "value"),
        Input(ID.seed_b, "value"),
    )(shared.guarded(lambda *a: request(*a).values(), failed_request))
    for field in (ID.seed_a, ID.seed_b):
        shared.register_stepper(app, field, low=0, high=networks.MAX_SEED, fallback=0)

    for stage, source, target in (
        (train_stage, ID.job, ID.trained),
        (match_stage, ID.trained, ID.matched),
    ):
        app.callback(
            Output(target, "data"),
            Output(ID.progress, "value", allow_duplicate=True),
            Output(ID.status, "children", allow_duplicate=True),
            Input(source, "data"),
            prevent_initial_call=True,
        )(shared.guarded(lambda job, stage=stage: stage(job).values(), shared.failed_stage))

    app.callback(
        Output(ID.paths, "figure"),
        Output(ID.facts, "children"),
        Output(ID.lined, "data"),
        Output(ID.progress, "value", allow_duplicate=True),
        Output(ID.status, "children", allow_duplicate=True),
        Input(ID.matched, "data"),
        prevent_initial_call=True,
    )(shared.guarded(lambda job: line_stage(job).values(), failed_draw))

    def failed_curve(message: shared.Message) -> tuple:
        return Curved(status=message.text).values()

    app.callback(
        Output(ID.paths, "figure", allow_duplicate=True),
        Output(ID.facts, "children", allow_duplicate=True),
        Output(ID.progress, "value", allow_duplicate=True),
        Output(ID.status, "children", allow_duplicate=True),
        Input(ID.lined, "data"),
        prevent_initial_call=True,
    )(shared.guarded(lambda job: curve_stage(job).values(), failed_curve))


LEDE = (
    "Two networks with their hidden neurons in another order compute the same function: every "
    "minimum has many copies. Undo that symmetry, and two separately trained networks turn out "
    "to be joined by low paths."
)

WHY_SAME = (
    "A neuron of hidden layer 1 computes relu(w\u00b7x + b) from the inputs and hands the result "
    "to every neuron of layer 2 through its outgoing weights, where it is added up with the "
    "others. Move it to another place together with w, b and its outgoing weights, and every "
    "neuron of layer 2 adds up exactly the same numbers, in another order: the output is the "
    "same (to the rounding of floating point).",
    "The weight vector, though, is a list in a fixed order (layer by layer, neuron by neuron): "
    "the swap puts other numbers in its places, and the two lists are far apart: the readout "
    "gives their distance beside the length of the list itself. Every minimum of the loss "
    "therefore has as many copies as there are orders of the hidden neurons, all with the same "
    "loss.",
)

WHY_PATHS = (
    "Networks A and B reach about the same low loss from different seeds. Halfway along the "
    "straight line between them (red), each weight is the average of A's and B's: their "
    "neurons are in unrelated orders, so the blend mixes neurons that do different things, "
    "and the loss climbs.",
    "Weight matching (Ainsworth et al. 2022, \u201cGit Re-Basin\u201d) reorders B's hidden "
    "neurons to line up with A's, one layer at a time. The reordered B computes exactly what "
    "B did (the end of the blue line has B's loss), but the straight line to it climbs "
    "differently: compare the two barriers, the largest height of a path above the dashed "
    "chord between its ends.",
    "A quadratic Bezier curve (Garipov et al. 2018) from A to B as trained, whose middle "
    "control point is trained to keep the loss low along it (green, dotted), shows that a low "
    "path exists even without undoing the symmetry: it goes around the hill.",
)

QUESTIONS = (
    Question(
        "After a swap the boundary does not move and no output changes, yet the two weight "
        "vectors are far apart. Why?",
        (
            Option(
                "The weight vector lists the weights in a fixed order; the swap moves numbers "
                "to other places in that list, but each neuron of the next layer adds up the "
                "same numbers.",
                True,
                "The swap is a permutation of the hidden neurons: the function is the same, "
                "the point in weight space is another one, as far away as the page prints.",
            ),
            Option(
                "The swap changes the weights only a little, so the outputs change too little "
                "to see.",
                False,
                "The page prints the distance: a large share of the weights' own length. And "
                "the largest change of any output is zero or at the level of float rounding.",
            ),
            Option(
                "The boundary is computed from the training points only, which the swap does "
                "not touch.",
                False,
                "The boundary is drawn from both networks' outputs on a grid around the data; "
                "the page compares those outputs too, and they are the same.",
            ),
        ),
    ),
    Question(
        "Why does the page refuse to swap a neuron of hidden layer 1 with one of hidden layer 2?",
        (
            Option(
                "The two read different things (the 2 inputs against the 8 neurons of layer "
                "1): their weights do not have the same shape, and moving a neuron to another "
                "layer changes what the network computes.",
                True,
                "Only neurons of one layer are interchangeable: they read the same inputs and "
                "feed the same next layer.",
            ),
            Option(
                "It would give the same function too, but the diagram could not draw it.",
                False,
                "A neuron of layer 1 has 2 incoming weights, one of layer 2 has 8: there is "
                "no such swap that keeps the function.",
            ),
            Option(
                "Layer 2 neurons have no bias.",
                False,
                "Every hidden neuron here has a bias; the reason is what the neurons read.",
            ),
        ),
    ),
    Question(
        "What did weight matching change before the blue line was computed?",
        (
            Option(
                "Only the order of network B's hidden neurons: B computes the same function, "
                "its weights now line up with A's.",
                True,
                "That is why the blue line ends at B's own loss: matching is a permutation, "
                "like your swaps in part 1, found by solving one assignment problem per layer.",
            ),
            Option(
                "It trained B further, towards A.",
                False,
                "Nothing is trained in matching: the blue line's end has exactly B's loss.",
            ),
            Option(
                "It reordered the neurons of both A and B.",
                False,
                "A stays as it is (the start of every path is A); only B's neurons move.",
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/symmetry",
    title="Symmetry",
    teaches="Swap two hidden neurons of a trained network: the same function, far-away "
    "weights. Then two separately trained networks, and the loss along the straight line "
    "between them before and after matching their neurons, and along a trained curve.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
