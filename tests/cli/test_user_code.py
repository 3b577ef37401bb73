"""The user's own code and files (`--model net.py:make`, `--weights`, `--data`): whatever they
do, the CLI ends with one `error:` line and exit 2, never a traceback, another exit code, or a
silently cast weight; Ctrl-C inside them stays an interrupt.

Exit codes belong to the process, so `sys.exit` inside a factory is tested through the real
entry point (`losslab.cli.app.main`) in a subprocess; the other cases run in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from clitools import invoke
from test_cli_errors import assert_one_line_error

import losslab

SRC = Path(losslab.__file__).resolve().parents[1]
MAIN = "import sys; from losslab.cli.app import main; sys.argv[0] = 'losslab'; main()"
LAND = ["landscape", "--data", "data.npz", "--resolution", "3", "--epochs", "0"]
LAND += ["--out", "land.h5"]

# One file per behaviour; `make` is the factory the CLI calls.
MODELS = {
    "exit0.py": "import sys\n\ndef make():\n    sys.exit(0)\n",
    "exit7_at_import.py": "import sys\nsys.exit(7)\n\ndef make():\n    pass\n",
    "exit_text.py": "import sys\n\ndef make():\n    sys.exit('bye')\n",
    "interrupt.py": "def make():\n    raise KeyboardInterrupt\n",
    "good.py": """
        from torch import nn

        def make():
            return nn.Sequential(nn.Linear(4, 2))
        """,
    "odd.py": """
        import sys
        import torch
        from torch import nn

        class Boom(BaseException):
            pass

        class Mute(Exception):
            def __str__(self):
                raise RuntimeError("no message")

        class ExitingForward(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = nn.Linear(4, 2)

            def forward(self, x):
                sys.exit(3)

        def base():
            raise Boom("not an Exception")

        def mute():
            raise Mute()

        def needs_width(width):
            return nn.Linear(4, width)

        def exiting_forward():
            return ExitingForward()

        def complex_weights():
            model = nn.Sequential(nn.Linear(4, 2))
            model[0].weight = nn.Parameter(model[0].weight.detach().to(torch.complex64))
            return model

        def __getattr__(name):
            if name == "lazy":
                raise SystemExit(5)
            raise AttributeError(name)
        """,
    "missing_import.py": "import no_such_module_for_losslab_tests\n",
    "late.py": """
        import sys
        from torch import nn

        class Late(nn.Module):  # fine for the first checks, then exits or fails

            def __init__(self, exits):
                super().__init__()
                self.layer = nn.Linear(4, 2)
                self.exits = exits
                self.calls = 0

            def forward(self, x):
                self.calls += 1
                if self.calls > 3:
                    if self.exits:
                        sys.exit(9)
                    raise RuntimeError("late failure")
                return self.layer(x)

        def exits():
            return Late(True)

        def fails():
            return Late(False)
        """,
}


def write_files(folder: Path) -> None:
    for name, text in MODELS.items():
        (folder / name).write_text(textwrap.dedent(text))
    X = np.random.default_rng(0).normal(size=(20, 4))
    np.savez(folder / "data.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    torch.manual_seed(0)
    state = torch.nn.Sequential(torch.nn.Linear(4, 2)).state_dict()
    torch.save(state, folder / "good.pt")
    torch.save({k: v.to(torch.complex64) for k, v in state.items()}, folder / "complex.pt")
    torch.save({k: v.double() for k, v in state.items()}, folder / "double.pt")
    torch.save({k: v.round().long() for k, v in state.items()}, folder / "int.pt")
    torch.save({k: v.to_sparse() for k, v in state.items()}, folder / "sparse.pt")


def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`losslab *args` as its own process, in `folder`, with this checkout's losslab."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "exit0.py:make",
            "error: exit0.py:make called sys.exit(0) while building the model: a factory "
            "takes no arguments and must return an nn.Module.",
        ),
        (
            "exit7_at_import.py:make",
            "error: model file 'exit7_at_import.py' called sys.exit(7) while being imported: "
            "a model file must define its factory, not exit.",
        ),
        ("exit_text.py:make", "error: exit_text.py:make called sys.exit('bye') while building"),
    ],
)
def test_sys_exit_in_user_code_is_one_error_line_and_exit_2(model, message, tmp_path):
    write_files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli(tmp_path, *LAND, "--model", model)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == before


@pytest.mark.parametrize("command", [[*LAND], [*LAND[:-2], "--epochs", "1"], ["train"]])
def test_sys_exit_in_a_later_forward_is_one_error_line_and_exit_2(command, tmp_path):
    """The forward passes the first checks, then exits in training or on the grid."""
    write_files(tmp_path)
    args = [*command, "--model", "late.py:exits"]
    if command == ["train"]:
        args += ["--data", "data.npz", "--epochs", "1", "--out", "run.json"]
    result = run_cli(tmp_path, *args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.splitlines() == [
        "error: late.py:forward (line 17) called sys.exit(9) while losslab used the model: a "
        "model must return its outputs, not exit."
    ]
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(("land.h5", "run."))]
    assert left == [], left  # no result, no lock, nothing partial


def test_complex_weights_are_refused_through_the_entry_point(tmp_path):
    write_files(tmp_path)
    result = run_cli(tmp_path, *LAND, "--model", "good.py:make", "--weights", "complex.pt")
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.splitlines() == [
        "error: weights file 'complex.pt' does not fit the model: dtype of 0.weight "
        "(complex64; the model has float32), 0.bias (complex64; the model has float32) "
        "(save the weights from a model of the same dtype, or convert them before saving)."
    ]
    assert "Warning" not in result.stderr and not (tmp_path / "land.h5").exists()


def test_keyboard_interrupt_in_a_factory_stays_an_interrupt(tmp_path):
    """Ctrl-C is not the factory's failure: it is not turned into an `error:` line, exit 2."""
    write_files(tmp_path)
    result = run_cli(tmp_path, *LAND, "--model", "interrupt.py:make")
    assert result.returncode not in (0, 2), (result.returncode, result.stderr)
    assert "error:" not in result.stderr
    assert not (tmp_path / "land.h5").exists()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    write_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (
            ["--model", "odd.py:base"],
            "odd.py:base failed while building the model: Boom: not an Exception (a factory",
        ),
        (["--model", "odd.py:mute"], "odd.py:mute failed while building the model: Mute: ("),
        (
            ["--model", "odd.py:needs_width"],
            "odd.py:needs_width failed while building the model: TypeError: needs_width() "
            "missing 1 required positional argument: 'width' (a factory takes no arguments",
        ),
        (
            ["--model", "odd.py:lazy"],
            "odd.py:lazy called sys.exit(5) while being looked up",
        ),
        (
            ["--model", "odd.py:exiting_forward"],
            "the model odd.py:exiting_forward called sys.exit(3) in its forward",
        ),
        (
            ["--model", "odd.py:complex_weights"],
            "the model's parameter '0.weight' is complex64: losslab needs real parameters",
        ),
        (
            ["--model", "missing_import.py:make"],
            "model file 'missing_import.py' failed while being imported: ModuleNotFoundError: "
            "No module named 'no_such_module_for_losslab_tests'.",
        ),
        (
            ["--model", "late.py:fails"],
            "late.py:forward (line 18) failed while losslab used the model: RuntimeError: "
            "late failure.",
        ),
        (
            ["--model", "good.py:make", "--weights", "double.pt"],
            "dtype of 0.weight (float64; the model has float32), 0.bias (float64;",
        ),
        (
            ["--model", "good.py:make", "--weights", "int.pt"],
            "dtype of 0.weight (int64; the model has float32)",
        ),
        (
            ["--model", "good.py:make", "--weights", "sparse.pt"],
            "weights file 'sparse.pt' holds sparse or quantized tensors (0.weight, 0.bias)",
        ),
    ],
)
def test_user_code_and_weights_fail_in_one_line(args, phrase, folder):
    before = sorted(p.name for p in folder.iterdir())
    result = invoke(*LAND, *args)
    assert_one_line_error(result, phrase)
    assert sorted(p.name for p in folder.iterdir() if p.name != "__pycache__") == before


