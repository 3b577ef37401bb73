"""What losslab accepts from a researcher's own model and data, in one place.

`ModelObjective` and `train` both read batches, call the model and read its outputs through
these functions, so they accept exactly the same things and refuse them in the same words:

    to_batch = batch_adapter(batch_fn)     # any batch -> Batch(inputs, targets, weights)
    to_tensor = output_adapter(output_fn)  # the model's return value -> one tensor
    batch = place(to_batch(raw), dtype, device)  # on the model's device and dtype
    outputs = to_tensor(call_model(model, batch.inputs))

A batch as it comes from the user is a pair (inputs, targets), a 3-tuple (inputs, targets,
per-sample weights), or anything `batch_fn` turns into one (a HuggingFace-style dict).
Inputs are a tensor (B, ...), or a tuple or dict of tensors that all lead with B: the model
is then called as model(*inputs) or model(**inputs); entries of a dict or tuple that are not
tensors or arrays (a flag, a string) are passed through as they are.
Every refusal is one `LosslabError` line naming what was given and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from losslab.errors import LosslabError

_BATCH_HELP = (
    "give (inputs, targets) or (inputs, targets, weights), or pass batch_fn=a callable that "
    "turns one batch into such a tuple"
)
_BATCH_FN_HELP = "batch_fn must return (inputs, targets) or (inputs, targets, weights)"
_OUTPUT_HELP = (
    "pass output_fn= a key or attribute name ('logits'), an index (0) for a tuple, or a "
    "callable(outputs) -> tensor"
)


class Batch(NamedTuple):
    """One batch as losslab uses it.

    inputs: a tensor (B, ...), or a tuple or dict of tensors each leading with B.
    targets: (B, ...).
    weights: (B,) per-sample weights >= 0 (a weighted mean loss), or None.
    """

    inputs: Any
    targets: Tensor
    weights: Tensor | None = None


# -- batches -----------------------------------------------------------------------------------


def batch_adapter(batch_fn: Callable[[Any], Any] | None = None) -> Callable[[Any], Batch]:
    """A function from one raw batch to a checked `Batch`; `batch_fn` (or None) first."""
    if batch_fn is not None and not callable(batch_fn):
        raise LosslabError(
            f"batch_fn is a {type(batch_fn).__name__}; give a callable(batch) -> "
            "(inputs, targets) or (inputs, targets, weights), or None."
        )
    if batch_fn is None:
        return check_batch
    label = f"the result of batch_fn {_name(batch_fn)!r}"

    def to_batch(raw: Any) -> Batch:
        return check_batch(_call_user(batch_fn, raw, "batch_fn"), label, _BATCH_FN_HELP)

    return to_batch


def check_batch(given: Any, label: str = "a batch", help: str = _BATCH_HELP) -> Batch:
    """(inputs, targets[, weights]) as a checked Batch, tensors from arrays as needed.

    label names what was given in a refusal ("a batch"), help says what is allowed."""
    if isinstance(given, Mapping):
        raise LosslabError(f"{label} is a dict with keys {_keys(given)}; {help}.")
    if (
        isinstance(given, str | bytes)
        or not isinstance(given, Sequence)
        or len(given) not in (2, 3)
    ):
        sized = isinstance(given, Sequence) and not isinstance(given, str | bytes)
        size = f" of {len(given)} items" if sized else ""
        raise LosslabError(f"{label} is a {type(given).__name__}{size}; {help}.")
    inputs = map_tensors(lambda part: _as_tensor(part, label, "an input"), given[0])
    if not tensors_of(inputs):
        raise LosslabError(
            f"{label} has inputs of type {type(given[0]).__name__}; inputs are a tensor or "
            "array (B, ...), or a tuple or dict of them."
        )
    targets = _as_tensor(given[1], label, "targets")
    weights = (
        None if len(given) == 2 or given[2] is None else _as_tensor(given[2], label, "weights")
    )
    n = n_samples(inputs, label)
    if targets.ndim == 0 or targets.shape[0] != n:
        raise LosslabError(
            f"{label}: inputs have {n} samples but targets have shape "
            f"{tuple(targets.shape)}; targets need the same leading dimension ({n}, ...)."
        )
    if weights is not None:
        if weights.shape != (n,) or not weights.is_floating_point():
            raise LosslabError(
                f"{label}: weights of shape {tuple(weights.shape)} and dtype "
                f"{_dtype(weights)}; give one float weight per sample, shape ({n},)."
            )
        if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
            raise LosslabError(f"{label}: weights must be finite and >= 0.")
    return Batch(inputs, targets, weights)


def _as_tensor(value: Any, label: str, part: str) -> Tensor:
    """torch.as_tensor(value) for a tensor, an array or a list of numbers; else one line."""
    if isinstance(value, Tensor):
        return value
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LosslabError(
            f"{label}: {part} ({type(value).__name__}) is not a tensor, array or list of "
            f"numbers ({reason})."
        ) from None


def place(batch: Batch, dtype: torch.dtype, device: torch.device | str) -> Batch:
    """A batch as the model meets it, on `device`: floating inputs, targets and weights in the
    model's `dtype`, bool targets too (0/1 labels); integer targets as int64 (class indices);
    integer and bool inputs (token ids, masks) kept. Complex data is refused (`check_real`).
    ModelObjective and train both read their data through it."""

    xs = tensors_of(batch.inputs)
    check_real(xs[0], batch.targets)  # the words ModelObjective's (X, y) data gets
    for x in xs[1:]:
        check_real(x)

    def inputs(t: Tensor) -> Tensor:
        return t.to(device, dtype) if t.is_floating_point() else t.to(device)

    targets = batch.targets
    if targets.is_floating_point() or targets.dtype == torch.bool:  # bool: 0/1 labels (bce)
        targets = targets.to(device, dtype)
    else:
        targets = targets.to(device, torch.int64)
    weights = None if batch.weights is None else batch.weights.to(device, dtype)
    return Batch(map_tensors(inputs, batch.inputs), targets, weights)


def n_samples(inputs: Any, label: str = "inputs") -> int:
    """The leading dimension every input tensor shares."""
    named = _named_tensors(inputs)
    if not named:
        raise LosslabError(f"{label}: the inputs hold no tensor; {_BATCH_HELP}.")
    sizes = {name: t.shape[0] if t.ndim else None for name, t in named}
    if len(set(sizes.values())) != 1 or None in sizes.values():
        leads = ", ".join(
            f"{name} {'is 0-d' if size is None else f'leads with {size}'}"
            for name, size in list(sizes.items())[:8]
        )
        raise LosslabError(
            f"{label}: the input tensors do not share a leading sample dimension ({leads}); "
            "every input needs the same leading dimension B."
        )
    return next(iter(sizes.values()))


def _named_tensors(inputs: Any) -> list[tuple[str, Tensor]]:
    """The input tensors with a name for messages: 'the input', 'input 0', "'mask'"."""
    if isinstance(inputs, Tensor):
        return [("the input", inputs)]
    if isinstance(inputs, Mapping):
        items = [(repr(k), v) for k, v in inputs.items()]
    elif isinstance(inputs, list | tuple):
        items = [(f"input {i}", v) for i, v in enumerate(inputs)]
    else:
        items = []
    return [(name, v) for name, v in items if isinstance(v, Tensor)]


def tensors_of(inputs: Any) -> list[Tensor]:
    """The tensors in a tensor, or a tuple, list or dict of them (one level)."""
    if isinstance(inputs, Tensor):
        return [inputs]
    if isinstance(inputs, Mapping):
        return [v for v in inputs.values() if isinstance(v, Tensor)]
    if isinstance(inputs, list | tuple):
        return [v for v in inputs if isinstance(v, Tensor)]
    return []


def map_tensors(fn: Callable[[Any], Any], inputs: Any) -> Any:
    """fn applied to a tensor (or array), or to each tensor of a tuple, list or dict of them.

    Non-tensor entries of a dict or tuple (a flag, a string) are kept as they are."""
    if isinstance(inputs, Mapping):
        return {k: _leaf(fn, v) for k, v in inputs.items()}
    if isinstance(inputs, list | tuple):
        return type(inputs)(_leaf(fn, v) for v in inputs)
    return fn(inputs)


def _leaf(fn, value):
    # arrays become tensors; numpy scalars, flags and strings are not per-sample data
    if isinstance(value, Tensor | np.ndarray):
        return fn(value)
    return value


# -- the model ---------------------------------------------------------------------------------


def call_model(model: Callable[..., Any], inputs: Any) -> Any:
    """model(x) for a tensor, model(*x) for a tuple or list, model(**x) for a dict."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, list | tuple):
        return model(*inputs)
    return model(inputs)


