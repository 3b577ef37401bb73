"""Two models of one architecture on one data set, for `losslab match` and `losslab connect`.

    model A: --model built with --seed (or read from --weights-a), trained --epochs
    model B: the same architecture built with --seed-b (default seed + 1), or --weights-b

A model given by a weights file is used as it is; the other is trained for --epochs from its
own initial weights (its seed also orders its batches). Both see the same data: the split is
--seed's. Everything is checked (the model, both weights files, the data) before either model
is trained, so a mismatched state dict ends as one line and no work.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import torch
import typer
from torch import nn

from losslab import models
from losslab.cli import model_loading
from losslab.cli.network_setup import Setup, Training, prepare, refuse_diverged, train_setup
from losslab.errors import LosslabError

WeightsAOpt = Annotated[
    Path | None,
    typer.Option(
        "--weights-a",
        metavar="FILE.pt",
        show_default=False,
        help="Model A's weights (a state dict from torch.save(model.state_dict(), path), read "
        "with weights_only=True), used as they are. Default: train A from --seed.",
    ),
]
WeightsBOpt = Annotated[
    Path | None,
    typer.Option(
        "--weights-b",
        metavar="FILE.pt",
        show_default=False,
        help="Model B's weights, as --weights-a. Default: train B from --seed-b.",
    ),
]
SeedBOpt = Annotated[
    int | None,
    typer.Option(
        "--seed-b",
        min=0,
        show_default=False,
        help="Seed of model B's initial weights and batch order. Default: --seed + 1.",
    ),
]
PairEpochsOpt = Annotated[
    int,
    typer.Option(
        min=0,
        help="Epochs to train each model that no weights file gives (0: the initial weights).",
    ),
]


@dataclass
class Pair:
    """Model A (`a.model`) and model B (`b.model`): one architecture, one data set, one loss."""

    a: Setup
    b: Setup
    seed_b: int

    @property
    def title(self) -> str:
        return self.a.title

    @property
    def data(self):
        return self.a.data

    @property
    def loss(self) -> str:
        return self.a.loss


def prepare_pair(
    model: str,
    dataset: str | None,
    data: Path | None,
    weights_a: Path | None,
    weights_b: Path | None,
    width: int | None,
    depth: int | None,
    seed: int,
    seed_b: int | None,
    loss,
) -> Pair:
    """Build (and load) both models and check they fit the data; nothing is trained yet."""
    a = prepare(model, dataset, data, weights_a, width, depth, seed, loss)
    seed_b = seed + 1 if seed_b is None else seed_b
    if seed_b == seed and weights_a is None and weights_b is None:
        raise LosslabError(
            f"--seed-b {seed_b} equals --seed: both models would be the same network; give "
            "another --seed-b."
        )
    net_b = build_like(a, seed_b, width, depth)
    if weights_b is not None:
        model_loading.load_weights(net_b, weights_b)
    model_loading.check_fit(net_b, a.data, a.loss, a.source.label)
    return Pair(a, replace(a, model=net_b, weights=weights_b), seed_b)


def build_like(setup: Setup, seed: int, width: int | None, depth: int | None) -> nn.Module:
    """A fresh model of `setup`'s architecture (--width, --depth), initialised from `seed`."""
    source = setup.source
    if source.builtin:
        return models.build(source.name, setup.data, width=width, depth=depth, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_loading.build_user_model(source)


def train_pair(pair: Pair, training: Training, track) -> None:
    """Train, in place, each model that no weights file gave (none when --epochs is 0)."""
    if training.epochs == 0:
        return
    for name, setup, seed in (("A", pair.a, training.seed), ("B", pair.b, pair.seed_b)):
        if setup.weights is not None:
            continue
        run = train_setup(
            setup,
            replace(training, seed=seed),
            record_every=max(1, training.n_steps(setup.data.n_train)),
            progress=track(f"training model {name} (seed {seed})"),
        )
        refuse_diverged(run, training.lr)


def where_from(setup: Setup, seed: int, epochs: int) -> str:
    """'trained 10 epochs from seed 1', 'weights from b.pt' or 'initial weights, seed 1'."""
    if setup.weights is not None:
        return f"weights from {setup.weights}"
    if epochs == 0:
        return f"initial weights, seed {seed}"
    return f"trained {epochs} epoch{'s' if epochs != 1 else ''} from seed {seed}"
