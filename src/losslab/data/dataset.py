"""`Dataset`: a train/test split of features and labels as torch tensors, plus what it is."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from losslab import budget

CLASSIFICATION, REGRESSION = "classification", "regression"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A built-in data set, split and (optionally) standardized; see `load_dataset`.

    X_train: (n_train, *feature_shape) float32      X_test: (n_test, *feature_shape) float32
    y_train: (n_train,) int64 class labels 0..n_classes-1 for classification, float32 targets
             for regression                          y_test: (n_test,) likewise
    task: "classification" | "regression"; n_classes is 0 for regression.
    feature_shape: (n_features,) for a table, (1, 8, 8) for digits loaded with images=True.
    true_weights: (n_features,) the weights that generated the labels ("linear", "logistic"),
        in the ORIGINAL, unstandardized feature space; None for the other sets. They describe
        X_train exactly when `standardized` is False, the default for those two sets.
    feature_mean, feature_std: (*feature_shape,) training-split statistics used to standardize
        (X = (raw - mean) / std), or None when the features were left as generated or loaded.
    seed, test_fraction, noise: how it was made (noise is None for the bundled real sets).

    Equality is identity (tensors have no single truth value); compare `describe()` instead.
    """

    name: str
    X_train: Tensor
    y_train: Tensor
    X_test: Tensor
    y_test: Tensor
    task: str
    n_classes: int
    feature_shape: tuple[int, ...]
    description: str
    true_weights: Tensor | None = None
    feature_mean: Tensor | None = None
    feature_std: Tensor | None = None
    seed: int = 0
    test_fraction: float = 0.25
    noise: float | None = None

    def __post_init__(self):
        if self.task == CLASSIFICATION:
            check_class_count(self.name, self.n_classes, self.n_train + self.n_test)

    @property
    def train(self) -> tuple[Tensor, Tensor]:
        """(X_train, y_train)."""
        return self.X_train, self.y_train

    @property
    def test(self) -> tuple[Tensor, Tensor]:
        """(X_test, y_test)."""
        return self.X_test, self.y_test

    @property
    def n_features(self) -> int:
        """Numbers per sample: 64 for digits, flat or as images."""
        return math.prod(self.feature_shape)

    @property
    def n_train(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        return self.X_test.shape[0]

    @property
    def standardized(self) -> bool:
        return self.feature_mean is not None

    def fingerprint(self) -> str:
        """First 16 hex digits of a sha256 over the four tensors: same numbers, same print."""
        return tensor_fingerprint(self.X_train, self.y_train, self.X_test, self.y_test)

    def describe(self) -> dict[str, Any]:
        """Plain JSON metadata for result files: what data a run or landscape was made on."""
        return {
            "name": self.name,
            "task": self.task,
            "n_classes": self.n_classes,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "feature_shape": list(self.feature_shape),
            "seed": self.seed,
            "test_fraction": self.test_fraction,
            "noise": self.noise,
            "standardized": self.standardized,
            "fingerprint": self.fingerprint(),
        }

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, {self.task}, n_train={self.n_train}, n_test={self.n_test}, "
            f"feature_shape={self.feature_shape}, n_classes={self.n_classes})"
        )


def tensor_fingerprint(*tensors: Tensor) -> str:
    """sha256 over dtypes, shapes and bytes of the tensors, cut to 16 hex digits."""
    digest = hashlib.sha256()
    for tensor in tensors:
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:16]


def check_class_count(name: str, n_classes: int, n_samples: int) -> None:
    """Refuse a number of classes whose logits would not fit: a network holds (N, n_classes)
    float32 logits, their softmax (or a one-hot target) and their gradient, N = n_samples.
    One label of 2**31 - 1 makes 2**31 classes."""

    def cost(classes: int) -> int:
        return 3 * n_samples * classes * budget.FLOAT32

    detail = (
        f"{n_samples} samples x {n_classes} classes x 3 float32 numbers: logits, softmax "
        "and gradient; the classes are the largest label + 1"
    )
    budget.require_memory(f"dataset '{name}'", "n_classes", n_classes, cost, detail)
