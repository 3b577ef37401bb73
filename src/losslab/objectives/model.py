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
  on private copies, one per worker thread. Exact, slower.

Data in batches (`_data`, `_stream_budget`): every evaluation runs the data in batches of
`eval_batch_size` samples (chosen from a memory budget unless given; small data sets are one
batch), from tensors in memory or STREAMED from a DataLoader too large to hold. A call runs
batch by batch, all its points on each batch, adding each point's sums in float64
(`_metrics.Totals`): memory is one batch's activations per worker, whatever N and P are.
Reductions are exact across batches:
    mean loss          sum_i w_i l_i / sum_i w_i m_i   (w_i per-sample weights or 1, m_i the
                       sample's mean class weight or 1: torch's weighted mean over ALL targets)
    reduction="sum"    sum_i w_i l_i                    (l_i the sum over the sample's elements)
    plain callable     sum_b mean_b * B_b / N           (exact for any per-sample mean)
    accuracy           sum_i w_i correct_i / sum_i w_i

`n_samples=k` evaluates on a fixed seeded subset of k samples and reports, per point, the
standard error of the mean of each per-sample metric ("loss_se", "accuracy_se"), with the
finite-population correction for sampling k of N without replacement (`_metrics`):
    se = std(ddof=1) * sqrt((1 - k / N) / k)
so se is 0 when k == N (the subset is the whole data and the mean is exact). Over several
batches the std comes from exactly merged per-batch moments (float64).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn

from losslab import placement
from losslab._checks import check_count, check_seed
from losslab.errors import LosslabError
from losslab.objectives import pool
from losslab.objectives._batchnorm import BatchStatistics, check_recomputable, has_batchnorm
from losslab.objectives._data import (
    DataFacts,
    LoaderData,
    TensorData,
    check_real,
    fixed_index,
    read_data,
    scan,
)
from losslab.objectives._fast_path import FastPath, check_program, columns_pay, combine
from losslab.objectives._fingerprint import data_fingerprint, model_fingerprint
from losslab.objectives._general_path import GeneralPath
from losslab.objectives._losses import LossSpec, check_denominator, correct, resolve_loss
from losslab.objectives._metrics import Totals, check_metrics, value_keys
from losslab.objectives._sequential import Prepared, compile_sequential
from losslab.objectives._stream_budget import eval_batch_size as budget_batch_size
from losslab.objectives._stream_budget import module_output_bytes
from losslab.objectives._traced import compile_traced
from losslab.objectives._workspace import Workspace
from losslab.objectives.adapters import (
    Batch,
    batch_adapter,
    call_functional,
    check_materialized,
    output_adapter,
    tensors_of,
)
from losslab.objectives.base import Objective
from losslab.objectives.kernels import twice_differentiable
from losslab.params import ParamLayout, as_vector, model_vector

BN_MODES = ("eval", "recompute")
DEFAULT_CHUNK = 64  # suggested points per call for a grid driver
ACTIVATION_BUDGET = 2 * 2**30  # bytes of activations the default workers may hold at once
_VERIFY_SAMPLES = 256  # samples on which the fast path is checked against the model itself
_PROBE_SAMPLES = 32  # samples on which the general path's activation bytes are measured


class ModelObjective(Objective):
    """model + loss + data as a function of the flat parameter vector (n_params,).

    model: any nn.Module; never mutated. Its parameters' dtype and device are used for
        everything; each batch of data is moved there.
    loss_fn: "cross_entropy" | "mse" | "bce" (binary cross-entropy on one logit per sample,
        targets 0/1) | a torch loss module (its per-sample form is used; reduction="sum"
        gives the SUM over all samples, what the module returns on the whole data in one
        call; any other reduction a mean; class weights and ignore_index count over ALL
        targets) | a callable (outputs, targets) -> scalar MEAN loss over its batch (then no
        per-sample losses, no n_samples, no weights; batches are combined weighted by their
        size, exact for any per-sample mean).
    data: (X, y) or (X, y, w) tensors or arrays (w: per-sample weights >= 0, the loss and
        accuracy are then weighted means sum w_i l_i / sum w_i); X may be a tuple or dict of
        tensors (the model is called as model(*X) or model(**X)); a losslab Dataset (its
        training split); or a DataLoader of such batches, read once into tensors when its
        data fits in memory (first batch's bytes x len <= 1 GiB and a quarter of the
        available memory), else STREAMED from `loader.dataset` on every pass (unshuffled,
        same collate_fn and num_workers, `eval_batch_size` samples a batch). A shuffled
        loader gives the same objective: its dataset is read in order.
    eval_batch_size: samples per evaluation batch; default: as many as fit the memory budget
        (see `_stream_budget`), all of them for small data sets. Results do not depend on it
        beyond float rounding (sums in float64).
    output_fn: which tensor of the model's return value is the output: None (a tensor), a
        dict key or attribute name ("logits" of a HuggingFace-style output), a tuple index,
        or a callable(returned) -> tensor.
    batch_fn: a callable(batch) -> (inputs, targets) or (inputs, targets, weights) applied
        to every batch (and to `data` itself when it is not a DataLoader): dict batches.
    metrics: names among ("loss", "accuracy"); default ("loss", "accuracy") for classification
        losses and integer targets, else ("loss",).
    n_samples: evaluate on a fixed random subset of this many samples (seeded by `seed`) and
        report "<metric>_se" per point (see the module docstring); default: all data, exact.
        On a streamed DataLoader the subset is a fixed Subset of its dataset.
    bn: "eval" (BatchNorm uses the model's running statistics) or "recompute" (at each point,
        the statistics of every BatchNorm are recomputed on `train_data` at that point's
        weights, as running_mean/running_var hold after one full-batch train-mode pass with
        momentum=None, then the data is evaluated in eval mode with them). Train data of
        several batches gives the same statistics exactly, at the cost of about L/2 extra
        passes over it for L BatchNorm layers (`_batchnorm.BatchStatistics`). Instance norms,
        SyncBatchNorm and BatchNorm without running statistics are refused with "recompute".
    train_data: data for bn="recompute" (default: the evaluation data, i.e. the subset when
        n_samples is set).
    chunk_size: points per batch for a caller that cuts a grid into chunks (default 64, kept
        as `self.chunk_size`). Evaluation itself holds one point's activations on one batch
        per worker whatever the number of points, so memory never grows with the grid.
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
        eval_batch_size: int | None = None,
        output_fn=None,
        batch_fn=None,
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
        check_materialized(model)
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
        if eval_batch_size is not None:
            check_count("eval_batch_size", eval_batch_size)
        self._output = output_adapter(output_fn)
        self._to_batch = batch_adapter(batch_fn)
        self._model_class = type(model).__name__
        self._model_repr = repr(model)[:2000]
        self.name = f"{self._model_class}/{self.loss.name}"

        source = read_data(data, "data", self.dtype, self.device, self._to_batch)
        self.n_total = source.n
        if n_samples is not None:
            source = source.subset(self._subset_index(n_samples, seed))
        self.n_samples = n_samples
        self._data = source
        facts = self._facts = scan(source, self.loss, _scan_size(data))
        self._check_targets(facts)
        if train_data is not None and bn != "recompute":
            raise LosslabError(
                "train_data is only used to recompute BatchNorm statistics: pass "
                "bn='recompute' with it, or leave it out."
            )
        if bn == "recompute":
            check_recomputable(model)
        self._train = source
        if train_data is not None:
            self._train = read_data(
                train_data, "train_data", self.dtype, self.device, self._to_batch
            )
        self._recompute = bn == "recompute" and has_batchnorm(model)
        self.metrics = check_metrics(metrics, self.loss, facts.first.targets)
        self._weighted = facts.weighted
        self._fingerprints: dict[str, str] = {}
        if isinstance(source, LoaderData):
            self._fingerprints["data"] = facts.fingerprint
        self._point_bytes = 0.0  # activation bytes of one point in flight (set by _choose_path)
        self._local = threading.local()  # per thread: its Workspace (see _workspace)
        self._general: GeneralPath | None = None
        self._fast: FastPath | None = None
        self._statistics: BatchStatistics | None = None
        self._prepared: dict[int, tuple[Prepared, Prepared | None]] = {}  # data of one batch
        self._path = "functional_call"  # or "sequential", "traced" (set by _choose_path)
        self._choose_path(model, eval_batch_size)
        # How to build this objective again in another process (see __reduce__).
        self._recipe = (
            loss_fn,
            data,
            {
                "eval_batch_size": self.eval_batch_size,
                "output_fn": output_fn,
                "batch_fn": batch_fn,
                "metrics": self.metrics,
                "n_samples": n_samples,
                "seed": seed,
                "bn": bn,
                "train_data": train_data,
                "chunk_size": chunk_size,
                "workers": workers,
            },
        )

    def __reduce__(self):
        """Pickled as the recipe that built it: the private copy of the model taken at
        construction, the loss, the data and the options, with the batch size this objective
        chose (so the data is cut into the same batches and sums in the same order). A process
        that unpickles it (a Ray worker) builds its own objective with its own threads and
        buffers, which evaluates to the same numbers; the caches and thread-local state of
        this one never travel (they could not: locks and thread-locals do not pickle)."""
        loss_fn, data, options = self._recipe
        template = self._module_path.template  # its parameters need no gradient: say which do
        return (_rebuild, (template, self.layout.names, loss_fn, data, options))

    # -- construction ---------------------------------------------------------------------------

    def _subset_index(self, n_samples, seed: int) -> Tensor:
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
        return fixed_index(self.n_total, n_samples, seed)

    def _check_targets(self, facts: DataFacts) -> None:
        if facts.weighted and self.loss.per_sample is None:
            raise LosslabError(
                f"the data has per-sample weights, and loss_fn {self.loss.name!r} is a plain "
                "callable that returns only the mean: pass 'cross_entropy', 'mse', 'bce' or a "
                "torch loss module, or data without weights."
            )
        if facts.weighted and self.n_samples is not None:
            raise LosslabError(
                f"n_samples == {self.n_samples} with per-sample weights: standard errors are "
                "only for unweighted means; pass n_samples=None, or data without weights."
            )
        if self.loss.binary and (facts.target_min < 0 or facts.target_max > 1):
            raise LosslabError(
                f"loss {self.loss.name!r} needs targets in [0, 1] (0/1 labels); y ranges over "
                f"[{facts.target_min:g}, {facts.target_max:g}]. For class indices use "
                "'cross_entropy'."
            )
        if not self.loss.total and self.loss.per_sample is not None:
            check_denominator(self.loss.name, facts.denominator)
        if facts.weighted and facts.weight_sum <= 0:
            raise LosslabError("data: the per-sample weights sum to 0; give some weight > 0.")

    def _choose_path(self, model: nn.Module, batch_size: int | None) -> None:
        """Run the model's own forward (on a private copy) and the fast path on a few samples
        at the origin: a model or loss that cannot run on the data fails here with a clear
        message, and a fast path that disagrees with the model is not used. Then choose the
        batch size from the activation bytes per sample measured here."""
        program = compile_sequential(model)
        traced = program is None  # any other module: its torch.fx graph, if it traces
        if traced:
            program = compile_traced(model)
        general = self._module_path = GeneralPath(model, self._recompute)
        first = _head(self._facts.first, _VERIFY_SAMPLES)
        n_verify = int(first.targets.shape[0])
        params = self.layout.unflatten(self.origin)
        try:
            with torch.no_grad():
                reference = self._output(general.eval_outputs(params, first.inputs))
                if self.loss.per_sample is not None:
                    losses = self.loss.per_sample(reference, first.targets)
                    if losses.shape != (n_verify,):
                        raise LosslabError(
                            f"loss {self.loss.name!r} gives per-sample losses of shape "
                            f"{tuple(losses.shape)} for {n_verify} samples."
                        )
                else:
                    self.loss.mean(reference, first.targets)
                probe = _head(first, _PROBE_SAMPLES)  # activations scale with the samples
                n_probe = int(probe.targets.shape[0])
                general_bytes = module_output_bytes(model, probe.inputs) / n_probe
        except LosslabError:
            raise
        except Exception as error:  # the user's model or loss raised: say where
            raise LosslabError(
                f"the model and loss cannot run on data of shape {_shape(first.inputs)} with "
                f"targets {tuple(first.targets.shape)}: {type(error).__name__}: {error}"
            ) from error
        fast_bytes = None
        if program is not None and _plain_tensor(first.inputs):
            ok, peak = check_program(program, params, first.inputs, reference)
            if ok:
                fast_bytes = 3 * peak * self.origin.element_size() / n_verify
            elif not traced:  # a traced graph falls back silently
                warnings.warn(
                    "losslab: the fast Sequential path does not reproduce this model's outputs; "
                    "using the general functional_call path (exact, slower).",
                    stacklevel=3,
                )
        per_sample = general_bytes if fast_bytes is None else fast_bytes
        n, n_train = self.n_evaluated, self._train.n
        cap = batch_size
        if cap is None:
            in_flight = self._points_in_flight(fast_bytes is not None)
            cap = budget_batch_size(max(n, n_train), per_sample, in_flight)
        self.eval_batch_size = min(n, cap)
        self._train_batch_size = min(n_train, cap)
        if self._recompute and n_train > cap:
            # Statistics over several train batches: the truncated passes of BatchStatistics
            # on the general path (the fast path recomputes them in one pass on one batch).
            fast_bytes = None
            self._statistics = BatchStatistics(model, call_functional)
        self._point_bytes = (fast_bytes or general_bytes) * self.eval_batch_size
        if fast_bytes is None:
            self._general = general
            return
        columns = columns_pay(program, self.loss, self._facts, self._weighted, self.device)
        self._fast = FastPath(program, self.layout, columns)
        self._path = "traced" if traced else "sequential"
        if self.n_batches == 1:  # prepared once, as the data is one batch
            self._batch_inputs(0, next(self._data.batches(self.eval_batch_size)))

    def _points_in_flight(self, fast: bool) -> int:
        if self._workers is not None:
            return self._workers
        if self.device.type != "cpu" or not pool.limits_threads():
            return 1
        return torch.get_num_threads()

    # -- values and derivatives -----------------------------------------------------------------

    def __call__(self, params) -> Tensor:
        """The loss at (..., n_params) vectors or a parameter dict; differentiable."""
        params = as_vector(self.layout, params)
        lead = params.shape[:-1]
        flat = params.reshape(-1, self.n_params)
        values = [self.value(point) for point in flat]
        return torch.stack(values).reshape(lead) if values else params.new_empty(lead)

    def value(self, point: Tensor) -> Tensor:
        """The loss at one point (n_params,) -> (); differentiable (torch.func too): the sum
        of the batches' terms (`batch_loss`)."""
        local = point.to(self.device, self.dtype)
        stats = self._batch_statistics(local)
        total = None
        for index, batch in enumerate(self.batches()):
            outputs = self._outputs(local, index, batch, grad=True, stats=stats)
            term = self.batch_loss(outputs, batch)
            total = term if total is None else total + term
        return total.to(point.device, point.dtype)

    def value_and_grad(self, params: Tensor) -> tuple[Tensor, Tensor]:
        """params: (B, n_params) -> values (B,), gradients (B, n_params); per row, one
        backward pass per batch, the gradients added up: memory is one batch's activations.
        With bn="recompute" over several train batches the statistics are leaves of the
        evaluation passes, and their gradients are carried back through the train batches
        one at a time (`BatchStatistics.gradient`)."""
        values, grads = [], []
        for point in params:
            local = point.detach().to(self.device, self.dtype)
            value, grad = self._value_and_grad(local)
            values.append(value.to(point.device, point.dtype))
            grads.append(grad.to(point.device, point.dtype))
        if not values:
            return params.new_empty(0), params.new_empty(0, self.n_params)
        return torch.stack(values), torch.stack(grads)

    def _value_and_grad(self, point: Tensor) -> tuple[Tensor, Tensor]:
        stats = None
        if self._statistics is not None:
            with torch.no_grad():
                stats = self._batch_statistics(point)
            stats = {k: v.detach().requires_grad_(True) for k, v in stats.items()}
        value = torch.zeros((), dtype=torch.float64, device=self.device)
        grad = torch.zeros_like(point)
        stat_grads = {k: torch.zeros_like(v) for k, v in (stats or {}).items()}
        for index, batch in enumerate(self.batches()):
            with torch.enable_grad():
                leaf = point.detach().requires_grad_(True)
                outputs = self._outputs(leaf, index, batch, grad=True, stats=stats)
                term = self.batch_loss(outputs, batch)
                wrt = [leaf, *(stats.values() if stats else [])]
                parts = torch.autograd.grad(term, wrt, allow_unused=True)
            if parts[0] is not None:
                grad += parts[0]
            for key, part in zip(stat_grads, parts[1:], strict=True):
                if part is not None:
                    stat_grads[key] += part
            value += term.detach().to(torch.float64)
        if stats is not None:
            grad += self._statistics.gradient(
                point, self.layout.unflatten, self._train_inputs(), stat_grads
            )
        return value, grad

    def hessian(self, params: Tensor) -> Tensor:
        """(B, n_params) -> (B, n_params, n_params): exact, symmetric Hessians.

        Reverse over reverse (torch.func.jacrev of jacrev), batch by batch and added up,
        under `kernels.twice_differentiable()` (attention as its math composite). Forward
        over reverse (torch.func.hessian) is wrong on some layers (attention: max |H - H^T|
        = 7.6e-3 for max |H| = 0.24). The result is checked: max |H - H^T| <= sqrt(eps) x
        max |H| (eps of the dtype), and (H + H^T) / 2 is returned; a larger asymmetry
        raises. Memory grows as n_params^2: for real networks use Hessian-vector products."""
        return torch.stack([self._hessian(p) for p in params])

    def _hessian(self, point: Tensor) -> Tensor:
        local = point.detach().to(self.device, self.dtype)
        with twice_differentiable():
            if self._statistics is not None:  # statistics couple the batches: one function
                hessian = torch.func.jacrev(torch.func.jacrev(self.value))(local)
            else:
                hessian = None
                for batch in self.batches():

                    def term(vector: Tensor, batch: Batch = batch) -> Tensor:
                        return self.batch_loss(self.forward(vector, batch.inputs), batch)

                    part = torch.func.jacrev(torch.func.jacrev(term))(local)
                    hessian = part if hessian is None else hessian + part
        asymmetry = float((hessian - hessian.T).abs().max()) if hessian.numel() else 0.0
        scale = float(hessian.abs().max()) if hessian.numel() else 0.0
        tolerance = math.sqrt(torch.finfo(hessian.dtype).eps)
        if asymmetry > tolerance * scale:
            raise LosslabError(
                f"the Hessian is not symmetric: max |H - H^T| = {asymmetry:.3g} against max |H| "
                f"= {scale:.3g} (allowed: {tolerance:.2g} x max |H|); some layer's second "
                "derivative is wrong in torch: use Hessian-vector products (curvature)."
            )
        return ((hessian + hessian.T) / 2).to(point.device, point.dtype)

    # -- the loss as a sum over batches (what curvature products are built from) ----------------
    #
    # value(point) == sum(batch_loss(forward(point, b.inputs), b) for b in batches()), and
    # batch_loss(outputs, b) == (losses * coefficients).sum() for
    # (losses, coefficients) = sample_losses(outputs, b) when the loss has per-sample values.

    def batches(self) -> Iterator[Batch]:
        """The evaluation data (the subset with n_samples) as Batch(inputs, targets, weights)
        on the objective's device, in order, `eval_batch_size` samples each (the last may be
        shorter); streamed from a large DataLoader."""
        return self._data.batches(self.eval_batch_size)

    def forward(self, point: Tensor, inputs) -> Tensor:
        """Model outputs (B, ...) on `inputs` at one point (n_params,); differentiable in
        `point` (torch.func too), eval semantics as everywhere (bn mode included: with
        bn="recompute" each call recomputes the statistics at `point` on the train data)."""
        local = point.to(self.device, self.dtype)
        params = self.layout.unflatten(local)
        stats = self._batch_statistics(local)
        train = self._train_inputs() if stats is None and self._recompute else None
        return self._output(self._module_path.outputs(params, inputs, train, stats))

    def batch_loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """This batch's term of value(): a scalar, differentiable in `outputs`."""
        if self.loss.per_sample is None:
            size = len(batch.targets)
            return self.loss.mean(outputs, batch.targets) * (size / self.n_evaluated)
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
        coefficient = self._loss_coefficient
        if batch.weights is None:
            return losses, torch.full_like(losses, coefficient)
        return losses, batch.weights.to(losses.dtype) * coefficient

    @property
    def n_evaluated(self) -> int:
        """Samples the objective evaluates (all, or n_samples)."""
        return self._facts.n

    @property
    def n_batches(self) -> int:
        """Batches of `eval_batch_size` samples one pass over the data takes."""
        return -(-self.n_evaluated // self.eval_batch_size)

    @property
    def _loss_coefficient(self) -> float:
        """Each sample's loss coefficient before its weight: 1 / sum_i w_i m_i for a mean
        (see the module docstring), N / n_evaluated for a total (a subset estimates the
        whole data's sum)."""
        if self.loss.total:
            return self.n_total / self.n_evaluated
        return 1.0 / self._facts.denominator

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

        def batch_fn(index: int, batch: Batch, stats: list | None) -> Callable:
            prepared = self._batch_inputs(index, batch)

            def point_fn(i: int, workspace: Workspace | None):
                return self._point_values(
                    points[i], batch, prepared, None if stats is None else stats[i], workspace
                )

            return point_fn

        return self._collect(points.shape[0], lambda i: points[i], batch_fn, device)

    def evaluate_slice(self, origin, directions, coords) -> dict[str, Tensor]:
        """Metrics at origin + coords @ directions, equal to evaluate() of those points.

        origin: (n_params,) or a parameter dict; directions: (k, n_params), a list of k
        parameter dicts, or an object with such a `vectors` tensor; coords: (P, k).
        On the fast path the first layer's output is computed once per batch for the origin
        and for each direction and combined per point: Z(c) = Z0 + sum_i c_i Zd_i.
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

        def point_at(i: int) -> Tensor:
            return torch.addmv(origin, dirs_t, weights[i])

        fast = self._fast
        if fast is None or not fast.slice_pays(origin, dirs.shape[0]):

            def batch_fn(index: int, batch: Batch, stats: list | None) -> Callable:
                prepared = self._batch_inputs(index, batch)

                def point_fn(i: int, workspace: Workspace | None):
                    stat = None if stats is None else stats[i]
                    return self._point_values(point_at(i), batch, prepared, stat, workspace)

                return point_fn

            return self._collect(coords.shape[0], point_at, batch_fn, device)

        scalars = coords.to(torch.float64).tolist()

        def sliced_batch_fn(index: int, batch: Batch, stats: list | None) -> Callable:
            prepared = self._batch_inputs(index, batch)
            pieces, train_pieces = fast.first_layer_pieces(
                origin, dirs, prepared[0], prepared[1], cache=self.n_batches == 1
            )

            def point_fn(i: int, workspace: Workspace | None):
                z = combine(pieces, scalars[i], workspace, "first")
                zt = combine(train_pieces, scalars[i], workspace, "first-train")
                return self._point_values(
                    point_at(i), batch, prepared, None, workspace, first=(z, zt)
                )

            return point_fn

        return self._collect(coords.shape[0], point_at, sliced_batch_fn, device)

    @property
    def value_keys(self) -> tuple[str, ...]:
        """The keys evaluate() returns, in order."""
        return value_keys(tuple(self.metrics), subset=self.n_samples is not None)

    # -- one point on one batch -----------------------------------------------------------------

    def _batch_inputs(self, index: int, batch: Batch) -> tuple[Prepared, Prepared | None] | None:
        """The fast path's prepared inputs of batch `index` (and of the train data, one batch
        for bn="recompute"); None on the general path. Kept between calls when the data is
        one batch; with several, made for each call (a call evaluates all its points on a
        batch before the next, so that costs one preparation per batch per call: measured on
        benchmarks/scale.py's ResNet at 10,000 samples, keeping them was 60-90 MB more memory
        and no faster)."""
        fast = self._fast
        if fast is None:
            return None
        kept = self._prepared.get(index)
        if kept is not None:
            return kept
        prepared = fast.prepare(batch.inputs)
        train = None
        if self._recompute:  # one train batch (several go to the general path)
            train = fast.prepare(next(self._train.batches(self._train_batch_size)).inputs)
        if self.n_batches == 1:
            self._prepared[index] = (prepared, train)
        return prepared, train

    def _train_inputs(self) -> Callable[[], Iterator]:
        """The train data's inputs batch by batch, for BatchNorm statistics."""
        if self._statistics is None:
            return next(self._train.batches(self._train_batch_size)).inputs

        def inputs() -> Iterator:
            return (batch.inputs for batch in self._train.batches(self._train_batch_size))

        return inputs

    def _batch_statistics(self, point: Tensor) -> dict[str, Tensor] | None:
        """BatchNorm buffers at `point` from train data in several batches, else None."""
        if self._statistics is None:
            return None
        return self._statistics.buffers(self.layout.unflatten(point), self._train_inputs())

    def _outputs(
        self,
        point: Tensor,
        index: int,
        batch: Batch,
        *,
        grad: bool,
        stats=None,
        prepared=None,
        first=None,
        workspace=None,
    ) -> Tensor:
        """Model outputs (B, ...) on one batch at one point (n_params,)."""
        if self._fast is None:
            params = self.layout.unflatten(point)
            train = self._train_inputs() if self._recompute and stats is None else None
            return self._output(self._module_path.outputs(params, batch.inputs, train, stats))
        prepared = prepared or self._batch_inputs(index, batch)
        return self._fast.outputs(point, *prepared, grad=grad, first=first, workspace=workspace)

    def _point_values(
        self, point: Tensor, batch: Batch, prepared, stats, workspace, first=None
    ) -> tuple[Tensor, Tensor | None]:
        """(float64 sums (m,), per-sample values (m, B) for standard errors or None) of the
        metrics at one point on one batch, in inference mode."""
        fast = self._fast
        if fast is not None and fast.columns:
            logits = fast.outputs(
                point, *prepared, grad=False, first=first, columns=True, workspace=workspace
            )
            losses, hits = self.loss.columns(logits, batch.targets)
            per_sample = {"loss": losses, "accuracy": hits}
            return self._sums(per_sample, batch)
        outputs = self._outputs(
            point,
            -1,
            batch,
            grad=False,
            stats=stats,
            prepared=prepared,
            first=first,
            workspace=workspace,
        )
        per_sample: dict[str, Tensor] = {}
        if "accuracy" in self.metrics:
            per_sample["accuracy"] = correct(outputs, batch.targets, self.loss.binary)
        if self.loss.per_sample is None:
            mean = self.loss.mean(outputs, batch.targets).to(torch.float64)
            return self._sums(per_sample, batch, loss_sum=mean * len(batch.targets))
        per_sample["loss"] = self.loss.per_sample(outputs, batch.targets)
        return self._sums(per_sample, batch)

    def _sums(
        self, per_sample: dict[str, Tensor], batch: Batch, loss_sum: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Unscaled float64 sums (m,) of the metrics' weighted per-sample values over one
        batch, in the order of self.metrics (`_metric_scales` turns their totals into the
        metrics), and for standard errors the values themselves (m, B), the loss scaled so
        that its plain mean is the objective's loss. loss_sum: mean x B of a plain callable."""
        weights = batch.weights
        sums = []
        for metric in self.metrics:
            if metric == "loss" and loss_sum is not None:
                sums.append(loss_sum)
            elif weights is None:
                sums.append(per_sample[metric].sum(dtype=torch.float64))
            else:
                sums.append((per_sample[metric].to(torch.float64) * weights).sum())
        stacked = torch.stack(sums)
        if self.n_samples is None:
            return stacked, None
        scale = 1.0 if self.loss.total else self._loss_coefficient * self.n_evaluated
        rows = [per_sample[m] * scale if m == "loss" else per_sample[m] for m in self.metrics]
        return stacked, torch.stack(rows)

    def _metric_scales(self) -> Tensor:
        """(m,) float64: what each metric's total of `_sums` is multiplied by."""
        per_sample = self.loss.per_sample is not None
        scales = [
            (self._loss_coefficient if per_sample else 1.0 / self.n_evaluated)
            if metric == "loss"
            else 1.0 / self._facts.weight_sum
            for metric in self.metrics
        ]
        return torch.tensor(scales, dtype=torch.float64, device=self.device)

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
        self,
        n_points: int,
        point_at: Callable[[int], Tensor],
        batch_fn: Callable[[int, Batch, list | None], Callable],
        device,
    ) -> dict:
        """Every point's metrics, batch by batch: for each batch, point_fn = batch_fn(index,
        batch, statistics) runs over 0..n_points-1, several at once on the worker pool, and
        each point's float64 sums grow; {key: (P,)} at the end.

        Memory is one batch and one point's activations per worker, whatever n_points is."""
        keys = self.value_keys
        if n_points == 0:
            return {key: torch.empty(0, dtype=self.dtype, device=device) for key in keys}
        with pool.busy():  # the interpreter's exit waits for this thread's torch work too
            return self._collect_busy(n_points, point_at, batch_fn, device, keys)

    def _collect_busy(self, n_points, point_at, batch_fn, device, keys) -> dict:
        totals = [Totals() for _ in range(n_points)]
        workers, threads = self._plan_workers(n_points)

        def run_all(fn: Callable[[int], None]) -> None:
            if workers == 1:  # in the caller's thread, with its own thread setting
                for i in range(n_points):
                    fn(i)
            else:
                pool.worker_pool(threads).map(fn, n_points, workers)

        stats: list | None = None
        if self._statistics is not None:  # each point's statistics, before any batch
            stats = [None] * n_points

            def run_stats(i: int) -> None:
                with torch.inference_mode():
                    stats[i] = self._batch_statistics(point_at(i))

            run_all(run_stats)
        for index, batch in enumerate(self.batches()):
            point_fn = batch_fn(index, batch, stats)

            def run(i: int, point_fn=point_fn) -> None:
                with torch.inference_mode():
                    totals[i].add(*point_fn(i, self._workspace()))

            run_all(run)
        se_scale = None
        if self.loss.total and self.n_samples is not None and "loss" in self.metrics:
            se_scale = torch.tensor(
                [float(self.n_total) if m == "loss" else 1.0 for m in self.metrics],
                dtype=torch.float64,
                device=self.device,
            )
        n_total = self.n_total if self.n_samples is not None else None
        rows = torch.stack([t.finish(n_total, se_scale) for t in totals])
        m = len(self.metrics)
        rows[:, :m] *= self._metric_scales()
        values = rows.to(device=device, dtype=self.dtype)
        return {key: values[:, j] for j, key in enumerate(keys)}

    # -- metadata -------------------------------------------------------------------------------

    @property
    def fast_path(self) -> bool:
        """True when the model runs as a compiled Sequential program."""
        return self._path == "sequential"

    @property
    def streamed(self) -> bool:
        """True when the data is streamed from a DataLoader on every pass."""
        return self._data.streamed

    @property
    def _x(self):
        """All evaluation inputs in memory (None when streamed)."""
        return self._data.whole.inputs if isinstance(self._data, TensorData) else None

    @property
    def _y(self) -> Tensor | None:
        """All evaluation targets in memory (None when streamed)."""
        return self._data.whole.targets if isinstance(self._data, TensorData) else None

    def fingerprint(self) -> str:
        """sha256 of the parameter layout (names and shapes) and the origin's bytes."""
        if "model" not in self._fingerprints:
            self._fingerprints["model"] = model_fingerprint(self.layout, self.dtype, self.origin)
        return self._fingerprints["model"]

    def _data_fingerprint(self, key: str, source) -> str:
        if key not in self._fingerprints:
            if isinstance(source, LoaderData):
                self._fingerprints[key] = scan(source, self.loss, self.eval_batch_size).fingerprint
            elif key == "train":  # the inputs only, as before streaming
                self._fingerprints[key] = data_fingerprint(*tensors_of(source.whole.inputs))
            else:
                self._fingerprints[key] = data_fingerprint(*source.tensors())
        return self._fingerprints[key]

    def describe(self) -> dict:
        """JSON-able metadata that identifies this objective (no timings, no addresses)."""
        facts = self._facts
        data = {
            "n_total": self.n_total,
            "n_evaluated": self.n_evaluated,
            "input_shape": facts.input_shape,
            "target_shape": facts.target_shape,
            "target_dtype": str(facts.target_dtype).removeprefix("torch."),
            "fingerprint": self._data_fingerprint("data", self._data),
            "weighted": facts.weighted,
            "streamed": self.streamed,
        }
        description = {
            "objective": "model",
            "name": self.name,
            "model_class": self._model_class,
            "model_summary": self._model_repr,
            "model_fingerprint": self.fingerprint(),
            "n_params": self.n_params,
            "loss": self.loss.name,
            "loss_reduction": "sum" if self.loss.total else "mean",
            "data": data,
            "eval_batch_size": self.eval_batch_size,
            "n_batches": self.n_batches,
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
                "n": self._train.n,
                "fingerprint": self._data_fingerprint("train", self._train),
            }
        return description

    def __repr__(self) -> str:
        batches = f", batches={self.n_batches}x{self.eval_batch_size}" if self.n_batches > 1 else ""
        return (
            f"ModelObjective({self.name}, n_params={self.n_params}, n={self.n_evaluated}"
            f"{batches}{', streamed' if self.streamed else ''}, bn={self.bn!r}, "
            f"path={self._path})"
        )


def _rebuild(model: nn.Module, trained: tuple[str, ...], loss_fn, data, options: dict):
    """The objective of `ModelObjective.__reduce__`, built again where it was unpickled, on
    the device of the task unpickling it if it was given one (`losslab.placement`);
    `trained` names the parameters of its layout (the others stay frozen)."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in trained)
    device = placement.device()
    if device is not None:
        model = model.to(device)  # the data follows the model's device (read_data)
    return ModelObjective(model, loss_fn, data, **options)


def _scan_size(data) -> int:
    """Batch size of the construction pass over a streamed DataLoader: its own."""
    size = getattr(data, "batch_size", None)
    return size if isinstance(size, int) and size > 0 else 4096


def _head(batch: Batch, n: int) -> Batch:
    """The first n samples of a batch."""
    from losslab.objectives.adapters import map_tensors

    def cut(t):
        return t[:n] if isinstance(t, Tensor) and t.ndim else t

    weights = None if batch.weights is None else batch.weights[:n]
    return Batch(map_tensors(cut, batch.inputs), batch.targets[:n], weights)


def _plain_tensor(inputs) -> bool:
    """Inputs the fast path takes: one floating tensor."""
    return isinstance(inputs, Tensor) and inputs.is_floating_point()


def _shape(inputs) -> str:
    if isinstance(inputs, Tensor):
        return str(tuple(inputs.shape))
    if isinstance(inputs, Mapping):
        return (
            "{"
            + ", ".join(
                f"{k!r}: {tuple(v.shape)}" for k, v in inputs.items() if isinstance(v, Tensor)
            )
            + "}"
        )
    return str(tuple(tuple(t.shape) for t in tensors_of(inputs)))


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
