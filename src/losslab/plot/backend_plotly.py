"""Draw a `Scene` with plotly: one `go.Figure`, panels as subplots.

    fig = draw(scene)                                     # a plain interactive figure
    fig = draw(scene, raster=True, hover_stride=4,        # the web lab's fast figure
               uirevision="rosenbrock", datarevision=3, layout=theme.base_layout())

Trace contract (fixed indices, what an animation or a patch relies on): the items of the
panels, in order, give exactly these traces, empty or not:
    Field 1 (contour / heatmap / surface; with raster=True an invisible heatmap over an image
    in layout.images), Path 1, Markers 1, LegendEntry 1, Arrows 2 for a field of arrows
    (dark outline, light arrows), 1 for headless arrows (segments), 0 for headed arrows
    (layout.annotations), Text 0 (an annotation), Rule 0 (a shape).
Every trace's `meta` is its item's name ('landscape', 'path', 'start', 'end', 'legend', ...).
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from losslab.plot import style
from losslab.plot.scene import (
    Arrows,
    Bars,
    ColourScale,
    Field,
    LegendEntry,
    Markers,
    Panel,
    Path,
    Rule,
    Scene,
    Text,
)

PX = style.PX_PER_PT
LEGEND_BELOW = {
    "orientation": "h",
    "x": 0.5,
    "xanchor": "center",
    "y": -0.14,
    "yanchor": "top",
    "font": {"size": 11},
}
EDGE_SHADE = 0.68  # a contour line darkens its raster pixels to this fraction of the band
LINE_SHADES = 4  # a line's weight takes one of 4 values: the image fits a 256-colour palette
DASHES = {"solid": "solid", "dash": "dash", "dot": "dot"}


def draw(
    scene: Scene,
    *,
    raster: bool = False,
    hover_stride: int = 1,
    uirevision=None,
    datarevision=None,
    layout: dict | None = None,
    colourbar: dict | None = None,
    camera: dict | None = None,
    height: int | None = None,
    width: int | None = None,
    spacing: float | None = None,
) -> go.Figure:
    """The scene as a plotly Figure.

    raster: draw each filled Field of a plane panel as a banded PNG in layout.images with an
        invisible heatmap on top for hover, clicks and the colour bar (plotly.js #4491:
        `Plotly.animate` without redraw drops contour layers, never an image).
    hover_stride: the invisible heatmap keeps every k-th grid point (lighter to send).
    uirevision, datarevision: passed to the layout (keep zoom across updates; force a redraw).
    layout: a base layout merged under the scene's own (the web lab's theme).
    colourbar: extra colour-bar settings for every field (thickness, position, ...).
    camera: the 3-D camera of surface panels (default: matplotlib's view, azimuth -60).
    height, width: pixels (default from scene.size).
    spacing: room between panels, a fraction of the width (default 0.17; more for a colour bar
        beside a panel whose neighbour has a y-axis title).
    """
    n = len(scene.panels)
    rows, columns = scene.grid
    specs = [[None] * columns for _ in range(rows)]
    for i, panel in enumerate(scene.panels):
        row, col = scene.place(i)
        specs[row][col] = _spec(panel)
    widths = list(scene.widths) if scene.widths else None
    fig = make_subplots(
        rows=rows,
        cols=columns,
        specs=specs,
        column_widths=widths,
        horizontal_spacing=(0.17 if spacing is None else spacing) if columns > 1 else 0.02,
        vertical_spacing=0.3 / rows if rows > 1 else None,
        subplot_titles=[p.title for p in scene.panels] if n > 1 else None,
    )
    base = {
        "template": style.TEMPLATE,
        "legend": LEGEND_BELOW,
        "height": height or int(round(scene.size[1] * 115)),
    }
    if width or n > 1:
        base["width"] = width or int(round(scene.size[0] * 100))
    fig.update_layout(**(layout or {}))
    fig.update_layout(**{k: v for k, v in base.items() if not (layout and k in layout)})
    title = scene.title or (scene.panels[0].title if n == 1 else "")
    fig.update_layout(title={"text": title, "x": 0.5})
    if uirevision is not None:
        fig.update_layout(uirevision=uirevision)
    if datarevision is not None:
        fig.update_layout(datarevision=datarevision)
    options = _Options(raster, max(1, int(hover_stride)), colourbar or {}, camera)
    for i, panel in enumerate(scene.panels):
        row, col = scene.place(i)
        _panel(fig, panel, col + 1, columns, options, row + 1)
    if all(panel.legend == "none" for panel in scene.panels):
        fig.update_layout(showlegend=False)
    return fig


@dataclass(frozen=True)
class _Options:
    raster: bool
    stride: int
    colourbar: dict
    camera: dict | None


def _spec(panel: Panel) -> dict:
    if panel.kind == "surface":
        return {"type": "scene"}
    return {"type": "xy", "secondary_y": panel.y2 is not None}


# -- one panel ----------------------------------------------------------------------------------


def _panel(fig: go.Figure, panel: Panel, col: int, n: int, options: _Options, row: int = 1) -> None:
    rc = {"row": row, "col": col}
    three_d = panel.kind == "surface"
    refs = _refs(fig, col, three_d, row)
    for item in panel.items:
        if isinstance(item, Field):
            _field(fig, item, panel, refs, col, n, options, rc)
        elif isinstance(item, Path):
            fig.add_trace(_path(item, panel), secondary_y=item.axis == "y2", **rc)
        elif isinstance(item, STANDALONE):
            fig.add_trace(item_trace(item, panel), **rc)
        elif isinstance(item, Arrows):
            for trace in _arrow_traces(item, fig, refs):
                fig.add_trace(trace, **rc)
        elif isinstance(item, Text):
            fig.add_annotation(_text(item, refs))
        elif isinstance(item, Rule):
            line = style.LINES[item.style]
            fig.add_vline(
                x=item.x,
                line={"color": line.colour, "width": line.width * PX, "dash": line.dash},
                **rc,
            )
    if three_d:
        _scene_axes(fig, panel, refs["scene"], options)
    else:
        _axes(fig, panel, refs, rc)
    if panel.legend_title:
        fig.update_layout(legend={"title": {"text": panel.legend_title}})


# Items whose one trace needs nothing from the figure around it: a patch can make just these
# traces, without building (and validating) a whole Figure.
STANDALONE = (Path, Markers, LegendEntry, Bars)


def item_json(item, panel: Panel) -> dict:
    """`item_trace(item, panel).to_plotly_json()` (the same JSON once encoded) without
    plotly's validation, which costs ~1 ms a trace: a click's path and markers, built on
    every click, go to the browser as these plain dicts."""
    if isinstance(item, Path):
        kind, props = _path_props(item, panel)
    elif isinstance(item, Markers):
        kind, props = _markers_props(item, panel)
    else:
        return item_trace(item, panel).to_plotly_json()
    return {"type": _TRACE_TYPES[kind], **_without_none(props)}


_TRACE_TYPES = {go.Scatter: "scatter", go.Scatter3d: "scatter3d"}


def _without_none(props: dict) -> dict:
    """What plotly keeps of trace properties: a property set to None is unset, at any depth;
    tuples are lists."""
    out = {}
    for key, value in props.items():
        if isinstance(value, dict):
            value = _without_none(value)
        elif isinstance(value, tuple):
            value = list(value)
        if value is not None:
            out[key] = value
    return out


def item_trace(item, panel: Panel):
    """The one trace `draw` makes of a Path, Markers, LegendEntry or Bars item on `panel`
    (before `add_trace` places it on its subplot's axes)."""
    if isinstance(item, Path):
        return _path(item, panel)
    if isinstance(item, Markers):
        return _markers(item, panel)
    if isinstance(item, LegendEntry):
        return _legend_entry(item, panel.kind == "surface")
    if isinstance(item, Bars):
        return _bars(item)
    raise TypeError(f"{type(item).__name__} items need the whole figure: use draw().")


def _refs(fig: go.Figure, col: int, three_d: bool, row: int = 1) -> dict:
    """The axis ids of a subplot: {'x': 'x2', 'y': 'y2'} or {'scene': 'scene2'}."""
    ref = fig.get_subplot(row, col)
    if three_d:
        return {"scene": ref.plotly_name}
    return {
        "x": ref.xaxis.plotly_name.replace("axis", ""),
        "y": ref.yaxis.plotly_name.replace("axis", ""),
    }


def _short(label: str) -> str:
    """'direction 1 (filter-normalized, seed 0)' -> 'direction 1' for hovers and 3-D axes;
    a short label ('w1 (x)') stays whole."""
    return label.split(" (", 1)[0] if len(label) > 24 else label


def _hover_xy(panel: Panel) -> str:
    x, y = _short(panel.x.label) or "x", _short(panel.y.label) or "y"
    return f"{x} = %{{x:.4g}}<br>{y} = %{{y:.4g}}"


# -- fields -------------------------------------------------------------------------------------


def _field(fig, item: Field, panel: Panel, refs, col: int, n: int, options: _Options, rc):
    if item.categories is not None:
        fig.add_trace(_categories(item, panel), **rc)
        return
    scale = item.scale
    bar = _colourbar(item, fig, col, n, options)
    if panel.kind == "surface":
        fig.add_trace(
            go.Surface(
                x=item.x,
                y=item.y,
                z=np.clip(item.z, scale.lo, scale.hi).T,  # 'ij' -> plotly's z[j][i]
                customdata=item.values.T,
                colorscale=style.COLOURMAPS[scale.colourmap][1],
                cmin=scale.lo,
                cmax=scale.hi,
                showscale=item.colourbar,
                colorbar=bar,
                opacity=style.FIELDS["surface"].alpha if item.opacity == 1.0 else item.opacity,
                hovertemplate=_hover_xy(panel)
                + f"<br>{item.value_name} = %{{customdata:.4g}}<extra></extra>",
                name=item.name,
                meta=item.name,
                showlegend=False,
            ),
            **rc,
        )
        return
    value = "%{customdata:.4g}" if scale.log else "%{z:.4g}"
    tagged = {"name": item.name, "meta": item.name, "showlegend": False}
    coloured = {  # the colour scale and its bar, the same for every coloured field
        "colorscale": style.COLOURMAPS[scale.colourmap][1],
        "zmin": scale.lo,
        "zmax": scale.hi,
        "showscale": item.colourbar,
        "colorbar": bar,
        "hovertemplate": _hover_xy(panel) + f"<br>{item.value_name} = {value}<extra></extra>",
        **tagged,
    }
    look = style.FIELDS[item.draw]
    if item.draw == "filled" and options.raster:
        fig.add_layout_image(raster_image(item, refs["x"], refs["y"]))
        s = options.stride
        z = item.z[::s, ::s].T.astype(np.float32)  # float32: plenty for hover, half the bytes
        custom = item.values[::s, ::s].T.astype(np.float32) if scale.log else None
        trace = go.Heatmap(
            x=item.x[::s], y=item.y[::s], z=z, customdata=custom, opacity=0, **coloured
        )
    elif item.draw == "heatmap":
        custom = item.values.T if scale.log else None
        trace = go.Heatmap(x=item.x, y=item.y, z=item.z.T, customdata=custom, **coloured)
    elif item.draw == "lines":
        trace = go.Contour(
            x=item.x,
            y=item.y,
            z=item.z.T,
            showscale=False,
            hoverinfo="skip",
            opacity=look.line_alpha,
            colorscale=[[0, "black"], [1, "black"]],
            line={"width": look.line_width * PX},
            contours=_levels(scale, look, "lines"),
            **tagged,
        )
    else:
        trace = go.Contour(
            x=item.x,
            y=item.y,
            z=item.z.T,
            customdata=item.values.T if scale.log else None,
            connectgaps=False,
            contours={**_levels(scale, look, "fill"), "showlines": True},
            line={"width": look.line_width * PX, "color": f"rgba(0,0,0,{look.line_alpha})"},
            **coloured,
        )
    fig.add_trace(trace, **rc)


def _levels(scale, look, coloring: str) -> dict:
    """Contour levels: look.levels equal steps over the scale's range."""
    step = (scale.hi - scale.lo) / look.levels
    return {"start": scale.lo, "end": scale.hi, "size": step, "coloring": coloring}


def _colourbar(item: Field, fig, col: int, n: int, options: _Options) -> dict:
    bar = {"title": {"text": item.scale.label, "side": "right"}}
    if n > 1 and col < n:  # beside its own panel, not at the figure's right edge
        ref = fig.get_subplot(1, col)
        domain = ref.domain.x if hasattr(ref, "camera") else ref.xaxis.domain
        bar.update({"x": domain[1] + 0.005, "xanchor": "left", "thickness": 14})
    extra = dict(options.colourbar)
    title = extra.pop("title", {})
    bar.update(extra)
    bar["title"] = {**bar["title"], **title}
    return bar


def _categories(item: Field, panel: Panel) -> go.Heatmap:
    cats = item.categories
    edges = cats.bounds
    return go.Heatmap(
        x=item.x,
        y=item.y,
        z=item.values.T,
        colorscale=style.discrete_colourscale(cats.colours),
        zmin=float(edges[0]),
        zmax=float(edges[-1]),
        showscale=False,
        opacity=item.opacity,
        hovertemplate=_hover_xy(panel) + "<br>basin %{z}<extra></extra>",
        name=item.name,
        meta=item.name,
    )


# -- the raster contour (the web lab's fast filled contour) -------------------------------------


@dataclass(frozen=True)
class Raster:
    """A palette image: `palette[indices]` is the RGB of each pixel; `transparent` marks the
    pixels where the value is not finite. Row 0 is the top of the picture (largest y)."""

    indices: np.ndarray  # (n_y, n_x) uint8
    palette: np.ndarray  # (k, 3) uint8
    transparent: int

    def rgb(self) -> np.ndarray:
        return self.palette[self.indices]

    def png(self) -> bytes:
        from PIL import Image

        image = Image.fromarray(self.indices, mode="P")
        image.putpalette(self.palette.reshape(-1).tolist())
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", transparency=self.transparent, optimize=False)
        return buffer.getvalue()


def colourmap_rgb(t: np.ndarray, colourmap: str = "viridis") -> np.ndarray:
    """Positions in [0, 1] (any shape) -> RGB in [0, 255], (..., 3), linear between stops."""
    stops = style.COLOURMAPS[colourmap][1]
    where = np.array([p for p, _ in stops])
    colours = np.array([style.hex_to_rgb(c) for _, c in stops]) * 255.0
    t = np.clip(t, 0.0, 1.0)
    return np.stack([np.interp(t, where, colours[:, i]) for i in range(3)], axis=-1)


def raster(field: Field, levels: int | None = None) -> Raster:
    """The field's colour map in `levels` flat bands with anti-aliased contour lines about a
    pixel wide where the value crosses a band edge, as an 8-bit palette image.

    The weight of the line at a pixel is 1 - its distance to the nearest level in pixels: the
    level coordinate s = levels * t changes by |grad s| per pixel, so |s - round(s)| / |grad s|
    is that distance, without tracing a single contour."""
    scale: ColourScale = field.scale
    levels = levels or style.FIELDS["filled"].levels
    z = field.z.T  # 'xy': row j is y[j]
    finite = np.isfinite(z)
    t = (np.where(finite, z, scale.lo) - scale.lo) / (scale.hi - scale.lo)
    s = np.clip(t, 0.0, 1.0) * levels
    band = np.clip(np.floor(s), 0, levels - 1).astype(np.int64)
    gy, gx = np.gradient(s)
    nearest = np.round(s)
    distance = np.abs(s - nearest) / np.maximum(np.hypot(gx, gy), 1e-9)
    weight = np.clip(1.0 - distance, 0.0, 1.0)
    weight[(nearest <= 0) | (nearest >= levels)] = 0.0  # no line at the clipped ends
    shade = np.round(weight * (LINE_SHADES - 1)).astype(np.int64)
    transparent = levels * LINE_SHADES
    indices = np.where(finite, band * LINE_SHADES + shade, transparent)
    colours = colourmap_rgb((np.arange(levels) + 0.5) / levels, scale.colourmap)
    darken = 1.0 - (1.0 - EDGE_SHADE) * np.arange(LINE_SHADES) / (LINE_SHADES - 1)
    palette = (colours[:, None, :] * darken[None, :, None]).reshape(-1, 3)
    palette = np.vstack([palette, [[255.0, 255.0, 255.0]]]).round().astype(np.uint8)
    return Raster(indices[::-1].astype(np.uint8), palette, transparent)


def raster_image(field: Field, xref: str = "x", yref: str = "y") -> dict:
    """The banded raster as a layout image, placed so that pixel centres sit on grid points."""
    x, y = field.x, field.y
    dx, dy = (x[-1] - x[0]) / (len(x) - 1), (y[-1] - y[0]) / (len(y) - 1)
    png = raster(field).png()
    return {
        "source": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        "xref": xref,
        "yref": yref,
        "x": float(x[0] - dx / 2),
        "y": float(y[-1] + dy / 2),
        "sizex": float(dx * len(x)),
        "sizey": float(dy * len(y)),
        "sizing": "stretch",
        "layer": "below",
        "xanchor": "left",
        "yanchor": "top",
        "name": field.name,
    }


# -- paths and markers --------------------------------------------------------------------------


def _custom(item) -> np.ndarray | None:
    if item.steps is None or item.values is None:
        return None
    return np.column_stack([item.steps, item.values])


def _hover(item, panel: Panel) -> str:
    xy = (
        _hover_xy(panel)
        if panel.kind != "chart"
        else f"{_short(panel.x.label) or 'x'} = %{{x:.4g}}"
    )
    extra = f"<extra>{item.label}</extra>" if item.label else "<extra></extra>"
    if item.steps is not None and item.values is not None:
        return "step %{customdata[0]:d}<br>" + xy + "<br>loss = %{customdata[1]:.4g}" + extra
    if panel.kind == "chart":
        return xy + f"<br>{_short(panel.y.label) or 'y'} = %{{y:.4g}}" + extra
    return xy + extra


def _path(item: Path, panel: Panel):
    kind, props = _path_props(item, panel)
    return kind(**props)


def _path_props(item: Path, panel: Panel) -> tuple[type, dict]:
    """The trace class and properties of a Path (also sent as a plain dict: `item_json`)."""
    line_style = style.LINES[item.style]
    colour = item.colour or line_style.colour
    n = len(item.x)
    line = {"color": colour, "width": line_style.width * PX, "dash": DASHES[line_style.dash]}
    common = {
        "x": item.x,
        "y": item.y,
        "name": item.label,
        "legendgroup": item.group or None,
        "showlegend": item.show_legend and bool(item.label),
        "customdata": _custom(item),
        "hovertemplate": _hover(item, panel),
        "meta": item.name,
        "connectgaps": False,
        "opacity": line_style.alpha,
    }
    mode = "lines+markers" if line_style.step_markers else "lines"
    marker = None
    if line_style.step_markers:
        marker = {
            "size": style.step_marker_size(n, line_style.step_size) * PX,
            "color": list(item.marker_colours) if item.marker_colours else colour,
        }
        if item.marker_colours:
            marker["line"] = {"color": colour, "width": 0.6 * PX}
    if panel.kind == "surface":
        if marker:
            marker["size"] = marker["size"] / 2  # 3-D marker sizes read twice as large
        common.pop("opacity")
        line["width"] *= 2  # 3-D lines read half as wide
        return go.Scatter3d, {"z": item.z, "mode": mode, "line": line, "marker": marker, **common}
    if item.errors is not None:
        common["error_y"] = {
            "type": "data",
            "array": np.asarray(item.errors, dtype=np.float64),
            "color": colour,
            "thickness": 1.0 * PX,
            "width": 3 * PX,
        }
    return go.Scatter, {"mode": mode, "line": line, "marker": marker, **common}


def marker_dict(style_name: str, colour: str | None = None, three_d: bool = False) -> dict:
    """A MARKERS style as plotly marker settings (size in px)."""
    look = style.MARKERS[style_name]
    symbol = style.SYMBOLS[look.symbol][2 if three_d else 1]
    fill = look.colour or colour or "black"
    if fill == "none":
        fill = "rgba(0,0,0,0)"
    edge = look.edge if look.edge != "none" else fill
    width = look.edge_width * PX
    if look.halo:  # a white symbol with a dark rim
        edge = "black"
    if look.symbol in ("ring",):
        fill, edge = look.edge, look.edge
    size = look.size * PX * style.PLOTLY_SYMBOL_SCALE.get(look.symbol, 1.0)
    size *= 0.5 if three_d else 1.0  # 3-D markers read twice as large
    return {"symbol": symbol, "size": size, "color": fill, "line": {"color": edge, "width": width}}


def _markers(item: Markers, panel: Panel):
    kind, props = _markers_props(item, panel)
    return kind(**props)


def _markers_props(item: Markers, panel: Panel) -> tuple[type, dict]:
    """The trace class and properties of a Markers item (also sent as `item_json`)."""
    marker = marker_dict(item.style, item.colour, panel.kind == "surface")
    common = {
        "x": item.x,
        "y": item.y,
        "mode": "markers",
        "name": item.label,
        "legendgroup": item.group or None,
        "showlegend": item.show_legend and bool(item.label),
        "marker": marker,
        "customdata": _custom(item),
        "hovertemplate": _hover(item, panel),
        "meta": item.name,
    }
    if panel.kind == "surface":
        return go.Scatter3d, {"z": item.z, **common}
    if item.axes_fraction_y:  # y in axes fraction: plotly scatters know data y only
        common["y"] = _fraction_to_data(np.asarray(item.y, dtype=float), panel.y)
    return go.Scatter, common


def _bars(item: Bars) -> go.Bar:
    return go.Bar(
        x=list(item.labels),
        y=item.heights,
        marker={"color": list(item.colours) if item.colours else style.BAR_COLOUR},
        error_y=None
        if item.errors is None
        else {
            "type": "data",
            "array": item.errors,
            "color": style.WHISKER_COLOUR,
            "thickness": 1.5,
            "width": 4,
        },
        hovertext=list(item.texts) if item.texts else None,
        hovertemplate="%{hovertext}<extra></extra>" if item.texts else None,
        name=item.name,
        meta=item.name,
        showlegend=False,
    )


def _fraction_to_data(fraction: np.ndarray, axis) -> np.ndarray:
    """Axes fractions (0 bottom, 1 top) as data y on an axis with a range (else as is)."""
    if axis.range is None:
        return fraction
    lo, hi = axis.range
    if axis.scale == "log":
        return lo * (hi / lo) ** fraction
    return lo + fraction * (hi - lo)


def _legend_entry(item: LegendEntry, three_d: bool = False):
    trace = _legend_entry_2d(item)
    if not three_d:
        return trace
    plain = trace.to_plotly_json()
    plain.pop("type")
    marker = plain.get("marker", {})
    if "symbol" in marker:
        marker["symbol"] = _symbol_3d(marker["symbol"])
    return go.Scatter3d(z=[None], **plain)


def _symbol_3d(symbol: str) -> str:
    """A plotly 2-D symbol -> the 3-D one with the same meaning (SYMBOLS' third column)."""
    for _, two_d, three_d in style.SYMBOLS.values():
        if two_d == symbol:
            return three_d
    return "circle"


def _legend_entry_2d(item: LegendEntry) -> go.Scatter:
    common = {"x": [None], "y": [None], "name": item.label, "meta": item.name, "hoverinfo": "skip"}
    if item.kind == "marker":
        marker = marker_dict(item.style, item.colour)
        if marker["color"] == "white":  # white vanishes on the legend: draw it dark
            marker["color"] = "#333"
        return go.Scatter(mode="markers", marker=marker, **common)
    if item.kind == "patch":
        marker = {
            "symbol": "square",
            "size": style.MARKERS["basin"].size * PX,
            "color": item.colour,
            "line": {"color": "black", "width": style.MARKERS["basin"].edge_width * PX},
        }
        return go.Scatter(mode="markers", marker=marker, **common)
    if item.kind == "arrow":
        arrow = style.ARROWS[item.style]
        colour = "#333" if arrow.colour == "white" else arrow.colour
        line = {"color": colour, "width": arrow.width * PX, "dash": DASHES[arrow.dash]}
        return go.Scatter(mode="lines", line=line, **common)
    look = style.LINES[item.style]
    line = {"color": item.colour or look.colour, "width": look.width * PX, "dash": look.dash}
    return go.Scatter(mode="lines", line=line, **common)


# -- arrows -------------------------------------------------------------------------------------


def segments(tails: np.ndarray, tips: np.ndarray, head: bool) -> tuple[list, list]:
    """Arrows as line segments: shaft (+ two head barbs at 25 degrees, 35% of the length),
    None-separated."""
    xs: list = []
    ys: list = []
    cos, sin = math.cos(math.radians(25)), math.sin(math.radians(25))
    for (x0, y0), (x1, y1) in zip(tails, tips, strict=True):
        length = math.hypot(x1 - x0, y1 - y0)
        xs += [x0, x1, None]
        ys += [y0, y1, None]
        if not head or length == 0:
            continue
        u, v = (x1 - x0) / length, (y1 - y0) / length
        h = 0.35 * length
        left = (x1 - h * (u * cos - v * sin), y1 - h * (u * sin + v * cos))
        right = (x1 - h * (u * cos + v * sin), y1 - h * (-u * sin + v * cos))
        xs += [left[0], x1, right[0], None]
        ys += [left[1], y1, right[1], None]
    return xs, ys


def _arrow_traces(item: Arrows, fig: go.Figure, refs: dict) -> list:
    look = style.ARROWS[item.style]
    if look.field:
        xs, ys = segments(item.tails, item.tips, True)
        # A dark line under a light one: the arrows read on both ends of the colour map.
        outline = go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": look.edge, "width": (look.width + 1.3) * PX},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=item.name,
            meta=f"{item.name}-outline",
        )
        arrows = go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": look.colour, "width": look.width * PX},
            hoverinfo="skip",
            name=item.label,
            showlegend=item.show_legend and bool(item.label),
            legendgroup=item.name,
            meta=item.name,
        )
        return [outline, arrows]
    if not look.head:
        xs, ys = segments(item.tails, item.tips, False)
        return [
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": look.colour, "width": look.width * PX, "dash": DASHES[look.dash]},
                hoverinfo="skip",
                showlegend=False,
                meta=item.name,
            )
        ]
    for tail, tip in zip(item.tails, item.tips, strict=True):
        fig.add_annotation(
            x=float(tip[0]),
            y=float(tip[1]),
            ax=float(tail[0]),
            ay=float(tail[1]),
            xref=refs["x"],
            yref=refs["y"],
            axref=refs["x"],
            ayref=refs["y"],
            text="",
            showarrow=True,
            arrowhead=2,
            arrowsize=1.1,
            arrowwidth=look.width * PX,
            arrowcolor=look.colour,
            standoff=3,
            startstandoff=3,
        )
    return []


