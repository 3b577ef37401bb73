"""Field values <-> plain JSON data, the one encoding behind both file formats.

    tensor    {"dtype": "float64", "shape": [2, 3], "data": [...]}        (JSON: inline)
              {"dtype": "float64", "shape": [2, 3], "dataset": "params"}  (HDF5: a dataset)
    ndarray   the same with "numpy": true
    result    {"result": "trajectory", "format_version": 1, "losslab_version": ..., fields}
    tuple     a list; every list comes back as a tuple (dataclass fields hold tuples)
    nan, inf  {"float": "nan"} as a scalar; inside "data" lists JSON's NaN/Infinity
    dict      keys as strings; str, int, bool, None as they are

`arrays`, when given, receives every tensor and array as (dataset path, numpy array) and the
JSON keeps only a reference: that is the whole difference between the JSON and the generic
HDF5 layout. Nested results (the trajectories of a race) encode with their own header, so
each part of a file can be read on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import numpy as np
import torch

from losslab._version import __version__
from losslab.errors import LosslabError
from losslab.results.errors import ResultFileError
from losslab.results.registry import lookup, name_of

HEADER_KEYS = ("result", "format_version", "losslab_version", "spec")

ArraySink = Callable[[str, np.ndarray], None]  # (dataset path, values) -> stored
ArraySource = Callable[[str], np.ndarray]  # dataset path -> values


def header(result) -> dict[str, Any]:
    """What every record starts with: its type, format version, losslab version and spec."""
    cls = type(result)
    head = {
        "result": cls.result_type,
        "format_version": cls.format_version,
        "losslab_version": __version__,
    }
    spec = result.spec()
    if spec is not None:
        head["spec"] = spec
    return head


def encode_result(result, arrays: ArraySink | None = None, path: str = "") -> dict[str, Any]:
    """A result as its header plus its encoded fields (its `json_fields` as they are)."""
    record = header(result)
    plain = type(result).json_fields
    for name, value in result.to_fields().items():
        record[name] = value if name in plain else encode(value, arrays, _join(path, name))
    return record


def encode(value: Any, arrays: ArraySink | None = None, path: str = "") -> Any:
    if name_of(value) is not None:
        return encode_result(value, arrays, path)
    if isinstance(value, torch.Tensor):
        return _encode_array(value, arrays, path)
    if isinstance(value, np.ndarray):
        return {**_encode_array(value, arrays, path), "numpy": True}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, tuple | list):
        return [encode(v, arrays, _join(path, str(i))) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): encode(v, arrays, _join(path, str(k))) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise LosslabError(
        f"'{path}' holds a {type(value).__name__}, which a result file cannot store: give "
        "tensors, arrays, numbers, strings, lists and dicts."
    )


def decode_result(
    data: dict[str, Any], arrays: ArraySource | None, source: str, *, nested: bool = False
):
    """The result a record describes; refuses a newer format than its class reads."""
    cls = lookup(data.get("result"))
    if cls is None:
        raise ResultFileError(f"{source} holds no known result type ({data.get('result')!r}).")
    check_format(cls, data.get("format_version", 1), source, nested=nested)
    plain = cls.json_fields
    fields = {
        key: value if key in plain else decode(value, arrays, source)
        for key, value in data.items()
        if key not in HEADER_KEYS
    }
    return cls.from_fields(fields)


def check_format(cls, version: Any, source: str, *, nested: bool = False) -> None:
    name = cls.result_type
    if isinstance(version, np.integer):
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultFileError(
            f"{source} has format_version {version!r} for its '{name}' record, not a positive "
            "integer: the file is damaged."
        )
    if version > cls.format_version:
        what = "holds a losslab '{}' record" if nested else "is a losslab '{}' file"
        raise ResultFileError(
            f"{source} {what.format(name)} of format {version}; this losslab reads up to "
            f"{cls.format_version}: upgrade losslab."
        )


def decode(value: Any, arrays: ArraySource | None = None, source: str = "") -> Any:
    if isinstance(value, dict):
        keys = set(value) - {"numpy"}
        if keys == {"dtype", "shape", "data"} or keys == {"dtype", "shape", "dataset"}:
            return _decode_array(value, arrays)
        if keys == {"float"}:
            return float(value["float"])
        if lookup(value.get("result")) is not None and "losslab_version" in value:
            return decode_result(value, arrays, source, nested=True)
        return {k: decode(v, arrays, source) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(decode(v, arrays, source) for v in value)
    return value


def count_numbers(value: Any) -> int:
    """How many array elements a value holds, nested results included (the JSON size rule)."""
    if name_of(value) is not None:
        return count_numbers(list(value.to_fields().values()))
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, tuple | list):
        return sum(count_numbers(v) for v in value)
    if isinstance(value, dict):
        return sum(count_numbers(v) for v in value.values())
    return 0


# -- arrays -------------------------------------------------------------------------------------


def _encode_array(value, arrays: ArraySink | None, path: str) -> dict[str, Any]:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().resolve_conj().resolve_neg()
        dtype = str(value.dtype).removeprefix("torch.")
    else:
        if value.dtype.hasobject:
            raise LosslabError(f"'{path}' is an array of Python objects: a file cannot store it.")
        dtype = str(value.dtype)
    record: dict[str, Any] = {"dtype": dtype, "shape": list(value.shape)}
    if arrays is None:
        record["data"] = value.flatten().tolist()
    else:
        arrays(path, _as_numpy(value))
        record["dataset"] = path
    return record


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if value.dtype == torch.bfloat16:  # numpy has no bfloat16: float32 holds it exactly
        value = value.float()
    return value.numpy()


def _decode_array(value: dict[str, Any], arrays: ArraySource | None):
    shape = tuple(int(n) for n in value["shape"])
    if value.get("numpy"):
        dtype = np.dtype(value["dtype"])
        if "dataset" in value:
            data = np.asarray(_source(arrays)(value["dataset"]))
            return data.astype(dtype, copy=False).reshape(shape)
        return np.asarray(value["data"], dtype=dtype).reshape(shape)
    dtype = getattr(torch, str(value["dtype"]), None)
    if not isinstance(dtype, torch.dtype):
        raise LosslabError(f"dtype {value['dtype']!r} is not a torch dtype.")
    if "dataset" in value:
        data = np.array(_source(arrays)(value["dataset"]))  # a fresh, writable array
        return torch.from_numpy(data).to(dtype).reshape(shape)
    return torch.tensor(value["data"], dtype=dtype).reshape(shape)


def _source(arrays: ArraySource | None) -> ArraySource:
    if arrays is None:
        raise LosslabError("a JSON record refers to an HDF5 dataset: the file is damaged.")
    return arrays


def _join(path: str, key: str) -> str:
    """An HDF5 dataset path: one component per field, index or key ('/' and a leading '.'
    escaped, so any dict key gives a legal and distinct name)."""
    part = quote(key, safe="")
    if not part or part.startswith("."):
        part = "%2E" + part[1:] if part else "%00"
    return f"{path}/{part}" if path else part
