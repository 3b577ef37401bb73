"""Draw the home page's thumbnails: one small PNG per lab page, made by the library with its
matplotlib backend (the same pictures the pages show, without axes or legends), written to
src/losslab/web/assets/thumbnails/<page key>.png as a 64-colour palette image (a few KB each).

    python scripts/thumbnails.py            # rewrite every thumbnail
    python scripts/thumbnails.py --check    # exit 1 if a page has none (for CI)

Rerun it after changing what a page opens with; the files are committed.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import losslab as ll
from losslab import optim
from losslab.plot import backend_mpl, pictures

OUT = Path(__file__).resolve().parents[1] / "src" / "losslab" / "web" / "assets" / "thumbnails"
SIZE_PX = (480, 300)  # twice the 240 x 150 CSS px it is shown at: sharp on any screen
DPI = 200
COLOURS = 64


def descent_1d():
    """Gradient descent on the double well, settling in one of its two minima."""
    well = ll.surface("double_well")
    run = ll.descend(well, optim.gd(0.05), [0.3], 40)
    return pictures.curve_1d(well, trajectories=run, resolution=200)


def explorer():
    """The stretched bowl at lr 0.09: gradient descent zig-zags across the narrow axis."""
    bowl = ll.surface("stretched_bowl")
    run = ll.descend(bowl, optim.gd(0.09), [-4.0, 2.0], 60)
    return pictures.contour(bowl, trajectories=run, resolution=120)


def race():
    """Rosenbrock from (-1.5, 2): gradient descent, momentum and Newton."""
    rosenbrock = ll.surface("rosenbrock")
    runs = [
        ll.descend(rosenbrock, optimizer, [-1.5, 2.0], 400)
        for optimizer in (optim.gd(0.001), optim.momentum(0.001, beta=0.9), optim.newton(1.0))
    ]
    return pictures.contour(rosenbrock, trajectories=runs, resolution=120)


def curvature():
    """The saddle x^2 - y^2 and its critical point."""
    saddle = ll.surface("saddle")
    points = ll.critical_points(saddle)
    return pictures.contour(saddle, critical_points=points, resolution=120)


def noise():
    """Himmelblau from the origin: noisy gradients carry SGD into different basins."""
    himmelblau = ll.surface("himmelblau")
    runs = [
        ll.descend(himmelblau, optim.sgd_noise(0.01, noise=25.0, seed=seed), [0.0, 0.0], 150)
        for seed in range(5)
    ]
    return pictures.contour(himmelblau, trajectories=runs, resolution=120)


def neural():
    """A rugged, many-basin surface in 3-D: the kind of slice a network shows."""
    return pictures.surface_3d(ll.surface("rastrigin"), resolution=60, log=False)


def symmetry():
    """The symmetry page's opening paths between two networks: the straight line climbing, the
    line after weight matching and the Bezier curve staying low (log loss)."""
    from losslab.plot.scene import Axis, Panel, Path, Scene
    from losslab.web import pairs

    spec = pairs.PairSpec()
    before, after = pairs.lines(spec)
    curve = pairs.curve(spec)
    colours = {"before": "#d62728", "after": "#1f77b4", "bezier": "#2ca02c"}
    items = tuple(
        Path(path.t.numpy(), path.values["loss"].numpy(), style="metric", colour=colours[key])
        for key, path in (("before", before), ("after", after), ("bezier", curve))
    )
    return Scene((Panel("chart", items, y=Axis(scale="log")),))


def viewer():
    """The viewer's example: a computed landscape file's filled contour (Himmelblau's grid)."""
    from losslab.web.pages.viewer import example

    return pictures.slice_contour(example())


PICTURES = {
    "descent1d": descent_1d,
    "explorer": explorer,
    "race": race,
    "curvature": curvature,
    "noise": noise,
    "neural": neural,
    "symmetry": symmetry,
    "viewer": viewer,
}


def thumbnail(scene) -> bytes:
    """The scene drawn bare (no axes, ticks, legends or colour bars), as a small palette PNG."""
    figure = backend_mpl.draw(scene)
    figure.set_size_inches(SIZE_PX[0] / DPI, SIZE_PX[1] / DPI)
    figure.set_layout_engine(None)
    keep = figure.axes[0]
    for ax in [*figure.axes[1:], *keep.child_axes]:  # colour bars, twin axes
        ax.remove()
    for text in [*keep.texts, *keep.artists]:  # the run's read-out box
        text.remove()
    if keep.get_legend():
        keep.get_legend().remove()
    keep.set_title("")
    keep.set_axis_off()
    keep.set_position([0, 0, 1, 1])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    image = Image.open(buffer).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str]) -> int:
    from losslab.web.pages import PAGES

    missing = [page.key for page in PAGES if page.key not in PICTURES]
    if missing:
        print(f"no thumbnail picture for page(s) {missing}: add them to PICTURES.")
        return 1
    if "--check" in argv:
        absent = [p.key for p in PAGES if not (OUT / f"{p.key}.png").exists()]
        print("thumbnails missing: " + ", ".join(absent) if absent else "every page has one")
        return 1 if absent else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        data = thumbnail(PICTURES[page.key]())
        (OUT / f"{page.key}.png").write_bytes(data)
        print(f"{page.key:12s} {len(data) / 1024:5.1f} KB")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main(sys.argv[1:]))
