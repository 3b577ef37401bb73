"""Speed of the web lab, measured in a real browser (headless Debian chromium via Playwright).

    .venv/bin/python benchmarks/web.py [--clicks 50] [--loads 3] [--json FILE]
    .venv/bin/python benchmarks/web.py --load [--clients 20] [--requests 10]
    .venv/bin/python benchmarks/web.py --paint [--loads 3]

(default FILE: benchmarks/results/web.json; --load and --paint run only their part and update
their keys in FILE, keeping the others)

Click to trajectory: on the surface explorer, the time from the pointer going down on the map
to the end of the plotly redraw that shows the new path (the `plotly_afterplot` after the
figure's data revision changes, then one animation frame so it is painted), over `--clicks`
clicks at random points, on the opening surface (stretched bowl, converges in ~100 steps) and
on Rosenbrock (all 300 steps run). The server's share is timed apart by calling the page's
callback logic in this process.

First paint per page: from navigation start to the first frame where the page's figure holds
its data (the home page: its cards), median over `--loads` loads:
- cold: a fresh browser profile each time (a first visit: nothing cached, so the browser
  downloads and compiles plotly.js: the lab's partial bundle, 1.7 MB, in parallel with the
  page's first requests), with a breakdown of where the median load's time went (scripts,
  plotly.js downloaded and usable, the last callback answered, drawn);
- warm: the same profile loading the page again (a returning visitor: HTTP and code caches);
- in-app: clicking the page's link in the navigation bar of an open lab (no reload);
- from home: a first visit that opens the home page, stays `HOME_DWELL_MS` (plotly.js loads
  while the visitor reads), then clicks the explorer's link.

Neural landscapes, fresh: time from moving the width slider to a network the server has not
trained yet being drawn (train + 31 x 31 slice + figure), one measurement per width.

Under load (`--load`): `--clients` clients at once, each sending `--requests` map clicks back
to back, as real `_dash-update-component` POSTs: each page's click request is recorded from a
real click in the browser, then replayed with the click moved to a random point of the map
(the explorer's; `--pages` mixes in the 1-D, race, curvature and noise pages). Reports
p50/p95/max and errors per page and overall, the server's CPU time per request (comparable
across runs on a busy machine), and, while the load runs, clicks in a real browser on the
explorer timed from pointer down to the redraw (as above).

The lab runs as `losslab serve` in a subprocess on a free 127.0.0.1 port; every request that
is not for 127.0.0.1 is aborted and counted (there must be none).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = ["/", "/descent-1d", "/explorer", "/race", "/curvature", "/noise", "/neural"]
GRAPHS = {
    "/descent-1d": "descent1d-graph",
    "/explorer": "explorer-graph",
    "/race": "race-graph",
    "/curvature": "curvature-graph",
    "/noise": "noise-graph",
    "/neural": "neural-graph",
}
FRESH_WIDTHS = (2, 4, 8)
HOME_DWELL_MS = 2500  # width slider steps right from 8 -> 16, 32, 64: none of them warmed

# Installed once per explorer page: stamps pointerdown and the first redraw after it that
# carries a new data revision.
PROBE = """(graph) => {
  const gd = window.losslab.plotDiv(graph);
  window.__ll = {down: null, drawn: null, revision: gd.layout.datarevision};
  document.addEventListener('pointerdown', () => {
    window.__ll.down = performance.now(); window.__ll.drawn = null;
    window.__ll.revision = gd.layout.datarevision;
  }, true);
  gd.on('plotly_afterplot', () => {
    if (window.__ll.down !== null && window.__ll.drawn === null
        && gd.layout.datarevision > window.__ll.revision) {
      requestAnimationFrame(() => { window.__ll.drawn = performance.now(); });
    }
  });
}"""
READY = """(graph) => {
  const mark = () => { window.__llReady = window.__llReady || performance.now(); return true; };
  if (!graph) return document.querySelectorAll('.ll-card').length > 0 && mark();
  const gd = window.losslab && window.losslab.plotDiv(graph);
  return !!(gd && gd._fullData && gd._fullData.length > 1 && gd.layout
            && gd.layout.datarevision >= 1) && mark();
}"""
TO_PAGE = """([graph, x, y]) => {
  const gd = window.losslab.plotDiv(graph);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.d2p(x), box.top + ya._offset + ya.d2p(y)];
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    port = free_port()
    argv = ["losslab", "serve", "--port", str(port), *extra]
    code = f"import sys; from losslab.cli.app import main; sys.argv = {argv!r}; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/", timeout=2).read()
            return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the lab server did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# Stamps the first frame where plotly.js is usable (its script compiled and run).
