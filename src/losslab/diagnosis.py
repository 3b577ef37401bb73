"""Why a run ended, in one plain sentence that teaches the right thing: `diagnose`.

A Trajectory's status says only converged / diverged / max_steps. A learner needs more: Newton
"converges" to saddles and maxima, gradient descent "diverges" both by overshooting (lower lr
fixes it) and by sliding off along negative curvature (lower lr does not), and a run that stops
moving on a plateau is not at a minimum. The kinds and their rules (the constants below):

    minimum / saddle / maximum  the end point is critical: when the Hessian is known, the
        Newton step |H^+ g| <= NEWTON_RTOL * max(1, |point|) (a tiny gradient on flat ground is
        not a critical point) and either the gradient <= max(tol, GRAD_TOL) or the run has
        stopped moving there (momentum ending at |g| 1.4e-6 on a bowl); without the Hessian,
        a converged run. Kind from the Hessian's eigenvalue signs, zero within
        critical.inspect's eig_tol; along a zero eigenvalue the loss is probed on both sides
        to decide (every direction flat to float precision: stalled on flat ground).
    overshoot   diverged, and successive steps point against each other (dot < 0) for at least
        half of the last TAIL steps: oscillating growth across a direction of high curvature;
        or the loss rose over those steps (a small enough step always lowers it).
    escape      diverged without that oscillation, the loss falling: a smooth slide along
        negative curvature or an unbounded direction; a lower lr only slows it down.
    stalled     not critical, and the steps became tiny: the mean of the last TAIL step lengths
        <= STEP_RTOL * max(1, |point|), or the run "converged" where the point is not critical.
        With a gradient above PLATEAU_GRAD the run is stuck, not on a plateau (Newton where
        the Hessian is zero: abs(x) + abs(y)), and the sentence says so.
    running     max_steps reached while still moving. A noisy run (sgd_noise) whose last
        NOISE_TAIL rows travel more than twice as far as they get is said to jitter (more
        steps do not settle it); where the ground curves down the sentence says more steps
        go further downhill, not necessarily to a minimum.

A diverged run's sentence names the step that left (stopped_at + 1, as the scoreboards do);
`step` itself is the last row visited. Numbers in sentences go through `losslab.dust`.

Eigenvalues are computed when the objective has at most MAX_EIGEN_PARAMS parameters; for a
network the decision comes from the path alone (a converged run then counts as a minimum, and
the sentence says the curvature was not checked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab import dust
from losslab.curvature.critical import inspect
from losslab.descent import CONVERGED, DIVERGED, Race, Trajectory
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.results import Result, summary
from losslab.results.kinds import FloatArray

KINDS = ("minimum", "saddle", "maximum", "overshoot", "escape", "stalled", "running")
LABELS = {  # a few words per kind, for table cells and legends; `reason` is the whole sentence
    "minimum": "at a minimum",
    "saddle": "at a saddle, not a minimum",
    "maximum": "at a maximum, not a minimum",
    "overshoot": "diverged: overshot",
    "escape": "diverged: slid away",
    "stalled": "stalled on a plateau",
    "running": "still moving",
}
MAX_EIGEN_PARAMS = 64  # dense Hessians up to 64 x 64: cheap; beyond, decide from the path
GRAD_TOL = 1e-6  # inspect's grad_tol: a max_steps run this still counts as converged
EIG_TOL = 1e-8  # inspect's eig_tol: |lambda| <= EIG_TOL * max(1, max |lambda|) is zero
NEWTON_RTOL = 1e-2  # a critical point lies within 1% of the point's scale (x**4 at tol 1e-8:
# gd stops at x = 1.4e-3, Newton step x / 3 = 5e-4; tanh**2 at (6, 6): Newton step 0.7)
GRAD_FLOOR = 1e-14  # gradient components below this (x max(1, |loss|)) are float dust
STEP_RTOL = 1e-6  # steps this small (relative to the point) have stopped moving
PLATEAU_GRAD = 1e-3  # a stopped run with a gradient above this (x max(1, |loss|)) is stuck,
# not on a plateau (Newton on abs(x) + abs(y): the Hessian is 0, the step is 0, |g| = 1.41)
GD_NAMES = ("gd", "sgd_noise")  # where lr < 2/lambda_max is the stability bound
PROBES = (1e-3, 1e-2, 1e-1)  # probe distances along zero-curvature directions, x max(1, |point|)
NOISE_TAIL = 50  # rows over which a noisy run that goes nowhere counts as jittering
TAIL = 10  # the last steps examined for oscillation and for stalling


@dataclass(frozen=True, eq=False)
class Diagnosis(Result):
    """Why one run ended.

    kind: one of KINDS; reason: one sentence, why and what to change; step: the row it refers
    to (the run's stopped_at); point: (n_params,) the point there; loss, grad_norm: there;
    eigenvalues: (n_params,) ascending Hessian eigenvalues there, or None for many parameters.
    """

    result_type = "diagnosis"

    kind: str
    reason: str
    step: int
    point: FloatArray
    loss: float
    grad_norm: float
    eigenvalues: FloatArray | None = None
    optimizer: str = ""
    objective: str = ""

    @property
    def label(self) -> str:
        """A few words for a table cell: 'at a saddle, not a minimum (1 step)'."""
        steps = self.step + 1 if self.kind in ("overshoot", "escape") else self.step
        return f"{LABELS[self.kind]} ({_steps(steps)})"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise LosslabError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}.")

    def __repr__(self) -> str:
        return summary.compose("Diagnosis", kind=self.kind, step=self.step, reason=self.reason)


def diagnose(
    objective: Objective, trajectory: Trajectory | Race
) -> Diagnosis | tuple[Diagnosis, ...]:
    """Why `trajectory` (a run of `objective`) ended: a Diagnosis, or for a batched
    trajectory a tuple of them, one per start in the batch's order; for a Race (of unbatched
    runs) one per optimizer in the race's order."""
    if isinstance(trajectory, Race):
        return tuple(diagnose(objective, run) for run in trajectory)
    if not isinstance(trajectory, Trajectory):
        raise LosslabError(
            f"trajectory is a {type(trajectory).__name__}: give a Trajectory (descend's "
            "result) or a Race."
        )
    if trajectory.params.shape[-1] != objective.n_params:
        raise LosslabError(
            f"the trajectory has {trajectory.params.shape[-1]} parameter(s), the objective "
            f"{objective.n_params}: diagnose a run with the objective it ran on."
        )
    if trajectory.batched:
        return tuple(_diagnose_run(objective, run) for run in trajectory.runs())
    return _diagnose_run(objective, trajectory)


