"""Each command prints what it promises and writes what --out asks for."""

from __future__ import annotations

import json

import pytest
import torch
from clitools import has_magic, invoke

import losslab
from losslab import CriticalPoint, Trajectory
from losslab.cli.demo import GALLERY
from losslab.curvature import CriticalPoints

FIGURES = (".png", ".svg", ".pdf", ".html")


def ok(*args):
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    return result


# -- global -------------------------------------------------------------------------------------


def test_version():
    assert ok("--version").stdout.strip() == f"losslab {losslab.__version__}"


def test_no_arguments_shows_the_commands():
    result = invoke()
    assert "Traceback" not in result.output
    for command in ("surfaces", "race", "descend", "inspect", "critical", "basins", "demo"):
        assert command in result.output


@pytest.mark.parametrize("command", ["race", "descend", "inspect", "critical", "basins", "demo"])
def test_every_command_has_help(command):
    assert "Usage" in ok(command, "--help").stdout


# -- surfaces -----------------------------------------------------------------------------------


def test_surfaces_lists_every_builtin_with_its_formula():
    out = ok("surfaces").stdout
    for name in losslab.surfaces():
        assert name in out
    assert "(x^2 + y - 11)^2 + (x + y^2 - 7)^2" in out
    assert ":condition=10" in out  # the option syntax, shown where it applies


# -- race ---------------------------------------------------------------------------------------


def test_race_prints_a_row_per_optimizer():
    out = ok("race", "rosenbrock", "--n-steps", "50").stdout
    assert "rosenbrock from (-1.5, 2)" in out  # the default start
    for label in ("gd(lr=0.001)", "momentum(lr=0.001, beta=0.9)", "newton(lr=1, damping=0)"):
        assert label in out
    assert "converged" in out and "max_steps" in out
    assert "wrote" not in out


def test_race_json_round_trips(tmp_path):
    path = tmp_path / "race.json"
    out = ok(
        "race",
        "bowl",
        "--optimizers",
        "gd,momentum,newton",
        "--start",
        "3,-2",
        "--lr",
        "0.1",
        "--n-steps",
        "40",
        "--out",
        path,
    ).stdout
    assert f"wrote {path}" in out
    record = json.loads(path.read_text())
    assert record["result"] == "race"
    assert record["objective"] == "bowl" and record["start"] == [3.0, -2.0]
    runs = [Trajectory.from_dict(entry) for entry in record["trajectories"]]
    race = losslab.load_result(path)
    assert isinstance(race, losslab.Race) and race.start == (3.0, -2.0)
    assert all(torch.equal(a.params, b.params) for a, b in zip(race, runs, strict=True))
    assert [run.optimizer for run in runs] == ["gd", "momentum", "newton"]
    for run in runs:  # each path ends where its run stopped (newton: one step to 0)
        assert run.params.shape == (run.stopped_at + 1, 2) and run.stopped_at <= 40
        assert run.params[0].tolist() == [3.0, -2.0]
    assert runs[0].params.shape == (41, 2) and runs[2].params.shape == (2, 2)
    gd = runs[0]
    assert (gd.losses[1:] <= gd.losses[:-1]).all() and gd.losses[-1] < gd.losses[0]
    assert runs[2].status == "converged" and runs[2].final_loss == 0.0


def test_race_spec_syntax_sets_per_optimizer_hyperparameters(tmp_path):
    path = tmp_path / "race.json"
    ok(
        "race",
        "stretched_bowl:condition=25",
        "--optimizers",
        "gd,momentum:beta=0.5,lr=0.01,newton:damping=0.1",
        "--optimizer",
        "adam:lr=0.2",
        "--lr",
        "0.02",
        "--n-steps",
        "5",
        "--out",
        path,
    )
    record = json.loads(path.read_text())
    hyper = [(t["optimizer"], t["hyperparameters"]) for t in record["trajectories"]]
    assert hyper[0] == ("gd", {"lr": 0.02})
    assert hyper[1] == ("momentum", {"lr": 0.01, "beta": 0.5})
    assert hyper[2] == ("newton", {"lr": 1.0, "damping": 0.1})
    assert hyper[3][0] == "adam" and hyper[3][1]["lr"] == 0.2
    assert record["formula"] == "x^2 + 25 y^2"


def test_race_without_lr_gives_each_optimizer_its_own_default_rate(tmp_path):
    """No --lr: gd races at the surface's rate, adam at its own (optimizer_lr); a spec's lr
    still wins."""
    path = tmp_path / "race.json"
    ok("race", "rosenbrock", "-p", "gd,adam,rmsprop:lr=0.05", "--n-steps", "5", "--out", path)
    record = json.loads(path.read_text())
    rates = [(t["optimizer"], t["hyperparameters"]["lr"]) for t in record["trajectories"]]
    assert rates == [("gd", 0.001), ("adam", 0.1), ("rmsprop", 0.05)]


