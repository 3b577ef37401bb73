"""losslab.dust: zero within a tolerance relative to the scale of the quantity shown."""

from __future__ import annotations

import math

import losslab as ll
from losslab import dust
from losslab.plot.scene import number, point_text


def test_a_coordinate_is_dust_relative_to_its_point():
    assert dust.point([2.84e-16, 2.5]) == [0.0, 2.5]
    assert dust.point([-1.183e-30, -2.805]) == [0.0, -2.805]
    # the scale is floored at 1: near the origin 1e-10 is dust, 5e-9 (a real residual) is not
    assert dust.point([1e-10, 5e-9]) == [0.0, 5e-9]
    # far out the tolerance grows with the point: 1e-4 beside 1e6 is below 1e-9 of it
    assert dust.point([1e-4, 1e6]) == [0.0, 1e6]
    assert dust.point([1e-2, 1e6]) == [1e-2, 1e6]


def test_no_negative_zero_and_non_finite_values_pass_through():
    assert math.copysign(1.0, dust.scalar(-0.0)) == 1.0
    assert math.copysign(1.0, dust.point([-1e-20, 3.0])[0]) == 1.0
    assert math.isnan(dust.scalar(float("nan")))
    assert dust.point([float("inf"), 1e-20]) == [float("inf"), 0.0]


def test_a_determinant_is_dust_relative_to_the_eigenvalue_scale_to_the_power_n():
    # the monkey saddle's centre: eigenvalues ~1e-29, det -1e-58
    assert dust.determinant(-1.008e-58, [-1e-29, 1e-29]) == 0.0
    # rastrigin's minimum: eigenvalues 396.8 (det 1.57e5) is kept
    assert dust.determinant(157437.7, [396.8, 396.8]) == 157437.7
    # one eigenvalue at the zero threshold (1e-8 x 400) makes the det zero, two real ones not
    assert dust.determinant(400 * 4e-6, [4e-6, 400.0]) == 0.0
    assert dust.determinant(-4.0, [-2.0, 2.0]) == -4.0


def test_eigenvalues_and_trace_follow_inspects_zero_rule():
    assert dust.spectrum([-3e-9, 2.0]) == [0.0, 2.0]
    assert dust.spectrum([-3e-7, 2.0]) == [-3e-7, 2.0]
    assert dust.trace(4e-15, [-2.0, 2.0]) == 0.0


def test_labels_and_the_cli_print_dust_as_zero():
    from losslab.cli.render import critical_point_view, point

    assert point_text([2.84e-16, 2.5], 3) == "(0, 2.5)"
    assert number(-3e-17) == "0" and number(0.05, 3) == "0.05"
    assert point([-1.183e-30, 2.0]) == "(0, 2)"
    found = ll.inspect(ll.surface("monkey_saddle"), [1e-15, -1e-15])
    assert abs(found.det) > 0  # the dust is really there
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(critical_point_view(found))
    text = console.export_text()
    assert "e-1" not in text and "e-2" not in text and "e-3" not in text, text
