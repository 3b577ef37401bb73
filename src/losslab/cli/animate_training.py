"""`losslab animate training`: a network's training path moving over the loss on the plane of
its PCA directions, with the training loss per step beside it (what loss-landscape-anim draws,
without ImageMagick).

    losslab animate training --model mlp --dataset digits --epochs 10 --out training.mp4

Train (the options of `losslab train`) -> PCA directions of the recorded trajectory -> the
landscape on that plane, just wide enough for the whole path (`losslab.landscape`, as
`losslab landscape --directions pca` computes it) -> the animation.
"""

from __future__ import annotations

from typing import Annotated

import typer

from losslab.cli.animation_options import FpsOpt, FramesOpt, OutsOpt, SizeOpt, Video
from losslab.cli.network_options import (
    PCA_RECORDS,
    BatchNormChoice,
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


def training_command(
    out: OutsOpt,
    model: ModelOpt = "mlp",
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    weights: WeightsOpt = None,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training set.")] = 10,
    optimizer: OptimizerOpt = OptimizerChoice.sgd,
    lr: LrOpt = 0.1,
    momentum: MomentumOpt = 0.0,
    batch_size: BatchSizeOpt = 64,
    loss: LossOpt = None,
    seed: SeedOpt = 0,
    resolution: Annotated[
        int, typer.Option(min=5, max=201, help="Grid points per axis of the PCA plane.")
    ] = 41,
    log: Annotated[bool, typer.Option(help="Colour the plane by log10 of the loss.")] = True,
    frames: FramesOpt = 100,
    fps: FpsOpt = 25,
    size: SizeOpt = "640x480",
) -> None:
    """A network's training path moving over its loss landscape, the loss curve beside it.

    The landscape is the plane of the path's two principal directions (PCA), just wide enough
    for the whole path.

    losslab animate training --model mlp --dataset digits --epochs 10 --out training.mp4
    """
    from losslab import directions
    from losslab._checks import check_positive
    from losslab.cli.errors import computing
    from losslab.cli.network import path_span
    from losslab.cli.network_setup import (
        Training,
        network_objective,
        prepare,
        refuse_diverged,
        train_setup,
    )
    from losslab.cli.progress import progress_bar
    from losslab.cli.render import console, number
    from losslab.landscapes import landscape
    from losslab.plot.animation import training_animation

    video = Video(out, frames, fps, size)
    check_positive("lr", lr)
    setup = prepare(model, dataset, data, weights, width, depth, seed, loss)
    training = Training(epochs, optimizer, lr, momentum, batch_size, seed)
    with progress_bar() as track:
        run = train_setup(
            setup,
            training,
            record_every=max(1, training.n_steps(setup.data.n_train) // PCA_RECORDS),
            progress=track(f"training {setup.title}"),
        )
        refuse_diverged(run, lr)
        objective = network_objective(setup, None, seed, BatchNormChoice.eval)
        with computing(f"the PCA directions of {setup.title}'s training path"):
            chosen = directions.pca(run, n=2)
        title = f"{setup.title}: training on its PCA plane"
        with computing(f"computing the landscape of {setup.title}"):
            plane = landscape(
                objective,
                chosen,
                span=path_span(run, chosen),
                resolution=resolution,
                metrics=["loss"],
                progress=track("landscape on the PCA plane"),
                metadata={"title": title},
            )
    console().print(
        f"trained {setup.title} for {epochs} epochs ({run.n_steps} steps, {run.n_records} "
        f"points recorded): loss {number(run.train_loss[0])} -> {number(run.train_loss[-1])}"
    )
    video.write(training_animation(plane, run, frames, log=log, title=title))
