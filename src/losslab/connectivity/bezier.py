"""`bezier`: a quadratic Bezier curve between two models whose control point is trained to
keep the loss low along it (Garipov et al. 2018, "Loss Surfaces, Mode Connectivity, and Fast
Ensembling of DNNs").

    theta(t) = (1 - t)^2 a + 2 t (1 - t) c + t^2 b        a, b the models, c the control

The control point is trained FUNCTIONALLY, for any model: each minibatch draws t ~ U(0, 1),
builds theta(t) as one flat vector, calls a private copy of the model on it through
torch.func.functional_call, and steps c along the gradient of that batch's loss (a and b are
constants). No curve layers are written by hand, so any module ModelObjective and train
accept works. The expected loss over t is what the steps minimize.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from losslab import budget
from losslab._checks import check_count, check_fraction, check_lr, check_seed
from losslab.connectivity._evaluate import check_bn, evaluate_points
from losslab.connectivity._pair import check_pair
from losslab.connectivity.path import Path, barriers
from losslab.errors import ArgumentTypeError, LosslabError
from losslab.objectives import adapters
from losslab.params import model_vector
from losslab.training import _batches, _loss

OPTIMIZERS = ("sgd", "adam")


def bezier(
    model_a: nn.Module,
    model_b: nn.Module,
    loss_fn,
    data,
    *,
    epochs: int,
    lr: float,
    seed: int,
    n_points: int = 25,
    optimizer: str = "sgd",
    momentum: float = 0.9,
    batch_size: int = 64,
    bn: str = "recompute",
    metrics=None,
    eval_batch_size: int | None = None,
    output_fn=None,
    batch_fn=None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Train the control point c of theta(t) = (1-t)^2 a + 2t(1-t) c + t^2 b, then evaluate
    the metrics at n_points t evenly spaced in [0, 1] (as `linear_path` does on the line).

    model_a, model_b: two models of one architecture (see `linear_path`); never changed.
    loss_fn, data: as `train` and ModelObjective take them (a Dataset's training split,
        tensors (X, y) or (X, y, w), a DataLoader, which brings its own batches). The loss
        both trains c and is evaluated along the curve.
    epochs, lr: training of c: epochs passes over the data in minibatches of `batch_size`
        (a DataLoader's own batches), with `optimizer` "sgd" (with `momentum`, default 0.9)
        or "adam" (momentum is then ignored).
    seed: the batch order (as `train` orders it), the t of every step and the random state
        the model sees (dropout) all come from it: the same seed gives the same curve.
        c starts at (a + b) / 2, the line's midpoint.
    n_points, bn, metrics, eval_batch_size, output_fn, batch_fn: as in `linear_path`.
        Training runs the model in train mode on a private copy: BatchNorm normalizes with
        each batch's statistics at theta(t) (the copy's running statistics are discarded);
        the curve is then evaluated with bn="recompute" (default) or "eval" (the two
        models' running statistics interpolated linearly in t).
    progress: called as progress(steps_done, total_steps) after every training step.

    Returns a Path of kind "bezier": anchors [a, b, c] (3, n_params), `train_loss` the mean
    training loss of each epoch (epochs,), `barrier` as for a line (excess over the straight
    line between the end values). A non-finite training loss raises one line (lower lr).
    """
    started = time.perf_counter()
    layout = check_pair(model_a, model_b)
    n_points = check_count("n_points", n_points, minimum=2)
    epochs = check_count("epochs", epochs)
    lr = check_lr(lr)
    seed = check_seed(seed)
    bn = check_bn(bn)
    if optimizer not in OPTIMIZERS:
        raise LosslabError(f"optimizer == {optimizer!r}, must be one of {OPTIMIZERS}.")
    momentum = check_fraction("momentum", momentum)
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress == {progress!r}, must be a callable (done, total).")

    a, b = model_vector(model_a), model_vector(model_b)
    module = copy.deepcopy(model_a)  # the copy runs every step; the inputs are never touched
    for p in module.parameters():
        p.requires_grad_(False)
    to_tensor = adapters.output_adapter(output_fn)

    def forward(vector: Tensor, inputs) -> Tensor:
        return to_tensor(adapters.call_functional(module, layout.unflatten(vector), inputs))

    batches = _batches(
        data, batch_fn, check_count("batch_size", batch_size), seed, a.dtype, a.device
    )
    steps_per_epoch = batches.steps_per_epoch
    budget.require_at_most(
        "bezier",
        "epochs",
        epochs,
        budget.MAX_STEPS,
        "optimizer steps",
        count=lambda e: e * steps_per_epoch,
    )
    control = ((a + b) / 2).requires_grad_(True)
    loss = _loss(loss_fn, lambda inputs: forward(control.detach(), inputs), module, batches)
    opt = (
        torch.optim.SGD([control], lr=lr, momentum=momentum)
        if optimizer == "sgd"
        else torch.optim.Adam([control], lr=lr)
    )
    positions = torch.Generator().manual_seed(_stream(seed))  # t of each step
    train_loss = torch.zeros(epochs, dtype=torch.float64)
    total, step = epochs * steps_per_epoch, 0
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        module.train()
        for epoch in range(epochs):
            summed, n = 0.0, 0
            for batch in batches.epoch():
                t = torch.rand((), generator=positions, dtype=torch.float64).item()
                theta = (1 - t) ** 2 * a + 2 * t * (1 - t) * control + t**2 * b
                value = loss.batch(forward(theta, batch.inputs), batch)
                if not torch.isfinite(value):
                    raise LosslabError(
                        f"bezier: the training loss became {float(value.detach())} at epoch "
                        f"{epoch + 1}, step {step + 1} (t = {t:.3f}): lower lr (now {lr:g})."
                    )
                opt.zero_grad()
                value.backward()
                opt.step()
                size = len(batch.targets)
                summed, n, step = summed + float(value.detach()) * size, n + size, step + 1
                if progress is not None:
                    progress(step, total)
            train_loss[epoch] = summed / max(n, 1)

    c = control.detach()
    t = torch.linspace(0, 1, n_points, dtype=torch.float64)
    s = t.to(a.dtype).to(a.device)[:, None]
    points = (1 - s) ** 2 * a + 2 * s * (1 - s) * c + s**2 * b  # exactly a at 0, b at 1
    options = {
        "metrics": metrics,
        "eval_batch_size": eval_batch_size,
        "output_fn": output_fn,
        "batch_fn": batch_fn,
    }
    values, mode = evaluate_points(
        model_a, model_b, loss_fn, data, points, t, bn=bn, options=options
    )
    settings = {
        "loss": loss.name,
        "n_points": n_points,
        "epochs": epochs,
        "lr": lr,
        "seed": seed,
        "optimizer": optimizer,
        "momentum": momentum if optimizer == "sgd" else None,
        "batch_size": batches.batch_size,
        "steps": step,
    }
    return Path(
        kind="bezier",
        t=t,
        values=values,
        barrier=barriers(t, values),
        anchors=torch.stack([a, b, c]).cpu(),
        names=layout.names,
        shapes=layout.shapes,
        bn=mode,
        seconds=time.perf_counter() - started,
        train_loss=train_loss,
        settings=settings,
    )


def _stream(seed: int) -> int:
    """A seed for the t of each step, independent of the batch order's stream (`seed`)."""
    return int(np.random.SeedSequence([seed, 0xB2]).generate_state(1)[0])
