"""Landscape.export: .vts/.vtk grids for ParaView, .csv and .npz, read back and compared exactly.

The oracle for every point is the landscape itself: point (i, j) is at (coords[0][i],
coords[1][j]) and holds values[m][i, j]. The grids are not square (3 x 4), so a transposed
order fails.
"""

from __future__ import annotations

import base64
import csv
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import losslab as ll
from losslab.errors import LosslabError

A = np.array([-1.0, 0.1, 2.0 / 3.0])
B = np.array([0.0, 0.3, 1.0 / 7.0, 5.0])


def plane(loss=None) -> ll.Landscape:
    """A 3 x 4 landscape whose values differ at every point and need all 17 digits."""
    rng = np.random.default_rng(0)
    if loss is None:
        loss = np.exp(rng.normal(size=(3, 4)))  # > 0, for log
    values = {"loss": loss, "accuracy": rng.uniform(size=(3, 4))}
    return ll.Landscape((A, B), values, np.zeros(2), np.eye(2))


def line() -> ll.Landscape:
    return ll.Landscape((B,), {"loss": np.array([1.0, 0.5, 0.25, 4.0])}, [0.0], [[1.0]])


def expected_points(land: ll.Landscape, heights: np.ndarray) -> list[tuple[float, ...]]:
    """The points in VTK order by a plain loop: x (index i) fastest, then y (j)."""
    if land.ndim == 1:
        return [(land.coords[0][i], 0.0, heights[i]) for i in range(land.shape[0])]
    n0, n1 = land.shape
    return [(A[i], B[j], heights[i, j]) for j in range(n1) for i in range(n0)]


def in_vtk_order(array: np.ndarray) -> list[float]:
    if array.ndim == 1:
        return list(array)
    n0, n1 = array.shape
    return [array[i, j] for j in range(n1) for i in range(n0)]


def decode(element: ET.Element) -> np.ndarray:
    """A binary VTK DataArray: base64 of a UInt64 byte count, then little-endian float64."""
    raw = base64.b64decode(element.text.strip())
    (n_bytes,) = struct.unpack("<Q", raw[:8])
    assert n_bytes == len(raw) - 8
    return np.frombuffer(raw[8:], "<f8")


def read_vts(path):
    root = ET.parse(path).getroot()
    assert root.get("type") == "StructuredGrid" and root.get("header_type") == "UInt64"
    grid = root.find("StructuredGrid")
    piece = grid.find("Piece")
    arrays = {a.get("Name"): decode(a) for a in piece.find("PointData")}
    points = decode(piece.find("Points/DataArray")).reshape(-1, 3)
    return grid.get("WholeExtent"), piece.get("Extent"), arrays, points


def same_bits(got, expected) -> bool:
    return np.array_equal(np.asarray(got, np.float64), np.asarray(expected, np.float64), True)


def test_vts_holds_the_grid_every_metric_and_the_heights(tmp_path):
    land = plane()
    land.export(tmp_path / "land.vts")
    whole, extent, arrays, points = read_vts(tmp_path / "land.vts")
    assert whole == extent == "0 2 0 3 0 0"
    assert points.shape == (12, 3)
    assert same_bits(points, expected_points(land, land.values["loss"]))
    assert list(arrays) == ["loss", "accuracy", "a", "b"]
    for name in ("loss", "accuracy"):
        assert same_bits(arrays[name], in_vtk_order(land.values[name]))
    assert same_bits(arrays["a"], points[:, 0]) and same_bits(arrays["b"], points[:, 1])


def test_vts_height_is_the_chosen_metric_or_its_log10(tmp_path):
    land = plane()
    land.export(tmp_path / "acc.vts", metric="accuracy")
    land.export(tmp_path / "log.vts", log=True)
    *_, points = read_vts(tmp_path / "acc.vts")
    assert same_bits(points[:, 2], in_vtk_order(land.values["accuracy"]))
    active = ET.parse(tmp_path / "acc.vts").find("StructuredGrid/Piece/PointData")
    assert active.get("Scalars") == "accuracy"  # ParaView colours by the height's metric
    *_, arrays, points = read_vts(tmp_path / "log.vts")
    assert same_bits(points[:, 2], in_vtk_order(np.log10(land.values["loss"])))
    assert same_bits(arrays["loss"], in_vtk_order(land.values["loss"]))  # raw values kept


def test_log_of_values_reaching_zero_is_shifted_as_plots_colour_it(tmp_path):
    raw = plane().values["loss"]
    loss = raw - np.sort(raw, axis=None)[3]  # three values < 0, one 0
    land = plane(loss)
    land.export(tmp_path / "land.vtk", log=True)
    lines = (tmp_path / "land.vtk").read_text().splitlines()
    smallest = loss.min()
    assert smallest < 0
    title = f"losslab landscape (2-D), z = log10(loss - min + 1e-12), min = {smallest:.17g}"
    assert lines[1] == title
    heights = [float(row.split()[2]) for row in lines[6:18]]
    assert same_bits(heights, in_vtk_order(np.log10(loss - smallest + 1e-12)))
    assert min(heights) == -12.0  # log10(1e-12) at the minimum: finite


def test_non_finite_values_are_kept_and_their_height_is_the_top(tmp_path):
    loss = plane().values["loss"].copy()
    loss[1, 2], loss[0, 3] = np.nan, np.inf
    land = plane(loss)
    land.export(tmp_path / "land.vts", log=True)
    *_, arrays, points = read_vts(tmp_path / "land.vts")
    assert same_bits(arrays["loss"], in_vtk_order(loss))  # NaN and inf as they were
    top = np.log10(np.nanmax(np.where(np.isfinite(loss), loss, np.nan)))
    heights = np.where(np.isfinite(loss), np.log10(loss), top)
    assert same_bits(points[:, 2], in_vtk_order(heights))
    assert np.isfinite(points).all()


