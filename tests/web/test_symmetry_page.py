"""The symmetry page's callbacks as plain functions: a tap picks a hidden neuron, a second tap
in its layer swaps the two (the same outputs, weights far away: checked against a network
permuted by hand), a tap elsewhere is refused with a message, and the staged paths are the
library's own numbers."""

import copy

import numpy as np
import pytest
import torch

from losslab.connectivity import bezier, linear_path
from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.symmetry import permute, weight_matching
from losslab.web import diagram, pairs, swaps
from losslab.web import symmetry_figures as charts
from losslab.web.pages import _shared as shared
from losslab.web.pages import _taps as rules
from losslab.web.pages import symmetry as page

CLICK, RESET = page.ID.click, page.ID.reset
SIZES = (2, swaps.WIDTH, swaps.WIDTH, 2)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """As `losslab serve` runs: small networks, and other processes on the same cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tap(column: int, position: int, dx: float = 0.0, dy: float = 0.0) -> dict:
    """Where the browser says a tap near the node at (column, position) fell, in the diagram's
    units (shared.register_click)."""
    x, y = diagram.positions(SIZES)[column][position]
    return {"x": float(x) + dx, "y": float(y) + dy, "at": 1}


def taps(*nodes, state=None):
    """Tap `nodes` one after the other, as the browser would; the last update."""
    done = page.update(None, None, state)
    for node in nodes:
        done = page.update(CLICK, tap(*node), done.state)
    return done


def by_hand(model: torch.nn.Module, first: int, second: int) -> torch.nn.Module:
    """Oracle: neurons `first` and `second` of hidden layer 1 swapped by indexing the tensors:
    rows of layer 0's weight and bias, columns of layer 2's weight."""
    out = copy.deepcopy(model)
    order = list(range(swaps.WIDTH))
    order[first], order[second] = second, first
    with torch.no_grad():
        out[0].weight.copy_(model[0].weight[order])
        out[0].bias.copy_(model[0].bias[order])
        out[2].weight.copy_(model[2].weight[:, order])
    return out


def test_a_swap_keeps_the_outputs_and_moves_the_weights():
    picked = taps((1, 2))
    assert picked.state == {"swaps": [], "picked": [1, 2]}
    assert "Picked C in hidden layer 1" in picked.message
    assert picked.boundary is shared.NO  # nothing to recompute for a pick
    done = taps((1, 2), (1, 5))
    assert done.state == {"swaps": [[1, 2, 5]], "picked": None}
    assert done.level == shared.OK and "Swapped C and F" in done.message
    assert picked.diagram.layout.title.text == "C picked: tap another one of hidden 1"
    assert done.diagram.layout.title.text == "Swapped C \u2194 F: the same outputs"

    trained = swaps.trained_model(swaps.WIDTH, swaps.SEED)
    swapped = swaps.swapped_model(swaps.Swaps(((1, 2, 5),)))
    expected = by_hand(trained, 2, 5)
    for (name, mine), (_, theirs) in zip(
        swapped.state_dict().items(), expected.state_dict().items(), strict=True
    ):
        assert torch.equal(mine, theirs), name
    X, _ = swaps.training_points()
    with torch.no_grad():
        np.testing.assert_allclose(swapped(X).numpy(), trained(X).numpy(), atol=1e-5)
    flat = [
        torch.cat([p.detach().reshape(-1) for p in m.parameters()]) for m in (trained, expected)
    ]
    distance = float((flat[0] - flat[1]).norm())

    found = swaps.compare(swaps.Swaps(((1, 2, 5),)))
    assert found.distance == pytest.approx(distance, rel=1e-6)
    assert found.relative_distance > 0.2  # far: a good part of the weights' own length
    assert found.max_difference < 1e-5 and found.disagree == 0
    np.testing.assert_allclose(found.swapped_margin, found.margin, atol=1e-5)
    text = str(done.readout)
    assert "1 swap: C\u2194F" in text and f"{distance:.2f}" in text
    # the diagram shows F where C was, with C's old place now F's
    nodes = done.diagram.data[diagram.NODES]
    assert nodes.meta == "nodes"
    column1 = [t for t, c in zip(nodes.text, nodes.customdata, strict=True) if c[0] == 1]
    assert column1 == ["A", "B", "F", "D", "E", "C", "G", "H"]


def test_no_swap_means_no_difference_at_all():
    found = swaps.compare(swaps.Swaps())
    assert found.max_difference == 0.0 and found.distance == 0.0
    assert "0 (exactly)" in str(page.update(None, None, None).readout)


def test_swaps_compose_in_the_order_made():
    moves = ((1, 0, 1), (1, 1, 2), (2, 7, 3), (1, 0, 2))
    one_by_one = swaps.trained_model(swaps.WIDTH, swaps.SEED)
    for k in range(len(moves)):  # each swap applied to the network the previous one left
        single = swaps.Swaps((moves[k],))
        one_by_one = permute(one_by_one, swaps.permutation(one_by_one, single))
    composed = swaps.swapped_model(swaps.Swaps(moves))
    for (name, a), (_, b) in zip(
        composed.state_dict().items(), one_by_one.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


@pytest.mark.parametrize(
    "second, words, headline",
    [
        (
            (2, 3),
            ["C is in hidden layer 1 and L in hidden layer 2", "same shape"],
            "C and L are in different layers: no swap",
        ),
        ((0, 1), ["x\u2082 is an input", "Only hidden neurons"], "only hidden neurons swap"),
        ((3, 0), ["Output 0 scores class 0", "Only hidden neurons"], "Outputs are fixed"),
    ],
)
def test_a_tap_outside_the_picked_layer_is_refused_with_a_message(second, words, headline):
    done = taps((1, 2), second)
    assert done.state == {"swaps": [], "picked": [1, 2]}  # nothing swapped, C still picked
    assert done.level == shared.WARN
    for word in words:
        assert word in done.message
    assert done.boundary is shared.NO
    assert headline in done.diagram.layout.title.text


def test_tapping_the_picked_neuron_again_lets_go_and_reset_clears():
    assert taps((2, 4), (2, 4)).state == {"swaps": [], "picked": None}
    swapped = taps((2, 4), (2, 0))
    assert swapped.state["swaps"] == [[2, 4, 0]]
    reset = page.update(RESET, None, swapped.state)
    assert reset.state == {"swaps": [], "picked": None}
    assert "0 (exactly)" in str(reset.readout)


def test_a_tap_near_a_node_takes_it_and_one_between_nodes_nothing():
    assert rules.clicked_node(tap(1, 3, dx=0.25, dy=0.45)) == (1, 3)
    assert rules.clicked_node(tap(0, 0, dx=-0.2, dy=0.3)) == (0, 0)
    assert rules.clicked_node(tap(1, 3, dx=0.5)) is None  # half-way to the next column
    assert rules.clicked_node(tap(1, 0, dy=0.8)) is None  # above the top node
    assert rules.clicked_node(tap(0, 0, dy=1.0)) is None  # above the inputs, in column 0
    assert rules.clicked_node({"x": float("nan"), "y": 0.0}) is None


@pytest.mark.parametrize(
    "junk", [None, {}, {"x": 1}, {"x": 9.0, "y": 0.0}, {"x": True, "y": 0}, "x", [1]]
)
def test_junk_clicks_change_nothing(junk):
    state = {"swaps": [[1, 0, 1]], "picked": None}
    done = page.update(CLICK, junk, state)
    assert done.state == state and done.message == ""


@pytest.mark.parametrize(
    "state",
    [
        "x",
        {"swaps": "x"},
        {"swaps": [[1, 0, 0]]},
        {"swaps": [[3, 0, 1]]},
        {"swaps": [[1, 0, 1.5]]},
        {"swaps": [], "picked": [0, 1]},
        {"swaps": [[1, 0, 1]] * (swaps.MAX_SWAPS + 1)},
    ],
)
def test_a_damaged_state_is_refused_in_one_line(state):
    with pytest.raises(LosslabError, match="Reset"):
        page.update(CLICK, tap(1, 0), state)


def test_the_diagram_draws_every_weight_once():
    figure = page.update(None, None, None).diagram
    model = swaps.trained_model(swaps.WIDTH, swaps.SEED)
    n_weights = sum(w.size for w in diagram.weights(model))
    edges = figure.data[: diagram.N_EDGE_TRACES]
    assert sum(sum(x is None for x in trace.x) for trace in edges) == n_weights
    assert figure.data[diagram.PICKED].meta == "picked" and len(figure.data[diagram.PICKED].x) == 0
    assert len(taps((1, 3)).diagram.data[diagram.PICKED].x) == 1


# -- part 2 -------------------------------------------------------------------------------------


def test_the_stages_report_progress_and_give_the_library_numbers():
    asked = page.request(16, 0, 1)
    assert asked.job == {"width": 16, "seed_a": 0, "seed_b": 1}
    assert asked.progress == 0 and asked.status.startswith("1/4")
    trained = page.train_stage(asked.job)
    assert trained.progress == 1 and trained.status.startswith("2/4")
    matched = page.match_stage(trained.out)
    assert matched.progress == 2 and matched.status.startswith("3/4")
    lined = page.line_stage(matched.out)
    assert lined.progress == 3 and lined.status.startswith("4/4") and lined.out == asked.job
    curved = page.curve_stage(lined.out)
    assert curved.progress == page.N_STAGES and curved.status.startswith("Ready")

    # The library, called here directly on the same two trained networks.
    data = load_dataset("moons", seed=0)
    a, b = swaps.trained_model(16, 0), swaps.trained_model(16, 1)
    aligned = permute(b, weight_matching(a, b))
    before = linear_path(a, b, "cross_entropy", data, n_points=pairs.N_POINTS)
    after = linear_path(a, aligned, "cross_entropy", data, n_points=pairs.N_POINTS)
    curve = bezier(a, b, "cross_entropy", data, n_points=pairs.N_POINTS, **pairs.BEZIER)
    traces = {trace.meta: trace for trace in curved.figure.data}
    for key, path in (("before", before), ("after", after), ("bezier", curve)):
        np.testing.assert_allclose(traces[f"path-{key}"].customdata, path.values["loss"].numpy())
        assert f"barrier {path.barrier['loss']:.2g}" in traces[f"path-{key}"].name
    assert after.barrier["loss"] < before.barrier["loss"]
    ends = before.values["loss"].numpy()
    np.testing.assert_allclose(traces["chord"].y[[0, -1]], ends[[0, -1]])
    assert "lowered the straight line's barrier" in str(curved.facts)
    # the line stage drew the two lines, the Bezier curve still empty
    first = {trace.meta: trace for trace in lined.figure.data}
    assert len(first["path-bezier"].x) == 0 and len(first["path-after"].x) == pairs.N_POINTS
    assert [t.meta for t in curved.figure.data] == [
        "chord",
        *(f"path-{k}" for k in charts.PATH_ORDER),
        "ends",
    ]


def test_revisits_are_memoized():
    spec = pairs.PairSpec(16, 0, 1)
    assert pairs.lines(spec) is pairs.lines(pairs.PairSpec(16, 0, 1))
    assert pairs.curve(spec) is pairs.curve(spec)


@pytest.mark.parametrize(
    "args, words",
    [
        ((32, 3, 3), "Seed A and seed B are both 3"),
        ((12, 0, 1), "Width must be one of"),
        ((32, -1, 1), "Seed A must be a whole number"),
        ((32, 0, "1; rm"), "Seed B must be a whole number"),
    ],
)
def test_request_refuses_bad_controls_with_a_message(args, words):
    with pytest.raises(LosslabError, match=words):
        page.request(*args)


@pytest.mark.parametrize(
    "junk", [None, "x", [], {"width": 16}, {"width": 12, "seed_a": 0, "seed_b": 1}]
)
def test_stages_check_the_job_the_browser_sends_back(junk):
    for stage in (page.train_stage, page.match_stage, page.line_stage, page.curve_stage):
        with pytest.raises(LosslabError):
            stage(junk)


def test_seeded_steps_run_one_at_a_time():
    """While one thread is in a seeded step (build, train, bezier), no other thread can start
    one: torch.random.fork_rng would restore its generator in the middle of the other's build."""
    import threading

    from losslab.web import networks

    seen = []

    def step():
        other = threading.Thread(
            target=lambda: seen.append(networks.SEEDED.acquire(blocking=False))
        )
        other.start()
        other.join()
        return "done"

    assert networks.seeded(step) == "done"
    assert seen == [False]
    assert networks.SEEDED.acquire(blocking=False)  # free again afterwards
    networks.SEEDED.release()
