"""Weight matching's cost against depth and width, and the cost of a point on a path.

    PYTHONPATH=src python benchmarks/symmetry.py [--depths 2 4 8] [--widths 64 ... 1024]
                                                 [--json symmetry.json]

1. Weight matching (losslab.symmetry.weight_matching) of two independently initialised MLPs
   64-w-...-w-10 (depth hidden layers of width w): seconds in all, split into the similarity
   products (float64 matrix products, O(w^3) per hidden layer and pass) and the assignment
   problems (scipy's linear_sum_assignment, O(w^3) worst case per layer and pass), with the
   passes coordinate descent made. Its recovery of a random permutation of a model is
   checked on the way (the row's "exact" column).
2. Path evaluation time per point (losslab.connectivity.linear_path): a 64-w-w-10 MLP on the
   digits training split, 25 points, seconds per point, with BatchNorm recomputed
   (mlp_bn) and without BatchNorm (mlp).

Prints one table per section; --json writes the rows. Timings depend on the machine and on
what else runs: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import losslab as ll
from losslab import symmetry
from losslab.symmetry.matching import _weights, match


def mlp(depth: int, width: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return ll.models.mlp(64, 10, hidden=(width,) * depth)


def matching_row(depth: int, width: int, max_iter: int) -> dict:
    """Match two independent MLPs (timed, split) and a model with a permutation of itself."""
    a, b = mlp(depth, width, 0), mlp(depth, width, 1)
    groups = symmetry.permutation_groups(a)
    clock: dict[str, float] = {}
    started = time.perf_counter()
    _, passes = match(groups, _weights(a), _weights(b), max_iter, 0, clock)
    total = time.perf_counter() - started
    permutation = symmetry.random_permutation(a, seed=1)
    found = symmetry.weight_matching(symmetry.permute(a, permutation), a, max_iter=max_iter)
    exact = all(torch.equal(p, q) for p, q in zip(found.perms, permutation.perms, strict=True))
    return {
        "depth": depth,
        "width": width,
        "n_params": sum(p.numel() for p in a.parameters()),
        "passes": passes,
        "seconds": total,
        "similarity_s": clock["similarity"],
        "assignment_s": clock["assignment"],
        "per_pass_s": total / passes,
        "recovery_passes": found.n_iterations,
        "exact": exact,
    }


def path_evaluation_time(widths: list[int], n_points: int = 25) -> list[dict]:
    """Seconds per point of linear_path between two 64-w-w-10 MLPs on digits (1437
    training samples): with and without BatchNorm (recomputed at each point)."""
    from losslab.connectivity import linear_path

    data = ll.data.load_dataset("digits")
    rows = []
    for name in ("mlp", "mlp_bn"):
        for width in widths:
            a = ll.models.build(name, data, width=width, seed=0)
            b = ll.models.build(name, data, width=width, seed=1)
            started = time.perf_counter()
            path = linear_path(a, b, "cross_entropy", data, n_points=n_points)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "model": name,
                    "width": width,
                    "bn": path.bn,
                    "n_points": n_points,
                    "seconds": seconds,
                    "per_point_ms": 1000 * seconds / n_points,
                }
            )
    return rows


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """Rows as aligned text; columns: (key, format)."""
    cells = [[key for key, _ in columns]]
    cells += [[format(row[key], fmt) for key, fmt in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--path-widths", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = parser.parse_args(argv)

    import scipy.optimize  # noqa: F401 - imported once here, not inside the first timing

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    matching = []
    for depth in args.depths:
        for width in args.widths:
            matching.append(matching_row(depth, width, args.max_iter))
            print(f"  depth {depth} width {width}: {matching[-1]['seconds']:.2f} s", flush=True)
    print("\nweight matching of two independent MLPs 64-w x depth-10 (seconds)")
    print(
        table(
            matching,
            [
                ("depth", "d"),
                ("width", "d"),
                ("n_params", ",d"),
                ("passes", "d"),
                ("seconds", ".3f"),
                ("similarity_s", ".3f"),
                ("assignment_s", ".3f"),
                ("per_pass_s", ".3f"),
                ("recovery_passes", "d"),
                ("exact", ""),
            ],
        )
    )
    paths = path_evaluation_time(args.path_widths)
    print("\npath evaluation time per point: linear_path, digits, 25 points")
    columns = [("model", ""), ("width", "d"), ("bn", ""), ("seconds", ".3f")]
    print(table(paths, [*columns, ("per_point_ms", ".1f")]))
    if args.json:
        args.json.write_text(json.dumps({"matching": matching, "path": paths}, indent=1))
    return 0 if all(row["exact"] for row in matching) else 1


if __name__ == "__main__":
    sys.exit(main())