def _diagnose_run(objective: Objective, run: Trajectory) -> Diagnosis:
    path = run.path().to(torch.float64)  # (rows, n)
    step = int(run.stopped_at)
    point = path[-1]
    loss, grad_norm = float(run.losses[step]), float(run.grad_norms[step])
    few = objective.n_params <= MAX_EIGEN_PARAMS
    eigen = _eigen(objective, point) if few else None
    eigenvalues = eigen[0] if eigen is not None else None
    steps = path[1:] - path[:-1]  # (rows - 1, n)
    lr = run.hyperparameters.get("lr")

    def done(kind: str, reason: str) -> Diagnosis:
        return Diagnosis(
            kind, reason, step, point, loss, grad_norm, eigenvalues, run.optimizer, run.objective
        )

    at = f"at {_point(point)}"
    if run.status == DIVERGED:
        return done(*_diverged(objective, run, path, steps, lr, few))
    tail = steps[-TAIL:]
    moved = float(torch.linalg.vector_norm(tail, dim=-1).mean()) if len(tail) else 0.0
    still = moved <= STEP_RTOL * max(1.0, _norm(point))
    small = grad_norm <= max(run.tol, GRAD_TOL)
    if eigen is not None:  # near a critical point, and there (tiny gradient) or stopped there
        near = _newton_distance(objective, point, eigen) <= NEWTON_RTOL * max(1.0, _norm(point))
        critical = near and (small or still)
    else:
        critical = small and run.status == CONVERGED
    if critical:
        if eigen is None:
            return done(
                "minimum",
                f"Converged in {_steps(step)} {at} with gradient {_num(grad_norm)}; the curvature "
                f"of {objective.n_params} parameters was not checked, so it could be a saddle.",
            )
        kind = _kind(objective, point, eigen)
        if kind == "flat":
            return done(
                "stalled",
                f"Stalled {at} after {_steps(step)}: the gradient, the curvature and the loss "
                f"changes nearby are all zero to float precision (loss {_num(loss)}), so this "
                "is flat ground, not a confirmed minimum: the loss may still fall further out.",
            )
        spectrum = f"Hessian eigenvalues {_values(eigenvalues)}"
        newton = run.optimizer == "newton"
        advice = {
            "minimum": (
                "no direction curves down and along the flat ones (eigenvalue 0) the loss "
                "does not fall, so this is a minimum with a flat bottom."
                if bool(_zero(eigenvalues).any())
                else "every direction curves up, so this is a minimum."
            ),
            "saddle": "some curve up and some down, so this is a saddle, not a minimum: "
            + (
                "Newton's method goes to any critical point; a gradient method slides away "
                "from saddles."
                if newton
                else "the start lay on the line that leads into it; a start a little off "
                "that line, or noise (SGD), slides away."
            ),
            "maximum": "every direction curves down, so this is a maximum, not a minimum: "
            + (
                "Newton's method goes to any critical point, use a gradient method instead."
                if newton
                else "the run started exactly on it; any other start moves away."
            ),
        }[kind]
        return done(kind, f"Converged in {_steps(step)} {at}: {spectrum}; {advice}")
    if still and grad_norm > PLATEAU_GRAD * max(1.0, abs(loss)):
        return done(
            "stalled",
            f"Stuck {at} after {_steps(step)}: the slope is not zero (gradient "
            f"{_num(grad_norm)}) but the steps shrank to {_num(moved)}"
            + (
                ": Newton's step divides by the curvature, which is zero or singular here "
                "(a kink or flat curvature), so it cannot move; use a gradient method."
                if run.optimizer == "newton"
                else ": the optimizer's steps vanish here; use a larger lr or another optimizer."
            ),
        )
    if run.status == CONVERGED or still:
        why = (
            f"fell below tol = {_num(run.tol)}, so the run stopped"
            if run.status == CONVERGED
            else f"is only {_num(grad_norm)} and the steps shrank to {_num(moved)}"
        )
        return done(
            "stalled",
            f"Stalled {at} after {_steps(step)}: the gradient {why}, but this is not a "
            "critical point, it is a plateau: use momentum or adam, a larger lr, or another "
            "start.",
        )
    noise = float(run.hyperparameters.get("noise", 0.0) or 0.0)
    window = path[-NOISE_TAIL:]
    travelled = float(torch.linalg.vector_norm(window[1:] - window[:-1], dim=-1).sum())
    if noise > 0 and _norm(window[-1] - window[0]) < 0.5 * travelled:
        return done(
            "running",
            f"Still moving after {_steps(step)}: the gradient noise (std {_num(noise)}) kicks "
            f"it every step, so it jitters around {_point(window.mean(0))} (loss now "
            f"{_num(loss)}) instead of settling; more steps will not settle it, a lower lr or "
            "less noise will.",
        )
    moving = (
        f"Still moving after {_steps(step)} (last steps {_num(moved)} long, gradient "
        f"{_num(grad_norm)}, loss {_num(loss)})"
    )
    if eigenvalues is not None and float(eigenvalues[0]) < 0 and not _zero(eigenvalues)[0]:
        return done(
            "running",
            f"{moving}, on ground that curves down in one direction (lowest Hessian "
            f"eigenvalue {_num(float(eigenvalues[0]))}), so it is not in a minimum's bowl yet: "
            "more steps carry it further downhill, wherever that leads.",
        )
    return done("running", f"{moving}: give it more steps.")


