"""The curvature operators (Hessian, Gauss-Newton, empirical Fisher) against dense oracles.

Oracles: J^T H_out J from torch.func.jacrev of the outputs and torch.func.hessian of the loss
in the outputs; sum_i c_i g_i g_i^T from a per-sample loop of torch.func.grad; the Hessian of
a linear model with MSE (whose residual term vanishes, so H == GGN); scipy's eigsh."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from curvature_helpers import Cube, Quadratic, exact_hessian, network
from torch import nn
from torch.func import functional_call, grad, hessian, jacrev

import losslab as ll
from losslab import curvature
from losslab.curvature import operator
from losslab.errors import LosslabError
from losslab.objectives.adapters import Batch
from losslab.objectives.model import ModelObjective

pytestmark = pytest.mark.usefixtures("one_thread")
KINDS = ("hessian", "ggn", "fisher")


class Chunked(ModelObjective):
    """The same objective, its data streamed in batches of `size` samples (the contract's
    sum over batches, as the streaming objective gives it)."""

    def __init__(self, *args, size: int = 7, weighted: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.size, self.weighted = size, weighted
        self.n_batches_read = 0

    def batches(self):
        for whole in super().batches():
            for start in range(0, len(whole.targets), self.size):
                self.n_batches_read += 1
                part = slice(start, start + self.size)
                targets = whole.targets[part]
                weights = torch.ones(len(targets), dtype=self.dtype) if self.weighted else None
                yield Batch(whole.inputs[part], targets, weights)


def _data(n=30, d=5, classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return x, torch.randint(0, classes, (n,), generator=generator)


def _mlp(d=5, out=3, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 6), nn.Tanh(), nn.Linear(6, out)).double()


def _dense_ggn(objective, model, x, loss_in_outputs):
    """J^T H_out J with J = jacrev of the outputs (N*C, n) and H_out the Hessian of the loss
    in the outputs (N*C, N*C), both dense."""
    layout = objective.layout

    def outputs(flat):
        return functional_call(model, layout.unflatten(flat), (x,)).reshape(-1)

    jacobian = jacrev(outputs)(objective.origin)
    z = outputs(objective.origin).detach()
    h_out = hessian(loss_in_outputs)(z)
    return jacobian.T @ h_out @ jacobian


def test_ggn_equals_dense_jt_h_j_with_cross_entropy():
    x, y = _data()
    model = _mlp()
    objective = ModelObjective(model, "cross_entropy", (x, y))

    def loss(z):
        return nn.functional.cross_entropy(z.reshape(len(y), -1), y)

    expected = _dense_ggn(objective, model, x, loss)
    op = operator(objective, "ggn")
    torch.testing.assert_close(op.dense(), expected, rtol=1e-9, atol=1e-12)
    assert op.kind == "ggn" and op.n == objective.n_params
    assert op.n_products == objective.n_params
    # positive semi-definite, and not the Hessian (a tanh network has a residual term)
    assert float(torch.linalg.eigvalsh(expected)[0]) > -1e-12
    assert not torch.allclose(expected, exact_hessian(objective), atol=1e-6)


def test_ggn_equals_dense_jt_h_j_with_mse():
    x, _ = _data()
    targets = torch.randn(30, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    model = _mlp(out=2)
    objective = ModelObjective(model, "mse", (x, targets))

    def loss(z):
        return nn.functional.mse_loss(z.reshape(len(targets), -1), targets)

    expected = _dense_ggn(objective, model, x, loss)
    for method in ("reuse", "forward", "reverse"):
        op = operator(objective, "ggn", method=method)
        torch.testing.assert_close(op.dense(), expected, rtol=1e-9, atol=1e-12)


def test_hessian_equals_ggn_on_a_linear_model_with_mse():
    """H = GGN + sum_i dL/dz_i d2 z_i/dw2, and the second factor is 0 for a linear model."""
    x, _ = _data()
    targets = torch.randn(30, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    torch.manual_seed(0)
    model = nn.Linear(5, 2).double()
    objective = ModelObjective(model, "mse", (x, targets))
    hessian_matrix = operator(objective, "hessian").dense()
    torch.testing.assert_close(operator(objective, "ggn").dense(), hessian_matrix)
    torch.testing.assert_close(hessian_matrix, exact_hessian(objective))
    # ... while the empirical Fisher is another matrix
    assert not torch.allclose(operator(objective, "fisher").dense(), hessian_matrix, atol=1e-3)


@pytest.mark.parametrize("loss_fn", ["cross_entropy", "mse"])
def test_empirical_fisher_equals_the_sum_of_per_sample_gradient_outer_products(loss_fn):
    x, y = _data(n=20)
    model = _mlp()
    if loss_fn == "mse":
        y = torch.randn(20, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    objective = ModelObjective(model, loss_fn, (x, y))
    layout = objective.layout

    def sample_loss(flat, xi, yi):
        z = functional_call(model, layout.unflatten(flat), (xi[None],))
        if loss_fn == "mse":
            return nn.functional.mse_loss(z, yi[None])
        return nn.functional.cross_entropy(z, yi[None])

    rows = [grad(sample_loss)(objective.origin, x[i], y[i]) for i in range(len(x))]
    gradients = torch.stack(rows)  # (N, n)
    expected = gradients.T @ gradients / len(x)
    for method in ("reuse", "per_sample", "forward", "reverse"):
        op = operator(objective, "fisher", method=method)
        torch.testing.assert_close(op.dense(), expected, rtol=1e-9, atol=1e-12)
    batch = next(iter(objective.batches()))
    torch.testing.assert_close(op.per_sample_gradients(batch), gradients)


def test_per_sample_gradients_loop_where_vmap_fails(monkeypatch):
    import losslab.curvature.fisher as fisher

    x, y = _data(n=12)
    objective = Chunked(_mlp(), "cross_entropy", (x, y), size=5)
    expected = operator(objective, "fisher", method="per_sample").dense()

    def no_batching_rule(*args, **kwargs):
        raise RuntimeError("Batching rule not implemented for aten::something")

    monkeypatch.setattr(fisher, "vmap", no_batching_rule)
    looped = operator(objective, "fisher", method="per_sample")
    torch.testing.assert_close(looped.dense(), expected, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(operator(objective, "fisher").dense(), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_batches_give_the_one_batch_products(kind, monkeypatch):
    """Products sum over batches: 30 samples in batches of 7 (5 batches, the last of 2) give
    the whole-data products, whether the batches' states are kept or recomputed."""
    x, y = _data()
    model = _mlp()
    whole = ModelObjective(model, "cross_entropy", (x, y))
    chunked = Chunked(model, "cross_entropy", (x, y), size=7)
    expected = operator(whole, kind).dense()
    op = operator(chunked, kind)
    torch.testing.assert_close(op.dense(), expected, rtol=1e-9, atol=1e-12)
    assert op._kept is not None and len(op._kept) == 5  # tiny states: all kept
    read = chunked.n_batches_read
    op.matvec(torch.ones(op.n, dtype=torch.float64))
    assert chunked.n_batches_read == read  # kept states: the data is not read again
    # no room to keep them: each product streams the data again, with the same result
    monkeypatch.setenv("LOSSLAB_MEMORY_BYTES", "1")
    methods = ("auto", "forward", "reverse") + (("per_sample",) if kind == "fisher" else ())
    for method in methods:
        streamed = operator(chunked, kind, method=method)
        torch.testing.assert_close(streamed.dense(), expected, rtol=1e-9, atol=1e-12)
        assert streamed._kept is None
    # batches that carry per-sample weights (unit weights: the same mean) go through too
    weighted = Chunked(model, "cross_entropy", (x, y), size=7, weighted=True)
    for method in ("auto", "per_sample") if kind == "fisher" else ("auto",):
        op = operator(weighted, kind, method=method)
        torch.testing.assert_close(op.dense(), expected, rtol=1e-9, atol=1e-12)


