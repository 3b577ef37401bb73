"""The files the "Open a result" page shows: bytes uploaded by the browser (written to a
private temporary folder, named by their SHA-256) and the one file given to `losslab view`.

The browser never names a server path: it holds a token, either "preloaded" (the file on the
command line, passed to every server process in the LOSSLAB_VIEW_FILE environment variable)
or the 64 hex digits of an upload's SHA-256, which name a file in the upload folder. Every
server process (serve.py starts several) finds both, so any of them can answer.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
from pathlib import Path

from losslab.errors import LosslabError
from losslab.landscapes import Landscape
from losslab.results import H5_SUFFIXES, JSON_SUFFIXES, load_result
from losslab.training import TrainingRun

MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # larger files: `losslab view FILE`, read in place
KEEP_SECONDS = 24 * 3600  # uploads older than a day are removed at the next upload
PRELOAD_ENV = "LOSSLAB_VIEW_FILE"
PRELOAD_RUN_ENV = "LOSSLAB_VIEW_RUN"  # `losslab view FILE --trajectory RUN`
PRELOADED = "preloaded"
PRELOADED_RUN = "preloaded-run"
SUFFIXES = tuple(H5_SUFFIXES) + tuple(JSON_SUFFIXES)
TOKEN = re.compile(r"^[0-9a-f]{64}$")
VIEWABLE = "a landscape (.h5 from 'losslab landscape --out') or a training run (.json/.h5 from "
VIEWABLE += "'losslab train --out')"


def upload_folder() -> Path:
    """A folder only this user can read, the same for every server process."""
    folder = Path(tempfile.gettempdir()) / f"losslab-viewer-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def check_viewable(result, name: str):
    """`result` if the viewer draws it, else one line saying what it draws."""
    if not isinstance(result, Landscape | TrainingRun):
        kind = getattr(result, "result_type", type(result).__name__).replace("_", " ")
        raise LosslabError(f"'{name}' holds a {kind}: the viewer opens {VIEWABLE}.")
    if isinstance(result, Landscape) and len(result.coords) not in (1, 2):
        raise LosslabError(f"'{name}' has {len(result.coords)} directions: only 1-D and 2-D.")
    return result


def load_viewable(path: str | Path, name: str | None = None):
    """A Landscape or TrainingRun from `path`; any other file is refused with one line."""
    path = Path(path)
    name = name or path.name
    if path.suffix.lower() not in SUFFIXES:
        raise LosslabError(
            f"'{name}' is not a losslab result file (it must end in .h5, .hdf5 or .json): "
            f"the viewer opens {VIEWABLE}."
        )
    try:
        result = load_result(path)
    except LosslabError as error:  # the codec's line names the temporary file: name the upload
        raise LosslabError(str(error).replace(str(path), name)) from None
    return check_viewable(result, name)


def check_name(filename) -> str:
    """The uploaded file's base name, if its suffix is one a result file has."""
    name = Path(str(filename or "upload")).name[:200]
    if Path(name).suffix.lower() not in SUFFIXES:
        raise LosslabError(
            f"'{name}' is not a losslab result file (it must end in .h5, .hdf5 or .json): "
            f"the viewer opens {VIEWABLE}."
        )
    return name


def too_large(name: str) -> LosslabError:
    return LosslabError(
        f"'{name}' is larger than {MAX_UPLOAD_BYTES // 2**20} MB, the upload limit: "
        f"open it with 'losslab view {name}' instead."
    )


def store_bytes(data: bytes, filename) -> str:
    """An uploaded file's bytes -> its token, once they are known to be a viewable result
    (else one line, and nothing is kept)."""
    name = check_name(filename)
    if len(data) > MAX_UPLOAD_BYTES:
        raise too_large(name)
    token = hashlib.sha256(data).hexdigest()
    _forget_old(upload_folder())
    path = upload_folder() / f"{token}{Path(name).suffix.lower()}"
    if not path.exists():
        partial = path.with_name(f".{token}.{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(path)
    try:
        load_viewable(path, name)
    except LosslabError:
        path.unlink(missing_ok=True)
        raise
    return token


def _forget_old(folder: Path) -> None:
    """Remove uploads older than KEEP_SECONDS (the folder would otherwise only grow)."""
    import time

    now = time.time()
    for old in folder.iterdir():
        try:
            if now - old.stat().st_mtime > KEEP_SECONDS:
                old.unlink()
        except OSError:  # another server process removed it first
            continue


def opened(token) -> tuple[object, str]:
    """(the result, its file name) for a token from the browser."""
    if token in (PRELOADED, PRELOADED_RUN):
        preload = os.environ.get(PRELOAD_ENV if token == PRELOADED else PRELOAD_RUN_ENV)
        if not preload:
            raise LosslabError("no file was given to 'losslab view': open one above.")
        return _load(preload), Path(preload).name
    if not isinstance(token, str) or not TOKEN.match(token):
        raise LosslabError("the page state is damaged: reload the page.")
    for suffix in SUFFIXES:
        path = upload_folder() / f"{token}{suffix}"
        if path.exists():
            return _load(str(path)), path.name
    raise LosslabError("that upload is gone (the server was restarted): open the file again.")


@functools.lru_cache(maxsize=8)
def _load(path: str):
    return load_viewable(path)
