"""A network with its loss and data as an objective: a function of the flat parameter vector.

    objective = ModelObjective(model, "cross_entropy", (X, y))
    objective(objective.origin)                      # the loss at the model's own weights
    objective.evaluate(points)                       # {"loss": (P,), "accuracy": (P,)}
    objective.evaluate_slice(origin, dirs, coords)   # the same at origin + coords @ dirs, fast

The user's model is never changed: its weights, buffers and train/eval flag stay as they are.
Every evaluation runs eval semantics (dropout off, BatchNorm with running statistics, or with
statistics recomputed per point when bn="recompute") from a parameter vector:

- fast path (`_fast_path`, `_sequential`): a flat nn.Sequential of standard layers runs as a
  program of functional ops; on a slice the first layer's output is combined from
  precomputed pieces, and on CPU several points run at once on the process's worker pool
  (`pool`), one per core, each worker reusing its buffers (`_workspace`) from call to call.
- traced path (`_traced`): any other module torch.fx can trace runs as its graph of
  functional ops through the same machinery (checked against the model's forward first).
- general path (`_general_path`): any other module runs through `torch.func.functional_call`
  on private copies, one per worker thread, over all the evaluation data. Exact, slower.

Data is materialized once on the model's device and dtype (`_data`; a DataLoader is read once
into tensors). `n_samples=k` evaluates on a fixed seeded subset of k samples and reports, per
point, the standard error of the mean of each per-sample metric ("loss_se", "accuracy_se"),
with the finite-population correction for sampling k of N without replacement (`_metrics`):
    se = std(ddof=1) * sqrt((1 - k / N) / k)
so se is 0 when k == N (the subset is the whole data and the mean is exact).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn

from losslab._checks import check_count, check_seed
from losslab.errors import LosslabError
from losslab.objectives import pool
from losslab.objectives._batchnorm import check_recomputable, has_batchnorm
from losslab.objectives._data import check_real, fixed_subset, materialize
from losslab.objectives._fast_path import FastPath, check_program, combine
from losslab.objectives._fingerprint import data_fingerprint, model_fingerprint
from losslab.objectives._general_path import GeneralPath
from losslab.objectives._losses import LossSpec, correct, resolve_loss
from losslab.objectives._metrics import check_metrics, summarize, value_keys
from losslab.objectives._sequential import compile_sequential
from losslab.objectives._traced import compile_traced
from losslab.objectives._workspace import Workspace
from losslab.objectives.adapters import Batch
from losslab.objectives.base import Objective
from losslab.params import ParamLayout, as_vector, model_vector

BN_MODES = ("eval", "recompute")
DEFAULT_CHUNK = 64  # suggested points per call for a grid driver
ACTIVATION_BUDGET = 2 * 2**30  # bytes of activations the default workers may hold at once
_VERIFY_SAMPLES = 256  # samples on which the fast path is checked against the model itself


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
    workers: points evaluated at once on CPU, on the process's worker pool, each worker with
        torch.get_num_threads() // workers intra-op threads (the caller's count, which is
        left as it is). Default on CPU: torch.get_num_threads(), fewer if their activations
        would pass ACTIVATION_BUDGET (the general path gives each worker its own model copy);
        1 (the caller's thread) on GPU and where a worker cannot limit its own threads
        (`pool.limits_threads`).
        Each thread that evaluates keeps one point's buffers while the objective lives.
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
        check_real(model=model)
        if bn not in BN_MODES:
            raise LosslabError(f"bn == {bn!r}, must be one of {BN_MODES}.")
        self.seed = check_seed(seed)
        self.bn = bn
        self.layout = ParamLayout.of(model)
        self.n_params = self.layout.n_params
        self.origin = model_vector(model)
        self.dtype, self.device = self.origin.dtype, self.origin.device
        if not self.dtype.is_floating_point:
            raise LosslabError(f"the model's parameters are {self.dtype}, must be floating.")
        self.loss: LossSpec = resolve_loss(loss_fn)
        self.chunk_size = (
            DEFAULT_CHUNK if chunk_size is None else check_count("chunk_size", chunk_size)
        )
        self._workers = None if workers is None else check_count("workers", workers)
        self._model_class = type(model).__name__
        self._model_repr = repr(model)[:2000]
        self.name = f"{self._model_class}/{self.loss.name}"

        x, y = materialize(data, "data", self.dtype, self.device)
        self.n_total = x.shape[0]
        if n_samples is not None:
            x, y = self._subset(x, y, n_samples, seed)
        self.n_samples = n_samples
        self._x, self._y = x, y
        if train_data is not None and bn != "recompute":
            raise LosslabError(
                "train_data is only used to recompute BatchNorm statistics: pass "
                "bn='recompute' with it, or leave it out."
            )
        if bn == "recompute":
            check_recomputable(model)
        self._train_x = x
        if train_data is not None:
            self._train_x = materialize(train_data, "train_data", self.dtype, self.device)[0]
        self._recompute = bn == "recompute" and has_batchnorm(model)
        self.metrics = check_metrics(metrics, self.loss, y)
        self._scale = self.loss.scale(y)
        if self.loss.binary and (float(y.min()) < 0 or float(y.max()) > 1):
            raise LosslabError(
                f"loss {self.loss.name!r} needs targets in [0, 1] (0/1 labels); y ranges over "
                f"[{float(y.min()):g}, {float(y.max()):g}]. For class indices use "
                "'cross_entropy'."
            )
        self._fingerprints: dict[str, str] = {}
        self._point_bytes = 0.0  # activation bytes of one point in flight (set by _choose_path)
        self._local = threading.local()  # per thread: its Workspace (see _workspace)
        self._general: GeneralPath | None = None
        self._fast: FastPath | None = None
        self._path = "functional_call"  # or "sequential", "traced" (set by _choose_path)
        self._choose_path(model)

    def _subset(self, x: Tensor, y: Tensor, n_samples, seed: int) -> tuple[Tensor, Tensor]:
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
        return fixed_subset(x, y, n_samples, seed)

    def _choose_path(self, model: nn.Module) -> None:
        """Run the model's own forward (on a private copy) and the fast path on a few samples
        at the origin: a model or loss that cannot run on the data fails here with a clear
        message, and a fast path that disagrees with the model is not used."""
        program = compile_sequential(model)
        traced = program is None  # any other module: its torch.fx graph, if it traces
        if traced:
            program = compile_traced(model)
        general = self._module_path = GeneralPath(model, self._recompute)
        x, y = self._x[:_VERIFY_SAMPLES], self._y[:_VERIFY_SAMPLES]
        params = self.layout.unflatten(self.origin)
        try:
            with torch.no_grad():
                reference = general.eval_outputs(params, x)
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
        if program is not None:
            ok, peak = check_program(program, params, x, reference)
            if ok:
                train_x = self._train_x if self._recompute else None
                self._fast = FastPath(program, self.layout, self._x, self._y, train_x, self.loss)
                # A point in flight holds about three activations of the largest layer.
                scale = self._x.shape[0] / x.shape[0]
                self._point_bytes = 3 * peak * self.origin.element_size() * scale
                self._path = "traced" if traced else "sequential"
                return
        if program is not None and not traced:  # a traced graph falls back silently
            warnings.warn(
                "losslab: the fast Sequential path does not reproduce this model's outputs; "
                "using the general functional_call path (exact, slower).",
                stacklevel=3,
            )
        self._general = general

    # -- values and derivatives -----------------------------------------------------------------

    def __call__(self, params) -> Tensor:
        """The mean loss at (..., n_params) vectors or a parameter dict; differentiable."""
        params = as_vector(self.layout, params)
        lead = params.shape[:-1]
        flat = params.reshape(-1, self.n_params)
        values = [self.value(point) for point in flat]
        return torch.stack(values).reshape(lead) if values else params.new_empty(lead)

    def value(self, point: Tensor) -> Tensor:
        """The mean loss at one point (n_params,) -> (); differentiable (torch.func too)."""
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

    # -- the loss as a sum over batches (what curvature products are built from) ----------------
    #
    # value(point) == sum(batch_loss(forward(point, b.inputs), b) for b in batches()), and
    # batch_loss(outputs, b) == (losses * coefficients).sum() for
    # (losses, coefficients) = sample_losses(outputs, b) when the loss has per-sample values.

    def batches(self) -> Iterator[Batch]:
        """The evaluation data (the subset with n_samples) as Batch(inputs, targets, weights)
        on the objective's device, in order."""
        yield Batch(self._x, self._y, None)

    def forward(self, point: Tensor, inputs) -> Tensor:
        """Model outputs (B, ...) on `inputs` at one point (n_params,); differentiable in
        `point` (torch.func too), eval semantics as everywhere (bn mode included)."""
        params = self.layout.unflatten(point.to(self.device, self.dtype))
        return self._module_path.outputs(params, inputs, self._train_x)

    def batch_loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """This batch's term of value(): a scalar, differentiable in `outputs`."""
        if self.loss.per_sample is None:
            return self.loss.mean(outputs, batch.targets) * (len(batch.targets) / self.n_evaluated)
        losses, coefficients = self.sample_losses(outputs, batch)
        return (losses * coefficients).sum()

    def sample_losses(self, outputs: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """(per-sample losses (B,), their coefficients (B,)) in this batch: value() is the sum
        of losses * coefficients over all batches. Refused for a plain callable loss."""
        if self.loss.per_sample is None:
            raise LosslabError(
                f"loss_fn {self.loss.name!r} is a plain callable that returns only the mean; "
                "per-sample losses need 'cross_entropy', 'mse', 'bce' or a torch loss module."
            )
        losses = self.loss.per_sample(outputs, batch.targets)
        coefficient = self._scale / self.n_evaluated
        return losses, torch.full_like(losses, coefficient)

    @property
    def n_evaluated(self) -> int:
        """Samples the objective evaluates (all, or n_samples)."""
        return int(self._y.shape[0])

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

        def point_fn(i: int, workspace: Workspace | None) -> Tensor:
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
        fast = self._fast
        if fast is None or not fast.slice_pays(origin, dirs.shape[0]):

            def point_fn(i: int, workspace: Workspace | None) -> Tensor:
                point = torch.addmv(origin, dirs_t, weights[i])
                return self._point_values(point, workspace=workspace)

            return self._collect(coords.shape[0], point_fn, device)

        pieces, train_pieces = fast.first_layer_pieces(origin, dirs)
        scalars = coords.to(torch.float64).tolist()

        def point_fn(i: int, workspace: Workspace | None) -> Tensor:
            point = torch.addmv(origin, dirs_t, weights[i])
            z = combine(pieces, scalars[i], workspace, "first")
            zt = combine(train_pieces, scalars[i], workspace, "first-train")
            return self._point_values(point, first=(z, zt), workspace=workspace)

        return self._collect(coords.shape[0], point_fn, device)

    @property
    def value_keys(self) -> tuple[str, ...]:
        """The keys evaluate() returns, in order."""
        return value_keys(tuple(self.metrics), subset=self.n_samples is not None)

    # -- one point ------------------------------------------------------------------------------

    def _outputs(self, point: Tensor, *, grad: bool, first=None, workspace=None) -> Tensor:
        """Model outputs (N, ...) on the evaluation data at one point (n_params,)."""
        if self._fast is None:
            return self._general.outputs(self.layout.unflatten(point), self._x, self._train_x)
        return self._fast.outputs(point, grad=grad, first=first, workspace=workspace)

    def _point_values(self, point: Tensor, first=None, workspace=None) -> Tensor:
        """[metric values..., se values...] at one point, in inference mode."""
        fast = self._fast
        if fast is not None and fast.columns:
            logits = fast.outputs(point, grad=False, first=first, columns=True, workspace=workspace)
            losses, hits = self.loss.columns(logits, self._y)
            per_sample = [losses if m == "loss" else hits for m in self.metrics]
            return summarize(per_sample, None, self.n_samples, self.n_total)
        outputs = self._outputs(point, grad=False, first=first, workspace=workspace)
        return self._metric_values(outputs)

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
        return summarize(per_sample, means, self.n_samples, self.n_total)

    # -- many points ----------------------------------------------------------------------------

    def _workspace(self) -> Workspace | None:
        """The calling thread's buffers for this objective, kept from call to call so that a
        landscape's chunks write into the pages its first chunk touched (see _workspace).
        On other devices None: their caching allocators already reuse memory."""
        workspace = getattr(self._local, "workspace", None)
        if workspace is None and self.device.type == "cpu":
            workspace = self._local.workspace = Workspace()
        return workspace

    def _plan_workers(self, n_points: int) -> tuple[int, int]:
        """(points at once, intra-op threads per worker) for a call from this thread."""
        threads = torch.get_num_threads()
        if self.device.type != "cpu" or n_points < 2:
            return 1, threads
        if self._workers is not None:
            workers = min(self._workers, n_points)
        elif not pool.limits_threads():
            return 1, threads
        else:
            # One point per intra-op thread, as long as their activations fit the budget.
            by_memory = int(ACTIVATION_BUDGET // max(self._point_bytes, 1))
            workers = max(1, min(threads, n_points, by_memory))
        return workers, max(1, threads // workers)

    def _collect(
        self, n_points: int, point_fn: Callable[[int, Workspace | None], Tensor], device
    ) -> dict:
        """point_fn over 0..n_points-1, several at once on the worker pool; {key: (P,)}.

        Memory is one point's activations per worker, whatever n_points is."""
        keys = self.value_keys
        if n_points == 0:
            return {key: torch.empty(0, dtype=self.dtype, device=device) for key in keys}
        rows: list[Tensor] = [None] * n_points  # type: ignore[list-item]

        def run(i: int) -> None:
            with torch.inference_mode():
                rows[i] = point_fn(i, self._workspace())

        workers, threads = self._plan_workers(n_points)
        if workers == 1:  # in the caller's thread, with its own thread setting
            for i in range(n_points):
                run(i)
        else:
            pool.worker_pool(threads).map(run, n_points, workers)
        values = torch.stack(rows).to(device)
        return {key: values[:, j] for j, key in enumerate(keys)}

    # -- metadata -------------------------------------------------------------------------------

    @property
    def fast_path(self) -> bool:
        """True when the model runs as a compiled Sequential program."""
        return self._path == "sequential"

    def fingerprint(self) -> str:
        """sha256 of the parameter layout (names and shapes) and the origin's bytes."""
        if "model" not in self._fingerprints:
            self._fingerprints["model"] = model_fingerprint(self.layout, self.dtype, self.origin)
        return self._fingerprints["model"]

    def _data_fingerprint(self, key: str, *tensors: Tensor) -> str:
        if key not in self._fingerprints:
            self._fingerprints[key] = data_fingerprint(*tensors)
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
            "path": self._path,
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
            f"bn={self.bn!r}, path={self._path})"
        )


def _direction_matrix(layout: ParamLayout, directions) -> Tensor:
    """(k, n_params) from a tensor, a list of k parameter dicts, one dict, or an object with
    a `vectors` tensor (a `Directions`)."""
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