def test_vtk_header_points_and_scalars_read_back(tmp_path):
    land = plane()
    land.export(tmp_path / "land.vtk", metric="accuracy")
    lines = (tmp_path / "land.vtk").read_text().splitlines()
    assert lines[0] == "# vtk DataFile Version 3.0"
    assert lines[1] == "losslab landscape (2-D), z = accuracy"
    assert lines[2:6] == [
        "ASCII",
        "DATASET STRUCTURED_GRID",
        "DIMENSIONS 3 4 1",
        "POINTS 12 double",
    ]
    points = np.array([[float(x) for x in row.split()] for row in lines[6:18]])
    assert same_bits(points, expected_points(land, land.values["accuracy"]))
    assert lines[18] == "POINT_DATA 12"
    rest, arrays = lines[19:], {}
    while rest:
        head, table, values, rest = rest[0], rest[1], rest[2:14], rest[14:]
        assert table == "LOOKUP_TABLE default"
        name = head.split()[1]
        assert head == f"SCALARS {name} double 1"
        arrays[name] = [float(x) for x in values]
    assert list(arrays) == ["loss", "accuracy", "a", "b"]
    for name in ("loss", "accuracy"):
        assert same_bits(arrays[name], in_vtk_order(land.values[name]))


def test_csv_has_a_row_per_point_and_reads_back_bitwise(tmp_path):
    loss = plane().values["loss"].copy()
    loss[2, 1] = np.nan
    land = plane(loss)
    land.export(tmp_path / "land.csv")
    with open(tmp_path / "land.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["a", "b", "loss", "accuracy"]
    expected = [
        (A[i], B[j], land.values["loss"][i, j], land.values["accuracy"][i, j])
        for i in range(3)
        for j in range(4)
    ]
    assert same_bits([[float(x) for x in row] for row in rows[1:]], expected)


def test_npz_reads_back_bitwise_without_pickle(tmp_path):
    land = plane()
    land.export(tmp_path / "land.npz")
    with np.load(tmp_path / "land.npz", allow_pickle=False) as data:
        assert list(data) == ["a", "b", "loss", "accuracy"]
        assert same_bits(data["a"], A) and same_bits(data["b"], B)
        for name in ("loss", "accuracy"):
            assert same_bits(data[name], land.values[name])


def test_npz_takes_any_metric_name_numpy_savez_would_not(tmp_path):
    land = ll.Landscape((B,), {"file": B * 2, "allow_pickle": B}, [0.0], [[1.0]])
    land.export(tmp_path / "land.npz")
    with np.load(tmp_path / "land.npz", allow_pickle=False) as data:
        assert same_bits(data["file"], B * 2) and same_bits(data["allow_pickle"], B)


def test_a_line_is_an_n_by_1_by_1_grid_in_every_format(tmp_path):
    land = line()
    for suffix in (".vts", ".vtk", ".csv", ".npz"):
        land.export(tmp_path / f"line{suffix}")
    whole, extent, arrays, points = read_vts(tmp_path / "line.vts")
    assert whole == extent == "0 3 0 0 0 0"
    assert same_bits(points, expected_points(land, land.values["loss"]))
    assert list(arrays) == ["loss", "a"]
    assert "DIMENSIONS 4 1 1" in (tmp_path / "line.vtk").read_text()
    rows = (tmp_path / "line.csv").read_text().splitlines()
    assert rows == ["a,loss", "0,1", "0.29999999999999999,0.5", "0.14285714285714285,0.25", "5,4"]
    with np.load(tmp_path / "line.npz", allow_pickle=False) as data:
        assert same_bits(data["a"], B) and same_bits(data["loss"], land.values["loss"])


def test_a_saved_and_loaded_landscape_exports_the_same(tmp_path):
    land = plane()
    land.save(tmp_path / "land.h5")
    ll.Landscape.load(tmp_path / "land.h5").export(tmp_path / "loaded.npz")
    land.export(tmp_path / "direct.npz")
    with np.load(tmp_path / "loaded.npz") as got, np.load(tmp_path / "direct.npz") as want:
        assert all(same_bits(got[k], want[k]) for k in want)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("land.png", {}, r"extension '\.png'; use one of \.vts, \.vtk, \.csv, \.npz\."),
        ("land", {}, r"no extension; use one of \.vts"),
        ("land.vts", {"metric": "error"}, r"metric == 'error', this landscape has loss"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(tmp_path, name, kwargs, message):
    land = plane()
    with pytest.raises(LosslabError, match=message) as error:
        land.export(tmp_path / name, **kwargs)
    assert "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_names_the_formats_cannot_hold_are_refused(tmp_path):
    clash = ll.Landscape((B,), {"a": B}, [0.0], [[1.0]])
    with pytest.raises(LosslabError, match="metric 'a' has the name of a coordinate axis"):
        clash.export(tmp_path / "x.csv")
    spaced = ll.Landscape((B,), {"test loss": B}, [0.0], [[1.0]])
    with pytest.raises(LosslabError, match="legacy .vtk names cannot hold"):
        spaced.export(tmp_path / "x.vtk")
    spaced.export(tmp_path / "x.vts")  # XML escapes it
    assert read_vts(tmp_path / "x.vts")[2].keys() == {"test loss", "a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.vts"]


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    from losslab.landscapes import export

    def broken(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "_point_arrays", broken)
    with pytest.raises(KeyboardInterrupt):
        plane().export(tmp_path / "land.vtk")
    assert list(tmp_path.iterdir()) == []
