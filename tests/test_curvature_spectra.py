"""Hessian-vector products, eigenvalues, trace and density against exact Hessians.

Oracles: torch.func.hessian of a small float64 network (a few hundred parameters), closed
forms of quadratic surfaces, and a quadratic 0.5 x^T A x with a known matrix."""

from __future__ import annotations

import pytest
import torch
from curvature_helpers import Cube, exact_hessian, network, quadratic

import losslab as ll
from losslab import curvature
from losslab.curvature import HessianOperator
from losslab.curvature.lanczos import lanczos
from losslab.errors import LosslabError

# Tiny tensors: one intra-op thread (extra threads only spin against other processes).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def net():
    model, objective = network()
    hessian = exact_hessian(objective)
    return model, objective, hessian, torch.linalg.eigh(hessian)


def _block(objective, hessian, names):
    offsets = objective.layout.offsets()
    index = torch.cat([torch.arange(offsets[n].start, offsets[n].stop) for n in names])
    return hessian[index][:, index]


# -- products -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["forward", "reverse", "reuse"])
def test_products_equal_the_exact_hessian_times_v(net, method):
    _, objective, hessian, _ = net
    op = HessianOperator(objective, method=method)
    vectors = torch.randn(3, objective.n_params, generator=torch.Generator().manual_seed(1))
    for v in vectors.to(torch.float64):
        torch.testing.assert_close(op.matvec(v), hessian @ v, rtol=1e-9, atol=1e-11)
    assert op.n_products == 3


def test_products_on_a_surface_use_its_closed_form_hessian():
    surface = ll.surface("himmelblau")
    at = torch.tensor([0.7, -1.3], dtype=torch.float64)
    exact = surface.hessian(at[None])[0]
    v = torch.tensor([0.3, -2.0], dtype=torch.float64)
    for method in ("forward", "reverse", "reuse"):
        torch.testing.assert_close(curvature.hvp(surface, v, at=at, method=method), exact @ v)


def test_a_parameter_subset_is_the_block_of_the_hessian(net):
    _, objective, hessian, _ = net
    block = _block(objective, hessian, ["2.weight", "2.bias"])
    op = HessianOperator(objective, params="2.")
    assert op.n == block.shape[0] and op.names == ("2.weight", "2.bias")
    torch.testing.assert_close(op.dense(), block, rtol=1e-9, atol=1e-11)
    # A list of names and module prefixes is a union, in layout order.
    both = HessianOperator(objective, params=["4.bias", "0"])
    assert both.names == ("0.weight", "0.bias", "4.bias")


def test_the_model_is_never_changed(net):
    model, objective, _, _ = net
    before = {k: v.clone() for k, v in model.state_dict().items()}
    curvature.eigenvalues(objective, k=2)
    curvature.trace(objective, 12)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())


# -- eigenvalues --------------------------------------------------------------------------------


def test_top_eigenvalues_within_the_tolerance_with_their_eigenvectors(net):
    _, objective, hessian, (values, vectors) = net
    result = curvature.eigenvalues(objective, k=5, tol=1e-4, seed=0)
    exact = values.flip(0)[:5]
    assert bool(result.converged.all())
    assert torch.all(result.values[:-1] >= result.values[1:])  # descending
    assert torch.all((result.values - exact).abs() <= 1e-4 * exact.abs())
    assert torch.all((result.values - exact).abs() <= result.error_bounds + 1e-12)
    # Each eigenvector is the exact one up to sign, and H v = lambda v.
    overlap = (result.vectors @ vectors.flip(1)[:, :5]).abs().diagonal()
    assert torch.all(overlap > 1 - 1e-4)
    residual = result.vectors @ hessian - result.values[:, None] * result.vectors
    assert float(residual.norm(dim=1).max()) < 1e-2 * float(exact[0])
    assert result.n_products < objective.n_params


def test_smallest_eigenvalues_and_the_ratio(net):
    _, objective, _, (values, _) = net
    result = curvature.eigenvalues(objective, k=2, which="smallest", tol=1e-4)
    assert result.values[0] <= result.values[1]
    scale = float(values.abs().max())
    bound = 1e-4 * torch.clamp(values[:2].abs(), min=0.01 * scale)
    assert torch.all((result.values - values[:2]).abs() <= bound)
    ends = curvature.extremes(objective)
    assert ends.lambda_max == pytest.approx(float(values[-1]), rel=1e-4)
    assert ends.lambda_min == pytest.approx(float(values[0]), abs=1e-4 * scale)
    assert ends.ratio == pytest.approx(abs(float(values[0] / values[-1])), rel=1e-3)


def test_eigenvectors_are_deterministic_with_fixed_signs(net):
    _, objective, _, _ = net
    first = curvature.eigenvalues(objective, k=3, seed=7)
    again = curvature.eigenvalues(objective, k=3, seed=7)
    assert torch.equal(first.values, again.values) and torch.equal(first.vectors, again.vectors)
    other = curvature.eigenvalues(objective, k=3, seed=8)
    assert torch.all((other.vectors * first.vectors).sum(dim=1) > 0.99)  # the same signs
    rows = torch.arange(3)
    assert torch.all(first.vectors[rows, first.vectors.abs().argmax(dim=1)] > 0)
    dicts = first.eigenvectors
    assert list(dicts[0]) == list(objective.layout.names)
    assert dicts[0]["0.weight"].shape == (16, 6)


