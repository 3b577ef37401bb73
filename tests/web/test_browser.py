"""The web lab in a real browser: pages load offline and clean, clicks start descents where the
pointer was, the race draws every path, the inspector reads the saddle, bad input is refused.

Trace arrays are read from `gd._fullData` (plotly >= 6 keeps `gd.data` arrays base64-encoded).
Screenshots of every page land in the test's tmp dir.
"""

from __future__ import annotations

import pytest
from browser_js import GRAPH_READY, REVISION

from losslab.web import figures
from losslab.web.pages import PAGES

PATH, START = (figures.EXPLORER_TRACES["contour"][k] for k in ("path", "start"))

pytestmark = pytest.mark.browser

TRACE = """([graph, index]) => {
  const t = window.losslab.plotDiv(graph)._fullData[index];
  return {meta: t.meta, name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])};
}"""
TO_PAGE = """([graph, x, y, axis]) => {
  const gd = window.losslab.plotDiv(graph);
  const xa = gd._fullLayout['xaxis' + axis], ya = gd._fullLayout['yaxis' + axis];
  const box = gd.getBoundingClientRect();
  return {px: box.left + xa._offset + xa.d2p(x), py: box.top + ya._offset + ya.d2p(y),
          unit: 1 / xa._m};
}"""


def open_page(page, url: str, graph: str | None):
    page.goto(url)
    if graph:
        page.wait_for_function(GRAPH_READY, arg=[graph, 1])


def click_data(page, graph: str, x: float, y: float, axis: str = "") -> float:
    """Click the plot at data coordinates (x, y); returns one pixel in data units."""
    where = page.evaluate(TO_PAGE, [graph, x, y, axis])
    page.mouse.click(where["px"], where["py"])
    return where["unit"]


def wait_new_revision(page, graph: str, before: int) -> None:
    page.wait_for_function(GRAPH_READY, arg=[graph, before + 1])


def trace(page, graph: str, index: int) -> dict:
    return page.evaluate(TRACE, [graph, index])


@pytest.mark.parametrize("path", ["/", *(p.path for p in PAGES)])
def test_every_page_loads_offline_without_console_errors(page, watch, lab_url, path, tmp_path):
    graph = next((f"{p.key}-graph" for p in PAGES if p.path == path), None)
    open_page(page, lab_url + path, graph)
    if graph:
        page.wait_for_timeout(400)  # let an autoplay start; errors surface by now
        page.hover(f"#{graph}")
        titles = page.eval_on_selector_all(
            ".modebar-btn", "els => els.map(e => e.getAttribute('data-title'))"
        )
        assert titles and not [t for t in titles if "Share" in t or "Cloud" in t]
    else:
        for p in PAGES:  # the home page lists every registered page, with what it teaches
            page.get_by_text(p.teaches).wait_for(state="visible")
    page.screenshot(path=str(tmp_path / f"{path.strip('/') or 'home'}.png"))
    watch.check()


def test_explorer_click_starts_the_trajectory_where_the_click_was(page, lab_url, tmp_path):
    graph = "explorer-graph"
    open_page(page, lab_url + "/explorer", graph)
    before = page.evaluate(REVISION, graph)
    unit = click_data(page, graph, 1.0, -2.0)
    wait_new_revision(page, graph, before)
    path = trace(page, graph, PATH)
    assert path["meta"] == "path" and path["name"].startswith("gd(")
    assert len(path["x"]) > 2, "a trajectory is drawn at once"
    assert abs(path["x"][0] - 1.0) < 1.5 * unit and abs(path["y"][0] + 2.0) < 1.5 * unit
    start = trace(page, graph, START)
    assert start["x"] == [path["x"][0]]
    # Run replays it: the player cuts the path back and grows it to its full length again.
    full = len(path["x"])
    page.click("#explorer-run")
    page.wait_for_function(
        "([g, i, n]) => window.losslab.plotDiv(g)._fullData[i].x.length < n",
        arg=[graph, PATH, full],
    )
    page.wait_for_function(
        "([g, i, n]) => window.losslab.plotDiv(g)._fullData[i].x.length === n",
        arg=[graph, PATH, full],
    )
    page.screenshot(path=str(tmp_path / "explorer-after-click.png"))