def test_race_on_a_1d_surface_takes_one_number():
    out = ok("race", "double_well", "--start", "2.2", "--n-steps", "300").stdout
    assert "double_well from (2.2)" in out
    assert "(1.273)" in out and "(-1.332)" in out  # gd stays right, momentum rolls over


def test_race_reports_divergence_and_no_minimum_on_the_saddle():
    out = ok("race", "saddle", "--optimizers", "gd", "--n-steps", "200").stdout
    assert "diverged" in out
    (row,) = [line for line in out.splitlines() if line.startswith("│ gd(lr=0.05)")]
    assert row.rstrip(" │").endswith("-")  # no known minimum


def test_race_says_why_each_run_ended():
    # The library's diagnosis, one line per optimizer: gd slides off the saddle (not an
    # overshoot), Newton stops at the saddle and is told it is not a minimum.
    out = ok("race", "saddle", "--n-steps", "200").stdout
    why = " ".join(out[out.index("gd(lr=0.05): ") :].split())  # unwrap the terminal lines
    assert "gd(lr=0.05): Diverged at step 88 by escaping" in why
    assert "a lower lr will not fix it" in why and "by overshooting" not in why
    assert "newton(lr=1, damping=0): Converged in 1 step at (0, 0)" in why
    assert "saddle, not a minimum" in why


def test_descend_overshoot_names_the_stable_rate():
    out = ok("descend", "bowl", "--lr", "1.1").stdout
    why = " ".join(out[out.index("gd(lr=1.1): ") :].split())
    assert "Diverged at step 27 by overshooting" in why
    assert "lower lr below 2/lambda_max = 1." in why


def test_race_accepts_expressions():
    out = ok("race", "x**2 + 10*y**2", "--start", "1,1", "--lr", "0.04", "--n-steps", "200").stdout
    assert "converged" in out


@pytest.mark.parametrize("suffix", FIGURES)
def test_race_figures(tmp_path, suffix):
    path = tmp_path / f"race{suffix}"
    out = ok("race", "rosenbrock", "--n-steps", "30", "--out", path).stdout
    assert f"wrote {path}" in out
    assert has_magic(path)


# -- descend ------------------------------------------------------------------------------------


def test_descend_json_loads_back_as_a_trajectory(tmp_path):
    path = tmp_path / "run.json"
    ok(
        "descend",
        "himmelblau",
        "--optimizer",
        "momentum:beta=0.5",
        "--start",
        "0,0",
        "--lr",
        "0.01",
        "--n-steps",
        "300",
        "--out",
        path,
    )
    run = losslab.load_result(path)
    assert isinstance(run, Trajectory)
    assert run.params[0].tolist() == [0.0, 0.0]
    assert run.status == "converged" and run.hyperparameters == {"lr": 0.01, "beta": 0.5}
    assert run.final_loss < 1e-12


@pytest.mark.parametrize(
    ("surface", "extra", "suffix"),
    [
        ("double_well", [], ".png"),
        ("double_well", [], ".html"),
        ("himmelblau", [], ".svg"),
        ("himmelblau", ["--view", "surface"], ".png"),
        ("himmelblau", ["--view", "surface"], ".html"),
    ],
)
def test_descend_figures(tmp_path, surface, extra, suffix):
    path = tmp_path / f"run{suffix}"
    ok("descend", surface, "--n-steps", "50", *extra, "--out", path)
    assert has_magic(path)


# -- inspect ------------------------------------------------------------------------------------


def test_inspect_the_saddle_at_the_origin():
    out = ok("inspect", "saddle", "--at", "0,0").stdout
    assert "saddle" in out and "indefinite" in out
    assert "(-2, 2)" in out  # eigenvalues, ascending
    assert "-4" in out  # det


def test_inspect_json_prints_the_critical_point():
    data = json.loads(ok("inspect", "saddle", "--at", "0,0", "--json").stdout)
    found = CriticalPoint.from_dict(data)
    assert found.kind == "saddle"
    assert found.eigenvalues.tolist() == [-2.0, 2.0]
    assert found.det == pytest.approx(-4.0)


def test_inspect_a_regular_point_of_a_1d_surface():
    out = ok("inspect", "double_well", "--at", "0.5").stdout
    # f'(0.5) = 0.5**3 - 1.7 * 0.5 + 0.1 = -0.625: not critical, and the table says so
    assert "regular: not a critical point (|gradient| = 0.625 is not 0)" in out


@pytest.mark.parametrize("suffix", [".json", ".png", ".html"])
def test_inspect_out(tmp_path, suffix):
    path = tmp_path / f"hessian{suffix}"
    ok("inspect", "himmelblau", "--at", "3,2", "--out", path)
    assert has_magic(path)
    if suffix == ".json":
        assert CriticalPoint.load(path).kind == "minimum"


# -- critical -----------------------------------------------------------------------------------


def test_critical_counts_himmelblau():
    out = ok("critical", "himmelblau").stdout
    assert "4 minima, 4 saddles, 1 maximum" in out
    assert "(3, 2)" in out


