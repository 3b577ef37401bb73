"""Each page's callback logic as a plain function (parse -> library -> figure), and the claims
that the pages' check-yourself questions make, checked against the library."""

import json

import numpy as np
import pytest
import torch
from dash import Patch, no_update
from plotly.io.json import to_json_plotly

import losslab as ll
from losslab.errors import LosslabError
from losslab.web import figures, parse
from losslab.web.page import Question
from losslab.web.pages import PAGES, curvature, descent_1d, explorer, noise, race
from losslab.web.pages import _shared as shared
from losslab.web.quiz import grade

# -- explorer -----------------------------------------------------------------------------------


def explore(
    trigger=None,
    *,
    surface="stretched_bowl",
    expression=None,
    view="contour",
    arrows=(),
    click=None,
    lr=-1.0458,
    optimizer="gd",
    steps=300,
    state=None,
):
    return explorer.update(
        trigger, surface, expression, view, list(arrows), click, lr, optimizer, steps, state
    )


@pytest.fixture(scope="module")
def opening():
    return explore()


def test_explorer_opens_on_a_zig_zag_that_converges(opening):
    assert opening.lr == pytest.approx(np.log10(0.09), abs=1e-3)
    assert opening.level == shared.OK and "Converged" in opening.message
    assert "zig-zag" in opening.message
    assert opening.state["surface"] == "stretched_bowl" and opening.state["start"] == [-4.5, 2.0]
    where = explorer.TRACES["contour"]
    assert opening.figure.data[where["path"]].x[0] == -4.5
    spec = opening.spec
    assert spec["graph"] == "explorer-graph" and spec["token"] == opening.state["revision"]
    assert spec["tracks"][0]["index"] == where["path"] and not spec["autoplay"]
    assert spec["tracks"][1]["index"] == where["end"]


def assigned(patch: Patch) -> dict:
    """{location: value} of a Dash Patch's assignments."""
    return {
        tuple(op["location"]): op["params"]["value"]
        for op in patch.to_plotly_json()["operations"]
        if op["operation"] == "Assign"
    }


def test_explorer_click_only_patches_the_paths(opening):
    result = explore(explorer.ID.click, click={"x": 1.25, "y": -3.5}, state=opening.state)
    assert isinstance(result.figure, Patch)
    changed = assigned(result.figure)
    where = explorer.TRACES["contour"]
    assert set(changed) == {("data", where[k]) for k in ("path", "start", "end")} | {
        ("layout", "datarevision")
    }
    assert changed[("data", where["path"])]["x"][0] == 1.25
    assert changed[("data", where["start"])]["meta"] == "start"
    assert result.surface is no_update and result.lr is no_update and result.about is no_update
    assert result.state["start"] == [1.25, -3.5]
    assert result.spec["tracks"][0]["x"][0] == 1.25
    assert result.state["revision"] == opening.state["revision"] + 1


def test_explorer_learning_rate_past_the_limit_diverges_and_says_so(opening):
    result = explore(explorer.ID.lr, lr=np.log10(0.12), state=opening.state)
    assert result.level == shared.ERROR
    assert "Diverged" in result.message and "lower lr below 2/lambda_max = 0.1" in result.message


def test_explorer_newton_gets_its_natural_step(opening):
    result = explore(explorer.ID.optimizer, optimizer="newton", state=opening.state)
    assert result.lr == 0.0 and "newton(lr=1" in result.message


def test_explorer_typed_expression_and_3d_view(opening):
    typed = explore(explorer.ID.apply, expression="x**2 + 3*y**2", state=opening.state)
    assert typed.surface == parse.EXPRESSION and typed.state["surface"] == "x**2 + 3*y**2"
    solid = explore(explorer.ID.view, view="3d", state=typed.state)
    assert solid.figure.data[0].type == "surface" and solid.spec["mode"] == "3d"
    click = explore(explorer.ID.click, view="3d", click={"x": 1, "y": 1}, state=solid.state)
    assert isinstance(click.figure, Patch) and "z" in click.spec["tracks"][0]


