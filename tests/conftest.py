import ast
import builtins

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny tensors: extra threads only spin against the other test processes on this machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_code_runs(monkeypatch):
    """While the test runs, eval and exec fail it and compile may only build syntax trees:
    user text (an expression) may become a tree, never code."""
    real_compile = builtins.compile

    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called on user text")

    def trees_only(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & ast.PyCF_ONLY_AST, "compile asked for code, not a syntax tree"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", trees_only)
