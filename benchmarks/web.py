"""Speed of the web lab, measured in a real browser (headless Debian chromium via Playwright).

    .venv/bin/python benchmarks/web.py [--clicks 50] [--loads 3] [--json FILE]

(default FILE: benchmarks/results/web.json)

Click to trajectory: on the surface explorer, the time from the pointer going down on the map
to the end of the plotly redraw that shows the new path (the `plotly_afterplot` after the
figure's data revision changes, then one animation frame so it is painted), over `--clicks`
clicks at random points, on the opening surface (stretched bowl, converges in ~100 steps) and
on Rosenbrock (all 300 steps run). The server's share is timed apart by calling the page's
callback logic in this process.

First paint per page: from navigation start to the first frame where the page's figure holds
its data (the home page: its cards), median over `--loads` loads:
- cold: a fresh browser profile each time (a first visit: nothing cached, so the browser
  downloads and compiles plotly.js, 4.8 MB, which dominates);
- warm: the same profile loading the page again (a returning visitor: HTTP and code caches);
- in-app: clicking the page's link in the navigation bar of an open lab (no reload);
- from home: a first visit that opens the home page, stays `HOME_DWELL_MS` (the home page
  loads plotly.js while the visitor reads), then clicks the explorer's link.

Neural landscapes, fresh: time from moving the width slider to a network the server has not
trained yet being drawn (train + 31 x 31 slice + figure), one measurement per width.

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


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    code = (
        "import sys; from losslab.cli.app import main; "
        f"sys.argv = ['losslab', 'serve', '--port', '{port}']; main()"
    )
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


def first_paint(browser, url: str, loads: int, outside: list[str]) -> dict[str, float]:
    """Cold loads: a fresh browser profile for each."""
    results = {}
    for path in PAGES:
        times = []
        for _ in range(loads):
            context = new_context(browser, outside)
            page = context.new_page()
            page.goto(url + path)
            page.wait_for_function(READY, arg=GRAPHS.get(path), polling="raf", timeout=60_000)
            times.append(page.evaluate("window.__llReady"))
            context.close()
        results[path] = statistics.median(times)
    return results


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
        x = rng.uniform(box[0] + 0.05 * (box[1] - box[0]), box[1] - 0.05 * (box[1] - box[0]))
        y = rng.uniform(boy[0] + 0.05 * (boy[1] - boy[0]), boy[1] - 0.05 * (boy[1] - boy[0]))
        px, py = page.evaluate(TO_PAGE, [graph, x, y])
        page.mouse.click(px, py)
        try:
            page.wait_for_function(
                "() => window.__ll.drawn !== null", polling="raf", timeout=15_000
            )
        except Exception:
            message = page.inner_text("#explorer-message")
            state = page.evaluate("window.__ll")
            raise SystemExit(
                f"{surface}: click {len(latencies)} at ({x:.3f}, {y:.3f}) drew nothing: "
                f"{state}; message: {message}"
            ) from None
        latencies.append(page.evaluate("window.__ll.drawn - window.__ll.down"))
        # Two clicks within plotly's double-click window (300 ms) are a double click (reset
        # the axes), not a second click: pause the way a person would between starts.
        page.wait_for_timeout(400)
    context.close()
    return latencies


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=50)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/web.json"))
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    server, url = start_server()
    outside: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            paints = first_paint(browser, url, args.loads, outside)
            warm = warm_paint(browser, url, args.loads, outside)
            navigation = in_app(browser, url, outside)
            home_first = from_home(browser, url, args.loads, outside)
            fresh = neural_fresh(browser, url, outside)
            clicks = {
                surface: click_latency(browser, url, surface, args.clicks, outside)
                for surface in ("stretched_bowl", "rosenbrock")
            }
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    servers = {surface: server_share(surface) for surface in clicks}

    print(f"web lab, headless chromium, {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}")
    print(f"\nclick -> trajectory drawn on the explorer ({args.clicks} clicks each, ms)")
    print(f"{'surface':<16}{'median':>9}{'p95':>9}{'max':>9}{'server':>9}")
    for surface, values in clicks.items():
        print(
            f"{surface:<16}{statistics.median(values):>9.0f}{percentile(values, 0.95):>9.0f}"
            f"{max(values):>9.0f}{servers[surface]:>9.0f}"
        )
    print(f"\nfirst paint per page (median of {args.loads} loads, ms)")
    print(f"{'page':<16}{'cold':>9}{'warm':>9}{'in-app':>9}")
    for path, value in paints.items():
        nav = f"{navigation[path]:>9.0f}" if path in navigation else f"{'':>9}"
        print(f"{path:<16}{value:>9.0f}{warm[path]:>9.0f}{nav}")
    print(
        f"first visit: home, {HOME_DWELL_MS / 1000:g} s there, then the explorer's link: "
        f"{home_first:.0f} ms to its figure"
    )
    widths = [8 * 2**k for k in range(1, len(fresh) + 1)]
    print("\nneural landscapes, a width not trained before -> drawn (ms)")
    for width, value in zip(widths, fresh, strict=True):
        print(f"width {width:<10}{value:>9.0f}")
    print(f"\nrequests outside 127.0.0.1: {len(outside)}")

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1min": os.getloadavg()[0],
        },
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
        "first_paint_ms": paints,
        "first_paint_warm_ms": warm,
        "in_app_navigation_ms": navigation,
        "home_then_explorer_cold_ms": {"dwell_ms": HOME_DWELL_MS, "median": home_first},
        "neural_fresh_width_ms": {
            str(width): value for width, value in zip(widths, fresh, strict=True)
        },
        "outside_requests": len(outside),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
