"""Built-in data: splits are partitions, deterministic by seed; standardization uses the
training split only; generated sets follow their known models; errors name the fix."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from sklearn import datasets as sk

from losslab.data import Dataset, datasets, load_dataset
from losslab.errors import LosslabError

pytestmark = pytest.mark.usefixtures("one_thread")


REAL = {"digits": (1797, 64, 10), "iris": (150, 4, 3), "breast_cancer": (569, 30, 2)}
REAL["wine"] = (178, 13, 3)


def test_the_list_of_datasets():
    assert datasets()[:4] == ["digits", "iris", "breast_cancer", "wine"]
    assert {"moons", "circles", "blobs", "linear", "logistic"} <= set(datasets())


@pytest.mark.parametrize("name", datasets())
def test_every_dataset_has_consistent_tensors(name):
    data = load_dataset(name)
    assert isinstance(data, Dataset) and data.name == name and data.description
    assert data.X_train.dtype == data.X_test.dtype == torch.float32
    assert data.X_train.shape[1:] == data.X_test.shape[1:] == data.feature_shape
    assert data.y_train.shape == (data.n_train,) and data.y_test.shape == (data.n_test,)
    assert data.train == (data.X_train, data.y_train) and data.test == (data.X_test, data.y_test)
    assert data.n_features == data.feature_shape[0]
    if data.task == "classification":
        assert data.y_train.dtype == torch.int64 and data.n_classes >= 2
        labels = set(range(data.n_classes))
        # stratified: every class on both sides of the split
        assert set(data.y_train.tolist()) == labels == set(data.y_test.tolist())
    else:
        assert data.task == "regression" and data.n_classes == 0
        assert data.y_train.dtype == torch.float32
    n_total = REAL[name][0] if name in REAL else 500
    assert data.n_train + data.n_test == n_total
    assert data.n_test == int(np.ceil(0.25 * n_total))
    if name in REAL:
        assert (data.n_features, data.n_classes) == REAL[name][1:]
    assert json.loads(json.dumps(data.describe()))["fingerprint"] == data.fingerprint()


def test_a_split_is_a_partition_of_the_real_data():
    data = load_dataset("wine", standardize=False, seed=3)
    both = torch.cat([data.X_train, data.X_test]).double().numpy()
    labels = torch.cat([data.y_train, data.y_test]).numpy()
    bunch = sk.load_wine()
    order, expected = np.lexsort(both.T), np.lexsort(bunch.data.T)
    np.testing.assert_allclose(both[order], bunch.data[expected], rtol=1e-6)
    np.testing.assert_array_equal(labels[order], bunch.target[expected])


def test_splits_are_deterministic_by_seed_and_differ_across_seeds():
    first, again, other = (load_dataset("iris", seed=s) for s in (7, 7, 8))
    for field in ("X_train", "y_train", "X_test", "y_test"):
        assert torch.equal(getattr(first, field), getattr(again, field))
    assert first.fingerprint() == again.fingerprint() != other.fingerprint()
    assert not torch.equal(first.X_test, other.X_test)


def test_generated_sets_are_drawn_from_the_seed():
    a, b, c = (load_dataset("moons", seed=s) for s in (1, 1, 2))
    assert torch.equal(a.X_train, b.X_train) and a.fingerprint() == b.fingerprint()
    assert not torch.equal(a.X_train, c.X_train)


def test_standardization_uses_training_statistics_only():
    data = load_dataset("breast_cancer", seed=2)
    raw = load_dataset("breast_cancer", seed=2, standardize=False)
    X = data.X_train.double()
    assert X.mean(0).abs().max() < 1e-5
    assert (X.std(0, unbiased=False) - 1).abs().max() < 1e-5
    mean, std = raw.X_train.double().mean(0), raw.X_train.double().std(0, unbiased=False)
    torch.testing.assert_close(data.feature_mean.double(), mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(data.feature_std.double(), std, rtol=1e-6, atol=1e-6)
    # the test split is scaled by the training statistics, so it is not exactly centred
    expected = (raw.X_test.double() - mean) / std
    torch.testing.assert_close(data.X_test.double(), expected, rtol=1e-5, atol=1e-5)
    assert data.X_test.double().mean(0).abs().max() > 1e-3
    assert data.standardized and not raw.standardized and raw.feature_mean is None


def test_constant_pixels_are_centred_not_divided_by_zero():
    data = load_dataset("digits")
    assert torch.isfinite(data.X_train).all() and torch.isfinite(data.X_test).all()
    constant = data.feature_std == 1
    assert constant.any()  # digits has blank corner pixels


def test_digits_as_images_are_the_same_numbers():
    flat = load_dataset("digits", seed=4)
    images = load_dataset("digits", seed=4, images=True)
    assert images.feature_shape == (1, 8, 8) and images.n_features == 64
    assert images.X_train.shape == (flat.n_train, 1, 8, 8)
    assert torch.equal(images.X_train.reshape(flat.n_train, 64), flat.X_train)
    assert torch.equal(images.y_test, flat.y_test)
    assert images.feature_mean.shape == (1, 8, 8)


def test_linear_regression_data_follow_the_true_weights():
    data = load_dataset("linear", n_samples=4000, noise=0.3, test_fraction=0.5)
    assert not data.standardized  # features already unit-variance; weights stay meaningful
    assert torch.equal(data.true_weights, torch.tensor([2.0, -1.0]))
    X, y = data.train
    residual = y - X @ data.true_weights
    assert abs(residual.mean()) < 0.03 and abs(residual.std() - 0.3) < 0.02
    assert (X.std(0) - 1).abs().max() < 0.06  # roughly standardized as generated
    correlation = torch.corrcoef(X.T)[0, 1]
    assert abs(correlation - 0.5) < 0.05
    wide = load_dataset("linear", n_features=4)
    assert wide.true_weights.tolist() == [2.0, -1.0, 0.5, -0.25]
    # explicitly standardized: the weights stay those of the raw features
    scaled = load_dataset("linear", standardize=True)
    assert scaled.standardized and torch.equal(scaled.true_weights, data.true_weights)


def test_logistic_labels_follow_the_logistic_model():
    data = load_dataset("logistic", n_samples=6000)
    X, y = data.train
    p = torch.sigmoid(X @ data.true_weights)
    # mean label agrees with the mean model probability, and within bins of p
    assert abs(y.float().mean() - p.mean()) < 0.03
    high, low = p > 0.8, p < 0.2
    assert y[high].float().mean() > 0.8 and y[low].float().mean() < 0.2


def test_noise_changes_generated_sets():
    calm = load_dataset("linear", noise=0.0)
    X, y = calm.train
    torch.testing.assert_close(y, X @ calm.true_weights, rtol=1e-5, atol=1e-5)
    assert load_dataset("blobs", noise=0.5).noise == 0.5


def test_subsampling_a_real_set():
    data = load_dataset("digits", n_samples=200, seed=1)
    assert data.n_train + data.n_test == 200
    assert set(data.y_train.tolist()) == set(range(10))
    assert load_dataset("digits", n_samples=200, seed=1).fingerprint() == data.fingerprint()


def test_no_test_split():
    data = load_dataset("iris", test_fraction=0)
    assert data.n_train == 150 and data.X_test.shape == (0, 4) and data.y_test.shape == (0,)


def test_a_dataset_is_frozen():
    data = load_dataset("iris")
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.name = "other"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "digts"}, "unknown dataset 'digts'.*Did you mean 'digits'"),
        ({"name": "mons"}, "Did you mean 'moons'"),
        ({"name": "iris", "test_fraction": 1.0}, r"test_fraction == 1.0, must be .*\[0, 1\)"),
        ({"name": "iris", "test_fraction": -0.1}, "test_fraction == -0.1"),
        ({"name": "iris", "seed": -1}, "seed == -1"),
        ({"name": "iris", "images": True}, "only 'digits' can be loaded as images"),
        ({"name": "iris", "noise": 0.1}, "real data set and takes no noise"),
        ({"name": "wine", "n_features": 3}, "takes no n_features"),
        ({"name": "iris", "n_samples": 151}, "n_samples == 151, 'iris' has only 150"),
        ({"name": "iris", "n_samples": 2}, "too few to keep all 3 classes"),
        ({"name": "moons", "n_features": 3}, "exists only in 2-D"),
        ({"name": "moons", "noise": -1.0}, "noise == -1.0"),
        ({"name": "logistic", "noise": 0.1}, "'logistic' takes no noise"),
        ({"name": "linear", "n_samples": 1}, "n_samples == 1, must be an integer >= 2"),
        ({"name": "iris", "test_fraction": 0.01}, "too few"),
        ({"name": "iris", "standardize": "yes"}, "standardize == 'yes'"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, match):
    with pytest.raises(LosslabError, match=match) as error:
        load_dataset(**kwargs)
    assert "\n" not in str(error.value)
