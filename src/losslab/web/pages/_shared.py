"""What the pages share: turning a run into words, the optimizer from a name and a rate,
the browser-side callbacks (exact clicks, the animation player, rate labels), and a guard
that turns any failure into a message on the page instead of a server error."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch
from dash import Input, Output, State, ctx, html, no_update

from losslab.curvature import inspect
from losslab.descent import Trajectory
from losslab.diagnosis import Diagnosis, diagnose
from losslab.errors import LosslabError
from losslab.objectives import Surface, defaults
from losslab.optim import Optimizer, get
from losslab.plot.scene import number
from losslab.web import parse

log = logging.getLogger("losslab.web")

MAX_MESSAGE = 400  # characters: a message quotes the input, which may be long
OK, INFO, WARN, ERROR = (
    "ll-message ll-ok",
    "ll-message",
    "ll-message ll-warn",
    "ll-message ll-error",
)


@dataclass(frozen=True)
class Message:
    text: Any  # a string, or Dash children (the race's heading and one line per run)
    level: str = INFO


def error_message(error: Exception) -> Message:
    """A LosslabError says what was wrong with the input; anything else is a bug, logged on
    the server and reported without details."""
    if isinstance(error, LosslabError):
        text = str(error)
        return Message(
            text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "\u2026", ERROR
        )
    log.exception("web lab callback failed")
    return Message(
        f"Something went wrong on the server ({type(error).__name__}); try again.", ERROR
    )


def guarded(fn: Callable[..., Any], error_outputs: Callable[[Message], tuple]):
    """Call fn; on any exception return `error_outputs(message)` (no_update elsewhere)."""

    def wrapper(*args):
        try:
            return fn(*args)
        except Exception as error:  # noqa: BLE001 - every failure becomes a message
            return error_outputs(error_message(error))

    wrapper.__name__ = getattr(fn, "__name__", "callback")
    return wrapper


@dataclass(frozen=True)
class Outputs:
    """Base for a page's callback result: fields in output order, no_update by default."""

    def values(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))


NO = no_update


@dataclass(frozen=True)
class Stage(Outputs):
    """A staged computation's step (the neural and symmetry pages): its figure or the next
    step's job, and the progress bar and line."""

    out: Any = NO
    progress: Any = NO
    status: Any = NO


def failed_stage(message: Message) -> tuple:
    """What a stage callback shows when it fails: the message on its progress line."""
    return Stage(status=message.text).values()


# -- defaults -----------------------------------------------------------------------------------


ASK_FOR_EXPRESSION = "Type an expression in x and y below the menu, then press Plot."


@dataclass(frozen=True)
class SurfaceChoice:
    objective: Surface
    text: str  # what is stored to rebuild it: a built-in's name or the typed expression
    typed: bool  # True when it came from the expression box (the menu is set to match)


def choose_surface(
    trigger, ids, surface_value, expression, state: dict, default: str
) -> SurfaceChoice | None:
    """The surface a callback works on, from what fired it: the menu (`ids.surface`), the
    expression box or its Plot button (`ids.expression`, `ids.apply`), else the surface in the
    page's state (the default on a first call). None when the menu says "expression" but none
    is typed yet. Invalid input raises LosslabError, shown by `guarded`."""
    if trigger == ids.surface:
        if surface_value == parse.EXPRESSION and not (expression or "").strip():
            return None
        return SurfaceChoice(*parse.pick_surface(surface_value, expression), typed=False)
    if trigger in (ids.apply, ids.expression):
        return SurfaceChoice(parse.surface_from_text(expression), str(expression).strip(), True)
    if trigger is None or "surface" not in state:
        return SurfaceChoice(*parse.pick_surface(default, None), typed=False)
    return SurfaceChoice(parse.stored_surface(state.get("surface")), state["surface"], False)


default_start = defaults.default_start  # one table for both shells


def default_lr(objective: Surface, overrides: dict[str, float] | None = None) -> float:
    """A page's own learning rate for a surface when it has one, else the shared table's."""
    if overrides and objective.name in overrides:
        return overrides[objective.name]
    return defaults.default_lr(objective)


def clamp_exponent(lr: float, low: float, high: float) -> float:
    """log10(lr) for a slider over [low, high]."""
    return float(min(high, max(low, round(math.log10(lr), 4))))


