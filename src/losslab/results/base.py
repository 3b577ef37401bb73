"""`Result`: the mixin every result type inherits; defining the class registers it.

    @dataclass(frozen=True)
    class Trajectory(Result):
        result_type = "trajectory"      # the name in every file; registers the class
        params: Tensor
        ...

That is all a type needs: `save`/`load`/`to_dict`/`from_dict` and a short `repr` (shapes and
headline numbers, never the arrays: summary.py) come from here. A type whose
fields are not what it should store overrides the hooks below; a type with an HDF5 layout of
its own (Landscape, TrainingRun) overrides `write_h5`/`read_h5`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Self

import h5py

import losslab.results.codec as codec
import losslab.results.h5 as h5
import losslab.results.kinds as kinds
from losslab.results.encoding import encode_result
from losslab.results.registry import register
from losslab.results.summary import default_repr


class Result:
    """Mixin for frozen result dataclasses.

    result_type:    the type name every file records (registers the class).
    format_version: the version of this type's layout; bump it when a file of the new layout
                    cannot be read by the old code. Newer files are refused with one line.
    json_fields:    fields of plain JSON data (metadata dicts) stored and loaded as they are:
                    lists stay lists, where other fields get tuples back.
    """

    result_type: ClassVar[str]
    format_version: ClassVar[int] = 1
    json_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "result_type" in cls.__dict__:
            register(cls, cls.result_type)
        # @dataclass writes its field-by-field __repr__ (every array in full) into a class
        # that defines none itself; one already there (ours, inherited) is kept.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = _inherited_repr(cls)

    def __repr__(self) -> str:
        """`Name(headline scalars..., arrays as <shape dtype>)`, at most 6 lines; a type with
        a better headline overrides it (compose it with losslab.results.summary)."""
        return default_repr(self)

    # -- hooks: override when the fields are not what a file should hold ------------------------

    def to_fields(self) -> dict[str, Any]:
        """The values a file stores, by name (default: every dataclass field)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        """The result from the decoded values of `to_fields`; unknown names are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in fields.items() if k in names})

    @classmethod
    def field_kinds(cls) -> dict[str, tuple[Any, bool]]:
        """name -> (kind, required) of the fields a file holds, checked before `from_fields`
        (default: the dataclass fields' annotations; see kinds.py)."""
        return kinds.dataclass_kinds(cls)

    def spec(self) -> dict[str, Any] | None:
        """What was computed, as plain JSON, for the file's header (None: no spec)."""
        return None

    def write_h5(self, handle: h5py.File) -> None:
        """Fill an HDF5 file whose header is written (default: the generic layout)."""
        h5.write_fields(self, handle)

    @classmethod
    def read_h5(cls, handle: h5py.File, path: Path) -> Self:
        """The result from a file whose header names this type (default: generic layout)."""
        return h5.read_fields(cls, handle, f"'{path}'")

    # -- the public face ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the header and the encoded fields (what a .json file holds)."""
        return encode_result(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return codec.from_dict(data, expected=cls)

    def save(self, path: str | Path) -> Path:
        """Write atomically: .json (small results) or .h5/.hdf5 (any size); returns the path."""
        return codec.save_result(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a file of this type, JSON or HDF5."""
        return codec.load_result(path, expected=cls)


def _inherited_repr(cls: type) -> Any:
    """The __repr__ of the nearest Result class above `cls` that has one of its own."""
    for klass in cls.__mro__[1:]:
        if issubclass(klass, Result) and "__repr__" in klass.__dict__:
            return klass.__dict__["__repr__"]
    return Result.__repr__
