"""What the pages say when a run ends: the library's diagnosis (ll.diagnose), in the colour of
its kind (green only for a minimum), through the pages' plain callback functions."""

import numpy as np
import pytest

import losslab as ll
from losslab.web.pages import _shared as shared
from losslab.web.pages import descent_1d, explorer, noise, race


def explore(trigger=None, *, surface="stretched_bowl", optimizer="gd", lr=-1.0458, state=None):
    return explorer.update(trigger, surface, None, "contour", [], None, lr, optimizer, 300, state)


def lines(message) -> list[str]:
    """A race or noise message: the heading, then one line per run."""
    return [line.children for line in message]


@pytest.fixture(scope="module")
def saddle():
    return explore(explorer.ID.surface, surface="saddle")


def test_explorer_gd_sliding_off_the_saddle_escapes_and_is_not_told_to_lower_lr(saddle):
    # The issue: "Diverged at step 88: with lr = 0.05 every step overshot further".
    assert saddle.level == shared.ERROR
    assert "Diverged at step 88 by escaping" in saddle.message
    assert "negative curvature" in saddle.message and "a lower lr will not fix it" in saddle.message
    assert "overshot" not in saddle.message and "lower lr below" not in saddle.message


def test_explorer_monkey_saddle_escapes_too():
    result = explore(explorer.ID.surface, surface="monkey_saddle")
    assert result.level == shared.ERROR and "by escaping" in result.message
    assert "overshot" not in result.message


def test_explorer_newton_at_the_saddle_is_not_a_green_convergence(saddle):
    # The issue: a green "converged in 1 steps at (0, 0)".
    result = explore(
        explorer.ID.optimizer, surface="saddle", optimizer="newton", state=saddle.state
    )
    assert result.level == shared.WARN
    assert "Converged in 1 step at (0, 0)" in result.message
    assert "saddle, not a minimum" in result.message


def test_explorer_newton_at_a_maximum_is_named_a_maximum():
    typed = explorer.update(
        explorer.ID.apply, "expression", "-(x**2 + y**2)", "contour", [], None, -2, "gd", 300, None
    )
    result = explore(explorer.ID.optimizer, optimizer="newton", state=typed.state)
    assert result.level == shared.WARN and "maximum, not a minimum" in result.message


def test_explorer_overshoot_gives_the_bound_as_a_number():
    opening = explore()
    result = explore(explorer.ID.lr, lr=np.log10(0.12), state=opening.state)
    assert result.level == shared.ERROR
    assert "by overshooting" in result.message
    assert "lower lr below 2/lambda_max = 0.1" in result.message


def test_only_a_minimum_is_green():
    assert [k for k, level in shared.LEVELS.items() if level == shared.OK] == ["minimum"]
    assert set(shared.LEVELS) == set(ll.diagnosis.KINDS)
    objective = ll.surface("bowl")
    found = ll.diagnose(objective, ll.descend(objective, ll.optim.gd(0.1), [1.0, 1.0], 300))
    message = shared.diagnosis_message(found, "gd(lr=0.1)")
    assert message.level == shared.OK and message.text == f"gd(lr=0.1): {found.reason}"


@pytest.fixture(scope="module")
def saddle_race():
    return race.update(
        race.ID.surface, "saddle", None, ["gd", "momentum", "newton"], None, None, 400, None
    )


def test_race_names_each_optimizers_ending(saddle_race):
    heading, gd, momentum, newton = lines(saddle_race.message)
    assert heading.startswith("Race from (-1.5, 0.05)")
    assert gd.startswith("gd(lr=0.05): Diverged at step 88 by escaping")
    assert momentum.startswith("momentum(") and "by escaping" in momentum
    assert newton.startswith("newton(") and "saddle, not a minimum" in newton
    assert saddle_race.level == shared.ERROR  # the most serious of the three
    finals = [row["final"] for row in saddle_race.spec["board"]["rows"]]
    assert finals == [
        "diverged: slid away (88 steps)",
        "diverged: slid away (32 steps)",
        "at a saddle, not a minimum (1 step)",
    ]


