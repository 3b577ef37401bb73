"""Fixtures for the web lab's real-browser tests.

One lab server per session, in a subprocess on a free 127.0.0.1 port (`losslab serve`), and
one headless Debian chromium driven by Playwright. Every test gets a fresh browser context
(its own dcc.Store state) that aborts any request not addressed to 127.0.0.1 and records it,
and records console errors; both must stay empty.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LOSSLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
LOCAL = ("http://127.0.0.1", "data:", "blob:", "about:")


def _chromium() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def lab_url():
    """A running `losslab serve` on a free port; stopped at the end of the session."""
    port = free_port()
    code = (
        "import sys; from losslab.cli.app import main; "
        f"sys.argv = ['losslab', 'serve', '--port', '{port}']; main()"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.stdout.read() if server.stdout else ""
                pytest.fail(f"the lab server did not start:\n{output}")
            time.sleep(0.3)
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "chromium not found at /usr/bin/chromium: apt-get install -y chromium "
            "(make test installs it)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Watch:
    """What a page did that it must not: requests off 127.0.0.1, console errors."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []

    def check(self) -> None:
        assert not self.outside, f"requests outside 127.0.0.1: {self.outside}"
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture()
def watch():
    return Watch()


def watched_tab(
    browser, viewport: dict, watch: Watch, timeout_ms: int = 30_000, motion: bool = False
):
    """(context, tab) at `viewport`: requests off 127.0.0.1 aborted and recorded in `watch`,
    with the tab's console errors. Unless `motion`, the tab prefers reduced motion, so the
    neural page's turning pair starts paused: its WebGL frames, drawn in software here, made
    the page's other browser tests 1.6-2.5x slower (tests/web/test_browser_contrast.py turns
    it)."""
    context = browser.new_context(
        viewport=viewport, reduced_motion="no-preference" if motion else "reduce"
    )

    def route(request_route):
        url = request_route.request.url
        if url.startswith(LOCAL):
            request_route.continue_()
        else:
            watch.outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: watch.errors.append(f"page error: {e}"))
    tab.set_default_timeout(timeout_ms)
    return context, tab


@pytest.fixture()
def page(browser, watch, lab_url):
    context, tab = watched_tab(browser, VIEWPORT, watch)
    yield tab
    context.close()
    watch.check()


@pytest.fixture()
def moving_page(browser, watch, lab_url):
    """`page`, with no preference for reduced motion: what turns, turns."""
    context, tab = watched_tab(browser, VIEWPORT, watch, motion=True)
    yield tab
    context.close()
    watch.check()


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the web lab in headless chromium")
