"""The fast path: a flat nn.Sequential of standard layers as a program of functional ops.

`compile_sequential(model)` reads the layers once (never changing them) and returns a
`Program`, or None when the model is anything else (the caller then uses `functional_call`).
A program runs the layers with weights read as views of a per-point flat vector, so a grid
point costs one forward pass with no module state, no hooks and no copies into a model.

What makes it faster than `model(x)` per point (each measured on the project's 2-core CPU):
- The first parametric layer (Linear or Conv) is linear in its weights, so on a slice
  origin + sum_i c_i d_i its output is Z0 + sum_i c_i Zd_i: computed once per slice, combined
  per point where that is cheaper than the layer (`FirstLayer.pays_on_slice`).
- A first Conv2d runs as one matmul on the input unfolded once (im2col), its output written
  as rows, i.e. channels-last: oneDNN is slow on one input channel (7.7 ms vs 0.4 ms a pass
  on digits for 16 outputs; 2.3 vs 0.4 ms on one thread in torch 2.13), and the unfolded
  input is shared.
- Image activations are kept channels-last (oneDNN's fast layout: 4.1 vs 8.5 ms for the
  16->32 3x3 convolution on digits), and a Flatten followed by a Linear reads them in place,
  permuting the Linear's weight instead of copying the activation.
- In inference, activations run in place on tensors the pass made itself, and a Linear with
  fewer than 16 outputs and a short input runs as W @ x^T (MKL's x @ W^T is slow for a
  narrow W, but faster again for long inputs: `columns_pay`); a last such Linear can hand
  its (out, N) result straight to the loss (`columns_out`).
- In inference, Linear outputs are written into buffers the worker reuses from point to point
  (`Context.workspace`): a fresh 1 MB activation page-faults on its first write.
The caller (`ModelObjective`) runs one point per CPU core on the worker pool (`pool`).

What did not pay (one thread, digits 1x8x8, the plain CNN of benchmarks/scale.py): oneDNN's
fused convolution + ReLU (torch.ops.mkldnn._convolution_pointwise) saves 0.06-0.25 ms of a
4 ms convolution, not worth a private operator. A convolution's own cost is the model's:
the program and `model(x)` run the same oneDNN kernels, so beyond the first layer and the
last Linear its gain is running one point per core. What would: two points as one grouped
convolution (weights concatenated, groups=2) costs 2.4 ms a point for the 12->24 3x3
convolution against 3.8 ms alone (16->16 with padding: 2.8 vs 3.8 ms); it needs the caller
to hand a worker two points at once.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from losslab.objectives._workspace import Workspace

# Parameter-free layers that are pure functions of their input in eval mode.
_POINTWISE = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Softplus,
    nn.Softsign,
    nn.Tanhshrink,
    nn.LogSigmoid,
    nn.Softmax,
    nn.LogSoftmax,
    nn.Flatten,
    nn.Unflatten,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
)
_IDENTITY = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
_CONVS = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d}
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)

# Unfolding the input of a first convolution multiplies its size by kh * kw; above this many
# bytes the program convolves directly instead.
UNFOLD_LIMIT_BYTES = 256 * 2**20

Getter = Callable[[str], Tensor]


@dataclass
class Context:
    """How one forward pass runs.

    grad: True when the pass must be differentiable (autograd or torch.func); False in
        inference, where fused kernels and in-place activations are used.
    stats: per-BatchNorm (mean, unbiased var) to use instead of the running statistics
        (bn="recompute"), or None.
    collect: when a list, BatchNorm layers normalize with the statistics of their input
        batch (train-mode semantics) and append (mean, unbiased var) to it.
    inplace: activations may overwrite their input (inference on tensors the pass made
        itself: never the data or the shared first-layer pieces). Saves an allocation and a
        pass over memory per activation, which is most of an activation's cost.
    workspace: in inference, where Linear layers write their outputs (one worker's
        buffers, reused from point to point; see `_workspace`), or None to allocate.
    """

    grad: bool = False
    stats: list[tuple[Tensor, Tensor]] | None = None
    collect: list[tuple[Tensor, Tensor]] | None = None
    inplace: bool = False
    workspace: Workspace | None = None

    def out(self, owner, shape: tuple[int, ...], like: Tensor) -> Tensor | None:
        """A reusable output buffer in inference with a workspace, else None (allocate)."""
        if self.workspace is None or self.grad:
            return None
        return self.workspace.buffer(owner, shape, like)


@dataclass
class Op:
    """One layer: `run(x, get, ctx) -> y`; `get(name)` gives a parameter or buffer by name."""

    label: str
    names: tuple[str, ...] = ()

    def run(self, x: Tensor, get: Getter, ctx: Context) -> Tensor:
        raise NotImplementedError


@dataclass
class Pointwise(Op):
    module: nn.Module | None = None  # a private copy, inplace=False, eval mode
    inplace_fn: Callable[[Tensor], Tensor] | None = None

    def run(self, x, get, ctx):
        if self.module is None:
            return x
        if ctx.inplace and not ctx.grad and self.inplace_fn is not None:
            return self.inplace_fn(x)
        return self.module(x)


def _inplace_version(module: nn.Module) -> Callable[[Tensor], Tensor] | None:
    """The in-place form of an activation with the module's settings, if torch has one."""
    kind = type(module)
    if kind is nn.ReLU:
        return torch.relu_
    if kind is nn.ReLU6:
        return lambda x: F.hardtanh_(x, 0.0, 6.0)
    if kind is nn.LeakyReLU:
        return lambda x: F.leaky_relu_(x, module.negative_slope)
    if kind is nn.ELU:
        return lambda x: F.elu_(x, module.alpha)
    if kind is nn.Hardtanh:
        return lambda x: F.hardtanh_(x, module.min_val, module.max_val)
    if kind is nn.Tanh:
        return torch.tanh_
    if kind is nn.Sigmoid:
        return torch.sigmoid_
    if kind in (nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Mish):
        fn = {nn.SiLU: F.silu, nn.Hardswish: F.hardswish, nn.Hardsigmoid: F.hardsigmoid}.get(
            kind, F.mish
        )
        return lambda x: fn(x, inplace=True)
    return None


