"""descend: shapes, batches equal single runs, divergence and convergence marking."""

import pytest
import torch

import losslab as ll
from losslab import optim


def test_single_run_shapes_and_metadata():
    trajectory = ll.descend(ll.surface("rosenbrock"), optim.momentum(1e-3), [-1.5, 2.0], 300)
    assert trajectory.params.shape == (301, 2)
    assert trajectory.losses.shape == trajectory.grad_norms.shape == (301,)
    assert trajectory.optimizer == "momentum" and trajectory.objective == "rosenbrock"
    assert trajectory.hyperparameters == {"lr": 1e-3, "beta": 0.9}
    torch.testing.assert_close(trajectory.losses, ll.surface("rosenbrock")(trajectory.params))
    assert trajectory.losses[-1] < trajectory.losses[0]


def test_batched_starts_equal_single_runs():
    surface = ll.surface("himmelblau")
    starts = torch.tensor([[0.0, 0.0], [-4.0, 4.0], [1.0, -3.0], [4.5, 4.5]], dtype=torch.float64)
    for optimizer in [
        optim.gd(0.01),
        optim.adam(0.1),
        optim.newton(),
        optim.nesterov(0.005),
        optim.sgd_noise(0.01, noise=3.0, seed=4),
    ]:
        batch = ll.descend(surface, optimizer, starts, 120)
        rows = max(batch.stopped_at) + 1  # recording ends with the batch's last run
        assert batch.params.shape == (rows, 4, 2) and batch.losses.shape == (rows, 4)
        for i, start in enumerate(starts):
            alone = ll.descend(surface, optimizer, start, 120)
            k = len(alone.params)
            assert k == alone.stopped_at + 1  # a single run ends where it stopped
            torch.testing.assert_close(batch.params[:k, i], alone.params, rtol=1e-12, atol=1e-12)
            assert (batch.params[k:, i] == alone.params[-1]).all()  # then repeats its last point
            assert batch.status[i] == alone.status and batch.stopped_at[i] == alone.stopped_at


def test_divergence_stops_the_run_and_keeps_only_finite_points():
    # On x^2 + y^2, gd with lr > 1 multiplies the distance by |1 - 2 lr| = 2 each step.
    trajectory = ll.descend(ll.surface("bowl"), optim.gd(1.5), [1.0, 1.0], 100)
    assert trajectory.status == "diverged" and trajectory.diverged
    bound = ll.surface("bowl").divergence_bound  # 500: the point 2^k leaves it at k = 9
    assert trajectory.stopped_at == 8
    assert torch.isfinite(trajectory.params).all() and torch.isfinite(trajectory.losses).all()
    assert trajectory.path().abs().max() <= bound
    assert (trajectory.params[8:] == trajectory.params[8]).all()


def test_non_finite_values_mark_divergence():
    surface = ll.surface("log(x)")  # leaves the domain when a step crosses zero
    trajectory = ll.descend(surface, optim.gd(5.0), [0.5], 10)
    assert trajectory.status == "diverged" and trajectory.stopped_at == 0


def test_convergence_is_reported_and_frozen():
    trajectory = ll.descend(ll.surface("bowl"), optim.gd(0.25), [3.0, -1.0], 500, tol=1e-10)
    assert trajectory.status == "converged" and trajectory.converged
    k = trajectory.stopped_at
    assert 0 < k < 500 and trajectory.grad_norms[k] <= 1e-10 < trajectory.grad_norms[k - 1]
    assert (trajectory.params[k:] == trajectory.params[k]).all()
    assert trajectory.path().shape == (k + 1, 2)


def test_batches_mix_statuses():
    starts = [[1.0, 1.0], [1e-12, 0.0]]
    trajectory = ll.descend(ll.surface("bowl"), optim.gd(0.1), starts, 20, tol=1e-9)
    assert trajectory.status == ("max_steps", "converged")
    assert trajectory.run(1).stopped_at == 0 and len(trajectory.runs()) == 2


