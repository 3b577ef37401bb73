"""The app as a whole: built only by create_app, pages from a registry, routes, offline assets,
and a server that answers anything a client sends with a message, never a crash."""

import json
import subprocess
import sys
import threading

import pytest
from dash import html
from typer.testing import CliRunner

from losslab.cli import serve
from losslab.cli.app import app as cli
from losslab.web import create_app
from losslab.web.app import home, render
from losslab.web.page import Page
from losslab.web.pages import PAGES

GARBAGE = [None, "x", "__import__('os')", {"x": "1e400"}, [1, [2]], -1, 1e308, True, {"a": None}]


@pytest.fixture(scope="module")
def lab():
    return create_app()


def test_importing_the_web_package_builds_nothing():
    code = (
        "import sys, dash._callback as c; import losslab.web, losslab.web.pages; "
        "assert not c.GLOBAL_CALLBACK_LIST and not c.GLOBAL_CALLBACK_MAP; "
        "assert 'losslab.web.app' in sys.modules; print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_core_still_imports_without_dash():
    code = "import losslab, sys; assert 'dash' not in sys.modules; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_routes_render_every_page_home_and_not_found():
    for page in PAGES:
        assert render(page.path, PAGES).id == f"{page.key}-page"
        assert render(page.path + "/", PAGES).id == f"{page.key}-page"
    assert render("/", PAGES).id == "home-page"
    assert render(None, PAGES).id == "home-page"
    assert "Page not found" in str(render("/../../etc/passwd", PAGES))


def test_a_new_page_is_one_entry_in_the_list():
    extra = Page(
        key="extra",
        path="/extra",
        title="Extra page",
        teaches="Something new, in one line.",
        layout=lambda: html.Div("extra", id="extra-page"),
        register=lambda app: None,
    )
    pages = (*PAGES, extra)
    assert "Something new, in one line." in str(home(pages))
    app = create_app(pages)
    assert app.validation_layout is not None
    with pytest.raises(ValueError, match="unique"):
        create_app((*PAGES, PAGES[0]))


def test_index_is_served_locally_with_dev_tools_off(lab):
    client = lab.server.test_client()
    page = client.get("/explorer").get_data(as_text=True)
    assert "cdn.plot.ly" not in page and "unpkg.com" not in page
    config = json.loads(
        page.split('<script id="_dash-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["serve_locally"] and not config["ui"] and config["disable_version_check"]
    scripts = [line for line in page.splitlines() if "<script src=" in line]
    assert scripts and all('src="/' in line for line in scripts)
    assert client.get("/assets/losslab.js").status_code == 200
    assert client.get("/assets/losslab.css").status_code == 200


def _output(part: str):
    """One output of a callback key (no server callback has a wildcard output: the race's
    per-optimizer sliders are set in the browser from the rates store)."""
    ident, prop = part.rsplit(".", 1)
    assert not ident.startswith("{"), ident
    return {"id": ident, "property": prop}


def _payload(key, spec, values, changed):
    outputs = [_output(part) for part in key.strip(".").split("...")]
    inputs = [
        {"id": i["id"], "property": i["property"], "value": v}
        for i, v in zip(spec["inputs"], values, strict=True)
    ]
    state = [{"id": s["id"], "property": s["property"], "value": None} for s in spec["state"]]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],  # one output: no list
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed,
    }


def test_no_client_payload_makes_a_server_callback_fail(lab):
    client = lab.server.test_client()
    checked = 0
    for key, spec in lab.callback_map.items():
        if "MATCH" in key or not spec.get("callback"):
            continue  # pattern-matching (next test) or browser-side callbacks
        n = len(spec["inputs"])
        for junk in GARBAGE:
            for which in range(n):
                values = [junk] * n
                changed = [f"{spec['inputs'][which]['id']}.{spec['inputs'][which]['property']}"]
                response = client.post(
                    "/_dash-update-component", json=_payload(key, spec, values, changed)
                )
                assert response.status_code in (200, 204), (key, junk, response.status_code)
                checked += 1
    assert checked > 100


def test_quiz_callback_answers_junk_ids_quietly(lab):
    client = lab.server.test_client()
    key = next(k for k in lab.callback_map if "ll-quiz-feedback" in k)
    for page_key, q, value in (("explorer", 0, 1), ("nope", 0, 1), ("explorer", 99, "x")):
        ident = {"type": "ll-quiz-feedback", "page": page_key, "q": q}
        payload = {
            "output": key,
            "outputs": [
                {"id": ident, "property": "children"},
                {"id": ident, "property": "className"},
            ],
            "inputs": [
                {"id": {**ident, "type": "ll-quiz-choice"}, "property": "value", "value": value}
            ],
            "changedPropIds": [
                json.dumps({**ident, "type": "ll-quiz-choice"}, separators=(",", ":")) + ".value"
            ],
            "state": [],
        }
        assert client.post("/_dash-update-component", json=payload).status_code in (200, 204)


def test_oversized_requests_are_refused(lab):
    client = lab.server.test_client()
    response = client.post(
        "/_dash-update-component", data=b"x" * (3 * 1024 * 1024), content_type="application/json"
    )
    assert response.status_code == 413


def test_serve_help_and_a_busy_port_fail_in_one_line():
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "127.0.0.1" in result.output
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code != 0
    assert "cannot listen on 127.0.0.1" in result.output


class FakeWaitress:
    """waitress.create_server's stand-in: records its options; run() returns at once, as the
    real one does when Ctrl-C stops it."""

    socket = "the listening socket"

    def __init__(self, seen):
        self.seen = seen

    def __call__(self, wsgi_app, **options):
        self.seen.update(options, wsgi_app=wsgi_app)
        return self

    def run(self):
        self.seen["ran"] = True


class FakeWorker:
    def __init__(self, seen, listening, workers, threads):
        seen.setdefault("workers", []).append(self)
        self.listening, self.stopped = listening, False

    def terminate(self):
        self.stopped = True

    def join(self, timeout=None):
        assert self.stopped


def fake_server(monkeypatch, seen, cpus):
    monkeypatch.setattr("waitress.create_server", FakeWaitress(seen))
    monkeypatch.setattr(serve, "start_worker", lambda *args: FakeWorker(seen, *args))
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr("torch.set_num_threads", lambda n: seen.setdefault("torch_threads", n))
    monkeypatch.setattr("os.cpu_count", lambda: cpus)


def test_serve_runs_on_waitress_without_debug_by_default(monkeypatch):
    seen = {}
    fake_server(monkeypatch, seen, cpus=2)
    monkeypatch.setattr("dash.Dash.run", lambda self, **kw: pytest.fail("the development server"))
    warmed = threading.Event()
    monkeypatch.setattr(serve, "warm_up", lambda app: warmed.set())  # the real one trains
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    # the server returns only when Ctrl-C stopped it: one line and exit 130 (test_signals.py)
    assert result.exit_code == 130 and result.output.endswith("\nstopped\n"), result.output
    assert "http://127.0.0.1:8123/" in result.output and seen["ran"]
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert callable(seen["wsgi_app"])  # the Flask app, not Dash's
    # 2 cores: a second process on the same socket, stopped with the first; 8 threads each,
    # and each request's torch work on one thread
    [helper] = seen["workers"]
    assert helper.listening == FakeWaitress.socket and helper.stopped
    assert seen["threads"] == serve.THREADS == 8 and seen["torch_threads"] == 1
    assert warmed.wait(timeout=10), "the pages are primed in the background"


def test_server_processes_and_threads_follow_the_machine(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert serve.default_workers() == serve.MAX_WORKERS == 4
    assert serve.torch_threads(4, 8) == 1 and serve.torch_threads(1, 4) == 4
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert serve.default_workers() == 1 and serve.torch_threads(1, 8) == 1


def test_serve_workers_and_threads_options(monkeypatch):
    seen = {}
    fake_server(monkeypatch, seen, cpus=8)
    monkeypatch.setattr(serve, "warm_up", lambda app: None)
    result = CliRunner().invoke(cli, ["serve", "--workers", "1", "--threads", "3"])
    assert result.exit_code == 130 and seen["threads"] == 3 and "workers" not in seen
    result = CliRunner().invoke(cli, ["serve", "--workers", "3"])
    assert result.exit_code == 130 and len(seen["workers"]) == 2
    for bad in (["--threads", "0"], ["--workers", "0"]):
        result = CliRunner().invoke(cli, ["serve", *bad])
        assert result.exit_code == 2 and bad[0] in result.output


def test_serve_debug_uses_the_development_server(monkeypatch):
    seen = {}
    monkeypatch.setattr("dash.Dash.run", lambda self, **kw: seen.update(kw))
    monkeypatch.setattr("waitress.create_server", lambda *a, **k: pytest.fail("waitress"))
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(serve, "warm_up", lambda app: None)
    monkeypatch.setattr("torch.set_num_threads", lambda n: None)
    result = CliRunner().invoke(cli, ["serve", "--debug"])
    assert result.exit_code == 130
    assert seen["debug"] is True and seen["dev_tools_disable_version_check"] is True


def test_loopback_addresses():
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1")
    assert not serve.is_loopback("0.0.0.0")


def test_home_numbers_the_lessons_in_order_with_a_small_thumbnail_each():
    from losslab.web.app import THUMBNAILS

    tree = str(home(PAGES))
    for page in PAGES:
        thumbnail = THUMBNAILS / f"{page.key}.png"
        assert thumbnail.exists(), f"run scripts/thumbnails.py: no thumbnail for {page.key}"
        assert thumbnail.stat().st_size < 20_000  # small files: the home page stays light
        assert f"/assets/thumbnails/{page.key}.png" in tree
    steps = home(PAGES).children[3].children  # the <ol>'s items: a link each
    assert [step.children.href for step in steps] == [page.path for page in PAGES]
    numbers = [step.children.children[0].children for step in steps]
    assert numbers == [str(i) for i in range(1, len(PAGES) + 1)]
