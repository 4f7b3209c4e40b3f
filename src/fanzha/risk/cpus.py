"""How many threads the risk area's compute may use (kept apart from the numba kernels so that
scoring with a model does not import numba)."""

from __future__ import annotations

import os


def workers() -> int:
    """Threads for the kernels: the cores this process may use (``FANZHA_KERNEL_THREADS`` overrides)."""
    configured = os.environ.get("FANZHA_KERNEL_THREADS")
    if configured:
        return max(1, int(configured))
    return max(
        1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    )
