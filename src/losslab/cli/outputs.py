"""Commands that write several files from one --out or --plot: each file is named from the
given path's stem and a tag, and every one is checked before any work.

    --out run.json    ->  run-linear.json, run-linear-aligned.json, run-bezier.json, ...
    --plot run.png    ->  run-line.png, run-bezier.png, run-plane.png
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from losslab.cli.network_setup import check_out, distinct


def tagged(path: Path, tag: str, suffix: str | None = None) -> Path:
    """`path` with '-tag' after its stem (and another suffix when given)."""
    return path.with_name(f"{path.stem}-{tag}{suffix or path.suffix}")


def check_family(
    path: Path | None, tags: list[str], allowed: tuple[str, ...], option: str
) -> dict[str, Path]:
    """{tag: file} for every tag, each checked (extension, writable folder) as `option`;
    {} without a path."""
    if path is None:
        return {}
    check_out(path, allowed, option)  # the extension, named as the user wrote it
    return {tag: check_out(tagged(path, tag), allowed, option) for tag in tags}


def check_distinct(*families) -> None:
    """No two outputs of one command name the same file."""
    distinct(*(p for family in families for p in family.values()))


def write_all(writers: list[tuple[Path, Callable[[Path], object]]]) -> list[Path]:
    """Write every file (`write(path)`, each atomic itself) or none: when one fails (a full
    disk, Ctrl-C), those this call already wrote are removed before the error goes on."""
    done: list[Path] = []
    try:
        for path, write in writers:
            write(path)
            done.append(path)
    except BaseException:
        for path in done:
            path.unlink(missing_ok=True)
        raise
    return done
