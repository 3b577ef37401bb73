"""`losslab animate`: files read back with imageio, bad input refused in one line before any
work, Ctrl-C through the real entry point. Small: 160x120 pixels, a few frames."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest
from clitools import invoke

import losslab
from losslab.landscapes.grid import evaluate_grid

SMALL = ("--size", "160x120", "--fps", "5")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def frames_of(path: Path) -> tuple[int, int, int]:
    n, height, width, _ = iio.imread(path).shape
    return n, height, width


def test_a_surface_turns_in_both_formats(tmp_path):
    mp4, gif = tmp_path / "s.mp4", tmp_path / "s.gif"
    result = invoke(
        "animate", "surface", "x**2 + 3*y**2", "--out", mp4, "--out", gif,
        "--frames", "4", "--resolution", "12", *SMALL,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert frames_of(mp4) == frames_of(gif) == (4, 120, 160)
    assert iio.immeta(mp4)["duration"] == pytest.approx(0.8)
    assert f"wrote {mp4} (4 frames, 160x120, 5 fps, 0.8 s)" in result.output


def test_a_landscape_file_turns_and_a_1d_one_is_refused(tmp_path):
    surface = losslab.surface("himmelblau")
    evaluate_grid(surface, resolution=10).save(tmp_path / "plane.h5")
    evaluate_grid(losslab.surface("double_well"), resolution=10).save(tmp_path / "line.h5")
    result = invoke(
        "animate", "surface", tmp_path / "plane.h5", "--out", tmp_path / "p.gif",
        "--frames", "2", *SMALL,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert frames_of(tmp_path / "p.gif") == (2, 120, 160)
    result = invoke("animate", "surface", tmp_path / "line.h5", "--out", tmp_path / "l.gif")
    assert result.exit_code == 2 and "1-D landscape" in result.output
    assert not (tmp_path / "l.gif").exists()


def test_a_race_and_a_training_run_animate(tmp_path):
    race = invoke(
        "animate", "race", "himmelblau", "--start", "0,0", "-p", "gd,adam", "-n", "40",
        "--out", tmp_path / "r.mp4", "--frames", "3", *SMALL,
    )  # fmt: skip
    assert race.exit_code == 0, race.output
    assert frames_of(tmp_path / "r.mp4") == (3, 120, 160)
    training = invoke(
        "animate", "training", "--model", "mlp", "--width", "4", "--dataset", "iris",
        "--epochs", "2", "--resolution", "5", "--out", tmp_path / "t.gif", "--frames", "3",
        *SMALL,
    )  # fmt: skip
    assert training.exit_code == 0, training.output
    assert frames_of(tmp_path / "t.gif") == (3, 120, 160)
    assert "trained mlp on iris for 2 epochs" in training.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--size", "161x120"), "must be even"),
        (("--size", "big"), "WIDTHxHEIGHT"),
        (("--fps", "0"), "--fps 0"),
        (("--frames", "0"), "--frames 0"),
        (("--out", "x.avi"), "not '.avi'"),
    ],
)
def test_bad_options_are_one_line_and_nothing_is_written(tmp_path, args, message):
    out = tmp_path / "a.mp4"
    result = invoke("animate", "surface", "no_such_surface", "--out", out, *args)
    # the surface is unknown too: the video options are checked first, before any work
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_rendering_leaves_the_old_file(tmp_path):
    out = tmp_path / "a.mp4"
    out.write_bytes(b"the old file")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [
            sys.executable, "-c", "from losslab.cli.app import main; main()",
            "animate", "surface", "himmelblau", "--resolution", "20", "--frames", "3000",
            "--size", "160x120", "--out", out, "--out", tmp_path / "b.gif",
        ],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().startswith("rendering 3000 frames")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]
    assert out.read_bytes() == b"the old file"


def test_contrast_turns_both_surfaces_together_and_prints_the_shares(tmp_path, monkeypatch):
    # A cheap pair in place of the trained network (tests/test_contrast.py computes the real
    # one); the command's own work, the two panels turning in step, is what is tested here.
    import numpy as np

    import losslab.contrast
    from losslab.landscapes.convexity import landscape_nonconvex_share
    from losslab.plot import animation

    bowl = evaluate_grid(losslab.surface("bowl"), resolution=9)
    rough = evaluate_grid(losslab.surface("himmelblau"), resolution=9)
    pair = losslab.Contrast(
        bowl, rough, landscape_nonconvex_share(bowl), landscape_nonconvex_share(rough),
        np.zeros(2), "The bowl", "The mountains", "", "",
    )  # fmt: skip
    asked = []
    monkeypatch.setattr(
        losslab.contrast, "bowl_and_mountains", lambda n, *, seed: asked.append(n) or pair
    )
    made = []
    real = animation.contrast_animation
    monkeypatch.setattr(
        animation, "contrast_animation", lambda *a: made.append(real(*a)) or made[0]
    )
    out = tmp_path / "c.gif"
    result = invoke(
        "animate", "contrast", "--out", out, "--frames", "3", "--resolution", "9", *SMALL
    )
    assert result.exit_code == 0, result.output
    assert asked == [9] and frames_of(out) == (3, 120, 160)
    share = f"{pair.mountains_share:.1%}"
    assert f"non-convex share: bowl 0.0%, network slice {share}" in result.output
    (anim,) = made
    assert [index for index, _ in anim.cameras] == [0, 1]
    np.testing.assert_array_equal(anim.cameras[0][1], anim.cameras[1][1])
