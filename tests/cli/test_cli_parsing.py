"""The CLI's pure parsing helpers: points, optimizer lists, output formats."""

from __future__ import annotations

import pytest

import losslab
from losslab.cli.parsing import output_format, parse_point, split_optimizer_specs
from losslab.errors import LosslabError


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("1,2", 2, (1.0, 2.0)),
        (" -1.5, 2 ", 2, (-1.5, 2.0)),
        ("(1e-3, -4)", 2, (1e-3, -4.0)),
        ("[0 0]", 2, (0.0, 0.0)),
        ("0.3", 1, (0.3,)),
        ("-2", 1, (-2.0,)),
    ],
)
def test_parse_point_reads_coordinates(text, n, expected):
    assert parse_point(text, n) == expected


@pytest.mark.parametrize(
    ("text", "n", "message"),
    [
        ("1,a", 2, "'a' is not a number"),
        ("1,2,3", 2, "has 3 coordinate(s), the surface has 2"),
        ("1,2", 1, "has 2 coordinate(s), the surface has 1"),
        ("", 2, "has 0 coordinate(s)"),
        ("nan,1", 2, "must be finite"),
        ("inf", 1, "must be finite"),
    ],
)
def test_parse_point_rejects_with_one_line(text, n, message):
    with pytest.raises(LosslabError, match="start == ") as error:
        parse_point(text, n)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["gd,momentum,newton"], ["gd", "momentum", "newton"]),
        (
            ["gd,momentum:beta=0.95,lr=0.01,newton:damping=0.1"],
            ["gd", "momentum:beta=0.95,lr=0.01", "newton:damping=0.1"],
        ),
        (["gd,lr=0.1"], ["gd:lr=0.1"]),
        (
            ["gd", "adam:lr=0.1, beta1=0.8", "sgd_noise:seed=3"],
            ["gd", "adam:lr=0.1,beta1=0.8", "sgd_noise:seed=3"],
        ),
        (["gd,,momentum,"], ["gd", "momentum"]),
    ],
)
def test_split_optimizer_specs(texts, expected):
    assert split_optimizer_specs(texts) == expected


def test_every_split_spec_builds_the_optimizer_it_names():
    specs = split_optimizer_specs(["gd,momentum:beta=0.5,lr=0.01,newton:damping=0.1"])
    built = [losslab.optim.from_spec(spec, lr=0.1) for spec in specs]
    assert [o.name for o in built] == ["gd", "momentum", "newton"]
    assert built[1].hyperparameters == {"lr": 0.01, "beta": 0.5}
    assert built[2].hyperparameters == {"lr": 1.0, "damping": 0.1}


@pytest.mark.parametrize("texts", [["lr=0.1,gd"], [""], [",,"]])
def test_split_optimizer_specs_rejects(texts):
    with pytest.raises(LosslabError):
        split_optimizer_specs(texts)


@pytest.mark.parametrize(
    ("path", "suffix"),
    [
        ("race.png", ".png"),
        ("out/RACE.SVG", ".svg"),
        ("a.b.pdf", ".pdf"),
        ("r.html", ".html"),
        ("r.json", ".json"),
    ],
)
def test_output_format(path, suffix):
    assert output_format(path) == suffix


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("race.txt", "extension '.txt'"),
        ("race", "no extension"),
        ("race.jpeg", "'.jpeg'"),
    ],
)
def test_output_format_rejects_unknown_extensions(path, message):
    with pytest.raises(LosslabError, match="use one of .png, .svg, .pdf, .html, .json") as error:
        output_format(path)
    assert message in str(error.value)


def test_output_format_honours_the_allowed_list():
    with pytest.raises(LosslabError, match="use one of .json"):
        output_format("x.png", (".json",))


def test_output_format_accepts_the_result_formats():
    assert [output_format(p) for p in ("a.json", "a.H5", "a.hdf5")] == [".json", ".h5", ".hdf5"]
    every = r"use one of \.png, \.svg, \.pdf, \.html, \.json, \.h5, \.hdf5\."
    with pytest.raises(LosslabError, match=every):
        output_format("a.npz")