def eigen_annotations(item: Arrows, xref: str = "x", yref: str = "y") -> list[dict]:
    """Headed arrows as layout annotations (what the web lab patches)."""
    fig = go.Figure()
    _arrow_traces(item, fig, {"x": xref, "y": yref})
    return [a.to_plotly_json() for a in fig.layout.annotations]


def _text(item: Text, refs: dict) -> dict:
    where = (
        {"xref": "paper", "yref": "paper"}
        if "scene" in refs
        else {"xref": f"{refs['x']} domain", "yref": f"{refs['y']} domain"}
    )
    box = item.style != "plain"
    return {
        "x": item.x,
        "y": item.y,
        **where,
        "xanchor": "left",
        "yanchor": "top",
        "showarrow": False,
        "align": "left",
        "text": item.text.replace("\n", "<br>"),
        "font": {
            "color": item.colour,
            "size": 12 if item.style == "mono" else 11,
            **({"family": "monospace"} if item.style == "mono" else {}),
        },
        "bgcolor": "rgba(255,255,255,0.88)" if box else None,
        "bordercolor": item.colour if box else None,
        "borderwidth": 1 if box else 0,
    }


# -- axes ---------------------------------------------------------------------------------------


def axis_layout(panel: Panel, x_ref: str = "x") -> tuple[dict, dict]:
    """The x and y axis settings `draw` gives a 2-D panel, as plain dicts (a patch of axes
    whose ranges follow the data sends them without drawing a figure); x_ref: the x axis a
    panel of equal units anchors its y axis to."""
    xaxis: dict = {"title": {"text": panel.x.label}}
    if panel.x.range is not None:
        xaxis["range"] = list(panel.x.range)
    yaxis: dict = {"title": {"text": panel.y.label}}
    # A grid only where the panel asks for one, as matplotlib draws it (not over a map).
    xaxis["showgrid"] = yaxis["showgrid"] = panel.grid
    if panel.kind == "plane":
        xaxis.update(constrain="domain", zeroline=False)
        yaxis.update(constrain="domain", zeroline=False)
    if panel.x.scale == "log":  # ticks at powers of 2 (widths 8, 16, 32), as matplotlib's
        xaxis.update(type="log", dtick=math.log10(2))
    if panel.find(Bars):
        xaxis["type"] = "category"  # labels such as "16" are names, not numbers
    yaxis["type"] = "log" if panel.y.scale == "log" else "linear"
    if panel.y.scale == "log":
        yaxis["exponentformat"] = "power"  # 10^-3, as matplotlib writes it (not 1m)
    if panel.y.range is not None:
        lo, hi = panel.y.range
        yaxis["range"] = [math.log10(lo), math.log10(hi)] if panel.y.scale == "log" else [lo, hi]
    if panel.y.colour:
        yaxis["color"] = panel.y.colour
    if panel.equal:
        yaxis.update(scaleanchor=x_ref, scaleratio=1)
    return xaxis, yaxis


