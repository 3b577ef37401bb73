"""losslab.symmetry: hidden-unit groups found from the model, permutations that keep the
function (checked by evaluating both models) and move the weights, weight matching that
recovers a known permutation exactly, and one-line refusals of what cannot be followed."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import losslab as ll
from losslab import symmetry
from losslab.errors import LosslabError
from losslab.symmetry import Member, Permutation

pytestmark = pytest.mark.usefixtures("one_thread")


def randomize_norms(model: nn.Module, seed: int) -> nn.Module:
    """Non-trivial affine weights and running statistics, so every unit is distinct."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d | nn.LayerNorm):
                n = module.weight.numel()
                module.weight.copy_(1 + 0.3 * torch.randn(n, generator=generator))
                module.bias.copy_(0.3 * torch.randn(n, generator=generator))
            if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
    return model


def mlp_batchnorm():
    return nn.Sequential(
        nn.Linear(6, 12),
        nn.BatchNorm1d(12),
        nn.ReLU(),
        nn.Linear(12, 10),
        nn.BatchNorm1d(10),
        nn.ReLU(),
        nn.Linear(10, 3),
    )


def mlp_layernorm():
    return nn.Sequential(
        nn.Linear(6, 12),
        nn.LayerNorm(12),
        nn.GELU(),
        nn.Dropout(0.2),
        nn.Linear(12, 8),
        nn.LayerNorm(8),
        nn.Sequential(nn.Tanh(), nn.Identity()),  # nested stacks are walked too
        nn.Linear(8, 3),
    )


def cnn_batchnorm():
    # (N, 2, 8, 8) -> conv pad 1 (6, 8, 8) -> pool (6, 4, 4) -> conv (8, 2, 2) -> Linear 32->5
    return nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Dropout2d(0.1),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 2 * 2, 5),
    )


class ResidualMLP(nn.Module):
    """stem -> (h + block(h)) x 2 -> LayerNorm -> head: the stem and the blocks' second
    layers write one residual stream, so they share one permutation."""

    def __init__(self, n_in=6, width=10, n_out=3):
        super().__init__()
        self.stem = nn.Linear(n_in, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(width, 14), nn.ReLU(), nn.Linear(14, width)) for _ in range(2)
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_out)

    def forward(self, x):
        h = F.relu(self.stem(x))
        for block in self.blocks:
            h = h + block(h)
        return self.head(self.norm(h))


class ResidualSquare(nn.Module):
    """h + fc(relu(h)): fc reads and writes the residual stream, so both axes of its weight
    follow one permutation (P W P^T)."""

    def __init__(self):
        super().__init__()
        self.stem, self.fc, self.head = nn.Linear(5, 9), nn.Linear(9, 9), nn.Linear(9, 3)

    def forward(self, x):
        h = self.stem(x)
        h = h + self.fc(torch.relu(h))
        return self.head(torch.tanh(h))