def test_race_where_every_run_finds_a_minimum_is_green():
    result = race.update(race.ID.surface, "bowl", None, ["gd", "newton"], None, None, 400, None)
    assert result.level == shared.OK
    assert all("so this is a minimum" in line for line in lines(result.message)[1:])


def test_race_overshoot_and_dust_free_start(saddle_race):
    click = {"x": 2.84e-16, "y": 2.5}  # what a click on the axis can send
    moved = race.update(
        race.ID.click,
        "saddle",
        None,
        ["gd", "momentum", "newton"],
        click,
        None,
        400,
        saddle_race.state,
    )
    assert lines(moved.message)[0].startswith("Race from (0, 2.5),")
    steep = race.update(race.ID.surface, "stretched_bowl", None, ["gd"], None, None, 400, None)
    hot = race.update(
        race.ID.rates,
        "stretched_bowl",
        None,
        ["gd"],
        None,
        {"gd": np.log10(0.15)},
        400,
        steep.state,
    )
    assert "lower lr below 2/lambda_max = 0.1" in lines(hot.message)[1]
    assert hot.spec["board"]["rows"][0]["final"].startswith("diverged: overshot")


def test_noise_lines_say_sgd_jitters_and_divergence_is_an_overshoot():
    opening = noise.update(None, "himmelblau", None, None, -2, noise.NOISE, noise.SEED, 300, None)
    heading, gd, sgd = lines(opening.message)
    assert "so this is a minimum" in gd and "more steps will not settle it" in sgd
    hot = noise.update(noise.ID.lr, "himmelblau", None, None, -0.5, 25, 0, 300, opening.state)
    assert hot.level == shared.ERROR
    assert hot.spec["board"]["banner"]["text"] == (
        "Batch GD ends diverged (overshot); SGD ends diverged (overshot)."
    )


def stop(lr: float) -> int:
    """The 1-D slider's stop (an index into its round rates) for `lr`."""
    return descent_1d.RATES.index(lr)


def test_descent_1d_end_messages_follow_the_diagnosis():
    state = {"start": 2.2, "step": 10_000, "revision": 0}
    end = descent_1d.update(descent_1d.ID.state, None, stop(0.9), state)
    assert end.level == shared.ERROR and "by overshooting" in end.message
    assert "lower lr below 2/lambda_max = 0.156" in end.message  # f''(2.2) = 12.82
    slow = descent_1d.update(descent_1d.ID.state, None, stop(0.001), state)
    assert slow.level == shared.INFO and "raise the learning rate" in slow.message
    good = descent_1d.update(descent_1d.ID.state, None, stop(0.05), state)
    assert good.level == shared.OK and "f''(x) = 3.16 > 0" in good.message


def test_scoreboard_values_carry_no_float_dust():
    from losslab.plot import _runs
    from losslab.web import animation

    objective = ll.surface("bowl")
    (run,) = _runs.runs(ll.descend(objective, ll.optim.gd(0.1), [1.0, 1.0], 5))
    row = animation.board_row(run, [[2.84e-16, -1.5e-13, 0.25], [1e-11, 3.0, -0.0]])
    assert row["values"] == [[0.0, 0.0, 0.25], [1e-11, 3.0, 0.0]]


def test_race_legend_and_end_hover_name_the_saddle(saddle_race):
    names = [trace.name for trace in saddle_race.figure.data if trace.name]
    assert "newton(lr=1, damping=0): at a saddle, not a minimum (1 step)" in names
    assert "converged in 1 step" not in names  # the bare status never stands for a saddle
    assert "gd(lr=0.05): diverged: slid away (88 steps)" in names


def test_descent_1d_board_ends_with_the_diagnosis():
    state = {"start": 2.2, "step": 10_000, "revision": 0}
    end = descent_1d.update(descent_1d.ID.state, None, stop(0.9), state)
    (row,) = end.spec["board"]["rows"]
    assert row["final"].startswith("diverged: overshot")