PLOTLY_AT = """(function poll() {
  if (window.Plotly && typeof window.Plotly.react === 'function') {
    window.__llPlotly = performance.now();
  } else { requestAnimationFrame(poll); }
})();"""
# Where a cold load's time went: ms from navigation start to each milestone.
BREAKDOWN = """() => {
  const entries = performance.getEntriesByType('resource');
  const ends = (test) => entries.filter((e) => test(e.name)).map((e) => e.responseEnd);
  const plotly = ends((n) => /plotly[^/]*\\.js/.test(n));
  const callbacks = ends((n) => n.includes('_dash-update-component'))
    .filter((t) => t <= window.__llReady);
  return {
    scripts_loaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    plotly_downloaded: plotly.length ? Math.max(...plotly) : null,
    plotly_ready: window.__llPlotly || null,
    last_callback_answered: callbacks.length ? Math.max(...callbacks) : null,
    plotly_kb: entries.filter((e) => /plotly[^/]*\\.js/.test(e.name))
      .reduce((kb, e) => kb + e.encodedBodySize / 1024, 0),
  };
}"""


def first_paint(browser, url: str, loads: int, outside: list[str]) -> tuple[dict, dict]:
    """Cold loads: a fresh browser profile for each; the medians and, per page, where the
    time of the median load went (BREAKDOWN)."""
    results, breakdown = {}, {}
    for path in PAGES:
        runs = []
        for _ in range(loads):
            context = new_context(browser, outside)
            page = context.new_page()
            page.add_init_script(PLOTLY_AT)
            page.goto(url + path)
            try:
                page.wait_for_function(READY, arg=GRAPHS.get(path), polling="raf", timeout=60_000)
            except Exception:
                state = page.evaluate(BREAKDOWN)
                raise SystemExit(f"{path}: no data drawn after 60 s; so far: {state}") from None
            runs.append((page.evaluate("window.__llReady"), page.evaluate(BREAKDOWN)))
            context.close()
        runs.sort(key=lambda run: run[0])
        results[path], breakdown[path] = runs[len(runs) // 2]
    return results, breakdown


def warm_paint(browser, url: str, loads: int, outside: list[str]) -> dict[str, float]:
    """Returning visitor: one profile; each page loaded once to fill the caches, then timed."""
    context = new_context(browser, outside)
    page = context.new_page()
    results = {}
    for path in PAGES:
        times = []
        for i in range(loads + 1):
            page.goto(url + path)
            page.wait_for_function(READY, arg=GRAPHS.get(path), polling="raf", timeout=60_000)
            if i:
                times.append(page.evaluate("window.__llReady"))
        results[path] = statistics.median(times)
    context.close()
    return results


NAV_READY = """([graph, t0]) => {
  const gd = window.losslab.plotDiv(graph);
  if (!(gd && gd._fullData && gd._fullData.length > 1 && gd.layout.datarevision >= 1)) return 0;
  return window.__llNav = window.__llNav || performance.now() - t0;
}"""


def in_app(browser, url: str, outside: list[str]) -> dict[str, float]:
    """An open lab: click each page's link in the navigation bar (no reload)."""
    context = new_context(browser, outside)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_function(READY, arg=None, timeout=60_000)
    results = {}
    for path in [p for p in PAGES if p != "/"] * 2:  # the first round loads plotly.js
        t0 = page.evaluate("() => { window.__llNav = 0; return performance.now(); }")
        page.click(f"a.ll-navlink[href='{path}']")
        page.wait_for_function(NAV_READY, arg=[GRAPHS[path], t0], polling="raf", timeout=60_000)
        results[path] = page.evaluate("window.__llNav")
    context.close()
    return results


def from_home(browser, url: str, loads: int, outside: list[str]) -> float:
    """Cold profile: home, a pause, then the explorer's link; median ms from click to data."""
    times = []
    for _ in range(loads):
        context = new_context(browser, outside)
        page = context.new_page()
        page.goto(url + "/")
        page.wait_for_function(READY, arg=None, timeout=60_000)
        page.wait_for_timeout(HOME_DWELL_MS)
        t0 = page.evaluate("() => { window.__llNav = 0; return performance.now(); }")
        page.click("a.ll-navlink[href='/explorer']")
        page.wait_for_function(NAV_READY, arg=["explorer-graph", t0], polling="raf")
        times.append(page.evaluate("window.__llNav"))
        context.close()
    return statistics.median(times)


def neural_fresh(browser, url: str, outside: list[str]) -> list[float]:
    """Width slider one step right, three times: each width is trained for the first time."""
    context = new_context(browser, outside)
    page = context.new_page()
    page.goto(url + "/neural")
    page.wait_for_function(READY, arg="neural-graph", timeout=120_000)
    ready = "() => document.getElementById('neural-status').textContent.startsWith('Ready')"
    page.wait_for_function(ready, timeout=120_000)
    times = []
    for _ in FRESH_WIDTHS:
        revision = page.evaluate("() => window.losslab.plotDiv('neural-graph').layout.datarevision")
        t0 = time.perf_counter()
        page.locator("#neural-width [role=slider]").focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "(r) => window.losslab.plotDiv('neural-graph').layout.datarevision !== r",
            arg=revision,
            polling="raf",
            timeout=120_000,
        )
        page.wait_for_function(ready, timeout=120_000)
        times.append(1000 * (time.perf_counter() - t0))
    context.close()
    return times


