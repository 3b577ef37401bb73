"""Exact comparison of results, shared by the codec tests and the CLI file tests."""

from __future__ import annotations

import math

import numpy as np
import torch

from losslab.results import Result


def assert_same(a, b, where="result"):
    """Exact equality, dtype included; NaN equals NaN; a list equals the tuple it loads as;
    fields in the same order."""
    if isinstance(a, Result):
        assert type(a) is type(b), where
        fields_a, fields_b = a.to_fields(), b.to_fields()
        assert list(fields_a) == list(fields_b), where
        for name in fields_a:
            assert_same(fields_a[name], fields_b[name], f"{where}.{name}")
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert a.shape == b.shape and torch.equal(a.isnan(), b.isnan()), where
        assert torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)), where
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, tuple | list):
        assert isinstance(b, tuple | list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where  # files may sort keys
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} != {b!r}"
