"""Bars (a scene element added for the web lab's width sweep) in both backends."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from losslab.plot import backend_mpl, backend_plotly, style  # noqa: E402
from losslab.plot.scene import Axis, Bars, Panel, Scene  # noqa: E402


def bars_scene() -> Scene:
    bars = Bars(("2", "16", "256"), np.array([30.0, 10.0, 2.0]), ("#111111", "#222222", "#333333"))
    return Scene((Panel("chart", (bars,), x=Axis("width"), y=Axis("%", (0.0, 100.0))),))


def test_plotly_draws_one_bar_per_category_on_a_category_axis():
    fig = backend_plotly.draw(bars_scene())
    (bar,) = fig.data
    assert bar.type == "bar" and list(bar.x) == ["2", "16", "256"] and bar.meta == "bars"
    np.testing.assert_array_equal(bar.y, [30.0, 10.0, 2.0])
    assert list(bar.marker.color) == ["#111111", "#222222", "#333333"]
    assert fig.layout.xaxis.type == "category"  # "16" is a name, not a number
    default = backend_plotly.draw(Scene((Panel("chart", (Bars(("a",), np.array([1.0])),)),))).data[
        0
    ]
    assert default.marker.color == style.BAR_COLOUR


def test_matplotlib_draws_the_same_bars():
    figure = backend_mpl.draw(bars_scene())
    ax = figure.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == [30.0, 10.0, 2.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "16", "256"]
    colours = [matplotlib.colors.to_hex(patch.get_facecolor()) for patch in ax.patches]
    assert colours == ["#111111", "#222222", "#333333"]
