"""Train a network and record its path through parameter space: the trajectory that a
landscape of the network is drawn around.

    >>> data = load_dataset("digits")
    >>> model = build("mlp", data)
    >>> run = train(model, data, optimizer="sgd", lr=0.1, epochs=5)      # model trained in place
    >>> run.params.shape                      # (n_records, n_params), ParamLayout.of(model) order
    >>> run.save("run.json")                  # small runs as JSON, big ones as HDF5 (".h5")

Where the records live:
- `out=None`: in memory, refused up front (with the fix in the message) when they would take
  more than `MAX_IN_MEMORY_BYTES` (1 GiB).
- `out="run.h5"`: written to HDF5 chunk by chunk (16 MiB) while training, through the codec's
  atomic HDF5 writer (losslab.results): a hidden temporary file beside `out` that is renamed
  into place when training ends; an interrupted run leaves no file. The returned run reads
  that file back with `TrainingRun.load`, which memory-maps params above `MMAP_BYTES`
  (64 MiB) instead of reading them into RAM.
`TrainingRun.save` is the codec's: JSON for runs up to `losslab.results.JSON_MAX_VALUES`
numbers, HDF5 (this module's layout, see `TrainingRun.write_h5`) for a path ending in ".h5"
or ".hdf5".
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from losslab import budget
from losslab._checks import check_count, check_fraction, check_lr, check_seed
from losslab.data.dataset import Dataset, tensor_fingerprint
from losslab.errors import ArgumentTypeError, LosslabError
from losslab.io import check_writable
from losslab.objectives import adapters
from losslab.objectives._losses import LOSS_NAMES, LossSpec, resolve_loss, scalar_loss
from losslab.objectives.adapters import Batch, check_real
from losslab.params import ParamLayout, model_vector
from losslab.results import Result, decode, encode
from losslab.results.encoding import build
from losslab.results.h5 import METADATA_BYTES, H5Writer, checked_dataset, read_json_attribute
from losslab.results.kinds import FloatArray, IntArray, describe

MAX_IN_MEMORY_BYTES = 1 << 30  # records kept in RAM when out=None
MMAP_BYTES = 64 << 20  # TrainingRun.load memory-maps params larger than this
H5_CHUNK_BYTES = 16 << 20  # records buffered between HDF5 writes
EVAL_CHUNK = 8192  # samples per forward pass of the full-training-set loss
H5_SUFFIXES = (".h5", ".hdf5")
COMPLETED, DIVERGED = "completed", "diverged"
RECORD_FIELDS = ("params", "steps", "epochs", "train_loss")  # one HDF5 dataset each


@dataclass(frozen=True, eq=False)
class TrainingRun(Result):
    """The recorded path of one training run.

    params:     (n_records, n_params) flat parameter vectors in `layout` order, the model's
                dtype; row 0 is the initial point, the last row the final one.
    steps:      (n_records,) int64 optimizer steps taken before each record.
    epochs:     (n_records,) float64, steps / steps_per_epoch.
    train_loss: (n_records,) float64 loss on the whole training set at each record, in eval
                mode (BatchNorm uses its running statistics, dropout is off).
    names, shapes: the `ParamLayout` of the model.
    status:     "completed", or "diverged": a batch loss or a parameter became non-finite and
                training stopped; `n_steps` were taken; non-finite parameters are never recorded.
    data, model: what was trained on (Dataset.describe() or size and fingerprint) and
                repr(model).
    """

    result_type = "training_run"

    params: FloatArray
    steps: IntArray
    epochs: FloatArray
    train_loss: FloatArray
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    status: str = COMPLETED
    n_steps: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    model: str = ""

    @property
    def layout(self) -> ParamLayout:
        return ParamLayout(tuple(self.names), tuple(tuple(s) for s in self.shapes))

    @property
    def n_records(self) -> int:
        return self.params.shape[0]

    @property
    def diverged(self) -> bool:
        return self.status == DIVERGED

    @property
    def final(self) -> Tensor:
        """(n_params,) the last recorded parameters."""
        return self.params[-1]

    def __repr__(self) -> str:
        h = self.hyperparameters
        return (
            f"TrainingRun({h.get('optimizer')}, lr={h.get('lr')}, n_records={self.n_records}, "
            f"n_params={self.params.shape[1]}, n_steps={self.n_steps}, status={self.status!r}, "
            f"train_loss {float(self.train_loss[0]):.4g} -> {float(self.train_loss[-1]):.4g})"
        )

    def param_dict(self, index: int = -1) -> dict[str, Tensor]:
        """Record `index` as {name: tensor of its shape}, ready for torch.func.functional_call."""
        return self.layout.unflatten(self.params[index])

    # -- HDF5 layout: datasets params (n_rows, n_params), steps, epochs, train_loss (n_rows,),
    # contiguous so that params can be memory-mapped; attributes n_records (rows written)
    # and metadata (the other fields, encoded as JSON). A streamed file preallocates rows.

    def write_h5(self, handle: h5py.File) -> None:
        _create_datasets(handle, self.n_records, self.params.shape[1], self.params.dtype)
        _write_rows(handle, 0, self.params, self.steps, self.epochs, self.train_loss)
        _write_attributes(handle, self.n_records, _metadata(self))

    @classmethod
    def read_h5(cls, handle: h5py.File, path: Path) -> Self:
        meta = read_json_attribute(handle, "metadata")
        fields = {k: decode(v, path=k) for k, v in meta.items() if k not in RECORD_FIELDS}
        n = handle.attrs.get("n_records")
        datasets = {k: checked_dataset(handle, k) for k in RECORD_FIELDS}
        rows = min(d.shape[0] if d.ndim else 0 for d in datasets.values())
        if not isinstance(n, int | np.integer) or not 1 <= n <= rows:
            raise LosslabError(
                f"attribute 'n_records' must be an integer from 1 to the {rows} rows the "
                f"datasets hold, got {describe(n)}."
            )
        if datasets["params"].ndim != 2 or any(datasets[k].ndim != 1 for k in RECORD_FIELDS[1:]):
            raise LosslabError(
                "datasets params (rows, n_params) and steps, epochs, train_loss "
                "(rows,) have the wrong number of dimensions."
            )
        fields["params"] = _read_params(Path(path), datasets["params"], int(n))
        for k in RECORD_FIELDS[1:]:
            fields[k] = torch.from_numpy(datasets[k][: int(n)])
        return build(cls, fields)

    def __post_init__(self):
        # What every reader of a run relies on (a file that breaks it is refused on loading);
        # the records' dtypes are those a recorder writes, whatever a file held.
        object.__setattr__(self, "steps", self.steps.to(torch.int64))
        object.__setattr__(self, "epochs", self.epochs.to(torch.float64))
        object.__setattr__(self, "train_loss", self.train_loss.to(torch.float64))
        n = self.params.shape[0] if self.params.ndim == 2 else 0
        if n < 1:
            raise LosslabError(
                f"params must be (n_records, n_params) with n_records >= 1, got shape "
                f"{tuple(self.params.shape)}."
            )
        for name in RECORD_FIELDS[1:]:
            if tuple(getattr(self, name).shape) != (n,):
                raise LosslabError(
                    f"{name} has shape {tuple(getattr(self, name).shape)}, params has {n} rows."
                )
        if len(self.names) != len(self.shapes) or any(d < 0 for s in self.shapes for d in s):
            raise LosslabError("names and shapes must pair each parameter with its shape.")
        if self.layout.n_params != self.params.shape[1]:
            raise LosslabError(
                f"the layout holds {self.layout.n_params} parameters, params has "
                f"{self.params.shape[1]} columns."
            )
        if self.status not in (COMPLETED, DIVERGED):
            raise LosslabError(f"status {self.status!r} is not 'completed' or 'diverged'.")
        if self.n_steps < 0:
            raise LosslabError(f"n_steps == {self.n_steps}, must be >= 0.")


def train(
    model: nn.Module,
    data: Dataset | tuple | list | Mapping | DataLoader,
    *,
    optimizer: str | Callable[..., torch.optim.Optimizer] = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    epochs: int = 10,
    batch_size: int = 64,
    record_every: int = 1,
    loss: str | Callable[[Tensor, Tensor], Tensor] | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    output_fn: str | int | Callable[[Any], Tensor] | None = None,
    batch_fn: Callable[[Any], Any] | None = None,
) -> TrainingRun:
    """Train `model` IN PLACE on `data` and record its parameters along the way.

    data: a Dataset (its training split), tensors (X, y) or (X, y, weights) (X (N, ...), or a
        tuple or dict of such inputs; y (N, ...); weights (N,) float >= 0), or a DataLoader
        (which brings its own batch size and order; `batch_size` is ignored) of such batches.
        With `batch_fn`, data may also be a dict of tensors that all lead with N.
    batch_fn: a callable(batch) -> (inputs, targets) or (inputs, targets, weights), applied
        to every batch (a DataLoader's, or a slice of the tensors): for dict batches.
    output_fn: what of the model's return value is the output: a dict key or attribute
        name ('logits' of a HuggingFace-style output), a tuple index (0), or a
        callable(returned) -> tensor. None: the model returns one tensor.
        Inputs that are a tuple or dict call model(*inputs) or model(**inputs). batch_fn and
        output_fn are read by losslab.objectives.adapters, as ModelObjective reads them.
    optimizer: "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad" with `lr` (and `momentum`,
        for sgd and rmsprop only), or a callable `params -> torch.optim.Optimizer`, which
        brings its own hyperparameters (`lr` and `momentum` are then ignored).
    loss: "cross_entropy" | "bce" (with logits) | "mse", a loss module or a callable
        (output, y) -> batch mean. None picks "mse" for float labels, "bce" for integer labels
        with a one-output model, "cross_entropy" otherwise. A batch with weights has the
        loss sum(w_i l_i) / sum(w_i) (0 when every weight is 0), l_i the per-sample losses
        of ModelObjective's definition; a plain callable cannot weight and is refused then.
    record_every: record after every this many optimizer steps; the initial point and the
        final point are always recorded.
    seed: the batch order of each epoch is `torch.randperm(N, generator=g)` with one
        `g = torch.Generator().manual_seed(seed)` for the whole run (last batch may be short);
        the CPU random state the model sees (dropout, a DataLoader's shuffling) is seeded
        with `seed` as well, and the caller's global random state is restored afterwards.
    out: an ".h5" path: stream the records to that HDF5 file (see the module docstring).
    progress: called as progress(steps_done, total_steps) after every optimizer step.

    Training runs in train mode; the full-training-set loss of each record is computed in
    eval mode, with no gradient and without touching the batches' random state, from
    float64 sums of per-sample losses over chunks of EVAL_CHUNK samples: exact whatever the
    chunking, the value ModelObjective gives at the recorded point (a plain callable loss:
    chunk means weighted by chunk size). The model's modules are left in the train/eval
    modes they had.
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model is a {type(model).__name__}, must be a torch nn.Module.")
    adapters.check_materialized(model)
    layout = ParamLayout.of(model)
    check_real(model=model)
    params = [p for p in model.parameters() if p.requires_grad]
    check_count("epochs", epochs)
    check_count("record_every", record_every)
    check_seed(seed)
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress == {progress!r}, must be a callable (done, total).")
    to_tensor = adapters.output_adapter(output_fn)

    def forward(inputs) -> Tensor:
        return to_tensor(adapters.call_model(model, inputs))

    dtype, device = params[0].dtype, params[0].device
    batches = _batches(data, batch_fn, check_count("batch_size", batch_size), seed, dtype, device)
    loss_fn = _loss(loss, forward, model, batches)
    opt, opt_info = _optimizer(optimizer, model, lr, momentum)

    total = epochs * batches.steps_per_epoch
    steps = batches.steps_per_epoch  # a cap on time: every step is a forward and backward pass
    budget.require_at_most(
        "train", "epochs", epochs, budget.MAX_STEPS, "optimizer steps", count=lambda e: e * steps
    )
    n_max = 1 + math.ceil(total / record_every)
    n_params = layout.n_params
    if out is not None:
        recorder = _H5Recorder(_check_h5_path(out), n_max, n_params, dtype)
    else:
        recorder = _MemoryRecorder(n_max, n_params, dtype)

    def record(step: int) -> None:
        with torch.no_grad(), _eval_mode(model):
            value = _full_loss(forward, loss_fn, batches)
        recorder.add(model_vector(model), step, step / batches.steps_per_epoch, value)

    modes = [(m, m.training) for m in model.modules()]
    status, step, last_recorded = COMPLETED, 0, 0
    try:
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            model.train()
            record(0)
            for _ in range(epochs):
                for batch in batches.epoch():
                    opt.zero_grad()
                    value = loss_fn.batch(forward(batch.inputs), batch)
                    if not torch.isfinite(value):
                        status = DIVERGED
                        break
                    value.backward()
                    opt.step()
                    step += 1
                    if not all(torch.isfinite(p).all() for p in params):
                        status, last_recorded = DIVERGED, step  # never record a NaN
                        break
                    if step % record_every == 0:
                        record(step)
                        last_recorded = step
                    if progress is not None:
                        progress(step, total)
                if status == DIVERGED:
                    break
            if last_recorded != step:
                record(step)
        hyperparameters = {
            **opt_info,
            "epochs": epochs,
            "batch_size": batches.batch_size,
            "steps_per_epoch": batches.steps_per_epoch,
            "record_every": record_every,
            "loss": loss_fn.name,
            "seed": seed,
            **_adapter_names(output_fn=output_fn, batch_fn=batch_fn),
        }
        meta = {
            "names": layout.names,
            "shapes": layout.shapes,
            "hyperparameters": hyperparameters,
            "status": status,
            "n_steps": step,
            "data": batches.describe(),
            "model": repr(model),
        }
        # as a saved and loaded run has them: tuples, not lists
        return recorder.finish(decode(encode(meta)))
    except BaseException:
        recorder.abort()
        raise
    finally:
        for module, mode in modes:
            module.training = mode


# --- data ------------------------------------------------------------------------------------
#
# Every batch is a checked Batch(inputs, targets, weights) from adapters.batch_adapter, placed
# on the model's device and dtype (adapters.place): the same reading as ModelObjective's.


class _TensorBatches:
    """Seeded mini-batches of in-memory data; the full set in EVAL_CHUNK slices, in order.

    data: the whole data as one structure of tensors that all lead with N: a checked and
    placed Batch (slices are Batches), or, with batch_fn, the user's structure (each slice is
    read through `to_batch`)."""

    def __init__(self, data, n: int, to_batch, batch_size: int, seed: int, described: dict):
        self.data, self.n, self.to_batch = data, n, to_batch
        self.batch_size, self.described = batch_size, described
        self.generator = torch.Generator().manual_seed(seed)
        self.steps_per_epoch = math.ceil(n / batch_size)

    def _slices(self, order: Tensor | None, size: int) -> Iterator[Batch]:
        for start in range(0, self.n, size):
            index = slice(start, start + size) if order is None else order[start : start + size]
            yield self.to_batch(_take(self.data, index))

    def epoch(self) -> Iterator[Batch]:
        return self._slices(torch.randperm(self.n, generator=self.generator), self.batch_size)

    def full(self) -> Iterator[Batch]:
        return self._slices(None, EVAL_CHUNK)

    def probe(self) -> Batch:
        return self.to_batch(_take(self.data, slice(0, 2)))

    def describe(self) -> dict:
        return self.described


def _take(data, index):
    """The samples `index` (a slice or an index tensor) of every tensor in `data`; the
    structure (tuples, lists, dicts, a Batch) and its other entries are kept."""
    if isinstance(data, Tensor):
        return data[index if isinstance(index, slice) else index.to(data.device)]
    if isinstance(data, Mapping):
        return {k: _take(v, index) for k, v in data.items()}
    if isinstance(data, Batch):
        return Batch(*(None if v is None else _take(v, index) for v in data))
    if isinstance(data, list | tuple):
        return type(data)(_take(v, index) for v in data)
    return data


class _LoaderBatches:
    """A DataLoader's own batches; the full set through a second, unshuffled loader."""

    def __init__(self, loader: DataLoader, to_batch):
        try:
            self.steps_per_epoch = len(loader)
        except TypeError:
            raise LosslabError(
                "the DataLoader has no len(): give one over a map-style dataset, or tensors."
            ) from None
        if self.steps_per_epoch == 0:
            raise LosslabError("the DataLoader yields no batches: its dataset is empty.")
        self.loader, self.to_batch, self.batch_size = loader, to_batch, loader.batch_size

    def _plain(self, batch_size: int) -> DataLoader:
        # An unshuffled loader; its own generator, because creating any DataLoader iterator
        # draws a base seed, which must not come from the random state that orders batches.
        return DataLoader(
            self.loader.dataset,
            batch_size=batch_size,
            collate_fn=self.loader.collate_fn,
            generator=torch.Generator(),
        )

    def epoch(self) -> Iterator[Batch]:
        return map(self.to_batch, self.loader)

    def full(self) -> Iterator[Batch]:
        return map(self.to_batch, self._plain(EVAL_CHUNK))

    def probe(self) -> Batch:
        return self.to_batch(next(iter(self._plain(2))))

    def describe(self) -> dict:
        with contextlib.suppress(TypeError):
            return {"n_train": len(self.loader.dataset), "batches": self.steps_per_epoch}
        return {"batches": self.steps_per_epoch}


def _batches(data, batch_fn, batch_size: int, seed: int, dtype, device):
    """The batches of `data` (see `train`), each read by adapters.batch_adapter(batch_fn)
    and placed on the model's device and dtype."""
    to_batch = adapters.batch_adapter(batch_fn)

    def placed(raw) -> Batch:
        return adapters.place(to_batch(raw), dtype, device)

    if isinstance(data, DataLoader):
        return _LoaderBatches(data, placed)
    if isinstance(data, Dataset):
        raw, described = data.train, data.describe()
    elif (isinstance(data, tuple | list) and len(data) in (2, 3)) or (
        isinstance(data, Mapping) and batch_fn is not None
    ):
        raw, described = _arrays_as_tensors(data), None
    else:
        with_fn = ", a dict of tensors with batch_fn" if batch_fn is not None else ""
        raise LosslabError(
            f"data is a {type(data).__name__}: give a losslab Dataset, tensors (X, y) or "
            f"(X, y, weights){with_fn}, or a torch DataLoader."
        )
    if batch_fn is None:  # checked and placed once: its slices are checked Batches
        checked = to_batch(raw)
        sizes, read = {adapters.n_samples(checked.inputs)}, _as_is
        raw = adapters.place(checked, dtype, device)
    else:
        checked, read = raw, placed
        sizes = {t.shape[0] if t.ndim else None for t in _tensors_in(raw)}
    if len(sizes) != 1 or None in sizes or 0 in sizes:
        leads = ", ".join(sorted(str(size) for size in sizes)) or "nothing"
        raise LosslabError(
            f"data: its tensors lead with {leads}; every tensor of data needs the same "
            "number N >= 1 of samples as its leading dimension."
        )
    n = sizes.pop()
    described = described or _described(checked, n)
    return _TensorBatches(raw, n, read, batch_size, seed, described)


def _as_is(batch: Batch) -> Batch:
    return batch


def _arrays_as_tensors(data):
    """The structure with its numpy arrays as tensors (sliced as the tensors are)."""
    if isinstance(data, np.ndarray):
        return torch.as_tensor(data)
    if isinstance(data, Mapping):
        return {k: _arrays_as_tensors(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(_arrays_as_tensors(v) for v in data)
    return data


def _tensors_in(data) -> list[Tensor]:
    if isinstance(data, Tensor):
        return [data]
    if isinstance(data, Mapping):
        data = list(data.values())
    if isinstance(data, list | tuple):
        return [t for v in data for t in _tensors_in(v)]
    return []


def _described(data, n: int) -> dict:
    """Size and fingerprint of in-memory data: a Batch as given (before it is placed), or
    the structure batch_fn reads."""
    described: dict[str, Any] = {"n_train": n}
    if isinstance(data, Batch) and isinstance(data.inputs, Tensor):
        described["feature_shape"] = list(data.inputs.shape[1:])
    if isinstance(data, Batch) and data.weights is not None:
        described["weighted"] = True
    described["fingerprint"] = tensor_fingerprint(*_tensors_in(data))
    return described


def _full_loss(forward, loss: _Loss, batches) -> float:
    """The loss on the whole training set, the objective's definition (`_Loss.of_set`),
    from float64 sums over the EVAL_CHUNK batches: exact whatever the chunking."""
    sums = None
    for batch in batches.full():
        terms = loss.set_terms(forward(batch.inputs), batch)
        sums = terms if sums is None else sums + terms
    return loss.of_set(sums)


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            module.training = mode


# --- loss and optimizer ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Loss:
    """The loss train minimizes and records.

    name: for the hyperparameters ("cross_entropy", "MSELoss", "my_loss").
    given: (outputs, targets) -> scalar, the loss as the user gave it: the loss of an
        unweighted batch (a loss module with its own reduction).
    spec: the objective's definition (objectives._losses.resolve_loss): per-sample losses
        l_i = spec.per_sample * spec.scale (None for a plain callable). A weighted batch's
        loss is sum(w_i l_i) / sum(w_i); the whole training set's likewise, with
        scale = n_elements / sum(class weights) over the whole set, as ModelObjective has it.
    refuse_weights: why weights cannot be used with this loss, or None.
    """

    name: str
    given: Callable[[Tensor, Tensor], Tensor]
    spec: LossSpec
    refuse_weights: str | None = None
    check_labels: bool = False  # bce: refuse labels other than 0 and 1 on every batch

    def batch(self, outputs: Tensor, batch: Batch) -> Tensor:
        """This batch's training loss, a scalar differentiable in `outputs`."""
        self._check(batch)
        if batch.weights is None:
            return scalar_loss(self.given(outputs, batch.targets), self.name)
        losses = self.spec.per_sample(outputs, batch.targets) * self.spec.scale(batch.targets)
        # all weights 0: the loss is 0 (sum(w l) == 0), not 0 / 0
        total = batch.weights.sum().clamp_min(torch.finfo(batch.weights.dtype).tiny)
        return (batch.weights * losses).sum() / total

    def set_terms(self, outputs: Tensor, batch: Batch) -> Tensor:
        """float64 sums whose combination `of_set` is the loss of a set of batches:
        [sum w_i p_i, sum w_i, sum of class weights, n_elements] for per-sample losses p_i
        (w_i = 1 without weights); [sum of batch mean * B, B, 0, 0] for a plain callable."""
        self._check(batch)
        if self.spec.per_sample is None:
            value = float(scalar_loss(self.given(outputs, batch.targets), self.name))
            n = len(batch.targets)
            return torch.tensor([value * n, n, 0.0, 0.0], dtype=torch.float64)
        losses = self.spec.per_sample(outputs, batch.targets).double()
        weights = torch.ones_like(losses) if batch.weights is None else batch.weights.double()
        class_weights = [0.0, 0.0]
        if self.spec.sample_weights is not None:
            per_element = self.spec.sample_weights(batch.targets)
            class_weights = [float(per_element.double().sum()), per_element.numel()]
        return torch.tensor(
            [float((weights * losses).sum()), float(weights.sum()), *class_weights],
            dtype=torch.float64,
        )

    def of_set(self, sums: Tensor) -> float:
        weighted, total, class_total, n_elements = sums.tolist()
        if total <= 0:
            raise LosslabError(
                "the per-sample weights sum to 0 over the training set: give at least one "
                "positive weight."
            )
        if self.spec.total:  # reduction="sum": the sum over every sample, as the objective
            return weighted
        value = weighted / total
        if self.spec.sample_weights is not None:
            if class_total <= 0:
                raise LosslabError(
                    f"loss '{self.name}': every target is ignored or has weight 0, so the mean "
                    "loss is undefined; check ignore_index and the class weights."
                )
            value *= n_elements / class_total
        return value

    def _check(self, batch: Batch) -> None:
        if batch.weights is not None and self.refuse_weights is not None:
            raise LosslabError(self.refuse_weights)
        if self.check_labels and ((batch.targets != 0) & (batch.targets != 1)).any():
            raise LosslabError("loss 'bce' needs labels 0 or 1; use 'cross_entropy' for classes.")


def _loss(loss, forward, model: nn.Module, batches) -> _Loss:
    """The loss `train` was given; None picks one from a probe batch (see `train`)."""
    if loss is None:
        probe = batches.probe()
        if probe.targets.is_floating_point():
            loss = "mse"
        else:
            with torch.no_grad(), _eval_mode(model):
                output = forward(probe.inputs)
            loss = "bce" if output.ndim == 1 or output.shape[-1] == 1 else "cross_entropy"
    if isinstance(loss, str):
        if loss not in LOSS_NAMES:
            raise LosslabError(_unknown("loss", loss, list(LOSS_NAMES)))
        spec = resolve_loss(loss)
        return _Loss(loss, spec.mean, spec, check_labels=loss == "bce")
    if not callable(loss):
        raise LosslabError(
            f"loss == {loss!r}: give {', '.join(LOSS_NAMES)}, a loss module, a callable "
            "(outputs, targets) -> scalar, or None."
        )
    spec = resolve_loss(loss)
    name = type(loss).__name__ if isinstance(loss, nn.Module) else spec.name
    refuse = None
    if spec.per_sample is None:
        refuse = (
            f"loss {name!r} is a plain callable that returns only the mean, and the data has "
            "per-sample weights: give 'cross_entropy', 'mse', 'bce' or a torch loss module, "
            "or data without weights."
        )
    elif getattr(loss, "reduction", "mean") not in ("mean", "batchmean"):
        refuse = (
            f"loss {name} has reduction={loss.reduction!r}, and the data has per-sample "
            "weights, which average the per-sample losses: give the module "
            "reduction='mean', or data without weights."
        )
    return _Loss(name, loss, spec, refuse)


_OPTIMIZERS = {
    "sgd": lambda p, lr, momentum: torch.optim.SGD(p, lr=lr, momentum=momentum),
    "adam": lambda p, lr, momentum: torch.optim.Adam(p, lr=lr),
    "adamw": lambda p, lr, momentum: torch.optim.AdamW(p, lr=lr),
    "rmsprop": lambda p, lr, momentum: torch.optim.RMSprop(p, lr=lr, momentum=momentum),
    "adagrad": lambda p, lr, momentum: torch.optim.Adagrad(p, lr=lr),
}
_WITH_MOMENTUM = ("sgd", "rmsprop")


def _optimizer(optimizer, model: nn.Module, lr, momentum) -> tuple[torch.optim.Optimizer, dict]:
    params = [p for p in model.parameters() if p.requires_grad]
    if isinstance(optimizer, str):
        if optimizer not in _OPTIMIZERS:
            raise LosslabError(_unknown("optimizer", optimizer, list(_OPTIMIZERS)))
        lr = check_lr(lr)
        momentum = check_fraction("momentum", momentum)
        if momentum and optimizer not in _WITH_MOMENTUM:
            raise LosslabError(
                f"momentum == {momentum!r} does not apply to '{optimizer}'; "
                f"only {' and '.join(_WITH_MOMENTUM)} take it."
            )
        opt = _OPTIMIZERS[optimizer](params, lr, momentum)
        name = optimizer
    elif callable(optimizer):
        opt = optimizer(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise LosslabError(
                f"optimizer callable returned a {type(opt).__name__}, must return a "
                "torch.optim.Optimizer over the parameters it is given."
            )
        name = type(opt).__name__
    else:
        raise LosslabError(
            f"optimizer == {optimizer!r}: give {', '.join(_OPTIMIZERS)} or a callable "
            "params -> torch.optim.Optimizer."
        )
    defaults = {k: _plain(v) for k, v in opt.defaults.items()}
    defaults = {k: v for k, v in defaults.items() if v is not _SKIP}
    info = {"optimizer": name, "lr": defaults.get("lr"), "momentum": defaults.get("momentum", 0)}
    return opt, {**info, "optimizer_defaults": defaults}


_SKIP = object()


def _plain(value):
    """An optimizer default as a plain JSON value, or _SKIP."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
        return tuple(value)
    return _SKIP


def _adapter_names(**given) -> dict[str, str | int]:
    """output_fn / batch_fn for the hyperparameters when given: a key, an index or a name."""
    return {
        key: value
        if isinstance(value, str | int)
        else getattr(value, "__name__", type(value).__name__)
        for key, value in given.items()
        if value is not None
    }


def _unknown(what: str, name, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(name), allowed, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"unknown {what} {name!r}: choose one of {', '.join(allowed)}.{hint}"


# --- recording -------------------------------------------------------------------------------


def _metadata(run: TrainingRun) -> dict[str, Any]:
    return {k: v for k, v in run.to_fields().items() if k not in RECORD_FIELDS}


class _MemoryRecorder:
    """Records into preallocated tensors; `finish` makes the TrainingRun."""

    def __init__(self, n_max: int, n_params: int, dtype: torch.dtype):
        size = n_max * n_params * dtype.itemsize
        if size > MAX_IN_MEMORY_BYTES:
            raise LosslabError(
                f"recording {n_max} points of {n_params} parameters needs "
                f"{size / 2**30:.1f} GiB, more than {MAX_IN_MEMORY_BYTES / 2**30:g} GiB in "
                "memory: give out='run.h5' to stream them to disk, or a larger record_every."
            )
        self.params = torch.empty(n_max, n_params, dtype=dtype)
        self.steps = torch.empty(n_max, dtype=torch.int64)
        self.epochs = torch.empty(n_max, dtype=torch.float64)
        self.train_loss = torch.empty(n_max, dtype=torch.float64)
        self.n = 0

    def add(self, vector: Tensor, step: int, epoch: float, loss: float) -> None:
        self.params[self.n] = vector
        self.steps[self.n], self.epochs[self.n], self.train_loss[self.n] = step, epoch, loss
        self.n += 1

    def finish(self, meta: dict[str, Any]) -> TrainingRun:
        n = self.n
        rows = (self.params, self.steps, self.epochs, self.train_loss)
        return TrainingRun(*(r[:n].clone() if n < len(r) else r for r in rows), **meta)

    def abort(self) -> None:
        pass


def _check_h5_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in H5_SUFFIXES:
        raise LosslabError(f"out == '{path}': training records go to HDF5, name it '*.h5'.")
    return check_writable(path)


class _H5Recorder:
    """Streams records into the codec's atomic HDF5 writer (TrainingRun's layout), buffering
    H5_CHUNK_BYTES of records between writes; `finish` renames the file into place. A write
    that fails (a full disk) removes the file and raises one WriteError line."""

    def __init__(self, path: Path, n_max: int, n_params: int, dtype: torch.dtype):
        self.path = path
        self.writer = H5Writer(path, TrainingRun, data_bytes=None)  # streamed
        with self.writer.writing():
            _create_datasets(self.writer.handle, n_max, n_params, dtype)
        # the disk space of every record, claimed now: a full disk fails before training
        self.writer.reserve(n_max * (n_params * dtype.itemsize + 24) + METADATA_BYTES)
        self.chunk_rows = max(1, H5_CHUNK_BYTES // max(1, n_params * dtype.itemsize))
        self.buffer: list[tuple[Tensor, int, float, float]] = []
        self.n = 0

    def add(self, vector: Tensor, step: int, epoch: float, loss: float) -> None:
        self.buffer.append((vector.cpu(), step, epoch, loss))
        if len(self.buffer) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        vectors, steps, epochs, losses = zip(*self.buffer, strict=True)
        handle = self.writer.handle
        with self.writer.writing():
            self.n = _write_rows(handle, self.n, torch.stack(vectors), steps, epochs, losses)
            handle.flush()
        self.buffer = []

    def finish(self, meta: dict[str, Any]) -> TrainingRun:
        self.flush()
        self.writer.reserve(2 * len(json.dumps(encode(meta), allow_nan=True)) + METADATA_BYTES)
        with self.writer.writing():
            _write_attributes(self.writer.handle, self.n, meta)
        self.writer.commit()
        return TrainingRun.load(self.path)

    def abort(self) -> None:
        self.writer.abort()


def _create_datasets(handle: h5py.File, n_rows: int, n_params: int, dtype: torch.dtype) -> None:
    np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
    handle.create_dataset("params", shape=(n_rows, n_params), dtype=np_dtype)
    handle.create_dataset("steps", shape=(n_rows,), dtype=np.int64)
    handle.create_dataset("epochs", shape=(n_rows,), dtype=np.float64)
    handle.create_dataset("train_loss", shape=(n_rows,), dtype=np.float64)


def _write_rows(handle: h5py.File, start: int, params, steps, epochs, losses) -> int:
    """Rows start .. start + k of every dataset; params (k, n_params), the others (k,).
    Returns the next free row."""
    rows = slice(start, start + len(params))
    handle["params"][rows] = params.detach().cpu().numpy()
    handle["steps"][rows] = np.asarray(steps, dtype=np.int64)
    handle["epochs"][rows] = np.asarray(epochs, dtype=np.float64)
    handle["train_loss"][rows] = np.asarray(losses, dtype=np.float64)
    return rows.stop


def _write_attributes(handle: h5py.File, n_records: int, meta: dict[str, Any]) -> None:
    handle.attrs["n_records"] = n_records
    handle.attrs["metadata"] = json.dumps(encode(meta), allow_nan=True)


def _read_params(path: Path, dataset: h5py.Dataset, n: int) -> Tensor:
    """Into memory when small; else a copy-on-write memory map of the file (nothing read)."""
    offset = dataset.id.get_offset()
    big = n * dataset.shape[1] * dataset.dtype.itemsize > MMAP_BYTES
    if big and offset is not None and dataset.chunks is None and dataset.dtype.isnative:
        mapped = np.memmap(path, dtype=dataset.dtype, mode="c", offset=offset, shape=dataset.shape)
        return torch.from_numpy(mapped[:n])
    return torch.from_numpy(dataset[:n])
