"""HDF5 result files: the header every one carries, the atomic writer, the generic layout.

Every HDF5 file losslab writes has these root attributes (readable by any HDF5 tool):

    losslab_result    the type name ("trajectory", "landscape", ...)
    format_version    the layout version of that type
    losslab_version   the version that wrote it
    spec              JSON, only for types with a spec (a landscape: what was computed)

Generic layout (any registered type that brings no layout of its own):

    /<field>[/<index or key>...]   one dataset per tensor or array, named by where it sits
                                   ("params", "coords/0", "trajectories/2/losses")
    attribute fields               JSON of the encoded fields, each array replaced by a
                                   reference {"dtype", "shape", "dataset": "<its path>"}

A type with a layout of its own (Landscape, TrainingRun) overrides `write_h5` / `read_h5`;
the header and the atomic rename stay here.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from losslab._version import __version__
from losslab.errors import LosslabError
from losslab.io import AtomicFile, reserve, write_error
from losslab.results.encoding import HEADER_KEYS, decode_result, encode_result
from losslab.results.kinds import ARRAY_DTYPES, describe

LIBVER = ("v108", "latest")  # v1.8 object headers: attributes of any size, no timestamps
LEGACY_TYPE_ATTRIBUTE = "result"  # training runs written by losslab 0.1 named their type so


IN_MEMORY_BYTES = 64 << 20  # HDF5 files with up to this much data are built in memory
METADATA_BYTES = 1 << 20  # disk claimed for HDF5's own metadata beyond the data


class H5Writer:
    """A new HDF5 result file: `handle` is open with the header written; `commit()` closes it
    and renames it into place, `abort()` removes it. Used as a context manager it commits on
    success and aborts on any exception. A failure to write (a full disk) is one WriteError
    line naming `path` (see losslab.io), and no file is left.

    Why not let HDF5 write to the disk? When a write of its metadata fails, HDF5 2.0 can crash
    the process (a segfault on flush or close) instead of raising. So a file with up to
    IN_MEMORY_BYTES of data (`data_bytes`, an upper bound) is built in memory and its image
    written by Python, where a full disk is a plain OSError. A bigger one is written to disk
    after the space it needs is reserved (`reserve`: a full disk fails there, in fallocate,
    before HDF5 writes); a writer that streams (a training run, `data_bytes=None`) reserves
    the space itself and writes inside `writing()`."""

    def __init__(self, path: str | Path, cls: type, *, spec=None, folder=None, data_bytes=0):
        self.target = AtomicFile(path, folder=folder)
        self.handle: h5py.File | None = None
        self.in_memory = data_bytes is not None and data_bytes <= IN_MEMORY_BYTES
        where = {"driver": "core", "backing_store": False} if self.in_memory else {}
        with self.writing():
            self.handle = h5py.File(self.target.tmp, "w", libver=LIBVER, **where)
        if not self.in_memory and data_bytes is not None:
            self.reserve(data_bytes + METADATA_BYTES)
        with self.writing():
            self.handle.attrs["losslab_result"] = cls.result_type
            self.handle.attrs["format_version"] = cls.format_version
            self.handle.attrs["losslab_version"] = __version__
            if spec is not None:
                self.handle.attrs["spec"] = json.dumps(spec, sort_keys=True, allow_nan=True)

    def writing(self) -> contextlib.AbstractContextManager:
        """A block that writes through `handle`: on any exception the file is closed and
        removed, and a failure to write becomes a WriteError."""
        return self.target.writing(close=self._close)

    def reserve(self, n_bytes: int) -> None:
        """Claim disk space for `n_bytes` beyond the file's current end (a streamed file)."""
        with self.writing():
            reserve(self.target.tmp, self.handle.id.get_filesize() + n_bytes)

    def commit(self) -> Path:
        with self.writing():
            if self.in_memory:
                self.handle.flush()
                image = self.handle.id.get_file_image()
                self._close()
                self.target.tmp.write_bytes(image)
            else:
                self._close()  # the space its metadata needs was reserved
                _cut_reserve(self.target.tmp)
        return self.target.commit()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._close()
        self.target.abort()

    def _close(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def __enter__(self) -> h5py.File:
        return self.handle

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.commit()
            return
        self.abort()
        failure = write_error(self.target.path, error)
        if failure is not None:
            raise failure from None


# The start of a version 2 or 3 superblock (what LIBVER writes): signature, version, sizes of
# offsets and lengths, flags, base address, extension address, end-of-file address.
SUPERBLOCK = struct.Struct("<8s4B3Q")
SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _cut_reserve(path: Path) -> None:
    """Cut what `reserve` claimed beyond the end of the file HDF5 wrote (HDF5 leaves a longer
    file as it is), at the end-of-file address its superblock gives."""
    with open(path, "r+b") as handle:
        signature, version, offset_size, _, _, base, _, end = SUPERBLOCK.unpack(
            handle.read(SUPERBLOCK.size)
        )
        ours = signature == SIGNATURE and version in (2, 3) and offset_size == 8 and base == 0
        if ours and 0 < end < handle.seek(0, os.SEEK_END):
            handle.truncate(end)


def read_header(handle: h5py.File) -> tuple[Any, Any, bool]:
    """(type name, format version, whether losslab wrote it) from the root attributes."""
    attrs = handle.attrs
    name = attrs.get("losslab_result", attrs.get(LEGACY_TYPE_ATTRIBUTE))
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return name, attrs.get("format_version", 1), "losslab_version" in attrs


def write_fields(result, handle: h5py.File) -> None:
    """The generic layout: a dataset per array, the rest as the JSON attribute `fields`."""

    def store(path: str, values: np.ndarray) -> None:
        handle.create_dataset(path, data=values)

    record = encode_result(result, store)
    fields = {k: v for k, v in record.items() if k not in HEADER_KEYS}
    handle.attrs["fields"] = json.dumps(fields, allow_nan=True)


def read_fields(cls: type, handle: h5py.File, source: str):
    """A result of type `cls` from the generic layout."""
    record = {
        "result": cls.result_type,
        "format_version": handle.attrs.get("format_version", 1),
        "losslab_version": handle.attrs.get("losslab_version", ""),
        **read_json_attribute(handle, "fields"),
    }
    return decode_result(record, lambda path: read_dataset(handle, path), source)


def read_json_attribute(handle: h5py.File, name: str) -> dict[str, Any]:
    """The JSON object stored in the root attribute `name`, or one line saying what is wrong."""
    if name not in handle.attrs:
        raise LosslabError(f"attribute '{name}' is missing.")
    text = handle.attrs[name]
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    if not isinstance(text, str):
        raise LosslabError(f"attribute '{name}' must be JSON text, got {describe(text)}.")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise LosslabError(f"attribute '{name}' is not valid JSON.") from None
    if not isinstance(value, dict):
        raise LosslabError(f"attribute '{name}' must be a JSON object, got {describe(value)}.")
    return value


def read_dataset(handle: h5py.File, path: str) -> np.ndarray:
    """The values of dataset `path`, once `checked_dataset` has checked it."""
    return np.asarray(checked_dataset(handle, path)[()])


def checked_dataset(handle: h5py.File, path: str) -> h5py.Dataset:
    """Dataset `path` (nothing read), once it is a dataset of a whitelisted dtype whose data
    the file can hold (losslab writes contiguous, uncompressed datasets)."""
    node = handle.get(path) if path.strip("/") else None
    if node is None:
        raise LosslabError(f"dataset '{path}' is missing.")
    if not isinstance(node, h5py.Dataset):
        raise LosslabError(f"'{path}' must be a dataset, got a {type(node).__name__}.")
    if node.dtype.name not in ARRAY_DTYPES:
        raise LosslabError(
            f"dataset '{path}' holds {node.dtype}, must be one of {', '.join(ARRAY_DTYPES)}."
        )
    if node.nbytes > handle.id.get_filesize():
        raise LosslabError(
            f"dataset '{path}' claims {node.nbytes} bytes, more than the file holds: the "
            "file is damaged."
        )
    return node
