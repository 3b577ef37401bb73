"""ModelObjective on a CUDA model: the same numbers as on CPU. Skipped without a GPU."""

import pytest
import torch
from torch import nn

import losslab as ll
from losslab import optim
from losslab.objectives.model import ModelObjective

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def models():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(54, 3)
    )

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(5, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.b(torch.relu(self.a(x))) + x[:, :3]

    generator = torch.Generator().manual_seed(0)
    tab = torch.randn(70, 5, generator=generator), torch.randint(0, 3, (70,), generator=generator)
    img = torch.randn(70, 1, 7, 7, generator=generator), tab[1]
    return [(mlp, tab), (cnn, img), (Custom(), tab)]


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("bn", ["eval", "recompute"])
def test_cuda_matches_cpu(index, bn):
    model, data = models()[index]
    cpu = ModelObjective(model, "cross_entropy", data, bn=bn, n_samples=50)
    gpu = ModelObjective(model.cuda(), "cross_entropy", data, bn=bn, n_samples=50)
    model.cpu()
    assert gpu.origin.device.type == "cuda" and gpu.describe()["device"] == "cuda"
    generator = torch.Generator().manual_seed(1)
    dirs = 0.3 * torch.randn(2, cpu.n_params, generator=generator)
    coords = torch.cartesian_prod(torch.linspace(-1, 1, 4), torch.linspace(-1, 1, 4))
    expected = cpu.evaluate_slice(cpu.origin, dirs, coords)
    got = gpu.evaluate_slice(cpu.origin, dirs, coords)  # CPU inputs: results on CPU
    for key, value in expected.items():
        assert got[key].device.type == "cpu"
        torch.testing.assert_close(got[key], value, rtol=1e-4, atol=1e-5)
    on_gpu = gpu.evaluate(gpu.origin[None] + coords.cuda() @ dirs.cuda())
    assert on_gpu["loss"].device.type == "cuda"
    torch.testing.assert_close(on_gpu["loss"].cpu(), expected["loss"], rtol=1e-4, atol=1e-5)
    trajectory = ll.descend(gpu, optim.gd(0.1), cpu.origin, 5, tol=0.0)
    reference = ll.descend(cpu, optim.gd(0.1), cpu.origin, 5, tol=0.0)
    torch.testing.assert_close(trajectory.losses, reference.losses, rtol=1e-4, atol=1e-5)