def rate(exponent: float) -> float:
    """10**exponent to 3 significant digits, as `parse.log_rate` reads a slider."""
    return float(f"{10.0**exponent:.3g}")


def optimizer(name: str, lr: float, **extra) -> Optimizer:
    """`name` at learning rate `lr` (the library checks the values)."""
    return get(name, lr=lr, **extra)


# -- runs in words ------------------------------------------------------------------------------


def stability_limit(objective: Surface, name: str, hyper: dict, near) -> float | None:
    """The largest stable learning rate near the known minimum closest to `near`, from the
    Hessian's largest eigenvalue there: 2/lambda for gd, 2(1 + beta)/lambda for momentum.
    None for other optimizers, or where no minimum is known or the curvature is not positive."""
    if name not in ("gd", "momentum", "nesterov") or not len(objective.minima):
        return None
    minima = objective.minima
    nearest = int(torch.linalg.vector_norm(minima - torch.as_tensor(near), dim=-1).argmin())
    top = _top_curvature(objective, nearest)
    if top is None or not top > 0:
        return None
    factor = 2.0 if name == "gd" else 2.0 * (1.0 + float(hyper.get("beta", 0.9)))
    return factor / top


@functools.lru_cache(maxsize=64)
def _top_curvature(objective: Surface, index: int) -> float | None:
    """The Hessian's largest eigenvalue at the surface's known minimum `index`, None where it
    cannot be computed. Fixed for a surface, so computed once per (cached) surface, not on
    every click."""
    try:
        return float(inspect(objective, objective.minima[index]).eigenvalues.max())
    except LosslabError:
        return None


# The colour of a message follows the diagnosis: green only for a real minimum.
LEVELS = {
    "minimum": OK,
    "saddle": WARN,
    "maximum": WARN,
    "stalled": WARN,
    "overshoot": ERROR,
    "escape": ERROR,
    "running": INFO,
}


def diagnosis_message(diagnosis: Diagnosis, who: str = "") -> Message:
    """The one place a Diagnosis becomes a page message: its sentence (after `who`, the run's
    label) in the level of its kind."""
    text = f"{who}: {diagnosis.reason}" if who else diagnosis.reason
    return Message(text, LEVELS[diagnosis.kind])


def with_diagnoses(runs: list, diagnoses) -> list:
    """Runs whose legend says how each ended in the diagnosis's words ("newton(lr=1,
    damping=0): at a saddle, not a minimum (1 step)") and so do the end markers'
    hover texts; a run still moving keeps its bare legend label, as `_runs.runs` gives it."""
    return [
        replace(run, ending=found.label)
        if found.kind == "running"
        else replace(run, legend=f"{run.label}: {found.label}", ending=found.label)
        for run, found in zip(runs, diagnoses, strict=True)
    ]


def runs_message(heading: str, trajectories, diagnoses) -> Message:
    """The heading, then one line per run saying why it ended (its diagnosis, after its
    label); the level is the most serious of theirs, green only when every run found a minimum."""
    lines = [diagnosis_message(d, t.label) for t, d in zip(trajectories, diagnoses, strict=True)]
    order = (OK, INFO, WARN, ERROR)
    level = max((m.level for m in lines), key=order.index, default=INFO)
    text = [html.Div(heading), *(html.Div(m.text, className="ll-outcome") for m in lines)]
    return Message(text, level)


