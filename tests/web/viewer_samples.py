"""Small computed result files for the viewer's tests: a network landscape on the PCA plane of
its own training run, with that run, and a file that is not a losslab result."""

from __future__ import annotations

import base64
from pathlib import Path

import torch
from torch import nn

import losslab as ll
from losslab.objectives.model import ModelObjective


def computed(folder: Path) -> tuple[Path, Path]:
    """(land.h5, run.json): a 2-4-2 MLP trained on 32 random points, its loss and accuracy on
    an 11 x 9 grid of the PCA plane of its trajectory."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    X, y = torch.randn(32, 2), torch.randint(0, 2, (32,))
    run = ll.train(model, (X, y), lr=0.5, epochs=6, batch_size=8)
    run_path = folder / "run.json"
    run.save(run_path)
    objective = ModelObjective(model, "cross_entropy", (X, y))
    directions = ll.directions.pca(run)
    land_path = folder / "land.h5"
    ll.landscape(
        objective,
        directions,
        span=[(-1.0, 1.0), (-0.5, 0.5)],
        resolution=[11, 9],
        metrics=["loss", "accuracy"],
        out=land_path,
    )
    return land_path, run_path


def data_url(path: Path) -> str:
    """What dcc.Upload sends for a file."""
    return "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()
