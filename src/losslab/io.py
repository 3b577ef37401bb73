"""The one atomic write: a file losslab writes is either complete or absent, never half-written.

Every writer (result files in JSON or HDF5, a training run streamed while it trains, the chunks
and the final file of a resumable landscape, figures, model weights) writes a temporary file and
lets `AtomicFile` rename it into place:

    with atomic_path("run.h5") as tmp:         # a temporary path: write anything there
        h5py.File(tmp, "w") ...
    with atomic_open("run.json") as handle:    # the same, opened as a file object
        handle.write(text)

The temporary file is `.<name>.<random>.part` beside the target (or in `folder=`), or
`.<random>.part` when the long form would exceed the folder's NAME_MAX (255 bytes on Linux):
a legal name never fails only because of our temporary. It is created private by mkstemp; on
success it is fsynced, given the mode a plain open() would give, and renamed over the target
(atomic on one filesystem); on any exception it is removed.
`remove_temporaries(folder)` sweeps those left by a killed process.

Every failure to write (a full disk, a read-only or virtual file system such as /proc, a name
too long, a file-size limit) becomes one `WriteError` line naming the target and the reason:

    cannot write 'x.json': no space left on device.

The reason comes from the errno, which writers report in different ways: an OSError, an
OSError in a RuntimeError's context (torch.save), or "errno = 28" in the text of an h5py error.
A failure that carries no errno is not a write failure (a bug) and keeps its traceback.
A writer that cannot fail cleanly (HDF5 can crash when a metadata write fails) claims its
disk space first with `reserve`, so that a full disk fails there, as an OSError.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from losslab.errors import LosslabError

TEMP_SUFFIX = ".part"
RANDOM_CHARS = 8  # mkstemp's random part of a temporary name
DEFAULT_NAME_MAX = 255  # bytes in one file name, where the system cannot say
_H5_ERRNO = re.compile(r"errno = (\d+)")  # how h5py's messages carry the system's errno


class WriteError(LosslabError):
    """A file that could not be written: one line naming the path and the reason."""


def write_error(path: str | Path, error: BaseException) -> WriteError | None:
    """The one line for `error`, raised while writing `path`; None when `error` is not a
    failure to write (it carries no errno: a bug, which keeps its traceback)."""
    if isinstance(error, LosslabError):
        return None
    code = _errno_of(error)
    if code is None:
        return None
    reason = os.strerror(code).lower()
    if code == errno.ENAMETOOLONG:
        reason += f" (at most {name_max(Path(path).parent)} bytes a name)"
    elif code == errno.EFBIG:
        reason += " for the file system or this process's file-size limit (ulimit -f)"
    elif code in (errno.ENOSPC, errno.EDQUOT):
        reason += ": free some space or choose another folder"
    return WriteError(f"cannot write '{path}': {reason}.")


def _errno_of(error: BaseException | None) -> int | None:
    """The errno behind `error`: its own, its context's (torch.save wraps the OSError of the
    file it writes in a RuntimeError) or the one h5py puts in its message."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno:
            return error.errno
        found = _H5_ERRNO.search(str(error))
        if found and int(found.group(1)) > 0:
            return int(found.group(1))
        error = error.__cause__ or error.__context__
    return None