def test_weights_of_the_model_own_dtype_still_load(folder):
    result = invoke(*LAND, "--model", "good.py:make", "--weights", "good.pt")
    assert result.exit_code == 0, result.output
    assert (folder / "land.h5").exists()


def test_no_weight_is_ever_cast(folder):
    """The refusal comes before load_state_dict: no cast warning, the model keeps its weights."""
    from losslab.cli import model_loading

    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for name in ("complex.pt", "double.pt", "int.pt"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Casting complex values to real" would raise
            with pytest.raises(losslab.LosslabError, match="dtype of 0.weight"):
                model_loading.load_weights(model, folder / name)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def damaged(raw: bytes, seed: int) -> bytes:
    """A truncated, overwritten or partly repeated copy of `raw`."""
    rng = np.random.default_rng(seed)
    data = bytearray(raw)
    kind = seed % 3
    if kind == 0:
        return bytes(data[: int(rng.integers(1, len(data)))])
    if kind == 1:
        for index in rng.integers(0, len(data), size=int(rng.integers(1, 9))):
            data[index] = int(rng.integers(0, 256))
        return bytes(data)
    start = int(rng.integers(0, len(data)))
    return bytes(data[:start] + data[start : start + 200] * 2 + data[start:])


@pytest.mark.parametrize("compressed", [False, True])
def test_damaged_data_archives_are_refused_in_one_line(compressed, tmp_path):
    """Every damage to an .npz (bad zip, CRC, zlib stream, header) is a LosslabError or reads
    as a valid data set; numpy's own exceptions never reach the user."""
    from losslab.cli import model_loading

    X = np.random.default_rng(0).normal(size=(20, 4))
    save = np.savez_compressed if compressed else np.savez
    save(tmp_path / "base.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    raw = (tmp_path / "base.npz").read_bytes()
    refused = 0
    for seed in range(150):
        path = tmp_path / "damaged.npz"
        path.write_bytes(damaged(raw, seed))
        try:
            model_loading.load_npz(path, None)
        except losslab.LosslabError as error:
            assert "\n" not in str(error) and "damaged.npz" in str(error)
            refused += 1
    assert refused > 100  # most damage is detected, not read as data


def test_damaged_weights_files_are_refused_in_one_line(tmp_path):
    from losslab.cli import model_loading

    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2)).state_dict(), tmp_path / "base.pt")
    raw = (tmp_path / "base.pt").read_bytes()
    for seed in range(100):
        path = tmp_path / "damaged.pt"
        path.write_bytes(damaged(raw, seed))
        model = torch.nn.Sequential(torch.nn.Linear(4, 2))
        try:
            model_loading.load_weights(model, path)
        except losslab.LosslabError as error:
            assert "\n" not in str(error) and "damaged.pt" in str(error)


class WithExtraState(torch.nn.Module):
    """A module whose state dict holds a non-tensor extra state, as get_extra_state allows."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 2)
        self.received = None

    def get_extra_state(self):
        return {"note": "not a tensor"}

    def set_extra_state(self, state):
        if not isinstance(state, dict):
            raise ValueError(f"extra state must be a dict, got {type(state).__name__}")
        self.received = state


def test_extra_state_and_loading_hooks_are_user_code(tmp_path):
    """The model's extra state is compared by no shape; what its hook raises is one line."""
    from losslab.cli import model_loading

    model = WithExtraState()
    state = {**model.state_dict(), "_extra_state": torch.zeros(1)}
    torch.save(state, tmp_path / "extra.pt")
    with pytest.raises(losslab.LosslabError) as info:
        model_loading.load_weights(model, tmp_path / "extra.pt")
    assert str(info.value) == (
        f"the model failed while loading the weights from '{tmp_path / 'extra.pt'}': "
        "ValueError: extra state must be a dict, got Tensor."
    )
