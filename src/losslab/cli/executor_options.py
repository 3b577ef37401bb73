"""--executor, --address, --cpus-per-task, --gpus-per-task: who runs a command's units of work
(landscape chunks, curvature probes, width-sweep cells), shared by the commands that have them.

    losslab landscape ... --executor ray                   Ray on this machine
    losslab landscape ... --executor ray --address auto    a running Ray cluster
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from losslab.cli.user_code import USER_MODULE_PREFIX
from losslab.errors import LosslabError
from losslab.executors import Executor, executor_of


class ExecutorChoice(StrEnum):
    local = "local"
    ray = "ray"


ExecutorOpt = Annotated[
    ExecutorChoice,
    typer.Option(
        help="Who runs the units of work: local (this process) or ray (Ray tasks on this "
        "machine, or on the cluster of --address; needs pip install 'losslab[ray]').",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        metavar="ADDR",
        show_default=False,
        help="With --executor ray: 'auto' joins the Ray cluster this machine belongs to, "
        "HOST:PORT a given one. Default: start Ray on this machine.",
    ),
]
CpusPerTaskOpt = Annotated[
    float, typer.Option(min=0, help="With --executor ray: CPUs each task reserves.")
]
GpusPerTaskOpt = Annotated[
    float,
    typer.Option(
        min=0, help="With --executor ray: GPUs each task reserves (0.25: four tasks per GPU)."
    ),
]


def executor_from(
    choice: ExecutorChoice, address: str | None, cpus_per_task: float, gpus_per_task: float
) -> Executor:
    """The executor the options ask for; Ray options without --executor ray are refused."""
    if choice is ExecutorChoice.local:
        given = [
            name
            for name, value, default in (
                ("--address", address, None),
                ("--cpus-per-task", cpus_per_task, 1.0),
                ("--gpus-per-task", gpus_per_task, 0.0),
            )
            if value != default
        ]
        if given:
            raise LosslabError(f"{', '.join(given)} only apply with --executor ray.")
        return executor_of("local")
    return executor_of(
        "ray",
        address=address,
        cpus_per_task=cpus_per_task,
        gpus_per_task=gpus_per_task,
        by_value=(USER_MODULE_PREFIX,),  # --model net.py:make: the workers cannot import it
    )
