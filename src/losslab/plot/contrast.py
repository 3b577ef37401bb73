"""The bowl against the mountains as one picture: two 3-D surfaces side by side.

    scene = contrast_scene(ll.bowl_and_mountains())
    backend_mpl.draw(scene)  or  backend_plotly.draw(scene)

Each panel is the library's 3-D surface panel (`build.surface_scene`) of one landscape, titled
with what it is and its non-convex share. Heights are the loss itself on both (no log): the
network's loss spans less than a decade on its slice, and a linear height keeps the two
pictures comparable.
"""

from __future__ import annotations

from dataclasses import replace

from losslab.contrast import Contrast
from losslab.plot.build import surface_scene, without_colour_bars
from losslab.plot.scene import Panel, Scene

CONTRAST_SIZE = (13.0, 5.8)


def contrast_scene(contrast: Contrast, *, title: str = "", colour_bars: bool = True) -> Scene:
    """Two 3-D surface panels: the bowl (left) and the mountains (right). colour_bars=False
    leaves them out where the width is short (a video frame, a phone): the z axes read the
    heights."""
    labels = ("w1", "w2", "MSE")
    bowl = _panel(contrast.bowl, contrast.bowl_title, contrast.bowl_share, labels, colour_bars)
    mountains = _panel(
        contrast.mountains,
        contrast.mountains_title,
        contrast.mountains_share,
        ("direction 1", "direction 2", "cross-entropy"),
        colour_bars,
    )
    return Scene((bowl, mountains), title=title, size=CONTRAST_SIZE)


def share_text(share: float) -> str:
    """'non-convex share 68%': the share of the slice that curves downward somewhere."""
    return f"non-convex share {100 * share:.0f}%"


def _panel(landscape, name: str, share: float, labels, colour_bars: bool) -> Panel:
    """The 3-D surface panel of `landscape` with its name, share and (x, y, z) labels."""
    panel = surface_scene(landscape, log=False).panels[0]
    x, y, z = (
        replace(axis, label=label)
        for axis, label in zip((panel.x, panel.y, panel.z), labels, strict=True)
    )
    items = panel.items if colour_bars else without_colour_bars(panel.items)
    title = f"{name} ({share_text(share)})"
    return replace(panel, title=title, x=x, y=y, z=z, items=items, legend="none")