def test_per_layer_eigenvalues_and_vectors_are_the_blocks(net):
    _, objective, hessian, _ = net
    block = _block(objective, hessian, ["4.weight", "4.bias"])
    exact = torch.linalg.eigvalsh(block).flip(0)[:3]
    result = curvature.eigenvalues(objective, k=3, params="4.")
    torch.testing.assert_close(result.values, exact, rtol=1e-4, atol=0)
    assert set(result.eigenvectors[0]) == {"4.weight", "4.bias"}
    full = result.full_vectors()
    assert full.shape == (3, objective.n_params)
    offsets = objective.layout.offsets()
    assert float(full[:, : offsets["4.weight"].start].abs().max()) == 0.0


def test_quadratic_surfaces_are_exact():
    stretched = ll.surface("stretched_bowl", condition=10.0)
    result = curvature.eigenvalues(stretched, k=2, at=[0.3, -0.2])
    torch.testing.assert_close(result.values, torch.tensor([20.0, 2.0], dtype=torch.float64))
    torch.testing.assert_close(
        result.eigenvectors[0], torch.tensor([0.0, 1.0], dtype=torch.float64)
    )
    # A repeated eigenvalue: the Krylov space of 2I is one-dimensional; a restart finds both.
    bowl = curvature.eigenvalues(ll.surface("bowl"), k=2, at=[1.0, 2.0])
    torch.testing.assert_close(bowl.values, torch.tensor([2.0, 2.0], dtype=torch.float64))
    saddle = curvature.extremes(ll.surface("saddle"), at=[0.0, 0.0])
    ends = (saddle.lambda_max, saddle.lambda_min, saddle.ratio)
    assert ends == pytest.approx((2.0, -2.0, 1.0), rel=1e-12)


def test_a_known_quadratic_to_rounding():
    objective = quadratic(40)
    exact = torch.linalg.eigvalsh(objective.matrix)
    at = torch.zeros(40, dtype=torch.float64)
    top = curvature.eigenvalues(objective, k=3, at=at, tol=1e-10)
    torch.testing.assert_close(top.values, exact.flip(0)[:3], rtol=1e-9, atol=1e-9)
    low = curvature.eigenvalues(objective, k=2, which="smallest", at=at, tol=1e-10)
    torch.testing.assert_close(low.values, exact[:2], rtol=1e-9, atol=1e-9)