def test_streamed_spectral_functions_equal_the_one_batch_ones():
    x, y = _data()
    model = _mlp()
    whole = ModelObjective(model, "cross_entropy", (x, y))
    chunked = Chunked(model, "cross_entropy", (x, y), size=8)
    for kind in KINDS:
        a = curvature.eigenvalues(whole, k=2, kind=kind, tol=1e-8)
        b = curvature.eigenvalues(chunked, k=2, kind=kind, tol=1e-8)
        torch.testing.assert_close(a.values, b.values, rtol=1e-7, atol=1e-10)
        assert a.kind == b.kind == kind


@pytest.mark.parametrize("kind", KINDS)
def test_to_scipy_eigsh_equals_losslab_eigenvalues(kind):
    from scipy.sparse.linalg import LinearOperator, eigsh

    _, objective = network(width=8, n_samples=24)
    linear = operator(objective, kind).to_scipy()
    assert isinstance(linear, LinearOperator) and linear.dtype == np.float64
    assert linear.shape == (objective.n_params, objective.n_params)
    scipy_top = np.sort(eigsh(linear, k=3, which="LA", tol=1e-12)[0])[::-1]
    top = curvature.eigenvalues(objective, k=3, kind=kind, tol=1e-9)
    np.testing.assert_allclose(top.values.numpy(), scipy_top, rtol=1e-7, atol=1e-10)
    dense = operator(objective, kind).dense()
    np.testing.assert_allclose(scipy_top, torch.linalg.eigvalsh(dense).flip(0)[:3], rtol=1e-8)
    block = np.eye(objective.n_params)[:, :4]
    np.testing.assert_allclose(linear.matmat(block), dense[:, :4].numpy(), rtol=1e-9, atol=1e-14)


