"""The traced path: any module torch.fx can trace, run as a graph of functional ops.

`compile_traced(model)` traces a private eval-mode copy with `torch.fx.symbolic_trace` and
returns a `TracedProgram` (a `Program` of `_sequential`, so `FastPath` runs it as it runs a
Sequential), or None when the trace fails or the graph holds something it does not cover
(the caller then uses the general path; `check_program` also compares the program with the
model's own forward and drops it on any difference).

What it runs: the graph's nodes in order, with
- call_module of Linear, Conv1d/2d, BatchNorm1d/2d (running statistics), PReLU as the ops of
  `_sequential` (weights as views of the point's flat vector, BatchNorm with recomputed
  statistics when asked, Linear outputs in the worker's buffers), parameter-free modules
  (activations, pooling, Flatten, Dropout) on private eval-mode copies;
- call_function / call_method as they are (pure functions of their arguments), get_attr as a
  parameter or buffer of the point.
Nothing is stored on a module, so workers run points side by side with no copy per thread.

Why it is faster than the model's own forward per point (measured on this project's 2-core
machine, a residual CNN on digits 1x8x8, see benchmarks/scale.py):
- Image activations run channels-last, oneDNN's fast layout; NCHW max-pooling alone cost
  8.8 ms a point against 1.1 ms channels-last. Layouts never change results: a `view`
  gets a contiguous input, everything else accepts any strides.
- When the input feeds exactly one Linear or Conv (after parameter-free ops on the input
  alone, run once per data set), that layer is the program's first layer: a first Conv2d
  runs as one matmul on the input unfolded once, and on a slice its output is combined
  from pieces computed once (Z0 + sum_i c_i Zd_i) where that is cheaper (see `FirstLayer`).
- Activations run in place on tensors the pass made itself and nothing else reads.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.fx import Node

from losslab.objectives._sequential import (
    _IDENTITY,
    BatchNorm,
    Context,
    Conv,
    FirstLayer,
    Getter,
    Linear,
    Op,
    Pointwise,
    PReLU,
    Program,
    _global_hooks,
    _has_hooks,
    leaf_op,
)

# call_function targets whose output is a new tensor (never a view of an argument).
_FRESH_FUNCTIONS = {
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.neg,
    torch.add,
    torch.sub,
    torch.mul,
    torch.cat,
    torch.relu,
    F.relu,
    torch.tanh,
    torch.sigmoid,
    F.max_pool2d,
    F.avg_pool2d,
    F.adaptive_avg_pool2d,
}
# call_function targets with an in-place form, used on a fresh input nothing else reads.
_INPLACE_FUNCTIONS = {torch.relu: torch.relu_, F.relu: torch.relu_}
# Pointwise modules whose output may be their input or a view of it.
_ALIASING_MODULES = (*_IDENTITY, nn.Flatten, nn.Unflatten)


@dataclass
class _Ref:
    """An argument that is the value of an earlier node."""

    name: str


def _resolve(arg, env: dict):
    """arg with every _Ref replaced by its value (tuples, lists and dicts inside too)."""
    if type(arg) is _Ref:
        return env[arg.name]
    if type(arg) in (tuple, list):
        return type(arg)(_resolve(a, env) for a in arg)
    if type(arg) is dict:
        return {k: _resolve(v, env) for k, v in arg.items()}
    if type(arg) is slice:
        return slice(_resolve(arg.start, env), _resolve(arg.stop, env), _resolve(arg.step, env))
    return arg


def _refs(arg) -> list[str]:
    if type(arg) is _Ref:
        return [arg.name]
    if type(arg) in (tuple, list):
        return [name for a in arg for name in _refs(a)]
    if type(arg) is dict:
        return [name for a in arg.values() for name in _refs(a)]
    if type(arg) is slice:
        return _refs((arg.start, arg.stop, arg.step))
    return []


@dataclass
class _Step:
    """One node: env[name] = run(env, get, ctx). `free`: names no later step reads."""

    name: str
    kind: str  # "module" | "function" | "method" | "attr"
    target: object
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    op: Op | None = None
    inplace: Callable | None = None  # an in-place form, allowed for this node's input
    free: tuple[str, ...] = ()

    def run(self, env: dict, get: Getter, ctx: Context):
        kind = self.kind
        if kind == "attr":
            return get(self.target)
        args = _resolve(self.args, env)
        if kind == "module":
            if self.inplace is not None and ctx.inplace and not ctx.grad:
                return self.inplace(args[0])
            return self.op.run(args[0], get, ctx)
        kwargs = _resolve(self.kwargs, env) if self.kwargs else {}
        if kind == "function":
            if self.inplace is not None and ctx.inplace and not ctx.grad:
                return self.inplace(args[0])
            return self.target(*args, **kwargs)
        if self.target == "view" and not args[0].is_contiguous():  # channels-last input
            args = (args[0].contiguous(), *args[1:])
        return getattr(args[0], self.target)(*args[1:], **kwargs)


@dataclass
class GraphOp(Op):
    """Steps of the graph from the value `start` (the input, or the first layer's output) to
    `output`."""

    start: str = ""
    output: str = ""
    steps: list[_Step] = field(default_factory=list)

    def run(self, x, get, ctx):
        env = {self.start: x}
        for step in self.steps:
            env[step.name] = step.run(env, get, ctx)
            for name in step.free:
                del env[name]
        return env[self.output]


@dataclass
class TracedProgram(Program):
    """A Program whose ops are [first layer, rest of the graph] or [the whole graph].

    prefix_op: the parameter-free nodes on the input alone (run once per data set), ending in
    the first layer's input; None when there is no first layer.
    """

    prefix_op: GraphOp | None = None

    def prefix(self, x: Tensor) -> Tensor:
        if self.prefix_op is not None:
            x = self.prefix_op.run(x, None, Context())
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @property
    def last_batchnorm(self) -> int:
        return len(self.ops)  # the statistics pass runs the whole graph

    @property
    def columns_out(self) -> int | None:
        return None


def compile_traced(model: nn.Module) -> TracedProgram | None:
    """A TracedProgram for `model`, or None where tracing fails or the graph has anything
    but the covered modules, functions and methods (see the module docstring)."""
    if _global_hooks():
        return None
    try:
        private = copy.deepcopy(model).eval()
    except Exception:  # noqa: BLE001 - the general path says why
        return None
    for module in private.modules():
        if _has_hooks(module) or hasattr(module, "parametrizations"):
            return None
    before = _python_state(private)
    try:
        graph = torch.fx.symbolic_trace(private).graph
    except Exception:  # noqa: BLE001 - data-dependent control flow, untraceable calls
        return None
    if _python_state(private) != before:
        return None  # the forward changes the module (a call counter, a log): not a graph
    try:
        return _build(private, graph)
    except _Refused:
        return None


def _python_state(model: nn.Module) -> list[tuple[str, str, str]]:
    """(module, attribute, repr) of every plain Python attribute of every submodule: a
    forward that changes one (self.calls += 1, self.seen.append(...)) depends on more than
    its input, and a trace would freeze it at one call."""
    state = []
    for name, module in model.named_modules():
        for key, value in vars(module).items():
            if key in _MODULE_INTERNALS or isinstance(value, (Tensor, nn.Module)):
                continue
            state.append((name, key, repr(value)))
    return state


_MODULE_INTERNALS = frozenset(vars(nn.Module()))


class _Refused(Exception):
    """The graph holds something the traced path does not cover."""


def _canonical_names(model: nn.Module) -> dict[str, str]:
    """Every name of a parameter or buffer -> the name named_parameters()/named_buffers()
    give it (tied tensors have several names and one entry in the flat vector)."""
    first: dict[int, str] = {}
    names: dict[str, str] = {}
    for name, tensor in [
        *model.named_parameters(remove_duplicate=False),
        *model.named_buffers(remove_duplicate=False),
    ]:
        names[name] = first.setdefault(id(tensor), name)
    return names


def _build(model: nn.Module, graph: torch.fx.Graph) -> TracedProgram:
    canonical = _canonical_names(model)
    constants = {
        name: tensor.detach()
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]
    }
    nodes = list(graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    outputs = [n for n in nodes if n.op == "output"]
    if len(placeholders) != 1 or len(outputs) != 1 or not isinstance(outputs[0].args[0], Node):
        raise _Refused
    (placeholder,) = placeholders
    output = outputs[0].args[0]

    steps: dict[str, _Step] = {}
    n_bn = 0
    batchnorm_modules: set[str] = set()
    for node in nodes:
        if node.op in ("placeholder", "output"):
            continue
        args, kwargs = _as_refs(node.args), _as_refs(node.kwargs)
        if node.op == "get_attr":
            value = _attribute(model, node.target)
            if not isinstance(value, Tensor):
                raise _Refused
            name = canonical.get(node.target, node.target)
            constants.setdefault(name, value.detach())
            steps[node.name] = _Step(node.name, "attr", name)
        elif node.op == "call_module":
            module = model.get_submodule(node.target)
            if kwargs or len(args) != 1:
                raise _Refused
            op = _module_op(module, node.target, canonical, n_bn)
            if isinstance(op, BatchNorm):
                if node.target in batchnorm_modules:  # statistics are recorded per module
                    raise _Refused
                batchnorm_modules.add(node.target)
                n_bn += 1
            if isinstance(op, Linear):
                op.owner = ("traced", node.name)  # one buffer per node: branches stay apart
            steps[node.name] = _Step(node.name, "module", node.target, args, op=op)
        elif node.op == "call_function":
            steps[node.name] = _Step(node.name, "function", node.target, args, kwargs)
        elif node.op == "call_method":
            steps[node.name] = _Step(node.name, "method", node.target, args, kwargs)
        else:
            raise _Refused

    users = {node.name: [u.name for u in node.users] for node in nodes}
    _allow_inplace(steps, users, model, output.name)
    has_conv2d = any(isinstance(m, nn.Conv2d) for m in model.modules())

    prefix_names, first_node = _first_layer_node(nodes, placeholder, steps, users)
    if first_node is None:
        whole = _graph_op(placeholder.name, output.name, list(steps.values()), {output.name})
        return TracedProgram([whole], 0, None, has_conv2d, constants)
    first_step = steps[first_node]
    frontier = first_step.args[0].name
    prefix = [s for s in steps.values() if s.name in prefix_names]  # in graph order
    rest = [s for s in steps.values() if s.name not in prefix_names and s.name != first_node]
    prefix_op = None
    if prefix:
        prefix_op = _graph_op(placeholder.name, frontier, prefix, {frontier})
    rest_op = _graph_op(first_node, output.name, rest, {output.name})
    first_op = first_step.op
    channels_last = has_conv2d and not isinstance(first_op, Linear)
    return TracedProgram(
        [first_op, rest_op], 0, FirstLayer(first_op), channels_last, constants, prefix_op=prefix_op
    )


def _as_refs(arg):
    """node.args / node.kwargs with every Node replaced by a _Ref (fx's immutable lists and
    dicts become plain ones); anything else as is."""
    if isinstance(arg, Node):
        return _Ref(arg.name)
    if isinstance(arg, tuple):
        return tuple(_as_refs(a) for a in arg)
    if isinstance(arg, list):
        return [_as_refs(a) for a in arg]
    if isinstance(arg, dict):
        return {k: _as_refs(v) for k, v in arg.items()}
    if isinstance(arg, slice):
        return slice(_as_refs(arg.start), _as_refs(arg.stop), _as_refs(arg.step))
    return arg


def _attribute(model: nn.Module, target: str):
    value = model
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _module_op(module: nn.Module, path: str, canonical: dict[str, str], n_bn: int) -> Op:
    """The op of `_sequential` for one leaf module, or _Refused."""

    def names(*attrs: str) -> tuple[str, ...]:
        prefix = f"{path}." if path else ""
        return tuple(canonical[prefix + a] for a in attrs if getattr(module, a, None) is not None)

    op = leaf_op(module, names, n_bn)
    if op is None:
        raise _Refused
    return op


def _fresh(step: _Step | None) -> bool:
    """Whether the step's output is a tensor the pass allocated (no view of another)."""
    if step is None:
        return False
    if step.kind == "module":
        op = step.op
        if isinstance(op, Pointwise):
            return op.module is not None and not isinstance(op.module, _ALIASING_MODULES)
        return isinstance(op, (Conv, BatchNorm, Linear, PReLU))
    if step.kind == "function":
        return step.target in _FRESH_FUNCTIONS and step.inplace is None
    return False


def _allow_inplace(steps: dict[str, _Step], users: dict, model: nn.Module, output: str) -> None:
    """Give an activation its in-place form where its input is fresh and read by it alone."""
    for step in steps.values():
        if len(step.args) != 1 or type(step.args[0]) is not _Ref:
            continue
        if step.kwargs not in ({}, {"inplace": False}):  # F.relu(x) traces with inplace=False
            continue
        source = step.args[0].name
        if len(users[source]) != 1:
            continue
        if step.kind == "module" and isinstance(step.op, Pointwise):
            candidate = step.op.inplace_fn
        elif step.kind == "function":
            candidate = _INPLACE_FUNCTIONS.get(step.target)
        else:
            continue
        # The first layer's output is fresh too, and in the "rest" op it has no step here;
        # in-place on it is allowed as on the Sequential path (it is never a shared piece).
        if candidate is not None and (_fresh(steps.get(source)) or _is_layer(steps, source)):
            step.inplace = candidate


def _is_layer(steps: dict[str, _Step], name: str) -> bool:
    step = steps.get(name)
    return step is not None and step.kind == "module" and isinstance(step.op, (Conv, Linear))


def _first_layer_node(nodes, placeholder, steps, users) -> tuple[set[str], str | None]:
    """(the parameter-free nodes computed from the input alone, the first layer's node) when
    the input reaches the parameters through exactly one Linear/Conv, else (set(), None)."""
    prefix: set[str] = set()
    known = {placeholder.name}
    for node in nodes:
        step = steps.get(node.name)
        if step is None or step.kind == "attr":
            continue
        parametric = step.kind == "module" and step.op.names
        if (
            not parametric
            and set(_refs((step.args, step.kwargs))) <= known
            and _refs((step.args, step.kwargs))
        ):
            prefix.add(node.name)
            known.add(node.name)
    outside = {name for name in known for user in users[name] if user not in prefix}
    if len(outside) != 1:
        return set(), None
    (frontier,) = outside
    consumers = [u for u in users[frontier] if u not in prefix]
    if len(consumers) != 1:
        return set(), None
    first = steps.get(consumers[0])
    if (
        first is None
        or first.kind != "module"
        or type(first.op) not in (Linear, Conv)
        or first.args != (_Ref(frontier),)
    ):
        return set(), None
    # The prefix keeps only what the frontier needs (sizes read elsewhere would be lost).
    return prefix, first.name


def _graph_op(start: str, output: str, steps: list[_Step], keep: set[str]) -> GraphOp:
    """A GraphOp over `steps` (in order) that frees each value after its last reader."""
    last_read: dict[str, int] = {}
    for index, step in enumerate(steps):
        for name in _refs((step.args, step.kwargs)):
            last_read[name] = index
    ordered = []
    for index, step in enumerate(steps):
        free = tuple(
            name
            for name in dict.fromkeys(_refs((step.args, step.kwargs)))
            if last_read[name] == index and name not in keep
        )
        ordered.append(
            _Step(
                step.name,
                step.kind,
                step.target,
                step.args,
                step.kwargs,
                step.op,
                step.inplace,
                free,
            )
        )
    return GraphOp("graph", (), start, output, ordered)