def test_a_batch_reports_every_run_not_run_0():
    # Run 0 stops at max_steps (gd 0.01 is slow), run 1 diverges (gd 1.0 overshoots the steep
    # axis), run 2 starts at the minimum and converges: one batch assembled from a race, whose
    # per-run facts are tensors, each entry equal to that run alone.
    surface = ll.surface("stretched_bowl")
    starts = [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
    runs = ll.race(surface, [optim.gd(0.01), optim.gd(1.0)], starts, 400)
    rows = len(runs[0].params)  # gd(1.0) stopped early: its rows end there, padded here

    def column(name, run, i):
        values = getattr(runs[run], name)[:, i]
        return torch.cat([values, values[-1:].expand(rows - len(values), *values.shape[1:])])

    batch = ll.Trajectory(
        *(
            torch.stack([column(name, 0, 0), column(name, 1, 1), column(name, 0, 2)], 1)
            for name in ("params", "losses", "grad_norms")
        ),
        (runs[0].status[0], runs[1].status[1], runs[0].status[2]),
        (runs[0].stopped_at[0], runs[1].stopped_at[1], runs[0].stopped_at[2]),
        "gd",
    )
    assert batch.status == ("max_steps", "diverged", "converged")
    assert batch.diverged.tolist() == [False, True, False]
    assert batch.converged.tolist() == [False, False, True]
    assert batch.final_loss.tolist() == [run.final_loss for run in batch.runs()]
    assert [run.diverged for run in batch.runs()] == [False, True, False]
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(batch.diverged)  # `if batch.diverged:` cannot silently mean run 0
    with pytest.raises(ll.LosslabError, match=r"run\(i\)\.path\(\)"):
        batch.path()
    assert batch.run(1).path().shape == (batch.stopped_at[1] + 1, 2)


def test_one_dimensional_double_well_finds_the_basin_of_its_start():
    surface = ll.surface("double_well")
    left = ll.descend(surface, optim.gd(0.05), [-0.5], 500)
    right = ll.descend(surface, optim.gd(0.05), [2.2], 500)
    assert left.params[-1].item() == pytest.approx(surface.minima[0].item(), abs=1e-6)
    assert right.params[-1].item() == pytest.approx(surface.minima[1].item(), abs=1e-6)


@pytest.mark.parametrize(
    ("start", "n_steps", "message"),
    [
        ([1.0, 2.0, 3.0], 10, "shape"),
        ([[1.0], [2.0]], 10, "shape"),
        ([float("nan"), 0.0], 10, "nan"),
        ([1.0, 2.0], 0, "n_steps == 0"),
    ],
)
def test_bad_arguments_raise_one_clear_error(start, n_steps, message):
    with pytest.raises(ll.LosslabError, match=message):
        ll.descend(ll.surface("bowl"), optim.gd(0.1), start, n_steps)


def test_trajectory_round_trips_through_json(tmp_path):
    trajectory = ll.descend(ll.surface("himmelblau"), optim.adam(0.1), [[0.0, 0.0], [1, 1]], 30)
    path = trajectory.save(tmp_path / "run.json")
    loaded = ll.Trajectory.load(path)
    assert torch.equal(loaded.params, trajectory.params)
    assert loaded.status == trajectory.status and loaded.hyperparameters["betas"] == (0.9, 0.999)
    assert isinstance(ll.load_result(path), ll.Trajectory)


def test_race_equals_separate_descents():
    surface = ll.surface("rosenbrock")
    optimizers = [optim.gd(1e-3), optim.momentum(1e-3), optim.newton(), optim.adam(0.05)]
    raced = ll.race(surface, optimizers, [-1.5, 2.0], 150)
    assert [t.optimizer for t in raced] == ["gd", "momentum", "newton", "adam"]
    for trajectory, optimizer in zip(raced, optimizers, strict=True):
        alone = ll.descend(surface, optimizer, [-1.5, 2.0], 150)
        torch.testing.assert_close(trajectory.params, alone.params, rtol=1e-12, atol=1e-12)
        assert trajectory.status == alone.status and trajectory.stopped_at == alone.stopped_at
    with pytest.raises(ll.LosslabError, match="optimizers is empty"):
        ll.race(surface, [], [0.0, 0.0], 10)


def test_race_returns_a_race_that_behaves_like_the_list_of_trajectories(tmp_path):
    surface = ll.surface("rosenbrock")
    optimizers = [optim.gd(1e-3), optim.newton()]
    raced = ll.race(surface, optimizers, [-1.5, 2.0], 20)
    assert isinstance(raced, ll.Race)
    assert (raced.objective, raced.formula) == ("rosenbrock", surface.formula)
    assert raced.start == (-1.5, 2.0) and raced.n_steps == 20
    gd, newton = raced  # unpacking, len, indexing and iteration as on a list
    assert len(raced) == 2 and raced[0] is gd and raced[-1] is newton
    assert list(raced) == [gd, newton] and [t.optimizer for t in raced] == ["gd", "newton"]
    for suffix in (".json", ".h5"):  # what the library hands back is what a file holds
        loaded = ll.load_result(raced.save(tmp_path / f"race{suffix}"))
        assert isinstance(loaded, ll.Race) and loaded.start == raced.start
        for a, b in zip(loaded, raced, strict=True):
            assert torch.equal(a.params, b.params) and a.status == b.status


def test_a_race_from_a_batch_of_starts_keeps_every_start(tmp_path):
    starts = [[1.0, 1.0], [0.5, -2.0]]
    raced = ll.race(ll.surface("bowl"), [optim.gd(0.1)], starts, 5)
    assert raced.start == ((1.0, 1.0), (0.5, -2.0))
    assert raced[0].params.shape == (6, 2, 2)
    for suffix in (".json", ".h5"):
        loaded = ll.load_result(raced.save(tmp_path / f"batch{suffix}"))
        assert loaded.start == raced.start
        assert torch.equal(loaded[0].params, raced[0].params)
