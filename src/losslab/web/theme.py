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
# What every dcc.Graph shows in its mode bar, and only while the pointer is over the graph: a
# PNG button, box zoom and its reset (2-D), the camera's reset (3-D). Three small buttons stay
# clear of the panels' titles; no plotly logo, nothing that talks to a cloud. `responsive`:
# the figure follows its box when the window changes size.
MODEBAR_REMOVED = [
    "lasso2d",
    "select2d",
    "autoScale2d",
    "pan2d",
    "zoomIn2d",
    "zoomOut2d",
    "hoverClosestCartesian",
    "hoverCompareCartesian",
    "toggleSpikelines",
    "zoom3d",
    "pan3d",
    "orbitRotation",
    "tableRotation",
    "resetCameraLastSave3d",
    "hoverClosest3d",
    "sendChartToCloud",
]
GRAPH_CONFIG = {
    "displaylogo": False,
    "displayModeBar": "hover",
    "responsive": True,
    "scrollZoom": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "modeBarButtonsToRemove": MODEBAR_REMOVED,
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
        "margin": {"l": 60, "r": 16, "t": 56, "b": 52},
        "legend": LEGEND_ABOVE,
        "hovermode": "closest",
        "autosize": True,  # the dcc.Graph's own height decides
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }
    layout.update(extra)
    return layout
