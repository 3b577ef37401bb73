"""Results are frozen dataclasses of tensors plus metadata, savable without the code that made
them. `Result` gives every one `to_dict`/`from_dict` (plain JSON types) and `save`/`load`.

Encoding: a tensor becomes {"dtype": "float64", "shape": [...], "data": [...]}; tuples become
lists and come back as tuples; every file records its result type and the losslab version.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, ClassVar, Self

import h5py
import torch

from losslab._version import __version__
from losslab.errors import LosslabError
from losslab.io import atomic_open

_KINDS: dict[str, type[Result]] = {}


class Result:
    """Mixin for frozen result dataclasses."""

    result_type: ClassVar[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _KINDS[cls.result_type] = cls

    def to_dict(self) -> dict[str, Any]:
        fields = {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"result": self.result_type, "losslab_version": __version__, **fields}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        if not isinstance(data, dict) or data.get("result") != cls.result_type:
            found = data.get("result") if isinstance(data, dict) else type(data).__name__
            raise LosslabError(f"this is a '{found}' result, not a '{cls.result_type}'.")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: _decode(v) for k, v in data.items() if k in names})

    def save(self, path: str | Path) -> Path:
        """Write JSON atomically; returns the path."""
        with atomic_open(path) as handle:
            json.dump(self.to_dict(), handle, allow_nan=True)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        return cls.from_dict(read_json(path))


def load_result(path: str | Path):
    """Load any saved result, JSON or HDF5 (a landscape, a training run); the type is read
    from the file."""
    if Path(path).is_file() and h5py.is_hdf5(path):
        return _load_h5(path)
    data = read_json(path)
    result_type = _KINDS.get(data.get("result")) if isinstance(data, dict) else None
    if result_type is None:
        raise LosslabError(f"'{path}' is not a losslab result file (no known 'result' type).")
    return result_type.from_dict(data)


def _load_h5(path: str | Path):
    try:
        with h5py.File(path, "r") as handle:
            kind = handle.attrs.get("losslab_result") or handle.attrs.get("result")
    except OSError as error:
        raise LosslabError(f"cannot read result file '{path}': {error}") from None
    if kind == "landscape":
        from losslab.landscapes.result import Landscape  # the landscape package imports this one

        return Landscape.load(path)
    result_type = _KINDS.get(kind)
    if result_type is None:
        raise LosslabError(f"'{path}' is an HDF5 file but not a losslab result (no known type).")
    return result_type.load(path)


def read_json(path: str | Path) -> Any:
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise LosslabError(f"cannot read result file '{path}': {error}") from None


def _encode(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return {
            "dtype": str(value.dtype).removeprefix("torch."),
            "shape": list(value.shape),
            "data": value.flatten().tolist(),
        }
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"dtype", "shape", "data"}:
        dtype = getattr(torch, value["dtype"])
        return torch.tensor(value["data"], dtype=dtype).reshape(value["shape"])
    if isinstance(value, dict) and set(value) == {"float"}:
        return float(value["float"])
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value
