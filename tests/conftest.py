import ast
import builtins

import pytest
import torch

WEB_TESTS = "tests/web/"


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown where xdist is not loaded
def pytest_xdist_make_scheduler(config, log):
    """Under `pytest -n 2` (pytest-xdist), every test in tests/web/ runs on one worker, the
    others spread a file at a time: the browser tests share one lab server and one chromium
    (session fixtures are per worker; a second set would fight for the same two cores), and a
    file's module fixtures (a trained model, a Ray instance) are built once.
    Not `--dist loadgroup` with xdist_group marks: with pytest 9.2 those marks are silently
    ignored (pytest-xdist issue 1386)."""
    from xdist.scheduler import LoadScopeScheduling

    class WebTestsOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            # the largest scope is handed out first (xdist's loadscopereorder, on by default)
            return WEB_TESTS if nodeid.startswith(WEB_TESTS) else nodeid.partition("::")[0]

    return WebTestsOnOneWorker(config, log)


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
