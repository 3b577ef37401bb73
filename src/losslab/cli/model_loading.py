"""A model and its data from the command line: a built-in by name, or the user's own files.

    --model mlp --dataset digits                       built-ins (losslab.models, losslab.data)
    --model net.py:make_net --weights net.pt --data d.npz   the user's model, weights and data

The user's file is imported by path (importlib) and its factory called with no arguments.
Weights are read with `torch.load(path, weights_only=True)` only (never unpickling code) and
loaded strictly; data come from `numpy.load(path, allow_pickle=False)` (arrays X and y,
optionally X_test and y_test). Every problem is a `LosslabError` with one line that names the
file, what is wrong and how to fix it, raised before anything is trained or written.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from losslab import data as datasets
from losslab import models
from losslab.cli.user_code import (
    USER_MODULE_PREFIX,
    describe_exception,
    exit_code,
    importable_folder,
    user_code,
)
from losslab.data.dataset import CLASSIFICATION, REGRESSION, Dataset
from losslab.errors import LosslabError
from losslab.objectives.adapters import check_materialized, check_real

LOSSES = ("cross_entropy", "mse", "bce")
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")


@dataclass(frozen=True)
class ModelSource:
    """What --model names: a built-in (`name`) or a factory in a Python file (`path`)."""

    text: str
    name: str | None = None
    path: Path | None = None
    factory: str | None = None

    @property
    def builtin(self) -> bool:
        return self.name is not None

    @property
    def label(self) -> str:
        """'mlp' or 'net.py:make_net', for titles and metadata."""
        return self.name if self.builtin else f"{self.path.name}:{self.factory}"


def parse_model(text: str) -> ModelSource:
    """'mlp' -> a built-in; 'path/net.py:make_net' -> a factory in a file.

    A name is checked against the built-ins (with a suggestion for a typo); a file must exist
    and end in .py, and the factory must be named after a ':'.
    """
    text = text.strip()
    head, sep, factory = text.rpartition(":")
    if sep and not head.lower().endswith(".py") and Path(head).is_file():
        _python_file(Path(head))  # an existing file that is not .py: say so
    if sep and head.lower().endswith(".py"):
        if not factory.isidentifier():
            raise LosslabError(
                f"--model {text!r}: {factory!r} is not a Python name; write "
                "path/to/file.py:factory, where factory() returns the nn.Module."
            )
        return ModelSource(text, path=_python_file(Path(head)), factory=factory)
    if text.lower().endswith(".py"):
        _python_file(Path(text))
        raise LosslabError(
            f"--model {text!r} names no factory: write {text}:factory, where factory() "
            "takes no arguments and returns the nn.Module."
        )
    if "/" in text or "\\" in text or (sep and "." in head):
        raise LosslabError(
            f"--model {text!r} is neither a built-in model nor path/to/file.py:factory "
            f"(built-ins: {', '.join(models.models())})."
        )
    models.describe_model(text)  # unknown name -> one line with the built-ins
    return ModelSource(text, name=text)


def _python_file(path: Path) -> Path:
    if not path.exists():
        raise LosslabError(f"model file '{path}' does not exist.")
    if not path.is_file():
        raise LosslabError(f"model file '{path}' is not a file.")
    if path.suffix.lower() != ".py":
        raise LosslabError(f"model file '{path}' is not a Python file (.py).")
    return path


# -- the user's model ---------------------------------------------------------------------------


def build_user_model(source: ModelSource) -> nn.Module:
    """Import the file by path and return `factory()`, which must be an nn.Module.

    The file and its factory are the user's code: whatever they raise, `sys.exit()` included,
    becomes one LosslabError that names the file, the function and the exception. Only
    Ctrl-C (KeyboardInterrupt) goes on as what it is, an interrupt. While the file is imported
    and its factory runs, the file's folder is first on sys.path (its sibling modules import).
    A model on the meta device or with un-materialized (Lazy) weights is refused.
    """
    with importable_folder(source.path.parent):
        model = _call_factory(source)
    label = f"{source.path.name}:{source.factory}"
    try:
        check_materialized(model)
    except LosslabError as error:
        raise LosslabError(f"{label} returned a model losslab cannot use: {error}") from None
    with user_code(label, "while listing its parameters"):
        trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise LosslabError(f"the model from {source.label} has no trainable parameters.")
    check_real(model=model)  # complex weights cannot make a real landscape
    return model


def user_width_factory(source: ModelSource):
    """`width -> nn.Module` from the user's file: its factory takes the width (e.g.
    `def make(width): return nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 3))`).
    The file is imported now (its folder first on sys.path); each call runs the factory as
    user code, and what it returns is checked as build_user_model checks it."""
    with importable_folder(source.path.parent):
        factory = _factory(source)
    label = f"{source.path.name}:{source.factory}"

    def make(width: int) -> nn.Module:
        rule = "a width factory takes the width and must return an nn.Module"
        with user_code(label, f"while building the model of width {width}", rule):
            model = factory(width)
        if not isinstance(model, nn.Module):
            raise LosslabError(
                f"{source.factory}({width}) in '{source.path}' returned a "
                f"{type(model).__name__}, must return a torch nn.Module."
            )
        try:
            check_materialized(model)
        except LosslabError as error:
            raise LosslabError(f"{label} returned a model losslab cannot use: {error}") from None
        check_real(model=model)
        return model

    return make


def _call_factory(source: ModelSource) -> nn.Module:
    """Import the file by path and return what `factory()` returns, checked to be a Module."""
    factory = _factory(source)
    path = source.path
    label = f"{path.name}:{source.factory}"
    rule = "a factory takes no arguments and must return an nn.Module"
    with user_code(label, "while building the model", rule):
        model = factory()
    if not isinstance(model, nn.Module):
        raise LosslabError(
            f"{source.factory}() in '{path}' returned a {type(model).__name__}, "
            "must return a torch nn.Module."
        )
    return model


def _factory(source: ModelSource):
    """Import the file by path and return its callable `factory` (not called)."""
    path = source.path
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"{USER_MODULE_PREFIX}{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LosslabError(f"model file '{path}' cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up here
    try:
        with user_code(f"model file '{path}'", "while being imported"):
            spec.loader.exec_module(module)
    except LosslabError:
        sys.modules.pop(module_name, None)
        raise
    label = f"{path.name}:{source.factory}"
    # A module-level __getattr__, and the attributes of what the module defines, are user code.
    with user_code(label, "while being looked up"):
        factory = getattr(module, source.factory, None)
        found = [] if factory is not None else _functions(module)
    if factory is None:
        raise LosslabError(
            f"model file '{path}' has no '{source.factory}'"
            + (f"; it defines {', '.join(found)}." if found else ".")
        )
    if not callable(factory):
        raise LosslabError(f"'{source.factory}' in '{path}' is not callable: give a function.")
    return factory


def _functions(module) -> list[str]:
    """The public callables a module defines itself (not those it imports), sorted."""
    return sorted(
        name
        for name, value in vars(module).items()
        if callable(value)
        and not name.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", None) == module.__name__
    )


def load_weights(model: nn.Module, path: Path) -> None:
    """Load a state dict saved with torch.save(model.state_dict(), path) into `model`,
    strictly: every key present, none extra, every shape equal. Only tensors are read
    (`weights_only=True`): a file that holds code is refused, not run."""
    if not path.exists():
        raise LosslabError(f"weights file '{path}' does not exist.")
    if not path.is_file():
        raise LosslabError(f"weights file '{path}' is not a file.")
    try:
        with warnings.catch_warnings():  # torch warns about unusual pickle protocols: the
            warnings.simplefilter("ignore")  # refusal below is the one line the user sees
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors all mean "not a weights file"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise LosslabError(
            f"weights file '{path}' is not a PyTorch state dict saved with "
            f"torch.save(model.state_dict(), path) ({type(error).__name__}"
            + (f": {reason[:160]}" if reason else "")
            + ")."
        ) from None
    if isinstance(state, Mapping):
        for key in _CHECKPOINT_KEYS:  # a checkpoint dict that wraps the state dict
            if isinstance(state.get(key), Mapping) and not isinstance(state.get(key), torch.Tensor):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise LosslabError(
            f"weights file '{path}' holds a {type(state).__name__}, not a state dict "
            "{name: tensor}: save it with torch.save(model.state_dict(), path)."
        )
    with user_code("the model", "while listing its state dict"):  # hooks are user code
        expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise LosslabError(
            f"weights file '{path}' does not fit the model: "
            f"missing {_few(missing) or 'none'}, unexpected {_few(unexpected) or 'none'}."
        )
    wrong = [
        f"{k} {tuple(state[k].shape)} vs the model's {tuple(v.shape)}"
        for k, v in expected.items()
        if isinstance(v, torch.Tensor) and tuple(state[k].shape) != tuple(v.shape)
    ]
    if wrong:
        raise LosslabError(f"weights file '{path}' does not fit the model: shape of {_few(wrong)}.")
    # load_state_dict would cast silently (complex to real with only a warning, float64 to
    # float32, floats into an integer counter): every tensor must be dense, of the model's dtype.
    sparse = [k for k, v in state.items() if v.layout != torch.strided]
    if sparse:
        raise LosslabError(
            f"weights file '{path}' holds sparse or quantized tensors ({_few(sparse)}): save "
            "dense tensors with torch.save(model.state_dict(), path)."
        )
    mismatched = [
        f"{k} ({_dtype(state[k])}; the model has {_dtype(v)})"
        for k, v in expected.items()
        if isinstance(v, torch.Tensor) and state[k].dtype != v.dtype
    ]
    if mismatched:
        raise LosslabError(
            f"weights file '{path}' does not fit the model: dtype of {_few(mismatched)} (save "
            "the weights from a model of the same dtype, or convert them before saving)."
        )
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise LosslabError(f"weights file '{path}' has NaN or inf in {_few(bad)}.")
    with user_code("the model", f"while loading the weights from '{path}'"):  # its hooks
        model.load_state_dict(state, strict=True)


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _few(items: list[str], n: int = 4) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


# -- data ---------------------------------------------------------------------------------------


def load_npz(path: Path, loss: str | None, *, name: str | None = None) -> Dataset:
    """A Dataset from an .npz with arrays X (N, ...) and y (N,) (and optionally X_test,
    y_test). Integer (or bool) labels make a classification set, float labels a regression
    set; the arrays must be finite and numeric. Integer X stays integer (int64: token ids
    for an nn.Embedding); float and bool X become float32."""
    if not path.exists():
        raise LosslabError(f"data file '{path}' does not exist.")
    if not path.is_file():
        raise LosslabError(f"data file '{path}' is not a file.")
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise LosslabError(
            f"data file '{path}' is not a NumPy .npz archive; save it with "
            "numpy.savez(path, X=X, y=y)."
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:  # zip, zlib, header and pickle errors: none is the user's fault
        raise _unreadable(path, error) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise LosslabError(
            f"data file '{path}' holds one array, not an .npz archive of X and y: save it "
            "with numpy.savez(path, X=X, y=y)."
        )
    with contextlib.closing(archive):
        keys = set(archive.files)
        if not {"X", "y"} <= keys:
            raise LosslabError(
                f"data file '{path}' has arrays {', '.join(sorted(keys)) or 'none'}; it needs X "
                "(N, features...) and y (N,): numpy.savez(path, X=X, y=y)."
            )
        try:
            arrays = {k: archive[k] for k in ("X", "y", "X_test", "y_test") if k in keys}
        except Exception as error:  # a damaged member, or object arrays that need pickle
            raise _unreadable(path, error) from None
    if ("X_test" in arrays) != ("y_test" in arrays):
        raise LosslabError(f"data file '{path}' has only one of X_test and y_test: give both.")
    X, y = _check_pair(path, arrays["X"], arrays["y"], "X", "y")
    if "X_test" in arrays:
        X_test, y_test = _check_pair(path, arrays["X_test"], arrays["y_test"], "X_test", "y_test")
        if X_test.shape[1:] != X.shape[1:]:
            raise LosslabError(
                f"data file '{path}': X_test has samples of shape {X_test.shape[1:]}, X has "
                f"{X.shape[1:]}."
            )
    else:
        X_test, y_test = X[:0], y[:0]
    classification = y.dtype.kind in "biu"
    if loss == "cross_entropy" and not classification:
        if not np.all(np.concatenate([y, y_test]) == np.round(np.concatenate([y, y_test]))):
            raise LosslabError(
                f"data file '{path}': --loss cross_entropy needs class labels 0..C-1 in y, "
                "not float targets; use --loss mse for regression."
            )
        classification = True
    labels = np.concatenate([y, y_test])
    if classification and (labels < 0).any():
        raise LosslabError(f"data file '{path}': class labels in y must be >= 0.")
    label_dtype = torch.int64 if classification else torch.float32
    n_classes = int(labels.max()) + 1 if classification and len(labels) else 0

    input_dtype = torch.int64 if X.dtype.kind in "iu" else torch.float32

    def tensor(array, dtype):
        return torch.as_tensor(np.ascontiguousarray(array)).to(dtype)

    return Dataset(
        name=name or path.stem,
        X_train=tensor(X, input_dtype),
        y_train=tensor(y, label_dtype),
        X_test=tensor(X_test, input_dtype),
        y_test=tensor(y_test, label_dtype),
        task=CLASSIFICATION if classification else REGRESSION,
        n_classes=n_classes,
        feature_shape=tuple(X.shape[1:]),
        description=f"user data from {path.name}",
    )


def _unreadable(path: Path, error: Exception) -> LosslabError:
    """Why numpy could not read the archive, in one line: pickle (object arrays, never
    unpickled), or damage (a bad zip, CRC or header, a truncated member)."""
    if isinstance(error, ValueError) and "allow_pickle" in str(error):
        return LosslabError(
            f"data file '{path}' cannot be read without unpickling ({error}); save numeric "
            "arrays with numpy.savez(path, X=X, y=y)."
        )
    return LosslabError(
        f"data file '{path}' is not a readable NumPy .npz archive "
        f"({describe_exception(error)}); save it with numpy.savez(path, X=X, y=y)."
    )


def _check_pair(path: Path, X: np.ndarray, y: np.ndarray, xname: str, yname: str):
    for label, array in ((xname, X), (yname, y)):
        if array.dtype.kind not in "biuf":
            raise LosslabError(
                f"data file '{path}': {label} has dtype {array.dtype}, must be numbers."
            )
    if X.ndim < 2:
        raise LosslabError(
            f"data file '{path}': {xname} has shape {X.shape}, must be (N, features...) with "
            "one row per sample (reshape a single feature to (N, 1))."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise LosslabError(f"data file '{path}': {yname} has shape {y.shape}, must be (N,).")
    if len(X) != len(y):
        raise LosslabError(
            f"data file '{path}': {xname} has {len(X)} samples but {yname} has {len(y)}."
        )
    if len(X) == 0 and xname == "X":
        raise LosslabError(f"data file '{path}': X has no samples.")
    for label, array in ((xname, X), (yname, y)):
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            count = int((~np.isfinite(array)).sum())
            raise LosslabError(
                f"data file '{path}': {label} has {count} NaN or inf value(s); remove or "
                "impute them first."
            )
    return X, y


# -- built-ins ----------------------------------------------------------------------------------


def load_builtin_data(dataset: str, model: ModelSource, *, seed: int, n_samples=None) -> Dataset:
    """The built-in data set, as images when the model is the CNN (only digits has images;
    for any other set the CNN is refused by models.build with the reason)."""
    images = model.builtin and model.name == "cnn" and dataset == "digits"
    return datasets.load_dataset(dataset, seed=seed, n_samples=n_samples, images=images)


def check_fit(model: nn.Module, data: Dataset, loss: str | None, label: str) -> str:
    """Run the model on two training samples to catch a shape mismatch up front, and return
    the loss to use (--loss, or the one the data and output imply)."""
    x = data.X_train[:2]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            output = model(x)
    except KeyboardInterrupt:
        raise
    except SystemExit as error:  # the user's forward: report it, do not exit
        raise LosslabError(
            f"the model {label} called sys.exit({exit_code(error)}) in its forward: "
            "forward must return the outputs."
        ) from None
    except BaseException as error:
        hint = (
            "; X holds integers, kept as int64 for embeddings: save float X "
            "(X.astype('float32')) for a model that takes real numbers"
            if not x.is_floating_point()
            else ""
        )
        raise LosslabError(
            f"the model {label} does not accept samples of shape {tuple(x.shape[1:])} from "
            f"the data: {describe_exception(error)}{hint}"
        ) from None
    finally:
        for module, mode in modes:
            module.training = mode
    if not isinstance(output, torch.Tensor):
        raise LosslabError(f"the model {label} returns a {type(output).__name__}, not a tensor.")
    one_output = output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1)
    if loss is None:  # what losslab.train would pick, decided here to check it up front
        loss = "mse" if data.task == REGRESSION else "bce" if one_output else "cross_entropy"
    if loss == "cross_entropy":
        if data.task != CLASSIFICATION:
            raise LosslabError("--loss cross_entropy needs class labels; the data has targets.")
        if output.ndim != 2 or output.shape[1] < max(data.n_classes, 2):
            raise LosslabError(
                f"--loss cross_entropy: the model {label} returns shape {tuple(output.shape)}, "
                f"needs (N, {max(data.n_classes, 2)}) logits for {data.n_classes} classes."
            )
    else:
        if not one_output:
            raise LosslabError(
                f"--loss {loss}: the model {label} returns shape {tuple(output.shape)}, needs "
                "one output per sample, (N,) or (N, 1)."
            )
        if loss == "bce":
            labels = torch.cat([data.y_train, data.y_test])
            if ((labels != 0) & (labels != 1)).any():
                raise LosslabError("--loss bce needs labels 0 or 1 in y.")
    return loss
