"""Open a result: browse a landscape or training-run file computed earlier, on this machine.

The file reaches the server either as bytes the browser uploads (dcc.Upload; the server is on
127.0.0.1, so nothing leaves the machine) or as the file given to `losslab view FILE`
(preloaded). The browser keeps only tokens (viewer_files.py), never a server path. `show` is
the page's one server callback, a plain function of the controls: it opens what was chosen
and draws it with the plot layer's slice panels, so it looks like `losslab plot`.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from dash import Input, Output, State, ctx, dcc, html

from losslab.errors import LosslabError
from losslab.landscapes import Landscape
from losslab.plot import build
from losslab.plot.scene import Axis, Panel, Path, Scene
from losslab.web import components as ui
from losslab.web import figures, theme, viewer_files
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _shared as shared

ID = Ids("viewer")
KEY = "viewer"
EXAMPLE = "example"  # the page's own small landscape, shown until a file is opened
EXAMPLE_SURFACE = "himmelblau"
VIEWS = ("contour", "3d")
CAMERA = {"eye": {"x": 1.55, "y": -1.55, "z": 1.1}}  # farther than the lab's: axis titles fit
HEIGHT = theme.GRAPH_HEIGHT
NARROW_HEIGHT = figures.MAP_NARROW_HEIGHT  # a square map above its legend
# Uploads go to their own route, as raw bytes, so that callback requests keep the app's small
# size limit (app.py): the browser posts the file there and keeps the token it gets back.
UPLOAD_ROUTE = "/_losslab/viewer-upload"
# The browser's half (async: Dash waits for the promise): the file's bytes to UPLOAD_ROUTE,
# and its answer, {token, name} or {error}, to the page's store of received files.
SEND_JS = """async function(contents, filename) {
  if (!contents) { return window.dash_clientside.no_update; }
  var name = filename || 'upload';
  var blob = await (await fetch(contents)).blob();
  if (blob.size > %(cap)d) {
    return {error: "'" + name + "' is larger than %(mb)d MB, the upload limit: open it with "
      + "'losslab view " + name + "' instead.", at: Date.now()};
  }
  var answer;
  try {
    var reply = await fetch('%(route)s?name=' + encodeURIComponent(name),
      {method: 'POST', body: blob, headers: {'Content-Type': 'application/octet-stream'}});
    answer = await reply.json();
  } catch (e) {
    answer = {error: "'" + name + "' could not be sent to the lab server: try again."};
  }
  answer.at = Date.now();
  return answer;
}"""


@dataclass(frozen=True)
class Shown(shared.Outputs):
    files: Any = shared.NO
    figure: Any = shared.NO
    metrics: Any = shared.NO
    metric: Any = shared.NO
    about: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO


@functools.lru_cache(maxsize=1)
def example() -> Landscape:
    """Himmelblau's surface on a 61 x 61 grid, computed by the library (not a picture)."""
    from losslab.landscapes.grid import evaluate_grid
    from losslab.objectives import surface

    return evaluate_grid(surface(EXAMPLE_SURFACE), resolution=61)


def opened(files: dict) -> tuple[Any, str, Any, str]:
    """(landscape or run, its name, the run drawn over it or None, that run's name)."""
    files = files if isinstance(files, dict) else {}
    token = files.get("result", EXAMPLE)
    if token == EXAMPLE:
        result, name = example(), f"example: {EXAMPLE_SURFACE} (computed by losslab)"
    else:
        result, name = viewer_files.opened(token)
        name = _name(files.get("result_name"), name)
    run, run_name = None, ""
    if files.get("run") and isinstance(result, Landscape):
        run, run_name = viewer_files.opened(files["run"])
        run_name = _name(files.get("run_name"), run_name)
        if isinstance(run, Landscape):
            raise LosslabError(f"'{run_name}' is a landscape: the path must be a training run.")
    return result, name, run, run_name


def _name(given, fallback: str) -> str:
    """The uploaded file's own name (shown, never used as a path), else the server's."""
    return str(given)[:200] if isinstance(given, str) and given else fallback


