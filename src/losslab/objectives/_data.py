"""Evaluation data for a network objective: checked, on the model's device, read in batches.

`read_data` turns what the user gave into a source of `Batch`es (see `adapters`):
- `TensorData`: tensors held in memory ((X, y) or (X, y, w) tensors or arrays, X a tensor or
  a tuple or dict of tensors; a losslab Dataset's training split; a DataLoader small enough
  to read once). Batches are slices, so one batch of all data costs nothing.
- `LoaderData`: a DataLoader too large to hold (first batch's bytes x len > the budget),
  STREAMED: each pass iterates an unshuffled loader over `loader.dataset` (same collate_fn
  and num_workers, the objective's batch size) and nothing of all N samples is kept.
Both read a DataLoader through an unshuffled loader over its dataset, so a shuffled loader
gives the same objective every time. `scan` reads the data once at construction: checks
(finite values, target range), the sample count and the whole-data constants (`DataFacts`).

Inputs stay integer when they are integer (token ids for an Embedding); floating inputs take
the model's dtype; integer targets become int64, float or bool targets the model's dtype.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset, Subset, TensorDataset, default_collate

from losslab import budget
from losslab.errors import LosslabError
from losslab.objectives import adapters
from losslab.objectives.adapters import Batch, check_real, map_tensors, tensors_of

# A DataLoader is read into memory once when its data takes at most this many bytes (and a
# quarter of the available memory); larger ones are streamed pass by pass.
MATERIALIZE_BYTES = 1 << 30


def read_data(data, label: str, dtype: torch.dtype, device, to_batch) -> TensorData | LoaderData:
    """The source of `data` (see the module docstring); `to_batch` is the objective's
    batch adapter (raw batch -> Batch)."""
    from losslab.data.dataset import Dataset  # data/ is a sibling layer: imported late

    def place(batch: Batch) -> Batch:
        return adapters.place(batch, dtype, device)

    if isinstance(data, DataLoader):
        return _from_loader(data, label, place, to_batch)
    if isinstance(data, Dataset):
        data = (data.X_train, data.y_train)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        _check_lengths(data, label)
    elif not isinstance(data, Mapping):
        raise LosslabError(
            f"{label} is a {type(data).__name__}; give (X, y) or (X, y, w) tensors or arrays, "
            "a losslab Dataset, or a DataLoader of such batches."
        )
    return TensorData(place(_checked(to_batch(data), label)))


def _check_lengths(data: Sequence, label: str) -> None:
    # The common mistake in its own words, before the general batch check.
    if len(data) in (2, 3) and all(hasattr(part, "shape") for part in data[:2]):
        x, y = data[0], data[1]
        if len(x.shape) and len(y.shape) and x.shape[0] != y.shape[0]:
            raise LosslabError(
                f"{label}: X has {x.shape[0]} samples but y has {y.shape[0]}; they must match."
            )


@dataclass
class TensorData:
    """All samples as tensors on the device: batch.inputs (N, ...) (or a tuple/dict of
    them), batch.targets (N, ...), batch.weights (N,) or None."""

    whole: Batch
    streamed: bool = field(default=False, init=False)

    @property
    def n(self) -> int:
        return int(self.whole.targets.shape[0])

    def batches(self, size: int) -> Iterator[Batch]:
        """Consecutive slices of `size` samples (the last may be shorter)."""
        if size >= self.n:
            yield self.whole
            return
        for start in range(0, self.n, size):
            yield _slice(self.whole, slice(start, start + size))

    def subset(self, index: Tensor) -> TensorData:
        return TensorData(_slice(self.whole, index.to(self.whole.targets.device)))

    def tensors(self) -> list[Tensor]:
        """The tensors that identify the data, in order (X's tensors, y, w)."""
        whole = self.whole
        weights = [] if whole.weights is None else [whole.weights]
        return [*tensors_of(whole.inputs), whole.targets, *weights]


class LoaderData:
    """A DataLoader's data, streamed: every pass reads the dataset (or the fixed subset) in
    order through a fresh unshuffled loader; `convert` makes each raw batch a placed Batch."""

    streamed = True

    def __init__(self, loader: DataLoader, convert: Callable[[Any], Batch], index=None):
        self.loader, self.convert, self.index = loader, convert, index
        dataset = loader.dataset
        self.dataset = dataset if index is None else Subset(dataset, index.tolist())
        self._n = len(self.dataset)

    @property
    def n(self) -> int:
        return self._n

    def batches(self, size: int) -> Iterator[Batch]:
        for raw in _plain(self.loader, self.dataset, size):
            yield self.convert(raw)

    def subset(self, index: Tensor) -> LoaderData:
        return LoaderData(self.loader, self.convert, index)


def _plain(loader: DataLoader, dataset, size: int) -> DataLoader:
    # An unshuffled loader with its own generator: creating a DataLoader iterator draws a base
    # seed, which must not come from (and disturb) the global random state.
    return DataLoader(
        dataset,
        batch_size=size,
        shuffle=False,
        collate_fn=loader.collate_fn,
        num_workers=loader.num_workers,
        generator=torch.Generator(),
    )


def _from_loader(loader: DataLoader, label: str, place, to_batch):
    def convert(raw: Any) -> Batch:
        return place(_checked(to_batch(raw), label))

    if isinstance(loader.dataset, TensorDataset) and loader.collate_fn is default_collate:
        # Its tensors are the data, already in memory: used as they are (no copy when the
        # dtype and device match), so holding the data costs nothing beyond the user's own.
        return TensorData(convert(tuple(loader.dataset.tensors)))
    if isinstance(loader.dataset, IterableDataset) or loader.batch_size is None:
        # No random access (or no batching of its own): read its own batches once.
        parts = [convert(raw) for raw in loader]
        if not parts:
            raise LosslabError(f"{label}: the DataLoader is empty.")
        return TensorData(concat(parts))
    try:
        n_batches = len(loader)
    except TypeError:
        n_batches = 0
    first = next(iter(_plain(loader, loader.dataset, loader.batch_size)), None)
    if first is None or n_batches == 0:
        raise LosslabError(f"{label}: the DataLoader is empty.")
    first = convert(first)
    size = n_batches * sum(t.numel() * t.element_size() for t in _batch_tensors(first))
    limit = min(MATERIALIZE_BYTES, budget.available_memory() // 4)
    if size <= limit:
        return TensorData(concat([convert(raw) for raw in _plain(loader, loader.dataset, 4096)]))
    return LoaderData(loader, convert)


def _batch_tensors(batch: Batch) -> list[Tensor]:
    weights = [] if batch.weights is None else [batch.weights]
    return [*tensors_of(batch.inputs), batch.targets, *weights]


def concat(parts: list[Batch]) -> Batch:
    """Batches joined along the sample dimension (inputs a tensor, tuple or dict)."""
    first = parts[0]
    if isinstance(first.inputs, Mapping):
        inputs: Any = {
            k: torch.cat([p.inputs[k] for p in parts]) if isinstance(v, Tensor) else v
            for k, v in first.inputs.items()
        }
    elif isinstance(first.inputs, list | tuple):
        inputs = type(first.inputs)(
            torch.cat([p.inputs[i] for p in parts]) if isinstance(v, Tensor) else v
            for i, v in enumerate(first.inputs)
        )
    else:
        inputs = torch.cat([p.inputs for p in parts])
    weights = None if first.weights is None else torch.cat([p.weights for p in parts])
    return Batch(inputs, torch.cat([p.targets for p in parts]), weights)


def _slice(batch: Batch, index) -> Batch:
    def cut(t):
        return t[index] if isinstance(t, Tensor) and t.ndim else t

    weights = None if batch.weights is None else batch.weights[index]
    return Batch(map_tensors(cut, batch.inputs), batch.targets[index], weights)


def _checked(batch: Batch, label: str) -> Batch:
    """Refuse an empty batch, or complex or non-finite values in one (as the user gave it)."""
    if batch.targets.shape[0] == 0:
        raise LosslabError(f"{label} is empty: give at least one sample.")
    for x in tensors_of(batch.inputs):
        check_real(x, batch.targets, label=label)
    for part, tensors in (("X", tensors_of(batch.inputs)), ("y", [batch.targets])):
        for tensor in tensors:
            if tensor.is_floating_point():
                bad = _non_finite(tensor)
                if bad:
                    raise LosslabError(
                        f"{label}: {part} contains {bad} NaN or infinite value(s); clean or "
                        "drop those samples first."
                    )
    return batch


def _non_finite(tensor: Tensor, chunk: int = 1 << 22) -> int:
    """How many NaN or infinite values, counted in chunks: a whole-data mask would cost a
    byte per value (30 MB for 10,000 CIFAR images) on top of the data."""
    flat = tensor.reshape(-1)
    return sum(int((~torch.isfinite(part)).sum()) for part in flat.split(chunk))


# -- whole-data facts ----------------------------------------------------------------------------


@dataclass
class DataFacts:
    """What one read of all the data tells: n samples, the inputs' and targets' shapes and
    dtypes, the targets' range, whether there are per-sample weights, the denominator of the
    weighted mean (sum of w_i * mean class weight_i; n when neither), and a fingerprint."""

    n: int
    input_shape: list[int]
    target_shape: list[int]
    target_dtype: torch.dtype
    target_min: float
    target_max: float
    weighted: bool
    denominator: float
    weight_sum: float
    fingerprint: str
    first: Batch  # a few samples, for the model check at construction


def scan(source: TensorData | LoaderData, loss, size: int) -> DataFacts:
    """One pass over the data in batches of `size` (none for tensors): see `DataFacts`."""
    if isinstance(source, TensorData):  # its fingerprint is made when asked for
        return _facts(source.whole, loss, [source.whole], "")
    digests: dict[str, Any] = {}
    totals = _zero_totals()
    weighted: set[bool] = set()
    first = None
    for batch in source.batches(size):
        first = batch if first is None else first
        weighted.add(batch.weights is not None)
        _count(batch, loss, totals)
        for i, tensor in enumerate(_batch_tensors(batch)):
            digest = digests.setdefault(str(i), hashlib.sha256())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    if first is None:
        raise LosslabError("data: the DataLoader is empty.")
    if len(weighted) > 1:
        raise LosslabError(
            "data: some batches have per-sample weights and some have none; give (x, y, w) "
            "for every batch, or (x, y) for every batch."
        )
    whole = hashlib.sha256(f"stream:{totals['n']}".encode())
    for key in sorted(digests):
        whole.update(digests[key].digest())
    facts = _facts(first, loss, [], whole.hexdigest())
    facts.n, facts.denominator, facts.weight_sum = totals["n"], totals["den"], totals["wsum"]
    facts.target_min, facts.target_max = totals["min"], totals["max"]
    return facts


def _zero_totals() -> dict:
    return {"n": 0, "den": 0.0, "wsum": 0.0, "min": float("inf"), "max": float("-inf")}


def _count(batch: Batch, loss, totals: dict) -> None:
    y = batch.targets
    totals["n"] += int(y.shape[0])
    totals["den"] += denominator_part(batch, loss)
    w = batch.weights
    totals["wsum"] += float(y.shape[0]) if w is None else float(w.to(torch.float64).sum())
    if y.numel():
        totals["min"] = min(totals["min"], float(y.min()))
        totals["max"] = max(totals["max"], float(y.max()))


def denominator_part(batch: Batch, loss) -> float:
    """This batch's part of the weighted mean's denominator: sum_i w_i * m_i (float64),
    w_i the per-sample weight (1 without), m_i the mean class weight (1 without)."""
    means = loss.class_weight_means(batch.targets)
    if batch.weights is None:
        return float(batch.targets.shape[0]) if means is None else float(means.sum())
    weights = batch.weights.to(torch.float64)
    return float(weights.sum() if means is None else (weights * means).sum())


def _facts(first: Batch, loss, all_batches: list[Batch], fingerprint: str) -> DataFacts:
    totals = _zero_totals()
    for batch in all_batches:
        _count(batch, loss, totals)
    inputs = first.inputs
    shape = list(inputs.shape[1:]) if isinstance(inputs, Tensor) else []
    return DataFacts(
        n=totals["n"],
        input_shape=shape,
        target_shape=list(first.targets.shape[1:]),
        target_dtype=first.targets.dtype,
        target_min=totals["min"],
        target_max=totals["max"],
        weighted=first.weights is not None,
        denominator=totals["den"],
        weight_sum=totals["wsum"],
        fingerprint=fingerprint,
        first=first,
    )


# -- checks and subsets ---------------------------------------------------------------------------


def fixed_index(n_total: int, n_samples: int, seed: int) -> Tensor:
    """The same `n_samples` indices of n_total for the same seed (in data order): a seeded
    permutation's first n_samples indices, sorted."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=generator)[:n_samples].sort().values
