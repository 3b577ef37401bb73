"""Draw a `Scene` with matplotlib: a Figure (pyplot is never imported: no global registry, no
GUI, nothing shown), or one panel into an Axes the caller gives.

    figure = draw(scene)                 # panels side by side, constrained layout
    ax = draw_panel(scene.panel, ax)     # into an existing Axes (3-D for a surface panel)

Artists carry gid "losslab-<name>" of their item ("losslab-path", "losslab-start",
"losslab-end", "losslab-diverged", "losslab-minimum", "losslab-critical-<kind>",
"losslab-gradient", "losslab-landscape", "losslab-basins", "losslab-eigen", ...); the step
markers of a path with a colour ramp are "losslab-steps".
"""

from __future__ import annotations

import functools

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, ScalarFormatter
from matplotlib.transforms import ScaledTranslation

from losslab.plot import style
from losslab.plot.scene import (
    Arrows,
    Bars,
    Field,
    LegendEntry,
    Markers,
    Panel,
    Path,
    Rule,
    Scene,
    Text,
)

# A white marker with a black outline reads on every colour of the map.
HALO = [patheffects.Stroke(linewidth=3.5, foreground="black"), patheffects.Normal()]
DASHES = {"solid": "-", "dash": "--", "dot": ":"}
LEGEND_GAP_PT = 34  # a legend below an Axes starts this far under it: ticks, then the x label
# Filled bands and surface facets are stroked in their own colour this wide (points), so that a
# PDF/SVG viewer's antialiasing leaves no white hairline where two bands meet (see `seamless`).
SEAM_WIDTH_PT = 0.3
# Drawing order: fields under arrows under markers under paths under run ends.
Z = {
    "field": 0,
    "lines": 2,
    "arrows": 3,
    "rule": 2,
    "curve": 3,
    "path": 7,
    "markers": 6,
    "start": 8,
    "end": 9,
    "text": 10,
}


def draw(scene: Scene) -> Figure:
    """A new Figure with one Axes per panel (3-D for surface panels)."""
    figure = Figure(figsize=scene.size, layout="constrained")
    n = len(scene.panels)
    rows, columns = scene.grid
    ratios = list(scene.widths) if scene.widths else [1.0] * columns
    grid = figure.add_gridspec(rows, columns, width_ratios=ratios)
    for i, panel in enumerate(scene.panels):
        projection = "3d" if panel.kind == "surface" else None
        ax = figure.add_subplot(grid[scene.place(i)], projection=projection)
        ax.set_gid(f"losslab-panel-{i}")  # colour bars and twins add Axes: find panels by gid
        draw_panel(panel, ax)
    if scene.title and n > 1:
        figure.suptitle(scene.title)
    elif scene.title:
        figure.axes[0].set_title(scene.title)
    return figure


def new_axes(scene: Scene) -> Axes:
    """A one-Axes Figure of the scene's size, 3-D when its panel is a surface."""
    figure = Figure(figsize=scene.size, layout="constrained")
    return figure.add_subplot(projection="3d" if scene.panel.kind == "surface" else None)


def draw_panel(panel: Panel, ax: Axes) -> Axes:
    """Draw one panel's items in order into `ax`, then its axes and legend."""
    three_d = panel.kind == "surface"
    if three_d:
        ax.computed_zorder = False  # call order: paths stay on top of the surface
    twin = ax.twinx() if panel.y2 is not None else None
    proxies: list = []
    for item in panel.items:
        if isinstance(item, Field):
            _field(ax, item, three_d)
        elif isinstance(item, Path):
            _path(twin if item.axis == "y2" and twin is not None else ax, item, three_d)
        elif isinstance(item, Markers):
            _markers(ax, item, three_d)
        elif isinstance(item, Arrows):
            _arrows(ax, item)
        elif isinstance(item, Text):
            _text(ax, item)
        elif isinstance(item, Rule):
            look = style.LINES[item.style]
            ax.axvline(
                item.x, color=look.colour, lw=look.width, ls=DASHES[look.dash], zorder=Z["rule"]
            )
        elif isinstance(item, LegendEntry):
            proxies.append(legend_proxy(item))
        elif isinstance(item, Bars):
            ax.bar(
                list(item.labels),
                item.heights,
                color=item.colours or style.BAR_COLOUR,
                yerr=item.errors,
                ecolor=style.WHISKER_COLOUR,
                capsize=3,
            )
    _axes(ax, panel, twin)
    _legend(ax, panel, twin, proxies)
    return ax


