"""Kernels that second derivatives can go through.

torch's fused attention kernels (flash attention on CPU and CUDA, memory-efficient attention)
have first derivatives only: a Hessian-vector product through `scaled_dot_product_attention`
or `nn.MultiheadAttention` fails with "derivative for aten::_scaled_dot_product_flash_
attention_for_cpu_backward is not implemented", and forward-mode rules are missing too.
Under `twice_differentiable()` attention runs as the plain composite of matmuls and softmax
("math"), whose derivatives of any order exist. It is exact (the fused kernels compute the
same function), slower, and only used where second derivatives are taken.

torch keeps the kernel choice in process-wide flags: concurrent threads share it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch.nn.attention import SDPBackend, sdpa_kernel


@contextlib.contextmanager
def twice_differentiable() -> Iterator[None]:
    """Attention as the math composite while inside (see the module docstring)."""
    with sdpa_kernel([SDPBackend.MATH]):
        yield
