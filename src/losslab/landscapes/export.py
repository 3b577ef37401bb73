"""A landscape written for other tools: ParaView (.vts, .vtk), spreadsheets (.csv), numpy (.npz).

export_landscape(landscape, "land.vts", metric=None, log=False) -> Path   (Landscape.export)

The axes are named AXES ("a", "b"; "a" alone in 1-D). Grid point (i, j) sits at
(coords[0][i], coords[1][j]) and holds values[m][i, j] ('ij' indexing, see result.py).

.vts  VTK XML StructuredGrid, one piece, arrays inline as base64 binary (UInt64 header,
      little-endian float64: exact, NaN kept). A plane is an n0 x n1 x 1 grid, a line an
      n0 x 1 x 1 polyline. Point (i, j) is (a, b, height) in a plane, (a, 0, height) on a line:
      z is always the height field of `metric`. VTK orders points x fastest, so point number
      i + j * n0 holds values[m][i, j] (the arrays are values[m] raveled in Fortran order).
      PointData: every metric's raw values and the coordinates a (, b), float64 each.
.vtk  legacy VTK ASCII STRUCTURED_GRID: the same points and arrays, as '%.17g' text
      ("nan", "inf" for non-finite values, which VTK 9's reader parses).
Both read back through VTK 9.7's own readers (vtkXMLStructuredGridReader,
vtkStructuredGridReader) with the values in place; the tests parse them without VTK.
.csv  one row per grid point, i slow and j fast: columns a (, b), then every metric; '%.17g'
      (reads back bitwise, "nan"/"inf" included).
.npz  a (n0,) [, b (n1,)] and every metric as (n0,) or (n0, n1) 'ij' arrays; np.savez's
      layout, no pickle (np.load(..., allow_pickle=False) reads it).

The height: the metric's raw values, or with log=True the rule `losslab plot --log` colours by
(plot/scene.py's ColourScale): log10(value) when every finite value is > 0, else
log10(value - min + 1e-12) with min the smallest finite value (a minimum of exactly 0, as on a
built-in surface, is then -12 rather than -inf). The .vtk title line says which one was used.
(Li et al.'s h52vtp takes ln(value + 0.1); we keep the lab's one log rule, base 10, so a
height reads as the colour bar of `losslab plot --log` does.)
A non-finite value (NaN, inf) keeps its raw value in the arrays, but its point's height is the
largest finite height, so ParaView draws a plateau there instead of failing; with no finite
value at all every height is 0.
"""

from __future__ import annotations

import base64
import csv
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from losslab.errors import LosslabError
from losslab.io import atomic_open, check_writable

AXES = ("a", "b")
EXPORT_FORMATS = (".vts", ".vtk", ".csv", ".npz")
NUMBER = "%.17g"  # enough digits for any float64 to read back bitwise
LOG_EPS = 1e-12  # the log of values reaching 0 or below: log10(f - min + LOG_EPS), as plots do


class Height(NamedTuple):
    """The z of a .vts/.vtk grid: `values` (landscape.shape) of `metric`, computed as `label`
    says (e.g. "log10(loss)")."""

    metric: str
    label: str
    values: np.ndarray


def export_landscape(landscape, path, *, metric: str | None = None, log: bool = False) -> Path:
    """Write `landscape` to `path` in the format its suffix names; returns the path.

    metric: the metric whose values are the height (z) in .vts/.vtk (None: "loss" when the
            landscape has it, else its first metric); every metric is written.
    log:    the height is log10(metric), shifted when a value is <= 0; .vts/.vtk only.
    The file is complete or absent (atomic write)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        given = f"extension {suffix!r}" if suffix else "no extension"
        raise LosslabError(
            f"cannot export to '{path}': {given}; use one of {', '.join(EXPORT_FORMATS)}."
        )
    axes = AXES[: landscape.ndim]
    clash = [name for name in landscape.values if name in axes]
    if clash:
        raise LosslabError(
            f"metric {clash[0]!r} has the name of a coordinate axis ({', '.join(axes)}): "
            "rename it to export."
        )
    if metric is None:
        metric = "loss" if "loss" in landscape.values else next(iter(landscape.values), "loss")
    grid_file = suffix in (".vts", ".vtk")
    if log and not grid_file:
        raise LosslabError(
            f"log scales the height of a .vts/.vtk grid; {suffix} holds the raw values: "
            "export without log."
        )
    landscape._metric(metric)  # an unknown metric is refused whatever the format
    height = height_field(landscape, metric, log) if grid_file else None
    if suffix == ".vtk":
        _check_legacy_names(landscape)
    check_writable(path)
    writers: dict[str, Callable] = {
        ".vts": _write_vts,
        ".vtk": _write_vtk,
        ".csv": _write_csv,
        ".npz": _write_npz,
    }
    writers[suffix](landscape, path, height)
    return path


def height_field(landscape, metric: str = "loss", log: bool = False) -> Height:
    """The height (z) of every grid point, landscape.shape, and its formula, e.g.
    "log10(loss)": the metric, or its log10 (shifted when a finite value is <= 0, see the
    module docstring); a non-finite value's height is the largest finite height (0 when none
    is finite)."""
    values = landscape._metric(metric)
    finite = np.isfinite(values)
    label = metric
    if log and finite.any():
        smallest = float(values[finite].min())
        shift, eps, label = 0.0, 0.0, f"log10({metric})"
        if smallest <= 0:
            shift, eps = smallest, LOG_EPS
            label = f"log10({metric} - min + {LOG_EPS:g}), min = {NUMBER % smallest}"
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log10(values - shift + eps)
    top = float(values[finite].max()) if finite.any() else 0.0
    return Height(metric, label, np.where(finite, values, top))


# -- the grid in VTK's order ---------------------------------------------------------------------


def vtk_dimensions(landscape) -> tuple[int, int, int]:
    """(n0, n1, 1) for a plane, (n0, 1, 1) for a line."""
    return (*landscape.shape, 1) if landscape.ndim == 2 else (landscape.shape[0], 1, 1)


def vtk_order(array: np.ndarray) -> np.ndarray:
    """An 'ij' grid array (n0,) or (n0, n1) as VTK's point list: x (i) fastest, float64."""
    return np.ascontiguousarray(np.asarray(array, np.float64).ravel(order="F"))