def call_functional(module: nn.Module, params: Mapping[str, Tensor], inputs: Any) -> Any:
    """torch.func.functional_call(module, params, ...) with inputs passed as `call_model`
    passes them (x, *x or **x)."""
    return call_model(lambda *a, **k: functional_call(module, params, a, k), inputs)


def output_adapter(output_fn: Any = None) -> Callable[[Any], Tensor]:
    """A function from the model's return value to one tensor of outputs (B, ...).

    output_fn: None (the model returns a tensor), a str (a dict key or an attribute, such as
    a HuggingFace output's 'logits'), an int (an element of a returned tuple), or a callable.
    """
    if output_fn is None:
        return _tensor_output
    if (
        isinstance(output_fn, bool)
        or not isinstance(output_fn, str | int)
        and not callable(output_fn)
    ):
        raise LosslabError(
            f"output_fn is a {type(output_fn).__name__}; give "
            f"{_OUTPUT_HELP.removeprefix('pass output_fn= ')}"
            ", or None."
        )

    def pick(raw: Any) -> Tensor:
        if isinstance(output_fn, str):
            if isinstance(raw, Mapping) and output_fn in raw:
                picked = raw[output_fn]
            elif not isinstance(raw, Mapping) and hasattr(raw, output_fn):
                picked = getattr(raw, output_fn)
            else:
                raise LosslabError(
                    f"output_fn={output_fn!r}, but the model returns {_describe(raw)}."
                )
        elif isinstance(output_fn, int):
            if not isinstance(raw, list | tuple) or not -len(raw) <= output_fn < len(raw):
                raise LosslabError(
                    f"output_fn={output_fn}, but the model returns {_describe(raw)}."
                )
            picked = raw[output_fn]
        else:
            picked = _call_user(output_fn, raw, "output_fn")
        if not isinstance(picked, Tensor):
            raise LosslabError(
                f"output_fn={_name(output_fn)} gives {_describe(picked)}; it must give one "
                "tensor of outputs (B, ...)."
            )
        return picked

    return pick


