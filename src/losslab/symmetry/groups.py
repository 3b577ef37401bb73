"""The permutable hidden-unit groups of a model, found by following its units through a
`torch.fx` trace (an `nn.Sequential` stack, nested or not, traces to a chain).

A *group* is a set of hidden units that may be reordered together without changing the
function: the output units of a Linear (or the channels of a Conv2d), with every tensor that
is indexed by them. Each such tensor is a *member*: (name, axis, block), its `axis` holds
n_units * block entries, unit i owning entries [i * block, (i + 1) * block):

    Linear "0" (64 -> 128), ReLU, Linear "2" (128 -> 10)
        group "0": ("0.weight", 0, 1), ("0.bias", 0, 1), ("2.weight", 1, 1)
    Conv2d "0" (1 -> 16), ReLU, Flatten, Linear "3" (16*6*6 -> 10)
        group "0": ("0.weight", 0, 1), ("0.bias", 0, 1), ("3.weight", 1, 36)

How units are followed: every value in the graph is either *free* (nothing permuted flows
into it: the input, the output of a layer whose inputs are free) or carries the units of one
group along its axis 1, in a *layout*: "features" (N, F), "channels" (N, C, H, W) or
"flat" (N, C*H*W, each channel a block of H*W; the block is read off the Linear that
consumes it, in_features / C). Linear and Conv2d start a new group for their outputs and
consume their input's units as weight columns / input channels; equivariant operations
(ops.py) pass the units on, adding their per-unit tensors (BatchNorm, LayerNorm, PReLU) as
members. A residual addition of two unit values joins their groups into one permutation
(union-find). A group whose units reach the model's output, or are added to a free value,
is *pinned*: it keeps its order (the output units are not permutable) and is not listed.
Any other operation on units (cat, matmul, view, attention, a module of another type) is
refused with one line naming the module and what is supported.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, NamedTuple, NoReturn

import torch.fx
from torch import nn

from losslab.errors import ArgumentTypeError, LosslabError
from losslab.symmetry import ops

FEATURES, CHANNELS, FLAT = "features", "channels", "flat"


class Member(NamedTuple):
    """A tensor indexed by a group's units: `axis` holds n_units * block entries."""

    name: str
    axis: int
    block: int = 1


@dataclasses.dataclass(frozen=True)
class Group:
    """One permutation's worth of hidden units: `size` units, named after the first layer
    that produces them, and every parameter/buffer they index (`members`)."""

    name: str
    size: int
    members: tuple[Member, ...]


@dataclasses.dataclass(frozen=True)
class _Units:
    """A value carrying the units of group `root` along axis 1, in `layout`."""

    root: int
    layout: str


class _Groups:
    """Union-find over the groups that layers create, with their members and whether their
    units must keep their order (pinned)."""

    def __init__(self):
        self.parent: list[int] = []
        self.size: list[int] = []
        self.names: list[str] = []
        self.members: list[list[Member]] = []
        self.pinned: list[bool] = []

    def new(self, name: str, size: int) -> int:
        self.parent.append(len(self.parent))
        self.size.append(size)
        self.names.append(name)
        self.members.append([])
        self.pinned.append(False)
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def add(self, i: int, member: Member) -> None:
        self.members[self.find(i)].append(member)

    def pin(self, i: int) -> None:
        self.pinned[self.find(i)] = True

    def join(self, i: int, j: int) -> int | None:
        """Merge two groups; None when their sizes differ (the caller refuses)."""
        a, b = sorted((self.find(i), self.find(j)))  # the earlier group is the root
        if a == b:
            return a
        if self.size[a] != self.size[b]:
            return None
        self.parent[b] = a
        self.members[a] += self.members[b]
        self.pinned[a] = self.pinned[a] or self.pinned[b]
        return a

    def listed(self) -> tuple[Group, ...]:
        """The groups that are not pinned, in the order their first layer appears."""
        roots = [i for i in range(len(self.parent)) if self.find(i) == i and not self.pinned[i]]
        return tuple(Group(self.names[i], self.size[i], tuple(self.members[i])) for i in roots)


