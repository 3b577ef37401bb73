"""save_figure: the right bytes per format, self-contained HTML, and no file on any failure."""

import os
import re

import pytest
from matplotlib.figure import Figure

import losslab as ll
from losslab.errors import LosslabError
from losslab.plot import interactive, static
from losslab.plot.export import FORMATS, save_figure


@pytest.fixture(scope="module")
def axes():
    return static.contour(ll.surface("bowl"), resolution=10)


@pytest.fixture(scope="module")
def plotly_figure():
    return interactive.contour(ll.surface("bowl"), resolution=10)


def test_formats():
    assert {".png", ".svg", ".pdf", ".html", ".json"} == FORMATS


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("a.png", lambda data: data.startswith(b"\x89PNG")),
        ("a.svg", lambda data: b"<svg" in data),
        ("a.pdf", lambda data: data.startswith(b"%PDF")),
        ("A.PNG", lambda data: data.startswith(b"\x89PNG")),
    ],
)
def test_matplotlib_formats(tmp_path, axes, name, check):
    path = save_figure(axes.figure, tmp_path / name)
    assert path == tmp_path / name
    assert check(path.read_bytes())
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind


def test_an_axes_or_a_3d_axes_saves_its_figure(tmp_path):
    assert save_figure(static.contour(ll.surface("bowl"), resolution=5), tmp_path / "c.png")
    ax3d = static.surface_3d(ll.surface("bowl"), resolution=5)
    assert save_figure(ax3d, tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")


def test_html_is_self_contained(tmp_path, plotly_figure):
    path = save_figure(plotly_figure, tmp_path / "a.html")
    html = path.read_text()
    assert len(html) > 1_000_000 and "plotly" in html
    assert "<html" in html[:100].lower() and html.rstrip().endswith("</html>")
    # No script is loaded from anywhere: the whole plotly.js bundle is inline.
    assert not re.search(r"<script[^>]*\bsrc\s*=", html)
    assert "https://cdn.plot.ly/plotly" not in html


@pytest.mark.parametrize("name", ["a.gif", "a.json", "noext"])
def test_unknown_extension_lists_the_allowed_ones_and_writes_nothing(tmp_path, axes, name):
    with pytest.raises(LosslabError, match=r"\.html, \.pdf, \.png, \.svg"):
        save_figure(axes.figure, tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_figure_kind_must_fit_the_format(tmp_path, axes, plotly_figure):
    with pytest.raises(LosslabError, match=r"plotly figure can be saved as \.html"):
        save_figure(plotly_figure, tmp_path / "a.png")
    with pytest.raises(LosslabError, match=r"matplotlib figure can be saved as \.png, \.svg"):
        save_figure(axes.figure, tmp_path / "a.html")
    with pytest.raises(LosslabError, match="give a matplotlib Figure"):
        save_figure("not a figure", tmp_path / "a.png")
    assert os.listdir(tmp_path) == []


def test_unwritable_or_missing_folder(tmp_path, axes, monkeypatch):
    with pytest.raises(LosslabError, match="does not exist"):
        save_figure(axes.figure, tmp_path / "missing" / "a.png")
    (tmp_path / "taken.png").mkdir()
    with pytest.raises(LosslabError, match="directory"):
        save_figure(axes.figure, tmp_path / "taken.png")
    # A read-only folder, whoever runs the tests (root ignores permission bits).
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(LosslabError, match="not writable"):
        save_figure(axes.figure, tmp_path / "a.png")
    assert os.listdir(tmp_path) == ["taken.png"]


def test_a_failure_while_rendering_leaves_no_file(tmp_path):
    figure = Figure()
    ax = figure.add_subplot()
    ax.text(0.5, 0.5, r"$\unknowncommand$")  # mathtext fails only when drawn
    with pytest.raises(ValueError):
        save_figure(figure, tmp_path / "broken.png")
    assert os.listdir(tmp_path) == []