def name_max(folder: str | Path) -> int:
    """The most bytes one file name may have in `folder`."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no such folder yet, or no pathconf
        return DEFAULT_NAME_MAX


def side_path(path: str | Path, suffix: str) -> Path:
    """`path` + `suffix` (a side file or folder of `path`, e.g. 'out.h5.partial'), the same
    every time; when that name would exceed NAME_MAX, the name is cut and a hash of the whole
    name keeps it unique: 'aaaa...aaaa-1f2e3d4c.partial'."""
    path = Path(path)
    name = path.name + suffix
    limit = name_max(path.parent)
    if len(os.fsencode(name)) <= limit:
        return path.with_name(name)
    tag = "-" + hashlib.sha256(os.fsencode(path.name)).hexdigest()[:8] + suffix
    stem = path.name
    while stem and len(os.fsencode(stem + tag)) > limit:
        stem = stem[:-1]
    return path.with_name(stem + tag)


def check_writable(path: str | Path) -> Path:
    """Fail early, before any computation, when `path` cannot be written: it is a folder, its
    folder is missing or refuses new files (tried by creating and removing a temporary file:
    permissions alone do not tell for root, /proc or /sys), or its name is too long."""
    AtomicFile(path).abort()
    return Path(path)


def _check_target(path: Path) -> Path:
    parent = path.parent
    size, limit = len(os.fsencode(path.name)), name_max(parent)
    if size > limit:
        raise WriteError(
            f"cannot write '{path}': file name too long ({size} bytes, at most {limit})."
        )
    try:
        if path.is_dir():
            raise WriteError(f"output path '{path}' is a directory: give a file name.")
        if not parent.is_dir():
            raise WriteError(f"cannot write '{path}': folder '{parent}' does not exist.")
    except OSError as error:  # a folder name too long, a loop of links
        raise (write_error(path, error) or error) from None
    if not os.access(parent, os.W_OK):
        raise WriteError(f"cannot write '{path}': folder '{parent}' is not writable.")
    return path


def _create_temporary(path: Path, where: Path) -> Path:
    """A new private file for `path` in `where`: '.<name>.<random>.part', or '.<random>.part'
    when that would be too long a name."""
    prefix = f".{path.name}."
    if len(os.fsencode(prefix)) + RANDOM_CHARS + len(TEMP_SUFFIX) > name_max(where):
        prefix = "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=where)
    except OSError as error:
        failure = write_error(path, error)
        if error.errno == errno.ENOENT and where.is_dir():  # /proc: a folder, but no new files
            failure = WriteError(
                f"cannot write '{path}': folder '{where}' does not take new files."
            )
        raise (failure or error) from None
    os.close(fd)
    return Path(tmp)


def reserve(path: str | Path, size: int) -> None:
    """Make the disk hold `size` bytes for the file at `path` (blocks allocated, contents and
    length as they are where already written): a full disk fails here, with an OSError,
    rather than in a writer that cannot fail cleanly. Does nothing where the system has no
    posix_fallocate."""
    if not hasattr(os, "posix_fallocate") or size <= 0:
        return
    fd = os.open(path, os.O_WRONLY)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
            raise  # a file system that cannot reserve: write without
    finally:
        os.close(fd)


def _mode_of_new_files() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicFile:
    """A temporary file `tmp` that `commit()` renames to `path` and `abort()` removes.

    For writers that stay open a while (a training run streamed to HDF5): they write inside
    `with target.writing():`, which removes the file and turns a failed write into one
    WriteError line; short writes use `atomic_path` or `atomic_open`. `folder` holds the
    temporary file when given (it must be on the filesystem of `path`): a resumable landscape
    keeps it inside its work folder, which the next run sweeps.
    """

    def __init__(self, path: str | Path, *, folder: str | Path | None = None):
        self.path = _check_target(Path(path))
        where = Path(folder) if folder is not None else self.path.parent
        self.tmp = _create_temporary(self.path, where)

    @contextlib.contextmanager
    def writing(self, close: Callable[[], object] | None = None) -> Iterator[Path]:
        """A block that writes the temporary file. On any exception `close()` (the writer's
        handle) is called, the file removed, and a failure to write raised as a WriteError."""
        try:
            yield self.tmp
        except BaseException as error:
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
            self.abort()
            failure = write_error(self.path, error)
            if failure is None:
                raise
            raise failure from None

    def commit(self) -> Path:
        """fsync the finished temporary file, then rename it into place; returns the path."""
        with self.writing():
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)  # on disk before the rename makes it visible
            finally:
                os.close(fd)
            # mkstemp makes the file private (0600); give it the mode a plain open() would.
            os.chmod(self.tmp, _mode_of_new_files())
            os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, folder: str | Path | None = None) -> Iterator[Path]:
    """A temporary path to write; renamed to `path` when the block ends, removed on error."""
    target = AtomicFile(path, folder=folder)
    with target.writing() as tmp:
        yield tmp
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
