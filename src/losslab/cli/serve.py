"""`losslab serve`: the web lab on this machine (Dash on waitress), offline, bound to 127.0.0.1.

waitress is a pure-Python production WSGI server (gunicorn needs fork and is not portable): a
fixed pool of threads answers requests, so a slow callback holds one thread, not the lab, and
there is no development-server warning. `--debug` keeps Flask's development server, whose
reloader and error pop-ups are what debugging wants.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import socket
import threading
from typing import Annotated

import typer

from losslab.cli.errors import Interrupted
from losslab.errors import LosslabError

LOOPBACK = "127.0.0.1"
# Server processes: Python runs one thread at a time per process, and a callback is mostly
# Python (plotly figures, the descent's loop), so one process uses about one core however many
# threads it has; a process per core, up to MAX_WORKERS (each holds its own torch and caches).
MAX_WORKERS = 4
# Threads per process: more than cores buy no throughput, but a quick click must not queue
# behind a network being trained: with 8 a long request holds one thread of many.
THREADS = 8


def default_workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def torch_threads(workers: int, threads: int) -> int:
    """Torch intra-op threads per request: the cores shared among every server thread.

    Requests already run side by side, one per server thread; letting every one of them spin
    up a pool of intra-op threads too oversubscribes the cores (measured on a busy 2-core
    machine: a page-6 slice took 56 s with 2 torch threads against 3.6 s with 1).
    """
    return max(1, (os.cpu_count() or 1) // (workers * threads))


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
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help=f"Server processes (default: one per CPU core, at most {MAX_WORKERS}).",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int,
        typer.Option("--threads", min=1, max=256, help="Requests each process answers at once."),
    ] = THREADS,
) -> None:
    """Open the web lab: descent in 1-D, surface explorer, optimizer race, curvature, noise,
    neural landscapes.

    Then browse to http://127.0.0.1:8050 (Ctrl+C stops it). Everything is served from here:
    no page, script or font is fetched from the internet.
    """
    check_port_free(host, port)
    with contextlib.suppress(KeyboardInterrupt):
        _serve(host, port, debug, workers or default_workers(), threads)
    # The server returns only when stopped by Ctrl-C (waitress and werkzeug both swallow the
    # KeyboardInterrupt), so either way it was interrupted: exit 130 like every interrupted
    # command (errors.py), which also spares the warm-up thread, maybe inside torch, the
    # interpreter's finalization.
    raise Interrupted("stopped")


def _serve(host: str, port: int, debug: bool, workers: int, threads: int) -> None:
    from losslab.web import create_app

    _quiet_process(workers, threads)
    app = set_up(create_app())
    if not is_loopback(host):
        typer.echo(
            f"warning: serving on {host}: anyone who can reach this machine can use the lab.",
            err=True,
        )
    start = (
        _development(app, host, port)
        if debug
        else _production(app.server, host, port, workers, threads)
    )
    typer.echo(f"losslab web lab: http://{_display(host)}:{port}/  (Ctrl+C to stop)")
    threading.Thread(target=warm_up, args=(app,), name="losslab-warm-up", daemon=True).start()
    start()


def _quiet_process(workers: int, threads: int) -> None:
    """Torch threads and logging for a server process."""
    import torch

    torch.set_num_threads(torch_threads(workers, threads))
    # werkzeug (--debug) logs its banner and every request on stderr, waitress a warning each
    # time requests queue (every few seconds under load, which is what a pool is for); the
    # line that says where the lab is goes to stdout, and stderr stays for errors and the
    # line at Ctrl-C.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _production(wsgi_app, host: str, port: int, workers: int, threads: int):
    """waitress listening on host:port (bound now) in this process, and `workers - 1` more
    processes on the same socket (the kernel hands each connection to one of them), each
    answering `threads` requests at once. Returns the function that serves until Ctrl-C
    (waitress lets running requests end, up to 5 s) and then stops the other processes."""
    import waitress

    server = waitress.create_server(
        wsgi_app, host=host, port=port, threads=threads, ident="losslab"
    )

    def run() -> None:
        helpers = [start_worker(server.socket, workers, threads) for _ in range(workers - 1)]
        try:
            server.run()
        finally:
            for helper in helpers:
                helper.terminate()  # SIGTERM: gone at once, nothing printed
            for helper in helpers:
                helper.join(timeout=10)

    return run


def start_worker(listening: socket.socket, workers: int, threads: int):
    """A further server process ("spawn": a fresh interpreter on every platform) sharing the
    listening socket."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=worker, args=(listening, workers, threads), name="losslab-worker", daemon=True
    )
    process.start()
    return process


def worker(listening: socket.socket, workers: int, threads: int) -> None:
    """Body of a further server process: the same lab, served from the shared socket until the
    first process stops it or exits."""
    import multiprocessing
    import multiprocessing.connection
    import signal

    import waitress

    from losslab.web import create_app

    # Ctrl-C in a terminal reaches every process of the group: the first one stops this one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:

        def exit_with_parent() -> None:  # however the first process ended, even killed
            multiprocessing.connection.wait([parent.sentinel])
            os._exit(0)

        threading.Thread(target=exit_with_parent, name="losslab-parent", daemon=True).start()
    _quiet_process(workers, threads)
    app = set_up(create_app())
    server = waitress.create_server(
        app.server, sockets=[listening], threads=threads, ident="losslab"
    )
    threading.Thread(target=warm_up, args=(app,), name="losslab-warm-up", daemon=True).start()
    server.run()


def _development(app, host: str, port: int):
    """Flask's development server with Dash's dev tools: reloader, error pop-ups."""
    return functools.partial(
        app.run,
        host=host,
        port=port,
        debug=True,
        dev_tools_ui=True,
        dev_tools_props_check=True,
        dev_tools_hot_reload=True,
        dev_tools_disable_version_check=True,
    )


def set_up(app):
    """`app` after Dash's one-time setup, done here before any visitor can reach it.

    Dash does that setup on the first request, raising its done-flag first and doing the work
    after (dash 4.4, `Dash._setup_server`): a request arriving meanwhile, such as the warm-up
    thread's first request beside a browser's, found no scripts registered and got a 500 for
    React (measured once in a clean-clone test run). One request now, before serving, closes
    that window."""
    app.server.test_client().get("/")
    return app


def warm_up(app) -> None:
    """In the background of a server process: answer each page's opening callbacks once
    (web/prime.py), then fill the neural-landscapes and symmetry pages' caches, so that no
    first visitor waits for one-time imports and trainings; a failure only costs that head
    start."""
    try:
        from losslab.web import pairs
        from losslab.web.networks import warm_cache
        from losslab.web.pages import PAGES
        from losslab.web.prime import prime

        prime(app, PAGES)
        warm_cache()
        pairs.warm_cache()
    except Exception:  # noqa: BLE001 - the pages compute on demand anyway
        logging.getLogger("losslab.web").exception("warming the web lab up failed")


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