def new_context(browser, outside: list[str]):
    context = browser.new_context(viewport={"width": 1280, "height": 800})

    def route(request_route):
        if request_route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    return context


def click_latency(browser, url: str, surface: str, clicks: int, outside: list[str]) -> list[float]:
    context = new_context(browser, outside)
    page = context.new_page()
    graph = "explorer-graph"
    page.goto(url + "/explorer")
    page.wait_for_function(READY, arg=graph, timeout=60_000)
    if surface != "stretched_bowl":
        revision = page.evaluate("(g) => window.losslab.plotDiv(g).layout.datarevision", graph)
        page.click("#explorer-surface")
        page.get_by_text(surface.replace("_", " "), exact=True).click()
        page.wait_for_function(
            "([g, r]) => window.losslab.plotDiv(g).layout.datarevision > r", arg=[graph, revision]
        )
    page.evaluate(PROBE, graph)
    box = page.evaluate("(g) => window.losslab.plotDiv(g)._fullLayout.xaxis.range", graph)
    boy = page.evaluate("(g) => window.losslab.plotDiv(g)._fullLayout.yaxis.range", graph)
    rng = random.Random(0)
    latencies = []
    for _ in range(clicks):
        latencies.append(click_once(page, graph, surface, random_point(rng, box, boy)))
    context.close()
    return latencies


def random_point(rng: random.Random, box, boy) -> tuple[float, float]:
    """A point of the map, 5 % away from its edges."""
    x = rng.uniform(box[0] + 0.05 * (box[1] - box[0]), box[1] - 0.05 * (box[1] - box[0]))
    y = rng.uniform(boy[0] + 0.05 * (boy[1] - boy[0]), boy[1] - 0.05 * (boy[1] - boy[0]))
    return x, y


def click_once(page, graph: str, surface: str, point: tuple[float, float]) -> float:
    """Click the explorer's map at `point` (data units); ms until the new path is drawn."""
    x, y = point
    px, py = page.evaluate(TO_PAGE, [graph, x, y])
    page.mouse.click(px, py)
    try:
        page.wait_for_function("() => window.__ll.drawn !== null", polling="raf", timeout=15_000)
    except Exception:
        message = page.inner_text("#explorer-message")
        state = page.evaluate("window.__ll")
        raise SystemExit(
            f"{surface}: click at ({x:.3f}, {y:.3f}) drew nothing: {state}; message: {message}"
        ) from None
    latency = page.evaluate("window.__ll.drawn - window.__ll.down")
    # Two clicks within plotly's double-click window (300 ms) are a double click (reset
    # the axes), not a second click: pause the way a person would between starts.
    page.wait_for_timeout(400)
    return latency


# -- under load -------------------------------------------------------------------------------

# Pages a load can click on, with their weights when mixed: half on the explorer (the page
# most used), the rest spread. The default load is explorer clicks, as the issue measured them
# (--pages picks others, e.g. all of these).
LOAD_MIX = {"/explorer": 4, "/descent-1d": 1, "/race": 1, "/curvature": 1, "/noise": 1}
BROWSER_CLICK_GAP_MS = 600  # between the browser's clicks during the load


def is_map_click(request) -> bool:
    """A callback POST carrying a click store's value ({"x", "y", "at"})."""
    if request.method != "POST" or "_dash-update-component" not in request.url:
        return False
    return click_input(request.post_data_json) is not None


