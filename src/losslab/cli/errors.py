"""The one place where failures become one readable line on stderr and exit code 2.

Bad input reaches us two ways: typer/click reject an argument (unknown option, a value out of
its range) or the library rejects a value (a `LosslabError`: unknown surface, malformed point,
unwritable path). Both end here as `error: <what was wrong and how to fix it>`, and so does
anything raised, sys.exit included, inside the user's own model file. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from losslab.cli.user_code import user_code_failure
from losslab.errors import LosslabError

USAGE_EXIT_CODE = 2


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
        except typer.TyperException as error:  # click's usage errors derive from it
            if type(error).__name__ == "NoArgsIsHelpError":
                sys.exit(error.exit_code)  # the help text has been printed already
            ctx = getattr(error, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            fail(error.format_message() + hint, error.exit_code)
        except typer.Abort:
            fail("aborted.", 1)
        # Keep this clause last: it sees what no clause above claimed, and re-raises a bug.
        except (Exception, SystemExit) as error:  # from the user's model file: not our bug
            message = user_code_failure(error)
            if message is None:
                raise
            fail(message)
        # Non-standalone mode returns an exit code for `typer.Exit` (--help, --version) and the
        # command's own return value (None) otherwise.
        sys.exit(result if isinstance(result, int) else 0)