def figure_of(result, run, view: str, metric: str, log: bool, key: str = "", run_key: str = ""):
    """The plotly figure: a 2-D landscape as a filled contour or a 3-D surface, a 1-D one as
    a curve, with `run` projected into the slice; a training run alone as its loss per step.
    key, run_key: name the open files (their tokens): the figure's revision follows them and
    the choices, and zoom and camera are kept until the file or the view changes.
    Contours are traces, not the raster image, so every grid value is in the figure."""
    if isinstance(result, Landscape):
        options = {"metric": metric, "log": log, "trajectory": run}
        if len(result.coords) == 1:
            panel = build.slice_curve_panel(result, **options)
        elif view == "3d":
            panel = build.slice_surface_panel(result, **options)
        else:
            panel = build.slice_contour_panel(result, **options)
    else:
        panel = run_panel(result, log)
    # The panel's long title ("loss: Sequential, 22 parameters, ...") is the side card's
    # first line: above the plot it is cut off on a phone.
    return figures.draw(
        Scene((replace(panel, title=""),)),
        revision=zlib.crc32(f"{key} {run_key} {view} {metric} {log}".encode()) % (2**31 - 1) + 1,
        uirevision=f"{key} {view}",
        raster=False,
        camera=CAMERA,
        legend=figures.LEGEND_BELOW,
        margin=figures.MARGINS["3d" if view == "3d" and _is_plane(result) else "contour"],
    )


def run_panel(run, log: bool) -> Panel:
    """A training run on its own: its training loss at each record, against the step."""
    steps = np.asarray(run.steps, dtype=np.float64)
    loss = np.asarray(run.train_loss, dtype=np.float64)
    positive = bool(len(loss)) and bool(np.nanmin(loss) > 0)
    scale = "log" if log and positive else "linear"
    path = Path(steps, loss, style="metric", label="training loss", name="curve")
    return Panel(
        "chart",
        (path,),
        title=f"training loss ({run.status}, {run.n_steps} steps)",
        x=Axis("optimizer step"),
        y=Axis("training loss" + (" (log scale)" if scale == "log" else ""), None, scale),
        legend="none",
    )


def _is_plane(result) -> bool:
    return isinstance(result, Landscape) and len(result.coords) == 2


def metrics_of(result) -> list[str]:
    """The metrics the menu offers: a landscape's values (not their standard errors)."""
    if not isinstance(result, Landscape):
        return ["train_loss"]
    return [m for m in result.values if not str(m).endswith("_se")] or list(result.values)


def about(result, name: str, run, run_name: str) -> list:
    """What was opened, in a few lines."""
    lines = [html.Li([html.Strong("file: "), name])]
    if isinstance(result, Landscape):
        lines.append(html.Li(title_of(result)))
        shape = " x ".join(str(len(c)) for c in result.coords)
        lines.append(html.Li(f"landscape: {shape} grid, {result.n_params} parameters"))
        lines.append(html.Li(f"metrics: {', '.join(map(str, result.values))}"))
        if run is not None:
            lines.append(html.Li(f"training path: {run_name} ({len(run.steps)} records)"))
        else:
            lines.append(html.Li("no training path: open a run (.json/.h5) to draw it"))
    else:
        lines.append(html.Li(f"training run: {len(result.steps)} records, {result.status}"))
        lines.append(html.Li("open a landscape to see this path over it"))
    return [html.H3("Open now"), html.Ul(lines, className="ll-facts")]


def received_token(received) -> tuple[str, str]:
    """(token, name) from what the upload route answered (a refusal becomes the message)."""
    if not isinstance(received, dict):
        raise LosslabError("the page state is damaged: reload the page.")
    if received.get("error"):
        raise LosslabError(str(received["error"])[: shared.MAX_MESSAGE])
    token = received.get("token")
    viewer_files.opened(token)  # a token the server knows, or one line
    return token, _name(received.get("name"), "upload")


