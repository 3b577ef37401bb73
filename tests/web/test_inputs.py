"""Inputs that never get stuck, in a real browser: bounded steppers, messages that quote what
was typed, a visible length limit that wraps, settled sliders (one request for ten key
presses), the 1-D slider's round rates and its message while Run plays, the race's rates per
optimizer, and quiz answers in a per-visit order that still grade right."""

from __future__ import annotations

import json

import pytest
from browser_js import GRAPH_READY, MESSAGE_HAS, REVISION

from losslab.web.pages import PAGES

pytestmark = pytest.mark.browser


def open_page(page, url: str, graph: str) -> None:
    page.goto(url)
    page.wait_for_function(GRAPH_READY, arg=[graph, 1])


def wait_message(page, message_id: str, text: str) -> str:
    page.wait_for_function(MESSAGE_HAS, arg=[message_id, text])
    return page.inner_text(f"#{message_id}")


def server_calls(page, output: str) -> list[dict]:
    """Record every callback request whose outputs include `output` (e.g. 'noise-graph')."""
    calls: list[dict] = []

    def seen(request):
        if "/_dash-update-component" in request.url and output in (request.post_data or ""):
            calls.append(json.loads(request.post_data))

    page.on("request", seen)
    return calls


def test_seed_stepper_stays_in_bounds_and_a_typed_error_is_quoted_and_recoverable(page, lab_url):
    graph, seed = "noise-graph", "#noise-seed"
    open_page(page, lab_url + "/noise", graph)
    assert page.input_value(seed) == "0"
    before = page.evaluate(REVISION, graph)
    page.click("#noise-seed-down")  # at the lower bound: stays 0, never empties
    page.wait_for_timeout(400)
    assert page.input_value(seed) == "0"
    page.click("#noise-seed-up")
    assert wait_message(page, "noise-message", "(seed 1)")
    assert page.input_value(seed) == "1"
    good = page.evaluate(REVISION, graph)
    assert good > before
    page.fill(seed, "abc")
    page.press(seed, "Enter")
    text = wait_message(page, "noise-message", "got 'abc'")
    assert text == "Seed must be a whole number from 0 to 2147483647; got 'abc'."
    assert "None" not in text and "==" not in text
    assert page.evaluate(REVISION, graph) == good  # the last good run stays on the map
    page.click("#noise-seed-up")  # from a bad field the stepper starts at the default again
    assert wait_message(page, "noise-message", "(seed 1)")
    assert page.input_value(seed) == "1"
    page.fill("#noise-steps", "5000")
    page.press("#noise-steps", "Enter")
    assert wait_message(page, "noise-message", "Steps must be a whole number from 1 to 1000")
    # What the + button would write next (not pressed: 1000 steps of basins is slow here).
    assert page.evaluate("() => window.losslab.step('5000', 1, 1, 1000, 300)") == "1000"
    assert page.evaluate("() => window.losslab.step('', -1, 1, 1000, 300)") == "299"


def test_expression_shows_its_limit_warns_on_a_long_paste_and_wraps_its_message(page, lab_url):
    open_page(page, lab_url + "/race", "race-graph")
    field = "#race-expression"
    assert page.get_attribute(field, "maxlength") == "500"
    page.click(field)
    page.keyboard.type("x**2")
    count = page.locator("#race-page .ll-count")
    assert count.inner_text() == "4 / 500 characters"
    # A paste longer than the field: the browser cuts it at 500, the page says so.
    page.evaluate(
        """(id) => { const field = document.querySelector(id);
        const data = new DataTransfer(); data.setData('text', 'x+'.repeat(400));
        field.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        }""",
        field,
    )
    page.wait_for_function(
        "() => document.querySelector('#race-page .ll-count').textContent.includes('cut off')"
    )
    assert "804 characters" in count.inner_text()
    # One unbroken 500-character word: the error quotes it, and the page does not widen.
    page.fill(field, "q" * 500)
    page.press(field, "Enter")
    page.wait_for_selector("#race-message.ll-error")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]


def test_ten_arrow_presses_on_a_slider_make_at_most_two_requests(page, lab_url):
    graph = "explorer-graph"
    open_page(page, lab_url + "/explorer", graph)
    page.wait_for_timeout(500)  # the opening requests are over
    calls = server_calls(page, graph)
    before = page.evaluate(REVISION, graph)
    page.locator("#explorer-lr [role=slider]").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(GRAPH_READY, arg=[graph, before + 1])
    page.wait_for_timeout(800)  # any late request would have been sent by now
    assert 1 <= len(calls) <= 2
    assert page.inner_text("#explorer-lr-text").startswith("lr = 0.11")  # 10 x 0.01 in log10
    assert page.evaluate(REVISION, graph) == before + len(calls)