# -- fields -------------------------------------------------------------------------------------


def _field(ax: Axes, item: Field, three_d: bool) -> None:
    gid = f"losslab-{item.name}"
    if item.categories is not None:
        cats = item.categories
        cmap = ListedColormap(list(cats.colours))
        norm = BoundaryNorm(cats.bounds, cmap.N)
        ax.imshow(
            item.values.T,
            origin="lower",
            extent=_extent(item),
            cmap=cmap,
            norm=norm,
            interpolation="nearest",
            aspect="auto",
            alpha=item.opacity,
            gid=gid,
            zorder=Z["field"],
        )
        return
    scale = item.scale
    cmap = style.COLOURMAPS[scale.colourmap][0]
    look = style.FIELDS[item.draw]
    z = np.ma.masked_invalid(item.z.T)  # 'ij' -> 'xy': z[j, i] at (x[i], y[j])
    if three_d:
        X, Y = np.meshgrid(item.x, item.y)
        surface = ax.plot_surface(
            X,
            Y,
            np.clip(item.z.T, scale.lo, scale.hi),
            cmap=cmap,
            vmin=scale.lo,
            vmax=scale.hi,
            rstride=1,
            cstride=1,
            linewidth=0,
            antialiased=False,
            alpha=look.alpha,
            zorder=1,
            gid=gid,
        )
        seamless(surface)
        if item.colourbar:
            bar = ax.figure.colorbar(surface, ax=ax, shrink=0.6, pad=0.1, label=scale.label)
            seamless(bar.solids)
        return
    levels = scale.levels(look.levels)
    if item.draw == "lines":
        ax.contour(
            item.x,
            item.y,
            z,
            levels=levels,
            colors="black",
            linewidths=look.line_width,
            alpha=look.line_alpha,
            linestyles="solid",
            zorder=Z["lines"],
        )
        return
    if item.draw == "heatmap":
        mappable = ax.imshow(
            z,
            origin="lower",
            extent=_extent(item),
            cmap=cmap,
            vmin=scale.lo,
            vmax=scale.hi,
            interpolation="nearest",
            aspect="auto",
            gid=gid,
            zorder=Z["field"],
        )
    else:
        below = bool(np.nanmin(item.z) < scale.lo) if np.isfinite(item.z).any() else False
        mappable = ax.contourf(
            item.x,
            item.y,
            z,
            levels=levels,
            cmap=cmap,
            extend="min" if below else "neither",
            zorder=Z["field"],
        )
        seamless(mappable)
        mappable.set_gid(gid)
        ax.contour(
            item.x,
            item.y,
            z,
            levels=levels[:: look.line_every],
            colors="black",
            linewidths=look.line_width,
            alpha=look.line_alpha,
            linestyles="solid",
            zorder=1,
        )
    if item.colourbar:
        _colour_bar(ax, mappable, scale)


def seamless(filled) -> None:
    """No white hairlines between the filled polygons of `filled` (a contourf ContourSet, a 3-D
    surface, a colour bar's mesh) in a PDF or SVG viewer.

    Why: a viewer antialiases each polygon of a vector file on its own, so the pixels along a
    shared edge are only partly covered by each side and the white page shows through.
    - Opaque polygons (contour bands, colour bars) get a stroke in their own face colour,
      SEAM_WIDTH_PT wide, that covers the shared edge. They stay vectors (not rasterized):
      a print is sharp at any zoom and the SVG's bands remain paths an editor can recolour;
      the stroke moves a boundary by SEAM_WIDTH_PT / 2 (0.05 mm), far below a contour line.
    - Translucent polygons (the 3-D surface, alpha < 1) are rasterized instead: a stroke would
      overlap its neighbour's and show as a darker grid. Only the facets become one image
      (at the file's dpi); axes, text, paths and markers stay vectors.
    `filled` may be None (a colour bar drawn without solids).
    """
    if filled is None:
        return
    alpha = filled.get_alpha()
    if alpha is not None and alpha < 1:
        filled.set_rasterized(True)
        return
    filled.set_edgecolor("face")
    filled.set_linewidth(SEAM_WIDTH_PT)


