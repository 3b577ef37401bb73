"""The fast path of a network objective: a compiled Sequential program and its plans.

`FastPath` holds what a `Program` (see `_sequential`) needs at every point: its constants
and three decisions:
- `columns`: whether inference ends in logits as columns (out, N) for the loss;
- `slice_pays(k)`: whether a slice combines precomputed first-layer outputs;
- `first_layer_pieces(origin, dirs, ...)`: those outputs on a batch, cached for the slice
  last asked for when the data is one batch (a landscape asks once per chunk with the same
  slice).
The data comes per call, prepared for the first layer (`prepare`) once per batch.
`check_program` runs the program at the origin on a few samples against the model's own
forward; a program that disagrees is not used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from losslab.objectives._losses import LossSpec
from losslab.objectives._sequential import Context, Prepared, Program
from losslab.objectives._workspace import Workspace
from losslab.params import ParamLayout


class FastPath:
    """A program bound to a parameter layout; the data comes per call as `Prepared` inputs
    (`prepare(x)` of a batch, made once per batch and kept by the caller while they fit).

    columns: whether inference ends in logits as columns (see `columns_pay`).
    """

    def __init__(self, program: Program, layout: ParamLayout, columns: bool):
        names = set(layout.names)
        # Frozen parameters and buffers are the program's constants; the trainable ones come
        # from each point's vector. Cloned: the model may change after construction.
        program.constants = {k: v.clone() for k, v in program.constants.items() if k not in names}
        program.set_layout(layout.names, layout.shapes)
        self.program, self.layout = program, layout
        self.columns = columns
        self.slice_trick: bool | None = None  # None: decide by cost (tests force it)
        self._slice_cache: tuple | None = None

    def prepare(self, x: Tensor) -> Prepared:
        """The first layer's input for a batch x (N, ...): see `Program.prepare`."""
        return self.program.prepare(x)

    def outputs(
        self,
        point: Tensor,
        prepared: Prepared,
        prepared_train: Prepared | None = None,
        *,
        grad: bool,
        first: tuple[Tensor | None, Tensor | None] | None = None,
        columns: bool = False,
        workspace: Workspace | None = None,
    ) -> Tensor:
        """Outputs (N, ...) on a prepared batch at one point (n_params,), or (out, N) with
        `columns`. prepared_train: the inputs BatchNorm statistics are recomputed on (all
        the train data, bn="recompute"), or None.

        first: the first layer's outputs (on the batch, on the train data) when the caller
        has them (a slice), else None. In inference, large intermediates go to `workspace`.
        """
        program = self.program
        get = program.vector_getter(point, grad)
        z, z_train = first if first is not None else (None, None)
        stats = None
        if prepared_train is not None:
            collect: list = []
            ctx = Context(grad=grad, collect=collect, inplace=not grad, workspace=workspace)
            if z_train is None:
                z_train = program.first_output(prepared_train, get, ctx)
            program.run_from_first(z_train, get, ctx, stop=program.last_batchnorm)
            stats = collect
        ctx = Context(grad=grad, stats=stats, inplace=not grad, workspace=workspace)
        if z is None:
            z = program.first_output(prepared, get, ctx)
        if columns:
            return program.run_columns_from_first(z, get, ctx)
        return program.run_from_first(z, get, ctx)

    def slice_pays(self, origin: Tensor, k: int) -> bool:
        """Whether a slice of k directions combines precomputed first-layer outputs."""
        program = self.program
        names = program.ops[program.first].names
        # A frozen weight or bias of the first layer is no part of the vector, so no
        # direction moves it: the pieces below assume every one of them is trainable.
        if program.first_layer is None or not set(names) <= set(self.layout.names):
            return False
        if self.slice_trick is not None:
            return self.slice_trick
        weight = self.layout.unflatten(origin)[names[0]]
        return program.first_layer.pays_on_slice(weight, k)

    def first_layer_pieces(
        self,
        origin: Tensor,
        dirs: Tensor,
        prepared: Prepared,
        prepared_train: Prepared | None,
        cache: bool,
    ) -> tuple[list[Tensor], list[Tensor] | None]:
        """[Z0, Zd_1, ..., Zd_k] of the first layer on the batch (and on the train data).

        cache: keep them for the slice last asked for, by value of (origin, directions): a
        landscape asks once per chunk with the same slice. Only for data of one batch; with
        several, each call makes each batch's pieces once for all its points."""
        kept = self._slice_cache  # one read: another thread may replace it meanwhile
        if cache and kept is not None and _equal(kept[0], origin) and _equal(kept[1], dirs):
            return kept[2], kept[3]
        program = self.program
        layer = program.first_layer
        names = program.ops[program.first].names  # (weight[, bias]), all trainable
        with torch.inference_mode():
            parts = [self.layout.unflatten(v) for v in [origin, *dirs]]
            weights = [(p[names[0]], p[names[1]] if len(names) > 1 else None) for p in parts]
            pieces = [layer.apply(prepared, w, b) for w, b in weights]
            train = None
            if prepared_train is not None:
                train = [layer.apply(prepared_train, w, b) for w, b in weights]
        if cache:
            self._slice_cache = (origin.detach().clone(), dirs.detach().clone(), pieces, train)
        return pieces, train


