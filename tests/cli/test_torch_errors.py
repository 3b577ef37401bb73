"""A torch error inside a command's computation (a layer without a second derivative, out of
memory) ends as one `error:` line naming the step and torch's first message line, exit 2;
LOSSLAB_TRACEBACK=1 brings the traceback back, and errors that are not torch's stay what they
are."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from clitools import invoke
from test_cli_errors import assert_one_line_error

from losslab.cli.errors import ComputationError, computing, first_line
from losslab.errors import LosslabError

# torch.cdist with p=3 has a first derivative but no second ('_cdist_backward' has none), so
# its landscape works and its Hessian fails inside torch's autograd, with no frame of the
# model file on the traceback.
PROTOTYPES = """
    import torch
    from torch import nn


    class Prototypes(nn.Module):
        def __init__(self):
            super().__init__()
            self.centers = nn.Parameter(torch.randn(2, 4))

        def forward(self, x):
            return -torch.cdist(x, self.centers, p=3)


    def make():
        return Prototypes()
    """


@pytest.fixture
def folder(tmp_path, monkeypatch):
    (tmp_path / "proto.py").write_text(textwrap.dedent(PROTOTYPES))
    X = np.random.default_rng(0).normal(size=(20, 4))
    np.savez(tmp_path / "data.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    monkeypatch.chdir(tmp_path)
    return tmp_path


HESSIAN = ("hessian", "--model", "proto.py:make", "--data", "data.npz", "--epochs", "0")


def test_a_missing_second_derivative_is_one_line_naming_the_step(folder):
    result = invoke(*HESSIAN, "--top", "2")
    assert_one_line_error(result, "computing the 2 largest eigenvalues of the Hessian")
    line = result.stderr.strip()
    assert "NotImplementedError: the derivative for '_cdist_backward' is not implemented" in line
    assert "LOSSLAB_TRACEBACK=1" in line


def test_each_step_names_itself(folder):
    result = invoke(*HESSIAN, "--top", "0", "--trace", "--probes", "6")
    assert_one_line_error(result, "estimating the trace of the Hessian of proto.py:make")


def test_the_same_model_still_draws_its_landscape(folder):
    """Only what needs second derivatives fails: the refusal is not a blanket one."""
    result = invoke(
        "landscape",
        "--model",
        "proto.py:make",
        "--data",
        "data.npz",
        "--resolution",
        "3",
        "--epochs",
        "1",
        "--out",
        "land.h5",
    )
    assert result.exit_code == 0, result.output
    assert (folder / "land.h5").is_file() and not result.stderr


def test_losslab_traceback_shows_the_torch_error_itself(folder, monkeypatch):
    monkeypatch.setenv("LOSSLAB_TRACEBACK", "1")
    result = invoke(*HESSIAN, "--top", "2")
    assert result.exit_code == 1
    assert isinstance(result.exception, NotImplementedError)


def test_computing_keeps_torch_first_line_only():
    import torch

    with pytest.raises(ComputationError) as caught, computing("multiplying"):
        torch.zeros(2, 3) @ torch.zeros(2, 3)  # torch's C++ code raises
    assert str(caught.value).startswith(
        "multiplying failed inside torch: RuntimeError: mat1 and mat2 shapes cannot be multiplied"
    )
    many = RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB\nmore details")
    assert first_line(many) == "RuntimeError: CUDA out of memory."


def test_computing_leaves_other_errors_alone():
    """A bug of ours (not a torch error) keeps its type and traceback; bad input stays bad
    input; Ctrl-C stays an interrupt."""
    mistakes = (RuntimeError("our bug"), KeyError("bug"), LosslabError("bad input"))
    for error in (*mistakes, KeyboardInterrupt()):
        with pytest.raises(type(error)) as caught, computing("a step"):
            raise error
        assert caught.value is error


def test_errors_raised_inside_torch_python_code_count_as_torch_errors():
    import torch

    expected = pytest.raises(ComputationError, match="a step failed inside torch: ValueError")
    with expected, computing("a step"):
        torch.nn.functional.cross_entropy(torch.zeros(2, 3), torch.zeros(2), reduction="x")
