"""What the network commands share: a model, its data and its loss checked to fit together
(`Setup`), output checks, train/test scores and training with the command's options."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from rich.table import Table
from torch import nn

from losslab import models
from losslab.cli import model_loading
from losslab.cli.errors import computing
from losslab.cli.model_loading import ModelSource
from losslab.cli.network_options import BatchNormChoice, LossChoice, OptimizerChoice
from losslab.cli.parsing import output_format
from losslab.cli.render import number
from losslab.data.dataset import Dataset
from losslab.errors import LosslabError
from losslab.io import check_writable


@dataclass
class Setup:
    """A model, its data and its loss, checked to fit together."""

    source: ModelSource
    model: nn.Module
    data: Dataset
    loss: str
    weights: Path | None

    @property
    def title(self) -> str:
        return f"{self.source.label} on {self.data.name}"

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)


def prepare(
    model: str,
    dataset: str | None,
    data: Path | None,
    weights: Path | None,
    width: int | None,
    depth: int | None,
    seed: int,
    loss: LossChoice | None,
) -> Setup:
    """Parse --model, load the data, build the model, load the weights, check they fit."""
    source = model_loading.parse_model(model)
    if dataset is not None and data is not None:
        raise LosslabError(
            f"give --dataset or --data, not both (got --dataset {dataset} and --data {data})."
        )
    if not source.builtin and (width is not None or depth is not None):
        raise LosslabError(
            "--width and --depth size the built-in models; your model's factory decides its "
            "own size: leave them out."
        )
    loss_name = None if loss is None else loss.value
    if data is not None:
        dataset_obj = model_loading.load_npz(data, loss_name)
    else:
        dataset_obj = model_loading.load_builtin_data(dataset or "digits", source, seed=seed)
    if source.builtin:
        net = models.build(source.name, dataset_obj, width=width, depth=depth, seed=seed)
    else:
        with torch.random.fork_rng(devices=[]):  # a factory's random init is seeded too
            torch.manual_seed(seed)
            net = model_loading.build_user_model(source)
    if weights is not None:
        model_loading.load_weights(net, weights)
    chosen = model_loading.check_fit(net, dataset_obj, loss_name, source.label)
    return Setup(source, net, dataset_obj, chosen, weights)


def check_out(path: Path | None, allowed: tuple[str, ...], option: str) -> Path | None:
    """Fail before any work when --out/--plot has a wrong extension or cannot be written."""
    if path is None:
        return None
    try:
        output_format(path, allowed)
    except LosslabError as error:
        raise LosslabError(f"{option}: {error}") from None
    return check_writable(path)


def distinct(*paths: Path | None) -> None:
    given = [p.resolve() for p in paths if p is not None]
    if len(set(given)) != len(given):
        raise LosslabError("two outputs name the same file: give each output its own path.")


def network_objective(setup: Setup, n_samples: int | None, seed: int, bn: BatchNormChoice):
    """The training split's loss as a function of the weights, as --n-samples and --bn say."""
    from losslab.objectives.model import ModelObjective

    return ModelObjective(
        setup.model, setup.loss, setup.data.train, n_samples=n_samples, seed=seed, bn=bn.value
    )


def scores(setup: Setup) -> dict[str, dict[str, float]]:
    """Loss (and accuracy, for classification) on the train and test splits, in eval mode."""
    from losslab.objectives.model import ModelObjective

    out = {}
    for split, (X, y) in (("train", setup.data.train), ("test", setup.data.test)):
        if len(X) == 0:
            continue
        with computing(f"scoring {setup.title} on its {split} split"):
            objective = ModelObjective(setup.model, setup.loss, (X, y))
            values = objective.evaluate(objective.origin[None])
        out[split] = {k: float(torch.as_tensor(v).reshape(-1)[0]) for k, v in values.items()}
    return out


def scores_table(title: str, values: dict[str, dict[str, float]]) -> Table:
    table = Table(title=title, title_justify="left")
    names = {m for split in values.values() for m in split if not m.endswith("_se")}
    metrics = sorted(names, key=lambda m: (m != "loss", m))  # loss first
    table.add_column("split")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for split, row in values.items():
        table.add_row(split, *(number(row[m]) if m in row else "" for m in metrics))
    return table


def refuse_diverged(run, lr: float) -> None:
    """A landscape or Hessian around weights that left every finite value means nothing."""
    if run.diverged:
        raise LosslabError(
            f"training diverged after {run.n_steps} steps (lr {lr}): lower --lr, or "
            "use --epochs 0 for the untrained weights."
        )


@dataclass(frozen=True)
class Training:
    """How a command trains the model before it measures: its --epochs, --optimizer, --lr,
    --momentum, --batch-size and --seed, gathered once and passed along as one value."""

    epochs: int
    optimizer: OptimizerChoice
    lr: float
    momentum: float
    batch_size: int
    seed: int

    def n_steps(self, n_train: int) -> int:
        """Optimizer steps over a training set of n_train samples."""
        return self.epochs * math.ceil(n_train / self.batch_size)

    def options(self) -> dict[str, Any]:
        """By option name (epochs, optimizer, lr, ...), e.g. for a resume's inputs."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def train_setup(setup: Setup, training: Training, *, record_every: int, out=None, progress=None):
    from losslab.training import train

    with computing(f"training {setup.title}"):
        return train(
            setup.model,
            setup.data,
            optimizer=training.optimizer.value,
            lr=training.lr,
            momentum=training.momentum,
            epochs=training.epochs,
            batch_size=training.batch_size,
            record_every=record_every,
            loss=setup.loss,
            seed=training.seed,
            out=out,
            progress=progress,
        )