def _diverged(objective, run, path, steps, lr, few) -> tuple[str, str]:
    """("overshoot" | "escape", sentence) for a diverged run."""
    step = int(run.stopped_at) + 1  # row stopped_at is the last finite point: the next step left
    tail = steps[-TAIL:]
    pairs = (tail[1:] * tail[:-1]).sum(-1)  # dot products of successive steps
    oscillating = len(pairs) > 0 and int((pairs < 0).sum()) * 2 >= len(pairs)
    start = max(0, len(path) - 1 - TAIL)  # the row where the examined tail begins
    lam_max = None
    if few:
        rows = {0, start}
        found = [_eigen(objective, path[r]) for r in rows]
        lam_max = max((float(e[0].max()) for e in found if e is not None), default=None)
    if len(pairs) == 0 and lam_max is not None and lr is not None:
        oscillating = lr * lam_max > 2  # one step out: only the curvature can tell
    # A small enough step always lowers the loss: a run whose loss rose over the tail was
    # thrown uphill by its step size (an overshoot even without a visible swing: 2 or 3 steps,
    # or SGD's noise kicks), while a slide off along negative curvature lowers it all the way.
    stop = int(run.stopped_at)
    rose = float(run.losses[stop]) > float(run.losses[max(0, stop - TAIL)])
    oscillating = oscillating or rose
    lr_text = f"lr = {_num(lr)}" if lr is not None else "the step size"
    if oscillating:
        if lam_max is not None and lam_max > 0:
            bound = 2 / lam_max
            if run.optimizer not in GD_NAMES:  # the bound is gd's; others scale lr
                advice = f"lower lr (plain gd is stable for lr < 2/lambda_max = {_num(bound)})"
            elif lr is None or lr > bound:
                advice = f"lower lr below 2/lambda_max = {_num(bound)}"
            else:  # below the bound at the start: the curvature grew along the path
                advice = (
                    f"lower lr (2/lambda_max = {_num(bound)} where the swing began; the "
                    "curvature grew along the path)"
                )
        else:
            advice = "lower lr" + _near_minimum_bound(objective, path[0], few)
        return "overshoot", (
            f"Diverged at step {step} by overshooting: with {lr_text} each step jumped across "
            f"a steep valley and landed farther up the other side; {advice}."
        )
    end = _eigen(objective, path[-1]) if few else None
    negative = end is not None and float(end[0].min()) < 0
    along = "negative curvature" if negative else "a direction where the loss keeps falling"
    return "escape", (
        f"Diverged at step {step} by escaping: the path slid smoothly away along {along} "
        f"(loss {_num(float(run.losses[step - 1]))}), with no overshoot; a lower lr will not fix "
        "it, only slow it down: the loss falls without bound that way, so no minimum lies ahead."
    )