def test_explorer_refuses_bad_input_through_the_guard(opening):
    with pytest.raises(LosslabError):
        explore(explorer.ID.apply, expression="__import__('os')", state=opening.state)
    failed = shared.guarded(
        lambda: explore(explorer.ID.click, click={"x": "nan"}, state=opening.state),
        lambda m: (m.text, m.level),
    )()
    assert failed[1] == shared.ERROR and "Start x" in failed[0]
    crashed = shared.guarded(lambda: 1 / 0, lambda m: (m.text, m.level))()
    assert "ZeroDivisionError" in crashed[0]


def test_explorer_choosing_expression_with_an_empty_field_only_asks(opening):
    result = explore(
        explorer.ID.surface, surface=parse.EXPRESSION, expression="", state=opening.state
    )
    assert result.figure is no_update and "Type an expression" in result.message


# -- descent in 1-D -----------------------------------------------------------------------------


def stop(lr: float) -> int:
    """The 1-D slider's value for a rate: the index of its stop."""
    return descent_1d.RATES.index(lr)


def test_descent_1d_slider_stops_at_every_rate_the_quiz_names():
    """The quiz says 0.05, 0.4, 0.8 and 'about 0.3': each is a stop, read back exactly."""
    for lr in (0.05, 0.3, 0.4, 0.8, 0.9):
        result = descent_1d.update(descent_1d.ID.lr, None, stop(lr), None)
        assert result.spec["board"]["rows"][0]["label"] == f"gd(lr={lr:g})"
    with pytest.raises(LosslabError, match="got 99"):
        descent_1d.update(descent_1d.ID.lr, None, 99, None)


def test_descent_1d_run_says_it_is_running_until_the_player_hands_back():
    result = descent_1d.update(None, None, stop(0.4), None)
    start = result.spec["on_start"]
    assert start["id"] == descent_1d.ID.message
    assert start["props"]["children"].startswith("Running steps 0 to ")
    assert "Step 0 of" in result.message  # the server's message before Run


def test_descent_1d_steps_and_the_run_handoff():
    first = descent_1d.update(None, None, stop(0.05), None)
    assert first.state == {"start": 2.2, "step": 0, "revision": 1}
    curve, minima = first.figure.data[descent_1d.CURVE], first.figure.data[descent_1d.MINIMA]
    assert curve.name == "f(x) = x^4/4 - 0.85 x^2 + 0.1 x"
    # Minima on the white chart: thin green crosses (the white plus of a map would vanish).
    assert minima.marker.symbol == "cross-thin" and minima.marker.color == "#2ca02c"
    stepped = descent_1d.update(descent_1d.ID.step, None, stop(0.05), first.state)
    assert stepped.state["step"] == 1
    assert len(stepped.figure.data[descent_1d.PATH].x) == 2
    spec = stepped.spec
    assert spec["frame"] == 1 and spec["run_from"] == 1
    assert spec["on_done"]["store"] == descent_1d.ID.state
    finished = descent_1d.update(descent_1d.ID.state, None, stop(0.05), spec["on_done"]["data"])
    assert "shallower minimum" in finished.message and finished.level == shared.OK


def test_descent_1d_click_sets_the_start():
    result = descent_1d.update(descent_1d.ID.click, {"x": -0.3, "y": 9}, stop(0.05), None)
    assert result.state["start"] == -0.3 and result.figure.data[descent_1d.CURRENT].x[0] == -0.3


def test_descent_1d_click_on_a_drawn_curve_patches_what_a_full_figure_draws():
    click = {"x": -0.3, "y": 9}
    full = descent_1d.update(descent_1d.ID.click, click, stop(0.05), None).figure
    drawn = {"start": 2.2, "step": 4, "revision": 6}
    result = descent_1d.update(descent_1d.ID.click, click, stop(0.05), drawn)
    assert isinstance(result.figure, Patch) and result.state["start"] == -0.3
    changes = assigned(result.figure)
    assert changes.pop(("layout", "datarevision")) == 7
    indices = (descent_1d.PATH, descent_1d.CURRENT, descent_1d.TANGENT)
    assert set(changes) == {("data", i) for i in indices}  # the curve and minima stay
    for i in indices:
        sent = json.loads(to_json_plotly(changes["data", i]))
        assert sent == json.loads(to_json_plotly(full.data[i].to_plotly_json())), i


