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
from losslab.results.kinds import ARRAY_DTYPES, array_dtype, check_fields, check_value, describe
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
    """The result a record describes, checked whole before it is built (header, then every
    field against its kind, see kinds.py); refuses a newer format than its class reads."""
    cls = lookup(data.get("result"))
    if cls is None:
        raise ResultFileError(f"{source} holds no known result type ({data.get('result')!r}).")
    check_format(cls, data.get("format_version", 1), source, nested=nested)
    check_header(data)
    plain = cls.json_fields
    fields = {
        key: value if key in plain else decode(value, arrays, source, key)
        for key, value in data.items()
        if key not in HEADER_KEYS
    }
    return build(cls, fields)


def build(cls, fields: dict[str, Any]):
    """`cls` from decoded fields once each is of its kind; its own __post_init__ checks the
    rest (shapes that must agree, known statuses)."""
    check_fields(cls, fields)
    return cls.from_fields(fields)


def check_header(data: dict[str, Any]) -> None:
    """The header's optional parts are of their kinds (the type and format are checked first).

    losslab_version is informational: the format version alone says whether this losslab
    can read a file, so a file from a newer losslab of a format we know loads."""
    check_value(str, data.get("losslab_version", ""), "losslab_version")
    check_value(dict[str, Any] | None, data.get("spec"), "spec")


def check_format(cls, version: Any, source: str, *, nested: bool = False) -> None:
    name = cls.result_type
    if isinstance(version, np.integer):
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultFileError(
            f"{source} has format_version {_short(version)} for its '{name}' record, not a "
            "positive integer: the file is damaged."
        )
    if version > cls.format_version:
        what = "holds a losslab '{}' record" if nested else "is a losslab '{}' file"
        raise ResultFileError(
            f"{source} {what.format(name)} of format {version}; this losslab reads up to "
            f"{cls.format_version}: upgrade losslab."
        )


def decode(value: Any, arrays: ArraySource | None = None, source: str = "", path: str = "") -> Any:
    """Encoded JSON -> field values; every array record is checked before it is built.
    `path` names where the value sits ('trajectories/1/params') in error messages."""
    if isinstance(value, dict):
        if set(value) - {"numpy"} in _ARRAY_KEYS:
            return _decode_array(value, arrays, path)
        if set(value) == {"float"}:
            return _decode_float(value["float"], path)
        if lookup(value.get("result")) is not None and "losslab_version" in value:
            try:
                return decode_result(value, arrays, source, nested=True)
            except ResultFileError:
                raise
            except LosslabError as error:
                raise LosslabError(f"record '{path}': {error}") from None
        return {k: decode(v, arrays, source, _join(path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(decode(v, arrays, source, _join(path, str(i))) for i, v in enumerate(value))
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


def _decode_array(value: dict[str, Any], arrays: ArraySource | None, path: str):
    """A tensor (or, with "numpy": true, an array) from its record, once the record is whole:
    a whitelisted dtype, a shape of counts, and as many numbers of that dtype as the shape
    holds (inline) or a dataset of that shape (HDF5)."""
    where = f"field '{path}'"
    as_numpy = value.get("numpy", False)
    if not isinstance(as_numpy, bool):
        raise LosslabError(f"{where} has 'numpy' {_short(as_numpy)}, must be true or false.")
    name = value["dtype"]
    if not isinstance(name, str) or name not in ARRAY_DTYPES or (as_numpy and name == "bfloat16"):
        raise LosslabError(
            f"{where} has dtype {_short(name)}, must be one of {', '.join(ARRAY_DTYPES)}."
        )
    shape = value["shape"]
    if not isinstance(shape, list) or not all(_is_int(n) and n >= 0 for n in shape):
        raise LosslabError(f"{where} has shape {_short(shape)}, must be a list of counts.")
    shape, size = tuple(shape), math.prod(shape)
    if "dataset" in value:
        data = _dataset(arrays, value["dataset"], where)
        if data.shape != shape or ARRAY_DTYPES[array_dtype(data)] != ARRAY_DTYPES[name]:
            raise LosslabError(
                f"{where} is declared {name} {list(shape)}, its dataset holds "
                f"{data.dtype.name} {list(data.shape)}: the file is damaged."
            )
    else:
        data = value["data"]
        if not isinstance(data, list) or len(data) != size:
            got = f"{len(data)} items" if isinstance(data, list) else describe(data)
            raise LosslabError(
                f"{where} has shape {list(shape)}, so its data must be a flat list of {size} "
                f"numbers, got {got}."
            )
        _check_numbers(data, name, where)
    if as_numpy:
        return np.array(data, dtype=np.dtype(name)).reshape(shape)
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(np.array(data))  # a fresh, writable array
        return data.to(getattr(torch, name)).reshape(shape)
    return torch.tensor(data, dtype=getattr(torch, name)).reshape(shape)


_ARRAY_KEYS = ({"dtype", "shape", "data"}, {"dtype", "shape", "dataset"})


def _check_numbers(data: list, dtype: str, where: str) -> None:
    """Inline numbers fit their dtype: booleans for bool, integers in range for an integer
    dtype, numbers (JSON's NaN and Infinity included) for a float dtype."""
    kind = ARRAY_DTYPES[dtype]
    if kind == "bool":
        ok = all(isinstance(x, bool) for x in data)
    elif kind == "int":
        info = np.iinfo(dtype)
        ok = all(_is_int(x) and info.min <= x <= info.max for x in data)
    else:
        ok = all(isinstance(x, int | float) and not isinstance(x, bool) for x in data)
    if not ok:
        raise LosslabError(f"{where} has data that are not all {_WORDS[kind]} of {dtype}.")


_WORDS = {"bool": "booleans", "int": "integers in the range", "float": "numbers"}


def _decode_float(text: Any, path: str) -> float:
    if text not in ("nan", "inf", "-inf"):
        raise LosslabError(f"field '{path}' is {{'float': {_short(text)}}}: only nan, inf, -inf.")
    return float(text)


def _dataset(arrays: ArraySource | None, name: Any, where: str) -> np.ndarray:
    if arrays is None:
        raise LosslabError(f"{where} refers to an HDF5 dataset in a JSON record: it is damaged.")
    if not isinstance(name, str) or not name:
        raise LosslabError(f"{where} names dataset {_short(name)}, must be a dataset path.")
    return arrays(name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any, limit: int = 60) -> str:
    """A value's repr on one line, cut to `limit` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(path: str, key: str) -> str:
    """An HDF5 dataset path: one component per field, index or key ('/' and a leading '.'
    escaped, so any dict key gives a legal and distinct name)."""
    part = quote(key, safe="")
    if not part or part.startswith("."):
        part = "%2E" + part[1:] if part else "%00"
    return f"{path}/{part}" if path else part