@dataclass
class PReLU(Op):
    def run(self, x, get, ctx):
        return F.prelu(x, get(self.names[0]))


# A Linear with fewer than NARROW outputs and at most COLUMNS_MAX weights runs as W @ x^T in
# inference: MKL's sgemm is slow for a narrow right-hand side (measured on this project's
# 2-core AMD machine: 1797x128 @ 128x10 in 0.22 ms as x W^T, 0.10 ms as W x^T). With a long
# input it is the other way (one thread, 1797 rows: 10 outputs from 512 inputs in 0.25 ms as
# x W^T, 0.49 ms as W x^T; from 864, 0.45 vs 0.87 ms; 3 outputs from 1024, 0.52 vs 0.28).
NARROW = 16
COLUMNS_MAX = 4096


def columns_pay(w: Tensor) -> bool:
    """Whether W x^T beats x W^T for the weight w (out, in) (see NARROW)."""
    return w.shape[0] < NARROW and w.numel() <= COLUMNS_MAX


def _linear(
    x: Tensor, w: Tensor, b: Tensor | None, ctx: Context, owner, columns: bool = True
) -> Tensor:
    """F.linear, in inference on 2-D CPU inputs written into ctx's buffers of `owner`.
    columns: whether a narrow layer may run as W x^T (then transposed into rows)."""
    if ctx.grad or x.ndim != 2 or x.device.type != "cpu":
        return F.linear(x, w, b)
    shape = (x.shape[0], w.shape[0])
    if columns and columns_pay(w):
        cols = _linear_columns(x, w, b, ctx.out((owner, "columns"), shape[::-1], x))
        rows = ctx.out(owner, shape, x)
        return cols.t().contiguous() if rows is None else rows.copy_(cols.t())
    out = ctx.out(owner, shape, x)
    if out is None:
        return F.linear(x, w, b)
    return torch.mm(x, w.t(), out=out) if b is None else torch.addmm(b, x, w.t(), out=out)


