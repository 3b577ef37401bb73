"""The bowl and the mountains in a real browser: both cameras turn, together, with no request to
the server while they do; Pause stops both; a press on a graph pauses them (the visitor's drag
is not fought); a visitor who prefers reduced motion starts paused. (A hidden tab gets no
animation frames at all; headless chromium cannot hide one, so that case is not driven here.)"""

from __future__ import annotations

import math

import pytest
from conftest import VIEWPORT, watched_tab

from losslab.web.pages import _contrast

pytestmark = pytest.mark.browser

GRAPHS = list(_contrast.GRAPHS)
DRAWN = """(ids) => ids.every(id => {
  const gd = window.losslab && window.losslab.plotDiv(id);
  return !!(gd && gd._fullData && gd._fullData.some(t => t.type === 'surface')
            && gd._fullLayout.scene && gd._fullLayout.scene._scene);
})"""
# The camera on screen (the WebGL view), and the one the layout holds.
EYES = """(ids) => ids.map(id => {
  const e = window.losslab.plotDiv(id)._fullLayout.scene._scene.getCamera().eye;
  return [e.x, e.y, e.z];
})"""
LAYOUT_EYES = """(ids) => ids.map(id => {
  const e = window.losslab.plotDiv(id)._fullLayout.scene.camera.eye;
  return [e.x, e.y, e.z];
})"""
LABEL = f"document.getElementById('{_contrast.ID.play}').textContent"


def _azimuths(eyes) -> list[float]:
    return [math.atan2(y, x) for x, y, _ in eyes]


def _turned(before, after) -> list[float]:
    """Each graph's turn about the vertical axis (radians, in (-pi, pi])."""
    return [
        math.remainder(b - a, 2 * math.pi)
        for a, b in zip(_azimuths(before), _azimuths(after), strict=True)
    ]


def test_both_surfaces_turn_together_in_the_browser_alone_and_pause_stops_both(
    moving_page, lab_url
):
    page = moving_page
    page.goto(lab_url + "/neural")
    page.wait_for_function(DRAWN, arg=GRAPHS, timeout=60_000)  # computed at the server's start
    assert page.evaluate(LABEL) == _contrast.PAUSE
    # Every callback request that names the pair (the rest of the page goes on with its own
    # network's stages meanwhile): a frame that asked the server would be one of them.
    requests: list[str] = []

    def seen(request):
        if "_dash-update-component" in request.url and "neural-contrast" in (
            request.post_data or ""
        ):
            requests.append(request.post_data)

    page.on("request", seen)
    before = page.evaluate(EYES, GRAPHS)
    page.wait_for_timeout(1000)
    after = page.evaluate(EYES, GRAPHS)
    turned = _turned(before, after)
    assert all(0.02 < angle < 1.0 for angle in turned), turned  # one turn in 24 s: ~0.26 a s
    assert abs(turned[0] - turned[1]) < 0.05  # together
    assert [e[2] for e in after] == pytest.approx([e[2] for e in before])  # about the vertical
    assert requests == []  # the browser turns them alone

    page.dispatch_event(f"#{_contrast.ID.play}", "click")  # no wait for a still page
    page.wait_for_function(f"() => {LABEL} === {_contrast.PLAY!r}")
    page.wait_for_timeout(100)  # a frame already asked for lands
    paused = page.evaluate(EYES, GRAPHS)
    page.wait_for_timeout(500)
    assert page.evaluate(EYES, GRAPHS) == paused
    # The pause tells the layout where the cameras stopped: a redraw or a drag starts there.
    held = page.evaluate(LAYOUT_EYES, GRAPHS)
    assert [e for pair in held for e in pair] == pytest.approx(
        [e for pair in paused for e in pair], abs=1e-6
    )

    # Play again, then the visitor takes the mountains in hand: the turning stops for them.
    page.dispatch_event(f"#{_contrast.ID.play}", "click")  # no wait for a still page
    page.wait_for_function(f"() => {LABEL} === {_contrast.PAUSE!r}")
    box = page.locator(f"#{_contrast.ID.mountains}").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function(f"() => {LABEL} === {_contrast.PLAY!r}")
    assert requests == []


def test_a_visitor_who_prefers_reduced_motion_starts_paused(browser, watch, lab_url):
    context, tab = watched_tab(browser, VIEWPORT, watch)  # prefers reduced motion
    try:
        tab.goto(lab_url + "/neural")
        tab.wait_for_function(DRAWN, arg=GRAPHS, timeout=60_000)
        before = tab.evaluate(EYES, GRAPHS)
        tab.wait_for_timeout(400)
        assert tab.evaluate(EYES, GRAPHS) == before
        assert tab.evaluate(LABEL) == _contrast.PLAY
    finally:
        context.close()
    watch.check()
