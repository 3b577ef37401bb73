"""The lab as served: waitress (no development server), and the lab's own plotly.js bundle
(assets/vendor/plotly-lab.min.js, only the trace types the lab draws) in place of Dash's full
one. Speed is measured in benchmarks/web.py, not here.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

from losslab.web import app as web_app

ROOT = Path(__file__).resolve().parents[2]
UPDATE = "_dash-update-component"
GRAPH_HOLDS_DATA = (
    "() => { const gd = window.losslab.plotDiv('curvature-graph');"
    " return !!(gd && gd._fullData && gd._fullData.length > 1); }"
)
ENTRY = ROOT / "scripts" / "plotly-bundle" / "entry.js"
BUNDLE = web_app.ASSETS / "vendor" / "plotly-lab.min.js"
# The figure code's trace classes (go.Scatter(...), go.Surface(...)) and its traces written
# as plain dicts ({"type": "heatmap", ...}).
FIGURE_CODE = [ROOT / "src" / "losslab" / "web", ROOT / "src" / "losslab" / "plot"]


def bundled_traces() -> set[str]:
    """The trace types entry.js registers, and scatter, which plotly's core always has."""
    required = set(re.findall(r"require\('plotly\.js/lib/(\w+)'\)", ENTRY.read_text()))
    return {"scatter"} | required - {"core"}


def drawn_traces() -> set[str]:
    found = set()
    for folder in FIGURE_CODE:
        for source in folder.rglob("*.py"):
            text = source.read_text()
            found |= {name.lower() for name in re.findall(r"\bgo\.([A-Z]\w*)\(", text)}
            found |= set(re.findall(r"[\"']type[\"']\s*:\s*[\"'](\w+)[\"']", text))
    # not trace types: figure parts, axis types, error bars' {"type": "data"}
    return found - {"figure", "layout", "frame", "xy", "scene", "linear", "log", "data"}


def test_the_bundle_registers_every_trace_type_the_figures_use():
    drawn = drawn_traces()
    assert {"scatter", "contour", "surface"} <= drawn  # the scan sees the figure code
    assert drawn <= bundled_traces(), (
        f"trace types drawn but not in the lab's plotly.js: {drawn - bundled_traces()}: add "
        "them to scripts/plotly-bundle/entry.js and run scripts/build_plotly_bundle.sh"
    )


def test_the_bundle_is_plotly_of_the_version_plotly_py_expects_with_its_license():
    from plotly.offline import get_plotlyjs_version

    head = BUNDLE.read_text()[:600]
    assert f"plotly.js v{get_plotlyjs_version()}," in head and "MIT license" in head
    assert (BUNDLE.parent / "LICENSE.plotly.txt").read_text().startswith("MIT License")
    assert BUNDLE.stat().st_size < 2.2e6  # the full bundle is 4.8 MB


PLOTLY_REQUESTS = """() => performance.getEntriesByType('resource').map((e) => e.name)
  .filter((name) => /plotly[^/]*\\.js/.test(name))"""


@pytest.mark.browser
def test_a_page_loads_only_the_lab_bundle_and_draws_2d_and_3d(page, lab_url, watch):
    page.goto(lab_url + "/explorer")
    ready = "() => { const gd = window.losslab.plotDiv('explorer-graph');"
    ready += " return !!(gd && gd._fullData && gd._fullData.length > 1); }"
    page.wait_for_function(ready)
    traces = page.evaluate("() => Object.keys(window.Plotly.PlotSchema.get().traces).sort()")
    assert set(traces) == bundled_traces()
    # 3-D: a surface in a WebGL scene, from the same bundle
    page.get_by_text("3-D", exact=True).click()
    page.wait_for_function(
        "() => window.losslab.plotDiv('explorer-graph')._fullData[0].type === 'surface'"
    )
    page.wait_for_selector("#explorer-graph .gl-container canvas")
    requested = page.evaluate(PLOTLY_REQUESTS)
    assert [url.split("?")[0] for url in requested] == [
        lab_url + "/assets/plotly-loader.js",
        lab_url + "/assets/vendor/plotly-lab.min.js",
    ], requested  # never Dash's full plotly.min.js
    watch.check()


