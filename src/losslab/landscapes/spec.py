"""What makes two landscape computations "the same": the spec and its hash.

A resumed run may only continue a file made by the same computation. The spec is a small dict
of digests, one per component a user could change, so a mismatch can be named:

    coords      the grid (span and resolution), float64 bytes
    origin      the origin vector, float64 bytes
    directions  the (k, n_params) direction matrix, float64 bytes
    metrics     the metric names asked for
    objective   objective.describe() (model fingerprint, data, loss...), canonical JSON,
                less the keys in VOLATILE (where it ran, not what it computes)

`spec_hash` is the SHA-256 of the canonical JSON of that dict. Metadata that does not change
the numbers (creation time, losslab version, progress callbacks, chunk size) is not in it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from losslab.errors import LosslabError

COMPONENTS = ("coords", "origin", "directions", "metrics", "objective")
# describe() keys that do not change what is computed: a run started on a GPU may be resumed on
# the CPU (values then agree to rounding, not bit for bit).
VOLATILE = frozenset({"device"})


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal strings."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError) as error:
        raise LosslabError(f"metadata is not plain JSON data: {error}") from None


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 of float64 little-endian bytes and shapes of the arrays."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array, dtype="<f8")
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def slice_spec(
    coords: Sequence[np.ndarray],
    origin: np.ndarray,
    directions: np.ndarray,
    metrics: Sequence[str],
    objective: Mapping[str, Any],
) -> dict[str, Any]:
    """The spec dict (component -> digest or plain value)."""
    return {
        "coords": array_digest(*coords),
        "origin": array_digest(origin),
        "directions": array_digest(directions),
        "metrics": list(metrics),
        "objective": hashlib.sha256(canonical_json(_stable(objective)).encode()).hexdigest(),
    }


def _stable(description: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in description.items() if k not in VOLATILE}


def spec_hash(spec: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(spec)).encode()).hexdigest()


def differences(
    stored_spec: Mapping[str, Any],
    stored_metadata: Mapping[str, Any],
    spec: Mapping[str, Any],
    metadata: Mapping[str, Any],
) -> list[str]:
    """Human-readable names of what differs, with details where the metadata knows them."""
    out = []
    for name in COMPONENTS:
        if stored_spec.get(name) == spec.get(name):
            continue
        if name == "coords":
            details = [
                f"{key} {stored_metadata.get(key)} -> {metadata.get(key)}"
                for key in ("span", "resolution")
                if stored_metadata.get(key) != metadata.get(key)
            ]
            out.append(f"coords ({'; '.join(details)})" if details else "coords")
        elif name == "metrics":
            out.append(f"metrics ({stored_spec.get(name)} -> {spec.get(name)})")
        elif name in ("objective", "directions"):
            # Name the describe() keys that changed: "objective (model_fingerprint)".
            old = _stable(stored_metadata.get(name) or {})
            new = _stable(metadata.get(name) or {})
            keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            out.append(f"{name} ({', '.join(keys)})" if keys else name)
        else:
            out.append(name)
    return out or ["spec"]