def test_lanczos_keeps_the_basis_orthonormal(net):
    _, objective, _, _ = net
    op = HessianOperator(objective)
    start = torch.randn(op.n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    krylov = lanczos(op.matvec, start, 60)
    gram = krylov.basis @ krylov.basis.T
    torch.testing.assert_close(gram, torch.eye(60, dtype=torch.float64), atol=1e-12, rtol=0)


# -- trace --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["hutch++", "hutchinson"])
def test_trace_within_its_error_bar(net, method):
    _, objective, hessian, _ = net
    estimate = curvature.trace(objective, 60, method=method, seed=0)
    assert estimate.n_products == 60 and estimate.standard_error > 0
    # Seeded, so not flaky; 4 standard errors would fail by chance about 1 time in 16000.
    assert abs(estimate.estimate - float(hessian.trace())) <= 4 * estimate.standard_error
    again = curvature.trace(objective, 60, method=method, seed=0)
    assert again.estimate == estimate.estimate


def test_trace_of_a_block_and_of_quadratics_is_exact_where_it_can_be(net):
    _, objective, hessian, _ = net
    block = _block(objective, hessian, ["4.bias"])  # 3 parameters: the sketch spans them
    small = curvature.trace(objective, 12, params="4.bias")
    assert small.standard_error == 0.0
    assert small.estimate == pytest.approx(float(block.trace()), rel=1e-10)
    bowl = curvature.trace(ll.surface("bowl"), 6, at=[1.0, 1.0])
    assert (bowl.estimate, bowl.standard_error) == (pytest.approx(4.0, rel=1e-12), 0.0)
    hutchinson = curvature.trace(ll.surface("bowl"), 5, method="hutchinson", at=[0.0, 0.0])
    assert hutchinson.estimate == pytest.approx(4.0) and hutchinson.standard_error == 0.0
    objective40 = quadratic(40)
    exact = curvature.trace(objective40, 150, at=torch.zeros(40))  # sketch of 50 >= 40
    assert exact.estimate == pytest.approx(float(objective40.matrix.trace()), abs=1e-9)


# -- density ------------------------------------------------------------------------------------


def test_density_quadrature_reproduces_the_moments_of_each_probe(net):
    """Gauss quadrature with m nodes is exact for polynomials of degree < 2m: with the probes
    v_p (Rademacher / sqrt(n)), sum_j tau_j theta_j^d == v_p^T H^d v_p for d = 0..3."""
    _, objective, hessian, _ = net
    spectrum = curvature.density(objective, n_probes=2, n_steps=8, seed=3)
    from losslab.curvature.trace import rademacher

    probes = rademacher(objective.n_params, torch.Generator().manual_seed(3), 2)
    probes = probes / probes.norm(dim=1, keepdim=True)
    power = torch.eye(objective.n_params, dtype=torch.float64)
    for degree in range(4):
        exact = torch.einsum("pi,ij,pj->p", probes, power, probes)
        quadrature = (spectrum.weights * spectrum.nodes**degree).sum(dim=1)
        torch.testing.assert_close(quadrature, exact, rtol=1e-8, atol=1e-12)
        power = power @ hessian
    area = float(torch.trapezoid(spectrum.density, spectrum.grid))
    assert area == pytest.approx(1.0, abs=1e-3)
    assert spectrum.n_products == 16


def test_density_of_a_quadratic_has_its_eigenvalues_as_nodes_and_round_trips():
    objective = quadratic(12)
    spectrum = curvature.density(objective, n_probes=1, n_steps=12, at=torch.zeros(12))
    exact = torch.linalg.eigvalsh(objective.matrix)
    torch.testing.assert_close(spectrum.nodes[0], exact, rtol=1e-9, atol=1e-9)
    assert spectrum.trace == pytest.approx(float(objective.matrix.trace()), rel=0.5)
    loaded = curvature.Spectrum.from_dict(spectrum.to_dict())
    assert torch.equal(loaded.density, spectrum.density) and loaded.sigma == spectrum.sigma
    wider = spectrum.broaden(sigma=0.5, n_grid=200)
    assert wider.grid.numel() == 200 and wider.sigma == 0.5
    assert float(torch.trapezoid(wider.density, wider.grid)) == pytest.approx(1.0, abs=1e-3)


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda o: curvature.eigenvalues(ll.surface("bowl")), "at == None"),
        (lambda o: curvature.eigenvalues(o, k=0), "k == 0"),
        (lambda o: curvature.eigenvalues(ll.surface("bowl"), k=3, at=[0, 0]), "k == 3"),
        (lambda o: curvature.eigenvalues(o, which="middle"), "which =="),
        (lambda o: curvature.eigenvalues(o, params="9."), "match(es) no parameter"),
        (lambda o: curvature.eigenvalues(ll.surface("bowl"), at=[0, 0], params="0"), "names"),
        (lambda o: curvature.trace(o, 4), "n_probes == 4"),
        (lambda o: curvature.trace(o, method="exact"), "method =="),
        (lambda o: curvature.density(o, n_steps=0), "n_steps == 0"),
        (lambda o: curvature.hvp(o, torch.zeros(3)), "vector of shape"),
        (lambda o: curvature.eigenvalues(o, at=torch.zeros(5)), "do not fit the model"),
        (lambda o: curvature.eigenvalues(ll.surface("bowl"), at=[0.0]), "at has shape"),
    ],
)
def test_bad_arguments_are_one_readable_error(net, call, message):
    _, objective, _, _ = net
    with pytest.raises(LosslabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(objective)


def test_forward_mode_falls_back_to_reverse_over_reverse():
    from curvature_helpers import Quadratic

    class Cubic(Quadratic):
        def __call__(self, params):
            return Cube.apply(torch.as_tensor(params, dtype=torch.float64)).sum(-1)

    objective = Cubic(torch.eye(2, dtype=torch.float64))
    op = HessianOperator(objective, at=[1.0, 2.0], method="forward")
    v = torch.tensor([1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(op.matvec(v), torch.tensor([6.0, 12.0], dtype=torch.float64))
    assert op.method == "reverse"


def test_products_over_a_fixed_subset_of_the_data():
    model, objective = network()
    from losslab.objectives.model import ModelObjective

    part = ModelObjective(model, "cross_entropy", (objective._x, objective._y), n_samples=20)
    v = torch.linspace(-1, 1, part.n_params, dtype=torch.float64)
    torch.testing.assert_close(curvature.hvp(part, v), exact_hessian(part) @ v)
    assert not torch.allclose(curvature.hvp(part, v), curvature.hvp(objective, v))


def test_flip_signs_makes_each_rows_largest_entry_positive_in_batches():
    from losslab.curvature.lanczos import flip_signs

    rows = torch.tensor([[[0.1, -0.9, 0.3], [0.0, 0.0, 0.0]], [[-2.0, 1.0, 0.5], [0.2, 0.1, -0.1]]])
    flipped = flip_signs(rows)
    expected = torch.tensor(
        [[[-0.1, 0.9, -0.3], [0.0, 0.0, 0.0]], [[2.0, -1.0, -0.5], rows[1, 1].tolist()]]
    )
    assert torch.equal(flipped, expected)
    for batch in range(2):  # the batch is the same as each matrix alone
        assert torch.equal(flip_signs(rows[batch]), expected[batch])
