"""Layout pieces every page uses, so that all pages look and behave alike."""

from __future__ import annotations

import math
from collections.abc import Sequence

from dash import dcc, html

from losslab.objectives import surface
from losslab.objectives.expression import MAX_LENGTH as MAX_EXPRESSION
from losslab.optim import names as optimizer_names
from losslab.web import theme
from losslab.web.page import Question
from losslab.web.parse import EXPRESSION, builtin_names, is_typed, one_variable_note
from losslab.web.quiz import quiz_section


def page_frame(
    key: str,
    title: str,
    lede: str,
    controls: list,
    main: list,
    questions: Sequence[Question],
    intro=None,
):
    """Title and one-line lede, then `intro` at full width (a page's opening picture, if it
    has one), controls on the left, figures on the right, then the quiz."""
    head = html.Div([html.H1(title), html.P(lede, className="ll-lede")], className="ll-head")
    return html.Div(
        [
            head,
            *([] if intro is None else [intro]),
            html.Div(
                [
                    html.Aside(controls, className="ll-controls", **{"aria-label": "controls"}),
                    html.Section(main, className="ll-main"),
                ],
                className="ll-body",
            ),
            quiz_section(key, questions),
        ],
        className="ll-page",
        id=f"{key}-page",
    )


def control(label: str, child, hint: str | None = None, html_for: str | None = None):
    parts = [html.Label(label, className="ll-label", htmlFor=html_for), child]
    if hint:
        parts.append(html.Div(hint, className="ll-hint"))
    return html.Div(parts, className="ll-control")


def graph(graph_id: str, height: int = theme.GRAPH_HEIGHT, narrow_height: int | None = None):
    """A lab graph `height` px tall; on a phone (below 700 px) `narrow_height` px, for a figure
    whose panels then stack (assets/losslab_narrow.js) and need the room (default: `height`).
    The CSS reads both from custom properties, so the window, not the server, decides."""
    # An explicit height (dcc.Graph would set 100%): the CSS's choice of the two below.
    sizes = {"height": "var(--ll-graph-height)", "--ll-height": f"{height}px"}
    if narrow_height is not None:
        sizes["--ll-narrow-height"] = f"{narrow_height}px"
    return dcc.Graph(
        id=graph_id,
        config=theme.GRAPH_CONFIG,
        style=sizes,
        className="ll-graph",
        figure=placeholder_figure(height),
    )


def placeholder_figure(height: int = theme.GRAPH_HEIGHT) -> dict:
    """An empty, axis-less figure shown for the instant before the first callback answers."""
    return {
        "data": [],
        "layout": {
            "height": height,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        },
    }


def split(main, side: list):
    """A figure with a narrow column beside it (what happened, the live readout)."""
    return html.Div([main, html.Div(side, className="ll-side")], className="ll-split")


def about(objective) -> list:
    """A surface in two lines: its name and formula, then what it teaches."""
    formula = html.Span(f"  f = {objective.formula}", className="ll-formula")
    if is_typed(objective):
        note = one_variable_note(objective)
        hint = [html.Div(note, className="ll-hint ll-note")] if note else []
        return [html.Div([html.Strong("typed expression"), formula]), *hint]
    name = objective.name.replace("_", " ")
    return [
        html.Div([html.Strong(name), formula]),
        html.Div(objective.description, className="ll-hint"),
    ]


def message(message_id: str):
    """Where a page says what happened (diverged, converged) or what was wrong with an input."""
    return html.Div(id=message_id, className="ll-message", role="status", **{"aria-live": "polite"})


def progress(progress_id: str, status_id: str, n_stages: int):
    """A staged computation's progress: a bar of n_stages steps and the line saying which."""
    return html.Div(
        [
            html.Progress(id=progress_id, value=0, max=n_stages, className="ll-progress"),
            html.Div(id=status_id, className="ll-hint", role="status"),
        ],
        className="ll-control",
    )


def board(board_id: str):
    """A live scoreboard: filled and updated only by the animation player in the browser."""
    return html.Div(id=board_id, className="ll-board", **{"aria-live": "off"})


def button(button_id: str, text: str, *, primary: bool = False, title: str | None = None):
    return html.Button(
        text,
        id=button_id,
        n_clicks=0,
        className="ll-button ll-primary" if primary else "ll-button",
        title=title,
    )


