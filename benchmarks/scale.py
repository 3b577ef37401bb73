"""Any model, any data size: memory and speed of losslab against a per-point loop.

    .venv/bin/python benchmarks/scale.py [--only memory,transformer,cnn] [--repeat 3]
        [--base REV] [--json benchmarks/results/scale.json]

Three parts, each selectable with --only:
    memory       a ResNet-style CNN (residual blocks with BatchNorm) on a generated 3x32x32
                 data set of 2,500 / 5,000 / 10,000 samples in a DataLoader (batches of 250),
                 an 11x11 filter-normalized landscape: peak resident memory (ru_maxrss of a
                 fresh process per configuration) and time of ll.landscape on a DataLoader
                 objective (eval_batch_size = the loader's batch size) against a per-point
                 loop over the same DataLoader.
    transformer  a small Transformer classifier (nn.TransformerEncoder on 16 tokens): an 11x11
                 landscape, the top-3 Hessian eigenvalues and the GGN trace, with their times.
    cnn          the issue's two held-out shapes on digits as 1x8x8 (1,797 samples), a 21x21
                 landscape: a plain CNN nn.Sequential(Conv 1->12 pad 1, ReLU, Conv 12->24,
                 ReLU, Flatten, Linear 864->10) and a residual CNN with a custom forward,
                 ll.landscape against the simplest per-point loop (vector_to_parameters into
                 the model, one full-data pass under inference mode, 2 intra-op threads). The
                 fraction of the naive FLOP limit: the forward FLOPs of Linear and Conv layers
                 over every point, divided by the fp32 matmul peak measured in the same run
                 (a 2048x2048 torch.mm). With --base REV the same landscapes also run on the
                 losslab of that git revision (its src/ extracted with git archive): before
                 and after side by side, in the same rounds.

Every timed run is a fresh process (one per method and round, methods in turn within each
round, so a drift of the shared machine touches all alike); times are medians over rounds,
and ratios are loop seconds / losslab seconds per round (above 1: losslab is faster). The
cnn part also gives each method's milliseconds a point on one intra-op thread (the work per
core, which a loaded machine disturbs far less than the 2-thread loop's wall time). The
cnn part fails (exit 1) when losslab's losses differ from the loop's by more than 1e-5
relative.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from flops import grid, matmul_peak, naive_flops, train_briefly
from torch import nn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PARTS = ("memory", "transformer", "cnn")
RTOL = 1e-5
SIZES = (2500, 5000, 10000)
LOADER_BATCH = 250


# -- models ---------------------------------------------------------------------------------


class Block(nn.Module):
    """conv-BN-ReLU-conv-BN plus the input, then ReLU (a ResNet basic block)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(h)))


class ResNet(nn.Module):
    """A small ResNet for 3x32x32 images: a stride-2 stem and max-pooling to 8x8, two basic
    blocks, global average pooling, a linear head."""

    def __init__(self, width: int = 8, classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.blocks = nn.Sequential(Block(width), Block(width))
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn(self.stem(x))), 2)  # (N, width, 8, 8)
        return self.head(F.adaptive_avg_pool2d(self.blocks(h), 1).flatten(1))


def plain_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 12, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(12, 24, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(24 * 6 * 6, 10),
    )