def click_input(body) -> int | None:
    for index, item in enumerate(body.get("inputs", [])):
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, dict) and {"x", "y", "at"} <= set(value):
            return index
    return None


def record_clicks(browser, url: str, paths, outside: list[str]) -> dict[str, dict]:
    """Per page: the POST a real click on its map sends, and the map's ranges."""
    templates = {}
    for path in paths:
        context = new_context(browser, outside)
        page = context.new_page()
        graph = GRAPHS[path]
        page.goto(url + path)
        page.wait_for_function(READY, arg=graph, polling="raf", timeout=60_000)
        page.wait_for_timeout(300)  # the page's own follow-up callbacks settle
        box = page.evaluate("(g) => window.losslab.plotDiv(g)._fullLayout.xaxis.range", graph)
        boy = page.evaluate("(g) => window.losslab.plotDiv(g)._fullLayout.yaxis.range", graph)
        x, y = random_point(random.Random(2), box, boy)
        with page.expect_request(is_map_click, timeout=30_000) as caught:
            page.mouse.click(*page.evaluate(TO_PAGE, [graph, x, y]))
        request = caught.value
        target = request.url[len(url) :]
        headers = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
        templates[path] = {"target": target, "headers": headers, "body": request.post_data_json}
        templates[path].update(box=box, boy=boy)
        context.close()
    return templates


def load_client(
    url: str, templates: dict, mix: dict, requests: int, seed: int, start, out: list
) -> None:
    """One client: `requests` clicks back to back on one keep-alive connection."""
    import http.client
    import urllib.parse

    address = urllib.parse.urlsplit(url)
    rng = random.Random(seed)
    paths, weights = list(mix), list(mix.values())
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    start.wait()
    for _ in range(requests):
        path = rng.choices(paths, weights)[0]
        template = templates[path]
        body = json.loads(json.dumps(template["body"]))
        x, y = random_point(rng, template["box"], template["boy"])
        body["inputs"][click_input(body)]["value"] = {"x": x, "y": y, "at": time.time() * 1000}
        data = json.dumps(body).encode()
        begin = time.perf_counter()
        try:
            connection.request("POST", template["target"], data, template["headers"])
            response = connection.getresponse()
            payload = response.read()
            error = (
                None
                if response.status == 200 and b'"response"' in payload
                else (f"HTTP {response.status}: {payload[:200]!r}")
            )
        except (OSError, http.client.HTTPException) as failure:
            payload, error = b"", f"{type(failure).__name__}: {failure}"
            connection.close()
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        out.append((path, 1000 * (time.perf_counter() - begin), error, len(payload)))
    connection.close()


def under_load(
    browser,
    url: str,
    mix: dict[str, int],
    clients: int,
    requests: int,
    outside: list[str],
    server_pid: int,
) -> dict:
    """`clients` clients x `requests` clicks at once on the pages of `mix` (path: weight), and
    real browser clicks on the explorer meanwhile."""
    import threading

    templates = record_clicks(browser, url, mix, outside)
    wait_idle(server_pid)
    context = new_context(browser, outside)
    page = context.new_page()
    graph = "explorer-graph"
    page.goto(url + "/explorer")
    page.wait_for_function(READY, arg=graph, polling="raf", timeout=60_000)
    page.evaluate(PROBE, graph)
    box = page.evaluate("(g) => window.losslab.plotDiv(g)._fullLayout.xaxis.range", graph)
    boy = page.evaluate("(g) => window.losslab.plotDiv(g)._fullLayout.yaxis.range", graph)
    results: list = []
    start = threading.Barrier(clients + 1)
    threads = [
        threading.Thread(
            target=load_client,
            args=(url, templates, mix, requests, seed, start, results),
            daemon=True,
        )
        for seed in range(clients)
    ]
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds(server_pid)
    start.wait()
    began = time.perf_counter()
    rng = random.Random(3)
    browser_clicks = []
    page.wait_for_timeout(300)  # the load is running before the first click
    while any(thread.is_alive() for thread in threads) or not browser_clicks:
        browser_clicks.append(click_once(page, graph, "load", random_point(rng, box, boy)))
        page.wait_for_timeout(BROWSER_CLICK_GAP_MS - 400)
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    cpu_after = cpu_seconds(server_pid)
    context.close()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {"records": results, "browser_clicks": browser_clicks, "wall_s": wall, "cpu_s": cpu}


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process `pid` and its children still running (Linux's
    /proc; None elsewhere): what the server spent, whatever else the machine runs."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, found = 0.0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
            found = True
    return total if found else None