def test_matmul_takes_vectors_and_matrices():
    _, objective = network(width=6, n_samples=12)
    op = operator(objective, "ggn")
    dense = op.dense()
    v = torch.linspace(-1, 1, op.n, dtype=torch.float64)
    block = torch.randn(op.n, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(op @ v, dense @ v)
    torch.testing.assert_close(op @ block, dense @ block)
    torch.testing.assert_close(op.matmat(block), dense @ block)
    assert (op @ block).shape == (op.n, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_parameter_blocks_equal_the_dense_block(kind):
    _, objective = network(width=6, n_samples=12)
    full = operator(objective, kind).dense()
    offsets = objective.layout.offsets()
    names = ["2.weight", "0.bias"]
    op = operator(objective, kind, params=names)
    index = torch.cat(
        [torch.arange(offsets[n].start, offsets[n].stop) for n in ("0.bias", "2.weight")]
    )
    torch.testing.assert_close(op.dense(), full[index][:, index], rtol=1e-9, atol=1e-13)
    assert op.names == ("0.bias", "2.weight")
    rows = torch.ones(2, op.n, dtype=torch.float64)
    embedded = op.to_full(rows)
    assert embedded.shape == (2, objective.n_params) and float(embedded.sum()) == 2 * op.n


def test_kinds_are_recorded_and_saved(tmp_path):
    _, objective = network(width=6, n_samples=12)
    top = curvature.eigenvalues(objective, k=2, kind="ggn")
    low = curvature.extremes(objective, kind="fisher")
    estimate = curvature.trace(objective, 12, kind="ggn")
    spectrum = curvature.density(objective, 1, 10, kind="fisher")
    sharp = curvature.sharpness(objective, n_probes=6, kind="ggn")
    found = curvature.hessian_directions(objective, 1, kind="fisher")
    assert (top.kind, low.kind, estimate.kind, spectrum.kind) == ("ggn", "fisher", "ggn", "fisher")
    assert sharp.kind == "ggn" and found.kind == "fisher"
    assert spectrum.broaden(sigma=0.1).kind == "fisher"
    assert low.lambda_min > -1e-9  # the empirical Fisher is positive semi-definite
    exact = torch.linalg.eigvalsh(operator(objective, "ggn").dense()).flip(0)[:2]
    assert bool(((top.values - exact).abs() <= top.error_bounds + 1e-12).all())
    torch.testing.assert_close(top.values, exact, rtol=1e-4, atol=0)
    for result in (top, low, estimate, spectrum, sharp):
        path = result.save(tmp_path / f"{type(result).__name__}.json")
        assert ll.load_result(path).kind == result.kind
    # a file written before kinds existed reads as the Hessian's
    fields = curvature.trace(objective, 12).to_fields()
    del fields["kind"]
    assert type(estimate).from_fields(fields).kind == "hessian"
    report = curvature.HessianReport(objective.describe(), top=top, trace=estimate, kind="ggn")
    again = ll.load_result(report.save(tmp_path / "report.json"))
    assert again.kind == "ggn" and again.top.kind == "ggn"


def test_a_report_refuses_figures_of_another_kind():
    _, objective = network(width=6, n_samples=12)
    top = curvature.eigenvalues(objective, k=1, kind="ggn")
    with pytest.raises(LosslabError, match=r"^top is of the 'ggn' matrix, the report of 'hessian'"):
        curvature.HessianReport(objective.describe(), top=top)


class _CubeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3).double()

    def forward(self, x):
        return Cube.apply(self.linear(x))


@pytest.mark.parametrize("kind", ["ggn", "fisher"])
def test_forward_mode_falls_back_to_the_double_vjp_trick(kind, monkeypatch):
    x, y = _data(n=10, d=4)
    torch.manual_seed(0)
    objective = ModelObjective(_CubeNet(), "cross_entropy", (x, y))
    expected = operator(objective, kind, method="reverse").dense()
    monkeypatch.setenv("LOSSLAB_MEMORY_BYTES", "1")
    op = operator(objective, kind, method="forward")
    torch.testing.assert_close(op.dense(), expected)
    assert op.method == "reverse"


# -- refusals, one line each -----------------------------------------------------------------


def _one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize("kind", ["ggn", "fisher"])
def test_gauss_newton_and_fisher_refuse_a_surface(kind):
    with pytest.raises(LosslabError) as error:
        operator(ll.surface("bowl"), kind, at=[0.0, 0.0])
    text = _one_line(error)
    assert f"kind={kind!r} needs a network objective" in text and "use kind='hessian'" in text
    with pytest.raises(LosslabError, match="needs a network objective"):
        curvature.eigenvalues(ll.surface("bowl"), k=1, at=[0.0, 0.0], kind=kind)


def test_fisher_refuses_a_plain_callable_loss_in_sample_losses_words():
    x, y = _data()
    objective = ModelObjective(_mlp(), nn.functional.cross_entropy, (x, y))
    with pytest.raises(LosslabError) as error:
        operator(objective, "fisher")
    assert "plain callable that returns only the mean" in _one_line(error)
    # the Hessian and the GGN need only batch_loss: they work
    assert operator(objective, "ggn").matvec(torch.ones(objective.n_params)).shape == (
        objective.n_params,
    )


def test_unknown_kinds_and_shapes_are_refused():
    _, objective = network(width=6, n_samples=12)
    for call, message in [
        (lambda: operator(objective, "newton"), "kind == 'newton', must be one of 'hessian'"),
        (lambda: curvature.trace(objective, kind="gn"), "kind == 'gn'"),
        (lambda: curvature.density(objective, kind=None), "kind == None"),
        (lambda: operator(objective, "ggn").matmat(torch.ones(3, 2)), "matrix of shape (3, 2)"),
        (lambda: operator(objective, "fisher") @ torch.ones(3), "vector of shape (3,)"),
        (lambda: operator(objective, "ggn", method="fast"), "method == 'fast'"),
    ]:
        with pytest.raises(LosslabError) as error:
            call()
        assert message in _one_line(error)


class _GradAllergic(nn.Module):
    """Runs without gradients (as ModelObjective checks it) and fails under autograd, as a
    kernel without a derivative does."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(5, 3).double()

    def forward(self, x):
        if torch.is_grad_enabled():
            raise RuntimeError("derivative for aten::some_kernel is not implemented\nsecond line")
        return self.linear(x)


@pytest.mark.parametrize(
    ("kind", "label"),
    [("hessian", "Hessian-vector"), ("ggn", "GGN-vector"), ("fisher", "Fisher-vector")],
)
def test_a_torch_error_inside_a_product_is_one_line_naming_the_batch(kind, label):
    x, y = _data()
    objective = Chunked(_GradAllergic(), "cross_entropy", (x, y), size=10)
    op = operator(objective, kind)
    with pytest.raises(LosslabError) as error:
        op.matvec(torch.ones(op.n))
    assert _one_line(error) == (
        f"{label} product failed on batch 1: RuntimeError: derivative for "
        "aten::some_kernel is not implemented"
    )


def test_a_surface_error_is_one_line_too():
    class Broken(Quadratic):
        def value(self, point):
            raise RuntimeError("boom\nmore")

    op = operator(Broken(torch.eye(2, dtype=torch.float64)), at=[1.0, 1.0])
    with pytest.raises(LosslabError) as error:
        op.matvec(torch.ones(2))
    assert _one_line(error) == "Hessian-vector product failed: RuntimeError: boom"


class _SquareOnce(torch.autograd.Function):
    """x * x whose backward autograd cannot differentiate again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_output


class _OnceNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 2)

    def forward(self, x):
        return _SquareOnce.apply(self.layer(x))


def test_a_backward_that_cannot_be_differentiated_is_refused_not_read_as_zero_curvature():
    # torch drops the second derivative through a once_differentiable backward without a word
    # (torch.autograd.functional.hessian returns zeros); the default "reuse" products must not.
    torch.manual_seed(0)
    x, y = torch.randn(12, 4), torch.randint(0, 2, (12,))
    objective = ModelObjective(_OnceNet(), "cross_entropy", (x, y))
    with pytest.raises(LosslabError, match="cannot be differentiated again") as error:
        curvature.eigenvalues(objective, k=1)
    assert "\n" not in str(error.value)


def test_a_loss_linear_in_the_weights_still_has_zero_hessian():
    # The other reason a gradient's graph misses the point: the loss is linear in it.
    torch.manual_seed(0)
    x = torch.randn(12, 3)
    model = nn.Linear(3, 1)
    objective = ModelObjective(model, lambda out, t: (out[:, 0] * t).mean(), (x, torch.randn(12)))
    product = curvature.operator(objective) @ torch.randn(objective.n_params)
    assert torch.equal(product, torch.zeros_like(product))
