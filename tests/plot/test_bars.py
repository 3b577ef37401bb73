"""Bars (a scene element added for the web lab's width sweep) in both backends."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from losslab.plot import backend_mpl, backend_plotly, style  # noqa: E402
from losslab.plot.scene import Axis, Bars, Markers, Panel, Scene  # noqa: E402


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


def whiskered_scene() -> Scene:
    bars = Bars(("2", "16", "256"), np.array([30.0, 10.0, 0.0]), errors=np.array([5.0, 2.0, 1.0]))
    pointer = Markers(np.array(["256"]), np.array([8.0]), style="pointer", name="pointer")
    return Scene((Panel("chart", (bars, pointer), y=Axis("%", (0.0, 100.0))),))


def test_plotly_draws_whiskers_and_a_marker_on_a_category():
    fig = backend_plotly.draw(whiskered_scene())
    bar, pointer = fig.data
    assert bar.error_y.type == "data" and bar.error_y.color == style.WHISKER_COLOUR
    np.testing.assert_array_equal(bar.error_y.array, [5.0, 2.0, 1.0])
    assert list(pointer.x) == ["256"] and pointer.marker.symbol == "triangle-down"
    assert backend_plotly.draw(bars_scene()).data[0].error_y.array is None  # none asked


def test_matplotlib_draws_the_same_whiskers_and_marker():
    ax = backend_mpl.draw(whiskered_scene()).axes[0]
    (whiskers,) = [c for c in ax.collections if len(c.get_segments()) == 3]
    spans = [(s[0][1], s[1][1]) for s in whiskers.get_segments()]
    assert spans == [(25.0, 35.0), (8.0, 12.0), (-1.0, 1.0)]
    (line,) = [x for x in ax.lines if x.get_gid() == "losslab-pointer"]
    assert list(line.get_xydata()[0]) == [2.0, 8.0]  # the third category, where its bar stands