def _near_minimum_bound(objective: Objective, start: Tensor, few: bool) -> str:
    """' (gd is stable near the minimum (3, 2) only for lr < 2/lambda_max = 0.0243)' from
    the known minimum nearest the start (a Surface's `minima`), or '' without one: where the
    path began curves down, so only the bowl it should end in gives the bound."""
    minima = getattr(objective, "minima", None)
    if not few or minima is None or not len(minima):
        return ""
    minima = torch.as_tensor(minima, dtype=torch.float64)
    nearest = minima[torch.linalg.vector_norm(minima - start, dim=-1).argmin()]
    eigen = _eigen(objective, nearest)
    if eigen is None or not float(eigen[0].max()) > 0:
        return ""
    bound = 2 / float(eigen[0].max())
    return (
        f" (plain gd is stable near the minimum {_point(nearest)} only for lr < "
        f"2/lambda_max = {_num(bound)})"
    )


def _eigen(objective: Objective, point: Tensor) -> tuple[Tensor, Tensor] | None:
    """(eigenvalues (n,) ascending, eigenvectors (n, n) in columns) of the Hessian, as
    critical.inspect computes them; None where the Hessian is not finite."""
    try:
        found = inspect(objective, point, grad_tol=math.inf, eig_tol=EIG_TOL)
    except LosslabError:
        return None
    return found.eigenvalues.to(torch.float64), found.eigenvectors.to(torch.float64)


