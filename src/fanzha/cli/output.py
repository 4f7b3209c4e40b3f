"""Output paths checked before the work, not after it (a run of minutes should not end in "Is a
directory")."""

from __future__ import annotations

import os
from pathlib import Path

from fanzha.errors import ConfigError


def writable(folder: Path, what: str) -> None:
    """``folder`` exists (made if needed) and can be written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {what} to {folder}: {exc.strerror or exc}; give a writable --out"
        ) from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"cannot write {what} to {folder}: not writable; give a writable --out")


def writable_file(path: Path, what: str) -> None:
    """``path`` can be written as a file: its folder is writable and it is not a folder itself."""
    if path.is_dir():
        raise ConfigError(f"cannot write {what} to {path}: it is a folder; give a file name to --out")
    writable(path.parent, what)


def parse_windows(text: str) -> int | tuple[int | None, ...] | None:
    """``--window 30`` → 30; ``--window 1,7,30`` → (1, 7, 30); 0 means everything (None)."""
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ConfigError(
            f"--window {text!r} is not whole days or a comma-separated list of them (e.g. 30 or 1,7,30)"
        ) from None
    if not values or any(v < 0 for v in values):
        raise ConfigError(f"--window {text!r}: give whole days ≥ 0 (0 = everything), e.g. 30 or 1,7,30")
    if len(set(values)) != len(values):
        raise ConfigError(f"--window {text!r} repeats a window; each once")
    windows = tuple(v or None for v in values)
    return windows[0] if len(windows) == 1 else windows


def parse_seeds(seeds: str) -> list[int]:
    """``--seeds 7,11,13`` → [7, 11, 13]: whole numbers, each once."""
    try:
        values = [int(x) for x in seeds.replace(" ", "").split(",") if x]
    except ValueError:
        raise ConfigError(
            f"--seeds {seeds!r} is not a comma-separated list of whole numbers (e.g. 7,11,13)"
        ) from None
    if not values:
        raise ConfigError("--seeds is empty; give at least one seed (e.g. --seeds 11)")
    if len(set(values)) != len(values):
        raise ConfigError(f"--seeds {seeds!r} repeats a seed; each city once")
    return values
