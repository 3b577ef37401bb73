"""`losslab view`: a file that is not a losslab landscape or run is refused in one line, exit 2,
before any server starts (nothing is served in these tests)."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from losslab.cli import serve
from losslab.cli.app import app as cli


@pytest.fixture
def no_server(monkeypatch):
    """Fails the test if the command got as far as serving."""

    def refuse(**_):
        raise AssertionError("the file was accepted and the server started")

    monkeypatch.setattr(serve, "serve", refuse)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("notes.h5", b"not an hdf5 file", "notes.h5"),
        ("notes.txt", b"hello", "not a losslab result file"),
        ("fake.json", b'{"hello": 1}', "fake.json"),
    ],
)
def test_a_file_that_is_not_a_result_is_refused(tmp_path, no_server, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["view", str(path), "--no-open"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0]


def test_a_missing_file_is_one_line(tmp_path, no_server):
    result = CliRunner().invoke(cli, ["view", str(tmp_path / "nothing.h5"), "--no-open"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "is not a file" in result.output


def test_a_landscape_is_served_on_loopback_with_the_file_preloaded(tmp_path, monkeypatch):
    from losslab.landscapes.grid import evaluate_grid
    from losslab.objectives import surface
    from losslab.web.viewer_files import PRELOAD_ENV

    path = tmp_path / "bowl.h5"
    evaluate_grid(surface("bowl"), resolution=5).save(path)
    served = {}
    monkeypatch.setattr(serve, "serve", lambda **options: served.update(options))
    monkeypatch.delenv(PRELOAD_ENV, raising=False)
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    result = CliRunner().invoke(cli, ["view", str(path), "--no-open", "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert served["host"] == "127.0.0.1" and served["port"] == 8765
    assert "http://127.0.0.1:8765/viewer" in result.output
    assert os.environ[PRELOAD_ENV] == str(path.resolve())


def test_a_trajectory_of_another_model_is_refused(tmp_path, no_server):
    from losslab.landscapes.grid import evaluate_grid
    from losslab.objectives import surface

    land = tmp_path / "bowl.h5"
    evaluate_grid(surface("bowl"), resolution=5).save(land)
    result = CliRunner().invoke(cli, ["view", str(land), "--trajectory", str(land), "--no-open"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "--trajectory" in result.output
