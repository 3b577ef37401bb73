"""The lab's layout in a real browser, on a phone (390 x 844) and a desktop (1400 x 1000), on
every page: each graph's plot areas keep a usable size (a map at least 300 px wide on the
phone), the page never scrolls sideways, the navigation stays in reach, tables fit or scroll
in their own box, the race's colour bar keeps off its loss panel, the mode bar keeps off the
titles, and a graph follows the window when it changes size.

One browser context per viewport serves all its pages (fast); sizes are read from plotly's
own layout (`gd._fullLayout`: each subplot's axis lengths) once every graph holds data.
"""

from __future__ import annotations

import pytest
from conftest import Watch, watched_tab

from losslab.web.pages import PAGES

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
PATHS = ["/", *(page.path for page in PAGES)]
# Smallest plot area, px: a map (a subplot holding a heatmap or contour) is as wide as this;
# any other panel (losses per step, bars) at least `panel` wide and tall.
# (The neural page's two convex maps share a 932 px row with their colour bars: 292 px each.)
MINIMUM = {"phone": {"map": 300, "panel": 120}, "desktop": {"map": 280, "panel": 150}}
# Pages whose layout holds a table from the start (the scoreboard, the basin shares).
TABLES = {"/descent-1d", "/race", "/noise"}

READY = """() => {
  if (!document.querySelector('.ll-page')) return false;
  return [...document.querySelectorAll('.ll-graph')].every(host => {
    const gd = host.querySelector('.js-plotly-plot');
    return gd && gd._fullData && gd._fullData.length > 0 && gd._fullLayout && gd._fullLayout._size;
  });
}"""
# Every subplot of every graph: its axis lengths and whether it is a map.
PANELS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => {
  const id = gd.parentElement.id || gd.id;
  return Object.entries(gd._fullLayout._plots || {}).map(([name, sp]) => ({
    graph: id, name,
    width: Math.round(sp.xaxis._length), height: Math.round(sp.yaxis._length),
    map: gd._fullData.some(t => ['heatmap', 'contour'].includes(t.type)
                              && (t.xaxis || 'x') + (t.yaxis || 'y') === name),
  }));
})"""
PAGE_FACTS = """() => {
  const inBox = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if ((o === 'auto' || o === 'scroll') && p.getBoundingClientRect().right <= innerWidth + 1)
        return true;
    }
    return false;
  };
  const tables = [...document.querySelectorAll('table')].map(t => ({
    right: Math.round(t.getBoundingClientRect().right),
    ok: t.getBoundingClientRect().right <= innerWidth + 1 || inBox(t),
  }));
  return {scrollWidth: document.documentElement.scrollWidth, width: innerWidth, tables};
}"""
NAV_AFTER_SCROLL = """async () => {
  window.scrollTo(0, document.documentElement.scrollHeight);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const nav = document.querySelector('nav.ll-nav');
  const box = nav.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + 20, box.top + box.height / 2);
  const active = nav.querySelector('.ll-active');
  return {top: Math.round(box.top), height: Math.round(box.height),
          onTop: !!hit && nav.contains(hit),
          scrollsSideways: nav.scrollWidth <= nav.clientWidth + 1
                           || ['auto', 'scroll'].includes(getComputedStyle(nav).overflowX),
          activeReachable: !active || active.offsetLeft + active.offsetWidth <= nav.scrollWidth,
          y: window.scrollY};
}"""
# Rectangles (page px) of the mode bar and of every title of a graph, with the pointer over it.
MODEBAR_AND_TITLES = """(id) => {
  const gd = document.getElementById(id).querySelector('.js-plotly-plot');
  const rect = (el) => { const r = el.getBoundingClientRect();
                         return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const bar = gd.querySelector('.modebar');
  const titles = [...gd.querySelectorAll('.annotation-text-g, .gtitle')]
    .filter(el => el.textContent.trim()).map(rect);
  const buttons = bar ? bar.querySelectorAll('.modebar-btn').length : 0;
  return {bar: bar ? rect(bar) : null, titles, buttons};
}"""
# The race's colour bar and its loss panel (xaxis2/yaxis2), page px.
RACE_BOXES = """() => {
  const gd = document.getElementById('race-graph').querySelector('.js-plotly-plot');
  const L = gd._fullLayout, box = gd.getBoundingClientRect();
  const bar = gd.querySelector('.colorbar').getBoundingClientRect();
  const xa = L.xaxis2, ya = L.yaxis2;
  return {bar: {l: bar.left, r: bar.right, t: bar.top, b: bar.bottom},
          loss: {l: box.left + xa._offset, r: box.left + xa._offset + xa._length,
                 t: box.top + ya._offset, b: box.top + ya._offset + ya._length}};
}"""


def overlap(a: dict, b: dict) -> bool:
    return (
        a["l"] < b["r"] - 1 and b["l"] < a["r"] - 1 and a["t"] < b["b"] - 1 and b["t"] < a["b"] - 1
    )


@pytest.fixture(scope="module")
def tabs(browser, lab_url):
    """One tab per viewport for the whole module; requests off 127.0.0.1 are aborted and, with
    console errors, fail the module at its end."""
    watch = Watch()
    contexts, out = [], {}
    for name, viewport in VIEWPORTS.items():
        context, out[name] = watched_tab(browser, viewport, watch, timeout_ms=60_000)
        contexts.append(context)
    yield out
    for context in contexts:
        context.close()
    watch.check()


def open_ready(tab, url: str) -> None:
    tab.goto(url)
    tab.wait_for_function(READY)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_page_fits_the_screen(tabs, lab_url, viewport, path):
    tab = tabs[viewport]
    open_ready(tab, lab_url + path)
    if path in TABLES:
        tab.wait_for_selector("table")
    least = MINIMUM[viewport]
    panels = tab.evaluate(PANELS)
    if path != "/":
        assert panels, f"no graph drawn on {path}"
        assert any(p["map"] for p in panels) or path == "/descent-1d"
    for panel in panels:
        wide = least["map"] if panel["map"] else least["panel"]
        assert panel["width"] >= wide, (viewport, path, panel)
        assert panel["height"] >= least["panel"], (viewport, path, panel)
    facts = tab.evaluate(PAGE_FACTS)
    assert facts["scrollWidth"] <= facts["width"], f"{path} scrolls sideways: {facts}"
    if path in TABLES:
        assert facts["tables"], f"no table on {path}"
    for table in facts["tables"]:
        assert table["ok"], f"a table runs off the screen on {path}: {table}"
    if path == "/":
        home_shows_the_way(tab)
    nav = tab.evaluate(NAV_AFTER_SCROLL)
    assert nav["top"] == 0 and nav["onTop"], f"the navigation left the screen: {nav}"
    assert nav["scrollsSideways"] and nav["activeReachable"], nav
    for graph in tab.evaluate("() => [...document.querySelectorAll('.ll-graph')].map(g => g.id)"):
        tab.hover(f"#{graph}")
        drawn = tab.evaluate(MODEBAR_AND_TITLES, graph)
        assert drawn["buttons"] <= 3, drawn  # PNG, zoom and reset (2-D) or camera reset (3-D)
        if drawn["bar"] is not None:
            for title in drawn["titles"]:
                assert not overlap(drawn["bar"], title), (path, graph, drawn)


THUMBS_LOADED = """() => [...document.querySelectorAll('.ll-path img.ll-thumb')]
  .every(img => img.complete && img.naturalWidth > 0)"""
HOME_STEPS = """() => {
  return [...document.querySelectorAll('.ll-path > li')].map(li => ({
    number: li.querySelector('.ll-step-number').textContent,
    href: li.querySelector('a').getAttribute('href'),
    loaded: (li.querySelector('img.ll-thumb') || {}).naturalWidth || 0,
    right: li.getBoundingClientRect().right,
  }));
}"""


def home_shows_the_way(tab) -> None:
    """One numbered card per lesson, in the lab's order, each with its thumbnail, on screen."""
    tab.wait_for_selector(".ll-path img.ll-thumb")
    tab.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    tab.wait_for_function(THUMBS_LOADED)  # each loads as it nears the screen
    steps = tab.evaluate(HOME_STEPS)
    assert [s["number"] for s in steps] == [str(i) for i in range(1, len(PAGES) + 1)]
    assert [s["href"] for s in steps] == [page.path for page in PAGES]
    width = tab.viewport_size["width"]
    for step in steps:
        assert step["loaded"] > 0 and step["right"] <= width, step


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_race_colour_bar_keeps_off_the_loss_panel(tabs, lab_url, viewport):
    tab = tabs[viewport]
    open_ready(tab, lab_url + "/race")
    boxes = tab.evaluate(RACE_BOXES)
    assert not overlap(boxes["bar"], boxes["loss"]), boxes


def test_a_graph_follows_the_window_across_the_phone_width(tabs, lab_url):
    """Desktop -> 720 px -> phone -> desktop on one page: at 720 px the colour bar still keeps
    off the losses; on the phone the race's panels stack (map over losses, a flat colour bar,
    the map >= 300 px wide); back on the desktop they are side by side again."""
    tab = tabs["desktop"]
    open_ready(tab, lab_url + "/race")
    layout = """() => { const L = document.querySelector('#race-graph .js-plotly-plot')._fullLayout;
      return {x2: L.xaxis2.domain[0], map: Math.round(L.xaxis._length),
              bar: document.querySelector('#race-graph .js-plotly-plot')._fullData[0]
                     .colorbar.orientation}; }"""
    wide = tab.evaluate(layout)
    assert wide["x2"] > 0.5 and wide["bar"] == "v", wide
    try:
        # just above the phone width the panels stay side by side: the bar still between them
        tab.set_viewport_size({"width": 720, "height": 1000})
        tab.wait_for_function(
            """() => { const gd = document.querySelector('#race-graph .js-plotly-plot');
                       return gd._fullLayout.width < 700; }"""
        )
        boxes = tab.evaluate(RACE_BOXES)
        assert not overlap(boxes["bar"], boxes["loss"]), boxes
        tab.set_viewport_size(PHONE)
        tab.wait_for_function(
            """() => { const L = document.querySelector('#race-graph .js-plotly-plot')._fullLayout;
                       return L.xaxis2.domain[0] < 0.5 && L.xaxis._length >= 300; }"""
        )
        narrow = tab.evaluate(layout)
        assert narrow["bar"] == "h" and narrow["map"] >= 300, narrow
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        tab.set_viewport_size(DESKTOP)
    tab.wait_for_function(
        """() => document.querySelector('#race-graph .js-plotly-plot')
                   ._fullLayout.xaxis2.domain[0] > 0.5"""
    )
    assert tab.evaluate(layout)["bar"] == "v"
