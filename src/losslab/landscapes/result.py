"""`Landscape`: metric values on a grid of a 1-D or 2-D slice, and its HDF5 file.

A landscape is plain data: grid coordinates, values per metric, the origin and the directions
of the slice, and metadata saying how it was made. Point (i, j) of the grid is the parameter
vector `origin + coords[0][i] * directions[0] + coords[1][j] * directions[1]` ('ij' indexing).

File format (one self-describing HDF5 file, format_version 1, readable by any HDF5 tool):

    /                   attributes:
                          losslab_result = "landscape", format_version = 1, losslab_version
                          spec           JSON: the spec (see spec.py), as in every result file
                          spec_hash      SHA-256 identifying the computation (see spec.py)
                          metadata       JSON: objective.describe(), directions' kind/seed/...,
                                         span, resolution, metrics, layout, created, spec
                          chunk_size, n_chunks   how the grid was cut into units of work
    /coords/0, /coords/1    float64 (n0,), (n1,)
    /values/<metric>        float64 (n0,) or (n0, n1); also "<metric>_se" when sampled
    /origin                 float64 (n_params,)
    /directions             float64 (k, n_params)
    /done                   bool (n_chunks,): which chunks of the flattened grid are computed

`Landscape` is a registered result ("landscape"): `save` and `load` are the codec's
(losslab.results), which writes the header attributes above and renames a temporary file into
place, so a path holds either a complete file or nothing; this module only lays out the
datasets (`write_h5`, `read_h5`; `read_file` for the store). A small landscape can also be
saved as JSON (the generic encoding, its spec in the header). `landscape(out=...)` only ever
writes complete files there (its work in progress lives beside it; see store.py), so `done` is
all True in every file losslab writes; a reader refuses a file where it is not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np
import torch

from losslab._version import __version__
from losslab.errors import LosslabError
from losslab.io import check_writable
from losslab.landscapes.spec import slice_spec, spec_hash
from losslab.params import ParamLayout
from losslab.results import H5_SUFFIXES, Result
from losslab.results.codec import reading_h5
from losslab.results.encoding import build
from losslab.results.h5 import read_dataset, read_json_attribute
from losslab.results.kinds import check_entries, check_value

PROJECT_BLOCK = 256  # points projected at a time: bounds memory to block x n_params


@dataclass(frozen=True, eq=False)
class Landscape(Result):
    """Metric values on the grid of a slice through parameter space.

    coords:     one float64 array per direction, (n0,) [, (n1,)]
    values:     metric -> float64 (n0,) or (n0, n1), 'ij' indexing:
                values[m][i, j] is metric m at origin + coords[0][i] d0 + coords[1][j] d1
    origin:     float64 (n_params,)
    directions: float64 (k, n_params), k = len(coords)
    metadata:   plain JSON data on how it was made (objective, directions, span, ...)
    """

    result_type = "landscape"
    json_fields = ("metadata",)

    coords: tuple[np.ndarray, ...]
    values: dict[str, np.ndarray]
    origin: np.ndarray
    directions: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        # Plain float64 numpy data whatever was passed (lists, tensors): the file stores that.
        coerce = object.__setattr__
        coerce(self, "coords", tuple(_float64(c) for c in self.coords))
        coerce(self, "values", {str(k): _float64(v) for k, v in dict(self.values).items()})
        coerce(self, "origin", _float64(self.origin))
        coerce(self, "directions", _float64(self.directions))
        coerce(self, "metadata", dict(self.metadata))
        k = len(self.coords)
        if k not in (1, 2):
            raise LosslabError(f"a landscape has 1 or 2 coordinate axes, got {k}.")
        for i, c in enumerate(self.coords):
            if c.ndim != 1 or not c.size or not np.isfinite(c).all():
                raise LosslabError(
                    f"coords[{i}] must be a non-empty 1-D array of finite numbers, got shape "
                    f"{c.shape}{'' if np.isfinite(c).all() else ' with NaN or infinity'}."
                )
        for name in ("origin", "directions"):
            if not np.isfinite(getattr(self, name)).all():
                raise LosslabError(f"{name} holds NaN or infinity.")
        if self.directions.ndim != 2 or self.directions.shape[0] != k:
            raise LosslabError(
                f"directions of shape {self.directions.shape} do not match {k} coordinate axes."
            )
        if self.origin.shape != (self.directions.shape[1],):
            raise LosslabError(
                f"origin of shape {self.origin.shape} does not match directions of shape "
                f"{self.directions.shape}."
            )
        for name, value in self.values.items():
            if value.shape != self.shape:
                raise LosslabError(
                    f"values['{name}'] has shape {value.shape}, the grid is {self.shape}."
                )

    # -- shape and lookups ----------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.coords)

    @property
    def ndim(self) -> int:
        return len(self.coords)

    @property
    def n_params(self) -> int:
        return self.origin.shape[0]

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.values)

    @property
    def layout(self) -> ParamLayout | None:
        """The model's parameter layout when it was known, else None."""
        layout = self.metadata.get("layout")
        if not layout:
            return None
        return ParamLayout(tuple(layout["names"]), tuple(tuple(s) for s in layout["shapes"]))

    def grid(self) -> np.ndarray:
        """Coordinates of every grid point, (*shape, k), 'ij' indexing."""
        return np.stack(np.meshgrid(*self.coords, indexing="ij"), axis=-1)

    def point(self, index) -> np.ndarray:
        """The coordinates (k,) of the grid point at `index` (an int for 1-D, (i, j) for 2-D)."""
        index = np.atleast_1d(index)
        return np.array([c[i] for c, i in zip(self.coords, index, strict=True)])

    def _metric(self, metric: str) -> np.ndarray:
        if metric not in self.values:
            raise LosslabError(
                f"metric == {metric!r}, this landscape has {', '.join(self.values) or 'none'}."
            )
        return self.values[metric]

    def argmin(self, metric: str = "loss") -> tuple[int, ...]:
        """Grid index of the smallest finite value of `metric` (NaN ignored)."""
        values = self._metric(metric)
        finite = np.where(np.isfinite(values), values, np.inf)
        if not np.isfinite(finite).any():
            raise LosslabError(f"'{metric}' has no finite value on this landscape.")
        return tuple(int(i) for i in np.unravel_index(np.argmin(finite), values.shape))

    def min(self, metric: str = "loss") -> float:
        """The smallest finite value of `metric` on the grid."""
        return float(self.values[metric][self.argmin(metric)])

    def parameters(self, coords) -> np.ndarray:
        """Parameter vectors (..., n_params) at slice coordinates (..., k)."""
        coords = np.asarray(coords, dtype=np.float64)
        return self.origin + coords @ self.directions

    # -- projection -----------------------------------------------------------------------------

    def project(self, points, *, return_residual: bool = False):
        """Coordinates (T, k) of parameter vectors in this slice, by least squares.

        points: (T, n_params) or (n_params,) vectors, a parameter dict, or an object with
            `.params` (a recorded run). Filter-normalized directions are not orthogonal, so
            the coordinates solve min_c ||p - origin - c @ directions|| (QR of the directions)
            rather than taking dot products. With return_residual=True also returns the
            distance (T,) of each point from the slice plane: zero for points on it, and the
            part of a trajectory a plot of this slice cannot show.
        """
        points = _points_array(points, self.layout, self.n_params)
        single = points.ndim == 1
        points = np.atleast_2d(points)
        q, r = np.linalg.qr(self.directions.T)  # (n, k), (k, k)
        coords, residual = [], []
        for start in range(0, points.shape[0], PROJECT_BLOCK):
            delta = points[start : start + PROJECT_BLOCK] - self.origin  # (B, n)
            c = np.linalg.solve(r, q.T @ delta.T).T  # (B, k)
            coords.append(c)
            residual.append(np.linalg.norm(delta - c @ self.directions, axis=1))
        coords, residual = np.concatenate(coords), np.concatenate(residual)
        if single:
            coords, residual = coords[0], residual[0]
        return (coords, residual) if return_residual else coords

    # -- bridges to the rest of losslab ---------------------------------------------------------

    def as_directions(self):
        """The directions as a `losslab.directions.Directions` (to reuse on another model)."""
        from losslab.directions import Directions, flat_layout

        info = self.metadata.get("directions") or {}
        explained = info.get("explained_variance")
        return Directions(
            torch.from_numpy(self.directions.copy()),
            self.layout or flat_layout(self.n_params),
            info.get("kind", "custom"),
            info.get("seed"),
            info.get("normalization"),
            info.get("ignore"),
            None if explained is None else tuple(explained),
            torch.from_numpy(self.origin.copy()),
        )

    def export(self, path, *, metric: str | None = None, log: bool = False) -> Path:
        """Write this landscape for other tools, by the suffix of `path`: .vts/.vtk (ParaView:
        a grid whose z is `metric`, default loss, or log10 of it with log=True; every metric
        as point data), .csv (a row per grid point) or .npz. Returns the path; see export.py.
        The file is complete or absent."""
        from losslab.landscapes.export import export_landscape

        return export_landscape(self, path, metric=metric, log=log)

    # -- files (the codec calls these; see the module docstring) -------------------------------

    def to_fields(self) -> dict[str, Any]:
        return {**super().to_fields(), "metadata": with_spec(self.metadata, self)}

    def spec(self) -> dict[str, Any]:
        return with_spec(self.metadata, self)["spec"]

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        """A read landscape, once the metadata its readers use is of the kinds they expect."""
        check_metadata(fields["metadata"], len(fields["coords"]))
        return super().from_fields(fields)

    def write_h5(self, handle: h5py.File) -> None:
        metadata = with_spec(self.metadata, self)
        n_points = int(np.prod(self.shape))
        chunk_size = int(metadata.get("chunk_size") or n_points)
        done = np.ones(-(-n_points // chunk_size), bool)  # a saved landscape is complete
        write_datasets(handle, self, metadata, done, chunk_size)

    @classmethod
    def read_h5(cls, handle: h5py.File, path: Path) -> Self:
        landscape, done = read_datasets(handle)
        if not done.all():
            raise LosslabError(
                f"'{path}' is incomplete ({int((~done).sum())} of {done.size} chunks missing): "
                f"run landscape(...) with out='{path}' again to finish it."
            )
        return landscape

    def __repr__(self) -> str:
        kind = (self.metadata.get("directions") or {}).get("kind", "?")
        return (
            f"Landscape(shape={self.shape}, metrics={list(self.values)}, "
            f"n_params={self.n_params}, directions={kind!r})"
        )


# -- file helpers (shared with the resumable store) ---------------------------------------------


def check_h5_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in H5_SUFFIXES:
        raise LosslabError(
            f"out == '{path}': a landscape file must end in .h5 or .hdf5 (it is HDF5)."
        )
    return check_writable(path)


def with_spec(metadata: Mapping[str, Any], landscape: Landscape) -> dict[str, Any]:
    """Metadata that carries the spec and its hash (computed when missing)."""
    metadata = dict(metadata)
    if "spec" not in metadata or "spec_hash" not in metadata:
        spec = slice_spec(
            landscape.coords,
            landscape.origin,
            landscape.directions,
            metadata.get("metrics", list(landscape.values)),
            metadata.get("objective") or {},
        )
        metadata.update(spec=spec, spec_hash=spec_hash(spec))
    metadata.setdefault("losslab_version", __version__)
    metadata["value_keys"] = list(landscape.values)  # the order to read them back in
    return metadata


def write_datasets(
    handle: h5py.File,
    landscape: Landscape,
    metadata: Mapping[str, Any],
    done: np.ndarray,
    chunk_size: int,
) -> None:
    """The datasets and landscape attributes, into a file whose header the codec wrote."""
    for name in landscape.values:
        _check_metric_name(name)
    handle.attrs["spec_hash"] = metadata["spec_hash"]
    handle.attrs["metadata"] = json.dumps(metadata, sort_keys=True, allow_nan=True)
    handle.attrs["chunk_size"] = int(chunk_size)
    handle.attrs["n_chunks"] = int(done.size)
    coords = handle.create_group("coords")
    for i, c in enumerate(landscape.coords):
        coords.create_dataset(str(i), data=np.asarray(c, np.float64))
    values = handle.create_group("values")
    for name, value in landscape.values.items():
        values.create_dataset(name, data=np.asarray(value, np.float64))
    handle.create_dataset("origin", data=np.asarray(landscape.origin, np.float64))
    handle.create_dataset("directions", data=np.asarray(landscape.directions, np.float64))
    handle.create_dataset("done", data=np.asarray(done, bool))


def read_datasets(handle: h5py.File) -> tuple[Landscape, np.ndarray]:
    """(landscape, done mask) from an open landscape file, each part checked before the
    landscape is built (kinds.py; Landscape.__post_init__ checks the shapes agree)."""
    metadata = read_json_attribute(handle, "metadata")
    coords = tuple(read_dataset(handle, f"coords/{i}") for i in range(_n_axes(handle)))
    names = metadata.get("value_keys")
    if names is None:
        names = sorted(_group(handle, "values"))
    check_value(tuple[str, ...], names, "metadata.value_keys")
    for name in names:
        _check_metric_name(name)
    fields = {
        "coords": coords,
        "values": {name: read_dataset(handle, f"values/{name}") for name in names},
        "origin": read_dataset(handle, "origin"),
        "directions": read_dataset(handle, "directions"),
        "metadata": metadata,
    }
    done = read_dataset(handle, "done")
    if done.dtype != bool or done.ndim != 1:
        raise LosslabError(f"dataset 'done' must be 1-D bool, got {done.dtype} {done.shape}.")
    return build(Landscape, fields), done


# What readers take from a landscape's metadata (plots, as_directions, the store), by kind;
# a file whose metadata breaks them is refused when it is read. Other entries are free.
METADATA_KINDS = {
    "value_keys": tuple[str, ...],
    "spec": dict[str, Any],
    "spec_hash": str,
    "chunk_size": int | None,
    "objective": dict[str, Any] | None,
    "layout": dict[str, Any] | None,
    "directions": dict[str, Any] | None,
    "minima": tuple[tuple[float, ...], ...] | None,
}
OBJECTIVE_KINDS = {"data": dict[str, Any] | None, "n_params": int | None}
LAYOUT_KINDS = {"names": tuple[str, ...], "shapes": tuple[tuple[int, ...], ...]}
DIRECTIONS_KINDS = {
    "kind": str,
    "seed": int | None,
    "normalization": str | None,
    "ignore": str | None,
    "explained_variance": tuple[float, ...] | None,
    "explained_variance_ratio": tuple[float, ...] | None,
}


def check_metadata(metadata: Mapping[str, Any], ndim: int) -> None:
    """One line naming the first metadata entry a reader could not use."""
    check_entries(metadata, METADATA_KINDS, "metadata")
    for key, kinds in (
        ("objective", OBJECTIVE_KINDS),
        ("layout", LAYOUT_KINDS),
        ("directions", DIRECTIONS_KINDS),
    ):
        check_entries(metadata.get(key) or {}, kinds, f"metadata.{key}")
    layout = metadata.get("layout")
    if layout and not all(k in layout for k in LAYOUT_KINDS):
        raise LosslabError("metadata.layout must hold names and shapes.")
    if layout and len(layout["names"]) != len(layout["shapes"]):
        raise LosslabError("metadata.layout has as many names as shapes.")
    if any(len(row) != ndim for row in metadata.get("minima") or ()):
        raise LosslabError(f"metadata.minima must hold points of {ndim} coordinates.")


def _n_axes(handle: h5py.File) -> int:
    names = sorted(_group(handle, "coords"))
    if names not in (["0"], ["0", "1"]):
        raise LosslabError(f"group 'coords' must hold datasets 0 or 0 and 1, got {names}.")
    return len(names)


def _group(handle: h5py.File, name: str) -> h5py.Group:
    group = handle.get(name)
    if not isinstance(group, h5py.Group):
        raise LosslabError(f"group '{name}' is missing.")
    return group


def _check_metric_name(name: str) -> None:
    if not name or "/" in name or name.startswith("."):
        raise LosslabError(f"metric name {name!r} cannot be stored: no '/' or leading '.'.")


def read_file(path: str | Path) -> tuple[Landscape, np.ndarray]:
    """(landscape, done mask) from a landscape file, complete or not; the codec checks the
    header (type, format version) and turns anything unreadable into one clear line."""
    with reading_h5(path, Landscape) as handle:
        return read_datasets(handle)


def _float64(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
    return np.asarray(value, dtype=np.float64)


def _points_array(points, layout: ParamLayout | None, n_params: int) -> np.ndarray:
    if hasattr(points, "params"):
        points = points.params
    if isinstance(points, Mapping):
        if layout is None:
            raise LosslabError("a parameter dict needs the layout, which this landscape lacks.")
        points = layout.flatten({k: torch.as_tensor(v).detach() for k, v in points.items()})
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().double().numpy()
    points = np.asarray(points, dtype=np.float64)
    if points.ndim not in (1, 2) or points.shape[-1] != n_params:
        raise LosslabError(
            f"points of shape {points.shape} do not fit this landscape: expected (T, n_params) "
            f"or (n_params,) with n_params == {n_params}."
        )
    return points
