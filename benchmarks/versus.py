"""One source tree against another, task by task, in interleaved rounds: did a change make
anything slower, and does it still compute the same numbers?

    .venv/bin/python benchmarks/versus.py --base REV [--repeat 5] [--tasks race,basins,...]
        [--json benchmarks/results/versus.json]

REV is any git revision (a commit before a refactor, a tag). Its `src/` is extracted with
`git archive` into a temporary folder; this checkout's `src/` is the other side. Each round
starts one fresh process per side (base first on odd rounds, new first on even ones, so a
drift of the shared machine touches both alike); a process runs every task once after a
warm-up and prints its times and a digest of each task's numbers. The table gives the median
seconds per side, new/base (below 1 is faster), and the largest relative difference between
the two sides' numbers (0 when they agree bit for bit).

Tasks use only API that both sides have (they run the same code in benchmarks/versus_tasks.py):
    race       gd, momentum, newton on Rosenbrock, 1000 steps
    basins     Himmelblau, 200x200 starts x 500 steps of gd
    grid       Himmelblau on a 400x400 grid
    landscape  W1 of benchmarks/landscape.py, 41x41, ll.landscape with its default chunks
    slice      W1, 41x41, one evaluate_slice call
    top5       W1, 5 largest Hessian eigenvalues (Lanczos, tol 1e-4)
    trace      W1, Hutch++ with 100 products
    density    W1, SLQ with 1 probe x 100 steps
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TASKS = ("race", "basins", "grid", "landscape", "slice", "top5", "trace", "density")


def extract(rev: str, into: Path) -> Path:
    """`src/` of revision `rev` under `into`; returns the folder to put on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def run_side(src: Path, tasks: list[str]) -> dict:
    """One fresh process timing every task once on the losslab found in `src`."""
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
    out = subprocess.run(
        [sys.executable, str(HERE / "versus_tasks.py"), *tasks],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"tasks failed on {src}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def relative_difference(a: list[float], b: list[float]) -> float:
    if len(a) != len(b):
        return float("inf")
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        scale = max(abs(x), abs(y), 1e-12)
        worst = max(worst, abs(x - y) / scale)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--json", type=Path, default=HERE / "results" / "versus.json")
    args = parser.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; known: {', '.join(TASKS)}")

    with tempfile.TemporaryDirectory(prefix="losslab-base-") as tmp:
        sides = {"base": extract(args.base, Path(tmp)), "new": ROOT / "src"}
        times = {side: {t: [] for t in tasks} for side in sides}
        digests = {}
        for round_ in range(args.repeat):
            order = ("base", "new") if round_ % 2 == 0 else ("new", "base")
            for side in order:
                result = run_side(sides[side], tasks)
                for task in tasks:
                    times[side][task].append(result[task]["seconds"])
                    digests.setdefault(side, {})[task] = result[task]["digest"]
            print(f"round {round_ + 1}/{args.repeat} done", file=sys.stderr)

    rows = []
    print(f"{'task':<10} {'base s':>9} {'new s':>9} {'new/base':>9} {'max rel diff':>13}")
    for task in tasks:
        base = statistics.median(times["base"][task])
        new = statistics.median(times["new"][task])
        diff = relative_difference(digests["base"][task], digests["new"][task])
        rows.append(
            {
                "task": task,
                "base_s": base,
                "new_s": new,
                "ratio": new / base,
                "rounds_base": times["base"][task],
                "rounds_new": times["new"][task],
                "max_relative_difference": diff,
            }
        )
        print(f"{task:<10} {base:9.3f} {new:9.3f} {new / base:9.2f} {diff:13.2e}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"base": args.base, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