def _extent(item: Field) -> tuple[float, float, float, float]:
    """Cells centred on their grid points; a 2-point y (a band under a 1-D curve) spans
    exactly its two values."""
    y = (float(item.y[0]), float(item.y[-1])) if len(item.y) == 2 else _edges(item.y)
    return (*_edges(item.x), *y)


def _edges(centres: np.ndarray) -> tuple[float, float]:
    half = 0.5 * (centres[-1] - centres[0]) / max(len(centres) - 1, 1)
    return float(centres[0] - half), float(centres[-1] + half)


def _colour_bar(ax: Axes, mappable, scale) -> None:
    """A colour bar as an inset beside the Axes: it keeps the Axes' drawn height even under an
    equal aspect ratio, and constrained layout makes room for it. Ticks at round values."""
    cax = ax.inset_axes([1.03, 0.0, 0.045, 1.0])
    bar = ax.figure.colorbar(mappable, cax=cax)
    seamless(bar.solids)
    bar.set_label(scale.label, fontsize=9)
    ticks = MaxNLocator(nbins=7).tick_values(scale.lo, scale.hi)
    bar.set_ticks(ticks[(ticks >= scale.lo - 1e-12) & (ticks <= scale.hi + 1e-12)])
    bar.ax.tick_params(labelsize=8)


# -- paths and markers --------------------------------------------------------------------------


def _xyz(item, three_d: bool) -> tuple:
    return (item.x, item.y, item.z) if three_d else (item.x, item.y)


def _label(item) -> str:
    return item.label if item.show_legend and item.label else "_nolegend_"


def _path(ax: Axes, item: Path, three_d: bool) -> None:
    look = style.LINES[item.style]
    colour = item.colour or look.colour
    size = style.step_marker_size(len(item.x), look.step_size)
    plain_markers = look.step_markers and not item.marker_colours
    extra = {"axlim_clip": True} if three_d else {}
    ax.plot(
        *_xyz(item, three_d),
        color=colour,
        lw=look.width,
        ls=DASHES[look.dash],
        alpha=look.alpha,
        marker="o" if plain_markers else None,
        ms=size,
        label=_label(item),
        gid=f"losslab-{item.name}",
        zorder=Z["path"] if look.step_markers else Z["curve"],
        **extra,
    )
    if item.errors is not None:
        ax.errorbar(
            item.x,
            item.y,
            yerr=item.errors,
            fmt="none",
            ecolor=colour,
            elinewidth=1.0,
            capsize=3,
            gid=f"losslab-{item.name}-errors",
            zorder=Z["path"] - 1,
        )
    if look.step_markers and item.marker_colours:
        ax.scatter(
            item.x,
            item.y,
            c=list(item.marker_colours),
            s=size**2,
            edgecolors=colour,
            linewidths=0.6,
            gid="losslab-steps",
            zorder=Z["path"] - 3,
        )


def marker_kwargs(style_name: str, colour: str | None = None) -> dict:
    """A MARKERS style as matplotlib Line2D keywords (sizes in points)."""
    look = style.MARKERS[style_name]
    fill = look.colour or colour or "black"
    kwargs = {
        "marker": style.SYMBOLS[look.symbol][0],
        "ms": look.size,
        "mew": look.edge_width,
        "color": fill if fill != "none" else look.edge,
        "mfc": fill,
        "mec": look.edge,
    }
    if look.halo:
        kwargs["path_effects"] = HALO
    return kwargs


