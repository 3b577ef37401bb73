"""Issue 12's CUDA path on a machine with a GPU: exactness against the CPU, then speed.

    PYTHONPATH=src python benchmarks/cuda_check.py [--json cuda_check.json]

Exactness (float64 models, so CPU and GPU agree to 1e-9 unless a path is wrong):
- ModelObjective on cuda, streamed in uneven batches, equals the CPU objective on all data in
  one batch: evaluate, evaluate_slice and value_and_grad, for an MLP (Sequential path), a
  residual CNN with BatchNorm (traced path) and a Transformer classifier (general path);
- the three curvature kinds (Hessian, GGN, empirical Fisher): products on cuda equal the CPU's,
  and the Transformer's top-3 Hessian eigenvalues too (CUDA's fused attention kernels have no
  second derivatives; products run under the math kernel).
Speed (float32): benchmarks/scale.py's ResNet on 10,000 generated 3x32x32 images in a
DataLoader, an 11x11 landscape on the GPU, against the per-point loop on the GPU; and the
per-product time of each curvature kind on W1 (MLP 64-128-128-10 on digits).
Exits 1 when an exactness check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402  (the benchmark's models and data)

import losslab as ll  # noqa: E402
from losslab import curvature  # noqa: E402

DEVICE = "cuda"  # --device cpu runs the same checks on the CPU (a dry run of the script)


def synchronize() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def models() -> dict[str, tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    x_img, y_img = scale.images(96)
    x_tok, y_tok = scale.tokens(96)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 16), nn.Tanh(), nn.Linear(16, 10))
    resnet = scale.ResNet(width=4).eval()
    transformer = scale.TransformerClassifier().eval()
    return {
        "mlp (sequential)": (mlp, x_img, y_img),
        "resnet (traced)": (resnet, x_img, y_img),
        "transformer (general)": (transformer, x_tok, y_tok),
    }


def close(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest difference relative to the largest value."""
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def exactness() -> dict:
    out = {}
    for name, (model, x, y) in models().items():
        cpu = ll.ModelObjective(model.double(), "cross_entropy", (x.double(), y))
        gpu = ll.ModelObjective(
            model.double().to(DEVICE),
            "cross_entropy",
            (x.double().to(DEVICE), y.to(DEVICE)),
            eval_batch_size=37,
        )
        generator = torch.Generator().manual_seed(1)
        dirs = torch.randn(2, cpu.n_params, generator=generator, dtype=torch.float64) * 0.1
        points = cpu.origin + torch.randn(5, 2, generator=generator, dtype=torch.float64) @ dirs
        coords = torch.randn(7, 2, generator=generator, dtype=torch.float64)
        v = torch.randn(cpu.n_params, generator=generator, dtype=torch.float64)
        row = {
            "path": gpu.describe()["path"],
            "n_batches": gpu.n_batches,
            "evaluate": close(
                gpu.evaluate(points.to(DEVICE))["loss"], cpu.evaluate(points)["loss"]
            ),
            "slice": close(
                gpu.evaluate_slice(cpu.origin.to(DEVICE), dirs.to(DEVICE), coords.to(DEVICE))[
                    "loss"
                ],
                cpu.evaluate_slice(cpu.origin, dirs, coords)["loss"],
            ),
            "gradient": close(
                gpu.value_and_grad(points[:2].to(DEVICE))[1], cpu.value_and_grad(points[:2])[1]
            ),
        }
        for kind in curvature.KINDS:
            row[kind] = close(
                curvature.operator(gpu, kind) @ v.to(DEVICE), curvature.operator(cpu, kind) @ v
            )
        if "transformer" in name:
            top_gpu = curvature.eigenvalues(gpu, k=3, seed=0).values
            row["top3"] = close(top_gpu, curvature.eigenvalues(cpu, k=3, seed=0).values)
        out[name] = row
        print(name, {k: (f"{v:.1e}" if isinstance(v, float) else v) for k, v in row.items()})
    return out


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        synchronize()
        start = time.perf_counter()
        fn()
        synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def speed() -> dict:
    torch.manual_seed(0)
    x, y = scale.images(10_000)
    model = scale.ResNet().eval().to(DEVICE)
    loader = DataLoader(TensorDataset(x, y), batch_size=250)
    objective = ll.ModelObjective(model, "cross_entropy", loader)
    directions = ll.directions.random(model, seed=0)
    coords = scale.grid(11)  # from flops, through scale

    def losslab_run():
        ll.landscape(objective, directions, resolution=11)

    origin = objective.origin.to(DEVICE)
    vectors = directions.vectors.to(origin)

    def loop_run():
        copy = scale.ResNet().eval().to(DEVICE)
        with torch.inference_mode():
            for c in coords.to(DEVICE):
                torch.nn.utils.vector_to_parameters(origin + c @ vectors, copy.parameters())
                total = 0.0
                for xb, yb in loader:
                    out = copy(xb.to(DEVICE, non_blocking=True))
                    total += float(nn.functional.cross_entropy(out, yb.to(DEVICE), reduction="sum"))

    results = {"resnet 10k 11x11": {"losslab_s": timed(losslab_run), "loop_s": timed(loop_run)}}
    w1 = nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)
    ).to(DEVICE)
    xd, yd = scale.digits()
    digits = ll.ModelObjective(w1, "cross_entropy", (xd.reshape(-1, 64).to(DEVICE), yd.to(DEVICE)))
    v = torch.randn(digits.n_params, device=DEVICE)
    for kind in curvature.KINDS:
        op = curvature.operator(digits, kind)
        op @ v  # the kept graph is built on the first product
        results[f"W1 {kind} product ms"] = (
            1e3 * timed(lambda op=op: [op @ v for _ in range(20)]) / 20
        )
    for key, value in results.items():
        print(key, value)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--no-speed", action="store_true", help="the exactness checks only")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 0
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu"
    print(name, "torch", torch.__version__)
    report = {"device": name, "exactness": exactness()}
    worst = max(
        v for row in report["exactness"].values() for v in row.values() if isinstance(v, float)
    )
    if not args.no_speed:
        report["speed"] = speed()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(f"worst relative difference GPU vs CPU: {worst:.1e}")
    return 0 if worst < 1e-7 else 1


if __name__ == "__main__":
    sys.exit(main())
