"""Output paths checked before the work, not after it (a run of minutes should not end in "Is a
directory")."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from fanzha.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from fanzha.detect.contract import Detector


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


def _whole_numbers(text: str, option: str, example: str, most: int | None = None) -> list[int]:
    """``"7, 11,13"`` → [7, 11, 13]: a non-empty comma-separated list of whole numbers ≥ 0 (ASCII
    digits), each once, none empty; ``most``: the largest value allowed."""
    items = text.replace(" ", "").split(",")
    if not all(re.fullmatch(r"[0-9]+", x) for x in items):
        raise ConfigError(
            f"{option} {text!r} is not a comma-separated list of whole numbers (e.g. {example})"
        )
    values = [int(x) for x in items]
    if most is not None and max(values) > most:
        raise ConfigError(f"{option} {text!r}: at most {most:,} (e.g. {example})")
    if len(set(values)) != len(values):
        raise ConfigError(f"{option} {text!r} repeats a value; give each once")
    return values


MAX_WINDOW_DAYS = 36_600  # the longest window, a century (for everything give 0)


def parse_windows(text: str) -> int | tuple[int | None, ...] | None:
    """``--window 30`` → 30; ``--window 1,7,30`` → (1, 7, 30); 0 means everything (None). A list
    is put in order (shortest first, everything last), as the feature columns are."""
    values = _whole_numbers(text, "--window", "30 or 1,7,30; 0 = everything", most=MAX_WINDOW_DAYS)
    windows = tuple(v or None for v in sorted(values, key=lambda v: v or MAX_WINDOW_DAYS + 1))
    return windows[0] if len(windows) == 1 else windows


def parse_seeds(seeds: str) -> list[int]:
    """``--seeds 7,11,13`` → [7, 11, 13]: whole numbers, each once."""
    return _whole_numbers(seeds, "--seeds", "7,11,13")


def json_ready(value: object, key: str = "") -> object:
    """Figures as strict JSON: NaN / ±inf → null (a share of nothing is not defined), and money
    (keys ending in ``_fen``) as integer fen, never floats."""
    if isinstance(value, dict):
        return {k: json_ready(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v, key) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if key.endswith("_fen") and value == int(value):
            return int(value)
    return value


def load_detector(cls: type[Detector], path: Path) -> Detector:
    """``cls.load(path)``, printing a model's library-version warning as one plain line on stderr."""
    import warnings

    from rich.console import Console

    from fanzha.detect.contract import ModelVersionWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelVersionWarning)
        model = cls.load(path)
    for w in caught:
        if issubclass(w.category, ModelVersionWarning):
            Console(stderr=True).print(f"[bold yellow]warning:[/] {w.message}", highlight=False)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return model


def spinner(console: Console | None = None) -> Progress:
    """A spinner with its elapsed time, drawn only on a terminal and gone when done: piped, a
    stopped bar left a blank line or its last frame on stdout before the command's output."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = console or Console()
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
