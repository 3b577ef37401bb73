"""losslab.diagnose: why a run ended, on surfaces where the answer is known."""

from __future__ import annotations

import re

import pytest
import torch

import losslab as ll
from losslab import optim
from losslab.errors import LosslabError

DUST = re.compile(r"e-(1[3-9]|[2-9]\d)")  # 1e-13 and smaller: float dust, never shown


def run(name, optimizer, start, n_steps, **kwargs):
    objective = ll.surface(name)
    trajectory = ll.descend(objective, optimizer, start, n_steps, **kwargs)
    return trajectory, ll.diagnose(objective, trajectory)


def test_gd_on_the_bowl_converges_to_a_minimum():
    trajectory, diagnosis = run("bowl", optim.gd(lr=0.1), [1.0, 2.0], 500)
    assert trajectory.status == "converged"
    assert diagnosis.kind == "minimum"
    assert diagnosis.step == trajectory.stopped_at
    assert torch.allclose(diagnosis.point, trajectory.params[-1])
    assert diagnosis.loss == pytest.approx(float(trajectory.losses[-1]))
    assert diagnosis.grad_norm == pytest.approx(float(trajectory.grad_norms[-1]))
    assert torch.allclose(diagnosis.eigenvalues, torch.tensor([2.0, 2.0], dtype=torch.float64))
    assert "minimum" in diagnosis.reason


def test_newton_on_the_saddle_is_named_a_saddle_not_a_minimum():
    # The issue: the explorer showed a green "converged in 1 steps at (0, 0)".
    trajectory, diagnosis = run("saddle", optim.newton(), [1.0, 0.0], 50)
    assert trajectory.status == "converged"
    assert diagnosis.kind == "saddle"
    assert "saddle, not a minimum" in diagnosis.reason
    assert "1 step " in diagnosis.reason and "(0, 0)" in diagnosis.reason
    assert torch.allclose(diagnosis.eigenvalues, torch.tensor([-2.0, 2.0], dtype=torch.float64))


def test_newton_on_a_maximum_is_named_a_maximum():
    trajectory, diagnosis = run("-(x**2 + y**2)", optim.newton(), [1.0, 2.0], 50)
    assert trajectory.status == "converged"
    assert diagnosis.kind == "maximum"
    assert "maximum, not a minimum" in diagnosis.reason


def test_newton_on_the_monkey_saddle_probes_the_flat_directions():
    # All eigenvalues tend to 0 at the monkey saddle's centre; the signs still say saddle.
    _, diagnosis = run("monkey_saddle", optim.newton(), [0.5, 0.0], 100)
    assert diagnosis.kind == "saddle"


def test_gd_above_two_over_lambda_max_overshoots_and_names_the_bound():
    # The bowl's Hessian is 2 I: lambda_max = 2, so gd is stable only for lr < 2/2 = 1.
    trajectory, diagnosis = run("bowl", optim.gd(lr=1.1), [1.0, 2.0], 500)
    assert trajectory.status == "diverged"
    assert diagnosis.kind == "overshoot"
    assert "lower lr below 2/lambda_max = 1." in diagnosis.reason
    assert "lr = 1.1" in diagnosis.reason


def test_overshoot_bound_uses_the_steepest_direction():
    # 80 x^2 + y^2: lambda_max = 160, bound 2/160 = 0.0125 (the example number).
    _, diagnosis = run("80*x**2 + y**2", optim.gd(lr=0.013), [1.0, 1.0], 2000)
    assert diagnosis.kind == "overshoot"
    assert "2/lambda_max = 0.0125" in diagnosis.reason


def test_gd_off_the_saddle_axis_escapes_and_is_not_told_to_lower_lr():
    # The issue: "with lr = 0.05 every step overshot further" was wrong: it slides off.
    trajectory, diagnosis = run("saddle", optim.gd(lr=0.05), [1.0, 0.5], 500)
    assert trajectory.status == "diverged"
    assert diagnosis.kind == "escape"
    assert "negative curvature" in diagnosis.reason
    assert "a lower lr will not fix it" in diagnosis.reason
    assert "lower lr below" not in diagnosis.reason and "overshot" not in diagnosis.reason


