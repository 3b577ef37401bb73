"""Curvature on real layers, against peers and dense oracles.

- curvlinops (a test-only peer) gives the same Hessian, GGN and empirical Fisher products and
  top eigenvalues on the same model and data (its convention: reduction="mean" over all data
  given as a list of (X, y) batches, which is losslab's mean loss).
- attention (nn.MultiheadAttention, F.scaled_dot_product_attention), GRU and LSTM models under
  2,000 parameters: Hessian-vector products and top eigenvalues equal a dense reverse-over-
  reverse torch.func Hessian (jacrev(jacrev)) of a plain loss function. On CPU the fused
  attention kernels have no second derivatives: the oracle, like losslab, runs attention as
  the math composite (the same function), and losslab must do so by itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev
from torch.nn.attention import SDPBackend, sdpa_kernel

from losslab import curvature
from losslab.curvature import operator
from losslab.objectives.model import ModelObjective
from losslab.params import ParamLayout

curvlinops = pytest.importorskip("curvlinops")
pytestmark = pytest.mark.usefixtures("one_thread")

KINDS = {
    "hessian": "HessianLinearOperator",
    "ggn": "GGNLinearOperator",
    "fisher": "EFLinearOperator",
}


def _classification(n=30, d=5, classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return x, torch.randint(0, classes, (n,), generator=generator)


@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_products_and_top_eigenvalues_equal_curvlinops(kind, loss_name):
    from scipy.sparse.linalg import eigsh

    x, y = _classification()
    loss = nn.CrossEntropyLoss(reduction="mean")
    if loss_name == "mse":
        y = torch.randn(30, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        loss = nn.MSELoss(reduction="mean")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    objective = ModelObjective(model, loss_name, (x, y))
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, 30, 8)]  # the last one of 6
    peer = getattr(curvlinops, KINDS[kind])(model, loss, list(model.parameters()), batches)
    ours = operator(objective, kind)
    # curvlinops' empirical Fisher of a mean over N samples x C outputs is
    # 1/(N C) sum_i grad(sum_c l_ic) grad(sum_c l_ic)^T; losslab's is sum_i c_i g_i g_i^T with
    # g_i the gradient of sample i's loss (its mean over C) and c_i = 1/N: C times smaller.
    scale = y.shape[1] if (kind, loss_name) == ("fisher", "mse") else 1
    block = torch.randn(ours.n, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    torch.testing.assert_close(scale * (ours @ block), peer @ block, rtol=1e-9, atol=1e-13)
    peer_top = np.sort(eigsh(peer.to_scipy(), k=3, which="LA", tol=1e-12)[0])[::-1]
    top = curvature.eigenvalues(objective, k=3, kind=kind, tol=1e-9)
    np.testing.assert_allclose(scale * top.values.numpy(), peer_top, rtol=1e-7, atol=1e-10)


# -- layers whose second derivatives used to break ---------------------------------------------


class Attention(nn.Module):
    """Embed -> nn.MultiheadAttention -> mean over the sequence -> classes (~350 parameters)."""

    def __init__(self, d_in=3, width=8, classes=3):
        super().__init__()
        self.embed = nn.Linear(d_in, width)
        self.attention = nn.MultiheadAttention(width, num_heads=2, batch_first=True)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        h = torch.tanh(self.embed(x))
        attended, _ = self.attention(h, h, h, need_weights=False)
        return self.head((h + attended).mean(dim=1))


class ScaledDotProduct(nn.Module):
    """A single head through F.scaled_dot_product_attention (causal)."""

    def __init__(self, d_in=3, width=8, classes=3):
        super().__init__()
        self.qkv = nn.Linear(d_in, 3 * width)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        attended = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.head(attended[:, -1])


class Recurrent(nn.Module):
    """A GRU or an LSTM over the sequence, its last state -> classes."""

    def __init__(self, cell, d_in=3, width=8, classes=3):
        super().__init__()
        self.rnn = cell(d_in, width, batch_first=True)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        states, _ = self.rnn(x)
        return self.head(states[:, -1])


MODELS = {
    "multihead_attention": Attention,
    "scaled_dot_product": ScaledDotProduct,
    "gru": lambda: Recurrent(nn.GRU),
    "lstm": lambda: Recurrent(nn.LSTM),
}


def _sequence_problem(name):
    torch.manual_seed(0)
    model = MODELS[name]().double()
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(10, 5, 3, generator=generator, dtype=torch.float64)  # (N, T, features)
    y = torch.randint(0, 3, (10,), generator=generator)
    return model, x, y


def _dense_hessian(model, x, y) -> torch.Tensor:
    """jacrev(jacrev) of the plain loss of a flat parameter vector (math attention kernel)."""
    layout = ParamLayout.of(model)
    frozen = {name: p.detach() for name, p in model.named_parameters()}

    def loss(flat):
        outputs = functional_call(model.eval(), layout.unflatten(flat), (x,))
        return nn.functional.cross_entropy(outputs, y)

    point = layout.flatten(frozen)
    with sdpa_kernel([SDPBackend.MATH]):
        matrix = jacrev(jacrev(loss))(point)
    return 0.5 * (matrix + matrix.T)


@pytest.mark.parametrize("name", list(MODELS))
def test_hessian_of_attention_and_recurrent_models_equals_a_dense_oracle(name):
    model, x, y = _sequence_problem(name)
    objective = ModelObjective(model, "cross_entropy", (x, y))
    assert objective.n_params < 2000
    expected = _dense_hessian(model, x, y)
    op = operator(objective, "hessian")
    v = torch.randn(op.n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(op @ v, expected @ v, rtol=1e-8, atol=1e-11)
    for method in ("forward", "reverse"):
        torch.testing.assert_close(curvature.hvp(objective, v, method=method), expected @ v)
    top = curvature.eigenvalues(objective, k=3, tol=1e-8)
    torch.testing.assert_close(top.values, torch.linalg.eigvalsh(expected).flip(0)[:3])
    # the Gauss-Newton and the Fisher work on these layers too, and are PSD
    for kind in ("ggn", "fisher"):
        low = curvature.extremes(objective, kind=kind, max_steps=40)
        assert low.lambda_min > -1e-8 * max(1.0, low.lambda_max)
