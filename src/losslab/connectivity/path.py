"""`Path`: metrics along a path between two trained models, and its barrier.

A path is plain data: the positions t along it (t=0 is model_a, t=1 model_b), the metrics at
each position, the parameter vectors it is built from (its anchors) and how it was made:

    kind "linear":  theta(t) = (1 - t) a + t b                         anchors [a, b]
    kind "bezier":  theta(t) = (1 - t)^2 a + 2 t (1 - t) c + t^2 b     anchors [a, b, c]

The barrier of a metric is the largest gap between the metric along the path and the straight
line between its values at the two ends (Frankle et al. 2020, Ainsworth et al. 2022):

    loss:      max_t [ L(t) - ((1 - t) L(0) + t L(1)) ]     how far the loss rises
    accuracy:  max_t [ ((1 - t) A(0) + t A(1)) - A(t) ]     how far the accuracy drops

Both are >= 0 (t=0 is on the path, where the gap is 0); about 0 means the two models are
linearly (or, for a Bezier curve, quadratically) connected at that resolution of t.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.params import ParamLayout
from losslab.results import Result
from losslab.results.kinds import FloatArray
from losslab.results.summary import compose, number, raw

KINDS = {"linear": 2, "bezier": 3}  # kind -> anchor rows
BN_VALUES = ("recompute", "eval", "none")  # "none": the model has no BatchNorm
# metric -> +1 where a rise above the line is the barrier (a loss), -1 where a drop is
BARRIER_SIGNS = {"loss": 1.0, "accuracy": -1.0}


def barriers(t: Tensor, values: dict[str, Tensor]) -> dict[str, float]:
    """{metric: barrier} for the metrics of BARRIER_SIGNS in `values` (see the module
    docstring); t (n_points,), each value (n_points,). float64 arithmetic."""
    return {
        metric: float((sign * excess(t, values[metric])).max()) + 0.0  # never -0.0
        for metric, sign in BARRIER_SIGNS.items()
        if metric in values
    }


def excess(t: Tensor, value: Tensor) -> Tensor:
    """value(t) - ((1 - t) value(0) + t value(1)): (n_points,) float64, the signed gap
    between a metric along the path and the straight line between its ends."""
    t, value = t.double(), value.double()
    return value - ((1 - t) * value[0] + t * value[-1])


@dataclass(frozen=True, eq=False)
class Path(Result):
    """Metrics along a path from model_a (t=0) to model_b (t=1).

    kind:       "linear" | "bezier"
    t:          float64 (n_points,), increasing from 0 to 1
    values:     metric -> float64 (n_points,): "loss", and "accuracy" for classification
    barrier:    metric -> float, for "loss" and "accuracy" (see the module docstring)
    anchors:    (2, n_params) [a, b] for a line; (3, n_params) [a, b, control] for a Bezier
                curve, in `layout` order, the models' dtype
    names, shapes: the `ParamLayout` of the models
    bn:         how BatchNorm was evaluated: "recompute" (statistics of the data at each
                point), "eval" (running statistics interpolated between the two models),
                "none" (the model has no BatchNorm)
    seconds:    wall time of the whole call (Bezier: training included)
    train_loss: float64 (epochs,) mean training loss per epoch of the Bezier control point;
                empty for a line
    settings:   plain JSON on how it was made (loss, n_points, and for a Bezier curve epochs,
                lr, seed, optimizer, batch_size, ...)
    """

    result_type = "connectivity_path"
    json_fields = ("settings",)

    kind: str
    t: FloatArray
    values: dict[str, FloatArray]
    barrier: dict[str, float]
    anchors: FloatArray
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    bn: str = "none"
    seconds: float = 0.0
    train_loss: FloatArray = field(default_factory=lambda: torch.zeros(0, dtype=torch.float64))
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        coerce = object.__setattr__
        coerce(self, "t", torch.as_tensor(self.t).to(torch.float64))
        coerce(
            self, "values", {str(k): torch.as_tensor(v).double() for k, v in self.values.items()}
        )
        coerce(self, "barrier", {str(k): float(v) for k, v in self.barrier.items()})
        coerce(self, "train_loss", torch.as_tensor(self.train_loss).to(torch.float64))
        coerce(self, "names", tuple(self.names))
        coerce(self, "shapes", tuple(tuple(s) for s in self.shapes))
        coerce(self, "settings", dict(self.settings))
        if self.kind not in KINDS:
            raise LosslabError(f"kind == {self.kind!r}, must be one of {tuple(KINDS)}.")
        if self.bn not in BN_VALUES:
            raise LosslabError(f"bn == {self.bn!r}, must be one of {BN_VALUES}.")
        t = self.t
        if t.ndim != 1 or len(t) < 2:
            raise LosslabError(f"t has shape {tuple(t.shape)}, must be (n_points,), n_points >= 2.")
        if not torch.isfinite(t).all() or bool((t[1:] <= t[:-1]).any()):
            raise LosslabError("t must increase strictly, with finite values.")
        if float(t[0]) != 0.0 or float(t[-1]) != 1.0:
            raise LosslabError(
                f"t runs from {float(t[0]):g} to {float(t[-1]):g}; a path runs from t=0 "
                "(model_a) to t=1 (model_b)."
            )
        if "loss" not in self.values:
            raise LosslabError("values has no 'loss': a path records the loss at each point.")
        for name, value in self.values.items():
            if tuple(value.shape) != tuple(t.shape):
                raise LosslabError(
                    f"values['{name}'] has shape {tuple(value.shape)}, t has {tuple(t.shape)}."
                )
        unknown = sorted(set(self.barrier) - set(self.values))
        if unknown:
            raise LosslabError(f"barrier of {unknown}, which values does not hold.")
        rows = KINDS[self.kind]
        if len(self.names) != len(self.shapes) or any(d < 0 for s in self.shapes for d in s):
            raise LosslabError("names and shapes must pair each parameter with its shape.")
        n_params = self.layout.n_params
        if tuple(self.anchors.shape) != (rows, n_params):
            raise LosslabError(
                f"anchors has shape {tuple(self.anchors.shape)}; a {self.kind} path has "
                f"({rows}, n_params) anchors, n_params == {n_params} for its names and shapes."
            )
        if self.train_loss.ndim != 1:
            raise LosslabError(
                f"train_loss has shape {tuple(self.train_loss.shape)}, must be (epochs,)."
            )

    # -- what the path is -----------------------------------------------------------------------

    @property
    def layout(self) -> ParamLayout:
        return ParamLayout(self.names, self.shapes)

    @property
    def n_points(self) -> int:
        return len(self.t)

    @property
    def model_a(self) -> Tensor:
        """(n_params,) the parameters at t=0."""
        return self.anchors[0]

    @property
    def model_b(self) -> Tensor:
        """(n_params,) the parameters at t=1."""
        return self.anchors[1]

    @property
    def control(self) -> Tensor | None:
        """(n_params,) the Bezier control point; None for a line."""
        return self.anchors[2] if self.kind == "bezier" else None

    def point(self, t: float | Tensor) -> Tensor:
        """The parameters at position(s) t: (n_params,) for a number, (P, n_params) for
        P positions; any t in [0, 1], not only those evaluated."""
        s = torch.as_tensor(t, dtype=self.anchors.dtype, device=self.anchors.device)
        single = s.ndim == 0
        s = s.reshape(-1, 1)
        a, b = self.model_a, self.model_b
        if self.kind == "linear":
            points = (1 - s) * a + s * b
        else:
            points = (1 - s) ** 2 * a + 2 * s * (1 - s) * self.control + s**2 * b
        return points[0] if single else points

    def line(self, metric: str = "loss") -> Tensor:
        """(n_points,) the straight line between the metric's values at t=0 and t=1."""
        value = self._metric(metric)
        return (1 - self.t) * value[0] + self.t * value[-1]

    def excess(self, metric: str = "loss") -> Tensor:
        """(n_points,) the metric minus that line (positive where a loss rises above it)."""
        return excess(self.t, self._metric(metric))

    def _metric(self, metric: str) -> Tensor:
        if metric not in self.values:
            raise LosslabError(
                f"metric {metric!r} is not on this path; it holds {', '.join(self.values)}."
            )
        return self.values[metric]

    def __repr__(self) -> str:
        heads = {f"{name}_barrier": raw(number(value)) for name, value in self.barrier.items()}
        ends = {
            name: raw(f"{number(value[0])} -> {number(value[-1])}")
            for name, value in self.values.items()
        }
        epochs = {"epochs": len(self.train_loss)} if len(self.train_loss) else {}
        return compose(
            "Path",
            repr(self.kind),
            n_points=self.n_points,
            n_params=self.layout.n_params,
            **heads,
            **ends,
            bn=self.bn,
            **epochs,
            seconds=raw(f"{self.seconds:.3g}"),
        )
