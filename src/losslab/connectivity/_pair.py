"""Two models that a path can join: the same architecture, so that one parameter vector of
either is a point of the other's function.

    layout = check_pair(model_a, model_b)       # or one LosslabError line on how they differ
    a, b = model_vector(model_a), model_vector(model_b)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from losslab.errors import ArgumentTypeError, LosslabError
from losslab.objectives.adapters import check_materialized
from losslab.params import ParamLayout


def check_pair(model_a: nn.Module, model_b: nn.Module) -> ParamLayout:
    """The one ParamLayout both models share; else one line saying where they differ
    (parameter names, shapes, module types, dtype, device, buffers)."""
    for label, model in (("model_a", model_a), ("model_b", model_b)):
        if not isinstance(model, nn.Module):
            raise ArgumentTypeError(
                f"{label} is a {type(model).__name__}, must be a torch nn.Module."
            )
        check_materialized(model)
    layout_a, layout_b = ParamLayout.of(model_a), ParamLayout.of(model_b)
    if layout_a != layout_b:
        raise LosslabError(_layout_difference(layout_a, layout_b))
    types_a = [(n, type(m).__name__) for n, m in model_a.named_modules()]
    types_b = [(n, type(m).__name__) for n, m in model_b.named_modules()]
    if types_a != types_b:
        (name, kind_a), (_, kind_b) = next(
            (x, y) for x, y in zip(types_a, types_b, strict=False) if x != y
        )
        raise LosslabError(
            f"model_a and model_b differ in module '{name or '(root)'}': {kind_a} vs {kind_b}; "
            "a path joins two models of the same architecture."
        )
    (pa, pb) = (next(model_a.parameters()), next(model_b.parameters()))
    if pa.dtype != pb.dtype or pa.device != pb.device:
        raise LosslabError(
            f"model_a's parameters are {pa.dtype} on {pa.device}, model_b's {pb.dtype} on "
            f"{pb.device}: move both to one dtype and device (model_b.to(...))."
        )
    frozen_b = {n: p for n, p in model_b.named_parameters() if not p.requires_grad}
    for name, value in model_a.named_parameters():
        if not value.requires_grad and not torch.equal(value, frozen_b[name]):
            raise LosslabError(
                f"model_a and model_b differ in the frozen parameter '{name}' (requires_grad="
                "False): a path moves the trainable parameters only; make it equal in both, "
                "or trainable in both."
            )
    buffers_a = {n: tuple(b.shape) for n, b in model_a.named_buffers()}
    buffers_b = {n: tuple(b.shape) for n, b in model_b.named_buffers()}
    if buffers_a != buffers_b:
        name = sorted(set(buffers_a.items()) ^ set(buffers_b.items()))[0][0]
        raise LosslabError(
            f"model_a and model_b differ in buffer '{name}': "
            f"{buffers_a.get(name, 'absent')} vs {buffers_b.get(name, 'absent')}."
        )
    return layout_a


def _layout_difference(a: ParamLayout, b: ParamLayout) -> str:
    """One line: the first parameter whose name or shape differs, and the counts."""
    counts = f"({a.n_params} vs {b.n_params} parameters)"
    for index, (na, nb) in enumerate(zip(a.names, b.names, strict=False)):
        if na != nb:
            return (
                f"model_a and model_b have different parameters {counts}: parameter {index} "
                f"is '{na}' in model_a, '{nb}' in model_b; a path joins two models of one "
                "architecture."
            )
    for name, sa, sb in zip(a.names, a.shapes, b.shapes, strict=False):
        if sa != sb:
            return (
                f"model_a and model_b have different shapes {counts}: '{name}' is {sa} in "
                f"model_a, {sb} in model_b; a path joins two models of one architecture."
            )
    longer, extra = (
        ("model_a", a.names[len(b.names)])
        if len(a.names) > len(b.names)
        else (
            "model_b",
            b.names[len(a.names)],
        )
    )
    return (
        f"model_a and model_b have different parameters {counts}: only {longer} has "
        f"'{extra}'; a path joins two models of one architecture."
    )


def differing_buffers(model_a: nn.Module, model_b: nn.Module) -> list[str]:
    """Names of the buffers whose values differ between the two models (same names)."""
    named_b = dict(model_b.named_buffers())
    return [n for n, value in model_a.named_buffers() if not torch.equal(value, named_b[n])]


def interpolated_buffers(model_a: nn.Module, model_b: nn.Module, t: float) -> dict[str, Tensor]:
    """{name: (1 - t) a + t b} for every floating buffer (BatchNorm running statistics);
    other buffers (num_batches_tracked) are model_a's."""
    named_b = dict(model_b.named_buffers())
    out = {}
    for name, value in model_a.named_buffers():
        if value.is_floating_point():
            out[name] = torch.lerp(value, named_b[name], t)  # exactly a at t=0, b at t=1
        else:
            out[name] = value.clone()
    return out
