"""Resumable landscape files: finished chunks survive Ctrl-C and kill -9.

Why not write chunks straight into the HDF5 file? HDF5 keeps metadata (B-trees, object
headers, free-space lists) in a cache and rewrites it in place. A process killed while a file
is open for writing -- between two chunks, not only during one -- can leave that metadata
inconsistent and the whole file unreadable, which would lose every chunk, not the one in
flight. So the HDF5 file at `out` is only ever written complete, and the work in progress lives
in a side folder of small files that are each created atomically:

    out.h5.partial/
        spec.json                  the spec, its hash, the metadata and chunk_size, written
                                   once (temporary name + rename) before the first chunk
        chunk_00000000.npz         values of chunk 0 (metric -> float64 (chunk length,)),
        chunk_00000003.npz         written to a temporary name, fsynced, renamed into place
        ...                        (every file here through losslab.io's one atomic write)

The grid is flattened in C order ('ij': the last axis varies fastest) and cut into chunks of
`chunk_size` points; chunk i holds points [i * chunk_size, (i + 1) * chunk_size). A chunk file
exists only once its values are complete, so after a kill -9 the folder holds exactly the
chunks that finished (an unfinished temporary file is ignored and removed); the chunk in flight
is the only loss. A run with the same spec finds the folder and computes only missing chunks.
When every chunk is there the HDF5 file is written by the result codec (losslab.results) with
its temporary file inside the folder, so a kill while writing it leaves nothing beside `out`;
it is fsynced and renamed to `out` (atomic on one filesystem), then the folder is removed; a
kill between those two steps leaves a complete `out` and a stale folder that the next run
recognizes and removes.

A different spec (see spec.py) at `out` or in the folder is refused with the components that
differ; nothing is overwritten. Bad input is refused before the folder exists, and a run that
fails before finishing any chunk removes the folder again, so no empty leftovers remain.

Every chunk is a plain function of plain data (chunk index -> grid points -> values) and every
chunk file is independent and renamed into place whole, which is what a later cluster executor
needs to fill one folder from many workers (a chunk written twice is the same values written
atomically twice). Today one process runs a folder: opening it sweeps temporary files, which
would include those of a concurrent writer, and finishing removes it. So a run holds an
exclusive OS lock (`exclusive(out)`: flock on `out.h5.lock`, beside the folder, holding the
holder's pid) from before it reads anything of `out` until it is done; a second run on the
same `out` is refused at once, naming that pid, and touches nothing. The lock file is removed
by its holder while still locked, and a run that locked a file it then finds unlinked or
replaced starts over, so removing it never lets two runs in; after a kill -9 the kernel drops
the lock and the next run takes the leftover file.

What made the origin can be kept with the run too (`keep_inputs`): the command line trains a
network before it knows the spec (the trained weights are the origin), so it keeps the trained
weights and its options here, and a resume loads them instead of training again, or refuses
changed options before any work. `inputs.json` is written last, so a folder that has it has
the files it describes. A folder with kept inputs but no chunk yet is kept on failure (the
training is worth a resume); one with neither is removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from losslab.errors import LosslabError
from losslab.io import WriteError, atomic_open, remove_temporaries, side_path
from losslab.landscapes.result import Landscape, read_file
from losslab.landscapes.spec import differences
from losslab.results import save_result

PARTIAL_SUFFIX = ".partial"
LOCK_SUFFIX = ".lock"
SPEC_FILE = "spec.json"
INPUTS_FILE = "inputs.json"


def chunk_name(index: int) -> str:
    return f"chunk_{index:08d}.npz"


def partial_folder(out: Path) -> Path:
    return side_path(out, PARTIAL_SUFFIX)  # 'out.h5.partial', shortened for a long name


def lock_file(out: Path) -> Path:
    return out.with_name(out.name + LOCK_SUFFIX)


_held: dict[Path, int] = {}  # lock files this process holds -> nesting depth


@contextlib.contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold the lock of `out` for the block (re-entrant within this process); raise a
    LosslabError at once, touching nothing, when another process holds it."""
    path = Path(os.path.abspath(lock_file(out)))
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    fd = _acquire(path, out)
    _held[path] = 1
    try:
        yield
    finally:
        del _held[path]
        with contextlib.suppress(OSError):
            path.unlink()  # still locked: a run that opened this file finds it gone
        os.close(fd)