def test_an_unbounded_direction_without_negative_curvature_escapes():
    # A plane tilted in x: the Hessian is 0 everywhere, gd walks off in a straight line.
    _, diagnosis = run("x + 0*y", optim.gd(lr=0.5), [0.0, 0.0], 1000)
    assert diagnosis.kind == "escape"
    assert "a direction where the loss keeps falling" in diagnosis.reason


def test_a_plateau_stalls():
    trajectory, diagnosis = run("tanh(x)**2 + tanh(y)**2", optim.gd(lr=0.01), [6.0, 6.0], 50)
    assert trajectory.status == "max_steps"
    assert diagnosis.kind == "stalled"
    assert "plateau" in diagnosis.reason


def test_a_plateau_that_descend_calls_converged_is_stalled():
    # Far out on the built-in plateau the gradient (~1e-11) is below tol at the start.
    trajectory, diagnosis = run("plateau", optim.gd(lr=0.1), [6.0, 6.0], 50)
    assert trajectory.status == "converged"
    assert diagnosis.kind == "stalled"
    assert "tol = 1e-08" in diagnosis.reason


def test_rosenbrock_with_too_few_steps_is_still_running():
    trajectory, diagnosis = run("rosenbrock", optim.gd(lr=1e-3), [-1.5, 2.0], 50)
    assert trajectory.status == "max_steps"
    assert diagnosis.kind == "running"
    assert "more steps" in diagnosis.reason


def test_a_batch_gives_one_diagnosis_per_start_in_order():
    objective = ll.surface("saddle")
    trajectory = ll.descend(objective, optim.gd(lr=0.05), [[1.0, 0.0], [1.0, 0.5]], 500)
    diagnoses = ll.diagnose(objective, trajectory)
    assert isinstance(diagnoses, tuple) and len(diagnoses) == 2
    assert [d.kind for d in diagnoses] == ["saddle", "escape"]
    assert diagnoses[1].step == trajectory.stopped_at[1]
    alone = [ll.diagnose(objective, run) for run in trajectory.runs()]
    assert [(d.kind, d.reason, d.step) for d in diagnoses] == [
        (d.kind, d.reason, d.step) for d in alone
    ]


def test_save_and_load_round_trip(tmp_path):
    _, diagnosis = run("saddle", optim.newton(), [1.0, 0.0], 50)
    loaded = ll.Diagnosis.load(diagnosis.save(tmp_path / "diagnosis.json"))
    assert loaded.kind == diagnosis.kind and loaded.reason == diagnosis.reason
    assert loaded.step == diagnosis.step and loaded.loss == diagnosis.loss
    assert torch.equal(loaded.point, diagnosis.point)
    assert torch.equal(loaded.eigenvalues, diagnosis.eigenvalues)
    assert isinstance(ll.load_result(tmp_path / "diagnosis.json"), ll.Diagnosis)


def test_float_dust_prints_as_zero():
    # x starts at 2.8e-16 and shrinks; y sits on the tanh plateau: "(0, 6)", never "2.8e-16".
    trajectory, diagnosis = run("tanh(x)**2 + tanh(y)**2", optim.gd(lr=0.01), [2.8e-16, 6.0], 50)
    assert 0 < abs(float(trajectory.params[-1, 0])) < 1e-15  # the dust is really there
    assert diagnosis.kind == "stalled"
    assert "(0, 6)" in diagnosis.reason
    assert not DUST.search(diagnosis.reason), diagnosis.reason


def test_many_parameters_skip_the_eigenvalues(tmp_path):
    class Quadratic(ll.Objective):
        name, n_params = "quadratic", 100

        def __call__(self, params):
            return (params**2).sum(-1)

    objective = Quadratic()
    trajectory = ll.descend(objective, optim.gd(lr=0.1), torch.ones(100), 500)
    diagnosis = ll.diagnose(objective, trajectory)
    assert diagnosis.eigenvalues is None
    assert diagnosis.kind == "minimum"
    assert "not checked" in diagnosis.reason
    for suffix in (".json", ".h5"):
        loaded = ll.load_result(diagnosis.save(tmp_path / f"many{suffix}"))
        assert loaded.eigenvalues is None and torch.equal(loaded.point, diagnosis.point)