def describe(trajectory: Trajectory, objective: Surface, found: Diagnosis | None = None) -> Message:
    """Why the run ended (`found`, else `losslab.diagnose`); for a run that converged to a
    minimum or is still moving, also the zig-zag on the way and gd's stable learning-rate
    limit there."""
    run = trajectory.run(0)
    found = found or diagnose(objective, run)
    message = diagnosis_message(found, trajectory.label)
    if found.kind not in ("minimum", "running"):
        return message
    stop = int(run.stopped_at)
    losses = run.losses[: stop + 1].detach().numpy()
    rises = (
        int(np.sum(np.diff(losses) > 1e-12 * np.maximum(1.0, np.abs(losses[:-1])))) if stop else 0
    )
    turns = reversals(run.params[: stop + 1].detach().numpy())
    if rises > max(2, stop // 20):
        note = f" On the way the loss went up on {rises} of {stop} steps: it overshot."
    elif turns > max(2, stop // 10):
        note = f" On the way {turns} of {stop} steps jumped across the valley floor (zig-zag)."
    else:
        return message
    end = run.params[stop].tolist()
    limit = stability_limit(objective, trajectory.optimizer, trajectory.hyperparameters, end)
    if limit:
        note += (
            f" Near the minimum {trajectory.optimizer} is stable only for lr < {number(limit, 3)}."
        )
    return Message(message.text + note, message.level)


def reversals(path: np.ndarray) -> int:
    """Steps that turned back by more than 90 degrees from the step before: overshoots."""
    steps = np.diff(path, axis=0)
    if len(steps) < 2:
        return 0
    return int(np.sum(np.einsum("ij,ij->i", steps[1:], steps[:-1]) < 0))


# -- browser-side callbacks ---------------------------------------------------------------------


def register_click(app, graph_id: str, click_store: str, subplot: str = "xy") -> None:
    """graph clickData -> {"x", "y"} where the pointer really was, into `click_store`."""
    app.clientside_callback(
        f"function(c) {{ return window.losslab.click(c, '{graph_id}', '{subplot}'); }}",
        Output(click_store, "data"),
        Input(graph_id, "clickData"),
        prevent_initial_call=True,
    )


def register_player(app, run_button: str, spec_store: str, player_store: str) -> None:
    """The Run button (or a new spec with autoplay) plays the spec in the browser."""
    app.clientside_callback(
        "function(n, spec) { return window.losslab.play(n, spec); }",
        Output(player_store, "data"),
        Input(run_button, "n_clicks"),
        Input(spec_store, "data"),
        prevent_initial_call=True,
    )


def register_rate_text(app, slider: str, text: str, name: str = "lr") -> None:
    app.clientside_callback(
        f"function(e) {{ return window.losslab.rateText(e, '{name}'); }}",
        Output(text, "children"),
        Input(slider, "value"),
    )


SETTLE_MS = 300  # a slider's value reaches the server once it has stayed put this long
SETTLED = "-settled"


def register_settle(app, slider: str) -> None:
    """slider value -> (after SETTLE_MS without a move) its settled store, which is what the
    page's server callback listens to: ten arrow-key presses make one request, not ten."""
    store = slider + SETTLED
    app.clientside_callback(
        f"function(v, now) {{ return window.losslab.settle(v, now, '{store}', {SETTLE_MS}); }}",
        Output(store, "data"),
        Input(slider, "value"),
        State(store, "data"),
        prevent_initial_call=True,
    )


def triggered():
    """What fired the callback, a settled slider store read as its slider's id."""
    trigger = ctx.triggered_id
    if isinstance(trigger, str) and trigger.endswith(SETTLED):
        return trigger[: -len(SETTLED)]
    return trigger


def settled_too(fn: Callable[..., tuple], index: int) -> Callable[..., tuple]:
    """fn's outputs plus a copy of output `index`: a value the server sets on a slider goes to
    its settled store as well, so that the slider's move is not sent back as a new request."""

    def wrapper(*args):
        values = fn(*args)
        return (*values, values[index])

    wrapper.__name__ = getattr(fn, "__name__", "callback")
    return wrapper


def register_stepper(app, field: str, *, low: int, high: int, fallback: int) -> None:
    """The field's - and + buttons: one step within [low, high], from `fallback` when the field
    holds no number; the field then sends its value like a typed one."""
    app.clientside_callback(
        "function(down, up, typed) {"
        " var t = window.dash_clientside.callback_context.triggered;"
        " var plus = t.length && t[0].prop_id.indexOf('-up.') >= 0;"
        f" return window.losslab.step(typed, plus ? 1 : -1, {low}, {high}, {fallback}); }}",
        Output(field, "value"),
        Input(f"{field}-down", "n_clicks"),
        Input(f"{field}-up", "n_clicks"),
        State(field, "value"),
        prevent_initial_call=True,
    )


def stored_int(state, key: str, default: int = 0) -> int:
    """An integer from a browser store; anything else gives the default."""
    value = state.get(key) if isinstance(state, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31:
        return default
    return value