def test_serve_is_waitress_without_a_development_server_warning():
    port = free_port()
    code = (
        "import sys; from losslab.cli.app import main; "
        f"sys.argv = ['losslab', 'serve', '--port', '{port}', '--workers', '1']; main()"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    header = answer.headers["Server"]
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert header == "losslab"  # waitress's ident
    assert out == f"losslab web lab: http://127.0.0.1:{port}/  (Ctrl+C to stop)\n"
    assert err == "stopped\n" and server.returncode == 130


def test_priming_answers_every_pages_opening_callbacks():
    from losslab.web import create_app
    from losslab.web.pages import PAGES
    from losslab.web.prime import initial_values, opening_request, prime

    app = create_app()
    for page in PAGES:  # each page has opening callbacks to prime
        values = initial_values(page.layout())
        requests = [opening_request(k, s, values) for k, s in app.callback_map.items()]
        assert any(requests), page.key
    light = [page for page in PAGES if page.key != "neural"]  # neural trains networks
    assert prime(app, light) >= len(light)  # every opening callback answered (200 or 204)
    explorer = next(page for page in PAGES if page.key == "explorer")
    request = next(
        r
        for k, s in app.callback_map.items()
        if (r := opening_request(k, s, initial_values(explorer.layout())))
    )
    sent = {item["id"]: item["value"] for item in request["inputs"]}
    assert sent["explorer-click"] is None and request["changedPropIds"] == []


def test_a_primed_opening_is_answered_from_memory_and_nothing_else(monkeypatch):
    from losslab.web import create_app
    from losslab.web.pages import PAGES, explorer
    from losslab.web.prime import HEADER, UPDATE, initial_values, opening_request, prime

    app = create_app()
    page = next(page for page in PAGES if page.key == "explorer")
    [request] = [
        r
        for k, s in app.callback_map.items()
        if (r := opening_request(k, s, initial_values(page.layout())))
    ]
    client = app.server.test_client()
    computed = client.post(UPDATE, json=request)
    assert computed.status_code == 200 and HEADER not in computed.headers
    assert prime(app, [page]) == 1

    def broken(*args):
        raise AssertionError("computed again")

    monkeypatch.setattr(explorer, "update", broken)
    again = client.post(UPDATE, json=request)
    assert again.headers[HEADER] == "memory" and again.get_data() == computed.get_data()
    clicked = {**request, "changedPropIds": ["explorer-click.data"]}  # a visitor's action
    answer = client.post(UPDATE, json=clicked)  # computed: the page says its callback failed
    assert HEADER not in answer.headers and answer.get_data() != computed.get_data()


@pytest.mark.browser
def test_a_browser_opening_a_page_gets_the_primed_answer(page, lab_url):
    # The session's server primes in the background after it starts: until then, computed.
    # Every callback answer is recorded as it comes (waiting for one after another could
    # start waiting after the page's answer had already arrived).
    answers = []
    page.on("response", lambda r: answers.append(r) if UPDATE in r.url else None)

    def page_answers():  # the page's own callbacks (the router's answer names no page)
        return [r for r in answers if "curvature" in (r.request.post_data or "")]

    deadline = time.monotonic() + 120
    while True:
        answers.clear()
        page.goto(lab_url + "/curvature")
        page.wait_for_function(GRAPH_HOLDS_DATA)
        if any(r.headers.get("x-losslab-answer") == "memory" for r in page_answers()):
            break
        assert page_answers() and all(r.ok for r in page_answers())
        assert time.monotonic() < deadline, "never answered from memory"
        page.wait_for_timeout(2000)


def test_a_served_app_answers_scripts_while_the_warm_up_makes_its_first_request():
    # Dash's one-time setup on a first request raises its flag before its work: a script
    # fetched meanwhile got a 500 (15 of 15 trials like this one without `set_up`).
    import threading

    from losslab.cli.serve import set_up
    from losslab.web import create_app

    app = set_up(create_app())
    index = create_app().server.test_client().get("/").get_data(as_text=True)  # another app
    scripts = re.findall(r'src="(/_dash-component-suites/[^"]+)"', index)
    assert scripts
    codes: list[int] = []
    warm = threading.Thread(target=lambda: app.server.test_client().get("/"))
    fetch = threading.Thread(
        target=lambda: codes.extend(app.server.test_client().get(u).status_code for u in scripts)
    )
    warm.start(), fetch.start()
    warm.join(), fetch.join()
    assert codes == [200] * len(scripts)