def wait_idle(pid: int, limit_s: float = 180) -> None:
    """Until the server's start-up work (the neural page's warm-up) is over: it uses under
    0.1 s of CPU per second, twice in a row."""
    deadline = time.monotonic() + limit_s
    quiet, last = 0, cpu_seconds(pid)
    while last is not None and quiet < 2 and time.monotonic() < deadline:
        time.sleep(1)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now is not None and now - last < 0.1 else 0
        last = now


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": statistics.median(values),
        "p95": percentile(values, 0.95),
        "max": max(values),
    }


def load_report(load: dict, mix: dict[str, int], clients: int, requests: int) -> dict:
    records = load["records"]
    times = [ms for _, ms, _, _ in records]
    errors = [error for _, _, error, _ in records if error]
    per_page = {}
    for path in mix:
        mine = [(ms, size) for p, ms, _, size in records if p == path]
        if mine:
            per_page[path] = summarize([ms for ms, _ in mine])
            per_page[path]["response_kb"] = statistics.mean(size for _, size in mine) / 1024
    return {
        "mix": {path: weight / sum(mix.values()) for path, weight in mix.items()},
        "clients": clients,
        "requests_per_client": requests,
        "requests_per_s": len(records) / load["wall_s"],
        # the server's CPU per request (the browser's clicks included): what a quiet machine
        # would also spend, so it compares runs however busy this one was
        "server_cpu_ms_per_request": None
        if load["cpu_s"] is None
        else 1000 * load["cpu_s"] / (len(records) + len(load["browser_clicks"])),
        "all": summarize(times),
        "per_page": per_page,
        "errors": len(errors),
        "first_errors": errors[:3],
        "browser_click_ms": summarize(load["browser_clicks"]),
        "browser_clicks": load["browser_clicks"],
    }


def print_load(report: dict) -> None:
    print(
        f"\nunder load: {report['clients']} clients x {report['requests_per_client']} clicks, "
        f"{report['requests_per_s']:.1f} requests/s, errors: {report['errors']}"
    )
    if report["server_cpu_ms_per_request"] is not None:
        print(f"server CPU per request: {report['server_cpu_ms_per_request']:.0f} ms")
    print(f"{'page':<16}{'count':>7}{'p50':>9}{'p95':>9}{'max':>9}{'KB':>8}")
    for path, row in {**report["per_page"], "all": report["all"]}.items():
        size = f"{row['response_kb']:>8.0f}" if "response_kb" in row else f"{'':>8}"
        print(
            f"{path:<16}{row['count']:>7}{row['p50']:>9.0f}{row['p95']:>9.0f}{row['max']:>9.0f}"
            f"{size}"
        )
    clicks = report["browser_click_ms"]
    print(
        f"browser click on the explorer during the load, pointer down -> drawn: "
        f"{clicks['count']} clicks, median {clicks['p50']:.0f} ms, max {clicks['max']:.0f} ms"
    )
    for error in report["first_errors"]:
        print(f"  error: {error}")


def server_share(surface: str, repeat: int = 20) -> float:
    """Median ms of the explorer's callback logic for a click (parse, descend, patch, spec)."""
    from losslab.web.pages import explorer

    state = explorer.update(None, surface, None, "contour", [], None, -1, "gd", 300, None).state
    if surface != "stretched_bowl":
        state = explorer.update(
            explorer.ID.surface, surface, None, "contour", [], None, -1, "gd", 300, state
        ).state
    lr = {"stretched_bowl": -1.0458, "rosenbrock": -3.0}[surface]
    rng = random.Random(1)
    times = []
    for _ in range(repeat):
        click = {"x": rng.uniform(-1.8, 1.8), "y": rng.uniform(-0.8, 2.8)}
        begin = time.perf_counter()
        explorer.update(
            explorer.ID.click, surface, None, "contour", [], click, lr, "gd", 300, state
        )
        times.append(1000 * (time.perf_counter() - begin))
    return statistics.median(times)


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_1min": os.getloadavg()[0],
    }


