"""`Landscape`: metric values on a grid of a 1-D or 2-D slice, and its HDF5 file.

A landscape is plain data: grid coordinates, values per metric, the origin and the directions
of the slice, and metadata saying how it was made. Point (i, j) of the grid is the parameter
vector `origin + coords[0][i] * directions[0] + coords[1][j] * directions[1]` ('ij' indexing).

File format (one self-describing HDF5 file, format_version 1, readable by any HDF5 tool):

    /                   attributes:
                          losslab_result = "landscape", format_version = 1, losslab_version
                          spec_hash      SHA-256 identifying the computation (see spec.py)
                          metadata       JSON: objective.describe(), directions' kind/seed/...,
                                         span, resolution, metrics, layout, created, spec
                          chunk_size, n_chunks   how the grid was cut into units of work
    /coords/0, /coords/1    float64 (n0,), (n1,)
    /values/<metric>        float64 (n0,) or (n0, n1); also "<metric>_se" when sampled
    /origin                 float64 (n_params,)
    /directions             float64 (k, n_params)
    /done                   bool (n_chunks,): which chunks of the flattened grid are computed

Files are written to a temporary name beside the target and renamed into place, so a path
holds either a complete file or nothing. `landscape(out=...)` only ever writes complete files
there (its work in progress lives beside it; see store.py), so `done` is all True in every file
losslab writes; a reader refuses a file where it is not.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch

from losslab._version import __version__
from losslab.errors import LosslabError
from losslab.io import check_writable
from losslab.landscapes.spec import slice_spec, spec_hash
from losslab.params import ParamLayout

FORMAT_VERSION = 1
SUFFIXES = (".h5", ".hdf5")
LIBVER = ("v108", "latest")  # v1.8 object headers: attributes of any size, no timestamps
PROJECT_BLOCK = 256  # points projected at a time: bounds memory to block x n_params


@dataclass(frozen=True, eq=False)
class Landscape:
    """Metric values on the grid of a slice through parameter space.

    coords:     one float64 array per direction, (n0,) [, (n1,)]
    values:     metric -> float64 (n0,) or (n0, n1), 'ij' indexing:
                values[m][i, j] is metric m at origin + coords[0][i] d0 + coords[1][j] d1
    origin:     float64 (n_params,)
    directions: float64 (k, n_params), k = len(coords)
    metadata:   plain JSON data on how it was made (objective, directions, span, ...)
    """

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

    # -- files ----------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write one HDF5 file atomically (see the module docstring); returns the path."""
        path = check_h5_path(path)
        metadata = with_spec(self.metadata, self)
        n_points = int(np.prod(self.shape))
        chunk_size = int(metadata.get("chunk_size") or n_points)
        n_chunks = -(-n_points // chunk_size)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.part"
        try:
            write_file(tmp, self, metadata, np.ones(n_chunks, bool), chunk_size)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a file written by `save` or `landscape(out=...)`."""
        landscape, done = read_file(path)
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
    if path.suffix.lower() not in SUFFIXES:
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


def write_file(
    path: Path,
    landscape: Landscape,
    metadata: Mapping[str, Any],
    done: np.ndarray,
    chunk_size: int,
) -> None:
    """Write the HDF5 file at `path` (no atomicity here: callers write to a temporary name)."""
    import h5py

    for name in landscape.values:
        if not name or "/" in name or name.startswith("."):
            raise LosslabError(f"metric name {name!r} cannot be stored: no '/' or leading '.'.")
    text = json.dumps(metadata, sort_keys=True, allow_nan=True)
    with h5py.File(path, "w", libver=LIBVER) as handle:
        handle.attrs["losslab_result"] = "landscape"
        handle.attrs["format_version"] = FORMAT_VERSION
        handle.attrs["losslab_version"] = str(metadata.get("losslab_version", __version__))
        handle.attrs["spec_hash"] = metadata["spec_hash"]
        handle.attrs["metadata"] = text
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
    with open(path, "rb+") as raw:  # on disk before it is renamed into place
        os.fsync(raw.fileno())


def read_file(path: str | Path) -> tuple[Landscape, np.ndarray]:
    """(landscape, done mask) from a landscape file; a clear error for anything else."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as handle:
            if handle.attrs.get("losslab_result") != "landscape":
                raise LosslabError(f"'{path}' is an HDF5 file but not a losslab landscape.")
            version = int(handle.attrs.get("format_version", -1))
            if version > FORMAT_VERSION or version < 1:
                raise LosslabError(
                    f"'{path}' has landscape format_version {version}; this losslab reads "
                    f"1..{FORMAT_VERSION}: upgrade losslab."
                )
            metadata = json.loads(handle.attrs["metadata"])
            coords = tuple(handle["coords"][str(i)][()] for i in range(len(handle["coords"])))
            names = metadata.get("value_keys") or sorted(handle["values"])
            values = {name: handle["values"][name][()] for name in names}
            origin = handle["origin"][()]
            directions = handle["directions"][()]
            done = handle["done"][()]
    except LosslabError:
        raise
    except (OSError, KeyError, ValueError) as error:
        raise LosslabError(f"cannot read landscape file '{path}': {error}") from None
    return Landscape(coords, values, origin, directions, metadata), done


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
