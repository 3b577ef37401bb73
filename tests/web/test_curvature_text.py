"""The curvature inspector's words: the true critical-point count, 'not critical' with the
local shape instead of 'regular', and no float dust in its numbers."""

import re

import losslab as ll
from losslab.web.pages import curvature


def plain(component) -> str:
    """The text of a Dash component tree, pieces joined by ' | '."""
    out = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif hasattr(node, "children"):
            walk(node.children)

    walk(component)
    return " | ".join(out)


def test_rastrigin_lists_every_critical_point_the_library_finds():
    # The issue: "400 critical point(s)" where there are 441 (the list was silently capped).
    truth = ll.critical_points(ll.surface("rastrigin"))
    result = curvature.update(curvature.ID.surface, "rastrigin", None, None, None, None)
    assert len(truth) == 441
    assert result.summary.startswith("441 critical points: 121 minima, 220 saddles, 100 maxima.")
    assert len(result.options) == 441 and len(result.state["points"]) == 441
    # the store round-trips: a later pick of the last point is accepted
    last = curvature.update(curvature.ID.picked, "rastrigin", None, None, 440, result.state)
    assert "maximum" in plain(last.readout)


def test_a_shorter_list_says_so(monkeypatch):
    monkeypatch.setattr(curvature, "MAX_LISTED", 100)
    result = curvature.update(curvature.ID.surface, "rastrigin", None, None, None, None)
    assert len(result.options) == 100
    assert result.summary.startswith("441 critical points")
    assert "The list holds the first 100" in result.summary


def test_a_saddle_shaped_point_that_is_not_critical_says_so():
    # The issue: the headline said "kind: regular" at (0.5, -1) on x^2 - y^2.
    opening = curvature.update(None, "saddle", None, None, None, None)
    clicked = curvature.update(
        curvature.ID.click, "saddle", None, {"x": 0.5, "y": -1}, None, opening.state
    )
    text = plain(clicked.readout)
    assert "regular" not in text
    assert "kind | not critical (gradient |g| = 2.24)" in text
    assert "the curvature here is saddle-shaped" in text.lower()


def test_a_bowl_shaped_point_that_is_not_critical():
    opening = curvature.update(curvature.ID.surface, "bowl", None, None, None, None)
    clicked = curvature.update(
        curvature.ID.click, "bowl", None, {"x": 1, "y": 1}, None, opening.state
    )
    assert "bowl-shaped" in plain(clicked.readout)


def test_numbers_at_a_degenerate_point_print_zero_not_dust():
    # The monkey saddle's centre from a point with float dust: Hessian entries ~1e-15, det ~1e-30.
    found = ll.inspect(ll.surface("monkey_saddle"), [1e-15, -1e-15])
    assert 0 < abs(found.det) < 1e-20 and float(found.eigenvalues.abs().max()) > 0
    text = plain(curvature.readout(found))
    assert not re.search(r"e-\d", text), text
    assert "point | (0, 0)" in text and "determinant | 0" in text
    assert "\u03bb1 = 0,  \u03bb2 = 0" in text and "trace | 0" in text