def paint_modes(browser, url: str, loads: int, outside: list[str]) -> dict:
    paints, breakdown = first_paint(browser, url, loads, outside)
    warm = warm_paint(browser, url, loads, outside)
    navigation = in_app(browser, url, outside)
    print(f"\nfirst paint per page (median of {loads} loads, ms)")
    print(f"{'page':<16}{'cold':>9}{'warm':>9}{'in-app':>9}")
    for path, value in paints.items():
        nav = f"{navigation[path]:>9.0f}" if path in navigation else f"{'':>9}"
        print(f"{path:<16}{value:>9.0f}{warm[path]:>9.0f}{nav}")
    print("\nwhere a cold load's time goes (the median load; ms from navigation start)")
    print(
        f"{'page':<16}{'scripts':>9}{'plotly in':>10}{'plotly ok':>10}{'callbacks':>10}"
        f"{'drawn':>9}{'plotly KB':>10}"
    )
    for path, row in breakdown.items():
        cells = [row[key] for key in ("plotly_downloaded", "plotly_ready")]
        cells.append(row["last_callback_answered"])
        text = "".join(f"{v:>10.0f}" if v is not None else f"{'-':>10}" for v in cells)
        print(
            f"{path:<16}{row['scripts_loaded']:>9.0f}{text}{paints[path]:>9.0f}"
            f"{row['plotly_kb']:>10.0f}"
        )
    return {
        "first_paint_ms": paints,
        "first_paint_cold_breakdown_ms": breakdown,
        "first_paint_warm_ms": warm,
        "in_app_navigation_ms": navigation,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=50)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--load", action="store_true", help="only the load test")
    parser.add_argument("--paint", action="store_true", help="only first paint per page")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument(
        "--pages",
        default="/explorer",
        help=f"the load's pages, comma-separated, of {','.join(LOAD_MIX)}",
    )
    parser.add_argument(
        "--serve", default="", help="extra `losslab serve` options, e.g. '--workers 1'"
    )
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/web.json"))
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    server, url = start_server(tuple(args.serve.split()))
    outside: list[str] = []
    result: dict = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            print(f"web lab, headless chromium, {os.cpu_count()} CPU(s)")
            if args.load:
                mix = {path: LOAD_MIX[path] for path in args.pages.split(",")}
                load = under_load(
                    browser, url, mix, args.clients, args.requests, outside, server.pid
                )
                result["under_load"] = load_report(load, mix, args.clients, args.requests)
                result["under_load"]["serve_options"] = args.serve
                print_load(result["under_load"])
            elif args.paint:
                result.update(paint_modes(browser, url, args.loads, outside))
            else:
                result.update(everything(browser, url, args, outside))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"\nrequests outside 127.0.0.1: {len(outside)}; load average {os.getloadavg()[0]:.1f}")
    previous = json.loads(args.json.read_text()) if args.json.exists() else {}
    result = {**previous, **result, "machine": machine(), "outside_requests": len(outside)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


def everything(browser, url: str, args, outside: list[str]) -> dict:
    """Every mode but the load test."""
    result = paint_modes(browser, url, args.loads, outside)
    home_first = from_home(browser, url, args.loads, outside)
    fresh = neural_fresh(browser, url, outside)
    clicks = {
        surface: click_latency(browser, url, surface, args.clicks, outside)
        for surface in ("stretched_bowl", "rosenbrock")
    }
    servers = {surface: server_share(surface) for surface in clicks}
    print(f"\nclick -> trajectory drawn on the explorer ({args.clicks} clicks each, ms)")
    print(f"{'surface':<16}{'median':>9}{'p95':>9}{'max':>9}{'server':>9}")
    for surface, values in clicks.items():
        print(
            f"{surface:<16}{statistics.median(values):>9.0f}{percentile(values, 0.95):>9.0f}"
            f"{max(values):>9.0f}{servers[surface]:>9.0f}"
        )
    print(
        f"first visit: home, {HOME_DWELL_MS / 1000:g} s there, then the explorer's link: "
        f"{home_first:.0f} ms to its figure"
    )
    widths = [8 * 2**k for k in range(1, len(fresh) + 1)]
    print("\nneural landscapes, a width not trained before -> drawn (ms)")
    for width, value in zip(widths, fresh, strict=True):
        print(f"width {width:<10}{value:>9.0f}")
    return {
        **result,
        "click_to_trajectory_ms": {
            surface: {
                "clicks": len(values),
                "median": statistics.median(values),
                "p95": percentile(values, 0.95),
                "max": max(values),
                "server_median": servers[surface],
            }
            for surface, values in clicks.items()
        },
        "home_then_explorer_cold_ms": {"dwell_ms": HOME_DWELL_MS, "median": home_first},
        "neural_fresh_width_ms": {
            str(width): value for width, value in zip(widths, fresh, strict=True)
        },
    }


if __name__ == "__main__":
    main()
