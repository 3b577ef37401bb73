"""The registry of result types, keyed by the type name every file records.

A class lands here once, when its module defines it (`Result.__init_subclass__` calls
`register`); `import losslab` imports every module that defines a result, so a file can be
loaded without knowing in advance what it holds. This module imports nothing of losslab: the
codec finds the class of a name here, and the class brings its own hooks.
"""

from __future__ import annotations

from typing import Any

_BY_NAME: dict[str, type] = {}
_BY_CLASS: dict[type, str] = {}


def register(cls: type, name: str) -> None:
    """Record `cls` under `name`; a second class under one name is a programming error."""
    known = _BY_NAME.get(name)
    if known is not None and _qualified(known) != _qualified(cls):
        raise TypeError(f"result type '{name}' is taken by {_qualified(known)}.")
    _BY_CLASS.pop(known, None)  # a reloaded module replaces its own class
    _BY_NAME[name] = cls
    _BY_CLASS[cls] = name


def lookup(name: Any) -> type | None:
    """The class registered under `name`, or None."""
    return _BY_NAME.get(name) if isinstance(name, str) else None


def name_of(value: Any) -> str | None:
    """The type name of a result instance, or None for anything else."""
    return _BY_CLASS.get(type(value))


def registered() -> dict[str, type]:
    """Every registered type by name (a copy)."""
    return dict(_BY_NAME)


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
