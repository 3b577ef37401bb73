"""One look for every page: fonts, figure margins, the legend and the plotly config.

Every colour, marker and colour scale of a picture comes from `losslab.plot.style` (the one
style table); this is only the page around it.
"""

from __future__ import annotations

from losslab.plot import style

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
        "template": style.TEMPLATE,
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