def _zero(eigenvalues: Tensor) -> Tensor:
    """Which eigenvalues are zero, by inspect's rule."""
    return eigenvalues.abs() <= EIG_TOL * max(1.0, float(eigenvalues.abs().max()))


def _newton_distance(objective: Objective, point: Tensor, eigen) -> float:
    """|H^-1 g|, the distance to the critical point the local quadratic predicts. The raw
    eigenvalues are used (not zeroed): on a plateau both g and H are ~1e-12 and the distance
    is of order 1, not 0. Gradient components below float dust (GRAD_FLOOR) count as 0; a
    real one along an exactly flat direction makes the distance infinite."""
    values, vectors = eigen
    value, grad = objective.value_and_grad(point.unsqueeze(0))
    coefficients = vectors.T @ grad[0].to(torch.float64)  # g in the eigenbasis
    real = coefficients.abs() > GRAD_FLOOR * max(1.0, abs(float(value[0])))
    if not real.any():
        return 0.0
    if (values[real] == 0).any():
        return math.inf
    return float(torch.linalg.vector_norm(coefficients[real] / values[real]))


def _kind(objective: Objective, point: Tensor, eigen) -> str:
    """minimum | saddle | maximum from the eigenvalue signs; a zero eigenvalue's direction is
    probed on both sides (x**3 rises one way and falls the other: a saddle), at PROBES of the
    point's scale until the loss changes (x**4 near 0 changes by 1e-12 at 1e-3, 1e-8 at 1e-2).
    "flat" when every eigenvalue is zero and no probe moves the loss: float-flat ground (the
    far tail of exp(x*y), loss 1e-31), not a minimum point."""
    values, vectors = eigen
    zero = _zero(values)
    up, down = bool((values[~zero] > 0).any()), bool((values[~zero] < 0).any())
    if zero.any():
        centre = objective.value_and_grad(point.unsqueeze(0))[0]
        scale = 1e-12 * max(1.0, abs(float(centre)))
        flat = vectors[:, zero].T  # (k, n)
        for fraction in PROBES:
            h = fraction * max(1.0, _norm(point))
            probes = torch.cat([point + h * flat, point - h * flat])
            change = objective.value_and_grad(probes)[0] - centre
            up = up or bool((change > scale).any())
            down = down or bool((change < -scale).any())
            if up or down:
                break
        if zero.all() and not (up or down):
            return "flat"
    if up and down:
        return "saddle"
    return "maximum" if down else "minimum"


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _norm(point: Tensor) -> float:
    return float(torch.linalg.vector_norm(point))


def _num(value: float) -> str:
    """4 significant digits; float dust (|value| <= 1e-12, `losslab.dust`) prints as 0."""
    return summary.number(dust.scalar(value))


def _point(point: Tensor) -> str:
    """(x, y, ...) with coordinates below 1e-9 of the point's scale printed as 0."""
    coords = [summary.number(v) for v in dust.point(point.tolist())]
    if len(coords) > 4:
        coords = coords[:3] + [f"... ({len(coords)} parameters)"]
    return f"({', '.join(coords)})"


def _values(eigenvalues: Tensor) -> str:
    """Eigenvalues with those zero by inspect's rule printed as 0."""
    shown = [summary.number(v) for v in dust.spectrum(eigenvalues.tolist(), EIG_TOL)]
    if len(shown) > 4:
        shown = shown[:2] + ["..."] + shown[-1:]
    return ", ".join(shown)
