"""Every bad input: exit code 2, exactly one line on stderr, no traceback, no output file."""

from __future__ import annotations

import pytest
from clitools import invoke

# (arguments, a phrase the one-line message must contain). Each run writes --out bad.png
# (or another valid name) when the case is not about the output path, to prove that nothing is
# written when the input is bad.
BAD_INPUT = [
    # surfaces and expressions
    (["race", "nosuch_surface"], "nosuch_surface"),
    (["race", "__import__('os')"], ""),
    (["race", "__import__('os').system('echo hacked')"], ""),
    (["race", "x***2 + y"], ""),
    (["race", "stretched_bowl:condition=0.5"], "condition == 0.5"),
    (["race", "bowl:depth=2"], "depth"),
    (["critical", "nosuch_surface"], "nosuch_surface"),
    # optimizers and their hyperparameters
    (["race", "bowl", "--optimizers", "gd,nosuch"], "unknown optimizer 'nosuch'"),
    (["race", "bowl", "--optimizers", "momentum:gamma=0.5"], "no hyperparameter 'gamma'"),
    (["race", "bowl", "--optimizers", "momentum:beta=abc"], "beta == 'abc'"),
    (["race", "bowl", "--optimizers", "momentum:beta=1.5"], "beta == 1.5"),
    (["race", "bowl", "--optimizers", "lr=0.1,gd"], "comes before any optimizer name"),
    (["descend", "bowl", "--optimizer", "gd,momentum"], "names 2 optimizers"),
    (["basins", "bowl", "--optimizer", "adam:beta=0.9"], "no hyperparameter 'beta'"),
    # points
    (["race", "bowl", "--start", "1,a"], "'a' is not a number"),
    (["race", "bowl", "--start", "1,2,3"], "has 3 coordinate(s)"),
    (["race", "double_well", "--start", "1,2"], "has 2 coordinate(s), the surface has 1"),
    (["race", "bowl", "--start", "nan,0"], "must be finite"),
    (["inspect", "saddle", "--at", "0"], "at == '0'"),
    (["inspect", "saddle", "--at", "0,zero"], "'zero' is not a number"),
    # numbers out of range
    (["race", "bowl", "--lr", "-0.1"], "lr == -0.1, must be a finite number > 0."),
    (["race", "bowl", "--lr", "0"], "lr == 0.0"),
    (["race", "bowl", "--lr", "inf"], "lr == inf"),
    (["race", "bowl", "--optimizers", "newton", "--lr", "-1"], "lr == -1.0"),
    (["race", "bowl", "--n-steps", "0"], "--n-steps"),
    (["descend", "bowl", "--n-steps", "-5"], "--n-steps"),
    (["basins", "bowl", "--resolution", "1"], "--resolution"),
    (["race", "bowl", "--n-steps", "many"], "--n-steps"),
    # choices and usage
    (["descend", "bowl", "--view", "sideways"], "--view"),
    (["descend", "double_well", "--view", "surface"], "needs a 2-D surface"),
    (["inspect", "saddle"], "--at"),
    (["race"], "SURFACE"),
    (["race", "bowl", "--no-such-option"], "--no-such-option"),
    (["no_such_command"], "no_such_command"),
]


@pytest.mark.parametrize(
    ("args", "phrase"), BAD_INPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_bad_input_is_one_line_and_exit_code_2(args, phrase, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with_out = (
        args + ["--out", "result.png"] if len(args) > 1 and args[0] != "no_such_command" else args
    )
    for argv in (args, with_out):
        result = invoke(*argv)
        assert_one_line_error(result, phrase)
    assert list(tmp_path.iterdir()) == []


BAD_OUTPUT = [
    (["race", "bowl", "--out", "missing_folder/race.png"], "does not exist"),
    (["race", "bowl", "--out", "race.txt"], "extension '.txt'"),
    (["race", "bowl", "--out", "race"], "no extension"),
    (["race", "bowl", "--out", "existing.png"], "is a directory"),
    (["descend", "bowl", "--out", "run.gif"], "extension '.gif'"),
    (["inspect", "saddle", "--at", "0,0", "--out", "missing_folder/h.json"], "does not exist"),
    (["critical", "himmelblau", "--out", "existing.png"], "is a directory"),
    (["basins", "bowl", "--out", "map.csv"], "extension '.csv'"),
    (["demo", "--out", "a_file.txt"], "is a file"),
]


@pytest.mark.parametrize(
    ("args", "phrase"), BAD_OUTPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_bad_output_path_fails_before_computing(args, phrase, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing.png").mkdir()
    (tmp_path / "a_file.txt").write_text("keep me")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = invoke(*args)
    assert_one_line_error(result, phrase)
    assert result.stdout == ""  # nothing was computed, so no table either
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "a_file.txt").read_text() == "keep me"


def test_unwritable_folder_is_one_line(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os

        if os.access(locked, os.W_OK):  # running as root: permissions do not bind
            pytest.skip("this user can write anywhere")
        result = invoke("race", "bowl", "--out", locked / "race.json")
        assert_one_line_error(result, "not writable")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def assert_one_line_error(result, phrase: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert phrase in lines[0], lines[0]


def test_unexpected_exceptions_are_not_hidden(monkeypatch):
    """Only bad input becomes a one-line error; a bug keeps its exception (and traceback)."""
    from losslab.cli import descent

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(descent, "run_all", broken)
    result = invoke("race", "bowl")
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def test_messages_are_collapsed_to_one_line():
    from losslab.cli.errors import one_line

    assert one_line("cannot read\n  this:\tfix it ") == "cannot read this: fix it"