def permutation_groups(model: nn.Module) -> tuple[Group, ...]:
    """The permutable hidden-unit groups of `model`, in the order of their first layer.

    A model with no hidden layer has none: (). Raises LosslabError (one line naming the
    module and what is supported) for a model whose units pass through an operation that
    may not commute with a permutation, and for one torch.fx cannot trace.
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model is a {type(model).__name__}, must be a torch nn.Module.")
    return _Walk(model).run()


class _Walk:
    """One pass over the traced graph, in execution order (fx graphs are topologically
    sorted), giving each node a state: None (free) or _Units."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.groups = _Groups()
        self.state: dict[torch.fx.Node, _Units | None] = {}
        self.called: set[str] = set()

    def run(self) -> tuple[Group, ...]:
        graph = _trace(self.model)
        for node in graph.nodes:
            self.state[node] = self.visit(node)
        found = self.groups.listed()
        _check_members(self.model, graph, found)
        return found

    # -- one node ------------------------------------------------------------------------------

    def visit(self, node: torch.fx.Node) -> _Units | None:
        if node.op in ("placeholder", "get_attr"):
            return None
        units = [self.state[n] for n in _input_nodes(node) if self.state[n] is not None]
        if node.op == "output":
            for value in units:
                self.groups.pin(value.root)  # the output units keep their order
            return None
        if node.op == "call_module":
            return self.module(node, units)
        if not units:
            return None  # nothing permuted flows in: whatever it computes is unchanged
        return self.function(node, node.target, units)  # a call_method's target is its name

    def module(self, node: torch.fx.Node, units: list[_Units]) -> _Units | None:
        module = self.model.get_submodule(node.target)
        name = node.target
        value = units[0] if units else None
        if units and not isinstance(module, ops.FOLLOWED_MODULES):
            self.refuse(node, "receives hidden units and is not a supported layer")
        if len(units) > 1 or (units and len(node.args) != 1):
            self.refuse(node, "receives hidden units with other inputs")
        owns = isinstance(module, nn.Linear | nn.Conv2d | _NORMS | nn.PReLU)
        if owns and name in self.called:
            self.refuse(node, "is called more than once (shared weights)")
        self.called.add(name)
        if isinstance(module, nn.Linear):
            if value is not None:
                self.consume_linear(node, module, value)
            return self.produce(name, module.out_features, module, FEATURES)
        if isinstance(module, nn.Conv2d):
            if module.groups != 1:
                self.refuse(node, f"has groups == {module.groups}; only groups == 1 is followed")
            if value is not None:
                self.expect(node, value, CHANNELS, module.in_channels)
                self.groups.add(value.root, Member(f"{name}.weight", 1))
            return self.produce(name, module.out_channels, module, CHANNELS)
        if value is None:
            return None  # any module on free values leaves the units alone
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            layout = FEATURES if isinstance(module, nn.BatchNorm1d) else CHANNELS
            self.expect(node, value, layout, module.num_features)
            names = ("weight", "bias", "running_mean", "running_var")
            self.add_own(value, name, module, names)
            return value
        if isinstance(module, nn.LayerNorm):
            size = self.groups.size[self.groups.find(value.root)]
            if value.layout != FEATURES or tuple(module.normalized_shape) != (size,):
                self.refuse(
                    node,
                    f"normalizes over {tuple(module.normalized_shape)}, not over the "
                    f"{size} units of (N, {size}); only LayerNorm over the units is followed",
                )
            self.add_own(value, name, module, ("weight", "bias"))
            return value
        if isinstance(module, nn.PReLU):
            if module.num_parameters != 1:
                self.expect(node, value, value.layout, module.num_parameters)
                self.add_own(value, name, module, ("weight",))
            return value
        if isinstance(module, ops.ELEMENTWISE_MODULES):
            return value
        if isinstance(module, ops.CHANNEL_MODULES):
            self.expect(node, value, CHANNELS)
            if getattr(module, "return_indices", False):
                self.refuse(node, "returns indices")
            return value
        if isinstance(module, nn.Flatten):
            self.expect(node, value, CHANNELS)
            if (module.start_dim, module.end_dim) not in ((1, -1), (1, 3)):
                self.refuse(node, "does not flatten (N, C, H, W) to (N, C*H*W)")
            return _Units(value.root, FLAT)
        raise AssertionError(f"{type(module).__name__} is in ops.FOLLOWED_MODULES")

    def function(self, node: torch.fx.Node, target: Any, units: list[_Units]) -> _Units | None:
        method = isinstance(target, str)
        if (method and target in ops.SHAPE_METHODS) or (
            target is getattr and node.args[1] in ops.SHAPE_ATTRIBUTES
        ):
            return None  # a shape, not values
        tensors = _input_nodes(node)
        if (method and target in ops.BINARY_METHODS) or target in ops.BINARY_FUNCTIONS:
            return self.join(node, tensors)
        kind = ops.unary_kind(target)
        if kind is None:
            self.refuse(node, "is not an operation hidden units may pass through")
        if not isinstance(node.args[0], torch.fx.Node) or self.state[node.args[0]] is None:
            self.refuse(node, "receives hidden units in an argument other than its input")
        if len(units) != 1:
            self.refuse(node, "receives hidden units in more than one argument")
        value = units[0]
        if kind != "view" and len(tensors) > 1:
            # another tensor (a per-unit clamp bound, a shape) may broadcast over the units:
            # they keep their order
            self.groups.pin(value.root)
        if kind == "elementwise":
            return value
        if kind == "channel":
            self.expect(node, value, CHANNELS)
            if node.kwargs.get("return_indices"):
                self.refuse(node, "returns indices")
            return value
        if kind == "flatten":
            self.expect(node, value, CHANNELS)
            start, end = _arguments(node, ("start_dim", 0), ("end_dim", -1))
            if (start, end) not in ((1, -1), (1, 3)):
                self.refuse(node, "does not flatten (N, C, H, W) to (N, C*H*W)")
            return _Units(value.root, FLAT)
        if kind == "view":
            if not _is_batch_flatten(node):
                self.refuse(node, "reshapes hidden units (only x.view(x.size(0), -1) is followed)")
            self.expect(node, value, CHANNELS)
            return _Units(value.root, FLAT)
        return self.spatial_reduction(node, value)

    def spatial_reduction(self, node: torch.fx.Node, value: _Units) -> _Units:
        dim, keepdim = _arguments(node, ("dim", None), ("keepdim", False))
        dims = {dim} if isinstance(dim, int) else set(dim or ())
        if value.layout != CHANNELS or dims not in ops.SPATIAL_DIMS:
            self.refuse(node, "reduces over other axes than H, W of an (N, C, H, W) map")
        return value if keepdim else _Units(value.root, FEATURES)

    # -- helpers -------------------------------------------------------------------------------

    def produce(self, name: str, size: int, module: nn.Module, layout: str) -> _Units:
        group = self.groups.new(name, size)
        self.add_own(_Units(group, layout), name, module, ("weight", "bias"))
        return _Units(group, layout)

    def add_own(self, value: _Units, name: str, module: nn.Module, tensors) -> None:
        """Axis 0 of each of the module's own per-unit tensors that exists."""
        for tensor in tensors:
            if getattr(module, tensor, None) is not None:
                self.groups.add(value.root, Member(f"{name}.{tensor}", 0))

    def consume_linear(self, node, module: nn.Linear, value: _Units) -> None:
        size = self.groups.size[self.groups.find(value.root)]
        if value.layout == FLAT:
            if module.in_features % size:
                self.refuse(
                    node,
                    f"has {module.in_features} inputs, not a multiple of the {size} "
                    "channels flattened into it",
                )
            block = module.in_features // size
        else:
            self.expect(node, value, FEATURES, module.in_features)
            block = 1
        self.groups.add(value.root, Member(f"{node.target}.weight", 1, block))

    def join(self, node: torch.fx.Node, tensors: list[torch.fx.Node]) -> _Units:
        """Element-wise arithmetic: unit operands share one permutation; a free tensor
        operand (it may broadcast over the units) pins them."""
        units = [self.state[n] for n in tensors if self.state[n] is not None]
        layouts = {u.layout for u in units}
        if len(layouts) > 1:
            self.refuse(node, f"combines hidden units of layouts {sorted(layouts)}")
        root = units[0].root
        for other in units[1:]:
            joined = self.groups.join(root, other.root)
            if joined is None:
                a, b = (self.groups.find(u.root) for u in (units[0], other))
                self.refuse(
                    node,
                    f"adds groups '{self.groups.names[a]}' ({self.groups.size[a]} units) "
                    f"and '{self.groups.names[b]}' ({self.groups.size[b]} units) of "
                    "different sizes",
                )
            root = joined
        if len(units) < len(tensors):
            self.groups.pin(root)
        return _Units(root, units[0].layout)

    def expect(self, node, value: _Units, layout: str, size: int | None = None) -> None:
        actual = self.groups.size[self.groups.find(value.root)]
        if value.layout != layout:
            shape = {FEATURES: "(N, F)", CHANNELS: "(N, C, H, W)", FLAT: "(N, C*H*W)"}
            self.refuse(
                node,
                f"receives hidden units as {shape[value.layout]}, where it needs them as "
                f"{shape[layout]}",
            )
        if size is not None and size != actual:
            self.refuse(node, f"expects {size} units, the layer before has {actual}")

    def refuse(self, node: torch.fx.Node, problem: str) -> NoReturn:
        raise LosslabError(
            f"cannot permute the hidden units of {type(self.model).__name__}: "
            f"{_where(self.model, node)} {problem}; supported: {ops.SUPPORTED}."
        )