def test_descent_1d_slider_reaches_the_quiz_rate_and_the_message_follows_run(page, lab_url):
    graph = "descent1d-graph"
    open_page(page, lab_url + "/descent-1d", graph)
    before = page.evaluate(REVISION, graph)
    page.locator("#descent1d-lr [role=slider]").focus()
    for _ in range(8):  # 0.05 -> 0.06, 0.07, 0.08, 0.09, 0.1, 0.2, 0.3, 0.4
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.getElementById('descent1d-lr-text').textContent === 'lr = 0.4'"
    )
    page.wait_for_function(GRAPH_READY, arg=[graph, before + 1])
    # The run at 0.4 is drawn (under load a key press can come after an earlier value has
    # settled and been drawn: wait for the board to name the final rate, not any redraw).
    page.wait_for_function(
        "() => document.getElementById('descent1d-board').textContent.includes('lr=0.4')"
    )
    assert "Step 0 of" in page.inner_text("#descent1d-message")
    page.click("#descent1d-run")
    # Dash runs the Run button's callbacks after the click event: poll every frame for the
    # message (the run, 24 steps at screen rate, outlasts a few frames).
    page.wait_for_function(
        MESSAGE_HAS, arg=["descent1d-message", "Running steps 0 to"], polling="raf"
    )
    text = wait_message(page, "descent1d-message", "minimum")  # the player handed back
    assert "deeper minimum" in text and "Running" not in text  # the quiz's claim at 0.4


def test_race_rates_per_optimizer_and_unticking_drops_the_runs(page, lab_url):
    graph = "race-graph"
    open_page(page, lab_url + "/race", graph)
    row = '#race-page .ll-rate:has([id*="adam"])'
    assert not page.locator(row).is_visible()
    before = page.evaluate(REVISION, graph)
    page.get_by_label("adam").check()
    page.locator(row).wait_for(state="visible")
    assert "lr = 0.1" in page.inner_text(row)  # adam's own rate on Rosenbrock, not gd's 0.001
    page.wait_for_function(GRAPH_READY, arg=[graph, before + 1])
    page.wait_for_function("() => document.querySelectorAll('#race-board tbody tr').length === 4")
    text = wait_message(page, "race-message", "adam 0.1")
    assert "gd 0.001" in text
    before = page.evaluate(REVISION, graph)
    page.get_by_label("momentum").uncheck()
    page.wait_for_function(GRAPH_READY, arg=[graph, before + 1])
    page.wait_for_function("() => document.querySelectorAll('#race-board tbody tr').length === 3")
    names = page.eval_on_selector_all(
        "#race-board tbody .ll-run", "els => els.map(e => e.textContent)"
    )
    assert not [n for n in names if n.startswith("momentum")]
    legend = page.evaluate(
        "(g) => window.losslab.plotDiv(g)._fullData.filter(t => t.meta === 'path')"
        ".map(t => t.name)",
        graph,
    )
    assert not [n for n in legend if n.startswith("momentum")] and len(legend) == 3
    rows = "(n) => document.querySelectorAll('#race-board tbody tr').length === n"
    for left, name in enumerate(("gd", "newton", "adam")):  # at last no stale path or row
        page.get_by_label(name, exact=True).uncheck()
        page.wait_for_function(rows, arg=2 - left)
    wait_message(page, "race-message", "tick at least one")
    drawn = page.evaluate(
        "(g) => window.losslab.plotDiv(g)._fullData"
        ".filter(t => t.meta === 'path' && t.visible !== false).length",
        graph,
    )
    assert drawn == 0


def _quiz_orders(browser, lab_url, seed: int) -> tuple[list[list[str]], object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(f"window.__llQuizSeed = {seed};")
    tab = context.new_page()
    tab.goto(lab_url + "/noise")
    tab.wait_for_selector("#noise-quiz .ll-option")
    tab.wait_for_timeout(300)
    orders = tab.eval_on_selector_all(
        "#noise-quiz .ll-options",
        "els => els.map(e => Array.from(e.querySelectorAll('label')).map(l => l.textContent))",
    )
    return orders, (context, tab)


def test_quiz_answers_are_shuffled_per_seed_and_still_graded(browser, lab_url):
    questions = next(p for p in PAGES if p.key == "noise").questions
    written = [[o.text for o in q.options] for q in questions]
    first, (context, tab) = _quiz_orders(browser, lab_url, 1)
    second, (other, _) = _quiz_orders(browser, lab_url, 2)
    other.close()
    try:
        for order, options in zip(first, written, strict=True):
            assert sorted(order) == sorted(options)  # the same answers, another order
        assert first != second and first != written
        # The right answer, wherever it now stands, is still graded right, with its "why".
        right = next(o for o in questions[0].options if o.correct)
        tab.locator("#noise-quiz .ll-options").first.get_by_text(right.text).click()
        feedback = tab.locator("#noise-quiz .ll-feedback").first
        feedback.wait_for(state="visible")
        assert feedback.inner_text() == "Right. " + right.why
    finally:
        context.close()
