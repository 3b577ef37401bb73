"""A network with its loss and data as an objective: a function of the flat parameter vector.

    objective = ModelObjective(model, "cross_entropy", (X, y))
    objective(objective.origin)                      # the loss at the model's own weights
    objective.evaluate(points)                       # {"loss": (P,), "accuracy": (P,)}
    objective.evaluate_slice(origin, dirs, coords)   # the same at origin + coords @ dirs, fast

The user's model is never changed: its weights, buffers and train/eval flag stay as they are.
Every evaluation runs eval semantics (dropout off, BatchNorm with running statistics, or with
statistics recomputed per point when bn="recompute") from a parameter vector:

- fast path: a flat nn.Sequential of standard layers runs as a program of functional ops
  (`_sequential.py`); on a slice the first layer's output is combined from precomputed
  pieces, and on CPU several points run at once, one per core.
- general path: any other module runs through `torch.func.functional_call` on a private
  copy, one point at a time, over all the evaluation data. Exact, slower.

Data is materialized once on the model's device and dtype (a DataLoader is read once into
tensors). `n_samples=k` evaluates on a fixed seeded subset of k samples and reports, per
point, the standard error of the mean of each per-sample metric ("loss_se", "accuracy_se"),
with the finite-population correction for sampling k of N without replacement:
    se = std(ddof=1) * sqrt((1 - k / N) / k)
so se is 0 when k == N (the subset is the whole data and the mean is exact).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call

from losslab._checks import check_count
from losslab.errors import LosslabError
from losslab.objectives._losses import LossSpec, correct, resolve_loss
from losslab.objectives._sequential import Context, compile_sequential
from losslab.objectives._workspace import Workspace
from losslab.objectives.base import Objective
from losslab.params import ParamLayout, as_vector, model_vector

BN_MODES = ("eval", "recompute")
METRICS = ("loss", "accuracy")
DEFAULT_CHUNK = 64  # suggested points per call for a grid driver
ACTIVATION_BUDGET = 2 * 2**30  # bytes of activations the default workers may hold at once
_VERIFY_SAMPLES = 256  # samples on which the fast path is checked against the model itself
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class ModelObjective(Objective):
    """model + loss + data as a function of the flat parameter vector (n_params,).

    model: any nn.Module; never mutated. Its parameters' dtype and device are used for
        everything; data is moved there once.
    loss_fn: "cross_entropy" | "mse" | "bce" (binary cross-entropy on one logit per sample,
        targets 0/1) | a torch loss module (its per-sample form is used) | a callable
        (outputs, targets) -> scalar mean loss (then no per-sample losses: no n_samples).
    data: (X, y) tensors or arrays, or a DataLoader of (x, y) batches (read once).
    metrics: names among ("loss", "accuracy"); default ("loss", "accuracy") for classification
        losses and integer targets, else ("loss",).
    n_samples: evaluate on a fixed random subset of this many samples (seeded by `seed`) and
        report "<metric>_se" per point (see the module docstring); default: all data, exact.
    bn: "eval" (BatchNorm uses the model's running statistics) or "recompute" (at each point,
        the statistics of every BatchNorm are recomputed on `train_data` at that point's
        weights, as running_mean/running_var hold after one full-batch train-mode pass with
        momentum=None, then the data is evaluated in eval mode with them). Instance norms,
        SyncBatchNorm and BatchNorm without running statistics are refused with "recompute".
    train_data: data for bn="recompute" (default: the evaluation data, i.e. the subset when
        n_samples is set).
    chunk_size: points per batch for a caller that cuts a grid into chunks (default 64, kept
        as `self.chunk_size`). Evaluation itself holds one point's activations per worker
        whatever the number of points, so memory never grows with the grid.
    workers: points evaluated at once on CPU, each with torch.get_num_threads() // workers
        intra-op threads (default on the fast path: torch.get_num_threads(), fewer if their
        activations would pass ACTIVATION_BUDGET; always 1 on the general path and on GPU).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn,
        data,
        *,
        metrics: Sequence[str] | None = None,
        n_samples: int | None = None,
        seed: int = 0,
        bn: str = "eval",
        train_data=None,
        chunk_size: int | None = None,
        workers: int | None = None,
    ):
        if not isinstance(model, nn.Module):
            raise LosslabError(f"model is a {type(model).__name__}, must be a torch nn.Module.")
        if bn not in BN_MODES:
            raise LosslabError(f"bn == {bn!r}, must be one of {BN_MODES}.")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise LosslabError(f"seed == {seed!r}, must be an integer.")
        self.layout = ParamLayout.of(model)
        self.n_params = self.layout.n_params
        self.origin = model_vector(model)
        self.dtype, self.device = self.origin.dtype, self.origin.device
        if not self.dtype.is_floating_point:
            raise LosslabError(f"the model's parameters are {self.dtype}, must be floating.")
        self.loss: LossSpec = resolve_loss(loss_fn)
        self.bn, self.seed = bn, seed
        self.chunk_size = (
            DEFAULT_CHUNK if chunk_size is None else check_count("chunk_size", chunk_size)
        )
        self._workers = None if workers is None else check_count("workers", workers)
        self._model_class = type(model).__name__
        self._model_repr = repr(model)[:2000]
        self.name = f"{self._model_class}/{self.loss.name}"

        x, y = _materialize(data, "data", self.dtype, self.device)
        self.n_total = x.shape[0]
        if n_samples is not None:
            check_count("n_samples", n_samples)
            if n_samples > self.n_total:
                raise LosslabError(
                    f"n_samples == {n_samples}, but data has only {self.n_total} samples: "
                    f"give n_samples <= {self.n_total}, or None for all data."
                )
            if self.loss.per_sample is None:
                raise LosslabError(
                    f"n_samples needs per-sample losses for its standard errors, and loss_fn "
                    f"{self.loss.name!r} is a plain callable that returns only the mean: pass "
                    "'cross_entropy', 'mse', 'bce' or a torch loss module, or n_samples=None."
                )
            generator = torch.Generator().manual_seed(seed)
            index = torch.randperm(self.n_total, generator=generator)[:n_samples].sort().values
            index = index.to(self.device)
            x, y = x[index], y[index]
        self.n_samples = n_samples
        self._x, self._y = x, y
        self._has_bn = any(isinstance(m, _BATCHNORMS) for m in model.modules())
        if train_data is not None and bn != "recompute":
            raise LosslabError(
                "train_data is only used to recompute BatchNorm statistics: pass "
                "bn='recompute' with it, or leave it out."
            )
        if bn == "recompute" and train_data is not None:
            self._train_x = _materialize(train_data, "train_data", self.dtype, self.device)[0]
        else:
            self._train_x = x
        self._recompute = bn == "recompute" and self._has_bn
        if bn == "recompute":
            odd = sorted(
                {
                    type(m).__name__
                    for m in model.modules()
                    if isinstance(m, nn.modules.batchnorm._NormBase)
                    and (type(m) not in _BATCHNORMS or not m.track_running_stats)
                }
            )
            if odd:
                raise LosslabError(
                    f"bn='recompute' handles BatchNorm1d/2d/3d with running statistics; this "
                    f"model also has {', '.join(odd)}. Use bn='eval' for it."
                )
        self._fingerprints: dict[str, str] = {}
        self._point_bytes = 0.0  # activation bytes of one point in flight (set by _verify)
        self.metrics = self._check_metrics(metrics)
        self._scale = self.loss.scale(y)
        if self.loss.binary and (float(y.min()) < 0 or float(y.max()) > 1):
            raise LosslabError(
                f"loss {self.loss.name!r} needs targets in [0, 1] (0/1 labels); y ranges over "
                f"[{float(y.min()):g}, {float(y.max()):g}]. For class indices use "
                "'cross_entropy'."
            )

        self._program = compile_sequential(model)
        self._eval_module = _private_copy(model, "eval" if not self._recompute else "eval-bn")
        self._stats_module = _private_copy(model, "stats") if self._recompute else None
        self._stats_local = threading.local()
        if self._stats_module is not None:
            _attach_stat_recorders(self._stats_module, self._stats_local)
        if self._program is not None:
            names = set(self.layout.names)
            self._program.constants = {
                k: v.clone() for k, v in self._program.constants.items() if k not in names
            }
            self._program.set_layout(self.layout.names, self.layout.shapes)
        self._verify(model)
        if self._program is not None:
            # The private copies served the check; the program needs only the vector.
            self._eval_module = self._stats_module = None
            self._prepared = self._program.prepare(self._x)
            self._prepared_train = self._program.prepare(self._train_x) if self._recompute else None
        self._slice_cache: tuple | None = None
        self._slice_trick: bool | None = None  # None: decide by cost (tests force it)
        self._columns = self._columns_pay()

    # -- the Objective interface ----------------------------------------------------------------

    def __call__(self, params) -> Tensor:
        """The mean loss at (..., n_params) vectors or a parameter dict; differentiable."""
        params = as_vector(self.layout, params)
        lead = params.shape[:-1]
        flat = params.reshape(-1, self.n_params)
        values = [self.value(point) for point in flat]
        return torch.stack(values).reshape(lead) if values else params.new_empty(lead)

    def value(self, point: Tensor) -> Tensor:
        outputs = self._outputs(point.to(self.device, self.dtype), grad=True)
        return self._loss_mean(outputs).to(point.device, point.dtype)

    def value_and_grad(self, params: Tensor) -> tuple[Tensor, Tensor]:
        """params: (B, n_params) -> values (B,), gradients (B, n_params); one backward pass per
        row (a network's gradient by reverse mode, no vmap over a batch of networks)."""
        values, grads = [], []
        for point in params:
            with torch.enable_grad():
                leaf = point.detach().requires_grad_(True)
                value = self.value(leaf)
                (grad,) = torch.autograd.grad(value, leaf)
            values.append(value.detach())
            grads.append(grad)
        if not values:
            return params.new_empty(0), params.new_empty(0, self.n_params)
        return torch.stack(values), torch.stack(grads)

    def hessian(self, params: Tensor) -> Tensor:
        """(B, n_params) -> (B, n_params, n_params), one exact torch.func Hessian per row.
        Memory grows as n_params^2: for real networks use Hessian-vector products."""
        return torch.stack([torch.func.hessian(self.value)(p) for p in params])

    # -- evaluation -----------------------------------------------------------------------------

    def evaluate(self, params) -> dict[str, Tensor]:
        """Metrics at (P, n_params) vectors, a list of P parameter dicts, or one point (a
        (n_params,) vector or a dict keyed like `named_parameters()`).

        Returns {metric: (P,)} for each of `self.metrics`, plus "<metric>_se" when n_samples
        is set; 0-d values for one point. Values are in the model's dtype, on the device of
        `params`.
        """
        points = as_vector(self.layout, params)
        if points.ndim == 1:
            return {k: v[0] for k, v in self.evaluate(points[None]).items()}
        if points.ndim != 2:
            raise LosslabError(
                f"evaluate takes points of shape (P, n_params); got {tuple(points.shape)}."
            )
        device = points.device
        points = points.to(self.device, self.dtype).contiguous()

        def point_fn(i: int, workspace: Workspace) -> Tensor:
            return self._point_values(points[i], workspace=workspace)

        return self._collect(points.shape[0], point_fn, device)

    def evaluate_slice(self, origin, directions, coords) -> dict[str, Tensor]:
        """Metrics at origin + coords @ directions, equal to evaluate() of those points.

        origin: (n_params,) or a parameter dict; directions: (k, n_params), a list of k
        parameter dicts, or an object with such a `vectors` tensor; coords: (P, k).
        On the fast path the first layer's output is computed once for the origin and for
        each direction and combined per point: Z(c) = Z0 + sum_i c_i Zd_i.
        """
        origin = as_vector(self.layout, origin)
        dirs = _direction_matrix(self.layout, directions)
        coords = torch.as_tensor(coords)
        if coords.ndim == 1 and dirs.shape[0] == 1:
            coords = coords[:, None]
        if origin.ndim != 1 or coords.ndim != 2 or coords.shape[1] != dirs.shape[0]:
            raise LosslabError(
                f"evaluate_slice takes origin (n_params,), directions (k, n_params) and coords "
                f"(P, k); got origin {tuple(origin.shape)}, directions {tuple(dirs.shape)}, "
                f"coords {tuple(coords.shape)}."
            )
        device = coords.device
        origin = origin.to(self.device, self.dtype)
        dirs = dirs.to(self.device, self.dtype)
        weights = coords.to(self.device, self.dtype)
        dirs_t = dirs.t()  # (n_params, k): point = origin + dirs_t @ c
        if not self._slice_pays(dirs.shape[0]):

            def point_fn(i: int, workspace: Workspace) -> Tensor:
                point = torch.addmv(origin, dirs_t, weights[i])
                return self._point_values(point, workspace=workspace)

            return self._collect(coords.shape[0], point_fn, device)

        pieces, train_pieces = self._first_layer_pieces(origin, dirs)
        scalars = coords.to(torch.float64).tolist()

        def point_fn(i: int, workspace: Workspace) -> Tensor:
            point = torch.addmv(origin, dirs_t, weights[i])
            z = _combine(pieces, scalars[i], workspace, "first")
            zt = _combine(train_pieces, scalars[i], workspace, "first-train")
            return self._point_values(point, first=(z, zt), workspace=workspace)

        return self._collect(coords.shape[0], point_fn, device)

    # -- internals ------------------------------------------------------------------------------

    def _columns_pay(self) -> bool:
        """Whether inference ends in columns (see `Program.columns_out`): on the CPU fast
        path, for a loss with a columns form and class indices every output can score."""
        program, y = self._program, self._y
        if program is None or self.loss.columns is None or self.device.type != "cpu":
            return False
        n_out = program.columns_out
        if n_out is None or y.ndim != 1 or y.is_floating_point() or y.numel() == 0:
            return False
        return int(y.min()) >= 0 and int(y.max()) < n_out

    def _slice_pays(self, k: int) -> bool:
        """Whether evaluate_slice combines precomputed first-layer outputs (see FirstLayer)."""
        program = self._program
        if program is None or program.first_layer is None:
            return False
        if self._slice_trick is not None:
            return self._slice_trick
        names = program.ops[program.first].names
        weight = program.getter(self.layout.unflatten(self.origin))(names[0])
        return program.first_layer.pays_on_slice(weight, k)

    def _first_layer_pieces(self, origin: Tensor, dirs: Tensor):
        """[Z0, Zd_1, ..., Zd_k] of the first layer on the data (and train data), cached by
        value of (origin, directions): a landscape calls once per chunk with the same slice."""
        cache = self._slice_cache
        if (
            cache is not None
            and cache[0].shape == origin.shape
            and cache[1].shape == dirs.shape
            and torch.equal(cache[0], origin)
            and torch.equal(cache[1], dirs)
        ):
            return cache[2], cache[3]
        program = self._program
        layer = program.first_layer
        names = program.ops[program.first].names
        vectors = [origin, *dirs]
        with torch.inference_mode():
            parts = [self.layout.unflatten(v) for v in vectors]
            weights = [(p[names[0]], p.get(names[1]) if len(names) > 1 else None) for p in parts]
            pieces = [layer.apply(self._prepared, w, b) for w, b in weights]
            train = None
            if self._prepared_train is not None:
                train = [layer.apply(self._prepared_train, w, b) for w, b in weights]
        self._slice_cache = (origin.clone(), dirs.clone(), pieces, train)
        return pieces, train

    def _point_values(self, point: Tensor, first=None, workspace=None) -> Tensor:
        """[metric values..., se values...] at one point, in inference mode."""
        if self._columns:
            logits = self._outputs(
                point, grad=False, first=first, columns=True, workspace=workspace
            )
            losses, hits = self.loss.columns(logits, self._y)
            return self._summarize([losses if m == "loss" else hits for m in self.metrics])
        outputs = self._outputs(point, grad=False, first=first, workspace=workspace)
        return self._metric_values(outputs)

    def _outputs(
        self, point: Tensor, *, grad: bool, first=None, columns=False, workspace=None
    ) -> Tensor:
        """Model outputs on the evaluation data at one point (n_params,): (N, ...), or
        (out, N) with `columns` (inference on the fast path, when `_columns` is set).
        In inference, large intermediates go to `workspace` buffers when one is given."""
        program = self._program
        if program is None:
            return self._functional_outputs(self.layout.unflatten(point), grad)
        get = program.vector_getter(point, grad)
        z, z_train = first if first is not None else (None, None)
        stats = None
        if self._recompute:
            collect: list = []
            ctx = Context(grad=grad, collect=collect, inplace=not grad, workspace=workspace)
            if z_train is None:
                z_train = program.first_output(self._prepared_train, get, ctx)
            program.run_from_first(z_train, get, ctx, stop=program.last_batchnorm)
            stats = collect
        ctx = Context(grad=grad, stats=stats, inplace=not grad, workspace=workspace)
        if z is None:
            z = program.first_output(self._prepared, get, ctx)
        if columns:
            return program.run_columns_from_first(z, get, ctx)
        return program.run_from_first(z, get, ctx)

    def _functional_outputs(self, params: dict[str, Tensor], grad: bool) -> Tensor:
        buffers: dict[str, Tensor] = {}
        if self._recompute:
            self._stats_local.records = records = {}
            functional_call(self._stats_module, params, (self._train_x,))
            for name, (mean, var) in records.items():
                buffers[f"{name}.running_mean"] = mean
                buffers[f"{name}.running_var"] = var
        return functional_call(self._eval_module, {**params, **buffers}, (self._x,))

    def _per_sample_losses(self, outputs: Tensor) -> Tensor:
        losses = self.loss.per_sample(outputs, self._y)
        return losses * self._scale if self._scale != 1.0 else losses

    def _loss_mean(self, outputs: Tensor) -> Tensor:
        if self.loss.per_sample is None:
            return self.loss.mean(outputs, self._y)
        return self._per_sample_losses(outputs).mean()

    def _metric_values(self, outputs: Tensor) -> Tensor:
        per_sample: list[Tensor] = []
        means: list[Tensor] = []
        for metric in self.metrics:
            if metric == "loss":
                if self.loss.per_sample is None:
                    means.append(self.loss.mean(outputs, self._y).to(self.dtype))
                    continue
                values = self._per_sample_losses(outputs)
            else:
                values = correct(outputs, self._y, self.loss.binary)
            per_sample.append(values)
            means.append(values.mean())
        return self._summarize(per_sample, means)

    def _summarize(self, per_sample: list[Tensor], means: list[Tensor] | None = None) -> Tensor:
        """[means..., standard errors (with n_samples)...] of per-sample metric values."""
        if means is None:
            means = [values.mean() for values in per_sample]
        if self.n_samples is None:
            return torch.stack(means)
        k = self.n_samples
        fpc = (1.0 - k / self.n_total) / k
        ses = [
            v.std(correction=1) * math.sqrt(fpc) if k > 1 else v.new_zeros(()) for v in per_sample
        ]
        return torch.stack(means + ses)

    @property
    def value_keys(self) -> tuple[str, ...]:
        """The keys evaluate() returns, in order."""
        keys = tuple(self.metrics)
        if self.n_samples is not None:
            keys += tuple(f"{m}_se" for m in self.metrics)
        return keys

    def _n_workers(self, n_points: int) -> int:
        if self.device.type != "cpu" or n_points < 2:
            return 1
        if self._program is None:
            return 1  # functional_call swaps a module's attributes: one point at a time
        if self._workers is not None:
            return min(self._workers, n_points)
        # One point per intra-op thread, as long as their activations fit the budget.
        by_memory = int(ACTIVATION_BUDGET // max(self._point_bytes, 1))
        return max(1, min(torch.get_num_threads(), n_points, by_memory))

    def _collect(
        self, n_points: int, point_fn: Callable[[int, Workspace | None], Tensor], device
    ) -> dict:
        """Run point_fn over 0..n_points-1 on `workers` threads at once; {key: (P,)}.

        Memory is one point's activations per worker, whatever n_points is."""
        keys = self.value_keys
        rows: list[Tensor] = [None] * n_points  # type: ignore[list-item]
        workers = self._n_workers(n_points)
        errors: list[BaseException] = []

        def run(indices) -> None:
            # The CPU's large intermediates are written into this worker's buffers: fresh
            # allocations page-fault (see _workspace). Other devices have caching allocators.
            workspace = Workspace() if self.device.type == "cpu" else None
            with torch.inference_mode():
                for i in indices:
                    if i >= n_points:
                        return
                    rows[i] = point_fn(i, workspace)

        if workers == 1:
            run(range(n_points))
        else:
            # Workers pull the next point from one shared counter (next() on a count is
            # atomic under the GIL): a core slowed by another process then takes fewer points
            # instead of leaving the other core idle at the end. Each thread gets 1/workers of
            # the intra-op threads (set before the threads start: torch reads it per thread).
            counter = itertools.count()
            threads = torch.get_num_threads()
            torch.set_num_threads(max(1, threads // workers))
            try:
                pool = [
                    threading.Thread(target=_capture, args=(run, counter, errors))
                    for _ in range(workers)
                ]
                for thread in pool:
                    thread.start()
                for thread in pool:
                    thread.join()
            finally:
                torch.set_num_threads(threads)
            if errors:
                raise errors[0]
        if n_points == 0:
            return {key: torch.empty(0, dtype=self.dtype, device=device) for key in keys}
        values = torch.stack(rows).to(device)
        return {key: values[:, j] for j, key in enumerate(keys)}

    def _check_metrics(self, metrics) -> tuple[str, ...]:
        # A plain callable with integer targets is taken as a classification loss.
        integer_targets = not self._y.is_floating_point()
        classification = self.loss.classification or (
            self.loss.per_sample is None and integer_targets
        )
        if metrics is None:
            return ("loss", "accuracy") if classification else ("loss",)
        if isinstance(metrics, str):
            metrics = (metrics,)
        metrics = tuple(metrics)
        unknown = [m for m in metrics if m not in METRICS]
        if unknown or not metrics or len(set(metrics)) != len(metrics):
            raise LosslabError(
                f"metrics == {list(metrics)!r}, must be distinct names among {list(METRICS)}."
            )
        if "accuracy" in metrics and not classification:
            raise LosslabError(
                f"metrics asks for 'accuracy', but loss {self.loss.name!r} with float targets "
                "is a regression: leave 'accuracy' out."
            )
        return metrics

    def _verify(self, model: nn.Module) -> None:
        """Run the model's own forward (on a private copy) and the fast path on a few samples
        at the origin: a model or loss that cannot run on the data fails here with a clear
        message, and a fast path that disagrees with the model is switched off."""
        x, y = self._x[:_VERIFY_SAMPLES], self._y[:_VERIFY_SAMPLES]
        params = self.layout.unflatten(self.origin)
        try:
            with torch.no_grad():
                reference = functional_call(self._eval_module, params, (x,))
                if not isinstance(reference, Tensor):
                    raise LosslabError(
                        f"the model returns a {type(reference).__name__}; ModelObjective needs "
                        "a model whose forward returns one tensor of outputs."
                    )
                if self.loss.per_sample is not None:
                    losses = self.loss.per_sample(reference, y)
                    if losses.shape != (x.shape[0],):
                        raise LosslabError(
                            f"loss {self.loss.name!r} gives per-sample losses of shape "
                            f"{tuple(losses.shape)} for {x.shape[0]} samples."
                        )
                else:
                    self.loss.mean(reference, y)
        except LosslabError:
            raise
        except Exception as error:  # the user's model or loss raised: say where
            raise LosslabError(
                f"the model and loss cannot run on data of shape {tuple(self._x.shape)} with "
                f"targets {tuple(self._y.shape)}: {type(error).__name__}: {error}"
            ) from error
        program = self._program
        if program is None:
            return
        try:
            with torch.no_grad():
                get = program.getter(params)
                z = program.first_output(program.prepare(x), get, Context())
                peak = z.numel()
                for op in program.ops[program.first + 1 :]:
                    z = op.run(z, get, Context())
                    peak = max(peak, z.numel())
                fast = z
            # A point in flight holds about three activations of the largest layer.
            self._point_bytes = 3 * peak * z.element_size() * self._x.shape[0] / x.shape[0]
            tolerance = 1e-4 if self.dtype in (torch.float32, torch.float64) else 1e-2
            ok = fast.shape == reference.shape and torch.allclose(
                fast, reference, rtol=tolerance, atol=tolerance * (1 + float(reference.abs().max()))
            )
        except Exception:  # noqa: BLE001 - any failure of the fast path: use the general one
            ok = False
        if not ok:
            warnings.warn(
                "losslab: the fast Sequential path does not reproduce this model's outputs; "
                "using the general functional_call path (exact, slower).",
                stacklevel=3,
            )
            self._program = None

    # -- metadata -------------------------------------------------------------------------------

    @property
    def fast_path(self) -> bool:
        """True when the model runs as a compiled Sequential program."""
        return self._program is not None

    def fingerprint(self) -> str:
        """sha256 of the parameter layout (names and shapes) and the origin's bytes."""
        if "model" not in self._fingerprints:
            digest = hashlib.sha256()
            layout = {"names": list(self.layout.names), "shapes": list(self.layout.shapes)}
            digest.update(json.dumps(layout, sort_keys=True).encode())
            digest.update(str(self.dtype).encode())
            _hash_tensor(digest, self.origin)
            self._fingerprints["model"] = digest.hexdigest()
        return self._fingerprints["model"]

    def _data_fingerprint(self, key: str, *tensors: Tensor) -> str:
        if key not in self._fingerprints:
            digest = hashlib.sha256()
            for tensor in tensors:
                digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
                _hash_tensor(digest, tensor)
            self._fingerprints[key] = digest.hexdigest()
        return self._fingerprints[key]

    def describe(self) -> dict:
        """JSON-able metadata that identifies this objective (no timings, no addresses)."""
        data = {
            "n_total": self.n_total,
            "n_evaluated": int(self._x.shape[0]),
            "input_shape": list(self._x.shape[1:]),
            "target_shape": list(self._y.shape[1:]),
            "target_dtype": str(self._y.dtype).removeprefix("torch."),
            "fingerprint": self._data_fingerprint("data", self._x, self._y),
        }
        description = {
            "objective": "model",
            "name": self.name,
            "model_class": self._model_class,
            "model_summary": self._model_repr,
            "model_fingerprint": self.fingerprint(),
            "n_params": self.n_params,
            "loss": self.loss.name,
            "data": data,
            "bn": self.bn,
            "n_samples": self.n_samples,
            "seed": self.seed,
            "se": "std(ddof=1) * sqrt((1 - k/N) / k), finite-population corrected"
            if self.n_samples is not None
            else None,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": self.device.type,
            "metrics": list(self.metrics),
            "path": "sequential" if self.fast_path else "functional_call",
        }
        if self.bn == "recompute":
            description["train_data"] = {
                "n": int(self._train_x.shape[0]),
                "fingerprint": self._data_fingerprint("train", self._train_x),
            }
        return description

    def __repr__(self) -> str:
        return (
            f"ModelObjective({self.name}, n_params={self.n_params}, n={self._x.shape[0]}, "
            f"bn={self.bn!r}, path={'sequential' if self.fast_path else 'functional_call'})"
        )


# -- helpers ------------------------------------------------------------------------------------


def _capture(fn, arg, errors: list) -> None:
    """Run fn(arg) in a worker thread, keeping an exception for the caller to raise."""
    try:
        fn(arg)
    except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
        errors.append(error)


def _combine(
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


def _direction_matrix(layout: ParamLayout, directions) -> Tensor:
    vectors = getattr(directions, "vectors", None)
    if isinstance(vectors, Tensor):
        directions = vectors
    if isinstance(directions, Mapping):
        directions = [directions]
    if isinstance(directions, Sequence) and not isinstance(directions, Tensor):
        if not directions:
            raise LosslabError("directions is empty: give 1 or more directions.")
        return torch.stack([as_vector(layout, d).reshape(-1) for d in directions])
    dirs = as_vector(layout, torch.as_tensor(directions))
    if dirs.ndim == 1:
        dirs = dirs[None]
    if dirs.ndim != 2 or dirs.shape[0] == 0:
        raise LosslabError(f"directions of shape {tuple(dirs.shape)}: need (k, n_params), k >= 1.")
    return dirs


def _hash_tensor(digest, tensor: Tensor) -> None:
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")


def _materialize(data, label: str, dtype: torch.dtype, device) -> tuple[Tensor, Tensor]:
    """(X, y) tensors on the model's device: X floating in the model's dtype, integer
    targets as int64, float targets in the model's dtype. Checked for length and finiteness."""
    if isinstance(data, torch.utils.data.DataLoader):
        xs, ys = [], []
        for batch in data:
            if not isinstance(batch, Sequence) or len(batch) != 2:
                raise LosslabError(
                    f"{label}: the DataLoader yields {type(batch).__name__} batches; "
                    "ModelObjective needs (inputs, targets) pairs."
                )
            xs.append(torch.as_tensor(batch[0]))
            ys.append(torch.as_tensor(batch[1]))
        if not xs:
            raise LosslabError(f"{label}: the DataLoader is empty.")
        x, y = torch.cat(xs), torch.cat(ys)
    elif isinstance(data, Sequence) and len(data) == 2:
        x, y = (torch.as_tensor(part) for part in data)
    else:
        raise LosslabError(
            f"{label} is a {type(data).__name__}; give (X, y) tensors or a DataLoader of "
            "(inputs, targets) batches."
        )
    if x.ndim == 0 or y.ndim == 0:
        raise LosslabError(f"{label}: X and y need a leading sample dimension.")
    if x.shape[0] != y.shape[0]:
        raise LosslabError(
            f"{label}: X has {x.shape[0]} samples but y has {y.shape[0]}; they must match."
        )
    if x.shape[0] == 0:
        raise LosslabError(f"{label} is empty: give at least one sample.")
    for part, tensor in (("X", x), ("y", y)):
        if tensor.is_floating_point() or tensor.is_complex():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise LosslabError(
                    f"{label}: {part} contains {bad} NaN or infinite value(s); clean or drop "
                    "those samples first."
                )
    x = x.to(device, dtype) if x.is_floating_point() else x.to(device)
    if y.is_floating_point() or y.dtype == torch.bool:
        y = y.to(device, dtype)
    else:
        y = y.to(device, torch.int64)
    return x, y


# -- the general path: private copies of the model ----------------------------------------------


class _EvalBatchNorm(nn.Module):
    """Eval-mode BatchNorm by formula: differentiable in the statistics it is given, so that
    bn="recompute" has gradients through the recomputed statistics on the general path."""

    def __init__(self, bn: nn.Module, record=None):
        super().__init__()
        self.eps = bn.eps
        self.weight, self.bias = bn.weight, bn.bias
        self.register_buffer("running_mean", bn.running_mean)
        self.register_buffer("running_var", bn.running_var)
        self.register_buffer("num_batches_tracked", bn.num_batches_tracked)

    def forward(self, x: Tensor) -> Tensor:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        scale = torch.rsqrt(self.running_var + self.eps)
        if self.weight is not None:
            scale = scale * self.weight
        y = (x - self.running_mean.reshape(shape)) * scale.reshape(shape)
        return y if self.bias is None else y + self.bias.reshape(shape)


class _StatsBatchNorm(_EvalBatchNorm):
    """Train-mode BatchNorm that records (mean, unbiased var) of its input for its name."""

    def __init__(self, bn: nn.Module, name: str, local: threading.local):
        super().__init__(bn)
        self._name, self._local = name, local

    def forward(self, x: Tensor) -> Tensor:
        dims = [0, *range(2, x.ndim)]
        var, mean = torch.var_mean(x, dim=dims, correction=0)
        n = x.numel() // x.shape[1]
        self._local.records[self._name] = (mean, var * (n / max(n - 1, 1)))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        scale = torch.rsqrt(var + self.eps)
        if self.weight is not None:
            scale = scale * self.weight
        y = (x - mean.reshape(shape)) * scale.reshape(shape)
        return y if self.bias is None else y + self.bias.reshape(shape)


def _private_copy(model: nn.Module, role: str) -> nn.Module:
    """A deep copy in eval mode. role "eval-bn": BatchNorm layers replaced by formula
    versions; "stats": replaced later by recording train-mode versions."""
    try:
        private = copy.deepcopy(model)
    except Exception as error:  # noqa: BLE001
        raise LosslabError(
            f"the model cannot be copied ({type(error).__name__}: {error}); ModelObjective "
            "evaluates a private copy so that the model itself is never changed."
        ) from error
    private.eval()
    for p in private.parameters():
        p.requires_grad_(False)
    if role == "eval-bn":
        _replace_batchnorms(private, lambda name, bn: _EvalBatchNorm(bn))
    return private


def _attach_stat_recorders(private: nn.Module, local: threading.local) -> None:
    _replace_batchnorms(private, lambda name, bn: _StatsBatchNorm(bn, name, local))


def _replace_batchnorms(private: nn.Module, make) -> None:
    for name, module in list(private.named_modules()):
        if type(module) in _BATCHNORMS and module.track_running_stats:
            parent_name, _, child = name.rpartition(".")
            parent = private.get_submodule(parent_name) if parent_name else private
            setattr(parent, child, make(name, module))