_NORMS = nn.BatchNorm1d | nn.BatchNorm2d | nn.LayerNorm


class _Tracer(torch.fx.Tracer):
    """fx's tracer, with one more kind of leaf: a user subclass of a followed layer that
    keeps the layer's forward (`class MyLinear(nn.Linear)` adding only an init)."""

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        forward = type(module).forward
        if any(
            isinstance(module, base) and forward is base.forward for base in ops.FOLLOWED_MODULES
        ):
            return True
        return super().is_leaf_module(module, qualified_name)


def _trace(model: nn.Module) -> torch.fx.Graph:
    try:
        return _Tracer().trace(model)
    except Exception as error:  # noqa: BLE001 - any failure of tracing user code is one line
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise LosslabError(
            f"cannot find the hidden units of {type(model).__name__}: torch.fx cannot trace "
            f"it ({type(error).__name__}: {first[:160]}); supported: {ops.SUPPORTED}."
        ) from None


def _input_nodes(node: torch.fx.Node) -> list[torch.fx.Node]:
    """The graph values a node reads, in argument order."""
    return list(node.all_input_nodes)


def _arguments(node: torch.fx.Node, *spec: tuple[str, Any]) -> list[Any]:
    """Values of the arguments after the tensor, by position or keyword, else defaults."""
    values = []
    for position, (keyword, default) in enumerate(spec, start=1):
        if len(node.args) > position:
            values.append(node.args[position])
        else:
            values.append(node.kwargs.get(keyword, default))
    return values