def test_explorer_learning_rate_can_diverge_and_says_so(page, lab_url):
    open_page(page, lab_url + "/explorer", "explorer-graph")
    before = page.evaluate(REVISION, "explorer-graph")
    # Each arrow key moves log10(lr) by 0.01: ten of them take 0.09 to 0.11, past the
    # stability limit 2/20 = 0.1 of the steep axis.
    page.locator("#explorer-lr [role=slider]").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    wait_new_revision(page, "explorer-graph", before)
    page.wait_for_function(
        "() => document.getElementById('explorer-message').textContent.includes('Diverged')"
    )
    assert "lower lr below 2/lambda_max = 0.1" in page.inner_text("#explorer-message")


def test_race_draws_three_paths_and_names_a_winner(page, lab_url, tmp_path):
    graph = "race-graph"
    open_page(page, lab_url + "/race", graph)
    page.wait_for_function(
        "() => { const b = document.querySelector('#race-board .ll-banner');"
        " return b && b.textContent.includes('First to the minimum'); }"
    )
    paths = [figures.run_indices(i, 3, loss_panel=True)["path"] for i in range(3)]
    page.wait_for_function(  # the animation has drawn every path in full
        "([g, i]) => window.losslab.plotDiv(g)._fullData[i].x.length > 300", arg=[graph, paths[0]]
    )
    page.wait_for_timeout(300)
    names = []
    for index in paths:
        path = trace(page, graph, index)
        assert path["meta"] == "path"
        names.append(path["name"].split("(")[0])
        assert len(path["x"]) > 1
    assert names == ["gd", "momentum", "newton"]
    assert "newton" in page.inner_text("#race-board .ll-banner")
    assert page.locator("#race-board tbody tr").count() == 3
    page.screenshot(path=str(tmp_path / "race-finished.png"))


def test_inspector_reports_plus_and_minus_two_on_the_saddle(page, lab_url, tmp_path):
    graph = "curvature-graph"
    open_page(page, lab_url + "/curvature", graph)
    text = page.inner_text("#curvature-values")
    assert "+2" in text and "-2" in text and "saddle" in text
    before = page.evaluate(REVISION, graph)
    click_data(page, graph, 0.0, 0.0)
    wait_new_revision(page, graph, before)
    text = page.inner_text("#curvature-values")
    assert "\u03bb1 = -2" in text and "\u03bb2 = +2" in text
    assert "determinant\n-4" in text.replace("\t", "\n")
    page.screenshot(path=str(tmp_path / "curvature-origin.png"))


def test_an_unsafe_expression_is_refused_and_nothing_else_changes(page, lab_url):
    graph = "explorer-graph"
    open_page(page, lab_url + "/explorer", graph)
    before = page.evaluate(REVISION, graph)
    path_before = trace(page, graph, PATH)
    page.fill("#explorer-expression", "__import__('os').system('touch /tmp/losslab-pwned')")
    page.click("#explorer-apply")
    page.wait_for_selector("#explorer-message.ll-error")
    assert "not allowed" in page.inner_text("#explorer-message")
    page.wait_for_timeout(300)
    assert page.evaluate(REVISION, graph) == before
    assert trace(page, graph, PATH) == path_before
    assert "stretched bowl" in page.inner_text("#explorer-surface")