class ResidualCNN(nn.Module):
    """A residual CNN with a custom forward (no Sequential): stem, a two-conv residual
    branch, max-pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.head = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        h = F.relu(self.stem(x))
        h = F.relu(h + self.conv2(F.relu(self.conv1(h))))
        h = F.max_pool2d(h, 2)
        return self.head(h.view(h.size(0), -1))


class TransformerClassifier(nn.Module):
    """Tokens (N, 16, 8) -> a linear embedding, one encoder layer, mean pooling, 5 classes."""

    def __init__(self, d_in: int = 8, d_model: int = 32, classes: int = 5):
        super().__init__()
        self.embed = nn.Linear(d_in, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, classes)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(1))


CNN_SHAPES = {"plain CNN": plain_cnn, "residual CNN": ResidualCNN}


# -- data and helpers -----------------------------------------------------------------------


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.data.astype(np.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    return torch.from_numpy(x).reshape(-1, 1, 8, 8), torch.from_numpy(bunch.target).long()


def images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n generated 3x32x32 images whose class (of 10) is the brightest of 10 fixed patterns."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=generator)
    patterns = torch.randn(10, 3 * 32 * 32, generator=generator)
    y = (x.reshape(n, -1) @ patterns.t()).argmax(1)
    return x, y


def tokens(n: int = 512, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, 8, generator=generator)
    y = (x.sum((1, 2)) > 0).long() + 2 * (x[:, 0, 0] > 0).long() + (x[:, -1, -1] > 1).long()
    return x, y


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# -- children: one measurement per fresh process ---------------------------------------------


def loop_landscape(model: nn.Module, batches, dirs: torch.Tensor, coords: torch.Tensor):
    """The per-point loop: the point's weights into the model, every batch forward under
    inference mode, the mean loss; returns losses (P,)."""
    params = list(model.parameters())
    origin = torch.nn.utils.parameters_to_vector(params).detach().clone()
    losses = torch.empty(len(coords), dtype=torch.float64)
    with torch.inference_mode():
        for i, (a, b) in enumerate(coords.tolist()):
            torch.nn.utils.vector_to_parameters(origin + a * dirs[0] + b * dirs[1], params)
            total, count = 0.0, 0
            for x, y in batches():
                total += float(F.cross_entropy(model(x), y, reduction="sum"))
                count += len(y)
            losses[i] = total / count
        torch.nn.utils.vector_to_parameters(origin, params)
    return losses


def child_cnn(spec: dict) -> dict:
    """Time one method on one CNN shape; the model, data and directions come from a file."""
    import losslab as ll

    saved = torch.load(spec["file"], weights_only=True)
    model = CNN_SHAPES[spec["shape"]]()
    model.load_state_dict(saved["state"])
    model.eval()
    x, y, dirs = saved["x"], saved["y"], saved["dirs"]
    resolution = spec["resolution"]
    torch.set_num_threads(2)
    start = time.perf_counter()
    if spec["method"] == "loop":
        losses = loop_landscape(model, lambda: [(x, y)], dirs, grid(resolution))
        path = "loop"
    else:
        objective = ll.ModelObjective(model, "cross_entropy", (x, y))
        result = ll.landscape(objective, dirs, span=1.0, resolution=resolution)
        losses = torch.as_tensor(result.values["loss"], dtype=torch.float64).reshape(-1)
        path = objective.describe()["path"]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "losses": losses.tolist(), "path": path}


def child_memory(spec: dict) -> dict:
    """Peak RSS and time of one method at one data size (a fresh process each)."""
    from torch.utils.data import DataLoader, TensorDataset

    import losslab as ll

    saved = torch.load(spec["file"], weights_only=True)
    model = ResNet()
    model.load_state_dict(saved["state"])
    model.eval()
    dirs = saved["dirs"]
    x, y = images(spec["n"], seed=1)
    loader = DataLoader(TensorDataset(x, y), batch_size=LOADER_BATCH)
    del x, y  # the loader's dataset holds them
    baseline = peak_rss_mb()
    start = time.perf_counter()
    if spec["method"] == "loop":
        losses = loop_landscape(model, lambda: loader, dirs, grid(spec["resolution"]))
    else:
        objective = ll.ModelObjective(model, "cross_entropy", loader, eval_batch_size=LOADER_BATCH)
        result = ll.landscape(objective, dirs, span=1.0, resolution=spec["resolution"])
        losses = torch.as_tensor(result.values["loss"], dtype=torch.float64).reshape(-1)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": baseline,
        "losses": losses.tolist(),
    }


CHILDREN = {"cnn": child_cnn, "memory": child_memory}


def run_child(kind: str, spec: dict, src: Path | None = None) -> dict:
    """A fresh interpreter running CHILDREN[kind](spec); src: a losslab source folder to
    import instead of this checkout's."""
    env = dict(os.environ)
    path = str(src if src is not None else ROOT / "src")
    env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--spec", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} child failed ({spec.get('method')}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def extract(rev: str, into: Path) -> Path:
    """`src/` of git revision `rev` under `into`; returns the folder for PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def max_rel(a: list[float], b: list[float]) -> float:
    a_, b_ = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a_ - b_) / np.maximum(np.abs(b_), 1e-12)))


# -- parts ----------------------------------------------------------------------------------


def one_thread_costs(model: nn.Module, x, y, dirs: torch.Tensor, n: int = 24) -> dict:
    """Milliseconds a point on ONE intra-op thread: the loop's forward + loss, and losslab's
    evaluate_slice with workers=1 (this checkout's losslab). The work a core does per point,
    which other processes on the machine disturb far less than the 2-thread wall times."""
    import losslab as ll

    coords = grid(5)[:n]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        objective = ll.ModelObjective(model, "cross_entropy", (x, y), workers=1)
        objective.evaluate_slice(objective.origin, dirs, coords[:2])  # warm-up
        loop_landscape(model, lambda: [(x, y)], dirs, coords[:2])
        ours, loop = [], []
        for _ in range(3):
            start = time.perf_counter()
            objective.evaluate_slice(objective.origin, dirs, coords)
            ours.append((time.perf_counter() - start) / len(coords) * 1e3)
            start = time.perf_counter()
            loop_landscape(model, lambda: [(x, y)], dirs, coords)
            loop.append((time.perf_counter() - start) / len(coords) * 1e3)
    finally:
        torch.set_num_threads(threads)
    return {"loop_ms_one_thread": min(loop), "losslab_ms_one_thread": min(ours)}


def part_cnn(args, tmp: Path, base_src: Path | None) -> list[dict]:
    import losslab as ll

    x, y = digits()
    torch.set_num_threads(2)
    peak = matmul_peak(n=2048, repeat=5, inner=1)
    coords = grid(args.resolution)
    rows = []
    for name, make in CNN_SHAPES.items():
        torch.manual_seed(0)
        model = train_briefly(make(), x, y)
        dirs = torch.as_tensor(
            ll.directions.random(
                model, n=2, normalization="filter", ignore="biasbn", seed=0
            ).vectors
        ).to(torch.float32)
        file = tmp / f"{name.replace(' ', '_')}.pt"
        torch.save({"state": model.state_dict(), "x": x, "y": y, "dirs": dirs}, file)
        flops = naive_flops(model, x) * len(coords)
        limit = flops / (peak * 1e9)
        rows.append({"part": "cnn", "case": name, **one_thread_costs(model, x, y, dirs)})
        methods = {"loop": None, "losslab": None}
        if base_src is not None:
            methods["losslab (base)"] = base_src
        times: dict[str, list[float]] = {m: [] for m in methods}
        results: dict[str, dict] = {}
        for _ in range(args.repeat):
            for method, src in methods.items():
                spec = {
                    "file": str(file),
                    "shape": name,
                    "method": "loop" if method == "loop" else "losslab",
                    "resolution": args.resolution,
                }
                results[method] = run_child("cnn", spec, src)
                times[method].append(results[method]["seconds"])
        for method in methods:
            seconds = statistics.median(times[method])
            per_round = [lp / t for lp, t in zip(times["loop"], times[method], strict=True)]
            rows.append(
                {
                    "part": "cnn",
                    "case": f"{name} {args.resolution}x{args.resolution}",
                    "method": method,
                    "path": results[method]["path"],
                    "seconds": seconds,
                    "times": times[method],
                    "loop_over_this": statistics.median(per_round),
                    "loop_over_this_per_round": per_round,
                    "flop_fraction": limit / seconds,
                    "naive_gflop": flops / 1e9,
                    "max_rel_loss_diff_vs_loop": max_rel(
                        results[method]["losses"], results["loop"]["losses"]
                    ),
                }
            )
    rows.append({"part": "cnn", "matmul_peak_gflops": peak, "threads": 2})
    return rows


def part_memory(args, tmp: Path) -> list[dict]:
    import losslab as ll

    torch.manual_seed(0)
    x, y = images(2000, seed=2)
    model = train_briefly(ResNet(), x, y, epochs=1)
    dirs = torch.as_tensor(
        ll.directions.random(model, n=2, normalization="filter", ignore="biasbn", seed=0).vectors
    ).to(torch.float32)
    file = tmp / "resnet.pt"
    torch.save({"state": model.state_dict(), "dirs": dirs}, file)
    rows = []
    for n in args.sizes:
        results = {}
        for method in ("loop", "losslab"):
            spec = {"file": str(file), "method": method, "n": n, "resolution": 11}
            results[method] = run_child("memory", spec)
        for method, result in results.items():
            rows.append(
                {
                    "part": "memory",
                    "case": f"ResNet n={n} 11x11",
                    "method": method,
                    "seconds": result["seconds"],
                    "peak_rss_mb": result["peak_rss_mb"],
                    "rss_before_mb": result["rss_before_mb"],
                    "loop_over_this": results["loop"]["seconds"] / result["seconds"],
                    "rss_over_loop": result["peak_rss_mb"] / results["loop"]["peak_rss_mb"],
                    "max_rel_loss_diff_vs_loop": max_rel(
                        result["losses"], results["loop"]["losses"]
                    ),
                }
            )
    return rows


def part_transformer(args) -> list[dict]:
    import losslab as ll

    torch.manual_seed(0)
    x, y = tokens()
    model = train_briefly(TransformerClassifier(), x, y, epochs=3)
    rows = []
    start = time.perf_counter()
    objective = ll.ModelObjective(model, "cross_entropy", (x, y), eval_batch_size=256)
    dirs = ll.directions.random(model, n=2, normalization="filter", ignore="biasbn", seed=0)
    landscape = ll.landscape(objective, dirs, span=1.0, resolution=11)
    seconds = time.perf_counter() - start
    loss = np.asarray(landscape.values["loss"])
    rows.append(
        {
            "part": "transformer",
            "case": "Transformer 11x11 landscape",
            "seconds": seconds,
            "path": objective.describe()["path"],
            "loss_range": [float(loss.min()), float(loss.max())],
        }
    )
    start = time.perf_counter()
    top = ll.curvature.eigenvalues(objective, k=3)
    rows.append(
        {
            "part": "transformer",
            "case": "top-3 Hessian eigenvalues",
            "seconds": time.perf_counter() - start,
            "values": [float(v) for v in top.values],
            "n_products": int(top.n_products),
        }
    )
    start = time.perf_counter()
    ggn = ll.curvature.trace(objective, kind="ggn")
    rows.append(
        {
            "part": "transformer",
            "case": "GGN trace (Hutch++)",
            "seconds": time.perf_counter() - start,
            "values": [float(ggn.estimate), float(ggn.standard_error)],
            "n_products": int(ggn.n_products),
        }
    )
    return rows


# -- main -----------------------------------------------------------------------------------


def print_rows(rows: list[dict]) -> None:
    for row in rows:
        if "loop_ms_one_thread" in row:
            print(
                f"{row['case']:28s} one thread, ms a point: loop {row['loop_ms_one_thread']:.2f}, "
                f"losslab {row['losslab_ms_one_thread']:.2f}"
            )
            continue
        if "matmul_peak_gflops" in row:
            print(f"fp32 matmul peak (2 threads, 2048^2 torch.mm): {row['matmul_peak_gflops']:.0f}")
            continue
        if row["part"] == "transformer":
            values = row.get("values", row.get("loss_range"))
            shown = ", ".join(f"{v:.4g}" for v in values)
            print(f"{row['case']:34s} {row['seconds']:8.2f} s  [{shown}]")
            continue
        line = f"{row['case']:28s} {row['method']:15s} {row['seconds']:8.2f} s"
        if row["part"] == "cnn":
            rounds = ", ".join(f"{r:.2f}" for r in row["loop_over_this_per_round"])
            line += (
                f"  loop/this {row['loop_over_this']:5.2f} ({rounds})  "
                f"FLOP frac {row['flop_fraction']:5.2f}  path {row['path']}"
            )
        else:
            line += (
                f"  peak RSS {row['peak_rss_mb']:7.0f} MB ({row['rss_over_loop']:.2f}x loop)  "
                f"loop/this {row['loop_over_this']:5.2f}"
            )
        line += f"  max rel diff {row['max_rel_loss_diff_vs_loop']:.1e}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help="parts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the cnn part")
    parser.add_argument("--resolution", type=int, default=21, help="cnn grid per axis")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="memory part")
    parser.add_argument("--base", help="git revision whose losslab also runs the cnn part")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/scale.json"))
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.spec))))
        return 0
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--only takes {', '.join(PARTS)}; got {', '.join(unknown)}")
    args.sizes = [int(s) for s in args.sizes.split(",")]

    load_before = os.getloadavg()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        base_src = extract(args.base, tmp) if args.base else None
        if "cnn" in parts:
            rows += part_cnn(args, tmp, base_src)
        if "memory" in parts:
            rows += part_memory(args, tmp)
        if "transformer" in parts:
            rows += part_transformer(args)
    load_after = os.getloadavg()
    print_rows(rows)
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")

    meta = {
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "repeat": args.repeat,
        "base": args.base,
        "parts": parts,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"wrote {args.json}")
    bad = [
        f"{r['case']} {r['method']}"
        for r in rows
        if r.get("part") == "cnn" and r.get("max_rel_loss_diff_vs_loop", 0) > RTOL
    ]
    if bad:
        print("losses disagree with the loop: " + ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