def surface_picker(
    dropdown_id: str,
    expression_id: str,
    apply_id: str,
    *,
    default: str,
    names: Sequence[str] | None = None,
    placeholder: str = "sin(x)*cos(y) + 0.1*(x**2 + y**2)",
):
    """A dropdown of built-in 2-D surfaces plus a field for a typed expression in x and y."""
    names = list(names) if names is not None else builtin_names(2)
    options = [{"label": _surface_label(name), "value": name} for name in names]
    options.append({"label": "typed expression (below)", "value": EXPRESSION})
    return html.Div(
        [
            control(
                "Surface",
                dcc.Dropdown(
                    id=dropdown_id,
                    options=options,
                    value=default,
                    clearable=False,
                    searchable=False,
                ),
                html_for=dropdown_id,
            ),
            html.Div(
                [
                    dcc.Input(
                        id=expression_id,
                        type="text",
                        placeholder=placeholder,
                        debounce=True,
                        maxLength=MAX_EXPRESSION,
                        className="ll-input ll-counted",
                        spellCheck=False,
                        autoComplete="off",
                        name="expression",
                    ),
                    button(apply_id, "Plot", title="plot the typed expression"),
                ],
                className="ll-row",
            ),
            html.Div(
                f"0 / {MAX_EXPRESSION} characters", className="ll-count", **{"aria-live": "polite"}
            ),
            html.Div(
                "x, y, pi, e, + - * / **, sin cos tan exp log sqrt abs tanh sigmoid softplus "
                "relu min max",
                className="ll-hint",
            ),
        ],
        className="ll-expression",
    )


def _surface_label(name: str) -> str:
    return name.replace("_", " ")


def surface_description(name: str) -> str:
    return surface(name).description


def log_slider(slider_id: str, *, low: int, high: int, value: float, step: float = 0.01):
    """A slider over log10 of a rate; marks at every power of ten. The server callback reads
    the slider's settled value (`settled`), not every move."""
    marks = {e: {"label": power_label(e)} for e in range(low, high + 1)}
    return html.Div(
        [
            dcc.Slider(
                id=slider_id,
                min=low,
                max=high,
                step=step,
                value=round(value, 4),
                marks=marks,
                updatemode="mouseup",
                allow_direct_input=False,
                included=False,
            ),
            settled(slider_id, round(value, 4)),
        ]
    )


def round_rates(low: int, high: int) -> tuple[float, ...]:
    """1, 2, ..., 9 times each power of ten from 10**low up to 10**high: 0.001, ..., 0.4, ..., 1."""
    return tuple(
        float(f"{m * 10.0**k:.1g}")
        for k in range(low, high + 1)
        for m in range(1, 10)
        if k < high or m == 1
    )


def round_rate_slider(slider_id: str, rates: Sequence[float], *, value: float):
    """A slider that stops only at `rates` (its value is the index of one), so that a rate a
    question names (0.4) can be set exactly; powers of ten are marked. Settled like any."""
    index = rates.index(value)
    marks = {
        i: {"label": f"{rate:g}"} for i, rate in enumerate(rates) if math.log10(rate).is_integer()
    }
    return html.Div(
        [
            dcc.Slider(
                id=slider_id,
                min=0,
                max=len(rates) - 1,
                step=1,
                value=index,
                marks=marks,
                updatemode="mouseup",
                allow_direct_input=False,
                included=False,
            ),
            settled(slider_id, index),
        ]
    )


def settled(slider_id: str, value) -> dcc.Store:
    """Where a slider's value lands once it stops moving (see `losslab.settle` in the JS)."""
    return dcc.Store(id=settled_id(slider_id), data=value)


def settled_id(slider_id: str) -> str:
    return f"{slider_id}-settled"


def power_label(exponent: int) -> str:
    if -2 <= exponent <= 1:
        return f"{10.0**exponent:g}"
    return f"1e{exponent}"


def lr_exponent(lr: float) -> float:
    return math.log10(lr)


def optimizer_dropdown(dropdown_id: str, value: str = "gd"):
    return dcc.Dropdown(
        id=dropdown_id,
        options=[{"label": name, "value": name} for name in optimizer_names()],
        value=value,
        clearable=False,
        searchable=False,
    )


def _step_button(input_id: str, way: str, label: str):
    """The - (way "down") or + ("up") button beside a number field."""
    sign = "\u2212" if way == "down" else "+"
    return html.Button(
        sign,
        id=f"{input_id}-{way}",
        n_clicks=0,
        className="ll-button ll-step",
        title=f"{label} {'-' if way == 'down' else '+'} 1",
        **{"aria-label": f"{label} {way}"},
    )


def number_field(input_id: str, value: int, *, low: int, high: int, label: str):
    """A whole-number field with - and + buttons that stay within [low, high].

    A text field (numeric keyboard on phones) rather than type="number": the server gets what
    was typed, so that a message can quote it, and the buttons (`shared.register_stepper`)
    always leave a number in [low, high], never an empty field."""
    return html.Div(
        [
            _step_button(input_id, "down", label),
            dcc.Input(
                id=input_id,
                type="text",
                inputMode="numeric",
                value=str(value),
                debounce=True,
                maxLength=12,
                className="ll-input ll-number",
                autoComplete="off",
            ),
            _step_button(input_id, "up", label),
            html.Span(f"{low} to {high}", className="ll-hint ll-range"),
        ],
        className="ll-row ll-stepper",
    )


def steps_input(input_id: str, value: int, *, high: int):
    return number_field(input_id, value, low=1, high=high, label="steps")