def show(trigger, received, run_received, view, metric, log, files):
    """The page's one callback. trigger: the id that fired it; received, run_received: the
    upload route's answers ({token, name} or {error}); files: {"result": token, "run": token,
    and their names} kept in the browser."""
    files = dict(files) if isinstance(files, dict) else {}
    if trigger == ID.received and received:
        token, name = received_token(received)
        files = {"result": token, "result_name": name}
    elif trigger == ID.run_received and run_received:
        token, name = received_token(run_received)
        files.update(run=token, run_name=name)
    elif trigger == ID.clear_run:
        files.pop("run", None)
        files.pop("run_name", None)
    view = view if view in VIEWS else "contour"
    result, name, run, run_label = opened(files)
    choices = metrics_of(result)
    metric = metric if metric in choices else choices[0]
    return Shown(
        files=files,
        figure=figure_of(
            result,
            run,
            view,
            metric,
            bool(log),
            str(files.get("result", EXAMPLE)),
            str(files.get("run", "")),
        ),
        metrics=[{"label": m, "value": m} for m in choices],
        metric=metric,
        about=about(result, name, run, run_label),
        message=_news(trigger, name, run_label),
        level=shared.OK,
    )


def _news(trigger, name: str, run_name: str) -> str:
    if trigger == ID.received:
        return f"Showing {name}."
    if trigger == ID.run_received:
        return f"Added the training path {run_name}."
    return ""


def title_of(land: Landscape) -> str:
    """What the slice is of, from the file's metadata ("Sequential, 22 parameters, ...")."""
    from losslab.plot import _slice

    return _slice.title_of(dict(land.metadata)) or "a slice of a model's loss"


def receive():
    """The upload route (POST, the file's bytes, ?name=its file name): {token, name}, or
    {error} with one line (status 413 when too large: the browser checks the size first)."""
    from flask import jsonify, request

    request.max_content_length = viewer_files.MAX_UPLOAD_BYTES + 1  # this route only
    name = str(request.args.get("name", ""))
    try:
        name = viewer_files.check_name(name)
        size = request.content_length
        if size is not None and size > viewer_files.MAX_UPLOAD_BYTES:
            return jsonify(error=str(viewer_files.too_large(name))), 413
        token = viewer_files.store_bytes(request.get_data(cache=False), name)
    except Exception as error:  # noqa: BLE001 - every failure is a line on the page
        # 200: a refusal is the route's answer, shown on the page, not a failed request
        return jsonify(error=shared.error_message(error).text)
    return jsonify(token=token, name=name)


def first_files() -> dict:
    """What the page opens with: the files given to `losslab view`, else the example."""
    import os

    if not os.environ.get(viewer_files.PRELOAD_ENV):
        return {}
    files = {"result": viewer_files.PRELOADED}
    if os.environ.get(viewer_files.PRELOAD_RUN_ENV):
        files["run"] = viewer_files.PRELOADED_RUN
    return files


# -- layout and registration --------------------------------------------------------------------


def _upload(upload_id: str, text: str):
    return dcc.Upload(
        id=upload_id,
        children=html.Div(text),
        max_size=-1,  # the server checks the size and says so; a browser refusal is silent
        multiple=False,
        accept=",".join(viewer_files.SUFFIXES),
        className="ll-upload ll-button",
    )


def layout():
    controls = [
        ui.control(
            "Result file",
            _upload(ID.upload, "Choose a file\u2026"),
            hint="Or drop it here. A .h5 or .json file from 'losslab landscape --out' or "
            "'losslab train --out', "
            f"up to {viewer_files.MAX_UPLOAD_BYTES // 2**20} MB; it goes only to this "
            "machine's lab server (127.0.0.1). Larger: 'losslab view FILE'.",
        ),
        ui.control(
            "Training path",
            html.Div(
                [
                    _upload(ID.run_upload, "Add a run\u2026"),
                    ui.button(ID.clear_run, "Remove path"),
                ],
                className="ll-row",
            ),
            hint="A run of the model the landscape was computed for, projected into its slice.",
        ),
        ui.view_choice(ID.view),
        ui.control(
            "Metric",
            dcc.Dropdown(id=ID.metric, options=[], value=None, clearable=False, searchable=False),
            html_for=ID.metric,
        ),
        ui.control(
            "Scale",
            dcc.Checklist(
                id=ID.log,
                options=[{"label": "log10 of the metric", "value": "log"}],
                value=[],
                className="ll-checks",
                inputClassName="ll-check",
            ),
        ),
        ui.message(ID.message),
    ]
    main = [
        ui.split(
            dcc.Loading(
                ui.graph(ID.graph, height=HEIGHT, narrow_height=NARROW_HEIGHT),
                type="dot",
                delay_show=400,
                color="#3b528b",
            ),
            [html.Div(id=ID.about, className="ll-about ll-card")],
        ),
        html.P(
            "Hover over the map: the coordinates along the slice's two directions and the "
            "metric there. Drag to zoom, double-click to zoom back.",
            className="ll-hint",
        ),
        dcc.Store(id=ID.files, data=first_files()),
        dcc.Store(id=ID.received),
        dcc.Store(id=ID.run_received),
    ]
    return ui.page_frame(KEY, PAGE.title, LEDE, controls, main, QUESTIONS)


