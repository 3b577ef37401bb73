"""The one place where failures become one readable line on stderr and exit code 2.

Bad input reaches us two ways: typer/click reject an argument (unknown option, a value out of
its range) or the library rejects a value (a `LosslabError`: unknown surface, malformed point,
unwritable path). Both end here as `error: <what was wrong and how to fix it>`, and so do a
full disk that a write outside losslab.io meets (an OSError of DISK_ERRNOS) and anything
raised, sys.exit included, inside the user's own model file, and a torch error inside one of a
command's computations (`computing("the 5 largest Hessian eigenvalues")`: a layer without a
second derivative, out of memory), which names the step and torch's first message line.
Anything else is a bug and keeps its traceback (as does a torch error when LOSSLAB_TRACEBACK=1
is set, for whoever debugs it).

Ctrl-C ends here too, for every command: one line on stderr ("interrupted", or what the
command kept, e.g. the chunks of a landscape: see `Interrupted`) and exit code 130 (128 +
SIGINT, what a shell reports for a process stopped by Ctrl-C). By then every `finally` of the
command has run (locks released, temporary files removed; results are written atomically, so
nothing is half-written). `main()` in app.py then leaves with os._exit, because what remains
are daemon threads that may be inside torch (the worker pool's, the web lab's warm-up) and an
interpreter that finalizes around them aborts ("terminate called without an active
exception").
"""

from __future__ import annotations

import contextlib
import dis
import errno
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch
import typer
from typer.core import TyperGroup

from losslab.cli.user_code import user_code_failure
from losslab.errors import LosslabError
from losslab.io import write_error

USAGE_EXIT_CODE = 2
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
INTERRUPTED_EXIT_CODE = 130
TRACEBACK_VARIABLE = "LOSSLAB_TRACEBACK"  # set (to anything) to see torch errors' tracebacks
_TORCH_FOLDER = Path(torch.__file__).resolve().parent


class ComputationError(LosslabError):
    """A torch error inside a step of a command, as one line (see `computing`)."""


@contextlib.contextmanager
def computing(what: str) -> Iterator[None]:
    """A step of a command ("training mlp on digits", "the 5 largest Hessian eigenvalues"):
    a torch error inside it ends the command as one line, `<what> failed inside torch:
    <torch's first message line>`, exit 2. A torch error is one raised by torch's C++ code
    (a RuntimeError: NotImplementedError for a missing derivative, out of memory, linear
    algebra) or by torch's own Python code. An error from the user's model file is
    left to `user_code_failure` (it names the file and line); anything else goes on."""
    try:
        yield
    except KeyboardInterrupt:
        raise
    except LosslabError as error:
        # The library words some failures itself and keeps torch's error as the cause (a
        # curvature product names its batch): the step and the traceback switch still apply.
        cause = error.__cause__
        wrapped = isinstance(cause, Exception) and not isinstance(cause, LosslabError)
        if not wrapped or not _torch_error(cause) or user_code_failure(cause) is not None:
            raise
        if os.environ.get(TRACEBACK_VARIABLE):
            raise cause from None
        raise ComputationError(
            f"{what} failed inside torch: {str(error).rstrip('.')} "
            f"(set {TRACEBACK_VARIABLE}=1 for the traceback)."
        ) from error
    except Exception as error:
        if not _torch_error(error) or user_code_failure(error) is not None:
            raise
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        raise ComputationError(
            f"{what} failed inside torch: {first_line(error).rstrip('.')} "
            f"(set {TRACEBACK_VARIABLE}=1 for the traceback)."
        ) from error


def first_line(error: BaseException, limit: int = 240) -> str:
    """'NotImplementedError: the derivative for ... is not implemented.': the type and the
    first non-empty line of the message, shortened."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def _torch_error(error: BaseException) -> bool:
    """Raised by torch: in torch's own Python code, or a RuntimeError (NotImplementedError,
    out of memory...) from torch's C++ code, whose innermost Python frame is a call, not a
    `raise` (a RuntimeError that Python code of ours raises is a bug and keeps its traceback)."""
    traceback, innermost = error.__traceback__, None
    while traceback is not None:
        innermost, traceback = traceback, traceback.tb_next
    if innermost is None:
        return False
    code = innermost.tb_frame.f_code
    if Path(code.co_filename).resolve().is_relative_to(_TORCH_FOLDER):
        return True
    instruction = dis.opname[code.co_code[innermost.tb_lasti]]
    return isinstance(error, RuntimeError) and instruction not in ("RAISE_VARARGS", "RERAISE")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, re-raised by a command with the one line to print (e.g. what was kept)."""


@contextlib.contextmanager
def interruption_says(line: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C inside the block prints `line()` (called after the block's clean-up) instead of
    "interrupted", e.g. what a command kept for a resume."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(line()) from None


class _Stopped(Exception):  # noqa: N818 - not an error: the run was stopped
    """Carries an interruption's line past typer, which turns a KeyboardInterrupt into a
    silent exit 130."""


def stopped(message: str) -> NoReturn:
    """Print `message` as one line on stderr and exit 130 (see the module docstring)."""
    typer.echo(one_line(message), err=True)
    sys.exit(INTERRUPTED_EXIT_CODE)


def fail(message: str, exit_code: int = USAGE_EXIT_CODE) -> NoReturn:
    """Print `error: message` as exactly one line on stderr and exit."""
    typer.echo(f"error: {one_line(message)}", err=True)
    sys.exit(exit_code)


def one_line(message: str) -> str:
    """Collapse any line breaks and runs of spaces so the message stays on one line."""
    return " ".join(str(message).split())


class OneLineErrors(TyperGroup):
    """A typer group whose every user error is one line on stderr (exit 2), never a traceback.

    It runs the command line in click's non-standalone mode so that errors come back to us
    instead of being drawn as a multi-line panel, then exits the way standalone mode would.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as interrupt:
            message = str(interrupt) if isinstance(interrupt, Interrupted) else "interrupted"
            raise _Stopped(message) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:  # a caller who wants the raw exceptions gets them
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except LosslabError as error:
            fail(str(error))
        except OSError as error:  # a full disk outside losslab.io (a folder): not a bug
            if error.errno in DISK_ERRNOS:
                fail(str(write_error(error.filename or "a file", error)))
            message = user_code_failure(error)  # or an OSError of the user's model file
            if message is None:
                raise
            fail(message)
        except typer.TyperException as error:  # click's usage errors derive from it
            if type(error).__name__ == "NoArgsIsHelpError":
                sys.exit(error.exit_code)  # the help text has been printed already
            ctx = getattr(error, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            fail(error.format_message() + hint, error.exit_code)
        except typer.Abort:
            fail("aborted.", 1)
        except _Stopped as stop:
            stopped(str(stop))
        # Keep this clause last: it sees what no clause above claimed, and re-raises a bug.
        except (Exception, SystemExit) as error:  # from the user's model file: not our bug
            message = user_code_failure(error)
            if message is None:
                raise
            fail(message)
        if result == INTERRUPTED_EXIT_CODE:  # typer's own exit for a Ctrl-C while parsing
            stopped("interrupted")
        # Non-standalone mode returns an exit code for `typer.Exit` (--help, --version) and the
        # command's own return value (None) otherwise.
        sys.exit(result if isinstance(result, int) else 0)
