"""Hessian directions: the sharpest axes of a landscape slice.

`hessian_directions(objective, n)` returns the unit eigenvectors of the Hessian's `n` largest
eigenvalues as a `losslab.directions.Directions`, so a landscape or a curvature map can slice
along them. It lives in curvature (layer 3) because it computes with Lanczos; the
`directions` module (layer 2) only holds the container and the directions that need no
curvature.
"""

from __future__ import annotations

import torch
from torch import nn

from losslab._checks import check_count, check_seed
from losslab.curvature.eigen import eigenvalues
from losslab.curvature.kinds import check_kind
from losslab.curvature.operators import resolve_point
from losslab.directions import Directions, flat_layout
from losslab.errors import LosslabError
from losslab.objectives.model import ModelObjective


def hessian_directions(
    objective_or_model,
    n: int = 2,
    *,
    loss_fn=None,
    data=None,
    at=None,
    params=None,
    tol: float = 1e-4,
    seed: int = 0,
    kind: str = "hessian",
) -> Directions:
    """The `n` sharpest directions: unit eigenvectors of the Hessian's `n` largest eigenvalues.

    objective_or_model: an objective (a ModelObjective, or a surface with `at`), or a model
        with `loss_fn` and `data` (then `ModelObjective(model, loss_fn, data)` is used).
    at: the point (default: the objective's own weights); it is the directions' `origin`.
    params: a parameter subset (module prefix, name or list): eigenvectors of that block,
        zero on every other parameter.
    Computed by `losslab.curvature.eigenvalues(..., which="largest", tol=tol, seed=seed)`:
    orthonormal, in descending order of eigenvalue, each signed so that its largest-|.| entry
    is positive. Float64 vectors (n, n_params), kind "hessian".
    kind: "hessian", or "ggn" / "fisher" for the sharpest directions of the Gauss-Newton or
    empirical Fisher matrix (the Directions' kind then reads "ggn" / "fisher").
    """
    check_kind(kind)
    check_count("n", n)
    check_seed(seed)
    objective = objective_or_model
    if isinstance(objective_or_model, nn.Module):
        if loss_fn is None or data is None:
            raise LosslabError(
                "hessian directions of a model need its loss and data: pass loss_fn= and "
                "data=, or a ModelObjective."
            )
        objective = ModelObjective(objective_or_model, loss_fn, data)
    elif loss_fn is not None or data is not None:
        raise LosslabError("loss_fn and data are for a model; this is already an objective.")
    result = eigenvalues(
        objective, k=n, which="largest", tol=tol, seed=seed, at=at, params=params, kind=kind
    )
    layout = objective.layout if objective.layout is not None else flat_layout(objective.n_params)
    origin = resolve_point(objective, at).detach().to("cpu", torch.float64)
    return Directions(result.full_vectors(), layout, kind, seed=seed, origin=origin)