def register(app) -> None:
    app.server.add_url_rule(
        UPLOAD_ROUTE, endpoint="losslab_viewer_upload", view_func=receive, methods=["POST"]
    )
    send = SEND_JS % {
        "cap": viewer_files.MAX_UPLOAD_BYTES,
        "mb": viewer_files.MAX_UPLOAD_BYTES // 2**20,
        "route": UPLOAD_ROUTE,
    }
    for upload, store in ((ID.upload, ID.received), (ID.run_upload, ID.run_received)):
        app.clientside_callback(
            send,
            Output(store, "data"),
            Input(upload, "contents"),
            State(upload, "filename"),
            prevent_initial_call=True,
        )
    app.callback(
        Output(ID.files, "data"),
        Output(ID.graph, "figure"),
        Output(ID.metric, "options"),
        Output(ID.metric, "value"),
        Output(ID.about, "children"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Input(ID.received, "data"),
        Input(ID.run_received, "data"),
        Input(ID.view, "value"),
        Input(ID.metric, "value"),
        Input(ID.log, "value"),
        Input(ID.clear_run, "n_clicks"),
        State(ID.files, "data"),
    )(
        lambda received, run, view, metric, log, _clear, files: answer(
            ctx.triggered_id, received, run, view, metric, log, files
        )
    )


def answer(trigger, *args) -> tuple:
    """`show`'s outputs in order; any failure becomes the page's message (red), the rest
    of the page as it was."""

    def failed(message: shared.Message) -> tuple:
        return Shown(message=message.text, level=message.level).values()

    return shared.guarded(lambda: show(trigger, *args).values(), failed)()


LEDE = (
    "Browse a landscape or a training run you computed with losslab: contours or a 3-D "
    "surface, any of its metrics, a log scale, and the training path drawn through the slice."
)

QUESTIONS = (
    Question(
        "You tick \u201clog10 of the metric\u201d. What changes?",
        (
            Option(
                "Only the colours (and the 3-D height): they follow log10 of the loss, so the "
                "low valleys get as many colour bands as the high walls.",
                True,
                "Hover still reads the loss itself; the grid and its values are the file's. "
                "A log scale spreads out the small values where training ends.",
            ),
            Option(
                "The landscape is computed again with a finer grid near the minimum.",
                False,
                "Nothing is computed: the viewer only draws the values stored in the file.",
            ),
            Option(
                "The minimum moves to where log10 of the loss is smallest.",
                False,
                "log10 keeps the order of the values, so the lowest point stays where it was.",
            ),
        ),
    ),
    Question(
        "The training path you added runs off the edge of the map. Why can that happen?",
        (
            Option(
                "The path is projected into the slice's plane; where its projection lies "
                "outside the computed window, there is no grid to draw it on.",
                True,
                "The viewer breaks the line where it leaves the window instead of growing the "
                "axes: compute the landscape with a larger span to see the whole path.",
            ),
            Option(
                "The run was trained on another dataset.",
                False,
                "The data do not enter the projection; only the weights and the slice's "
                "directions do (a run of another model, with another number of weights, is "
                "refused).",
            ),
            Option(
                "The optimizer diverged.",
                False,
                "A diverged run stops recording; what is recorded is still projected, inside "
                "the window or not.",
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/viewer",
    title="Open a result",
    teaches="Look at your own results: a landscape or training-run file from the command "
    "line, opened in the browser with its metrics, a log scale and the training path.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
