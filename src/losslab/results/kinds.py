"""What a result file may hold, checked before anything is built: the one validation of reads.

Each result type declares its fields once, as dataclass annotations; this module reads them as
*kinds* and checks decoded values against them, so every reader (JSON, the generic HDF5
layout, a type's own HDF5 layout) refuses a wrong value the same way, in one line that names
the field:

    Tensor, np.ndarray      an array of a whitelisted dtype (ARRAY_DTYPES; no complex, no
                            objects, no strings); FloatArray / IntArray / BoolArray narrow it
    float, int, bool, str   a number (int or float, not bool), an integer, a bool, a string
    tuple[X, ...], tuple[X, Y]   a list of X (any length), of exactly those items
    dict[str, X]            an object whose values are X
    X | None, X | Y         any of them
    a Result subclass       a nested record of that type

    check_fields(cls, fields)   every required field present, every field of its kind
    check_result(result)        the same on a built result (what a valid object satisfies)

A type whose file fields are not its dataclass fields overrides `Result.field_kinds`.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Annotated, Any

import numpy as np
from torch import Tensor

from losslab.errors import LosslabError

# dtype name -> class ("float", "int" or "bool"); the only array dtypes a file may declare.
ARRAY_DTYPES = {
    "float16": "float",
    "float32": "float",
    "float64": "float",
    "bfloat16": "float",  # torch only; stored as float32 in HDF5
    "int8": "int",
    "int16": "int",
    "int32": "int",
    "int64": "int",
    "uint8": "int",
    "bool": "bool",
}

FloatArray = Annotated[Tensor, "float"]  # a tensor of real floating-point numbers
IntArray = Annotated[Tensor, "int"]  # a tensor of integers
BoolArray = Annotated[Tensor, "bool"]

_ARRAY_WORDS = {None: "an array", "float": "an array of floats", "int": "an array of integers"}
_ARRAY_WORDS["bool"] = "an array of booleans"


def array_dtype(value) -> str | None:
    """The whitelisted dtype name of a tensor or array, or None (complex, object, string...)."""
    if isinstance(value, Tensor):
        name = str(value.dtype).removeprefix("torch.")
    elif isinstance(value, np.ndarray):
        name = value.dtype.name  # whatever the byte order: '>f8' is 'float64'
    else:
        return None
    return name if name in ARRAY_DTYPES else None


def describe(value: Any) -> str:
    """What a value is, in the words of a JSON file ('a number', 'an array of complex64')."""
    if isinstance(value, Tensor | np.ndarray):
        dtype = str(value.dtype).removeprefix("torch.")
        return f"an array of {dtype} of shape {tuple(value.shape)}"
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "a boolean"
    if isinstance(value, int | float | np.integer | np.floating):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, tuple | list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    name = getattr(type(value), "result_type", None)
    return f"a '{name}' record" if name else f"a {type(value).__name__}"


def check_value(kind: Any, value: Any, name: str) -> None:
    """Raise one line naming `name` unless `value` is of `kind` (an annotation)."""
    problem = _problem(kind, value)
    if problem is not None:
        raise LosslabError(f"field '{name}' must be {problem}.")


def check_fields(cls: type, fields: dict[str, Any]) -> None:
    """Every required field of `cls` is in `fields`, and every known one is of its kind."""
    for name, (kind, required) in field_kinds(cls).items():
        if name not in fields:
            if required:
                raise LosslabError(f"field '{name}' is missing.")
            continue
        check_value(kind, fields[name], name)


def check_entries(mapping: dict[str, Any], kinds: dict[str, Any], prefix: str) -> None:
    """The entries of a plain JSON object (metadata) that readers use are of their kinds;
    absent ones and others are let be. Names them as 'prefix.key'."""
    for key, kind in kinds.items():
        if key in mapping:
            check_value(kind, mapping[key], f"{prefix}.{key}")


def check_shapes(result, shapes: dict[str, tuple[str | int, ...]]) -> None:
    """The arrays of `result` have the shapes declared for them, one name per dimension:
    {"point": ("n",), "hessian": ("n", "n")} says hessian is n x n for the n of point.
    A field that is None is skipped; the first mismatch is one line naming the field."""
    sizes: dict[str | int, int] = {}
    for name, dims in shapes.items():
        value = getattr(result, name)
        if value is None:
            continue
        shape = tuple(value.shape)
        known = dict(sizes)  # what the fields before this one fixed
        bound = [
            sizes.setdefault(d, n) if isinstance(d, str) else d
            for d, n in zip(dims, shape, strict=False)
        ]
        if len(shape) != len(dims) or tuple(bound) != shape:
            wanted = ", ".join(f"{d}={known[d]}" if d in known else str(d) for d in dims)
            raise LosslabError(f"field '{name}' has shape {shape}, must be ({wanted}).")


def check_result(result) -> None:
    """A built result holds what its file kinds allow (the test of a loaded object)."""
    check_fields(type(result), result.to_fields())


def field_kinds(cls: type) -> dict[str, tuple[Any, bool]]:
    """name -> (kind, required) of the fields a file of `cls` holds."""
    return cls.field_kinds() if hasattr(cls, "field_kinds") else dataclass_kinds(cls)


@functools.cache
def dataclass_kinds(cls: type) -> dict[str, tuple[Any, bool]]:
    """name -> (annotation, has no default) of a dataclass's fields."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {
        f.name: (
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    }


