"""inspect and critical_points against closed forms and the classic counts."""

from collections import Counter

import pytest
import torch

import losslab as ll


def test_saddle_at_origin_has_eigenvalues_plus_and_minus_two():
    result = ll.inspect(ll.surface("saddle"), [0.0, 0.0])
    assert result.kind == "saddle" and result.curvature == "indefinite"
    torch.testing.assert_close(result.eigenvalues, torch.tensor([-2.0, 2.0], dtype=torch.float64))
    assert result.trace == 0.0 and result.det == pytest.approx(-4.0)
    # Repelling along y (eigenvalue -2), attracting along x (+2); signs fixed positive.
    torch.testing.assert_close(
        result.eigenvectors, torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    )


def test_regular_points_report_the_local_shape():
    result = ll.inspect(ll.surface("saddle"), [0.05, 0.05])
    assert result.kind == "regular" and result.curvature == "indefinite"
    torch.testing.assert_close(result.gradient, torch.tensor([0.1, -0.1], dtype=torch.float64))


def test_inspect_matches_an_exact_hessian_and_reconstructs_it():
    surface = ll.surface("himmelblau")
    point = torch.tensor([0.7, -1.3], dtype=torch.float64)
    result = ll.inspect(surface, point)
    x, y = point.tolist()
    exact = torch.tensor(
        [[12 * x**2 + 4 * y - 42, 4 * (x + y)], [4 * (x + y), 4 * x + 12 * y**2 - 26]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(result.hessian, exact)
    vectors, values = result.eigenvectors, result.eigenvalues
    torch.testing.assert_close(vectors @ torch.diag(values) @ vectors.T, exact)
    assert (values[:-1] <= values[1:]).all()
    assert result.trace == pytest.approx(float(exact.trace()))
    assert result.det == pytest.approx(float(torch.linalg.det(exact)))
    for column in vectors.T:  # deterministic signs: largest entry positive
        assert column[column.abs().argmax()] > 0


def test_maxima_minima_and_degenerate_points():
    assert ll.inspect(ll.surface("-x**2 - y**2"), [0.0, 0.0]).kind == "maximum"
    assert ll.inspect(ll.surface("bowl"), [0.0, 0.0]).kind == "minimum"
    assert ll.inspect(ll.surface("monkey_saddle"), [0.0, 0.0]).kind == "degenerate"
    assert ll.inspect(ll.surface("x**4 + y**2"), [0.0, 0.0]).kind == "degenerate"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("himmelblau", {"minimum": 4, "saddle": 4, "maximum": 1}),
        ("saddle", {"saddle": 1}),
        ("bowl", {"minimum": 1}),
        ("double_well", {"minimum": 2, "maximum": 1}),
        ("three_hump_camel", {"minimum": 3, "saddle": 2}),
        ("monkey_saddle", {"degenerate": 1}),
    ],
)
def test_critical_point_counts(name, expected):
    found = ll.critical_points(ll.surface(name))
    assert Counter(p.kind for p in found) == expected


def test_six_hump_camel_has_six_minima_and_they_are_the_known_ones():
    surface = ll.surface("six_hump_camel")
    minima = torch.stack([p.point for p in ll.critical_points(surface) if p.kind == "minimum"])
    assert len(minima) == 6
    assert torch.cdist(minima, surface.minima).min(dim=1).values.max() < 1e-8


def test_himmelblau_maximum_is_the_known_one():
    maximum = [p for p in ll.critical_points(ll.surface("himmelblau")) if p.kind == "maximum"][0]
    assert maximum.value == pytest.approx(181.616522, abs=1e-5)
    torch.testing.assert_close(
        maximum.point, torch.tensor([-0.270845, -0.923039], dtype=torch.float64), atol=1e-6, rtol=0
    )


def test_inspect_rejects_a_point_of_the_wrong_size():
    with pytest.raises(ll.LosslabError, match="2 coordinate"):
        ll.inspect(ll.surface("bowl"), [1.0, 2.0, 3.0])


def test_critical_point_round_trips(tmp_path):
    result = ll.inspect(ll.surface("saddle"), [0.0, 0.0])
    loaded = ll.load_result(result.save(tmp_path / "cp.json"))
    assert loaded.kind == "saddle" and torch.equal(loaded.hessian, result.hessian)


def test_critical_points_is_a_result_that_behaves_like_the_list_of_points(tmp_path):
    surface = ll.surface("double_well")
    found = ll.critical_points(surface)
    assert isinstance(found, ll.curvature.CriticalPoints) and found.objective == "double_well"
    first, second, third = found  # unpacking, len, indexing and iteration as on a list
    assert len(found) == 3 and found[0] is first and found[-1] is third
    assert [p.kind for p in found] == ["minimum", "minimum", "maximum"]
    assert list(found[:2]) == [first, second]
    for suffix in (".json", ".h5"):  # what the library hands back is what a file holds
        loaded = ll.load_result(found.save(tmp_path / f"points{suffix}"))
        assert isinstance(loaded, ll.curvature.CriticalPoints)
        assert [p.kind for p in loaded] == [p.kind for p in found]
        for a, b in zip(loaded, found, strict=True):
            assert torch.equal(a.point, b.point)
