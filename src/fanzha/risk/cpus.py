"""How many threads the risk area's compute may use (kept apart from the numba kernels so that
scoring with a model does not import numba)."""

from __future__ import annotations

import os


def workers() -> int:
    """Threads for the kernels: the cores this process may use (``FANZHA_KERNEL_THREADS`` overrides)."""
    configured = os.environ.get("FANZHA_KERNEL_THREADS")
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            from fanzha.errors import ConfigError

            raise ConfigError(
                f"FANZHA_KERNEL_THREADS={configured!r} is not a whole number; fix or unset the variable"
            ) from None
    return max(
        1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    )
