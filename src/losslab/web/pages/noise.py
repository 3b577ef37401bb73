"""Noise and basins: batch gradient descent against SGD (gradient plus seeded Gaussian noise)
from the same start, and the basin of attraction map of each.

The noise stands in for minibatch sampling: `losslab.optim.sgd_noise` draws it from the seed,
so a run is the same bit for bit whenever the seed is the same. The basin maps run every
start of a grid in one batch (`losslab.basins`); they are recomputed only when the surface,
rate, noise, seed or step count change, never for a click.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from dash import Input, Output, Patch, State, dcc, html

from losslab.attraction import DIVERGED, NO_MINIMUM, BasinMap, basins
from losslab.descent import race
from losslab.diagnosis import Diagnosis, diagnose
from losslab.landscapes.grid import evaluate_grid
from losslab.optim import gd, sgd_noise
from losslab.plot import _runs, style
from losslab.plot.scene import number, point_text
from losslab.web import animation, figures, parse, scenes
from losslab.web import components as ui
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _shared as shared

ID = Ids("noise")
KEY = "noise"
DEFAULT_SURFACE = "himmelblau"
# Himmelblau from the origin (loss 170): batch GD goes to (3, 2); with this noise and seed,
# SGD is carried over the ridge into the basin of (-2.81, 3.13); other seeds land elsewhere.
LR, NOISE, SEED = 0.01, 25.0, 0
N_STEPS, MAX_STEPS = 300, 1000
LR_LOW, LR_HIGH = -4, 0
NOISE_MAX = 200.0
BASIN_RESOLUTION = 64
SURFACE_TRIGGERS = (None, ID.surface, ID.apply, ID.expression)
TITLES = ("batch GD (clean gradient)", "SGD (noisy gradient)")


@dataclass(frozen=True)
class Result(shared.Outputs):
    figure: Any = shared.NO
    basins: Any = shared.NO
    shares: Any = shared.NO
    surface: Any = shared.NO
    lr: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO
    spec: Any = shared.NO
    state: Any = shared.NO


def update(trigger, surface_value, expression, click, lr_exponent, noise, seed, n_steps, state):
    """parse -> GD and SGD runs (+ both basin maps unless only the start moved) -> figures."""
    state = state if isinstance(state, dict) else {}
    revision = shared.stored_int(state, "revision") + 1
    noise = parse.number(noise, "noise", low=0.0, high=NOISE_MAX)
    seed = parse.seed(seed)
    n_steps = parse.integer(n_steps, "steps", low=1, high=MAX_STEPS)
    surface_out = lr_out = shared.NO
    new_surface = trigger in SURFACE_TRIGGERS or "surface" not in state
    choice = shared.choose_surface(trigger, ID, surface_value, expression, state, DEFAULT_SURFACE)
    if choice is None:
        return Result(message=shared.ASK_FOR_EXPRESSION, level=shared.INFO)
    objective, text = choice.objective, choice.text
    if choice.typed:
        surface_out = parse.EXPRESSION
    if new_surface:
        start = shared.default_start(objective)
        lr = LR if objective.name == DEFAULT_SURFACE else shared.default_lr(objective)
        lr_out = shared.clamp_exponent(lr, LR_LOW, LR_HIGH)
        lr = shared.rate(lr_out)
    else:
        start = _stored_point(state.get("start")) or shared.default_start(objective)
        lr = parse.log_rate(lr_exponent, low=LR_LOW, high=LR_HIGH)
    if trigger == ID.click:
        start = parse.point(click, 2)

    optimizers = [gd(lr), sgd_noise(lr, noise=noise, seed=seed)]
    raced = race(objective, optimizers, start, n_steps)
    diagnoses = diagnose(objective, raced)
    runs = shared.with_diagnoses(_runs.runs(raced), diagnoses)
    only_start = trigger == ID.click and not new_surface
    if only_start:
        figure = patch_paths(runs, revision)
        basin_figure = patch_basin_paths(runs)
        shares = shared.NO
        minima = np.asarray(state.get("minima", []), dtype=np.float64).reshape(-1, 2)
    else:
        maps = [
            basins(objective, opt, resolution=BASIN_RESOLUTION, n_steps=n_steps)
            for opt in optimizers
        ]
        minima = maps[0].minima.detach().numpy()
        land = evaluate_grid(objective, resolution=figures.RASTER_RESOLUTION)
        scene = scenes.runs_scene(land, runs, minima, loss_panel=False, first=True)
        figure = figures.runs(scene, revision=revision, uirevision=objective.name)
        basin_scene = scenes.basins_scene(list(zip(TITLES, maps, strict=True)), runs)
        basin_figure = figures.draw(basin_scene, revision=revision)
        shares = share_table(maps)
    ends = [
        basin_of(run.path[-1], minima, found) for run, found in zip(runs, diagnoses, strict=True)
    ]
    banner = {
        "text": f"Batch GD ends {ends[0]}; SGD ends {ends[1]}.",
        "step": None,
    }
    heading = (
        f"Same start {point_text(start, 3)}, same lr = {number(lr, 3)}; SGD adds "
        f"noise of size {number(noise, 3)} to every gradient (seed {seed}). "
        "Click the map or a basin map to move the start."
    )
    if parse.one_variable_note(objective):
        heading += " " + parse.one_variable_note(objective)
    message = shared.runs_message(heading, raced, diagnoses)
    return Result(
        figure=figure,
        basins=basin_figure,
        shares=shares,
        surface=surface_out,
        lr=lr_out,
        message=message.text,
        level=message.level,
        spec=replay(runs, banner, revision),
        state={
            "surface": text,
            "start": list(start),
            "minima": minima.tolist(),
            "revision": revision,
        },
    )


def _stored_point(value):
    if isinstance(value, list) and len(value) == 2:
        return parse.point({"x": value[0], "y": value[1]}, 2)
    return None


def basin_of(point, minima: np.ndarray, found: Diagnosis) -> str:
    """Where a run ended, in words: how it diverged, the critical point that is not a
    minimum, or the basin of the nearest minimum."""
    if found.kind in ("overshoot", "escape"):
        return "diverged (overshot)" if found.kind == "overshoot" else "diverged (slid away)"
    if found.kind in ("saddle", "maximum"):
        return f"at a {found.kind} {point_text(point, 3)}, not a minimum"
    if not len(minima):
        return f"at {point_text(point, 3)}"
    index = int(np.linalg.norm(minima - point, axis=1).argmin())
    return f"near the minimum {point_text(minima[index], 3)}"


def patch_paths(runs, revision: int) -> Patch:
    """Each run's path, start and end, as the first frame of the animation that follows."""
    patch = Patch()
    panel = scenes.bare_panel()
    for i, run in enumerate(runs):
        where = figures.run_indices(i, len(runs), loss_panel=False)
        items = scenes.first_frame(scenes.run_items(run))
        for role, trace in zip(("path", "start", "end"), figures.traces(panel, items), strict=True):
            patch["data"][where[role]] = trace
    patch["layout"]["datarevision"] = revision
    return patch