class ResidualCNN(nn.Module):
    """A conv residual block, a global mean over H, W and a view-flatten."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.head = nn.Linear(6, 4)

    def forward(self, x):
        h = torch.relu(self.conv1(x))
        h = h + self.bn(self.conv2(h))
        h = F.avg_pool2d(h, 2).mean(dim=(2, 3), keepdim=True)
        return self.head(h.view(h.size(0), -1))


class ScaledLinear(nn.Linear):  # a user subclass that keeps Linear's forward
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out)
        with torch.no_grad():
            self.weight.mul_(2)


def subclassed_mlp():
    return nn.Sequential(ScaledLinear(6, 9), nn.SiLU(), ScaledLinear(9, 4))


def zoo_mlp():
    return ll.models.mlp(6, 4, hidden=(12, 10))


def zoo_cnn():
    return ll.models.cnn(2, 4, channels=(4, 6), image_size=8)


# name -> (make the model, input shape, expected group names)
MODELS = {
    "mlp_batchnorm": (mlp_batchnorm, (6,), ("0", "3")),
    "mlp_layernorm": (mlp_layernorm, (6,), ("0", "4")),
    "cnn_batchnorm": (cnn_batchnorm, (2, 8, 8), ("0", "4")),
    "residual_mlp": (ResidualMLP, (6,), ("stem", "blocks.0.0", "blocks.1.0")),
    "residual_square": (ResidualSquare, (5,), ("stem",)),
    "residual_cnn": (ResidualCNN, (1, 8, 8), ("conv1",)),
    "subclassed_mlp": (subclassed_mlp, (6,), ("0",)),
    "zoo_mlp": (zoo_mlp, (6,), ("0", "2")),
    "zoo_cnn": (zoo_cnn, (2, 8, 8), ("0", "2")),
}


def build(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return randomize_norms(MODELS[name][0](), seed).double().eval()


def inputs(name: str) -> torch.Tensor:
    return torch.randn(7, *MODELS[name][1], generator=torch.Generator().manual_seed(1)).double()


def flat(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("name", list(MODELS))
def test_a_permuted_model_computes_the_same_function_with_weights_far_away(name):
    model = build(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    permutation = symmetry.random_permutation(model, seed=3)
    twin = symmetry.permute(model, permutation)
    assert permutation.groups == MODELS[name][2]
    assert permutation.n_moved > 0 and not permutation.is_identity
    x = inputs(name)
    torch.testing.assert_close(twin(x), model(x), rtol=0, atol=1e-12)
    distance = symmetry.parameter_distance(model, twin)
    assert distance == pytest.approx(float(torch.linalg.vector_norm(flat(model) - flat(twin))))
    assert distance > 0.5 * float(flat(model).norm())
    for key, value in model.state_dict().items():  # the input model is untouched
        assert torch.equal(value, before[key]), key
    back = symmetry.permute(twin, permutation.inverse())
    for key, value in back.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize("name", list(MODELS))
def test_weight_matching_recovers_a_random_permutation_exactly(name):
    model = build(name)
    permutation = symmetry.random_permutation(model, seed=5)
    twin = symmetry.permute(model, permutation)
    found = symmetry.weight_matching(twin, model)  # aligns model to twin: that is p itself
    assert found.groups == permutation.groups and found.method == "weight_matching"
    for a, b in zip(found.perms, permutation.perms, strict=True):
        assert torch.equal(a, b)
    back = symmetry.weight_matching(model, twin, seed=1)
    for a, b in zip(back.perms, permutation.inverse().perms, strict=True):
        assert torch.equal(a, b)
    assert symmetry.parameter_distance(symmetry.permute(twin, back), model) < 1e-12


def test_weight_matching_of_a_model_with_itself_is_the_identity_in_one_pass():
    model = build("mlp_batchnorm")
    found = symmetry.weight_matching(model, model)
    assert found.is_identity and found.n_iterations == 1 and len(found) == 2


def test_weight_matching_lowers_the_distance_between_two_different_models():
    a, b = build("zoo_mlp", seed=0), build("zoo_mlp", seed=1)
    aligned = symmetry.permute(b, symmetry.weight_matching(a, b))
    assert symmetry.parameter_distance(a, aligned) < symmetry.parameter_distance(a, b)
    x = inputs("zoo_mlp")
    torch.testing.assert_close(aligned(x), b(x), rtol=0, atol=1e-12)


def test_groups_list_every_tensor_their_units_index():
    (residual, *blocks) = symmetry.permutation_groups(build("residual_mlp"))
    assert residual.size == 10 and [b.size for b in blocks] == [14, 14]
    assert set(residual.members) == {
        Member("stem.weight", 0),
        Member("stem.bias", 0),
        Member("blocks.0.0.weight", 1),
        Member("blocks.0.2.weight", 0),
        Member("blocks.0.2.bias", 0),
        Member("blocks.1.0.weight", 1),
        Member("blocks.1.2.weight", 0),
        Member("blocks.1.2.bias", 0),
        Member("norm.weight", 0),
        Member("norm.bias", 0),
        Member("head.weight", 1),
    }
    (stream,) = symmetry.permutation_groups(build("residual_square"))
    assert {Member("fc.weight", 0), Member("fc.weight", 1)} <= set(stream.members)
    conv, last = symmetry.permutation_groups(build("cnn_batchnorm"))
    assert Member("1.running_var", 0) in conv.members
    assert Member("10.weight", 1, 4) in last.members  # channel c owns 2x2 flattened inputs


def test_units_added_to_the_input_keep_their_order():
    class InputSkip(nn.Module):  # x + f(x): f's units are pinned to the input's order
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(4, 6)
            self.fc = nn.Linear(6, 4)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(x + self.fc(torch.tanh(self.inner(x))))

    class Clamped(nn.Module):  # a per-unit bound broadcast over fc's units pins them
        def __init__(self):
            super().__init__()
            self.fc, self.head = nn.Linear(4, 6), nn.Linear(6, 2)
            self.register_buffer("bound", torch.linspace(-1, 0, 6))

        def forward(self, x):
            return self.head(torch.clamp(self.fc(x), min=self.bound))

    assert [g.name for g in symmetry.permutation_groups(InputSkip())] == ["inner"]
    assert symmetry.permutation_groups(Clamped()) == ()
    assert symmetry.permutation_groups(nn.Linear(3, 2)) == ()


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.head = nn.Linear(4, 5), nn.Linear(4, 5), nn.Linear(10, 2)

    def forward(self, x):
        return self.head(torch.cat([F.relu(self.a(x)), F.relu(self.b(x))], dim=1))


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        h = self.embed(x)
        return self.attn(h, h, h)[0]


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) if x.sum() > 0 else x


class Reshaped(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.head = nn.Linear(4, 6), nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.fc(x).view(-1, 3))


@pytest.mark.parametrize(
    "model, words",
    [
        (Concat(), ["torch.cat", "Concat.forward"]),
        (Attention(), ["module 'attn' (MultiheadAttention)"]),
        (DataDependent(), ["torch.fx cannot trace", "DataDependent"]),
        (Reshaped(), ["Tensor.view", "Reshaped"]),
        (nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1), nn.Linear(4, 2)), ["'1' (Softmax)"]),
        (nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.Flatten()), ["groups == 2"]),
    ],
)
def test_a_model_that_cannot_be_followed_is_refused_in_one_line(model, words):
    with pytest.raises(LosslabError) as error:
        symmetry.random_permutation(model, seed=0)
    message = str(error.value)
    assert "\n" not in message and "supported: Linear" in message
    for word in words:
        assert word in message


def test_permute_refuses_a_permutation_for_another_model():
    permutation = symmetry.random_permutation(build("zoo_mlp"), seed=0)
    with pytest.raises(LosslabError, match="has 12 units, the model's has 16"):
        symmetry.permute(ll.models.mlp(6, 4, hidden=(16, 10)), permutation)
    with pytest.raises(LosslabError, match="'0' is not a group of this ResidualMLP"):
        symmetry.permute(build("residual_mlp"), permutation)
    with pytest.raises(LosslabError, match="the permutation is for another model"):
        symmetry.permute(build("mlp_batchnorm"), permutation)  # group '0' with other tensors


def test_a_permutation_round_trips_through_json_and_hdf5_and_still_applies(tmp_path):
    model = build("cnn_batchnorm")
    permutation = symmetry.random_permutation(model, seed=2)
    for suffix in (".json", ".h5"):
        loaded = ll.load_result(permutation.save(tmp_path / f"p{suffix}"))
        assert isinstance(loaded, Permutation) and loaded.members == permutation.members
        same = symmetry.permute(model, loaded).state_dict()
        for key, value in symmetry.permute(model, permutation).state_dict().items():
            assert torch.equal(same[key], value)
    assert "1.running_mean[axis 0]" in permutation.summary()
    assert "10.weight[axis 1 x4]" in permutation.summary()


def test_a_crafted_file_that_is_not_a_permutation_is_refused(tmp_path):
    path = symmetry.random_permutation(build("zoo_mlp"), seed=0).save(tmp_path / "p.json")
    record = json.loads(path.read_text())
    text = json.dumps(record)
    first = record["perms"][0]
    assert isinstance(first, dict)  # an encoded int64 array
    record["perms"][0] = {**first, "data": [0] * len(first["data"])}
    path.write_text(json.dumps(record))
    with pytest.raises(LosslabError, match="not a permutation of 0..11"):
        Permutation.load(path)
    record = json.loads(text)
    record["members"][1] = record["members"][0]  # one tensor axis in two groups
    path.write_text(json.dumps(record))
    with pytest.raises(LosslabError, match="belongs to two groups"):
        ll.load_result(path)
    with pytest.raises(LosslabError, match="must be as many"):
        Permutation(("0",), (), ())


def test_weight_matching_refuses_two_models_of_different_architectures():
    with pytest.raises(LosslabError, match="one architecture") as error:
        symmetry.weight_matching(build("zoo_mlp"), ll.models.mlp(6, 4, hidden=(12, 11)))
    assert "\n" not in str(error.value)


def test_a_permutation_reads_as_its_groups():
    permutation = symmetry.random_permutation(build("mlp_batchnorm"), seed=0)
    assert len(permutation) == 2 and permutation.sizes == (12, 10)
    assert "groups=[0:12, 3:10]" in repr(permutation) and "random" in repr(permutation)
    assert torch.equal(permutation.perm("3"), permutation.perms[1])
    inverse = permutation.inverse()
    assert inverse.method == "inverse of random" and inverse.inverse().method == "random"
    for p, q in zip(permutation.perms, inverse.perms, strict=True):
        assert torch.equal(p[q], torch.arange(p.numel()))  # p after its inverse: identity
