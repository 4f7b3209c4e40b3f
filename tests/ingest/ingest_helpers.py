"""Helpers for the ingest tests: write rows as CSV / JSON Lines / Parquet, read the lake back."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.ingest.lake import attach_lake
from fanzha.records.contracts import get_spec
from fanzha.settings import Settings

Rows = list[dict[str, str]]


# one valid raw call record (CSV cells as a party sends them)
CALL = {
    "caller": "13800138000",
    "callee": "13900139000",
    "start_at": "2024-05-01 13:45:00",
    "duration_s": "60",
    "direction": "out",
    "city": "510104",
    "cell_id": "C1",
    "imei": "",
}


def write_rows(
    path: Path, kind: str, rows: Rows, *, encoding: str = "utf-8", columns: list[str] | None = None
) -> Path:
    """Rows as a file whose format follows the suffix (.csv, .jsonl, .parquet, + .gz)."""
    columns = columns or list(get_spec(kind).columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in columns}), path)
        return path
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding=encoding, newline="") as fh:  # type: ignore[operator]
        if name.endswith(".jsonl"):
            for r in rows:
                fh.write(json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False) + "\n")
        else:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows([[r.get(c, "") for c in columns] for r in rows])
    return path


def lake_rows(settings: Settings, kind: str, order: str | None = None) -> list[dict[str, object]]:
    with DuckDBEngine() as engine:
        if kind not in attach_lake(engine, settings):
            return []
        sql = f"SELECT * FROM {kind}" + (f" ORDER BY {order}" if order else "")
        return engine.query(sql).to_pylist()
