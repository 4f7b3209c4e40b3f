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
