"""Built-in data: scikit-learn's bundled real sets and generated ones, split and standardized.

Nothing is downloaded: "digits", "iris", "breast_cancer" and "wine" ship inside
scikit-learn; the others are generated from `seed`.

    >>> data = load_dataset("digits", images=True)
    >>> data.X_train.shape, data.y_train.dtype
    (torch.Size([1347, 1, 8, 8]), torch.int64)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from losslab import budget
from losslab._checks import check_count, check_fraction, check_non_negative, check_seed
from losslab.data import generated
from losslab.data.dataset import CLASSIFICATION, REGRESSION, Dataset
from losslab.errors import LosslabError


@dataclass(frozen=True)
class _Spec:
    description: str
    task: str
    make: Callable | str  # bundled: a sklearn.datasets loader's name; generated: a function
    #                       (n_samples, n_features, noise, seed) -> X, y, true weights
    generated: bool = False
    n_samples: int | None = None  # default size of a generated set
    noise: float | None = None  # default noise of a generated set; None: takes no noise
    n_features: int | None = None  # default width of a generated set
    fixed_width: bool = True  # a generated set that only exists in 2-D
    standardize: bool = True  # what standardize=None means for this set


_SPECS: dict[str, _Spec] = {
    "digits": _Spec(
        "8x8 grey-scale handwritten digits 0-9 (1797 samples, 64 pixels, 10 classes)",
        CLASSIFICATION,
        "load_digits",
    ),
    "iris": _Spec(
        "iris flowers: 4 measurements, 3 species (150 samples)", CLASSIFICATION, "load_iris"
    ),
    "breast_cancer": _Spec(
        "Wisconsin breast cancer: 30 cell-nucleus features, benign or malignant (569 samples)",
        CLASSIFICATION,
        "load_breast_cancer",
    ),
    "wine": _Spec(
        "wine cultivars: 13 chemical measurements, 3 classes (178 samples)",
        CLASSIFICATION,
        "load_wine",
    ),
    "moons": _Spec(
        "two interleaving half circles in 2-D, 2 classes; noise = std of the jitter",
        CLASSIFICATION,
        generated.moons,
        generated=True,
        n_samples=500,
        noise=0.1,
        n_features=2,
    ),
    "circles": _Spec(
        "a small circle inside a large one in 2-D, 2 classes; noise = std of the jitter",
        CLASSIFICATION,
        generated.circles,
        generated=True,
        n_samples=500,
        noise=0.05,
        n_features=2,
    ),
    "blobs": _Spec(
        "three Gaussian clusters, 3 classes; noise = cluster std",
        CLASSIFICATION,
        generated.blobs,
        generated=True,
        n_samples=500,
        noise=1.0,
        n_features=2,
        fixed_width=False,
    ),
    "linear": _Spec(
        "linear regression y = X @ true_weights + noise * N(0, 1), no bias, "
        "unit-variance features (not re-standardized)",
        REGRESSION,
        generated.linear,
        generated=True,
        n_samples=500,
        noise=0.5,
        n_features=2,
        fixed_width=False,
        standardize=False,
    ),
    "logistic": _Spec(
        "binary labels drawn from P(y=1|x) = sigmoid(x @ true_weights), no bias, "
        "unit-variance features (not re-standardized)",
        CLASSIFICATION,
        generated.logistic,
        generated=True,
        n_samples=500,
        n_features=2,
        fixed_width=False,
        standardize=False,
    ),
}


def datasets() -> list[str]:
    """Names of the built-in data sets: the bundled real ones first, then the generated."""
    return list(_SPECS)


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    test_fraction: float = 0.25,
    n_samples: int | None = None,
    noise: float | None = None,
    n_features: int | None = None,
    standardize: bool | None = None,
    images: bool = False,
) -> Dataset:
    """A built-in data set, split into train and test, as torch tensors.

    seed: draws the generated samples and the split (stratified by class for classification);
        the same seed gives the same tensors bit for bit.
    test_fraction: share of samples held out, in [0, 1); 0 leaves the test tensors empty.
    n_samples: size of a generated set (default 500), or a seeded stratified subsample of a
        real one (default: all of it).
    noise: the generated set's noise (see `datasets()` descriptions); real sets take none.
    n_features: width of "linear", "logistic" or "blobs" (default 2).
    standardize: scale every feature to mean 0, std 1 using the TRAINING split's statistics
        (constant features are only centred). None (default) means True for every set except
        "linear" and "logistic", whose generated features are already unit-variance and whose
        `true_weights` must stay the weights of the model.
    images: digits only: X of shape (N, 1, 8, 8), the same numbers as the flat (N, 64).
    """
    spec = _spec(name)
    seed = check_seed(seed)
    test_fraction = check_fraction("test_fraction", test_fraction)
    if not isinstance(images, bool) or (images and name != "digits"):
        raise LosslabError(f"images == {images!r}: only 'digits' can be loaded as images.")
    if standardize is not None and not isinstance(standardize, bool):
        raise LosslabError(f"standardize == {standardize!r}, must be True, False or None.")
    standardize = spec.standardize if standardize is None else standardize

    if spec.generated:
        X, y, weights, noise = _generate(name, spec, n_samples, noise, n_features, seed)
    else:
        for option, value in (("noise", noise), ("n_features", n_features)):
            if value is not None:
                raise LosslabError(
                    f"{option} == {value!r}: '{name}' is a real data set and takes no {option}; "
                    f"only generated sets do ({', '.join(_generated_names())})."
                )
        from sklearn import datasets as sk  # slow to import: only when a real set is loaded

        bunch = getattr(sk, spec.make)()
        X, y, weights = bunch.data, bunch.target, None
        if n_samples is not None:
            X, y = _subsample(name, X, y, n_samples, seed)

    X_train, X_test, y_train, y_test = _split(name, spec.task, X, y, test_fraction, seed)
    mean = std = None
    if standardize:
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant pixel is centred, not blown up
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

    feature_shape = (1, 8, 8) if images else (X.shape[1],)

    def features(array):
        return torch.as_tensor(array, dtype=torch.float32).reshape(-1, *feature_shape)

    label_dtype = torch.int64 if spec.task == CLASSIFICATION else torch.float32
    return Dataset(
        name=name,
        X_train=features(X_train),
        y_train=torch.as_tensor(y_train, dtype=label_dtype),
        X_test=features(X_test),
        y_test=torch.as_tensor(y_test, dtype=label_dtype),
        task=spec.task,
        n_classes=int(len(np.unique(y))) if spec.task == CLASSIFICATION else 0,
        feature_shape=feature_shape,
        description=spec.description,
        true_weights=None if weights is None else torch.as_tensor(weights, dtype=torch.float32),
        feature_mean=None if mean is None else features(mean)[0],
        feature_std=None if std is None else features(std)[0],
        seed=seed,
        test_fraction=test_fraction,
        noise=noise,
    )


def _generated_names() -> list[str]:
    return [name for name, spec in _SPECS.items() if spec.generated]


def _spec(name: str) -> _Spec:
    if isinstance(name, str) and name in _SPECS:
        return _SPECS[name]
    close = difflib.get_close_matches(str(name), datasets(), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise LosslabError(f"unknown dataset {name!r}: built-ins are {', '.join(datasets())}.{hint}")


def _generate(name, spec, n_samples, noise, n_features, seed):
    n_samples = spec.n_samples if n_samples is None else check_count("n_samples", n_samples, 2)
    if spec.noise is None and noise is not None:
        raise LosslabError(
            f"noise == {noise!r}: '{name}' takes no noise (its labels are already random draws)."
        )
    if spec.noise is not None:
        noise = spec.noise if noise is None else check_non_negative("noise", noise)
    if n_features is None:
        n_features = spec.n_features
    elif spec.fixed_width and n_features != spec.n_features:
        raise LosslabError(f"n_features == {n_features!r}: '{name}' exists only in 2-D.")
    else:
        n_features = check_count("n_features", n_features)
    _check_generated_size(name, n_samples, n_features)
    X, y, weights = spec.make(n_samples, n_features, noise, seed)
    return X, y, weights, noise


def _check_generated_size(name: str, n_samples: int, n_features: int) -> None:
    """A generated set holds n_samples x (n_features + 1) float64 numbers about 6 times while
    it is made: drawn, split, standardized, copied to float32 tensors. The suggestion bounds
    the larger of the two sizes."""
    copies = 6 * budget.FLOAT64
    if n_samples >= n_features:
        arg, value, cost = "n_samples", n_samples, lambda n: n * (n_features + 1) * copies
    else:
        arg, value, cost = "n_features", n_features, lambda f: n_samples * (f + 1) * copies
    detail = f"{n_samples} samples x {n_features + 1} numbers x 6 float64 copies"
    budget.require_memory(f"dataset '{name}'", arg, value, cost, detail, minimum=2)


def _subsample(name, X, y, n_samples, seed):
    from sklearn.model_selection import train_test_split

    n_samples = check_count("n_samples", n_samples, 2)
    if n_samples > len(X):
        raise LosslabError(
            f"n_samples == {n_samples}, '{name}' has only {len(X)}: give at most {len(X)}."
        )
    if n_samples == len(X):
        return X, y
    try:
        X, _, y, _ = train_test_split(
            X, y, train_size=n_samples, stratify=y, random_state=seed, shuffle=True
        )
    except ValueError:
        n_classes = len(np.unique(y))
        raise LosslabError(
            f"n_samples == {n_samples} is too few to keep all {n_classes} classes of '{name}'; "
            f"give at least {n_classes}."
        ) from None
    return X, y


def _split(name, task, X, y, test_fraction, seed):
    """A seeded split; stratified for classification so every class is on both sides."""
    from sklearn.model_selection import train_test_split

    if test_fraction == 0:
        return X, X[:0], y, y[:0]
    n_test = math.ceil(test_fraction * len(X))
    try:
        return train_test_split(
            X,
            y,
            test_size=n_test,
            stratify=y if task == CLASSIFICATION else None,
            random_state=seed,
            shuffle=True,
        )
    except ValueError:
        raise LosslabError(
            f"test_fraction == {test_fraction} leaves {n_test} of {len(X)} samples of '{name}' "
            "for testing, too few (or too many) to hold every class on both sides; "
            "change test_fraction or n_samples."
        ) from None