# -- the checker --------------------------------------------------------------------------------


def _problem(kind: Any, value: Any) -> str | None:
    """None when `value` is of `kind`, else 'what it must be, got what it is'."""
    if _fits(kind, value):
        return None
    got = describe(value)
    if isinstance(value, tuple | list | dict):  # name the first item that does not fit
        items = list(value.values() if isinstance(value, dict) else value)
        fits = [list(_fits_some_item(kind, item)) for item in items]
        wrong = [item for item, ok in zip(items, fits, strict=True) if ok and not any(ok)]
        if wrong:
            got += f" holding {describe(wrong[0])}"
    return f"{_words(kind)}, got {got}"


def _fits_some_item(kind: Any, item: Any):
    """Whether `item` fits as an item of each container kind that `kind` allows."""
    kinds = (
        typing.get_args(kind)
        if typing.get_origin(kind) in (types.UnionType, typing.Union)
        else (kind,)
    )
    for k in kinds:
        origin, args = typing.get_origin(k), typing.get_args(k)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            yield _fits(args[0], item)
        elif origin is dict:
            yield _fits(args[1], item)


def _fits(kind: Any, value: Any) -> bool:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return True
    if kind is None or kind is type(None):
        return value is None
    if origin is Annotated:
        return _fits_array(value, args[1], numpy_ok=False)
    if origin in (types.UnionType, typing.Union):
        return any(_fits(k, value) for k in args)
    if kind is Tensor:
        return _fits_array(value, None, numpy_ok=False)
    if kind is np.ndarray:
        return _fits_array(value, None, numpy_ok=True)
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if origin is tuple:
        if not isinstance(value, tuple | list):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(args[0], v) for v in value)
        return len(value) == len(args) and all(
            _fits(k, v) for k, v in zip(args, value, strict=True)
        )
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and _fits(args[1], v) for k, v in value.items()
        )
    if isinstance(kind, type):
        return isinstance(value, kind)
    raise TypeError(f"no kind for the annotation {kind!r}")  # a programming error


def _fits_array(value: Any, dtype_class: str | None, *, numpy_ok: bool) -> bool:
    if not isinstance(value, Tensor) and not (numpy_ok and isinstance(value, np.ndarray)):
        return False
    dtype = array_dtype(value)
    return dtype is not None and dtype_class in (None, ARRAY_DTYPES[dtype])


def _words(kind: Any, plural: bool = False) -> str:
    """The kind in words: 'an array of floats', 'a list of strings', 'a string or null'."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Annotated:
        words = _ARRAY_WORDS[args[1]]
    elif origin in (types.UnionType, typing.Union):
        return " or ".join(_words(k, plural) for k in args)
    elif kind is Tensor or kind is np.ndarray:
        words = _ARRAY_WORDS[None]
    elif origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            words = f"a list of {_words(args[0], plural=True)}"
        else:
            words = f"a list of {len(args)} items ({', '.join(_words(k) for k in args)})"
    elif origin is dict:
        words = "an object" if args[1] is Any else f"an object of {_words(args[1], plural=True)}"
    else:
        words = _SIMPLE.get(kind) or f"a '{getattr(kind, 'result_type', kind.__name__)}' record"
    if not plural:
        return words
    return {"null": "nulls", "anything": "anything"}.get(words, _pluralize(words))


_SIMPLE = {
    Any: "anything",
    None: "null",
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
}


def _pluralize(words: str) -> str:
    head, _, rest = words.partition(" ")  # 'an array of floats' -> 'arrays of floats'
    noun, _, tail = rest.partition(" ")
    return f"{noun}s {tail}".strip() if head in ("a", "an") else words


__all__ = [
    "ARRAY_DTYPES",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "array_dtype",
    "check_entries",
    "check_fields",
    "check_result",
    "check_shapes",
    "check_value",
    "describe",
    "field_kinds",
]
