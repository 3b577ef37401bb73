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
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in the default browser.")
    ] = True,
) -> None:
    """Browse a computed landscape or training run in the web lab (on 127.0.0.1 only).

    losslab view land.h5      then http://127.0.0.1:8050/viewer (Ctrl+C stops it)
    """
    from losslab.web.viewer_files import PRELOAD_ENV, load_viewable

    if not file.is_file():
        raise LosslabError(f"'{file}' is not a file: give a landscape (.h5) or a run (.json/.h5).")
    load_viewable(file, str(file))  # refused here, with one line, before serving
    os.environ[PRELOAD_ENV] = str(file.resolve())
    serving.check_port_free(serving.LOOPBACK, port)
    url = f"http://{serving.LOOPBACK}:{port}{VIEWER_PATH}"
    typer.echo(f"viewing {file}: {url}")
    if open_browser:
        # once the server answers: a timer, so the page is not opened before it listens
        import threading

        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    serving.serve(port=port, host=serving.LOOPBACK, debug=False, workers=None, threads=8)
