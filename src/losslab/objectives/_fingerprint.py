"""sha256 fingerprints of a model's weights and of data, for result metadata and resumes."""

from __future__ import annotations

import hashlib
import json

import torch
from torch import Tensor

from losslab.params import ParamLayout


def model_fingerprint(layout: ParamLayout, dtype: torch.dtype, origin: Tensor) -> str:
    """sha256 of the parameter layout (names and shapes), the dtype and the origin's bytes."""
    digest = hashlib.sha256()
    names_shapes = {"names": list(layout.names), "shapes": list(layout.shapes)}
    digest.update(json.dumps(names_shapes, sort_keys=True).encode())
    digest.update(str(dtype).encode())
    _hash_tensor(digest, origin)
    return digest.hexdigest()


def data_fingerprint(*tensors: Tensor) -> str:
    """sha256 of each tensor's dtype, shape and bytes, in order."""
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        _hash_tensor(digest, tensor)
    return digest.hexdigest()


def _hash_tensor(digest, tensor: Tensor) -> None:
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    # hashlib reads the array's buffer in place: tobytes() would copy the whole data first.
    digest.update(flat.view(torch.uint8).numpy() if flat.numel() else b"")
