"""Built-in data sets as torch tensors: scikit-learn's bundled real sets and generated ones."""

from losslab.data.dataset import Dataset
from losslab.data.datasets import datasets, load_dataset

__all__ = ["Dataset", "datasets", "load_dataset"]
