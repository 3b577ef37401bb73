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
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from losslab._version import __version__
from losslab.io import AtomicFile, reserve, write_error
from losslab.results.encoding import HEADER_KEYS, decode_result, encode_result

LIBVER = ("v108", "latest")  # v1.8 object headers: attributes of any size, no timestamps
LEGACY_TYPE_ATTRIBUTE = "result"  # training runs written by losslab 0.1 named their type so


class H5Writer:
    """A new HDF5 result file: `handle` is open with the header written; `commit()` closes it
    and renames it into place, `abort()` removes it. Used as a context manager it commits on
    success and aborts on any exception. A failure to write (a full disk) is one WriteError
    line naming `path` (see losslab.io), and no file is left.

    Why not let HDF5 write to the disk? When a write of its metadata fails, HDF5 2.0 can crash
    the process (a segfault on flush or close) instead of raising. So by default the file is
    built in memory and its image written by Python, where a full disk is a plain OSError. A
    writer that streams (a training run, `streamed=True`) writes to disk, inside `writing()`,
    after `reserve`-ing the disk space it will need: a full disk then fails in fallocate,
    before HDF5 writes there."""

    def __init__(self, path: str | Path, cls: type, *, spec=None, folder=None, streamed=False):
        self.target = AtomicFile(path, folder=folder)
        self.handle: h5py.File | None = None
        self.streamed = streamed
        where = {} if streamed else {"driver": "core", "backing_store": False}
        with self.writing():
            self.handle = h5py.File(self.target.tmp, "w", libver=LIBVER, **where)
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
            if self.streamed:
                self._close()  # the space its metadata needs was reserved
            else:
                self.handle.flush()
                image = self.handle.id.get_file_image()
                self._close()
                self.target.tmp.write_bytes(image)
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
    fields = json.loads(handle.attrs["fields"])
    record = {
        "result": cls.result_type,
        "format_version": int(handle.attrs.get("format_version", 1)),
        "losslab_version": str(handle.attrs.get("losslab_version", "")),
        **fields,
    }
    return decode_result(record, lambda path: handle[path][()], source)
