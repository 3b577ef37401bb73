"""In a real browser: the explorer's message at the saddle follows the diagnosis (red for gd
sliding away, amber for Newton stopping there), never the green of a minimum."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

READY = """() => {
  const gd = window.losslab && window.losslab.plotDiv('explorer-graph');
  return !!(gd && gd._fullData && gd._fullData.length > 1);
}"""


def choose(page, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown}")
    page.get_by_role("option", name=option, exact=True).click()


def test_explorer_saddle_messages_follow_the_diagnosis(page, watch, lab_url):
    page.goto(lab_url + "/explorer")
    page.wait_for_function(READY)
    choose(page, "explorer-surface", "saddle")
    page.wait_for_selector("#explorer-message.ll-error")
    text = page.inner_text("#explorer-message")
    assert "by escaping" in text and "overshot" not in text
    choose(page, "explorer-optimizer", "newton")
    page.wait_for_selector("#explorer-message.ll-warn")
    text = page.inner_text("#explorer-message")
    assert "saddle, not a minimum" in text
    assert "ll-ok" not in page.get_attribute("#explorer-message", "class")
    assert "at a saddle, not a minimum (1 step)" in page.inner_text("#explorer-board")
    watch.check()