def patch_basin_paths(runs) -> Patch:
    """Traces per map: basins, path, start, end (4 each); replace all but the basins."""
    patch = Patch()
    panel = scenes.bare_panel()
    for i, run in enumerate(runs):
        suffix = "" if i == 0 else str(i + 1)
        path, start, end = scenes.run_items(run)
        items = [replace(path, show_legend=False), start, end]
        drawn = figures.traces(panel, items, xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        for offset, trace in enumerate(drawn, start=1):
            patch["data"][figures.BASIN_STRIDE * i + offset] = trace
    return patch


def replay(runs, banner: dict, revision: int) -> dict:
    tracks = []
    rows = []
    for i, run in enumerate(runs):
        where = figures.run_indices(i, len(runs), loss_panel=False)
        x, y = run.path[:, 0], run.path[:, 1]
        tracks += [
            animation.path_track(where["path"], x, y),
            animation.end_track(where["end"], x[-1:], y[-1:], n=len(x)),
        ]
        rows.append(animation.board_row(run, [x, y, run.losses]))  # ends as the diagnosis says
    n_frames = max(len(run.losses) for run in runs)
    return animation.spec(
        ID.graph,
        revision,
        tracks,
        n_frames,
        duration=animation.duration_ms(n_frames, per_step=12, low=1500, high=5000),
        autoplay=True,
        board=animation.board(ID.board, ["w1", "w2", "loss"], rows, banner, cards=True),
    )


def share_table(maps: list[BasinMap]):
    """Share of starts per basin, one column per map: where each optimizer tends to end."""
    k = len(maps[0].minima)
    fractions = [m.fractions() for m in maps]
    labels = list(range(k)) + [
        label for label in (NO_MINIMUM, DIVERGED) if any(label in f for f in fractions)
    ]
    head = html.Tr([html.Th("basin"), *(html.Th(title) for title in TITLES)])
    rows = []
    for label in labels:
        if label >= 0:
            name = f"minimum {point_text(maps[0].minima[label].tolist(), 3)}"
        else:
            name = "no known minimum" if label == NO_MINIMUM else "diverged"
        swatch = html.Span(className="ll-swatch", style={"background": style.basin_colour(label)})
        cells = [html.Td(f"{100 * f.get(label, 0.0):.1f}%", className="ll-num") for f in fractions]
        rows.append(html.Tr([html.Td([swatch, name], className="ll-run"), *cells]))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ll-table ll-shares")


def layout():
    controls = [
        ui.surface_picker(ID.surface, ID.expression, ID.apply, default=DEFAULT_SURFACE),
        ui.control(
            "Learning rate (both)",
            html.Div(
                [
                    html.Div(id=ID.lr_text, className="ll-value"),
                    ui.log_slider(ID.lr, low=LR_LOW, high=LR_HIGH, value=float(np.log10(LR))),
                ]
            ),
        ),
        ui.control(
            "SGD noise (std of the gradient noise)",
            html.Div(
                [
                    dcc.Slider(
                        id=ID.noise,
                        min=0,
                        max=100,
                        step=1,
                        value=NOISE,
                        marks={v: str(v) for v in (0, 25, 50, 75, 100)},
                        allow_direct_input=False,
                        updatemode="mouseup",
                        tooltip={"placement": "bottom", "always_visible": False},
                    ),
                    ui.settled(ID.noise, NOISE),
                ]
            ),
        ),
        ui.control(
            "Seed",
            ui.number_field(ID.seed, SEED, low=0, high=parse.MAX_SEED, label="seed"),
            hint="The same seed gives the same noise, bit for bit.",
            html_for=ID.seed,
        ),
        ui.control("Steps", ui.steps_input(ID.steps, N_STEPS, high=MAX_STEPS), html_for=ID.steps),
        html.Div([ui.button(ID.run, "Replay \u25b6", primary=True)], className="ll-buttons"),
    ]
    main = [
        ui.split(
            ui.graph(ID.graph, height=500, narrow_height=figures.MAP_NARROW_HEIGHT),
            [ui.board(ID.board), ui.message(ID.message)],
        ),
        html.H2("Basins of attraction", className="ll-subhead"),
        html.P(
            "Every grid point is a start; its colour says which minimum that optimizer reaches "
            "from there. SGD's map uses the same noise sequence (the seed) for every start.",
            className="ll-hint",
        ),
        ui.graph(ID.basins, height=430, narrow_height=figures.BASINS_NARROW_HEIGHT),
        html.Div(id=ID.shares),
        dcc.Store(id=ID.state),
        dcc.Store(id=ID.click),
        dcc.Store(id=ID.basin_click),
        dcc.Store(id=ID.spec),
        dcc.Store(id=ID.player),
    ]
    return ui.page_frame(KEY, PAGE.title, LEDE, controls, main, QUESTIONS)


def register(app) -> None:
    def failed(message: shared.Message) -> tuple:
        return Result(message=message.text, level=shared.ERROR).values()

    def callback(
        surface, _apply, _submit, click, basin_click, lr, noise, seed, steps, expression, state
    ):
        trigger = shared.triggered()
        if trigger == ID.basin_click:  # a click on either basin map moves the start too
            trigger, click = ID.click, basin_click
        return update(trigger, surface, expression, click, lr, noise, seed, steps, state).values()

    app.callback(
        Output(ID.graph, "figure"),
        Output(ID.basins, "figure"),
        Output(ID.shares, "children"),
        Output(ID.surface, "value"),
        Output(ID.lr, "value"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Output(ID.spec, "data"),
        Output(ID.state, "data"),
        Output(ID.lr + shared.SETTLED, "data"),  # the slider's value, settled too
        Input(ID.surface, "value"),
        Input(ID.apply, "n_clicks"),
        Input(ID.expression, "n_submit"),
        Input(ID.click, "data"),
        Input(ID.basin_click, "data"),
        Input(ID.lr + shared.SETTLED, "data"),
        Input(ID.noise + shared.SETTLED, "data"),
        Input(ID.seed, "value"),
        Input(ID.steps, "value"),
        State(ID.expression, "value"),
        State(ID.state, "data"),
    )(shared.settled_too(shared.guarded(callback, failed), 4))
    shared.register_settle(app, ID.lr)
    shared.register_settle(app, ID.noise)
    shared.register_stepper(app, ID.seed, low=0, high=parse.MAX_SEED, fallback=SEED)
    shared.register_stepper(app, ID.steps, low=1, high=MAX_STEPS, fallback=N_STEPS)
    shared.register_click(app, ID.graph, ID.click)
    shared.register_click(app, ID.basins, ID.basin_click, subplot="*")
    shared.register_player(app, ID.run, ID.spec, ID.player)
    shared.register_rate_text(app, ID.lr, ID.lr_text)


LEDE = "Noise is not only a nuisance: it can carry SGD over a ridge into another valley."

QUESTIONS = (
    Question(
        "Set the noise to 0. How do the two runs and the two basin maps compare?",
        (
            Option(
                "They are identical: without noise SGD is batch gradient descent.",
                True,
                "sgd_noise adds noise \u00d7 N(0, 1) to the gradient; at noise 0 the update is "
                "exactly "
                "gradient descent's, so paths and maps coincide.",
            ),
            Option(
                "SGD still ends elsewhere, because it samples the data.",
                False,
                "Here the only difference between the two is the noise term; with it at zero there "
                "is nothing left to differ.",
            ),
            Option(
                "SGD diverges.",
                False,
                "With no noise SGD takes exactly gradient descent's steps, which are stable at "
                "this rate.",
            ),
        ),
    ),
    Question(
        "SGD's basin map is not speckled: it looks like batch GD's map with its borders moved. "
        "Why?",
        (
            Option(
                "Every start on the map sees the same noise sequence, so neighbouring starts are "
                "pushed alike.",
                True,
                "The noise at step t depends only on the seed and t, not on the start, so runs "
                "from "
                "nearby starts stay together; the map shows how this one noise sequence moves the "
                "borders. Another seed moves them differently.",
            ),
            Option(
                "The noise averages out over many steps.",
                False,
                "It does not average out for where a run ends: one push near a ridge decides the "
                "basin, which is exactly why the borders move.",
            ),
            Option(
                "SGD switches the noise off near a minimum.",
                False,
                "The noise is added at every step; near a minimum the curvature pulls harder than "
                "the noise pushes, so SGD jitters around it instead of leaving.",
            ),
        ),
    ),
    Question(
        "You run the page twice with seed 3 and get the same SGD path both times. Why?",
        (
            Option(
                "The noise is drawn from a generator seeded with the seed, step by step.",
                True,
                "Seeded randomness is reproducible: the same seed gives the same noise sequence, "
                "so "
                "the same path and the same basin map, bit for bit.",
            ),
            Option(
                "SGD ignores the noise after the first step.",
                False,
                "A fresh noise vector is added at every step; change the seed and the path "
                "changes.",
            ),
            Option(
                "The page caches the first result.",
                False,
                "Every request recomputes the runs; they agree because the seed fixes the noise.",
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/noise",
    title="Noise and basins",
    teaches="How gradient noise (SGD) changes which minimum a run ends in, and what a basin "
    "of attraction is.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
