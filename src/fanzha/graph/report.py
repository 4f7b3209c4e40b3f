"""Writing graph results (CSV or Parquet) and printing readable summaries with rich."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from fanzha.errors import ConfigError

FORMATS = ("parquet", "csv")


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts become JSON text so that a CSV round-trips and opens in a spreadsheet."""
    out = frame.copy()
    nested = list | dict | tuple | np.ndarray  # numpy arrays too: their str() is cut short with "…"
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, nested)).any():
            out[col] = out[col].map(
                lambda v: (
                    json.dumps(v if isinstance(v, dict) else list(v), ensure_ascii=False, default=_plain)
                    if isinstance(v, nested)
                    else v
                )
            )
    return out


def _plain(value: object) -> object:
    """JSON for numpy scalars and arrays inside lists (else their text)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:  # lists of dicts (reasons) as JSON text: one stable column type
        if (
            out[col].dtype == object
            and out[col].map(lambda v: isinstance(v, list) and v and isinstance(v[0], dict)).any()
        ):
            out[col] = out[col].map(lambda v: json.dumps(v, ensure_ascii=False, default=str))
    return out


def write_frames(frames: dict[str, pd.DataFrame], out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write each frame as ``out_dir/<name>.<fmt>``; returns the paths."""
    if fmt not in FORMATS:
        raise ConfigError(f"format {fmt!r} is not supported; use one of {FORMATS}")
    paths = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            path = out_dir / f"{name}.{fmt}"
            if fmt == "csv":
                _csv_safe(frame).to_csv(path, index=False, encoding="utf-8")
            else:
                _parquet_safe(frame).to_parquet(path, index=False)
            paths.append(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the results to {out_dir}: {exc.strerror or exc}; give a writable folder with --out"
        ) from None
    return paths


def yuan(fen: float | int) -> str:
    return f"¥{int(fen) / 100:,.2f}"


def table(title: str, frame: pd.DataFrame, columns: list[str], limit: int = 10) -> Table:
    """The first ``limit`` rows of ``frame`` as a rich table (lists shortened, money in yuan)."""
    out = Table(title=f"{title} ({len(frame)} rows)", title_justify="left")
    for col in columns:
        out.add_column(col, overflow="fold")
    for row in frame.head(limit).itertuples(index=False):
        values = []
        for col in columns:
            v = getattr(row, col)
            if isinstance(v, list | tuple) or hasattr(v, "tolist"):
                seq = list(v)
                v = ", ".join(map(str, seq[:4])) + (f" … (+{len(seq) - 4})" if len(seq) > 4 else "")
            elif col.endswith("_fen"):
                v = yuan(v)
            values.append(str(v))
        out.add_row(*values)
    return out


def print_metrics(console: Console, title: str, metrics: dict[str, float]) -> None:
    shown = ", ".join(
        f"{k} n/a"
        if isinstance(v, float) and math.isnan(v)
        else f"{k} {v:.3f}"
        if isinstance(v, float) and v < 10
        else f"{k} {v:,.0f}"
        for k, v in metrics.items()
    )
    console.print(f"[bold]{title}[/]: {shown}")