def _acquire(path: Path, out: Path) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise LosslabError(
                f"cannot lock '{out}': {error.strerror or error} ('{path}')."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f"another run (pid {holder})" if holder.isdigit() else "another run"
            raise LosslabError(
                f"{who} is computing '{out}' and holds '{path}': wait for it to finish, "
                f"or stop it, then run this again."
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not removed by its last holder between our open and our flock
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return fd
        os.close(fd)


def _refusal(where: Path, what: list[str], *, also: Path | None = None) -> LosslabError:
    extra = f" and '{also}'" if also is not None else ""
    return LosslabError(
        f"'{where}' holds a different landscape: {', '.join(what)} differ(s). "
        f"To compute this one, choose a new out path or delete '{where}'{extra}."
    )


def finished_landscape(out: Path, spec_hash: str, spec, metadata) -> Landscape | None:
    """The complete landscape at `out` if it has this spec; None if there is no file there.

    Raises when `out` holds anything else.
    """
    if not out.exists():
        return None
    if not out.is_file():
        raise LosslabError(f"out == '{out}' is not a regular file: choose a file path.")
    try:
        landscape, done = read_file(out)
    except LosslabError as error:
        raise LosslabError(
            f"out == '{out}' exists and is not a readable landscape file ({error}); "
            f"choose a new out path or delete it."
        ) from None
    stored = landscape.metadata
    if stored.get("spec_hash") != spec_hash:
        raise _refusal(out, differences(stored.get("spec", {}), stored, spec, metadata))
    if not done.all():
        return None  # not written by losslab's landscape(); recompute in the folder
    return landscape


class ChunkStore:
    """The side folder of one resumable landscape computation."""

    def __init__(self, out: Path, spec_hash: str, n_points: int, chunk_size: int):
        self.out = out
        self.folder = partial_folder(out)
        self.spec_hash = spec_hash
        self.n_points = n_points
        self.chunk_size = chunk_size
        self.n_chunks = -(-n_points // chunk_size)
        self.created = False  # whether this process made the folder

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        out: Path,
        spec: Mapping[str, Any],
        spec_hash: str,
        metadata: Mapping[str, Any],
        n_points: int,
        chunk_size: int | None,
        default_chunk_size: int,
    ) -> tuple[ChunkStore, dict[str, Any]]:
        """Resume the folder of this spec, or start one; returns (store, metadata to use).

        The stored metadata wins on resume (its creation time and chunk size), so a resumed
        run writes the same file as an uninterrupted one.
        """
        folder = partial_folder(out)
        stored = _read_spec_file(folder)
        if stored is not None:
            if stored.get("spec_hash") != spec_hash:
                what = differences(stored.get("spec", {}), stored["metadata"], spec, metadata)
                raise _refusal(folder, what, also=out if out.exists() else None)
            stored_chunk = int(stored["chunk_size"])
            if chunk_size is not None and chunk_size != stored_chunk:
                raise LosslabError(
                    f"chunk_size == {chunk_size}, but '{folder}' was started with chunk_size == "
                    f"{stored_chunk}: pass chunk_size={stored_chunk} (or None) to resume it."
                )
            store = cls(out, spec_hash, n_points, stored_chunk)
            store.sweep()
            return store, dict(stored["metadata"])
        if folder.exists() and not folder.is_dir():
            raise LosslabError(f"'{folder}' exists and is not a folder: delete it to continue.")
        if folder.exists() and any(folder.glob("chunk_*.npz")):
            raise LosslabError(
                f"'{folder}' holds chunks but no {SPEC_FILE}: it was not made by this losslab "
                f"or was damaged; delete it to start over."
            )
        chunk_size = chunk_size or default_chunk_size
        metadata = {**metadata, "chunk_size": chunk_size}
        store = cls(out, spec_hash, n_points, chunk_size)
        store.created = not folder.exists()
        folder.mkdir(exist_ok=True)
        record = {
            "losslab_partial": "landscape",
            "spec_hash": spec_hash,
            "spec": dict(spec),
            "chunk_size": chunk_size,
            "n_points": n_points,
            "metadata": metadata,
        }
        with atomic_open(folder / SPEC_FILE) as handle:
            handle.write(json.dumps(record, sort_keys=True))
        return store, metadata

    def sweep(self) -> None:
        """Remove temporary files left by a killed writer."""
        remove_temporaries(self.folder)

    # -- chunks ---------------------------------------------------------------------------------

    def bounds(self, index: int) -> tuple[int, int]:
        start = index * self.chunk_size
        return start, min(start + self.chunk_size, self.n_points)

    def done(self) -> set[int]:
        """Indices of chunks whose files are complete."""
        found = set()
        for path in self.folder.glob("chunk_*.npz"):
            try:
                index = int(path.stem.removeprefix("chunk_"))
            except ValueError:
                continue
            if 0 <= index < self.n_chunks:
                found.add(index)
        return found

    def write(self, index: int, values: Mapping[str, np.ndarray]) -> None:
        """Store one finished chunk atomically; a failed write says what stays for a resume."""
        try:
            with atomic_open(self.folder / chunk_name(index), "wb") as handle:
                np.savez(handle, **{k: np.asarray(v, np.float64) for k, v in values.items()})
        except WriteError as error:
            kept = len(self.done())
            if not kept:
                raise
            raise WriteError(
                f"{error} The {kept} chunk(s) computed before stay in '{self.folder}': run "
                "the same command again to resume from them."
            ) from None

    def read(self, index: int) -> dict[str, np.ndarray] | None:
        """A chunk's values, or None (and the file removed) if it is damaged."""
        path = self.folder / chunk_name(index)
        start, stop = self.bounds(index)
        try:
            with np.load(path, allow_pickle=False) as data:
                values = {k: data[k] for k in data.files}
        except Exception:  # a damaged file (e.g. after a power cut): compute it again
            path.unlink(missing_ok=True)
            return None
        if not values or any(v.shape != (stop - start,) for v in values.values()):
            path.unlink(missing_ok=True)
            return None
        return values

    def has_chunks(self) -> bool:
        return bool(self.done())

    def discard_if_empty(self, *, keep_inputs: bool = True) -> None:
        """After a failure: remove the folder unless it holds chunks, or kept inputs that are
        to be kept (after Ctrl-C: a resume skips the training; after an error: nothing
        partial stays)."""
        if not self.has_chunks() and not (keep_inputs and kept_inputs(self.out) is not None):
            self.remove()

    # -- the end --------------------------------------------------------------------------------

    def finish(self, landscape: Landscape, metadata: Mapping[str, Any]) -> None:
        """Write the complete HDF5 file at `out` atomically, then remove the folder."""
        landscape = dataclasses.replace(landscape, metadata=dict(metadata))
        try:
            save_result(landscape, self.out, folder=self.folder)
        except WriteError as error:
            raise WriteError(
                f"{error} The {self.n_chunks} computed chunk(s) stay in '{self.folder}': run "
                "the same command again to write the file without computing them again."
            ) from None
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def remove_stale_folder(out: Path, spec_hash: str) -> None:
    """After a kill between the final rename and the clean-up: drop our leftover folder."""
    folder = partial_folder(out)
    stored = _read_spec_file(folder)
    if stored is not None and stored.get("spec_hash") == spec_hash:
        shutil.rmtree(folder, ignore_errors=True)


def kept_chunks(out: Path) -> tuple[int, int] | None:
    """(finished chunks, all chunks) of the partial run of `out`, or None when it has none."""
    try:
        stored = _read_spec_file(partial_folder(out))
    except LosslabError:
        return None
    if stored is None:
        return None
    store = ChunkStore(out, stored["spec_hash"], int(stored["n_points"]), int(stored["chunk_size"]))
    return len(store.done()), store.n_chunks


def keep_inputs(out: Path, inputs: Mapping[str, Any], write: Callable[[Path], None]) -> None:
    """Keep `inputs` (plain JSON: what made the origin, e.g. training options) with the
    partial run of `out`, after `write(folder)` has written the files they describe (each
    atomically, e.g. trained weights). A folder whose run was started without kept inputs
    is left as it is: its spec alone decides whether this run resumes it."""
    folder = partial_folder(out)
    if (folder / SPEC_FILE).is_file() and not (folder / INPUTS_FILE).is_file():
        return
    folder.mkdir(exist_ok=True)
    write(folder)
    with atomic_open(folder / INPUTS_FILE) as handle:
        handle.write(json.dumps(dict(inputs), sort_keys=True))


def kept_inputs(out: Path) -> dict[str, Any] | None:
    """The inputs kept with the partial run of `out` (see keep_inputs), or None."""
    path = partial_folder(out) / INPUTS_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LosslabError(
            f"'{path}' cannot be read ({error}): delete '{partial_folder(out)}' to start over."
        ) from None
    if not isinstance(record, dict):
        raise LosslabError(f"'{path}' is not a JSON object: delete '{partial_folder(out)}'.")
    return record


def _read_spec_file(folder: Path) -> dict[str, Any] | None:
    path = folder / SPEC_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise LosslabError(
            f"'{path}' cannot be read ({error}): delete '{folder}' to start over."
        ) from None
    if not isinstance(record, dict) or record.get("losslab_partial") != "landscape":
        raise LosslabError(
            f"'{folder}' is not a losslab work folder: delete it or choose a new out."
        )
    return record
