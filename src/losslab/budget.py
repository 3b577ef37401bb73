"""What a call will cost, checked before it starts: memory from the shapes, caps for time.

Every size a user gives (a resolution, a width, a number of steps or classes) is priced here
from the shapes of the tensors the call will hold, and refused in one line when it does not
fit, BEFORE anything of that size is allocated:

    basins resolution == 100000 needs about 2.2 TB (1e+10 starts x 28 float64 numbers each);
    this machine has 20 GB available: use resolution <= 9449.

`require_memory` compares a cost in bytes with the memory this machine has available now
(`available_memory`: /proc/meminfo's MemAvailable, else os.sysconf; the environment variable
LOSSLAB_MEMORY_BYTES overrides both, for tests and for sharing a machine). `require_at_most`
is a hard cap where the cost is time, not memory (steps, grid points, layers).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from losslab.errors import LosslabError

MEMORY_ENV = "LOSSLAB_MEMORY_BYTES"  # an integer number of bytes: overrides what is measured
FLOAT64, FLOAT32 = 8, 4

# Caps where the cost is time: what a lab can run in minutes to hours, not years.
MAX_STEPS = 10_000_000  # optimizer steps per run (descend, race, basins)
MAX_GRID_POINTS = 100_000_000  # points of one landscape or basin grid (10^4 x 10^4)
MAX_DEPTH = 1_000  # hidden layers (mlp) or convolutions (cnn) of a built-in model
# A model parameter costs more than its float32 weight: its gradient and up to two optimizer
# moments (float32), and a landscape's origin and two slice directions (float64).
BYTES_PER_PARAMETER = 4 * FLOAT32 + 3 * FLOAT64


def available_memory() -> int:
    """Bytes of memory this process can use now, without swapping."""
    override = os.environ.get(MEMORY_ENV)
    if override is not None:
        try:
            return int(override)
        except ValueError:
            raise LosslabError(
                f"{MEMORY_ENV} == {override!r}, must be an integer number of bytes."
            ) from None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 1 << 40  # cannot tell (no /proc, no sysconf): let the caller try


def require_memory(
    what: str,
    name: str,
    value: int,
    cost: Callable[[int], int],
    detail: str,
    *,
    minimum: int = 1,
    at_most: int | None = None,
    shown=None,
) -> None:
    """Refuse `name == value` when `cost(value)` bytes exceed the available memory.

    what: the call, e.g. "basins"; detail: how the cost is made, e.g. "1e+10 starts x 28
    float64 numbers each"; cost: bytes as a non-decreasing function of the value, used again
    to find the largest value that fits (`minimum` is the smallest the argument allows);
    at_most: a cap the suggested value must also respect; shown: the value as the user
    gave it, when that is not `value` (a per-axis list).
    """
    needed = cost(value)
    limit = available_memory()
    if needed <= limit:
        return
    largest = largest_fitting(cost, limit, minimum, value)
    if largest is not None and at_most is not None:
        largest = min(largest, at_most)
    fix = f"use {name} <= {largest}" if largest is not None else f"no {name} fits"
    raise LosslabError(
        f"{what} {name} == {value if shown is None else shown} needs about "
        f"{format_bytes(needed)} ({detail}); this machine has {format_bytes(limit)} "
        f"available: {fix}."
    )


def require_at_most(
    what: str,
    name: str,
    value: int,
    cap: int,
    unit: str,
    *,
    count: Callable[[int], int] | None = None,
    minimum: int = 1,
    shown=None,
) -> None:
    """Refuse `name == value` when it gives more than `cap` `unit`s (a cap on time, not
    memory): `count(value)` of them, or the value itself."""
    amount = value if count is None else count(value)
    if amount <= cap:
        return
    largest = largest_fitting(count or (lambda v: v), cap, minimum, value)
    given = f"{what} {name} == {value if shown is None else shown}"
    excess = (
        f"is more than the {cap:,} {unit}"
        if count is None
        else f"gives {amount:,} {unit}, more than the {cap:,}"
    )
    raise LosslabError(f"{given} {excess} losslab allows: use {name} <= {largest}.")


def format_bytes(n: float) -> str:
    """1.6e11 -> '160 GB' (decimal units, two significant digits)."""
    if n >= 1e15:  # 10^k bytes; also keeps float() away from integers beyond float64
        return f"10^{len(str(int(n))) - 1} bytes"
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{_two_digits(n / size)} {unit}"
    return f"{int(n)} bytes"


def _two_digits(x: float) -> str:
    return f"{x:.2g}" if x < 100 else f"{round(x, -int(math.floor(math.log10(x))) + 1):.0f}"


def largest_fitting(cost: Callable[[int], int], limit: int, low: int, high: int) -> int | None:
    """The largest v in [low, high) with cost(v) <= limit (cost non-decreasing), or None."""
    if cost(low) > limit:
        return None
    while high - low > 1:  # invariant: cost(low) fits, cost(high) does not
        middle = (low + high) // 2
        low, high = (middle, high) if cost(middle) <= limit else (low, middle)
    return low
