"""`losslab view FILE`: the web lab, served as `losslab serve` serves it, with FILE open on its
"Open a result" page.

The file is checked before anything is served (a file that is not a losslab landscape or
training run is one line and exit 2), then handed to every server process in an environment
variable (web/viewer_files.py); the browser only ever asks for "the preloaded file", never for
a path.
"""

from __future__ import annotations

import os
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from losslab.cli import serve as serving
from losslab.errors import LosslabError

VIEWER_PATH = "/viewer"


def view_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            show_default=False,
            help="A landscape (.h5) from 'losslab landscape --out' or a training run "
            "(.json/.h5) from 'losslab train --out'.",
        ),
    ],
    port: Annotated[
        int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")
    ] = 8050,
    trajectory: Annotated[
        Path | None,
        typer.Option(
            metavar="RUN",
            show_default=False,
            help="A training run (.json/.h5 from 'losslab train --out') of the landscape's "
            "model, drawn projected into the slice.",
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in the default browser.")
    ] = True,
) -> None:
    """Browse a computed landscape or training run in the web lab (on 127.0.0.1 only).

    losslab view land.h5      then http://127.0.0.1:8050/viewer (Ctrl+C stops it)
    losslab view land.h5 --trajectory run.h5
    """
    from losslab.landscapes import Landscape
    from losslab.training import TrainingRun
    from losslab.web.viewer_files import PRELOAD_ENV, PRELOAD_RUN_ENV, load_viewable

    result = _checked(file, load_viewable)  # refused here, with one line, before serving
    os.environ[PRELOAD_ENV] = str(file.resolve())
    os.environ.pop(PRELOAD_RUN_ENV, None)
    if trajectory is not None:
        run = _checked(trajectory, load_viewable)
        if not isinstance(result, Landscape) or not isinstance(run, TrainingRun):
            raise LosslabError(
                "--trajectory draws a training run over a landscape: give the landscape as "
                "FILE and the run as --trajectory."
            )
        if run.params.shape[-1] != result.n_params:
            raise LosslabError(
                f"--trajectory '{trajectory}' has {run.params.shape[-1]} parameters, the "
                f"landscape's model {result.n_params}: give a run of that model."
            )
        os.environ[PRELOAD_RUN_ENV] = str(trajectory.resolve())
    serving.check_port_free(serving.LOOPBACK, port)
    url = f"http://{serving.LOOPBACK}:{port}{VIEWER_PATH}"
    typer.echo(f"viewing {file}: {url}")
    if open_browser:
        # once the server answers: a timer, so the page is not opened before it listens
        import threading

        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    serving.serve(port=port, host=serving.LOOPBACK, debug=False, workers=None, threads=8)


def _checked(path: Path, load):
    if not path.is_file():
        raise LosslabError(f"'{path}' is not a file: give a landscape (.h5) or a run (.json/.h5).")
    return load(path, str(path))
