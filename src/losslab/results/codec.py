"""Save and load any result: the path's suffix picks the format, the file's header the type.

    save_result(result, "x.json")   JSON: header + encoded fields (see encoding.py); refused
                                    above JSON_MAX_VALUES array numbers, with the .h5 to use
    save_result(result, "x.h5")     HDF5: header attributes + the type's layout (see h5.py)
    load_result(path)               JSON or HDF5 (read from the content, not the suffix); the
                                    type's name in the file picks the class in the registry

Both formats are written through the one atomic write (losslab.io): a path holds a complete
file or nothing. Every failure to read is one `ResultFileError` line naming the file: missing,
foreign, damaged, of a type this losslab does not know, or of a newer format.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py

from losslab.errors import LosslabError
from losslab.io import atomic_path
from losslab.results.encoding import (
    check_format,
    check_header,
    count_numbers,
    decode_result,
    encode_result,
)
from losslab.results.errors import ResultFileError
from losslab.results.h5 import H5Writer, read_header
from losslab.results.registry import lookup, name_of

JSON_SUFFIXES = (".json",)
H5_SUFFIXES = (".h5", ".hdf5")
JSON_MAX_VALUES = 1_000_000  # array numbers a JSON file may hold (about 20 MB of text)
# What a damaged file can make h5py, json, numpy or torch raise while it is read: one line each.
READ_FAILURES = (
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
    RecursionError,
    RuntimeError,
    MemoryError,
)


def save_result(result, path: str | Path, *, folder: str | Path | None = None) -> Path:
    """Write `result` to `path` atomically, as JSON (.json) or HDF5 (.h5, .hdf5); returns the
    path. `folder` holds the temporary file (default: beside `path`)."""
    name = name_of(result)
    if name is None:
        raise LosslabError(f"a {type(result).__name__} is not a losslab result: nothing to save.")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in H5_SUFFIXES:
        data_bytes = 16 * count_numbers(result)  # at most 16 bytes a number (complex128)
        spec = result.spec()
        with H5Writer(path, type(result), spec=spec, folder=folder, data_bytes=data_bytes) as f:
            result.write_h5(f)
        return path
    if suffix not in JSON_SUFFIXES:
        raise LosslabError(
            f"cannot save a '{name}' as '{path}': the suffix picks the format, use .json, "
            ".h5 or .hdf5."
        )
    n_numbers = count_numbers(result)
    if n_numbers > JSON_MAX_VALUES:
        raise LosslabError(
            f"a '{name}' of {n_numbers} numbers is too big for JSON (at most "
            f"{JSON_MAX_VALUES}): save it as '{path.with_suffix('.h5')}'."
        )
    text = to_json(result)  # encoded before the file exists: a failure leaves nothing
    with atomic_path(path, folder=folder) as tmp:
        tmp.write_text(text)
    return path


def to_json(result, indent: int | None = None) -> str:
    """The text of `result`'s JSON file (what `save_result(result, "x.json")` writes)."""
    try:
        return json.dumps(encode_result(result), allow_nan=True, indent=indent)
    except (TypeError, ValueError) as error:
        if isinstance(error, LosslabError):
            raise
        raise LosslabError(f"cannot write a '{name_of(result)}' as JSON: {error}") from None


def load_result(path: str | Path, *, expected: type | None = None):
    """The result saved at `path`, JSON or HDF5; with `expected`, only a result of that type."""
    path = Path(path)
    what = expected.result_type if expected is not None else "result"
    with _read_errors(path, what):
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as handle:
                cls = _check_h5_header(handle, path, expected, what)
                return cls.read_h5(handle, path)
        return _load_json(path, expected, what)


@contextlib.contextmanager
def reading_h5(path: str | Path, expected: type) -> Iterator[h5py.File]:
    """An HDF5 result file of type `expected`, open for reading once its header is checked;
    anything unreadable inside the block becomes one ResultFileError line too."""
    path = Path(path)
    what = expected.result_type
    with _read_errors(path, what):
        if not h5py.is_hdf5(path):
            raise ResultFileError(f"cannot read {what} file '{path}': it is not HDF5.")
        with h5py.File(path, "r") as handle:
            _check_h5_header(handle, path, expected, what)
            yield handle


@contextlib.contextmanager
def _read_errors(path: Path, what: str) -> Iterator[None]:
    """Every failure to read `path` as one line that names it."""
    if not path.is_file():
        reason = "it is not a file" if path.exists() else "it does not exist"
        raise ResultFileError(f"cannot read {what} file '{path}': {reason}.")
    try:
        yield
    except ResultFileError:
        raise
    except LosslabError as error:
        raise ResultFileError(f"'{path}': {error}") from None
    except READ_FAILURES as error:
        reason = " ".join(f"{type(error).__name__}: {error}".split())  # h5py's may span lines
        raise ResultFileError(f"cannot read {what} file '{path}': {reason}") from None


def _check_h5_header(handle: h5py.File, path: Path, expected: type | None, what: str) -> type:
    name, version, by_losslab = read_header(handle)
    cls = _resolve(name, by_losslab, f"'{path}'", expected, "an HDF5 file")
    check_format(cls, version, f"'{path}'")
    check_header({"losslab_version": handle.attrs.get("losslab_version", "")})
    return cls


def from_dict(data: Any, *, expected: type | None = None, source: str = "this record"):
    """The result a record (a parsed JSON file) describes."""
    if not isinstance(data, dict):
        raise LosslabError(f"{source} is a JSON {type(data).__name__}, not a losslab result.")
    _resolve(data.get("result"), "losslab_version" in data, source, expected, "a JSON record")
    return decode_result(data, None, source)


def _load_json(path: Path, expected: type | None, what: str):
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ResultFileError(
            f"cannot read {what} file '{path}': it is neither JSON nor HDF5."
        ) from None
    if not isinstance(data, dict):
        raise ResultFileError(f"'{path}' is a JSON file but not a losslab {what} file.")
    _resolve(data.get("result"), "losslab_version" in data, f"'{path}'", expected, "a JSON file")
    return decode_result(data, None, f"'{path}'")


def _resolve(name: Any, by_losslab: bool, source: str, expected: type | None, container: str):
    """The registered class of `name`, or one line saying why there is none."""
    what = expected.result_type if expected is not None else "result"
    cls = lookup(name)
    if cls is None:
        if by_losslab and isinstance(name, str):
            raise ResultFileError(
                f"{source} is a losslab '{name}' file, a result type this losslab does not "
                "know: upgrade losslab."
            )
        raise ResultFileError(f"{source} is {container} but not a losslab {what} file.")
    if expected is not None and not issubclass(cls, expected):
        raise ResultFileError(
            f"{source} is a losslab '{name}' file, not a '{what}': load it with "
            "losslab.load_result."
        )
    return cls
