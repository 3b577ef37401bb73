"""`losslab hessian`: eigenvalues, trace and density of a tiny network, written as JSON or a
figure; bad input is one line on stderr, exit 2, and no file."""

from __future__ import annotations

import json

import pytest
from clitools import has_magic, invoke

# Tiny tensors: one intra-op thread (extra threads only spin against other processes).
pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ["--model", "mlp", "--width", "4", "--depth", "1", "--dataset", "iris", "--epochs", "1"]


def test_hessian_writes_json_with_every_figure(tmp_path):
    out = tmp_path / "spectrum.json"
    result = invoke(
        "hessian",
        *TINY,
        "--top",
        "3",
        "--bottom",
        "1",
        "--trace",
        "--density",
        "--steps",
        "10",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "lambda_1 (largest)" in result.output and "trace (hutch++)" in result.output
    data = json.loads(out.read_text())
    top = data["top"]["values"]["data"]
    assert len(top) == 3 and top == sorted(top, reverse=True)
    assert data["bottom"]["values"]["data"][0] <= top[-1]
    assert data["top"]["vectors"] is None and data["top"]["index"] is None
    assert data["trace"]["n_products"] == 100
    assert data["density"]["result"] == "spectrum"
    from losslab.curvature import Spectrum

    assert Spectrum.from_dict(data["density"]).n_products == 30


def test_hessian_draws_the_density_of_one_layer(tmp_path):
    out = tmp_path / "spectrum.png"
    result = invoke(
        "hessian", *TINY, "--top", "0", "--density", "--steps", "8", "--params", "0.", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "block of 0." in result.output and has_magic(out)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "s.txt"], "extension '.txt'"),
        (["--out", "s.png"], "add --density"),
        (["--top", "0"], "nothing to compute"),
        (["--params", "9.", "--out", "s.json"], "match(es) no parameter"),
        (["--tol", "-1", "--out", "s.json"], "tol == -1"),
        (["--probes", "3", "--trace"], "--probes"),
    ],
)
def test_bad_input_is_one_line_and_no_file(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke("hessian", *TINY, *args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kind", ["ggn", "fisher"])
def test_hessian_kind_computes_the_gauss_newton_or_the_fisher(tmp_path, kind):
    out = tmp_path / "spectrum.json"
    result = invoke("hessian", *TINY, "--kind", kind, "--top", "2", "--trace", "--out", out)
    assert result.exit_code == 0, result.output
    title = {"ggn": "Gauss-Newton of", "fisher": "Empirical Fisher of"}[kind]
    assert title in result.output
    data = json.loads(out.read_text())
    assert data["kind"] == kind and data["top"]["kind"] == kind and data["trace"]["kind"] == kind
    assert min(data["top"]["values"]["data"]) >= 0  # both are positive semi-definite
    bad = invoke("hessian", *TINY, "--kind", "newton")
    assert bad.exit_code == 2 and "newton" in bad.output
