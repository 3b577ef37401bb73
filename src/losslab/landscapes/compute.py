"""`landscape()`: an objective's metrics on a grid of a 1-D or 2-D slice, chunk by chunk.

The grid (n0[, n1] points, 'ij' order) is flattened and cut into chunks. Each chunk is one
call of `run_chunk`, a plain function of plain data (the run's `ChunkInputs`: objective,
origin, directions, axes; and the chunk's bounds) -> {metric: values}, so memory is bounded by
the chunk and an executor (`losslab.executors`: this process, or Ray tasks) runs the chunks.
With `out=`, finished chunks go to a resumable store (store.py), written by the calling process
only, and the result ends in one HDF5 file (result.py).

Every objective is read through the one contract of `Objective`: a chunk is
`objective.evaluate_slice(origin, directions, coords)` (for a surface the base class builds the
points and calls the surface; a network objective combines first-layer pieces), and the plan
reads `metrics`, `origin`, `layout`, `bounds`, `chunk_size` and `describe()`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from losslab._checks import check_count
from losslab._version import __version__
from losslab.directions import Directions, custom, flat_layout
from losslab.errors import LosslabError
from losslab.executors import executor_of
from losslab.landscapes.grid import check_grid
from losslab.landscapes.result import Landscape, check_h5_path
from losslab.landscapes.spec import canonical_json, slice_spec, spec_hash
from losslab.landscapes.store import (
    ChunkStore,
    exclusive,
    finished_landscape,
    remove_stale_folder,
)
from losslab.objectives import pool
from losslab.objectives.base import Objective
from losslab.params import ParamLayout

# Points per call for an objective without its own `chunk_size` (a surface: cheap points).
# A network objective has its own (ModelObjective: 64, each point a pass over the data).
PLAIN_CHUNK = 65_536

Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class SlicePlan:
    """Everything a run needs, checked: the unit of work reads only this."""

    dtype: torch.dtype  # what the objective computes in (a chunk casts origin, directions)
    origin: np.ndarray  # (n_params,) float64: what the spec and the file hold
    directions: np.ndarray  # (k, n_params) float64
    coords: tuple[np.ndarray, ...]  # float64, one per direction
    metrics: tuple[str, ...]
    metadata: dict[str, Any]
    spec: dict[str, Any]
    spec_hash: str
    default_chunk_size: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.coords)

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)


def landscape(
    objective,
    directions=None,
    *,
    span=None,
    resolution=41,
    origin=None,
    out: str | Path | None = None,
    chunk_size: int | None = None,
    metrics: Sequence[str] | None = None,
    progress: Progress | None = None,
    metadata: Mapping[str, Any] | None = None,
    executor=None,
) -> Landscape:
    """Metrics of `objective` on the grid `origin + a * d0 [+ b * d1]`.

    objective: an `Objective`: a surface, a network objective, any subclass.
    directions: a `Directions` (losslab.directions.random/pca/toward/plane/custom), a
        (k, n_params) tensor/array, or a list of k parameter dicts, k = 1 or 2. None on a
        1- or 2-parameter objective means the identity slice: the raw parameter axes,
        origin 0, so coordinates are the parameters themselves (for a 1- or 2-weight model,
        a number span is the window around its weights, default +- 1).
    span: a number s (every axis from -s to s), or per axis a number or a (lo, hi) pair.
        Default 1.0; for the identity slice with no origin, the objective's bounds.
    resolution: points per axis, an int >= 2 or one per axis.
    origin: (n_params,) vector or parameter dict; default `directions.origin`, else
        `objective.origin`, else the centre of the objective's bounds, else 0.
    out: an .h5/.hdf5 path: chunks are kept as they finish, an interrupted run resumes when
        called again with the same arguments, and the file is complete when this returns.
    chunk_size: grid points per call and per stored chunk (default: `objective.chunk_size`
        when it is set, else 65536).
    metrics: names to compute (default: all of `objective.metrics`).
    progress: callback(done_points, total_points), called at the start and after each chunk.
    metadata: extra plain JSON data kept with the result (e.g. {"title": ...}); it is not part
        of the spec, so it neither triggers a refusal nor changes what a resume matches.
    executor: who runs the chunks: "local" (default: in this process, one after another),
        "ray" (each chunk a Ray task on this machine or a cluster), or a
        `losslab.executors.Executor` (e.g. `RayExecutor(address="auto", gpus_per_task=0.25)`).
        The result, and a resumable `out` file, are the same whichever runs them.

    Returns a `Landscape`; values[m][i, j] is metric m at coords[0][i], coords[1][j].
    """
    plan = plan_slice(objective, directions, span, resolution, origin, metrics)
    if metadata is not None:
        plan = _with_user_metadata(plan, metadata)
    if chunk_size is not None:
        check_count("chunk_size", chunk_size)
    if progress is not None and not callable(progress):
        raise LosslabError(f"progress == {progress!r}, must be a callable(done, total) or None.")
    executor = executor_of(executor)
    with pool.busy():  # the interpreter's exit waits for a landscape running on a thread
        if out is None:
            size = chunk_size or plan.default_chunk_size
            return _run_in_memory(objective, plan, size, progress, executor)
        out = check_h5_path(out)
        return _run_to_file(objective, plan, out, chunk_size, progress, executor)


def evaluate_chunk(
    objective, origin: Tensor, directions: Tensor, coords: Tensor, metrics: Sequence[str]
) -> dict[str, np.ndarray]:
    """The unit of work: metrics (P,) at `origin + coords @ directions`, coords (P, k).

    Returns float64 arrays for each metric and each "<metric>_se" the objective reports.
    """
    with torch.no_grad():
        raw = objective.evaluate_slice(origin, directions, coords)
    if not isinstance(raw, Mapping):
        raise LosslabError(
            f"the objective returned a {type(raw).__name__}, expected a dict metric -> values."
        )
    missing = [m for m in metrics if m not in raw]
    if missing:
        raise LosslabError(
            f"the objective returned metrics {sorted(raw)}, but {missing} were asked for."
        )
    wanted = list(metrics) + [f"{m}_se" for m in metrics if f"{m}_se" in raw]
    out = {}
    for key in wanted:
        value = torch.as_tensor(raw[key]).detach().to("cpu", torch.float64).numpy()
        if value.shape != (coords.shape[0],):
            raise LosslabError(
                f"the objective returned '{key}' of shape {value.shape} for "
                f"{coords.shape[0]} points; expected ({coords.shape[0]},)."
            )
        out[key] = value
    return out


# -- running ------------------------------------------------------------------------------------


def _run_in_memory(objective, plan: SlicePlan, chunk_size: int, progress, executor) -> Landscape:
    total = plan.n_points
    bounds = [(start, min(start + chunk_size, total)) for start in range(0, total, chunk_size)]
    pieces: list[dict[str, np.ndarray] | None] = [None] * len(bounds)
    n_done = 0
    _report(progress, 0, total)

    def keep(index: int, values: dict[str, np.ndarray]) -> None:
        nonlocal n_done
        pieces[index] = values
        n_done += bounds[index][1] - bounds[index][0]
        _report(progress, n_done, total)

    executor.run(run_chunk, chunk_inputs(objective, plan), bounds, keep, describe=_chunk_name)
    values = {k: np.concatenate([p[k] for p in pieces]).reshape(plan.shape) for k in pieces[0]}
    metadata = {**plan.metadata, "chunk_size": chunk_size, "value_keys": list(values)}
    return _result(plan, values, metadata)


def _run_to_file(objective, plan: SlicePlan, out: Path, chunk_size, progress, executor):
    with exclusive(out):  # one run per out at a time (a caller may hold it already)
        return _run_locked(objective, plan, out, chunk_size, progress, executor)


def _run_locked(objective, plan: SlicePlan, out: Path, chunk_size, progress, executor):
    done = finished_landscape(out, plan.spec_hash, plan.spec, plan.metadata)
    if done is not None:
        remove_stale_folder(out, plan.spec_hash)
        _report(progress, plan.n_points, plan.n_points)
        return done
    store, metadata = ChunkStore.open(
        out,
        plan.spec,
        plan.spec_hash,
        plan.metadata,
        plan.n_points,
        chunk_size,
        plan.default_chunk_size,
    )
    try:
        finished = store.done()
        total = plan.n_points
        n_done = sum(stop - start for start, stop in map(store.bounds, finished))
        _report(progress, n_done, total)
        todo = [index for index in range(store.n_chunks) if index not in finished]

        def keep(position: int, values: dict[str, np.ndarray]) -> None:
            # Written here, by the driver, whichever process computed the chunk.
            nonlocal n_done
            start, stop = store.bounds(todo[position])
            store.write(todo[position], values)
            n_done += stop - start
            _report(progress, n_done, total)

        units = [store.bounds(index) for index in todo]
        executor.run(run_chunk, chunk_inputs(objective, plan), units, keep, describe=_chunk_name)
        values = _assemble(store, objective, plan)
    except BaseException as error:
        # Nothing worth resuming: leave no folder behind (the kept training only on Ctrl-C).
        store.discard_if_empty(keep_inputs=isinstance(error, KeyboardInterrupt))
        raise
    metadata = {**metadata, "value_keys": list(values)}
    result = _result(plan, values, metadata)
    store.finish(result, metadata)
    return result


# -- the unit of work: one chunk of grid points --------------------------------------------------


@dataclass(frozen=True)
class ChunkInputs:
    """What every chunk of one run reads, sent once per run (to each Ray worker once):
    origin (n_params,) and directions (k, n_params) float64 numpy, the grid's axes, and the
    dtype the objective computes in."""

    objective: Objective
    origin: np.ndarray
    directions: np.ndarray
    coords: tuple[np.ndarray, ...]
    metrics: tuple[str, ...]
    dtype: torch.dtype


def chunk_inputs(objective, plan: SlicePlan) -> ChunkInputs:
    return ChunkInputs(
        objective, plan.origin, plan.directions, plan.coords, plan.metrics, plan.dtype
    )


def run_chunk(inputs: ChunkInputs, bounds: tuple[int, int]) -> dict[str, np.ndarray]:
    """Metrics of the flattened grid points [start, stop) (a plain function of plain data: any
    executor runs it). The float64 origin and directions are cast to the objective's dtype
    here, in whichever process runs it, so every executor computes the same numbers."""
    start, stop = bounds
    objective = inputs.objective
    _, device = _computes_in(objective)  # where it lives in this process (a Ray task's GPU)
    origin = torch.from_numpy(inputs.origin).to(device, inputs.dtype)
    directions = torch.from_numpy(inputs.directions).to(device, inputs.dtype)
    shape = tuple(len(c) for c in inputs.coords)
    index = np.unravel_index(np.arange(start, stop), shape)
    points = np.stack([c[i] for c, i in zip(inputs.coords, index, strict=True)], axis=-1)
    coords = torch.as_tensor(points).to(device, inputs.dtype)
    return evaluate_chunk(objective, origin, directions, coords, inputs.metrics)


def _computes_in(objective) -> tuple[torch.dtype, torch.device]:
    """The objective's own dtype and device (a float32 network stays float32); float64 on
    the CPU for an objective without a floating origin."""
    reference = objective.origin
    if reference is not None and reference.is_floating_point():
        return reference.dtype, reference.device
    return torch.float64, torch.device("cpu")


def _chunk_name(position: int, bounds: tuple[int, int]) -> str:
    start, stop = bounds
    return f"the chunk of grid points {start}..{stop - 1}"


def _assemble(store: ChunkStore, objective, plan: SlicePlan) -> dict[str, np.ndarray]:
    """The full grid from the chunk files (recomputing any found damaged)."""
    values: dict[str, np.ndarray] = {}
    for index in range(store.n_chunks):
        start, stop = store.bounds(index)
        chunk = store.read(index)
        if chunk is None:
            chunk = run_chunk(chunk_inputs(objective, plan), (start, stop))
            store.write(index, chunk)
        if not values:
            values = {k: np.full(plan.n_points, np.nan) for k in chunk}
        if set(chunk) != set(values):
            raise LosslabError(
                f"chunk {index} in '{store.folder}' holds {sorted(chunk)}, others hold "
                f"{sorted(values)}: the folder is inconsistent; delete it to start over."
            )
        for key, value in chunk.items():
            values[key][start:stop] = value
    return {k: v.reshape(plan.shape) for k, v in values.items()}


def _result(plan: SlicePlan, values, metadata) -> Landscape:
    return Landscape(plan.coords, values, plan.origin, plan.directions, metadata)


def _with_user_metadata(plan: SlicePlan, extra) -> SlicePlan:
    if not isinstance(extra, Mapping) or not all(isinstance(k, str) for k in extra):
        raise LosslabError(f"metadata == {extra!r}, must be a dict with string keys or None.")
    reserved = sorted(set(extra) & set(plan.metadata))
    if reserved:
        raise LosslabError(
            f"metadata keys {reserved} are written by losslab itself; choose other names."
        )
    canonical_json(dict(extra))  # raises a one-line error when it is not plain JSON
    return replace(plan, metadata={**plan.metadata, **extra})


def _report(progress, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# -- planning: every check happens here, before any work ----------------------------------------


def plan_slice(objective, directions, span, resolution, origin, metrics) -> SlicePlan:
    if not isinstance(objective, Objective):
        raise LosslabError(
            f"objective is a {type(objective).__name__}, must be a losslab Objective "
            f"(a surface, a network objective, or a subclass of losslab.Objective)."
        )
    n_params = objective.n_params
    layout = objective.layout
    metrics = _metrics(objective, metrics)

    identity = directions is None
    if identity:
        if n_params > 2:
            raise LosslabError(
                "directions == None gives the identity slice of a 1- or 2-parameter objective "
                "only; for a network pass directions, e.g. losslab.directions.random(objective)."
            )
        directions = Directions(
            torch.eye(n_params, dtype=torch.float64), layout or flat_layout(n_params), "identity"
        )
    directions = _directions(directions, layout, n_params)
    k = len(directions)
    if k not in (1, 2):
        raise LosslabError(f"got {k} directions: a landscape has 1 or 2 (a line or a plane).")

    origin_given, span_given = origin is not None, span
    weights = objective.origin if identity else None
    if weights is not None and not origin_given:
        # The identity slice of a 1- or 2-weight model: coordinates are the raw weights, so the
        # origin is 0 and the default window is the model's weights +- 1 (+- span).
        origin, origin_given = torch.zeros(n_params, dtype=torch.float64), True
        if span is None or _is_number(span):
            half = 1.0 if span is None else float(span)
            span = [(float(w) - half, float(w) + half) for w in weights.detach().cpu()]
    origin = _origin(objective, directions, origin, layout, n_params, identity)
    bounds = objective.bounds
    if identity and span is None and not origin_given and bounds is not None:
        bounds = torch.as_tensor(bounds, dtype=torch.float64)
        span = [tuple(float(v) for v in row) for row in bounds]
    ranges = _span(span, k)
    sizes = _resolution(resolution, k)
    # Per point, float64: each metric and its standard error, computed and assembled (4 each).
    check_grid("landscape", sizes, 4 * len(metrics))

    dtype, _ = _computes_in(objective)
    _check_reach(span_given, ranges, origin, directions.vectors, dtype)
    coords = tuple(
        np.linspace(lo, hi, n, dtype=np.float64) for (lo, hi), n in zip(ranges, sizes, strict=True)
    )

    description = _describe(objective)
    origin_np = origin.numpy()
    directions_np = directions.vectors.numpy()
    spec = slice_spec(coords, origin_np, directions_np, metrics, description)
    the_hash = spec_hash(spec)
    metadata = {
        "losslab_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "objective": description,
        "directions": directions.describe(),
        "layout": None
        if layout is None
        else {"names": list(layout.names), "shapes": [list(s) for s in layout.shapes]},
        "span": [list(r) for r in ranges],
        "resolution": list(sizes),
        "metrics": list(metrics),
        "spec": spec,
        "spec_hash": the_hash,
    }
    canonical_json(metadata)  # fails now, not after the run, if describe() is not JSON
    return SlicePlan(
        dtype,
        origin_np,
        directions_np,
        coords,
        metrics,
        metadata,
        spec,
        the_hash,
        PLAIN_CHUNK if objective.chunk_size is None else objective.chunk_size,
    )


def _metrics(objective: Objective, metrics) -> tuple[str, ...]:
    available = tuple(objective.metrics)
    if metrics is None:
        return available
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in available]
    if not metrics or unknown or len(set(metrics)) != len(metrics):
        raise LosslabError(
            f"metrics == {list(metrics)}, must be distinct names from {list(available)}."
        )
    return metrics


def _directions(directions, layout: ParamLayout | None, n_params: int) -> Directions:
    if not isinstance(directions, Directions):
        if isinstance(directions, Mapping):
            directions = [directions]
        if isinstance(directions, Tensor | np.ndarray):
            array = torch.as_tensor(directions)
            directions = list(array[None] if array.ndim == 1 else array)
            if array.ndim not in (1, 2):
                raise LosslabError(
                    f"directions of shape {tuple(array.shape)}, must be (k, n_params) with "
                    f"k = 1 or 2 and n_params == {n_params}."
                )
        if isinstance(directions, Sequence) and directions and len(directions) > 2:
            raise LosslabError(
                f"got {len(directions)} directions: a landscape has 1 or 2 (a line or a plane)."
            )
        directions = custom(directions, layout or flat_layout(n_params))
    if directions.n_params != n_params:
        raise LosslabError(
            f"directions have n_params == {directions.n_params}, the objective has {n_params}: "
            f"make the directions from this objective's model."
        )
    if layout is not None and directions.layout != layout:
        raise LosslabError(
            "directions were made for another model: "
            + _layout_difference(directions.layout, layout)
        )
    vectors = directions.vectors.to("cpu", torch.float64)
    if not torch.isfinite(vectors).all():
        raise LosslabError("directions contain NaN or inf.")
    norms = vectors.norm(dim=1)
    if (norms == 0).any():
        zero = int((norms == 0).nonzero()[0])
        raise LosslabError(f"direction {zero} is all zeros: it spans no axis.")
    if len(vectors) == 2 and torch.linalg.matrix_rank(vectors) < 2:
        raise LosslabError("the two directions are parallel: they span a line, not a plane.")
    if vectors is not directions.vectors:
        directions = Directions(
            vectors,
            directions.layout,
            directions.kind,
            directions.seed,
            directions.normalization,
            directions.ignore,
            directions.explained_variance,
            directions.origin,
        )
    return directions


def _layout_difference(got: ParamLayout, want: ParamLayout) -> str:
    for i, (a, b) in enumerate(zip(got.names, want.names, strict=False)):
        if a != b:
            return f"parameter {i} is '{a}', the objective's is '{b}'."
    for name, a, b in zip(got.names, got.shapes, want.shapes, strict=False):
        if a != b:
            return f"'{name}' has shape {a}, the objective's is {b}."
    return f"{len(got.names)} parameter tensors, the objective has {len(want.names)}."


def _origin(objective, directions, origin, layout, n_params: int, identity: bool) -> Tensor:
    what = "origin"
    if origin is None:
        if directions.origin is not None:
            origin, what = directions.origin, "directions.origin"
        elif objective.origin is not None:
            origin, what = objective.origin, "objective.origin"
        elif not identity and objective.bounds is not None:
            origin = torch.as_tensor(objective.bounds, dtype=torch.float64).mean(dim=1)
        else:
            origin = torch.zeros(n_params, dtype=torch.float64)
    if isinstance(origin, Mapping):
        if layout is None:
            raise LosslabError("origin is a parameter dict but the objective has no layout.")
        origin = layout.flatten({k: torch.as_tensor(v) for k, v in origin.items()})
    if not isinstance(origin, Tensor):  # a list of floats: float64, never torch's float32
        origin = torch.as_tensor(np.asarray(origin, dtype=np.float64))
    origin = origin.detach().to("cpu", torch.float64)
    origin = origin.reshape(1) if origin.ndim == 0 else origin
    if tuple(origin.shape) != (n_params,):
        raise LosslabError(
            f"{what} has shape {tuple(origin.shape)}, must be ({n_params},) like the objective."
        )
    if not torch.isfinite(origin).all():
        raise LosslabError(f"{what} contains NaN or inf.")
    return origin


def _span(span, k: int) -> list[tuple[float, float]]:
    if span is None:
        span = 1.0
    rule = f"must be a number > 0 or, per axis, {k} numbers > 0 or (lo, hi) pairs with lo < hi"
    if _is_number(span):
        entries = [span] * k
    elif k == 1 and _is_pair(span):
        entries = [tuple(span)]
    elif isinstance(span, Sequence | np.ndarray) and len(span) == k:
        entries = list(span)
    else:
        raise LosslabError(f"span == {span!r}, {rule}.")
    ranges = []
    for entry in entries:
        if _is_number(entry) and math.isfinite(entry) and entry > 0:
            ranges.append((-float(entry), float(entry)))
        elif _is_pair(entry) and all(math.isfinite(v) for v in entry) and entry[0] < entry[1]:
            ranges.append((float(entry[0]), float(entry[1])))
        else:
            raise LosslabError(f"span == {span!r}, {rule}.")
    return ranges


def _check_reach(span, ranges, origin: Tensor, directions: Tensor, dtype: torch.dtype) -> None:
    """Refuse a span whose arithmetic overflows: each axis's width (hi - lo, the linspace
    step's numerator) and the farthest point |origin| + max|coords| @ |directions| (n_params,)
    must stay below the largest number of the dtype the objective computes in."""
    largest = torch.finfo(dtype if dtype.is_floating_point else torch.float64).max
    widths = [hi - lo for lo, hi in ranges]
    extent = torch.tensor([max(abs(lo), abs(hi)) for lo, hi in ranges], dtype=torch.float64)
    reach = float((origin.abs() + extent @ directions.abs()).max())
    if all(math.isfinite(w) and w <= largest for w in widths) and reach <= largest:
        return  # (an inf or nan reach fails the comparison too)
    raise LosslabError(
        f"span == {span!r} overflows: the grid reaches {max([reach, *widths]):.3g} in parameter "
        f"space, beyond {str(dtype).removeprefix('torch.')}'s largest number {largest:.3g}; "
        "use a smaller span."
    )


def _resolution(resolution, k: int) -> list[int]:
    entries = [resolution] * k if not isinstance(resolution, Sequence) else list(resolution)
    if len(entries) != k:
        raise LosslabError(
            f"resolution == {resolution!r}, must be an integer >= 2 or {k} of them (one per axis)."
        )
    for entry in entries:
        if isinstance(entry, bool) or not isinstance(entry, int | np.integer) or entry < 2:
            raise LosslabError(
                f"resolution == {resolution!r}, must be an integer >= 2 or {k} of them."
            )
    return [int(e) for e in entries]


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _is_pair(value) -> bool:
    return (
        isinstance(value, Sequence | np.ndarray)
        and len(value) == 2
        and all(_is_number(v) for v in value)
    )


def _describe(objective: Objective) -> dict[str, Any]:
    """objective.describe(), checked to be plain JSON data (it goes into the spec)."""
    description = objective.describe()
    if not isinstance(description, Mapping):
        raise LosslabError("objective.describe() must return a dict of plain JSON data.")
    description = dict(description)
    canonical_json(description)
    return description