@pytest.mark.parametrize(("lr", "where"), [(0.05, "shallower"), (0.4, "deeper"), (0.9, "Diverged")])
def test_descent_1d_quiz_claims(lr, where):
    """From 2.2: lr 0.05 stays right, lr 0.4 jumps over the bump, large rates diverge."""
    state = {"start": 2.2, "step": 10_000, "revision": 0}
    result = descent_1d.update(descent_1d.ID.state, None, stop(lr), state)
    assert where in result.message


# -- race ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rosenbrock_race():
    return race.update(
        None, "rosenbrock", None, ["gd", "momentum", "newton"], None, None, 400, None
    )


def test_race_newton_wins_on_rosenbrock(rosenbrock_race):
    spec = rosenbrock_race.spec
    assert spec["autoplay"] and len(spec["board"]["rows"]) == 3
    assert spec["board"]["banner"]["text"].startswith("First to the minimum: newton")
    reached = [row["reached"] for row in spec["board"]["rows"]]
    assert reached[0] is None and reached[2] is not None and reached[2] < 10
    # the figure starts at frame 0: the animation draws the rest
    where = figures.run_indices(0, 3, loss_panel=True)
    assert len(rosenbrock_race.figure.data[where["path"]].x) == 1
    assert [t["index"] for t in spec["tracks"][:3]] == [where["path"], where["end"], where["loss"]]


def test_race_click_patches_and_a_new_optimizer_set_rebuilds(rosenbrock_race):
    state = rosenbrock_race.state
    moved = race.update(
        race.ID.click,
        "rosenbrock",
        None,
        ["gd", "momentum", "newton"],
        {"x": 0.0, "y": 2.0},
        -3,
        400,
        state,
    )
    assert isinstance(moved.figure, Patch) and moved.state["start"] == [0.0, 2.0]
    changed = assigned(moved.figure)
    for i in range(3):
        where = figures.run_indices(i, 3, loss_panel=True)
        assert list(changed[("data", where["path"])]["x"]) == [0.0]  # the first frame
        assert changed[("data", where["loss"])]["meta"] == "loss"
    assert changed[("layout", "yaxis2", "type")] == "log"
    more = race.update(
        race.ID.optimizers, "rosenbrock", None, ["gd", "adam"], None, None, 100, state
    )
    assert not isinstance(more.figure, Patch) and more.state["names"] == ["gd", "adam"]


def test_race_new_surface_sets_each_optimizer_to_its_own_default_rate():
    result = race.update(race.ID.surface, "rosenbrock", None, ["gd", "adam"], None, None, 400, None)
    sliders = result.rates  # the settled store; the browser copies it into the sliders
    assert set(sliders) == set(race.RATED)
    assert sliders["gd"] == -3.0 and sliders["adam"] == -1.0 and sliders["rmsprop"] == -2.0
    heading = result.message[0].children  # then one line per run: why it ended
    assert "lr: gd 0.001, adam 0.1." in heading
    labels = [row["label"] for row in result.spec["board"]["rows"]]
    assert labels[1].startswith("adam(lr=0.1,")


def test_race_adam_at_its_own_rate_beats_adam_at_gds_rate(rosenbrock_race):
    """The issue's complaint: at gd's 0.001 adam ends far up the valley; at its own rate it
    reaches the minimum's neighbourhood."""
    state = rosenbrock_race.state
    names = ["gd", "adam"]
    own = race.update(race.ID.optimizers, "rosenbrock", None, names, None, {}, 400, state)
    shared_rate = {"gd": -3, "adam": -3}
    slow = race.update(race.ID.rates, "rosenbrock", None, names, None, shared_rate, 400, state)
    final = [row["values"][0][-1] for row in own.spec["board"]["rows"]]
    slow_final = [row["values"][0][-1] for row in slow.spec["board"]["rows"]]
    assert final[1] < 0.1 < 1.0 < slow_final[1]
    assert slow.rates is no_update  # the sliders stay where moved
    with pytest.raises(LosslabError, match="Log10 of adam's rate must be a number from -5 to 1"):
        race.update(race.ID.rates, "rosenbrock", None, names, None, {"adam": "x"}, 400, state)