def _markers(ax: Axes, item: Markers, three_d: bool) -> None:
    z = (
        Z["end"]
        if item.name in ("end", "diverged")
        else (Z["start"] if item.name == "start" else Z["markers"])
    )
    extra: dict = {"axlim_clip": True} if three_d else {}
    if item.axes_fraction_y:
        extra["transform"] = ax.get_xaxis_transform()
    ax.plot(
        *_xyz(item, three_d),
        ls="none",
        label=_label(item),
        gid=f"losslab-{item.name}",
        zorder=z + (3 if three_d else 0),
        **marker_kwargs(item.style, item.colour),
        **extra,
    )


def legend_proxy(item: LegendEntry):
    """A legend handle for what an element means (start, end, diverged, a basin colour)."""
    if item.kind == "marker":
        kwargs = marker_kwargs(item.style, item.colour)
        kwargs["ms"] = 0.8 * kwargs["ms"]
        return Line2D([], [], ls="none", label=item.label, **kwargs)
    if item.kind == "patch":
        return Patch(facecolor=item.colour, edgecolor="black", linewidth=0.5, label=item.label)
    if item.kind == "arrow":
        arrow = style.ARROWS[item.style]
        if arrow.field:
            return Line2D(
                [], [], ls="none", marker=r"$\rightarrow$", ms=14, color="black", label=item.label
            )
        return Line2D(
            [], [], color=arrow.colour, lw=arrow.width, ls=DASHES[arrow.dash], label=item.label
        )
    look = style.LINES[item.style]
    return Line2D(
        [],
        [],
        color=item.colour or look.colour,
        lw=look.width,
        ls=DASHES[look.dash],
        label=item.label,
    )


# -- arrows and text ----------------------------------------------------------------------------


def _arrows(ax: Axes, item: Arrows) -> None:
    look = style.ARROWS[item.style]
    gid = f"losslab-{item.name}"
    if look.field:
        centre = 0.5 * (item.tails + item.tips)
        delta = item.tips - item.tails
        ax.quiver(
            centre[:, 0],
            centre[:, 1],
            delta[:, 0],
            delta[:, 1],
            angles="xy",
            scale_units="xy",
            scale=1,
            pivot="middle",
            color=look.colour,
            edgecolor=look.edge,
            linewidth=0.4,
            width=0.0045,
            headwidth=4,
            headlength=4.5,
            zorder=Z["arrows"],
            gid=gid,
        )
        return
    for tail, tip in zip(item.tails, item.tips, strict=True):
        if not look.head:
            ax.plot(
                [tail[0], tip[0]],
                [tail[1], tip[1]],
                ls=DASHES[look.dash],
                lw=look.width,
                color=look.colour,
                gid=gid,
                zorder=5,
            )
            continue
        note = ax.annotate(
            "",
            xy=tuple(tip),
            xytext=tuple(tail),
            zorder=5,
            arrowprops={
                "arrowstyle": "-|>",
                "color": look.colour,
                "lw": look.width,
                "mutation_scale": 18,
                "shrinkA": 5,
                "shrinkB": 5,
            },
        )
        note.set_gid(gid)


def _text(ax: Axes, item: Text) -> None:
    box = None
    if item.style == "box":
        box = {
            "boxstyle": "round,pad=0.2",
            "facecolor": "white",
            "alpha": 0.85,
            "edgecolor": item.colour,
        }
    elif item.style == "mono":
        box = {"boxstyle": "round", "facecolor": "white", "alpha": 0.88}
    kwargs = {"family": "monospace"} if item.style == "mono" else {}
    # A 3-D Axes places text in axes fraction with text2D (and has no z-order for it).
    put = ax.text2D if ax.name == "3d" else functools.partial(ax.text, zorder=Z["text"])
    put(
        item.x,
        item.y,
        item.text,
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=8,
        color=item.colour,
        bbox=box,
        **kwargs,
    )


# -- axes and legend ----------------------------------------------------------------------------