def test_descent_1d_click_step_and_run(page, lab_url, tmp_path):
    graph = "descent1d-graph"
    open_page(page, lab_url + "/descent-1d", graph)
    before = page.evaluate(REVISION, graph)
    click_data(page, graph, -0.4, 0.0)
    wait_new_revision(page, graph, before)
    assert abs(trace(page, graph, 3)["x"][0] + 0.4) < 0.02
    before = page.evaluate(REVISION, graph)
    page.click("#descent1d-step")
    wait_new_revision(page, graph, before)
    assert len(trace(page, graph, 2)["x"]) == 2
    page.click("#descent1d-run")
    page.wait_for_function(
        "() => document.getElementById('descent1d-message').textContent.includes('Converged')"
    )
    assert "deeper minimum" in page.inner_text("#descent1d-message")
    page.screenshot(path=str(tmp_path / "descent-1d-run.png"))


def test_quiz_gives_instant_feedback(page, lab_url):
    # Once the page's callbacks are done and the answers shuffled: the options re-render when
    # shuffled, and a click resolved just before could land on the answer that moved there.
    open_page(page, lab_url + "/explorer", "explorer-graph")
    page.wait_for_function(
        "() => document.querySelector('#explorer-quiz .ll-options')"
        " && !document.querySelector('#explorer-quiz .ll-unshuffled')"
    )
    page.locator("#explorer-quiz .ll-options").first.get_by_text("It diverges").click()
    feedback = page.locator("#explorer-quiz .ll-feedback").first
    feedback.wait_for(state="visible")
    assert feedback.inner_text().startswith("Right.")


def test_two_browsers_keep_independent_state(browser, lab_url, watch):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2)]
    try:
        first, second = (c.new_page() for c in contexts)
        for tab in (first, second):
            open_page(tab, lab_url + "/explorer", "explorer-graph")
        before = first.evaluate(REVISION, "explorer-graph")
        click_data(first, "explorer-graph", 2.0, 3.0)
        wait_new_revision(first, "explorer-graph", before)
        second.reload()
        second.wait_for_function(GRAPH_READY, arg=["explorer-graph", 1])
        assert abs(trace(first, "explorer-graph", PATH)["x"][0] - 2.0) < 0.05
        assert trace(second, "explorer-graph", PATH)["x"][0] == -4.5  # still the default start
    finally:
        for context in contexts:
            context.close()


def test_explorer_3d_view_draws_and_takes_clicks(page, lab_url, tmp_path):
    graph = "explorer-graph"
    open_page(page, lab_url + "/explorer", graph)
    before = page.evaluate(REVISION, graph)
    page.get_by_text("3-D", exact=True).click()
    wait_new_revision(page, graph, before)
    page.wait_for_selector("#explorer-graph .gl-container canvas")
    assert trace(page, graph, 0)["meta"] == "landscape"
    assert page.evaluate("(g) => window.losslab.plotDiv(g)._fullData[0].type", graph) == "surface"
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "explorer-3d.png"))


def test_noise_page_shows_both_basin_maps(page, lab_url, tmp_path):
    open_page(page, lab_url + "/noise", "noise-graph")
    page.wait_for_function(
        "() => { const gd = window.losslab.plotDiv('noise-basins');"
        " return gd && gd._fullData && gd._fullData.length >= 8; }"
    )
    kinds = page.evaluate("() => window.losslab.plotDiv('noise-basins')._fullData.map(t => t.meta)")
    assert kinds.count("basins") == 2
    assert page.locator("#noise-shares tbody tr").count() == 4
    page.wait_for_function(
        "() => { const b = document.querySelector('#noise-board .ll-banner');"
        " return b && b.textContent.includes('SGD ends'); }"
    )
    page.screenshot(path=str(tmp_path / "noise-finished.png"), full_page=True)


METAS = "(g) => { const gd = window.losslab.plotDiv(g); return gd && gd._fullData"
METAS += " ? gd._fullData.map(t => t.meta) : []; }"
CHANGED = "([g, r]) => window.losslab.plotDiv(g).layout.datarevision !== r"
SWEEP = "window.losslab.plotDiv('neural-sweep')._fullData"
WHISKERS = f"() => {SWEEP}[0].error_y.visible ? {SWEEP}[0].error_y.array.length : 0"
POINTED = f"() => {SWEEP}.find(t => t.meta === 'sweep-pointer').x"  # the width it points at


