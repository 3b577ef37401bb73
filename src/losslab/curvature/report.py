"""`HessianReport`: the figures of one network Hessian in one result (what `losslab hessian
--out report.json` writes): extreme eigenvalues, trace, spectral density, and where they were
taken. Computed by the caller (eigenvalues, trace, density); this is the record."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from losslab.curvature.density import Spectrum
from losslab.curvature.eigen import Eigenpairs
from losslab.curvature.kinds import check_kind
from losslab.curvature.trace import TraceEstimate
from losslab.errors import LosslabError
from losslab.results import Result, summary


@dataclass(frozen=True, eq=False)
class HessianReport(Result):
    """Figures of the Hessian of one objective at one point.

    objective: objective.describe() (plain JSON); model, data: labels of the network and its
        dataset; where: the point in words ("after 20 epochs of training"); params: the
        parameter subset whose block was taken, or None for the whole Hessian.
    top, bottom: the largest / smallest eigenvalues (Eigenpairs without their vectors: a
        report keeps k numbers per figure, not k x n_params), or None when not asked for.
    trace: TraceEstimate or None; density: Spectrum or None.
    kind: the matrix the figures are of, "hessian", "ggn" or "fisher" (each figure records
        its own kind too, and they must agree with it).
    """

    result_type = "hessian_report"
    json_fields = ("objective",)

    objective: dict[str, Any]
    model: str = ""
    data: str = ""
    where: str = ""
    params: tuple[str, ...] | None = None
    top: Eigenpairs | None = None
    bottom: Eigenpairs | None = None
    trace: TraceEstimate | None = None
    density: Spectrum | None = None
    kind: str = "hessian"

    def __repr__(self) -> str:
        parts = {"model": self.model, "data": self.data, "where": self.where}
        if self.params is not None:
            parts["params"] = self.params
        for name in ("top", "bottom"):
            if getattr(self, name) is not None:
                parts[name] = summary.first(getattr(self, name).values)
        if self.trace is not None:
            estimate, error = self.trace.estimate, self.trace.standard_error
            parts["trace"] = summary.raw(f"{summary.number(estimate)} +- {summary.number(error)}")
        if self.density is not None:
            parts["density"] = summary.raw(f"{self.density.grid.numel()} points")
        return summary.compose("HessianReport", **parts)

    def __post_init__(self):
        check_kind(self.kind)
        expected = {"top": Eigenpairs, "bottom": Eigenpairs, "trace": TraceEstimate}
        for name, kind in {**expected, "density": Spectrum}.items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise LosslabError(
                    f"{name} is a {type(value).__name__}, must be a {kind.__name__}."
                )
            if value is not None and value.kind != self.kind:
                raise LosslabError(
                    f"{name} is of the {value.kind!r} matrix, the report of {self.kind!r}: "
                    "compute every figure with the same kind."
                )
        for name in ("top", "bottom"):
            pairs = getattr(self, name)
            if pairs is not None and (pairs.vectors is not None or pairs.index is not None):
                object.__setattr__(self, name, dataclasses.replace(pairs, vectors=None, index=None))
        if self.params is not None:
            object.__setattr__(self, "params", tuple(self.params))
