"""Helpers shared by the CLI tests: run the app in-process and recognise file formats."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from losslab.cli.app import app

RUNNER = CliRunner()

# The smallest real landscape command: a 2-weight model, one epoch, a 3x3 grid (about 1 s).
TINY_LANDSCAPE = (
    "landscape",
    "--model",
    "logistic_regression",
    "--dataset",
    "logistic",
    "--resolution",
    "3",
    "--epochs",
    "1",
)

# The first bytes of each format the CLI writes.
MAGIC = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".pdf": (b"%PDF",),
    ".svg": (b"<?xml", b"<svg"),
    ".html": (b"<html", b"<!doctype html"),
    ".json": (b"{", b"["),
}


def invoke(*args: str):
    """Run `losslab *args` with a wide terminal, so tables are never cut."""
    return RUNNER.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def has_magic(path: Path) -> bool:
    head = path.read_bytes()[:64].lstrip().lower()
    return any(head.startswith(magic.lower()) for magic in MAGIC[path.suffix.lower()])
