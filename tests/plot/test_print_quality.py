"""Print quality: filled contour bands carry no seams in SVG/PDF, and PNGs honour dpi.

A viewer antialiases each band of a vector file on its own, so a white hairline shows where two
bands meet unless each band is stroked in its own colour (backend_mpl.seamless). The browser
test in tests/web/test_print_seams.py looks at the rendered SVG itself.
"""

import re
import zlib

import numpy as np
import pytest
from PIL import Image

import losslab as ll
from losslab.errors import LosslabError
from losslab.plot import static
from losslab.plot.backend_mpl import SEAM_WIDTH_PT
from losslab.plot.export import DPI_RANGE, PNG_DPI, save_figure

STYLE = re.compile(r'style="([^"]*)"')


def _contour():
    return static.contour(ll.surface("rosenbrock"), resolution=25)


def _band_styles(svg: str) -> list[dict[str, str]]:
    """The style of every path inside the <g id="losslab-landscape"> group (the bands)."""
    start = svg.index('<g id="losslab-landscape">')
    group = svg[start : svg.index("</g>", start)]
    styles = []
    for text in STYLE.findall(group):
        pairs = (item.split(":", 1) for item in text.split(";") if ":" in item)
        styles.append({key.strip(): value.strip() for key, value in pairs})
    return styles


def test_every_svg_band_is_stroked_in_its_own_fill(tmp_path):
    svg = save_figure(_contour(), tmp_path / "c.svg").read_text()
    styles = _band_styles(svg)
    assert len(styles) >= 10  # one path per band
    fills = {style["fill"] for style in styles}
    assert len(fills) == len(styles)  # distinct colours: these are the bands
    for style in styles:
        assert style.get("stroke") == style["fill"]
        assert float(style["stroke-width"]) == pytest.approx(SEAM_WIDTH_PT)


def test_pdf_bands_are_filled_and_stroked(tmp_path):
    """In the PDF's content stream every band is painted with 'B' (fill then stroke) in the
    same colour, where a bare fill ('f') would leave a seam."""
    ax = _contour()
    for artist in ax.get_children():  # only the bands: other artists paint with 'f'/'S' too
        if artist.get_gid() != "losslab-landscape":
            artist.set_visible(False)
    ax.figure.patch.set_visible(False)  # the white page itself is a bare fill
    data = save_figure(ax, tmp_path / "c.pdf").read_bytes()
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
    content = b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")
    fill_rgb = re.findall(rb"([\d.]+ [\d.]+ [\d.]+) rg", content)
    stroke_rgb = re.findall(rb"([\d.]+ [\d.]+ [\d.]+) RG", content)
    painted = re.findall(rb"\n(f|B|S)\n", content)
    assert len(fill_rgb) >= 10 and set(fill_rgb) == set(stroke_rgb)
    assert painted and set(painted) == {b"B"}


def test_a_3d_surface_is_rasterized_in_vector_files(tmp_path):
    """A translucent surface cannot be stroked without a darker grid: its facets become one
    image, beside the colour bar's (matplotlib rasterizes a 256-step bar itself)."""
    ax = static.surface_3d(ll.surface("bowl"), resolution=8)
    surface = next(a for a in ax.get_children() if a.get_gid() == "losslab-landscape")
    assert surface.get_rasterized()
    svg = save_figure(ax, tmp_path / "s.svg").read_text()
    assert svg.count("<image") == 2  # the surface and the colour bar
    assert svg.count("<text") + svg.count('<g id="text_') > 0  # labels stay vector


def test_png_size_follows_dpi(tmp_path):
    ax = _contour()
    width_in, height_in = ax.figure.get_size_inches()
    default = Image.open(save_figure(ax, tmp_path / "a.png")).size
    sharper = Image.open(save_figure(ax, tmp_path / "b.png", dpi=200)).size
    assert default == (round(width_in * PNG_DPI), round(height_in * PNG_DPI))
    assert sharper == (round(width_in * 200), round(height_in * 200))
    assert np.allclose(np.divide(sharper, default), 200 / PNG_DPI, atol=0.01)


@pytest.mark.parametrize("dpi", [DPI_RANGE[0] - 1, DPI_RANGE[1] + 1, 150.5, True, "300"])
def test_a_bad_dpi_is_refused_before_any_file(tmp_path, dpi):
    with pytest.raises(LosslabError, match="from 50 to 1200"):
        save_figure(_contour(), tmp_path / "a.png", dpi=dpi)
    assert list(tmp_path.iterdir()) == []