def test_race_unticking_rebuilds_with_only_the_ticked_runs(rosenbrock_race):
    fewer = race.update(
        race.ID.optimizers,
        "rosenbrock",
        None,
        ["gd", "newton"],
        None,
        {},
        400,
        rosenbrock_race.state,
    )
    assert not isinstance(fewer.figure, Patch)
    paths = [t.name for t in fewer.figure.data if t.meta == "path"]
    assert len(paths) == 2 and not [p for p in paths if p.startswith("momentum")]
    assert [row["label"].split("(")[0] for row in fewer.spec["board"]["rows"]] == ["gd", "newton"]


def test_race_unticking_everything_clears_the_runs_and_ticking_again_rebuilds(rosenbrock_race):
    state = rosenbrock_race.state
    cleared = race.update(race.ID.optimizers, "rosenbrock", None, [], None, {}, 400, state)
    assert cleared.level == shared.INFO and "tick at least one" in cleared.message
    changed = assigned(cleared.figure)
    for i in range(3):
        for index in figures.run_indices(i, 3, loss_panel=True).values():
            assert changed[("data", index, "x")] == [] and changed[("data", index, "y")] == []
            assert changed[("data", index, "visible")] is False
    assert cleared.spec["board"]["rows"] == [] and cleared.state["names"] == []
    again = race.update(
        race.ID.optimizers, "rosenbrock", None, ["adam"], None, {}, 400, cleared.state
    )
    assert not isinstance(again.figure, Patch) and len(again.spec["board"]["rows"]) == 1


def test_race_says_when_newton_converges_somewhere_that_is_not_a_minimum():
    result = race.update(
        race.ID.surface, "himmelblau", None, ["gd", "newton"], None, None, 200, None
    )
    newton_row = result.spec["board"]["rows"][1]
    assert newton_row["reached"] is None and "maximum, not a minimum" in newton_row["final"]


def test_race_quiz_newton_jumps_onto_the_saddle():
    trajectory = ll.descend(ll.surface("saddle"), ll.optim.newton(), [-1.5, 0.05], 20)
    assert trajectory.converged
    assert torch.allclose(trajectory.path()[-1], torch.zeros(2, dtype=torch.float64), atol=1e-12)


def test_race_state_from_the_browser_is_checked(rosenbrock_race):
    with pytest.raises(LosslabError, match="damaged"):
        race.stored_minima([[1, "x"]])
    with pytest.raises(LosslabError, match="damaged"):
        race.stored_minima([[0.0, 0.0]] * (race.MAX_MINIMA + 1))


# -- curvature ----------------------------------------------------------------------------------


def test_curvature_opens_on_the_saddle_with_plus_and_minus_two():
    result = curvature.update(None, "saddle", None, None, None, None)
    text = str(result.readout)
    assert "\u03bb1 = -2" in text and "\u03bb2 = +2" in text and "saddle" in text
    assert result.picked == 0 and "1 saddle" in result.summary
    clicked = curvature.update(
        curvature.ID.click, "saddle", None, {"x": 0.5, "y": -1}, None, result.state
    )
    assert isinstance(clicked.figure, Patch) and clicked.picked is None
    changed = assigned(clicked.figure)
    point = changed[("data", figures.CURVATURE_POINT)]
    assert point["meta"] == "point" and list(point["x"]) == [0.5] and list(point["y"]) == [-1.0]
    assert changed[("data", figures.CURVATURE_FLAT)]["meta"] == "eigen-flat"
    assert len(changed[("layout", "annotations")]) == 4  # (0.5, -1) on x^2 - y^2: +2 and -2
    assert "not a critical point" in str(clicked.readout)


def test_curvature_quiz_himmelblau_has_four_minima_four_saddles_one_maximum():
    result = curvature.update(curvature.ID.surface, "himmelblau", None, None, None, None)
    kinds = [kind for *_, kind in result.state["points"]]
    assert (kinds.count("minimum"), kinds.count("saddle"), kinds.count("maximum")) == (4, 4, 1)
    picked = curvature.update(curvature.ID.picked, "himmelblau", None, None, 0, result.state)
    assert "minimum" in str(picked.readout)
    with pytest.raises(LosslabError):
        curvature.update(curvature.ID.picked, "himmelblau", None, None, 99, result.state)