def _linear_columns(x: Tensor, w: Tensor, b: Tensor | None, out: Tensor | None) -> Tensor:
    """W x^T + b: the Linear's output as columns (out, N), the layout its matmul makes."""
    if b is None:
        return torch.mm(w, x.t(), out=out)
    return torch.addmm(b[:, None], w, x.t(), out=out)


@dataclass
class Linear(Op):
    # Which of two output buffers the layer writes in a workspace: consecutive Linear layers
    # alternate (set by compile_sequential), so none writes over its own input and a deep
    # MLP holds two activations per shape, not one per layer.
    owner: tuple = ("linear", 0)

    def weights(self, get: Getter) -> tuple[Tensor, Tensor | None]:
        return get(self.names[0]), (get(self.names[1]) if len(self.names) > 1 else None)

    def flat_input(self, x: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
        return x, w

    def run(self, x, get, ctx):
        w, b = self.weights(get)
        return _linear(*self.flat_input(x, w), b, ctx, self.owner)

    def run_columns(self, x: Tensor, get: Getter, ctx: Context) -> Tensor:
        """The output as (out, N) in inference (see `Program.columns_out`)."""
        w, b = self.weights(get)
        x, w = self.flat_input(x, w)
        return _linear_columns(x, w, b, ctx.out(self.owner, (w.shape[0], x.shape[0]), x))


@dataclass
class FlattenLinear(Linear):
    """Flatten(1, -1) then Linear: reads channels-last images without copying them."""

    def flat_input(self, x, w):
        if x.ndim == 4:
            xp = x.permute(0, 2, 3, 1)  # (N, H, W, C): a view, contiguous if channels-last
            if xp.is_contiguous():
                n, h, wd, c = xp.shape
                w = w.reshape(w.shape[0], c, h, wd).permute(0, 2, 3, 1).reshape(w.shape[0], -1)
                return xp.reshape(n, -1), w
        return x.flatten(1), w


@dataclass
class Conv(Op):
    fn: Callable = F.conv2d
    stride: tuple = (1,)
    padding: tuple | str = (0,)
    dilation: tuple = (1,)
    groups: int = 1
    kernel: tuple = (1,)

    def run(self, x, get, ctx):
        w = get(self.names[0])
        b = get(self.names[1]) if len(self.names) > 1 else None
        return self.fn(x, w, b, self.stride, self.padding, self.dilation, self.groups)


@dataclass
class BatchNorm(Op):
    """BatchNorm1d/2d in eval semantics, or with recomputed statistics (see Context)."""

    index: int = 0  # which BatchNorm of the program (0, 1, ...)
    eps: float = 1e-5
    affine: bool = True

    def run(self, x, get, ctx):
        w = get(self.names[0]) if self.affine else None
        b = get(self.names[1]) if self.affine else None
        if ctx.collect is not None:
            dims = [0, *range(2, x.ndim)]
            var, mean = torch.var_mean(x, dim=dims, correction=0)
            n = x.numel() // x.shape[1]
            ctx.collect.append((mean, var * (n / max(n - 1, 1))))  # unbiased, as running_var
            return _normalize(x, mean, var, w, b, self.eps, ctx.grad)
        if ctx.stats is not None:
            mean, var = ctx.stats[self.index]
        else:
            mean, var = get(self.names[-2]), get(self.names[-1])
        return _normalize(x, mean, var, w, b, self.eps, ctx.grad)


def _normalize(x, mean, var, w, b, eps, grad):
    if not grad:
        # The fused eval-mode kernel (handles channels-last); no autograd through stats needed.
        return F.batch_norm(x, mean, var, w, b, False, 0.0, eps)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = torch.rsqrt(var + eps)
    if w is not None:
        scale = scale * w
    y = (x - mean.reshape(shape)) * scale.reshape(shape)
    return y if b is None else y + b.reshape(shape)


@dataclass(frozen=True)
class Prepared:
    """The input of the first parametric layer, made once per data set.

    x: the input itself, or for a Conv2d with groups == 1 the unfolded input
    (N * L, C * kh * kw), so that the convolution is one matmul whose output is channels-last;
    out_hw is then the output's (H, W).
    """

    x: Tensor
    out_hw: tuple[int, int] | None = None


@dataclass(frozen=True)
class FirstLayer:
    """The first parametric layer when it is a Linear or a Conv: linear in its weights."""

    op: Op

    def prepare(self, x: Tensor) -> Prepared:
        op = self.op
        if not (isinstance(op, Conv) and op.fn is F.conv2d and op.groups == 1 and x.ndim == 4):
            return Prepared(x)
        size = x.numel() * op.kernel[0] * op.kernel[1] * x.element_size()
        if isinstance(op.padding, str) or size > UNFOLD_LIMIT_BYTES:
            return Prepared(x.contiguous(memory_format=torch.channels_last))
        cols = F.unfold(x, op.kernel, op.dilation, op.padding, op.stride)  # (N, C*kh*kw, L)
        out_hw = tuple(
            (x.shape[2 + i] + 2 * op.padding[i] - op.dilation[i] * (op.kernel[i] - 1) - 1)
            // op.stride[i]
            + 1
            for i in range(2)
        )
        return Prepared(cols.transpose(1, 2).reshape(-1, cols.shape[1]).contiguous(), out_hw)

    def pays_on_slice(self, w: Tensor, k: int) -> bool:
        """Whether combining precomputed pieces beats running the layer, for k directions.

        Combining costs k + 1 reads and a write of the output per element, memory-bound;
        the layer costs `fan_in` multiply-adds per output element from a small input. On
        this project's 2-core machine, for 2 directions: an MLP's 64-input first layer is
        6x cheaper combined (0.08 vs 0.47 ms a point), a 3x3 one-channel convolution (fan_in
        9) a little dearer (0.56 vs 0.43 ms). Hence: combine when fan_in > 4 (k + 1).
        """
        fan_in = w[0].numel()
        return fan_in > 4 * (k + 1)

    def apply(self, prepared: Prepared, w: Tensor, b: Tensor | None, ctx=None) -> Tensor:
        """The layer's output on the prepared input; in ctx's buffers when given."""
        op, x, ctx = self.op, prepared.x, ctx or Context()
        if type(op) is Linear:
            return _linear(x, w, b, ctx, op.owner)
        if prepared.out_hw is not None:
            # (N * L, out) as rows: W x^T and its transposing copy cost more (1 thread, digits
            # unfolded 3x3, 12 outputs: 1.1 ms as rows, 1.7 ms as columns then rows)
            out = _linear(x, w.reshape(w.shape[0], -1), b, ctx, "first conv", columns=False)
            h, wd = prepared.out_hw
            return out.reshape(-1, h, wd, w.shape[0]).permute(0, 3, 1, 2)  # channels-last
        return op.fn(x, w, b, op.stride, op.padding, op.dilation, op.groups)


@dataclass
class Program:
    """Ops in order; `first` is the index of the first parametric op."""

    ops: list[Op]
    first: int
    first_layer: FirstLayer | None
    channels_last: bool
    constants: dict[str, Tensor] = field(default_factory=dict)
    slots: dict[str, tuple] = field(default_factory=dict)

    def getter(self, params: Mapping[str, Tensor]) -> Getter:
        """get(name) from a parameter dict, else from the constants (frozen params, buffers)."""
        constants = self.constants

        def get(name: str) -> Tensor:
            value = params.get(name)
            return constants[name] if value is None else value

        return get

    def set_layout(self, names, shapes) -> None:
        """Where each trainable parameter sits in the flat vector (see `vector_getter`)."""
        self.slots = {}
        offset = 0
        for name, shape in zip(names, shapes, strict=True):
            size = math.prod(shape)
            stride = tuple(math.prod(shape[i + 1 :]) for i in range(len(shape)))
            self.slots[name] = (offset, size, tuple(shape), stride)
            offset += size

    def vector_getter(self, point: Tensor, grad: bool) -> Getter:
        """get(name) as a view into the flat vector `point` (n_params,), made on demand.

        In inference one as_strided call per parameter: a point's Python overhead is paid
        under the GIL while the other workers wait, so it is kept small. With grad (autograd,
        vmap) plain slicing, which every torch.func transform supports.
        """
        slots, constants = self.slots, self.constants

        def get(name: str) -> Tensor:
            slot = slots.get(name)
            if slot is None:
                return constants[name]
            offset, size, shape, stride = slot
            if grad:
                return point[offset : offset + size].view(shape)
            return point.as_strided(shape, stride, point.storage_offset() + offset)

        return get

    def prefix(self, x: Tensor) -> Tensor:
        """The parameter-free ops before the first parametric one, then the layout."""
        for op in self.ops[: self.first]:
            x = op.run(x, None, Context())
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def first_weights(self, get: Getter) -> tuple[Tensor, Tensor | None]:
        names = self.ops[self.first].names
        return get(names[0]), (get(names[1]) if len(names) > 1 else None)

    def run_from_first(
        self, z: Tensor, get: Getter, ctx: Context, stop: int | None = None
    ) -> Tensor:
        """Continue from the first parametric layer's output z."""
        for op in self.ops[self.first + 1 : stop]:
            z = op.run(z, get, ctx)
        return z

    @property
    def columns_out(self) -> int | None:
        """The number of outputs when the program can end in columns, else None.

        It can when its last op is a narrow Linear after the first parametric op: in
        inference that matmul makes (out, N) and row-major outputs cost a transposing copy,
        while losses over few classes are faster on columns (see `cross_entropy_columns`).
        """
        last = self.ops[-1]
        if not isinstance(last, Linear) or len(self.ops) - 1 <= self.first:
            return None
        weight = self.constants.get(last.names[0])
        shape = self.slots[last.names[0]][2] if weight is None else tuple(weight.shape)
        return shape[0] if columns_pay(torch.empty(shape, device="meta")) else None

    def run_columns_from_first(self, z: Tensor, get: Getter, ctx: Context) -> Tensor:
        """Inference from the first layer's output z to outputs as columns (out, N); only
        when `columns_out` is not None."""
        z = self.run_from_first(z, get, ctx, stop=-1)
        return self.ops[-1].run_columns(z, get, ctx)

    def prepare(self, x: Tensor) -> Prepared:
        """What `first_output` takes: the prefix ops applied, then the first layer's
        preparation (done once per data set)."""
        x = self.prefix(x)
        return Prepared(x) if self.first_layer is None else self.first_layer.prepare(x)

    def first_output(self, prepared: Prepared, get: Getter, ctx: Context) -> Tensor:
        """The first parametric layer's output."""
        if self.first_layer is not None:
            return self.first_layer.apply(prepared, *self.first_weights(get), ctx)
        return self.ops[self.first].run(prepared.x, get, ctx)

    @property
    def last_batchnorm(self) -> int:
        """Index (exclusive stop) after the last BatchNorm op: where a stats pass can end."""
        last = max(i for i, op in enumerate(self.ops) if isinstance(op, BatchNorm))
        return last + 1


def _leaves(module: nn.Module, prefix: str):
    if type(module) is nn.Sequential:
        for name, child in module.named_children():
            yield from _leaves(child, f"{prefix}{name}.")
    else:
        yield prefix, module


def _has_hooks(module: nn.Module) -> bool:
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return any(getattr(module, h, None) for h in hooks)


def _global_hooks() -> bool:
    from torch.nn.modules import module as mod

    names = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks")
    return any(getattr(mod, n, None) for n in names)


def compile_sequential(model: nn.Module) -> Program | None:
    """A Program for a flat (or nested) nn.Sequential of supported layers, else None.

    Only exact types are accepted (a subclass may override forward), and any module with
    hooks or parametrizations sends the model to the general path.
    """
    if type(model) is not nn.Sequential or _global_hooks():
        return None
    ops: list[Op] = []
    constants: dict[str, Tensor] = {}
    n_bn = 0
    for prefix, leaf in _leaves(model, ""):
        if _has_hooks(leaf) or hasattr(leaf, "parametrizations"):
            return None
        names = lambda *attrs, p=prefix, m=leaf: tuple(  # noqa: E731
            p + a for a in attrs if getattr(m, a, None) is not None
        )
        op = leaf_op(leaf, names, n_bn)
        if op is None:
            return None
        ops.append(op)
        n_bn += isinstance(op, BatchNorm)
        for name, tensor in list(leaf.named_parameters(recurse=False)) + list(
            leaf.named_buffers(recurse=False)
        ):
            constants[prefix + name] = tensor.detach()
    ops = _fuse_flatten_linear(ops)
    for ordinal, op in enumerate(op for op in ops if isinstance(op, Linear)):
        op.owner = ("linear", ordinal % 2)
    parametric = [i for i, op in enumerate(ops) if op.names]
    if not parametric:
        return None
    first = parametric[0]
    first_op = ops[first]
    first_layer = FirstLayer(first_op) if type(first_op) in (Linear, Conv) else None
    channels_last = any(isinstance(op, Conv) and op.fn is F.conv2d for op in ops)
    return Program(ops, first, first_layer, channels_last, constants)


def leaf_op(leaf: nn.Module, names: Callable[..., tuple[str, ...]], n_bn: int) -> Op | None:
    """The op that runs one leaf module, or None where it cannot (the model then takes
    another path). names(*attrs) -> the parameter names of the module's attributes that are
    not None, as the parameter vector calls them; n_bn: BatchNorms before this one."""
    kind = type(leaf)
    if kind in _IDENTITY:
        return Pointwise(kind.__name__)
    if kind is nn.PReLU:
        return PReLU("PReLU", names("weight"))
    if kind in _POINTWISE:
        private = copy.deepcopy(leaf).eval()
        if getattr(private, "inplace", False):
            private.inplace = False
        if list(private.parameters()) or list(private.buffers()):
            return None
        return Pointwise(kind.__name__, (), private, _inplace_version(private))
    if kind is nn.Linear:
        return Linear("Linear", names("weight", "bias"))
    if kind in _CONVS:
        if leaf.padding_mode != "zeros":
            return None
        return Conv(
            kind.__name__,
            names("weight", "bias"),
            _CONVS[kind],
            leaf.stride,
            leaf.padding,
            leaf.dilation,
            leaf.groups,
            tuple(leaf.kernel_size),
        )
    if kind in _BATCHNORMS:
        if not leaf.track_running_stats or leaf.running_mean is None:
            return None  # batch statistics even in eval mode: leave it to the module
        return BatchNorm(
            kind.__name__,
            names("weight", "bias", "running_mean", "running_var"),
            n_bn,
            leaf.eps,
            leaf.affine,
        )
    return None


def _fuse_flatten_linear(ops: list[Op]) -> list[Op]:
    """Flatten + Linear -> FlattenLinear, except before the first parametric op: there the
    Flatten runs once per data set and the Linear stays a first layer (see FirstLayer)."""
    out: list[Op] = []
    for op in ops:
        prev = out[-1] if out else None
        if (
            type(op) is Linear
            and any(o.names for o in out)
            and isinstance(prev, Pointwise)
            and isinstance(prev.module, nn.Flatten)
            and prev.module.start_dim == 1
            and prev.module.end_dim == -1
        ):
            out[-1] = FlattenLinear("Flatten+Linear", op.names)
        else:
            out.append(op)
    return out