def _axes(ax: Axes, panel: Panel, twin) -> None:
    if panel.x.scale == "log":  # sizes such as widths 8, 16, 32: powers of 2, read as numbers
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ScalarFormatter())
    if panel.x.range is not None:
        ax.set_xlim(*panel.x.range)
    if panel.y.scale == "log":
        ax.set_yscale("log", nonpositive="clip")
    elif panel.y.scale == "symlog":
        ax.set_yscale("symlog", linthresh=panel.y.linthresh)
    if panel.y.range is not None:
        ax.set_ylim(*panel.y.range)
    if panel.kind == "surface":
        if panel.z is not None and panel.z.range is not None:
            ax.set_zlim(*panel.z.range)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        for set_label, axis in ((ax.set_xlabel, panel.x), (ax.set_ylabel, panel.y)):
            set_label(_broken(axis.label), fontsize=8 if len(axis.label) > 12 else None)
        ax.set_zlabel(panel.z.label if panel.z is not None else "")
        if panel.camera is not None:
            ax.view_init(elev=panel.camera.elevation, azim=panel.camera.azimuth)
            ax.set_box_aspect(None, zoom=panel.camera.zoom)
    else:
        ax.set_xlabel(panel.x.label)
        ax.set_ylabel(panel.y.label, **({"color": panel.y.colour} if panel.y.colour else {}))
    if panel.equal:
        ax.set_aspect("equal", adjustable="box")
    if panel.grid:
        ax.grid(alpha=0.25, which="both" if panel.y.scale == "log" else "major")
    if panel.title:
        ax.set_title(_wrapped(panel.title), fontsize=10 if len(panel.title) > 30 else None)
    if twin is not None and panel.y2 is not None:
        twin.set_ylabel(panel.y2.label, color=panel.y2.colour)
        if panel.y2.colour:
            twin.tick_params(axis="y", colors=panel.y2.colour)


def _wrapped(title: str) -> str:
    """A title too long for one Axes breaks after its first colon."""
    return title.replace(": ", ":\n", 1) if len(title) > 50 else title


def _broken(label: str) -> str:
    """A 3-D axis has little room: break a long label before its parenthesis."""
    return label.replace(" (", "\n(", 1) if len(label) > 20 else label


def _legend(ax: Axes, panel: Panel, twin, proxies: list) -> None:
    handles = ax.get_legend_handles_labels()[0]
    if twin is not None:
        handles += twin.get_legend_handles_labels()[0]
    handles += proxies
    if not handles or panel.legend == "none":
        return
    title = {"title": panel.legend_title, "title_fontsize": 8} if panel.legend_title else {}
    if panel.legend == "inside":
        n_lines = sum(isinstance(i, Path) for i in panel.items)
        loc = (
            "upper left"
            if panel.kind == "surface"
            else ("best" if n_lines <= 10 else "upper right")
        )
        ax.legend(handles=handles, loc=loc, fontsize=8, framealpha=0.85, **title)
        return
    longest = max(len(h.get_label()) for h in handles)
    if panel.legend == "figure":
        _figure_legend(ax.figure, handles, longest, title)
        return
    ncols = 2 if len(handles) > 2 and longest <= 34 else 1
    # Below the tick labels and the x label: a fixed gap in points (a share of the Axes'
    # height would run into the label of a small panel).
    below = ax.transAxes + ScaledTranslation(0, -LEGEND_GAP_PT / 72, ax.figure.dpi_scale_trans)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=below,
        ncols=ncols,
        fontsize=8,
        frameon=False,
        **title,
    )


def _figure_legend(figure: Figure, handles: list, longest: int, title: dict) -> None:
    """A legend under all the panels, centred on the figure, in as many columns (at most 2)
    as its width holds: constrained layout makes room for it below the panels."""
    width_pt = figure.get_figwidth() * 72
    # a column: the line sample and gaps (~40 pt) and its longest label (~0.55 em a character)
    column_pt = 40 + longest * 8 * 0.55
    ncols = 2 if len(handles) > 1 and 2 * column_pt <= 0.95 * width_pt else 1
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncols=ncols,
        fontsize=8,
        frameon=False,
        **title,
    )
