"""Generated data sets: scikit-learn's 2-D toys and two sets drawn from a known linear model.

Each generator takes (n_samples, n_features, noise, seed) and returns numpy arrays
X: (n_samples, n_features) float64, y: (n_samples,) and the true weights (or None).
Everything is drawn from generators seeded by `seed`, so a set is the same bit for bit.

"linear" and "logistic" features are Gaussian with unit variance and correlation
0.5^|i - j| between features i and j: already on the standardized scale, so the weights
that made the labels are the weights of the model, and the MSE bowl in (w1, w2) is tilted
(condition number 3 for 2 features) rather than round.

scikit-learn is imported inside the functions that use it: it takes seconds to import, and
`import losslab` should not pay for data nobody asked for.
"""

from __future__ import annotations

import numpy as np

CORRELATION = 0.5


def true_weights(n_features: int) -> np.ndarray:
    """(n_features,) = 2, -1, 0.5, -0.25, ...: the known weights of "linear" and "logistic"."""
    return 2.0 * (-0.5) ** np.arange(n_features)


def correlated_features(n_samples: int, n_features: int, rng: np.random.Generator) -> np.ndarray:
    """(n_samples, n_features) Gaussian rows, unit variances, corr(i, j) = 0.5^|i - j|."""
    index = np.arange(n_features)
    covariance = CORRELATION ** np.abs(index[:, None] - index[None, :])
    return rng.standard_normal((n_samples, n_features)) @ np.linalg.cholesky(covariance).T


def linear(n_samples: int, n_features: int, noise: float, seed: int):
    """y = X @ w_true + noise * N(0, 1), no bias: the exact bowl of least squares."""
    rng = np.random.default_rng(seed)
    w = true_weights(n_features)
    X = correlated_features(n_samples, n_features, rng)
    y = X @ w + noise * rng.standard_normal(n_samples)
    return X, y, w


def logistic(n_samples: int, n_features: int, noise: float, seed: int):
    """Labels drawn from P(y = 1 | x) = sigmoid(x @ w_true); `noise` is unused (always 0)."""
    del noise
    rng = np.random.default_rng(seed)
    w = true_weights(n_features)
    X = correlated_features(n_samples, n_features, rng)
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    y = (rng.random(n_samples) < p).astype(np.int64)
    return X, y, w


def moons(n_samples: int, n_features: int, noise: float, seed: int):
    X, y = _sklearn().make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return X, y, None


def circles(n_samples: int, n_features: int, noise: float, seed: int):
    X, y = _sklearn().make_circles(n_samples=n_samples, noise=noise, factor=0.5, random_state=seed)
    return X, y, None


def blobs(n_samples: int, n_features: int, noise: float, seed: int):
    """Three Gaussian clusters; `noise` is the cluster standard deviation."""
    X, y = _sklearn().make_blobs(
        n_samples=n_samples,
        n_features=n_features,
        centers=3,
        cluster_std=noise,
        random_state=seed,
    )
    return X, y, None


def _sklearn():
    from sklearn import datasets

    return datasets
