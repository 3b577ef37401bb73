"""Reading a `Landscape` for a picture: one metric on the display axes, axis labels and a title
from the metadata, the best grid point, trajectories and marked points projected into the
slice, the anchors of an interpolation. The scene builders (build.py) turn these into items.

Backend-free (numpy and torch only). What is drawn is a `Landscape`, the one grid result: a
View only adds labels and the display coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from losslab.errors import LosslabError
from losslab.landscapes.result import Landscape
from losslab.plot import scene as _scene

# Metrics where larger is better: the grid's best point is its maximum.
HIGHER_IS_BETTER = ("accuracy", "acc", "r2")

NORMALIZATION_TEXT = {
    "filter": "filter-normalized",
    "layer": "layer-normalized",
    "none": "not normalized",
    None: "not normalized",
}

ORIGIN_LABEL = "origin"
MODEL_ORIGIN_LABEL = "origin: the model's weights"
TRAJECTORY_LABEL = "training trajectory (projected)"
ANCHOR_MARKERS = ("o", "s", "^")  # matplotlib markers of the anchors a, b, c
ANCHOR_SYMBOLS = ("circle", "square", "triangle-up")  # the same in plotly
MARK_MARKERS = ("P", "X", "D", "v", "p", "h")
MARK_SYMBOLS = ("cross", "x", "diamond", "triangle-down", "pentagon", "hexagon")
MARK_COLOURS = ("#e377c2", "#ff7f0e", "#17becf", "#bcbd22", "#8c564b", "#9467bd")
TRAJECTORY_COLOUR = "#d62728"
ACCURACY_COLOUR = "#ff7f0e"
LOSS_COLOUR = "#1f77b4"


@dataclass(frozen=True)
class View:
    """How to show one metric of a Landscape: the grid itself is a `Landscape` (the one grid
    result), re-parametrized for display, plus its labels.

    grid: the same slice with `coords + offset` as coordinates (origin moved by
        -offset @ directions, so every grid point is the same parameter vector) and one metric,
        non-finite values as NaN. offset (k,) is 0, except on a slice along the raw parameter
        axes (kind 'axes' or 'identity'), where the axes show the weights themselves.
    labels: k axis labels, e.g. "direction 1 (filter-normalized, seed 0)"
    """

    grid: Landscape
    metric: str
    labels: tuple[str, ...]
    title: str
    kind: str
    offset: np.ndarray

    @property
    def coords(self) -> tuple[np.ndarray, ...]:
        return self.grid.coords

    @property
    def values(self) -> np.ndarray:
        """The metric on the grid, 'ij' order (n0,) or (n0, n1); NaN where not finite."""
        return self.grid.values[self.metric]

    @property
    def ndim(self) -> int:
        return len(self.coords)

    @property
    def box(self) -> np.ndarray:
        """(k, 2) the window: first and last coordinate along each direction."""
        return np.array([[float(c[0]), float(c[-1])] for c in self.coords])

    @property
    def higher_is_better(self) -> bool:
        return self.metric.lower() in HIGHER_IS_BETTER

    def best(self) -> tuple[np.ndarray, float, str]:
        """The best grid point: (coords (k,), value, 'grid minimum of loss' or 'grid maximum
        of accuracy'). Ties go to the first point in 'ij' order."""
        finite = np.isfinite(self.values)
        if not finite.any():
            raise LosslabError(
                f"{self.metric} is not finite anywhere on the grid: nothing to mark."
            )
        filled = np.where(finite, self.values, -np.inf if self.higher_is_better else np.inf)
        flat = int(np.argmax(filled) if self.higher_is_better else np.argmin(filled))
        index = np.unravel_index(flat, self.values.shape)
        point = np.array([c[i] for c, i in zip(self.coords, index, strict=True)], dtype=float)
        word = "maximum" if self.higher_is_better else "minimum"
        return point, float(self.values[index]), f"grid {word} of {self.metric}"

    def value_label(self, log: bool) -> str:
        return f"log10 {self.metric}" if log else self.metric


def slice_of(landscape, metric: str = "loss") -> View:
    """The metric of a 1-D or 2-D Landscape as a View; a LosslabError names the metrics that
    exist when `metric` is not one of them."""
    coords = tuple(np.asarray(_numpy(c), dtype=np.float64) for c in landscape.coords)
    if len(coords) not in (1, 2):
        raise LosslabError(
            f"the landscape has {len(coords)} directions: only 1-D and 2-D slices can be drawn."
        )
    values = landscape.values
    if metric not in values:
        raise LosslabError(
            f"metric == {metric!r} is not in this landscape; it has "
            f"{', '.join(map(str, values)) or 'no metrics'}."
        )
    grid = np.asarray(_numpy(values[metric]), dtype=np.float64).copy()
    shape = tuple(len(c) for c in coords)
    if grid.shape != shape:
        raise LosslabError(
            f"values[{metric!r}] has shape {grid.shape}, the coordinates say {shape}."
        )
    grid[~np.isfinite(grid)] = np.nan
    metadata = dict(getattr(landscape, "metadata", None) or {})
    kind = direction_kind(metadata)
    offset = axes_offset(landscape, kind, len(coords))
    directions = np.asarray(_numpy(landscape.directions), dtype=np.float64)
    origin = np.asarray(_numpy(landscape.origin), dtype=np.float64).reshape(-1)
    shown = Landscape(
        tuple(c + o for c, o in zip(coords, offset, strict=True)),
        {metric: grid},
        origin - offset @ directions,
        directions,
        metadata,
    )
    return View(
        shown,
        metric,
        direction_labels(metadata, len(coords)),
        title_of(metadata),
        kind,
        offset,
    )


def two_d(landscape, metric: str, what: str) -> View:
    """The 2-D slice of `metric`, or a one-line error naming `what` needs it."""
    data = slice_of(landscape, metric)
    if data.ndim != 2:
        raise LosslabError(
            f"{what} needs a 2-D landscape; this one has {data.ndim} direction: "
            "use slice_curve (or slice_view, which picks)."
        )
    return data


def one_d(landscape, metric: str, what: str) -> View:
    """The 1-D slice of `metric`, or a one-line error naming `what` needs it."""
    data = slice_of(landscape, metric)
    if data.ndim != 1:
        hint = (
            "use contour (or landscape, which picks it)"
            if is_surface(landscape)
            else ("use slice_contour or slice_surface (or slice_view, which picks)")
        )
        raise LosslabError(
            f"{what} needs a 1-D landscape; this one has {data.ndim} directions: {hint}."
        )
    return data


def is_surface(landscape) -> bool:
    """True for the identity slice of a test surface (made by `evaluate_grid`), whose axes
    are the raw weights w1, w2 and whose values are plain f."""
    metadata = getattr(landscape, "metadata", None) or {}
    objective = metadata.get("objective")
    return (
        direction_kind(metadata) == "identity"
        and isinstance(objective, Mapping)
        and objective.get("objective") != "model"
    )


def labels_of(landscape) -> tuple[str, ...]:
    """Axis labels: 'w1 (x)', 'w2 (y)' ('w (x)' in 1-D) on a surface, else what the
    directions are (direction_labels)."""
    k = len(landscape.coords)
    if is_surface(landscape):
        return ("w (x)",) if k == 1 else ("w1 (x)", "w2 (y)")
    return direction_labels(landscape.metadata or {}, k)


def log_default(landscape) -> bool:
    """The objective's own log_scale flag from the metadata (values spanning decades)."""
    objective = (getattr(landscape, "metadata", None) or {}).get("objective")
    return bool(isinstance(objective, Mapping) and objective.get("log_scale", False))


def full_title(data: View, log: bool) -> str:
    """'log10 loss: mlp on digits, ...' -- the metric drawn, then what it is a slice of."""
    return f"{'log10 ' if log else ''}{data.metric}: {data.title}"


def axes_offset(landscape, kind: str, k: int) -> np.ndarray:
    """(k,) the origin's own coordinates when every direction is a unit parameter axis
    (kind 'axes' or 'identity'), so the plot's axes read w1, w2; zeros otherwise."""
    offset = np.zeros(k)
    if kind not in ("axes", "identity"):
        return offset
    directions = np.asarray(_numpy(getattr(landscape, "directions", None)), dtype=float)
    origin = np.asarray(_numpy(getattr(landscape, "origin", None)), dtype=float).reshape(-1)
    if directions.ndim != 2 or directions.shape[0] != k or origin.shape != directions.shape[1:]:
        return offset
    for i, row in enumerate(directions):
        nonzero = np.flatnonzero(row)
        if len(nonzero) != 1 or row[nonzero[0]] != 1.0:
            return np.zeros(k)  # not a unit axis: show steps from the origin
        offset[i] = origin[nonzero[0]]
    return offset


# -- metadata -----------------------------------------------------------------------------------


def direction_info(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The directions' part of the metadata: metadata['directions'] when it is a dict,
    else the top level (so both layouts read the same)."""
    info = metadata.get("directions")
    if isinstance(info, Mapping):
        return {**metadata, **info}
    return dict(metadata)


def direction_kind(metadata: Mapping[str, Any]) -> str:
    info = direction_info(metadata)
    kind = info.get("kind", info.get("method", info.get("direction_kind", "")))
    return str(kind or "")


def direction_labels(metadata: Mapping[str, Any], k: int) -> tuple[str, ...]:
    """Axis labels that say what each direction is:
    random  -> "direction 1 (filter-normalized, seed 0)"
    pca     -> "PC1 (61.2% of variance)"
    toward  -> "interpolation α (0 = start, 1 = end)"
    plane   -> "direction 1 (a -> b)", "direction 2 (a -> c)"
    others (or nothing known) -> "direction 1", "direction 2".
    Labels given in the metadata ('axis_labels') win."""
    info = direction_info(metadata)
    given = info.get("axis_labels") or info.get("labels")
    if isinstance(given, list | tuple) and len(given) == k:
        return tuple(str(g) for g in given)
    kind = direction_kind(metadata)
    if kind == "random":
        parts = [NORMALIZATION_TEXT.get(info.get("normalization"), str(info.get("normalization")))]
        if info.get("seed") is not None:
            parts.append(f"seed {info['seed']}")
        return tuple(f"direction {i + 1} ({', '.join(parts)})" for i in range(k))
    if kind == "pca":
        shares = info.get("explained_variance_ratio", info.get("explained_variance"))
        shares = list(np.asarray(_numpy(shares), dtype=float).ravel()) if shares is not None else []
        labels = []
        for i in range(k):
            if i < len(shares) and 0 <= shares[i] <= 1:
                labels.append(f"PC{i + 1} ({100 * shares[i]:.1f}% of variance)")
            else:
                labels.append(f"PC{i + 1}")
        return tuple(labels)
    if kind == "toward" and k == 1:
        return ("interpolation \u03b1 (0 = start, 1 = end)",)
    if kind == "plane" and k == 2:
        return ("direction 1 (a \u2192 b)", "direction 2 (a \u2192 c)")
    if kind in ("identity", "axes"):
        return tuple(f"w{i + 1}" for i in range(k))
    return tuple(f"direction {i + 1}" for i in range(k))


def origin_label(landscape) -> str:
    """'origin: the model's weights' on a network's slice, else 'origin'."""
    objective = (getattr(landscape, "metadata", None) or {}).get("objective")
    if isinstance(objective, Mapping) and objective.get("objective") == "model":
        return MODEL_ORIGIN_LABEL
    return ORIGIN_LABEL


def title_of(metadata: Mapping[str, Any]) -> str:
    """A title from the metadata: its 'title', else 'model on dataset' when it names them,
    else what the objective describes ('Sequential, 1482 parameters, cross_entropy on 1347
    samples'), else 'loss landscape'."""
    if metadata.get("title"):
        return str(metadata["title"])
    model = metadata.get("model")
    data = metadata.get("dataset")
    if model and data:
        return f"{model} on {data}"
    objective = metadata.get("objective")
    if isinstance(objective, Mapping) and objective.get("objective") == "model":
        parts = [str(objective.get("model_class") or "model")]
        if objective.get("n_params"):
            parts.append(f"{objective['n_params']} parameters")
        data = objective.get("data") or {}
        loss = str(objective.get("loss") or "loss")
        parts.append(f"{loss} on {data['n_evaluated']} samples" if "n_evaluated" in data else loss)
        return ", ".join(parts)
    if isinstance(objective, Mapping) and objective.get("name"):
        return str(objective["name"])
    return "loss landscape"


def anchors(landscape, sl: View) -> list[tuple[str, np.ndarray]]:
    """The models an interpolation is drawn between, in slice coordinates (as
    `losslab.directions` builds them): 'toward' has a at 0 and b at 1; 'plane' has a at (0, 0),
    b at (1, 0) and c at (0, 1). Empty for random and PCA directions, which have no end points.
    """
    if sl.kind == "toward" and sl.ndim == 1:
        return [("a (start)", np.array([0.0])), ("b (end)", np.array([1.0]))]
    if sl.kind == "plane" and sl.ndim == 2:
        return [
            ("a", np.array([0.0, 0.0])),
            ("b", np.array([1.0, 0.0])),
            ("c", np.array([0.0, 1.0])),
        ]
    return []


# -- points in the slice ------------------------------------------------------------------------


def trajectory_points(trajectory) -> np.ndarray:
    """(T, n_params) from a TrainingRun (its `params`), a tensor or an array."""
    params = getattr(trajectory, "params", trajectory)
    points = np.asarray(_numpy(params), dtype=np.float64)
    if points.ndim != 2 or len(points) == 0:
        raise LosslabError(
            f"trajectory has shape {points.shape}: give a TrainingRun or an array "
            f"(n_steps, n_params) of parameter vectors."
        )
    return points


def project(landscape, points: np.ndarray, what: str = "trajectory", offset=0.0) -> np.ndarray:
    """(T, n_params) parameter vectors -> (T, k) slice coordinates with `landscape.project`
    (plus the View's display `offset`)."""
    n_params = _n_params(landscape)
    if n_params is not None and points.shape[-1] != n_params:
        raise LosslabError(
            f"{what} has {points.shape[-1]} parameters per point but the landscape's model has "
            f"{n_params}: give points of the model the landscape was computed for."
        )
    coords = np.asarray(_numpy(landscape.project(torch.as_tensor(points))), dtype=np.float64)
    return coords.reshape(len(points), -1) + offset


def mark_points(
    landscape, mark: Mapping[str, Any] | None, offset=0.0
) -> list[tuple[str, np.ndarray]]:
    """{'normal equation': (w1, w2)} -> [(label, (k,) slice coordinates)]: each point is a
    parameter vector of the model, projected like a trajectory."""
    if not mark:
        return []
    if not isinstance(mark, Mapping):
        raise LosslabError(
            f"mark is a {type(mark).__name__}: give a dict {{label: parameter vector}}, "
            "e.g. {'normal equation': (w1, w2)}."
        )
    out = []
    for label, point in mark.items():
        vector = np.asarray(_numpy(point), dtype=np.float64).reshape(1, -1)
        if not np.isfinite(vector).all():
            raise LosslabError(f"mark[{label!r}] has non-finite coordinates: {vector.ravel()}.")
        out.append((str(label), project(landscape, vector, f"mark[{label!r}]", offset)[0]))
    return out


def inside(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(T,) True where a point (T, k) lies in the window (k, 2)."""
    lo, hi = box.min(axis=1), box.max(axis=1)
    return ((points >= lo - 1e-12) & (points <= hi + 1e-12)).all(axis=-1)


def clip_path(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The path with points outside the window set to NaN, so a line breaks where it leaves
    the window instead of the axes growing to follow it."""
    out = points.astype(float).copy()
    out[~inside(points, box)] = np.nan
    return out


def interpolate(sl: View, points: np.ndarray) -> np.ndarray:
    """(T,) the metric at slice coordinates (T, k) by the one interpolation rule of
    `losslab.plot.scene.interpolate` (bilinear inside the window, NaN outside)."""
    return _scene.interpolate(sl.coords, sl.values, points)


# -- colours ------------------------------------------------------------------------------------


def secondary_metric(landscape, metric: str) -> str | None:
    """For a 1-D curve of a loss: the accuracy-like metric drawn on the twin axis, if any."""
    if metric.lower() in HIGHER_IS_BETTER:
        return None
    for name in landscape.values:
        if str(name).lower() in HIGHER_IS_BETTER:
            return str(name)
    return None


def point_label(label: str, coords: np.ndarray) -> str:
    """'normal equation (0.5, -1.2)': coordinates in the slice, round-off below 1e-9 shown as
    0 (a point on a direction has ~1e-16 along the other)."""
    coords = np.where(np.abs(coords) < 1e-9, 0.0, coords)
    return f"{label} {_scene.point_text(coords, 3)}"


# -- helpers ------------------------------------------------------------------------------------


def _numpy(value) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return value


def _n_params(landscape) -> int | None:
    directions = getattr(landscape, "directions", None)
    if directions is None:
        return None
    shape = getattr(_numpy(getattr(directions, "vectors", directions)), "shape", None)
    return int(shape[-1]) if shape else None


# -- overlays -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overlay:
    """Something drawn over a slice, in slice coordinates.

    points: (m, k) coordinates, NaN rows where a path leaves the window (so the line breaks)
    kind: 'origin', 'best', 'anchor', 'mark', 'trajectory', 'start' or 'end'
    index: the position among overlays of the same kind (picks the marker)
    """

    kind: str
    label: str
    points: np.ndarray
    index: int = 0
    legend: bool = True


def overlays(landscape, data: View, *, trajectory=None, mark=None) -> list[Overlay]:
    """Everything drawn over a slice, in drawing order: origin (unless an interpolation's
    anchor a sits there), best grid point, anchors, marked points, trajectory with its start
    and end. Points outside the window are not drawn (a marked point keeps a legend entry
    that says so); a trajectory keeps its rows, as NaN, so its line breaks at the edge."""
    box = data.box
    out: list[Overlay] = []
    anchor_points = anchors(landscape, data)
    origin = data.offset[None]  # the origin in display coordinates
    if not anchor_points and inside(origin, box).all():
        out.append(Overlay("origin", origin_label(landscape), origin))
    best, value, text = data.best()
    out.append(Overlay("best", f"{text} = {_scene.number(value)}", best[None]))
    for i, (label, point) in enumerate(anchor_points):
        if inside(point[None], box).all():
            out.append(Overlay("anchor", label, point[None], i))
    for i, (label, point) in enumerate(mark_points(landscape, mark, data.offset)):
        if inside(point[None], box).all():
            out.append(Overlay("mark", point_label(label, point), point[None], i))
        else:  # say where it is, in the legend only: the window does not grow to show it
            where = np.full((1, data.ndim), np.nan)
            text = f"{point_label(label, point)}, outside the window"
            out.append(Overlay("mark", text, where, i))
    if trajectory is not None:
        points = trajectory_points(trajectory)
        path = clip_path(project(landscape, points, offset=data.offset), box)
        out.append(Overlay("trajectory", TRAJECTORY_LABEL, path))
        if np.isfinite(path[0]).all():
            out.append(Overlay("start", "start", path[:1]))
        if np.isfinite(path[-1]).all():
            out.append(Overlay("end", "end", path[-1:]))
    return out
