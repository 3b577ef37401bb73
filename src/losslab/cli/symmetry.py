"""`losslab permute` and `losslab match`: the permutation symmetry of a network, shown and
undone.

    losslab permute --model mlp --dataset digits --seed 3 --out perm.json --save-weights p.pt
    losslab match --model mlp --dataset digits --epochs 20 --out match.json

permute: one model, a random reordering of every hidden-unit group; it computes the same
function (the largest output difference on the data is float rounding) with weights far away.
match: two models (trained from two seeds, or two state-dict files), Git Re-Basin weight
matching of B's units onto A's, the distance before and after. Everything is checked before
any training, so bad input ends as one line, exit code 2, and no file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer
from torch import nn

from losslab._checks import check_positive
from losslab.cli.errors import computing
from losslab.cli.matching import groups_table, match
from losslab.cli.network_options import (
    RUN_FORMATS,
    WEIGHT_FORMATS,
    BatchSizeOpt,
    DataOpt,
    DatasetOpt,
    DepthOpt,
    LossOpt,
    LrOpt,
    ModelOpt,
    MomentumOpt,
    OptimizerChoice,
    OptimizerOpt,
    SeedOpt,
    WeightsOpt,
    WidthOpt,
)
from losslab.cli.network_setup import (
    Training,
    check_out,
    distinct,
    prepare,
    refuse_diverged,
    train_setup,
)
from losslab.cli.outputs import write_all
from losslab.cli.pair_setup import (
    PairEpochsOpt,
    SeedBOpt,
    WeightsAOpt,
    WeightsBOpt,
    prepare_pair,
    train_pair,
    where_from,
)
from losslab.cli.progress import progress_bar
from losslab.cli.render import console, number
from losslab.io import atomic_open

OUTPUT_CHUNK = 4096  # samples per forward pass when comparing the two models' outputs

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="FILE",
        show_default=False,
        help="Write the Permutation (.json or .h5): its groups by parameter names and one "
        "order per group; load it with ll.load_result and apply it with "
        "losslab.symmetry.permute.",
    ),
]


def permute_command(
    model: ModelOpt = "mlp",
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    weights: WeightsOpt = None,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    epochs: Annotated[
        int,
        typer.Option(
            min=0, help="Train this many epochs first (0: the weights as built or given)."
        ),
    ] = 0,
    optimizer: OptimizerOpt = OptimizerChoice.sgd,
    lr: LrOpt = 0.1,
    momentum: MomentumOpt = 0.0,
    batch_size: BatchSizeOpt = 64,
    loss: LossOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    save_weights: Annotated[
        Path | None,
        typer.Option(
            "--save-weights",
            metavar="FILE.pt",
            show_default=False,
            help="Also write the permuted model's state dict (torch.save), e.g. for "
            "'losslab match --weights-b FILE.pt'.",
        ),
    ] = None,
) -> None:
    """Reorder a network's hidden units at random: the same function, far-away weights.

    losslab permute --model mlp --dataset digits --seed 3 --out perm.json
    """
    out = check_out(out, RUN_FORMATS, "--out")
    save_weights = check_out(save_weights, WEIGHT_FORMATS, "--save-weights")
    distinct(out, save_weights)
    check_positive("lr", lr)
    setup = prepare(model, dataset, data, weights, width, depth, seed, loss)
    from losslab.symmetry import parameter_distance, permute, random_permutation

    with computing(f"finding the permutation groups of {setup.title}"):
        permutation = random_permutation(setup.model, seed=seed)  # refuses a model it cannot
    if epochs > 0:
        training = Training(epochs, optimizer, lr, momentum, batch_size, seed)
        with progress_bar() as track:
            run = train_setup(
                setup,
                training,
                record_every=max(1, training.n_steps(setup.data.n_train)),
                progress=track(f"training {setup.title}"),
            )
        refuse_diverged(run, lr)
    with computing(f"permuting {setup.title}"):
        permuted = permute(setup.model, permutation)
        difference, n_samples = max_output_difference(setup.model, permuted, setup.data)
        distance = parameter_distance(setup.model, permuted)
    norm = float(torch.linalg.vector_norm(_vector(setup.model)))
    printer = console()
    where = (
        f"after {epochs} epoch{'s' if epochs != 1 else ''}"
        if epochs
        else ("as given" if weights else "as built")
    )
    printer.print(
        f"{setup.title} ({setup.n_params} parameters, weights {where}), permuted with seed "
        f"{seed}: {permutation.n_moved} of {sum(permutation.sizes)} hidden units moved"
    )
    printer.print(groups_table(permutation, f"permutation groups of {setup.source.label}"))
    printer.print(
        f"largest output difference on {n_samples} training samples: {number(difference, 3)} "
        f"({_tolerance_text(difference, permuted)})"
    )
    printer.print(
        f"parameter distance |original - permuted|: {number(distance, 5)} (the weights' own "
        f"norm is {number(norm, 5)})"
    )
    writers = []
    if out is not None:
        writers.append((out, permutation.save))
    if save_weights is not None:
        writers.append((save_weights, lambda path: _save_state(permuted, path)))
    for written in write_all(writers):
        printer.print(f"wrote {written}")


def match_command(
    model: ModelOpt = "mlp",
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    weights_a: WeightsAOpt = None,
    weights_b: WeightsBOpt = None,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    epochs: PairEpochsOpt = 20,
    optimizer: OptimizerOpt = OptimizerChoice.sgd,
    lr: LrOpt = 0.1,
    momentum: MomentumOpt = 0.0,
    batch_size: BatchSizeOpt = 64,
    loss: LossOpt = None,
    seed: SeedOpt = 0,
    seed_b: SeedBOpt = None,
    max_iter: Annotated[
        int, typer.Option(min=1, help="Most passes of coordinate descent over the groups.")
    ] = 100,
    out: OutOpt = None,
    save_weights: Annotated[
        Path | None,
        typer.Option(
            "--save-weights",
            metavar="FILE.pt",
            show_default=False,
            help="Also write model B aligned to A (its state dict, torch.save).",
        ),
    ] = None,
) -> None:
    """Align two networks: permute B's hidden units to best fit A's (Git Re-Basin weight
    matching), and print how much closer their weights come.

    losslab match --model mlp --dataset digits --epochs 20 --out match.json
    """
    out = check_out(out, RUN_FORMATS, "--out")
    save_weights = check_out(save_weights, WEIGHT_FORMATS, "--save-weights")
    distinct(out, save_weights)
    check_positive("lr", lr)
    pair = prepare_pair(
        model, dataset, data, weights_a, weights_b, width, depth, seed, seed_b, loss
    )
    with computing(f"finding the permutation groups of {pair.title}"):
        from losslab.symmetry import permutation_groups

        permutation_groups(pair.a.model)  # a model it cannot handle: refused before training
    training = Training(epochs, optimizer, lr, momentum, batch_size, seed)
    with progress_bar() as track:
        train_pair(pair, training, track)
    with computing("weight matching model B to model A"):
        matching = match(pair.a.model, pair.b.model, max_iter=max_iter, seed=seed)
        difference, n_samples = max_output_difference(pair.b.model, matching.aligned, pair.data)
    printer = console()
    printer.print(
        f"{pair.title}, {pair.a.n_params} parameters: model A {where_from(pair.a, seed, epochs)}"
        f", model B {where_from(pair.b, pair.seed_b, epochs)}"
    )
    printer.print(groups_table(matching.permutation, "weight matching of B's units to A's"))
    printer.print(matching.summary())
    printer.print(
        f"aligned B computes B's function: largest output difference on {n_samples} "
        f"training samples {number(difference, 3)}"
    )
    writers = []
    if out is not None:
        writers.append((out, matching.permutation.save))
    if save_weights is not None:
        writers.append((save_weights, lambda path: _save_state(matching.aligned, path)))
    for written in write_all(writers):
        printer.print(f"wrote {written}")


# -- helpers ------------------------------------------------------------------------------------


def max_output_difference(model: nn.Module, other: nn.Module, dataset) -> tuple[float, int]:
    """(max |model(x) - other(x)| over the training split, in eval mode; samples compared)."""
    X = dataset.X_train
    modes = [(m, m.training) for m in (*model.modules(), *other.modules())]
    model.eval()
    other.eval()
    largest = 0.0
    try:
        with torch.no_grad():
            for start in range(0, len(X), OUTPUT_CHUNK):
                x = X[start : start + OUTPUT_CHUNK]
                gap = (model(x).double() - other(x).double()).abs()
                largest = max(largest, float(gap.max()) if gap.numel() else 0.0)
    finally:
        for module, mode in modes:
            module.training = mode
    return largest, len(X)


def _tolerance_text(difference: float, model: nn.Module) -> str:
    dtype = next(model.parameters()).dtype
    eps = torch.finfo(dtype).eps
    return (
        f"float rounding: {difference / eps:.0f} x the {str(dtype).removeprefix('torch.')} eps"
        if difference <= 1e4 * eps
        else "NOT the same function"
    )


def _vector(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])


def _save_state(model: nn.Module, path: Path) -> Path:
    with atomic_open(path, "wb") as handle:
        torch.save(model.state_dict(), handle)
    return path