def _equal(kept: Tensor, tensor: Tensor) -> bool:
    """Whether `tensor` has the values `kept` (a copy the cache made); on the CPU through
    numpy, in one thread. torch.equal on a large vector runs an OpenMP region in the
    caller's thread, whose idle team then spins for milliseconds against the pool's workers:
    measured on W1 of benchmarks/landscape.py, 7 ms of CPU time for each chunk of 64 points,
    which made ll.landscape's chunks 12% dearer than one call."""
    if kept.shape != tensor.shape or kept.dtype != tensor.dtype:
        return False
    if tensor.device.type == "cpu" and tensor.dtype != torch.bfloat16:  # numpy has no bfloat16
        return bool(np.array_equal(kept.numpy(), tensor.detach().numpy()))
    return torch.equal(kept, tensor)


def combine(
    pieces: list[Tensor] | None, coefficients: Sequence[float], workspace, owner: str
) -> Tensor | None:
    """Z0 + sum_i c_i Zd_i, in the workspace's buffer of `owner` if there is a workspace, else
    a new tensor; never in the pieces, which are shared between points and workers."""
    if pieces is None:
        return None
    out = None if workspace is None else workspace.buffer(owner, pieces[0].shape, pieces[0])
    z = torch.add(pieces[0], pieces[1], alpha=coefficients[0], out=out)
    for piece, c in zip(pieces[2:], coefficients[1:], strict=True):
        z.add_(piece, alpha=c)
    return z


def check_program(
    program: Program, params: dict[str, Tensor], x: Tensor, reference: Tensor
) -> tuple[bool, int]:
    """(whether the program reproduces `reference`, the model's outputs on x at `params`,
    the largest activation's number of elements on x). Any failure counts as a mismatch."""
    try:
        with torch.no_grad():
            get = program.getter(params)
            z = program.first_output(program.prepare(x), get, Context())
            peak = z.numel()
            for op in program.ops[program.first + 1 :]:
                z = op.run(z, get, Context())
                peak = max(peak, z.numel())
        tolerance = 1e-4 if z.dtype in (torch.float32, torch.float64) else 1e-2
        ok = z.shape == reference.shape and torch.allclose(
            z, reference, rtol=tolerance, atol=tolerance * (1 + float(reference.abs().max()))
        )
        return ok, peak
    except Exception:  # noqa: BLE001 - any failure of the fast path: use the general one
        return False, 0


def columns_pay(
    program: Program, loss: LossSpec, facts, weighted: bool, device: torch.device
) -> bool:
    """Whether inference ends in columns (see `Program.columns_out`): on the CPU, for a
    loss with a columns form and class indices (all of them, `facts` of the whole data)
    every output can score."""
    if loss.columns is None or device.type != "cpu" or weighted:
        return False
    n_out = program.columns_out
    if n_out is None or facts.target_shape or facts.target_dtype.is_floating_point:
        return False
    return facts.target_min >= 0 and facts.target_max < n_out
