"""No white seams between filled contour bands where a browser draws the SVG.

Chromium antialiases each band of the SVG on its own, as a PDF viewer does; without the
stroke of `backend_mpl.seamless` the white page shows through along every band boundary.
Only the bands are drawn (lines, markers and the colour bar hidden) so that any near-white
pixel inside the Axes is a seam: no colour of viridis has all three channels above 97.
"""

import base64
import io

import numpy as np
import pytest
from PIL import Image

import losslab as ll
from losslab.plot import static
from losslab.plot.export import save_figure

pytestmark = pytest.mark.browser

WIDTH_PX = 1200  # CSS pixels of the drawn SVG; rendered at 2 device pixels each
WHITE_SHOWS = 130  # a pixel whose darkest channel is above this has the page blended in


def _bands_only_svg(tmp_path):
    ax = static.contour(ll.surface("rosenbrock"), resolution=40)
    for artist in ax.get_children():
        if artist.get_gid() != "losslab-landscape":
            artist.set_visible(False)
    return ax, save_figure(ax, tmp_path / "bands.svg").read_bytes()


def test_no_near_white_pixel_between_bands(browser, tmp_path):
    ax, svg = _bands_only_svg(tmp_path)
    width_in, height_in = ax.figure.get_size_inches()
    height_px = round(WIDTH_PX * height_in / width_in)
    context = browser.new_context(
        viewport={"width": WIDTH_PX, "height": height_px}, device_scale_factor=2
    )
    try:
        tab = context.new_page()
        source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        tab.set_content(
            f'<body style="margin:0"><img src="{source}" '
            f'style="display:block;width:{WIDTH_PX}px;height:{height_px}px"></body>'
        )
        tab.wait_for_function("document.images[0].complete")
        pixels = np.asarray(Image.open(io.BytesIO(tab.screenshot())).convert("RGB"))
    finally:
        context.close()
    # The Axes' box in device pixels (figure fractions, y from the top), 1% inside its frame.
    box = ax.get_position()
    rows, cols = pixels.shape[:2]
    inset = 0.01
    top, bottom = (1 - box.y1 + inset) * rows, (1 - box.y0 - inset) * rows
    left, right = (box.x0 + inset) * cols, (box.x1 - inset) * cols
    inside = pixels[int(top) : int(bottom), int(left) : int(right)]
    assert inside.size > 0.3 * pixels.size  # the crop is the plot, not a sliver
    seams = inside.min(axis=2) > WHITE_SHOWS
    assert seams.sum() == 0, f"{seams.sum()} near-white pixels between the bands"