def test_neural_page_shows_three_landscapes_a_path_and_a_width_control(page, lab_url, tmp_path):
    graph = "neural-graph"
    open_page(page, lab_url + "/neural", graph)
    page.wait_for_function(
        "() => document.getElementById('neural-status').textContent.startsWith('Ready')"
    )
    page.wait_for_function(f"() => ({METAS})('neural-convex').length > 2")
    assert {"landscape-linear", "landscape-logistic"} <= set(page.evaluate(METAS, "neural-convex"))
    assert {"landscape-network", "path-network"} <= set(page.evaluate(METAS, graph))
    assert page.evaluate("() => document.getElementById('neural-progress').value") == 3
    page.wait_for_function(f"() => ({METAS})('neural-sweep').length === 3")
    assert page.evaluate(METAS, "neural-sweep") == ["sweep", "sweep-pointer", "sweep-this"]
    assert page.evaluate(WHISKERS) == 8  # the chart's +-1 sd, drawn on every bar
    assert page.evaluate(POINTED) == ["8"]
    assert "weights (2 -> 8 -> 8 -> 2)" in page.inner_text("#neural-facts")
    page.screenshot(path=str(tmp_path / "neural.png"), full_page=True)

    # The chart's menu: the barrier before and after matching, side by side.
    page.locator("#neural-figure").click()
    page.get_by_text("barrier to another seed's network", exact=True).click()
    page.wait_for_function(f"() => ({METAS})('neural-sweep')[0] === 'sweep-before'")
    assert page.evaluate(METAS, "neural-sweep")[:2] == ["sweep-before", "sweep"]
    assert "weight matching" in page.inner_text("#neural-sweep-key")

    # The PCA slice holds the training path: it crosses the map.
    before = page.evaluate(REVISION, graph)
    page.get_by_text("PCA of the training path").click()
    page.wait_for_function(CHANGED, arg=[graph, before])
    index = page.evaluate(METAS, graph).index("path-network")
    path = trace(page, graph, index)
    assert max(path["x"]) - min(path["x"]) > 1.0
    page.screenshot(path=str(tmp_path / "neural-pca.png"), full_page=True)

    # One step right on the width slider: 8 -> 16 neurons, a new network and slice.
    before = page.evaluate(REVISION, graph)
    page.locator("#neural-width [role=slider]").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(CHANGED, arg=[graph, before])
    title = page.evaluate("(g) => window.losslab.plotDiv(g).layout.title.text", graph)
    assert "width 16" in title
    assert "16 neurons per hidden layer" in page.inner_text("#neural-width-text")
    page.wait_for_function(f"() => ({POINTED})()[0] === '16'")


def test_neural_page_in_3d_draws_three_surfaces(page, lab_url, tmp_path):
    open_page(page, lab_url + "/neural", "neural-graph")
    page.get_by_text("3-D surfaces", exact=True).click()
    kinds = "(g) => window.losslab.plotDiv(g)._fullData.map(t => t.type)"
    page.wait_for_function(f"() => ({kinds})('neural-convex').includes('surface')")
    page.wait_for_function(f"() => ({kinds})('neural-graph').includes('surface')")
    assert page.evaluate(kinds, "neural-convex").count("surface") == 2
    page.wait_for_selector("#neural-graph .gl-container canvas")
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "neural-3d.png"), full_page=True)


def test_home_page_loads_plotly_while_the_visitor_reads(page, lab_url):
    open_page(page, lab_url + "/", None)
    page.wait_for_function("() => !!(window.Plotly && window.Plotly.react)", timeout=30_000)
    sources = page.evaluate("() => Array.from(document.scripts).map(s => s.src)")
    # the lab's own partial bundle (test_server.py), never Dash's full one
    assert [s for s in sources if "plotly" in s and s.endswith(".min.js")] == [
        lab_url + "/assets/vendor/plotly-lab.min.js"
    ]
