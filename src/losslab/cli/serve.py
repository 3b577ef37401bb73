"""`losslab serve`: the web lab on this machine (Dash), offline, bound to 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
from typing import Annotated

import typer

from losslab.errors import LosslabError

LOOPBACK = "127.0.0.1"


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
    """Open the web lab: descent in 1-D, surface explorer, optimizer race, curvature, noise.

    Then browse to http://127.0.0.1:8050 (Ctrl+C stops it). Everything is served from here:
    no page, script or font is fetched from the internet.
    """
    check_port_free(host, port)
    from losslab.web import create_app

    app = create_app()
    if not is_loopback(host):
        typer.echo(
            f"warning: serving on {host}: anyone who can reach this machine can use the lab.",
            err=True,
        )
    typer.echo(f"losslab web lab: http://{_display(host)}:{port}/  (Ctrl+C to stop)")
    app.run(
        host=host,
        port=port,
        debug=debug,
        dev_tools_ui=debug,
        dev_tools_props_check=debug,
        dev_tools_hot_reload=debug,
        dev_tools_disable_version_check=True,
    )


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