def _is_batch_flatten(node: torch.fx.Node) -> bool:
    """x.view(x.size(0), -1) / x.reshape(x.shape[0], -1): (N, ...) -> (N, everything)."""
    shape = node.args[1:]
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    if len(shape) != 2 or shape[1] != -1 or not isinstance(shape[0], torch.fx.Node):
        return False
    first = shape[0]
    if first.op == "call_method" and first.target == "size":
        return tuple(first.args[1:]) == (0,) or first.kwargs.get("dim") == 0
    if first.target is operator.getitem and first.args[1:] == (0,):
        source = first.args[0]
        return isinstance(source, torch.fx.Node) and source.args[1:] == ("shape",)
    return False


def _where(model: nn.Module, node: torch.fx.Node) -> str:
    """'module 'block.fc' (Linear)' or 'torch.cat in module 'block' (Concat)'."""
    if node.op == "call_module":
        return f"module '{node.target}' ({type(model.get_submodule(node.target)).__name__})"
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path, kind = list(stack.values())[-1]
        owner = f"module '{path}' ({getattr(kind, '__name__', kind)})"
    else:
        owner = f"{type(model).__name__}.forward"
    return f"{ops.function_name(node.target)} in {owner}"


def _check_members(model: nn.Module, graph: torch.fx.Graph, groups: tuple[Group, ...]) -> None:
    """Every member is a tensor of the model that no other name shares (tied weights) and
    that the forward does not read directly (get_attr: its use is not followed)."""
    tensors = dict(model.named_parameters(remove_duplicate=False))
    tensors.update(model.named_buffers(remove_duplicate=False))
    owners: dict[int, list[str]] = {}
    for name, tensor in tensors.items():
        owners.setdefault(id(tensor), []).append(name)
    read = {str(node.target) for node in graph.nodes if node.op == "get_attr"}
    for group in groups:
        for member in group.members:
            tied = owners[id(tensors[member.name])]
            if len(tied) > 1:
                raise LosslabError(
                    f"cannot permute the hidden units of {type(model).__name__}: "
                    f"{' and '.join(repr(t) for t in tied)} are one tensor (tied weights); "
                    f"supported: {ops.SUPPORTED}."
                )
            module = member.name.rpartition(".")[0]
            if member.name in read or module in read:
                raise LosslabError(
                    f"cannot permute the hidden units of {type(model).__name__}: its forward "
                    f"reads '{member.name}' directly; supported: {ops.SUPPORTED}."
                )
