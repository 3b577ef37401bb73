"""One look for every page: the colour scale, fonts, figure margins and the plotly config.

Landscapes use Viridis everywhere (the same 17 stops plotly.js uses, so the raster image and
its colour bar agree), optimizers keep the colours of `losslab.plot`, basins its palette.
"""

from __future__ import annotations

import numpy as np

from losslab.plot import _common as common

# plotly.js's own Viridis stops (src/components/colorscale/scales.js).
VIRIDIS = (
    (0.0, "#440154"),
    (0.06274509803921569, "#48186a"),
    (0.12549019607843137, "#472d7b"),
    (0.18823529411764706, "#424086"),
    (0.25098039215686274, "#3b528b"),
    (0.3137254901960784, "#33638d"),
    (0.3764705882352941, "#2c728e"),
    (0.4392156862745098, "#26828e"),
    (0.5019607843137255, "#21918c"),
    (0.5647058823529412, "#1fa088"),
    (0.6274509803921569, "#28ae80"),
    (0.6901960784313725, "#3fbc73"),
    (0.7529411764705882, "#5ec962"),
    (0.8156862745098039, "#84d44b"),
    (0.8784313725490196, "#addc30"),
    (0.9411764705882353, "#d8e219"),
    (1.0, "#fde725"),
)
COLOURSCALE = [[position, colour] for position, colour in VIRIDIS]

OPTIMIZER_COLOURS = common.OPTIMIZER_COLOURS
DIVERGED = common.DIVERGED_COLOUR
ATTRACTING = common.ATTRACTING_COLOUR
REPELLING = common.REPELLING_COLOUR
INK = "#1f2430"
MUTED = "#5b6475"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

GRAPH_HEIGHT = 540
# What every dcc.Graph shows in its mode bar: no plotly logo, and nothing that talks to a
# cloud (plotly.js 4 adds a "Share chart..." button that uploads the figure): a PNG button.
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "scrollZoom": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d", "sendChartToCloud"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
LEGEND_ABOVE = {
    "orientation": "h",
    "x": 0.0,
    "xanchor": "left",
    "y": 1.01,
    "yanchor": "bottom",
    "font": {"size": 12},
    "bgcolor": "rgba(255,255,255,0)",
    "itemclick": "toggle",
}


def base_layout(**extra) -> dict:
    """The layout every figure starts from (template, font, margins, legend above the plot)."""
    layout = {
        "template": common.TEMPLATE,
        "font": {"family": FONT, "size": 13, "color": INK},
        "margin": {"l": 64, "r": 16, "t": 56, "b": 52},
        "legend": LEGEND_ABOVE,
        "hovermode": "closest",
        "autosize": True,  # the dcc.Graph's own height decides
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }
    layout.update(extra)
    return layout


def viridis_rgb(t: np.ndarray) -> np.ndarray:
    """Positions in [0, 1] (any shape) -> RGB in [0, 255], (..., 3), linear between stops."""
    stops = np.array([p for p, _ in VIRIDIS])
    colours = np.array([common.hex_to_rgb(c) for _, c in VIRIDIS]) * 255.0
    t = np.clip(t, 0.0, 1.0)
    return np.stack([np.interp(t, stops, colours[:, i]) for i in range(3)], axis=-1)
