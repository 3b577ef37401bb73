"""The neural page's opening: the bowl and the mountains, two 3-D graphs that turn in the
browser. The server's part: one callback that sends both figures once (drawn by
`plot.contrast.contrast_scene` through the plotly backend), refuses anything but the page's own
pair, and is primed with the page's openings; the turning itself is browser-side only.

A cheap stand-in Contrast (a bowl and Himmelblau) replaces the trained network here;
tests/test_contrast.py computes the real one.
"""

import numpy as np
import pytest
from dash import html

import losslab as ll
from losslab.errors import LosslabError
from losslab.landscapes.convexity import landscape_nonconvex_share
from losslab.web import create_app, networks
from losslab.web.pages import _contrast, neural
from losslab.web.prime import initial_values, opening_request


@pytest.fixture()
def pair(monkeypatch) -> tuple[ll.Contrast, list]:
    """(the stand-in pair, the seeds the page asked networks.contrast for)."""
    bowl = ll.evaluate_grid(ll.surface("bowl"), resolution=11)
    hills = ll.evaluate_grid(ll.surface("himmelblau"), resolution=13)
    fake = ll.Contrast(
        bowl=bowl,
        mountains=hills,
        bowl_share=landscape_nonconvex_share(bowl),
        mountains_share=landscape_nonconvex_share(hills),
        solution=np.zeros(2),
        bowl_title="The bowl",
        mountains_title="The hills",
        bowl_description="A bowl.",
        mountains_description="Some hills.",
    )
    asked = []
    monkeypatch.setattr(networks, "contrast", lambda seed=0: asked.append(seed) or fake)
    return fake, asked


def _find(tree, wanted):
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif hasattr(node, "_prop_names"):
            if wanted(node):
                return node
            stack.append(getattr(node, "children", None))
    return None


def test_the_callback_sends_each_surface_as_its_own_figure_titled_with_its_share(pair):
    pair, asked = pair
    shown = _contrast.shown({"seed": _contrast.SEED})
    assert asked == [_contrast.SEED]
    for figure, landscape, name, share in (
        (shown.bowl, pair.bowl, "The bowl", pair.bowl_share),
        (shown.mountains, pair.mountains, "The hills", pair.mountains_share),
    ):
        (surface,) = [t for t in figure.data if t.type == "surface"]
        assert np.allclose(np.asarray(surface.z), landscape.values["loss"].T)
        assert surface.showscale is False  # the z axis reads the heights
        assert figure.layout.title.text == f"{name}<br>(non-convex share {100 * share:.0f}%)"
        assert figure.layout.scene.camera.eye.to_plotly_json() == _contrast.CAMERA["eye"]
    text = str(shown.caption)
    assert "A bowl." in text and "Some hills." in text
    assert f"Non-convex share {100 * pair.mountains_share:.0f}%" in text


@pytest.mark.parametrize("junk", [None, {}, {"seed": 1}, {"seed": "0; rm"}, [0], "x"])
def test_anything_but_the_page_own_pair_is_refused_without_computing(pair, junk):
    _, asked = pair
    with pytest.raises(LosslabError):
        _contrast.shown(junk)
    assert asked == []
    bowl, mountains, caption = _contrast._failed(
        _contrast.shared.error_message(LosslabError("the page state is damaged"))
    )
    assert bowl is _contrast.shared.NO and mountains is _contrast.shared.NO
    assert "damaged" in str(caption)


def test_the_pair_opens_the_neural_page_above_its_controls_with_a_pause_button():
    page = neural.layout()
    body = page.children
    assert body[1].className == "ll-contrast"  # after the title, before the controls
    assert body[2].className == "ll-body"
    graphs = [_find(body[1], lambda n, g=g: getattr(n, "id", None) == g) for g in _contrast.GRAPHS]
    assert all(graph is not None for graph in graphs)
    button = _find(body[1], lambda n: isinstance(n, html.Button))
    assert button.id == _contrast.ID.play and button.children == _contrast.PAUSE


def test_the_figures_come_by_one_primed_callback_and_the_turning_never_asks_the_server():
    app = create_app()
    figure_outputs = {f"{graph}.figure" for graph in _contrast.GRAPHS}
    server, browser = [], []
    for key, spec in app.callback_map.items():
        inputs = {f"{i['id']}.{i['property']}" for i in spec["inputs"]}
        if spec.get("callback"):
            server.append((key, inputs))
        else:
            browser.append((key, inputs))
    senders = [key for key, _ in server if any(out in key for out in figure_outputs)]
    assert len(senders) == 1  # both figures, one request, once
    # Nothing on the server listens to the graphs (their cameras change every frame).
    assert not any(i.startswith(_contrast.GRAPHS) for _, inputs in server for i in inputs)
    # The button and the figures drive the browser-side spinner.
    spinner = [inputs for key, inputs in browser if f"{_contrast.ID.play}.children" in key]
    assert spinner == [figure_outputs | {f"{_contrast.ID.play}.n_clicks"}]
    # The page's opening request for the figures is one that `prime` answers at start-up.
    values = initial_values(neural.layout())
    spec = app.callback_map[senders[0]]
    assert opening_request(senders[0], spec, values) is not None
