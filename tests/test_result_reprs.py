"""Every result prints short: its class name, the shapes of its arrays and its headline numbers,
never the arrays, at most 6 lines and 600 characters, however large the result."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from test_results_codec import EXAMPLES

import losslab as ll
from losslab import curvature
from losslab.objectives.model import ModelObjective
from losslab.results import Result, registered, summary

pytestmark = pytest.mark.usefixtures("one_thread")


def assert_short(result, name: str) -> str:
    text = repr(result)
    assert text.startswith(f"{name}("), text
    assert text.count("\n") + 1 <= summary.MAX_LINES, text
    assert len(text) <= summary.MAX_CHARS, text
    assert "tensor(" not in text and "array(" not in text, text  # no array printed in full
    return text


@pytest.mark.parametrize("name", sorted(registered()))
def test_every_registered_result_has_a_short_repr_naming_its_class(name):
    result = EXAMPLES[name]()
    assert_short(result, type(result).__name__)


def test_headlines_name_what_matters():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    objective = ModelObjective(
        model, "cross_entropy", (torch.randn(24, 3), torch.randint(0, 2, (24,)))
    )
    spectrum = curvature.density(objective, 2, 6)
    text = assert_short(spectrum, "Spectrum")
    live = spectrum.nodes[spectrum.weights > 0]
    low, high = summary.number(live.min()), summary.number(live.max())
    assert "n_params=26" in text and f"[{low}, {high}]" in text
    assert f"{spectrum.grid.numel()} points" in text
    field = curvature.curvature_map(
        ll.surface("himmelblau"), torch.eye(2, dtype=torch.float64), span=2.0, resolution=3
    )
    text = assert_short(field, "CurvatureMap")
    assert "grid=3x3" in text and "[-2, 2] x [-2, 2]" in text
    assert f"lambda_max={summary.span(field.lambda_max)}" in text
    pairs = curvature.eigenvalues(objective, k=2)
    text = assert_short(pairs, "Eigenpairs")
    values = ", ".join(summary.number(v) for v in pairs.values)
    assert f"values=({values})" in text and "vectors=<2x26 float64>" in text


def test_large_results_stay_short():
    surface = ll.surface("himmelblau")
    starts = torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    race = ll.race(surface, [ll.optim.gd(0.01), ll.optim.adam(0.05)], starts, 50)
    assert_short(race, "Race")
    text = assert_short(race[0], "Trajectory")
    assert "n_starts=300" in text and "n_rows=51" in text
    found = ll.critical_points(surface, resolution=9)
    text = assert_short(found, "CriticalPoints")
    assert f"n_points={len(found)}" in text and "'minimum': 4" in text


@dataclasses.dataclass(frozen=True)
class Custom(Result):  # no result_type: not registered, so no other test sees it
    values: torch.Tensor
    names: tuple[str, ...]
    settings: dict
    label: str = "x" * 500
    n: int = 7


@dataclasses.dataclass(frozen=True)
class Subspectrum(curvature.Spectrum):  # a subclass keeps its parent's headline
    pass


def test_a_new_result_type_gets_the_short_repr_without_writing_one():
    result = Custom(
        torch.zeros(1000, 30), tuple(f"name{i}" for i in range(400)), {str(i): i for i in range(50)}
    )
    text = assert_short(result, "Custom")
    assert "n=7" in text and "values=<1000x30 float32>" in text
    assert "names=(400 strings)" in text and "settings={50 keys}" in text
    assert "x" * 100 not in text  # a long string is cut
    spectrum = EXAMPLES["spectrum"]()
    fields = {f.name: getattr(spectrum, f.name) for f in dataclasses.fields(spectrum)}
    assert repr(Subspectrum(**fields)) == repr(spectrum)  # not @dataclass's field dump


def test_compose_cuts_at_six_lines_and_600_characters_between_items():
    text = summary.compose("Many", **{f"field{i}": (i, i + 0.5) for i in range(200)})
    assert text.count("\n") + 1 == summary.MAX_LINES and text.endswith(", ...)")
    assert len(text) <= summary.MAX_CHARS
    assert text.count("(") == text.count(")")  # no item cut in half
    assert "field0=(0, 0.5)" in text