@pytest.mark.parametrize("suffix", [".json", ".png", ".pdf", ".html"])
def test_critical_out(tmp_path, suffix):
    path = tmp_path / f"critical{suffix}"
    ok("critical", "saddle", "--out", path)
    assert has_magic(path)
    if suffix == ".json":
        points = losslab.load_result(path)
        assert isinstance(points, CriticalPoints) and points.objective == "saddle"
        assert [p.kind for p in points] == ["saddle"]
        assert points[0].eigenvalues.tolist() == [-2.0, 2.0]


# -- basins -------------------------------------------------------------------------------------


def test_basins_prints_the_share_of_every_minimum():
    out = ok("basins", "himmelblau", "--resolution", "40", "--n-steps", "200").stdout
    assert "minimum (3, 2)" in out
    assert "1600 starts x 200 steps in" in out
    shares = [float(word.rstrip("%")) for word in out.split() if word.endswith("%")]
    assert len(shares) == 4 and sum(shares) == pytest.approx(100, abs=0.3)


def test_basins_json_labels_have_the_grid_shape(tmp_path):
    path = tmp_path / "basins.json"
    ok("basins", "bowl", "--lr", "0.2", "--resolution", "7", "--n-steps", "60", "--out", path)
    basin_map = losslab.load_result(path)
    assert basin_map.labels.shape == (7, 7)
    assert (basin_map.labels == 0).all()


@pytest.mark.parametrize("suffix", [".png", ".html"])
def test_basins_figures(tmp_path, suffix):
    path = tmp_path / f"basins{suffix}"
    ok("basins", "himmelblau", "--resolution", "20", "--n-steps", "100", "--out", path)
    assert has_magic(path)


# -- demo ---------------------------------------------------------------------------------------

DEMO_FILES = [
    "contours.png",
    "race_rosenbrock.png",
    "race_rosenbrock.html",
    "saddle_hessian.png",
    "himmelblau_sgd.png",
    "double_well.png",
    "surface_3d.png",
]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gallery") / "nested" / "demo"
    return folder, invoke("demo", "--out", folder)


def test_demo_writes_every_promised_file(demo_run):
    folder, result = demo_run
    assert result.exit_code == 0, (result.output, result.exception)
    assert sorted(p.name for p in folder.iterdir()) == sorted(DEMO_FILES)
    for name in DEMO_FILES:
        assert has_magic(folder / name), name
        assert name in result.stdout
    assert f"wrote {len(DEMO_FILES)} files" in result.stdout


def test_demo_gallery_matches_its_help():
    assert len(GALLERY) == 6
    documented = ok("demo", "--help").stdout
    for name in DEMO_FILES:
        assert name in documented


def test_race_trajectory_matches_the_library(tmp_path):
    path = tmp_path / "race.json"
    ok("race", "himmelblau", "--optimizers", "gd", "--n-steps", "25", "--out", path)
    run = Trajectory.from_dict(json.loads(path.read_text())["trajectories"][0])
    direct = losslab.descend(losslab.surface("himmelblau"), losslab.optim.gd(0.01), [0.0, 0.0], 25)
    assert torch.equal(run.params, direct.params)


def test_race_table_is_green_only_for_a_minimum():
    # Newton's "converged" at the saddle is yellow; gd's escape red (the CLI's runs table).
    from losslab.cli.render import runs_table

    saddle = losslab.surface("saddle")
    optimizers = [losslab.optim.gd(0.05), losslab.optim.newton()]
    raced = losslab.race(saddle, optimizers, [-1.5, 0.05], 200)
    table = runs_table(saddle, raced, [-1.5, 0.05], losslab.diagnose(saddle, raced))
    statuses = list(table.columns[1].cells)
    assert [(t.plain, t.style) for t in statuses] == [("diverged", "red"), ("converged", "yellow")]
    bowl = losslab.surface("bowl")
    run = losslab.race(bowl, [losslab.optim.newton()], [1.0, 1.0], 20)
    (status,) = runs_table(bowl, run, [1.0, 1.0], losslab.diagnose(bowl, run)).columns[1].cells
    assert (status.plain, status.style) == ("converged", "green")


def test_a_wide_table_printed_to_a_pipe_keeps_every_digit(monkeypatch, capsys):
    """Rich assumes 80 columns off a terminal and cuts cells to '0.04611...'; output to a file
    or a pipe gets render.PIPED_WIDTH instead, and COLUMNS still rules when it is set."""
    from rich.table import Table

    from losslab.cli import render

    monkeypatch.delenv("COLUMNS", raising=False)
    table = Table()
    for header in ("path", "loss barrier", "accuracy barrier", "loss at A", "loss at B"):
        table.add_column(header)
    digits = ["straight line, aligned", "0.0461156", "0.00309332", "0.034549", "0.0354165"]
    table.add_row(*digits)
    render.console().print(table)
    printed = capsys.readouterr().out
    assert all(cell in printed for cell in digits) and "\u2026" not in printed
    monkeypatch.setenv("COLUMNS", "100")
    assert render.console().width == 100