def _points(landscape, heights: np.ndarray) -> np.ndarray:
    """(n_points, 3) point coordinates in VTK order: (a, b, height) or (a, 0, height)."""
    grid = landscape.grid()  # (*shape, k)
    xy = [vtk_order(grid[..., i]) for i in range(landscape.ndim)]
    if landscape.ndim == 1:
        xy.append(np.zeros_like(xy[0]))
    return np.stack([*xy, vtk_order(heights)], axis=1)


def _point_arrays(landscape) -> dict[str, np.ndarray]:
    """name -> (n_points,) in VTK order: every metric, then the coordinates."""
    grid = landscape.grid()
    arrays = {name: vtk_order(value) for name, value in landscape.values.items()}
    for i, axis in enumerate(AXES[: landscape.ndim]):
        arrays[axis] = vtk_order(grid[..., i])
    return arrays


# -- writers -------------------------------------------------------------------------------------


def _write_vts(landscape, path: Path, height: Height) -> None:
    n0, n1, n2 = vtk_dimensions(landscape)
    extent = f"0 {n0 - 1} 0 {n1 - 1} 0 {n2 - 1}"
    root = ET.Element(
        "VTKFile",
        type="StructuredGrid",
        version="1.0",
        byte_order="LittleEndian",
        header_type="UInt64",
    )
    grid = ET.SubElement(root, "StructuredGrid", WholeExtent=extent)
    piece = ET.SubElement(grid, "Piece", Extent=extent)
    # The height's metric is the active scalar: ParaView colours by it when the file opens.
    data = ET.SubElement(piece, "PointData", Scalars=height.metric)
    for name, array in _point_arrays(landscape).items():
        _data_array(data, name, array, 1)
    points = ET.SubElement(piece, "Points")
    _data_array(points, "Points", _points(landscape, height.values), 3)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    with atomic_open(path) as handle:
        handle.write('<?xml version="1.0"?>\n' + text + "\n")


def _data_array(parent: ET.Element, name: str, array: np.ndarray, components: int) -> None:
    """A binary DataArray: base64 of (UInt64 byte count + little-endian float64 bytes)."""
    raw = np.ascontiguousarray(array, dtype="<f8").tobytes()
    element = ET.SubElement(
        parent,
        "DataArray",
        type="Float64",
        Name=name,
        NumberOfComponents=str(components),
        format="binary",
    )
    element.text = base64.b64encode(struct.pack("<Q", len(raw)) + raw).decode("ascii")


def _write_vtk(landscape, path: Path, height: Height) -> None:
    n0, n1, n2 = vtk_dimensions(landscape)
    points = _points(landscape, height.values)
    n = points.shape[0]
    with atomic_open(path) as handle:
        handle.write("# vtk DataFile Version 3.0\n")
        handle.write(f"losslab landscape ({landscape.ndim}-D), z = {height.label}"[:255] + "\n")
        handle.write(f"ASCII\nDATASET STRUCTURED_GRID\nDIMENSIONS {n0} {n1} {n2}\n")
        handle.write(f"POINTS {n} double\n")
        np.savetxt(handle, points, fmt=NUMBER)
        handle.write(f"POINT_DATA {n}\n")
        for name, array in _point_arrays(landscape).items():
            handle.write(f"SCALARS {name} double 1\nLOOKUP_TABLE default\n")
            np.savetxt(handle, array, fmt=NUMBER)


def _check_legacy_names(landscape) -> None:
    for name in landscape.values:
        if not re.fullmatch(r"\S+", name):
            raise LosslabError(
                f"metric {name!r} has a space, which legacy .vtk names cannot hold: "
                "export to .vts, .csv or .npz."
            )


def _write_csv(landscape, path: Path, height: None = None) -> None:
    grid = landscape.grid().reshape(-1, landscape.ndim)  # 'ij': i slow, j fast
    columns = [grid[:, i] for i in range(landscape.ndim)]
    columns += [value.ravel() for value in landscape.values.values()]
    with atomic_open(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*AXES[: landscape.ndim], *landscape.values])
        for row in zip(*columns, strict=True):
            writer.writerow([NUMBER % x for x in row])


def _write_npz(landscape, path: Path, height: None = None) -> None:
    arrays = dict(zip(AXES, landscape.coords, strict=False))
    arrays.update(landscape.values)
    # np.savez's layout (one NAME.npy per array in a zip), written here so that no metric
    # name can collide with savez's own keywords ('file', 'allow_pickle').
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
