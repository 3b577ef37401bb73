"""The one atomic write: a file losslab writes is either complete or absent, never half-written.

Every writer (result files in JSON or HDF5, a training run streamed while it trains, the chunks
and the final file of a resumable landscape, figures, model weights) writes a temporary file and
lets `AtomicFile` rename it into place:

    with atomic_path("run.h5") as tmp:         # a temporary path: write anything there
        h5py.File(tmp, "w") ...
    with atomic_open("run.json") as handle:    # the same, opened as a file object
        handle.write(text)

The temporary file is `.<name>.<random>.part` beside the target (or in `folder=`), created
private by mkstemp; on success it is fsynced, given the mode a plain open() would give, and
renamed over the target (atomic on one filesystem); on any exception it is removed.
`remove_temporaries(folder)` sweeps those left by a killed process.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from losslab.errors import LosslabError

TEMP_SUFFIX = ".part"


def check_writable(path: str | Path) -> Path:
    """Fail early, before any computation, when `path` cannot be written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise LosslabError(f"output path '{path}' is a directory: give a file name.")
    if not parent.is_dir():
        raise LosslabError(f"cannot write '{path}': folder '{parent}' does not exist.")
    if not os.access(parent, os.W_OK):
        raise LosslabError(f"cannot write '{path}': folder '{parent}' is not writable.")
    return path


def _mode_of_new_files() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicFile:
    """A temporary file `tmp` that `commit()` renames to `path` and `abort()` removes.

    For writers that stay open a while (a training run streamed to HDF5); short writes use
    `atomic_path` or `atomic_open`. `folder` holds the temporary file when given (it must be on
    the filesystem of `path`): a resumable landscape keeps it inside its work folder, which the
    next run sweeps.
    """

    def __init__(self, path: str | Path, *, folder: str | Path | None = None):
        self.path = check_writable(path)
        where = Path(folder) if folder is not None else self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=where)
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        """fsync the finished temporary file, then rename it into place; returns the path."""
        try:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)  # on disk before the rename makes it visible
            finally:
                os.close(fd)
            # mkstemp makes the file private (0600); give it the mode a plain open() would.
            os.chmod(self.tmp, _mode_of_new_files())
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, folder: str | Path | None = None) -> Iterator[Path]:
    """A temporary path to write; renamed to `path` when the block ends, removed on error."""
    target = AtomicFile(path, folder=folder)
    try:
        yield target.tmp
    except BaseException:
        target.abort()
        raise
    target.commit()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """`atomic_path` opened in `mode` ("w" text or "wb" bytes)."""
    with atomic_path(path) as tmp, open(tmp, mode) as handle:
        yield handle


def remove_temporaries(folder: str | Path) -> None:
    """Remove the temporary files of writers killed in `folder` (nothing else)."""
    for leftover in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)