def test_curvature_signed_eigenvalues():
    assert curvature.signed(2.0) == "+2" and curvature.signed(-2.0) == "-2"
    assert curvature.signed(-0.0) == "0"


# -- noise and basins ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy():
    return noise.update(None, "himmelblau", None, None, -2, noise.NOISE, noise.SEED, 300, None)


def test_noise_default_carries_sgd_into_another_basin(noisy):
    text = noisy.spec["board"]["banner"]["text"]
    assert "Batch GD ends near the minimum (3, 2)" in text
    assert "SGD ends near the minimum (-2.81, 3.13)" in text
    assert [t.meta for t in noisy.basins.data].count("basins") == 2


def test_noise_click_patches_without_recomputing_basins(noisy):
    result = noise.update(
        noise.ID.click, "himmelblau", None, {"x": 1, "y": 1}, -2, 25, 0, 300, noisy.state
    )
    assert isinstance(result.figure, Patch) and isinstance(result.basins, Patch)
    assert result.shares is no_update


def test_noise_quiz_no_noise_is_gradient_descent_and_seeds_repeat():
    h = ll.surface("himmelblau")
    clean = ll.descend(h, ll.optim.gd(0.01), [0.0, 0.0], 100)
    silent = ll.descend(h, ll.optim.sgd_noise(0.01, noise=0.0, seed=3), [0.0, 0.0], 100)
    assert torch.equal(clean.params, silent.params)
    a, b = (
        ll.descend(h, ll.optim.sgd_noise(0.01, noise=25.0, seed=3), [0.0, 0.0], 100) for _ in "ab"
    )
    assert torch.equal(a.params, b.params)


def test_noise_refuses_bad_controls(noisy):
    for args in ((-2, 500, 0, 300), (-2, 25, -5, 300), (-2, 25, 0, 0), ("lr", 25, 0, 300)):
        with pytest.raises(LosslabError):
            noise.update(noise.ID.lr, "himmelblau", None, None, *args, noisy.state)


def test_noise_errors_quote_what_was_typed(noisy):
    cases = [
        ("abc", 300, "Seed must be a whole number from 0 to 2147483647; got 'abc'."),
        (None, 300, "Seed must be a whole number from 0 to 2147483647; got nothing."),
        ("0", "1e9", "Steps must be a whole number from 1 to 1000; got '1e9'."),
    ]
    for seed, steps, text in cases:
        with pytest.raises(LosslabError) as caught:
            noise.update(noise.ID.seed, "himmelblau", None, None, -2, 25, seed, steps, noisy.state)
        assert str(caught.value) == text


def test_a_one_variable_formula_races_and_the_message_says_how_it_is_read():
    result = race.update(race.ID.apply, None, "x**2", ["gd", "adam"], None, None, 50, None)
    assert result.surface == parse.EXPRESSION
    assert result.message[0].children.endswith(
        "x**2 does not depend on y: shown as a surface constant along y."
    )
    assert result.rates["adam"] == np.log10(0.05).round(4)  # off the table: ADAPTIVE_LR


def test_settled_too_copies_the_slider_value_into_its_store():
    wrapped = shared.settled_too(lambda *a: ("figure", -1.5, "message"), 1)
    assert wrapped() == ("figure", -1.5, "message", -1.5)


# -- questions ----------------------------------------------------------------------------------


def test_every_page_has_two_or_three_questions_with_one_right_answer():
    for page in PAGES:
        assert 2 <= len(page.questions) <= 3, page.key
        for question in page.questions:
            assert sum(o.correct for o in question.options) == 1
            assert all(o.why for o in question.options)


def test_grade_explains_right_and_wrong_and_tolerates_junk():
    question = PAGES[0].questions
    right = next(i for i, o in enumerate(question[0].options) if o.correct)
    assert grade(question, 0, right).correct is True
    wrong = grade(question, 0, (right + 1) % 3)
    assert wrong.correct is False and wrong.text.startswith("Not quite.")
    for index, choice in ((7, 0), ("0", 0), (0, 9), (0, "1"), (0, True)):
        assert grade(question, index, choice).correct is None
    with pytest.raises(ValueError):
        Question("two right?", ())