def test_bad_input_is_one_line():
    objective = ll.surface("bowl")
    trajectory = ll.descend(ll.surface("parabola"), optim.gd(lr=0.1), [1.0], 5)
    with pytest.raises(LosslabError, match="1 parameter"):
        ll.diagnose(objective, trajectory)
    with pytest.raises(LosslabError, match="give a Trajectory"):
        ll.diagnose(objective, [1.0, 2.0])


def test_overshoot_with_momentum_gives_gd_s_bound_only_as_a_reference():
    # Momentum is stable beyond gd's lr < 2/lambda_max: the bound is named, not prescribed.
    _, diagnosis = run("bowl", optim.momentum(lr=2.5), [1.0, 2.0], 500)
    assert diagnosis.kind == "overshoot"
    assert "plain gd is stable for lr < 2/lambda_max = 1)" in diagnosis.reason
    assert "lower lr below" not in diagnosis.reason


def test_gd_on_the_monkey_saddle_escapes_not_overshoots():
    trajectory, diagnosis = run("monkey_saddle", optim.gd(lr=0.01), [0.5, 0.5], 500)
    assert trajectory.status == "diverged"
    assert diagnosis.kind == "escape"
    assert "a lower lr will not fix it" in diagnosis.reason and "lower lr below" not in (
        diagnosis.reason
    )
    # row stopped_at is the last finite point; the step after it is the one that left
    assert f"Diverged at step {trajectory.stopped_at + 1} " in diagnosis.reason
    assert diagnosis.label == f"diverged: slid away ({trajectory.stopped_at + 1} steps)"


def test_gd_sliding_down_exp_xy_is_never_called_an_overshoot():
    # exp(x*y) from (1, 0.5): past the saddle's side into xy < 0, where the loss falls towards
    # its infimum 0 along x**2 - y**2 = const; nothing oscillates, the loss never blows up.
    trajectory, diagnosis = run("exp(x*y)", optim.gd(lr=0.02), [1.0, 0.5], 3000)
    assert trajectory.status == "max_steps"
    assert diagnosis.kind == "running"
    assert "overshoot" not in diagnosis.reason and "lower lr" not in diagnosis.reason
    x, y = diagnosis.point.tolist()
    assert x * y < 0 and x**2 - y**2 == pytest.approx(0.75, abs=0.05)


def test_gd_on_exp_xy_along_its_attracting_diagonal_converges_to_the_saddle():
    _, diagnosis = run("exp(x*y)", optim.gd(lr=0.2), [1.0, 1.0], 500)
    assert diagnosis.kind == "saddle"
    assert torch.allclose(diagnosis.eigenvalues, torch.tensor([-1.0, 1.0], dtype=torch.float64))


def test_newton_on_exp_xy_is_named_a_saddle():
    _, diagnosis = run("exp(x*y)", optim.newton(), [0.5, 0.3], 50)
    assert diagnosis.kind == "saddle" and "saddle, not a minimum" in diagnosis.reason


def test_a_jump_onto_float_flat_ground_is_not_a_minimum():
    # gd at lr 20 on exp(x*y) from (-1, 1) lands at (-8.36, 8.36) in one step: loss 5e-31,
    # gradient and Hessian ~1e-29, every eigenvalue "zero"; probes do not move the loss.
    trajectory, diagnosis = run("exp(x*y)", optim.gd(lr=20.0), [-1.0, 1.0], 50)
    assert trajectory.status == "converged" and diagnosis.loss < 1e-20
    assert diagnosis.kind == "stalled"
    assert "not a confirmed minimum" in diagnosis.reason


def test_a_quartic_minimum_with_zero_curvature_is_still_a_minimum():
    # x**4 + y**4: Newton's steps shrink x by 2/3 each; after 60 (tol 0) the eigenvalues 12 x**2
    # are ~1e-20, zero by inspect's rule; the probe at 1e-3 moves the loss by only 1e-12, the
    # one at 1e-2 sees it rise on both sides.
    _, diagnosis = run("x**4 + y**4", optim.newton(), [1.0, 1.0], 60, tol=0.0)
    assert float(diagnosis.eigenvalues.abs().max()) < 1e-8
    assert diagnosis.kind == "minimum"


