"""`losslab serve`: the web lab on this machine (Dash), offline, bound to 127.0.0.1."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
from typing import Annotated

import typer

from losslab.cli.errors import Interrupted
from losslab.errors import LosslabError

LOOPBACK = "127.0.0.1"
# Torch threads per request. The server answers each request in its own thread, so requests
# already run side by side; letting every one of them spin up a pool of intra-op threads too
# oversubscribes the cores (measured on a busy 2-core machine: a page-6 slice took 56 s with
# 2 torch threads against 3.6 s with 1).
TORCH_THREADS = 1


def serve(
    port: Annotated[
        int,
        typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on."),
    ] = 8050,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to bind. The default, 127.0.0.1, keeps the lab private to this "
            "machine; 0.0.0.0 lets anyone on the network use it.",
        ),
    ] = LOOPBACK,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Dash's debug mode (reloader, error pop-ups). For development only: the dev "
            "tools also try to reach plotly's version-check server.",
        ),
    ] = False,
) -> None:
    """Open the web lab: descent in 1-D, surface explorer, optimizer race, curvature, noise,
    neural landscapes.

    Then browse to http://127.0.0.1:8050 (Ctrl+C stops it). Everything is served from here:
    no page, script or font is fetched from the internet.
    """
    check_port_free(host, port)
    with contextlib.suppress(KeyboardInterrupt):
        _serve(host, port, debug)
    # The server returns only when stopped by Ctrl-C (werkzeug swallows the KeyboardInterrupt),
    # so either way it was interrupted: exit 130 like every interrupted command (errors.py),
    # which also spares the warm-up thread, maybe inside torch, the interpreter's finalization.
    raise Interrupted("stopped")


def _serve(host: str, port: int, debug: bool) -> None:
    import torch

    from losslab.web import create_app

    torch.set_num_threads(TORCH_THREADS)
    # werkzeug logs its banner and every request on stderr; the line below says where the lab
    # is, and stderr stays for warnings, errors and the one line at Ctrl-C.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    app = create_app()
    if not is_loopback(host):
        typer.echo(
            f"warning: serving on {host}: anyone who can reach this machine can use the lab.",
            err=True,
        )
    typer.echo(f"losslab web lab: http://{_display(host)}:{port}/  (Ctrl+C to stop)")
    threading.Thread(target=warm_up, name="losslab-warm-up", daemon=True).start()
    app.run(
        host=host,
        port=port,
        debug=debug,
        dev_tools_ui=debug,
        dev_tools_props_check=debug,
        dev_tools_hot_reload=debug,
        dev_tools_disable_version_check=True,
    )


def warm_up() -> None:
    """Fill the neural-landscapes page's cache in the background, so its first visitor does
    not wait for the one-time imports and trainings; a failure only costs that head start."""
    try:
        from losslab.web.networks import warm_cache

        warm_cache()
    except Exception:  # noqa: BLE001 - the page computes on demand anyway
        logging.getLogger("losslab.web").exception("warming the neural-landscapes cache failed")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    """Fail with one line, before Dash starts, when the address cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise LosslabError(f"--host {host!r} is not an address of this machine.") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise LosslabError(
                f"cannot listen on {host}:{port}: {error.strerror or error}. Choose another --port."
            ) from None


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host else host