def _tensor_output(raw: Any) -> Tensor:
    if isinstance(raw, Tensor):
        return raw
    raise LosslabError(f"the model returns {_describe(raw)}; {_OUTPUT_HELP}.")


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return f"a {type(value).__name__} with keys {_keys(value)}"
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _keys(mapping: Mapping, shown: int = 8) -> str:
    keys = list(mapping)
    return ", ".join(map(repr, keys[:shown])) + (", ..." if len(keys) > shown else "")


def _dtype(tensor: Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _name(fn: Any) -> str:
    if isinstance(fn, str | int):
        return repr(fn)
    return getattr(fn, "__name__", type(fn).__name__)


def _call_user(fn: Callable[[Any], Any], value: Any, label: str) -> Any:
    """fn(value); an exception in the user's function becomes one line naming it."""
    try:
        return fn(value)
    except LosslabError:
        raise
    except Exception as error:  # noqa: BLE001 - the user's code: say which function failed
        reason = (str(error).splitlines() or [""])[0].rstrip(".")
        message = f"{label} {_name(fn)!r} failed: {type(error).__name__}: {reason}."
        raise LosslabError(message) from error


_UNINITIALIZED = (nn.parameter.UninitializedParameter, nn.parameter.UninitializedBuffer)


def check_materialized(model: nn.Module) -> None:
    """Refuse a model whose weights hold no values: on the meta device (built under
    torch.device('meta') or from_pretrained(..., low_cpu_mem_usage) without loading), or a
    Lazy module that has not seen an input yet."""
    named = [*model.named_parameters(), *model.named_buffers()]
    for name, tensor in named:
        if isinstance(tensor, _UNINITIALIZED):
            raise LosslabError(
                f"the model's '{name}' is not materialized yet (a Lazy module): run the model "
                "once on a sample batch, e.g. model(x[:1]), before giving it to losslab."
            )
        if tensor.is_meta:
            raise LosslabError(
                f"the model's '{name}' is on the meta device and holds no values: load its "
                "weights first (model.to_empty(device='cpu'), then load_state_dict)."
            )


def check_real(*tensors: Tensor, model: nn.Module | None = None, label: str = "data") -> None:
    """Refuse a model with complex trainable parameters, or complex X or y (the `tensors`):
    every landscape, path and Hessian here is over real parameter vectors, and casting would
    silently drop the imaginary parts."""
    if model is not None:
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad and p.is_complex()]
        if named:
            (name, param), more = named[0], len(named) - 1
            raise LosslabError(
                f"the model's parameter '{name}'"
                + (f" (and {more} more)" if more else "")
                + f" is {_dtype(param)}: losslab needs real parameters; keep the real and "
                "imaginary parts as two real parameters and combine them in forward "
                "(torch.complex(re, im))."
            )
    for part, tensor in zip(("X", "y"), tensors, strict=False):
        if tensor.is_complex():
            raise LosslabError(
                f"{label}: {part} is {_dtype(tensor)}; losses over complex numbers are not "
                "supported: give real inputs and targets."
            )