def test_labels_are_short_and_name_the_kind():
    _, saddle = run("saddle", optim.newton(), [1.0, 0.0], 50)
    assert saddle.label == "at a saddle, not a minimum (1 step)"
    _, overshoot = run("bowl", optim.gd(lr=1.1), [1.0, 2.0], 500)
    assert overshoot.label.startswith("diverged: overshot (")


def test_running_on_negative_curvature_does_not_promise_a_minimum():
    # gd from (0, 2.5) on the saddle after 400 steps: still moving, the Hessian is diag(2, -2)
    _, diagnosis = run("saddle", optim.gd(lr=1e-3), [0.0, 2.5], 400)
    assert diagnosis.kind == "running"
    assert "curves down" in diagnosis.reason and "give it more steps" not in diagnosis.reason


def test_gd_reaching_the_saddle_along_its_axis_gets_gradient_advice():
    _, diagnosis = run("saddle", optim.gd(lr=0.1), [1.0, 0.0], 500)
    assert diagnosis.kind == "saddle"
    assert "start a little off that line" in diagnosis.reason
    assert "Newton" not in diagnosis.reason


def test_a_race_gets_one_diagnosis_per_optimizer():
    objective = ll.surface("saddle")
    raced = ll.race(objective, [optim.gd(lr=0.05), optim.newton()], [-1.5, 0.05], 300)
    assert [d.kind for d in ll.diagnose(objective, raced)] == ["escape", "saddle"]


def test_noisy_sgd_that_jitters_is_told_more_steps_will_not_settle_it():
    # Himmelblau from the origin, noise 25, seed 0: SGD is carried into (-2.81, 3.13)'s basin
    # and jitters there (the noise page's opening picture).
    _, diagnosis = run("himmelblau", optim.sgd_noise(0.01, noise=25.0, seed=0), [0.0, 0.0], 300)
    assert diagnosis.kind == "running"
    assert "jitters around (-2.8" in diagnosis.reason
    assert "more steps will not settle it" in diagnosis.reason


def test_overshoot_from_a_dome_names_the_bound_at_the_nearest_minimum():
    # Himmelblau's origin curves down (Hessian diag(-42, -26)); at lr 0.05 gd is thrown uphill
    # within a few steps. The bound comes from the minimum (3, 2): lambda_max 82.28, 2/82.28.
    trajectory, diagnosis = run("himmelblau", optim.gd(lr=0.05), [0.0, 0.0], 300)
    assert trajectory.status == "diverged" and diagnosis.kind == "overshoot"
    assert "near the minimum (3, 2) only for lr < 2/lambda_max = 0.02431" in diagnosis.reason


def test_momentum_finishing_slowly_at_a_minimum_is_a_minimum_not_a_plateau():
    # momentum at lr 0.1 on the bowl ends with |g| ~1.4e-6 (above GRAD_TOL) and steps of
    # 2.6e-7: it has stopped at the minimum, the Newton step to (0, 0) is 7e-7 long.
    trajectory, diagnosis = run("bowl", optim.momentum(lr=0.1), [-4.0, 3.0], 300)
    assert trajectory.status == "max_steps" and diagnosis.grad_norm > 1e-6
    assert diagnosis.kind == "minimum"


def test_newton_where_the_hessian_vanishes_is_stuck_not_on_a_plateau():
    # abs(x) + abs(y): the Hessian is 0 off the axes, Newton's step H^+ g is 0, |g| = sqrt(2).
    _, diagnosis = run("abs(x) + abs(y)", optim.newton(), [-2.4, -2.4], 50)
    assert diagnosis.kind == "stalled"
    assert diagnosis.reason.startswith("Stuck at (-2.4, -2.4)")
    assert "curvature, which is zero or singular" in diagnosis.reason
    assert "plateau" not in diagnosis.reason


def test_a_minimum_along_a_flat_direction_is_not_called_strict():
    # relu(x) + y**2 is 0 on the whole half-line x < 0, y = 0: a minimum, flat along x.
    _, diagnosis = run("relu(x) + y**2", optim.newton(), [-2.4, 1.0], 20)
    assert diagnosis.kind == "minimum"
    assert "a minimum with a flat bottom" in diagnosis.reason
    assert "every direction" not in diagnosis.reason
