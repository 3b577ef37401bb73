"""The user's own code (a model file, its factory, its forward), run so that whatever it
raises, SystemExit included, becomes one line that names the file, the function and the
exception; Ctrl-C (KeyboardInterrupt) always stays an interrupt.

    with user_code("net.py:make", "while building the model"):   # around a call we make
        model = factory()
    user_code_failure(error)    # later: was this exception raised inside the user's file?

A user's model file is imported as a module named USER_MODULE_PREFIX + a digest of its path,
which is how its frames are recognised on a traceback; so are the frames of the sibling modules
it imported from its folder. While it loads, that folder is first on
sys.path (`importable_folder`), so `import layers` finds the sibling layers.py.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

from losslab.errors import LosslabError

USER_MODULE_PREFIX = "losslab_user_model_"  # the module name a user's model file runs under
_USER_FILES: set[str] = set()  # files of the sibling modules model files imported: user code


@contextlib.contextmanager
def importable_folder(folder: Path) -> Iterator[None]:
    """`folder` first on sys.path inside the block, as when Python runs a script there; after
    it, the entry is removed and so are the modules imported from the folder (its siblings), so
    that a later model from another folder whose sibling has the same name (layers.py) imports
    its own, not this one's. Classes the model already holds keep working; only a sibling
    imported lazily, after loading, would not be found."""
    folder = folder.resolve()
    entry = str(folder)
    before = set(sys.modules)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()  # the folder's files may have changed since a last load
    try:
        yield
    finally:
        if entry in sys.path:
            sys.path.remove(entry)  # the first occurrence: ours, at the front
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            if _sibling(name, module, folder):
                del sys.modules[name]
                if isinstance(getattr(module, "__file__", None), str):
                    _USER_FILES.add(module.__file__)


def _sibling(name: str, module, folder: Path) -> bool:
    """Was `name` found through `folder` on sys.path: folder/top.py or folder/top/... for its
    top-level name? (A library in a virtualenv inside the folder was not, nor the model file
    itself, which is imported by path under USER_MODULE_PREFIX.)"""
    if name.startswith(USER_MODULE_PREFIX):
        return False
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):  # a namespace package: its first folder
        file = next(iter(getattr(module, "__path__", None) or []), None)
    if not isinstance(file, str):
        return False
    path = Path(file).resolve()
    if not path.is_relative_to(folder):
        return False
    top = name.partition(".")[0]
    first = path.relative_to(folder).parts[0]
    return first == top or first.partition(".")[0] == top


def _is_user_frame(frame) -> bool:
    module = frame.f_globals.get("__name__")
    if isinstance(module, str) and module.startswith(USER_MODULE_PREFIX):
        return True
    return frame.f_code.co_filename in _USER_FILES


@contextlib.contextmanager
def user_code(who: str, when: str, rule: str = "") -> Iterator[None]:
    """Run the user's code: whatever it raises, SystemExit and other BaseExceptions too,
    becomes one LosslabError that says who failed when, and with what; only KeyboardInterrupt
    (Ctrl-C) goes on unchanged, as the interrupt it is.

    who: "net.py:make" or "model file 'net.py'"; when: "while building the model";
    rule: what the code should do instead, e.g. "a factory must return an nn.Module".
    """
    try:
        yield
    except KeyboardInterrupt:
        raise
    except SystemExit as error:
        raise LosslabError(
            f"{who} called sys.exit({exit_code(error)}) {when}: "
            f"{rule or 'a model file must define its factory, not exit'}."
        ) from None
    except BaseException as error:  # the user's code: report it, whatever it is
        raise LosslabError(
            f"{who} failed {when}: {describe_exception(error)}" + (f" ({rule})." if rule else ".")
        ) from None


def user_code_failure(error: BaseException) -> str | None:
    """One line for an exception raised inside a user's model file (or a sibling it imports)
    after it was built (its forward, during training or on a landscape's grid), found by the
    file's frames on the
    traceback of the exception or of one it was raised from; None when no such frame is
    there (a bug of ours, which keeps its traceback)."""
    current: BaseException | None = error
    while current is not None:
        found = None
        traceback = current.__traceback__
        while traceback is not None:  # the innermost frame of the user's files wins
            if _is_user_frame(traceback.tb_frame):
                found = traceback
            traceback = traceback.tb_next
        if found is not None:
            code = found.tb_frame.f_code
            where = f"{Path(code.co_filename).name}:{code.co_name} (line {found.tb_lineno})"
            if isinstance(error, SystemExit):
                return (
                    f"{where} called sys.exit({exit_code(error)}) while losslab used the "
                    "model: a model must return its outputs, not exit."
                )
            return f"{where} failed while losslab used the model: {describe_exception(error)}."
        current = current.__cause__
    return None


def exit_code(error: SystemExit) -> str:
    """What was passed to sys.exit, as the user typed it: 0, 'bye', or nothing."""
    code = error.code
    return "" if code is None else _safe_repr(code)


def describe_exception(error: BaseException, limit: int = 200) -> str:
    """'ValueError: bad width' on one line, shortened; safe when the exception's own __str__
    raises (it is the user's class)."""
    name = type(error).__name__
    try:
        text = " ".join(str(error).split())
    except Exception:
        text = "(its message cannot be shown)"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{name}: {text}" if text else name


def _safe_repr(value: object, limit: int = 60) -> str:
    try:
        text = repr(value) if not isinstance(value, int) else str(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
