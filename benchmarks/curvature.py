"""Speed and accuracy of Hessian spectra on W1: losslab against PyHessian and hessian-eigenthings.

    .venv/bin/python benchmarks/curvature.py [--repeat 3] [--json benchmarks/results/curvature.json]

Workload W1 of benchmarks/landscape.py: MLP 64-128-128-10 (ReLU), trained briefly (5 epochs of
SGD, seed 0) on sklearn digits, all 1797 samples, float32, mean cross-entropy; 26,122
parameters. Tasks: the top eigenvalue, the top 5, the trace with 100 Hessian-vector products,
and the spectral density (stochastic Lanczos quadrature, 1 probe x 100 steps).

The reference, computed once and cached in benchmarks/results/.cache/ under the model's
fingerprint: the dense Hessian from n_params float64 products with unit vectors (CHUNK at a
time; 40 minutes here on 2 cores shared with other jobs), its exact trace (the float64
diagonal) and its top eigenvalues by scipy's eigsh (ARPACK, not losslab's Lanczos), tol 1e-10.

PyHessian (0.1) and hessian-eigenthings run only when importable (install them into .venv with
`pip install pyhessian hessian-eigenthings --no-deps`; they are not losslab dependencies).
PyHessian's density calls torch.eig, removed from torch: it is run once as is (the error is
recorded) and once with torch.eig patched here to torch.linalg.eigh (our patch, not theirs).
PyHessian's trace is run with tol=0 so that it uses all 100 products (its default tol=1e-3
may stop after a few). Times are medians over --repeat runs (seeds 0, 1, ...; at least
TRACE_RUNS for the trace); errors are the mean over those runs of the relative error: max over
the k eigenvalues of |x - ref| / |ref|, |estimate - ref| / |ref| for the trace and for the
density (whose n * sum(w * theta) is a trace estimate).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from landscape import digits, train, w1  # noqa: E402  (the W1 workload, built the same way)

import losslab  # noqa: E402
from losslab.curvature import HessianOperator, density, eigenvalues, trace  # noqa: E402
from losslab.objectives.model import ModelObjective  # noqa: E402

CHUNK = 512
CACHE = Path(__file__).resolve().parent / "results" / ".cache"
N_TOP = 10
TRACE_RUNS = 10  # a stochastic estimate's error is averaged over at least this many seeds


# -- the exact reference ------------------------------------------------------------------------


def reference(model, x, y, fingerprint: str) -> dict:
    """{"top": N_TOP largest eigenvalues, "bottom": 2 smallest, "trace": float, ...}, cached.

    The dense Hessian from n products with unit vectors in float64 (a float64 copy of the
    model and data), CHUNK columns at a time, stored in float32 and symmetrized; the trace is
    the sum of the float64 diagonal; the eigenvalues come from scipy's eigsh (ARPACK, not
    losslab's Lanczos) on the dense matrix, tol 1e-10. Holds n^2 float32 (2.7 GB for W1)."""
    path = CACHE / f"curvature-reference-{fingerprint[:20]}.json"
    if path.exists():
        data = json.loads(path.read_text())
        data["cached"] = True
        return data
    started = time.perf_counter()
    model64 = copy.deepcopy(model).double()
    objective = ModelObjective(model64, "cross_entropy", (x.double(), y))
    op = HessianOperator(objective)
    n = op.n
    hessian = torch.empty(n, n, dtype=torch.float32)
    diagonal = torch.empty(n, dtype=torch.float64)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        for i in range(start, stop):
            unit = torch.zeros(n, dtype=torch.float64)
            unit[i] = 1.0
            column = op.matvec(unit)
            diagonal[i] = column[i]
            hessian[i] = column.to(torch.float32)
        elapsed = time.perf_counter() - started
        print(f"  reference: {stop}/{n} products, {elapsed:.0f} s", file=sys.stderr, flush=True)
    hessian = 0.5 * (hessian + hessian.T)
    from scipy.sparse.linalg import LinearOperator, eigsh

    def matvec(v):
        return (hessian @ torch.from_numpy(np.asarray(v, dtype=np.float32))).double().numpy()

    operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(n)
    top = np.sort(eigsh(operator, k=N_TOP, which="LA", tol=1e-10, v0=v0)[0])[::-1]
    bottom = np.sort(eigsh(operator, k=2, which="SA", tol=1e-10, v0=v0)[0])
    data = {
        "fingerprint": fingerprint,
        "n_params": n,
        "top": [float(v) for v in top],
        "bottom": [float(v) for v in bottom],
        "trace": float(diagonal.sum()),
        "seconds": time.perf_counter() - started,
        "how": "dense Hessian from n float64 products with unit vectors (stored float32, "
        "symmetrized); trace = sum of the float64 diagonal; eigenvalues by scipy eigsh, "
        "tol 1e-10",
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
    data["cached"] = False
    return data


# -- timing helpers -----------------------------------------------------------------------------


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def top_error(values, ref) -> float:
    values = sorted((float(v) for v in values), reverse=True)
    return max(abs(v - r) / abs(r) for v, r in zip(values, ref, strict=False))


def run_task(name, tool, fn, error, repeat, note=""):
    """A task to run `repeat` times: fn(seed) -> output; error(output) -> relative error."""
    return {"tool": tool, "task": name, "fn": fn, "error_of": error, "runs": repeat, "note": note}


def execute(tasks: list[dict]) -> list[dict]:
    """Run the tasks round-robin, seed by seed (so that a change in the machine's load hits
    every tool alike); each row gets the median time and the mean relative error."""
    state = {id(t): {"times": [], "errors": [], "extra": {}, "failed": None} for t in tasks}
    for seed in range(max(t["runs"] for t in tasks)):
        for task in tasks:
            record = state[id(task)]
            if seed >= task["runs"] or record["failed"]:
                continue
            try:
                seconds, out = timed(lambda task=task, seed=seed: task["fn"](seed))
            except Exception as exc:  # a tool that fails on current torch: record, go on
                first = (str(exc).strip().splitlines() or [""])[0][:160]
                record["failed"] = f"{type(exc).__name__}: {first}"
                continue
            record["times"].append(seconds)
            record["errors"].append(task["error_of"](out))
            if isinstance(out, dict):
                keys = ("n_products", "standard_error")
                record["extra"] = {k: v for k, v in out.items() if k in keys}
    rows = []
    for task in tasks:
        record = state[id(task)]
        row = {"tool": task["tool"], "task": task["task"], "note": task["note"]}
        if record["failed"]:
            row["error"] = record["failed"]
        else:
            errors = record["errors"]
            row |= {
                "seconds": statistics.median(record["times"]),
                "times": record["times"],
                "relative_error": float(np.mean(errors)),
                "rms_relative_error": float(np.sqrt(np.mean(np.square(errors)))),
                "errors": errors,
                **record["extra"],
            }
        rows.append(row)
    return rows


# -- the tools ----------------------------------------------------------------------------------


def losslab_rows(model, x, y, ref, repeat):
    rows = []

    def objective():
        return ModelObjective(model, "cross_entropy", (x, y))

    for k in (1, 5):

        def top(seed, k=k):
            result = eigenvalues(objective(), k=k, tol=1e-4, seed=seed)
            return {"values": result.values.tolist(), "n_products": result.n_products}

        rows.append(
            run_task(
                f"top-{k}",
                "losslab",
                top,
                lambda out: top_error(out["values"], ref["top"]),
                repeat,
                "Lanczos, full reorthogonalization, tol 1e-4, products reusing the gradient "
                "graph; ModelObjective construction included",
            )
        )
    for method in ("hutch++", "hutchinson"):

        def tr(seed, method=method):
            result = trace(objective(), 100, method=method, seed=seed)
            return {
                "estimate": result.estimate,
                "standard_error": result.standard_error,
                "n_products": result.n_products,
            }

        rows.append(
            run_task(
                f"trace ({method}, 100 products)",
                "losslab",
                tr,
                lambda out: abs(out["estimate"] - ref["trace"]) / abs(ref["trace"]),
                max(repeat, TRACE_RUNS),
            )
        )

    def slq(seed):
        spectrum = density(objective(), n_probes=1, n_steps=100, seed=seed)
        return {"trace": spectrum.trace, "n_products": spectrum.n_products}

    rows.append(
        run_task(
            "density (1 probe x 100 steps)",
            "losslab",
            slq,
            lambda out: abs(out["trace"] - ref["trace"]) / abs(ref["trace"]),
            repeat,
            "error: of the SLQ trace estimate n * sum(w * theta)",
        )
    )
    return rows


def pyhessian_rows(model, x, y, ref, repeat):
    try:
        from pyhessian import hessian as pyhessian_hessian
    except ImportError:
        return [{"tool": "PyHessian", "task": "all", "error": "not installed"}]
    rows = []

    def make():
        return pyhessian_hessian(
            copy.deepcopy(model), torch.nn.CrossEntropyLoss(), data=(x, y), cuda=False
        )

    for k in (1, 5):

        def top(seed, k=k):
            torch.manual_seed(seed)
            values, _ = make().eigenvalues(top_n=k)
            return {"values": values}

        rows.append(
            run_task(
                f"top-{k}",
                "PyHessian",
                top,
                lambda out: top_error(out["values"], ref["top"]),
                repeat,
                "power iteration with deflation, defaults maxIter=100, tol=1e-3; setup included",
            )
        )

    def tr(seed):
        torch.manual_seed(seed)
        samples = make().trace(maxIter=100, tol=0.0)
        return {"estimate": float(np.mean(samples)), "n_products": len(samples)}

    rows.append(
        run_task(
            "trace (hutchinson, 100 products)",
            "PyHessian",
            tr,
            lambda out: abs(out["estimate"] - ref["trace"]) / abs(ref["trace"]),
            max(repeat, TRACE_RUNS),
            "tol=0 so that all 100 products are used",
        )
    )

    def slq(seed):
        torch.manual_seed(seed)
        nodes, weights = make().density(iter=100, n_v=1)
        estimate = ref["n_params"] * sum(
            float(a) * float(b) for a, b in zip(nodes[0], weights[0], strict=True)
        )
        return {"trace": estimate}

    def error_of(out):
        return abs(out["trace"] - ref["trace"]) / abs(ref["trace"])

    as_is = execute(
        [run_task("density (1 probe x 100 steps)", "PyHessian", slq, error_of, 1, "as is")]
    )
    rows += as_is
    if not hasattr(torch, "eig") or "error" in as_is[0]:
        original = getattr(torch, "eig", None)

        def eig(matrix, eigenvectors=False):  # the removed torch.eig, for a symmetric matrix
            values, vectors = torch.linalg.eigh(matrix)
            return torch.stack([values, torch.zeros_like(values)], dim=1), vectors

        torch.eig = eig
        try:
            rows += execute(
                [
                    run_task(
                        "density (1 probe x 100 steps)",
                        "PyHessian",
                        slq,
                        error_of,
                        repeat,
                        "torch.eig patched by this benchmark to torch.linalg.eigh",
                    )
                ]
            )
        finally:
            if original is None:
                del torch.eig
            else:
                torch.eig = original
    return rows


def eigenthings_rows(model, x, y, ref, repeat):
    try:
        import hessian_eigenthings as he
    except ImportError:
        return [{"tool": "hessian-eigenthings", "task": "all", "error": "not installed"}]
    rows = []

    def operator():
        return he.HessianOperator(
            copy.deepcopy(model), [(x, y)], he.supervised_loss(F.cross_entropy)
        )

    for k, max_iter, label in ((1, None, "defaults"), (5, None, "defaults"), (5, 40, "40 steps")):

        def top(seed, k=k, max_iter=max_iter):
            result = he.lanczos(operator(), k=k, max_iter=max_iter, tol=1e-4, which="LA", seed=seed)
            return {"values": result.eigenvalues.tolist()}

        rows.append(
            run_task(
                f"top-{k}" + ("" if max_iter is None else f" ({label})"),
                "hessian-eigenthings",
                top,
                lambda out: top_error(out["values"], ref["top"]),
                repeat,
                f"lanczos(which='LA', tol=1e-4, max_iter={max_iter or 'default 2k'})",
            )
        )

    def tr(seed):
        result = he.trace(operator(), num_matvecs=100, method="hutch++", seed=seed)
        return {"estimate": result.estimate, "standard_error": result.stderr}

    rows.append(
        run_task(
            "trace (hutch++, 100 products)",
            "hessian-eigenthings",
            tr,
            lambda out: abs(out["estimate"] - ref["trace"]) / abs(ref["trace"]),
            max(repeat, TRACE_RUNS),
        )
    )

    def slq(seed):
        result = he.spectral_density(operator(), num_runs=1, lanczos_steps=100, seed=seed)
        nodes = torch.as_tensor(result.raw_eigenvalues).reshape(-1)
        weights = torch.as_tensor(result.raw_weights).reshape(-1)
        return {"trace": ref["n_params"] * float((nodes * weights).sum())}

    rows.append(
        run_task(
            "density (1 probe x 100 steps)",
            "hessian-eigenthings",
            slq,
            lambda out: abs(out["trace"] - ref["trace"]) / abs(ref["trace"]),
            repeat,
        )
    )
    return rows


# -- main ---------------------------------------------------------------------------------------


def table(rows) -> str:
    lines = [f"{'tool':<20} {'task':<34} {'seconds':>9} {'rel. error':>11}  note"]
    for row in rows:
        if "seconds" not in row:
            lines.append(f"{row['tool']:<20} {row['task']:<34} {'-':>9} {'-':>11}  {row['error']}")
            continue
        error = row.get("relative_error")
        lines.append(
            f"{row['tool']:<20} {row['task']:<34} {row['seconds']:>9.3f} "
            f"{(f'{error:.2e}' if error is not None else '-'):>11}  {row.get('note', '')[:60]}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/curvature.json"))
    parser.add_argument("--reference-only", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()
    x, y = digits()
    model = train(w1, x, y)
    objective = ModelObjective(model, "cross_entropy", (x, y))
    ref = reference(model, x, y, objective.fingerprint())
    how = "cached" if ref["cached"] else f"{ref['seconds']:.0f} s"
    print(
        f"W1: {ref['n_params']} parameters; reference top-5 {ref['top'][:5]}, trace "
        f"{ref['trace']:.6g} ({how})"
    )
    if args.reference_only:
        return
    # Specs first (the PyHessian density rows run on the spot: torch.eig is patched around
    # them), then every other task round-robin.
    specs = losslab_rows(model, x, y, ref, args.repeat)
    specs += pyhessian_rows(model, x, y, ref, args.repeat)
    specs += eigenthings_rows(model, x, y, ref, args.repeat)
    ran = execute([row for row in specs if "fn" in row])
    pending = iter(ran)
    rows = [row if "fn" not in row else next(pending) for row in specs]
    print(table(rows))
    result = {
        "benchmark": "curvature",
        "workload": "W1: MLP 64-128-128-10 ReLU, digits (1797 samples), float32, cross-entropy",
        "losslab_version": losslab.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "repeat": args.repeat,
        "reference": {k: v for k, v in ref.items()},
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
