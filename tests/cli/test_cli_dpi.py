"""--dpi: on every command that writes a figure, PNG pixels follow it, a bad value is one line."""

from __future__ import annotations

import pytest
import typer
from clitools import invoke
from PIL import Image

from losslab.cli.app import app
from losslab.plot.export import PNG_DPI

RACE = ("race", "rosenbrock", "--n-steps", "20")


def _figure_commands() -> dict:
    """Every command with an output option whose help or metavar offers .png."""
    commands = typer.main.get_command(app).commands
    return {
        name: command
        for name, command in commands.items()
        if any(
            ".png" in f"{param.help} {param.metavar}"
            for param in command.params
            if param.name != "dpi"
        )
    }


def test_every_command_that_writes_a_png_takes_dpi():
    commands = _figure_commands()
    assert {"race", "descend", "landscape", "plot", "connect", "widths"} <= set(commands)
    for name, command in commands.items():
        assert "dpi" in {param.name for param in command.params}, name
    demo = typer.main.get_command(app).commands["demo"]  # writes PNGs to a folder
    assert "dpi" in {param.name for param in demo.params}


def test_png_pixels_follow_dpi_and_the_default_comes_back(tmp_path):
    sharper = tmp_path / "sharp.png"
    default = tmp_path / "default.png"
    assert invoke(*RACE, "--out", sharper, "--dpi", "200").exit_code == 0
    assert invoke(*RACE, "--out", default).exit_code == 0  # the next command: the default
    (w200, h200), (w, h) = Image.open(sharper).size, Image.open(default).size
    assert abs(w200 - w * 200 / PNG_DPI) <= 1 and abs(h200 - h * 200 / PNG_DPI) <= 1


@pytest.mark.parametrize("bad", ["20", "5000", "abc", "150.5"])
def test_a_bad_dpi_is_one_line_and_writes_nothing(tmp_path, bad):
    result = invoke(*RACE, "--out", tmp_path / "r.png", "--dpi", bad)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--dpi" in lines[0]
    assert list(tmp_path.iterdir()) == []
