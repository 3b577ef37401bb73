"""The contrast picture: two 3-D surface panels that say what each is and its non-convex share,
drawn by both backends from one scene.

The Contrast here is made of two cheap grids (a bowl and Himmelblau) so that the picture is
tested without training a network; tests/test_contrast.py computes the real one.
"""

import numpy as np
import pytest

import losslab as ll
from losslab.landscapes.convexity import landscape_nonconvex_share
from losslab.plot import backend_mpl, backend_plotly
from losslab.plot.contrast import contrast_scene


@pytest.fixture(scope="module")
def pair() -> ll.Contrast:
    bowl = ll.evaluate_grid(ll.surface("bowl"), resolution=15)
    rough = ll.evaluate_grid(ll.surface("himmelblau"), resolution=17)
    return ll.Contrast(
        bowl=bowl,
        mountains=rough,
        bowl_share=landscape_nonconvex_share(bowl),
        mountains_share=landscape_nonconvex_share(rough),
        solution=np.zeros(2),
        bowl_title="The bowl",
        mountains_title="The mountains",
        bowl_description="",
        mountains_description="",
    )


def test_two_surface_panels_titled_with_their_share(pair):
    scene = contrast_scene(pair)
    bowl, mountains = scene.panels
    assert bowl.kind == mountains.kind == "surface"
    assert bowl.title == "The bowl (non-convex share 0%)"
    assert mountains.title == (
        f"The mountains (non-convex share {100 * pair.mountains_share:.0f}%)"
    )
    assert pair.mountains_share > 0  # Himmelblau's hills: the title's number is not a constant
    assert (bowl.x.label, bowl.y.label) == ("w1", "w2")
    assert np.array_equal(bowl.items[0].values, pair.bowl.values["loss"])
    assert np.array_equal(mountains.items[0].values, pair.mountains.values["loss"])


def test_both_backends_draw_both_surfaces_at_the_loss_itself(pair):
    scene = contrast_scene(pair)
    fig = backend_plotly.draw(scene)
    surfaces = [t for t in fig.data if t.type == "surface"]
    assert len(surfaces) == 2
    assert {t.scene for t in surfaces} == {"scene", "scene2"}
    for trace, landscape in zip(surfaces, (pair.bowl, pair.mountains), strict=True):
        assert np.allclose(np.asarray(trace.z), landscape.values["loss"].T)  # no log height
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [panel.title for panel in scene.panels]
    axes = [ax for ax in backend_mpl.draw(scene).axes if ax.name == "3d"]
    assert len(axes) == 2
    assert "share 0%" in axes[0].get_title().replace("\n", " ")