def _axes(fig: go.Figure, panel: Panel, refs: dict, rc: dict) -> None:
    xaxis, yaxis = axis_layout(panel, refs["x"])
    fig.update_xaxes(**xaxis, **rc)
    secondary = {"secondary_y": False} if panel.y2 is not None else {}
    fig.update_yaxes(**yaxis, **rc, **secondary)
    if panel.y2 is not None:
        y2 = {"title_text": panel.y2.label, "showgrid": False}
        if panel.y2.colour:
            y2["color"] = panel.y2.colour
        fig.update_yaxes(**y2, secondary_y=True, **rc)
    if panel.legend == "inside":  # the top right corner of this panel (of the figure: one)
        subplot = fig.get_subplot(rc["row"], rc["col"])
        (_, right), (_, top) = subplot.xaxis.domain, subplot.yaxis.domain
        fig.update_layout(
            legend={
                "orientation": "v",
                "x": right - 0.01,
                "xanchor": "right",
                "y": top - 0.01,
                "yanchor": "top",
            }
        )


def _scene_axes(fig: go.Figure, panel: Panel, name: str, options: _Options) -> None:
    def axis(a) -> dict:
        out = {"title": {"text": _short(a.label)}}
        if a.range is not None:
            out["range"] = list(a.range)
        return out

    fig.update_layout(
        {
            name: {
                "xaxis": axis(panel.x),
                "yaxis": axis(panel.y),
                # few z ticks: crowded ones run into the z title at a steep camera
                "zaxis": {**axis(panel.z), "nticks": 5},
                "aspectmode": "manual",
                "aspectratio": {"x": 1, "y": 1, "z": 0.7},
                # matplotlib's default view (azimuth -60, elevation 30), so both agree
                # (the panel's own camera wins over the call's)
                "camera": {"eye": panel.camera.eye()}
                if panel.camera is not None
                else options.camera or {"eye": {"x": 0.95, "y": -1.65, "z": 1.1}},
            }
        }
    )


def trace_indices(fig: go.Figure) -> dict[str, list[int]]:
    """{meta: [trace indices]}: where each named item landed (for patches and animation)."""
    out: dict[str, list[int]] = {}
    for i, trace in enumerate(fig.data):
        out.setdefault(str(trace.meta), []).append(i)
    return out
