"""Streaming Parquet output: ``DIR/<kind>/part-NNNNN.parquet`` and ``DIR/truth/<name>.parquet``.

Tables arrive day by day; a writer keeps one open file per kind and rolls to a new part after
``rows_per_part`` rows, so memory stays bounded by one day's traffic whatever the run length.
Column types follow docs/interfaces.md (times timestamp[us, UTC], money int64, lists list<string>).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fanzha.records.contracts import SPECS

_ARROW = {
    "time": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "amount_fen": pa.int64(),
    "int": pa.int64(),
    "duration_s": pa.int32(),
    "bool": pa.bool_(),
}


def kind_schema(kind: str) -> pa.Schema:
    """Arrow schema of a record kind as docs/interfaces.md specifies it."""
    fields = []
    for f in SPECS[kind].fields:
        typ = _ARROW.get(f.type, pa.string())
        fields.append(pa.field(f.name, pa.list_(pa.string()) if f.is_list else typ))
    return pa.schema(fields)


TRUTH_SCHEMAS: dict[str, pa.Schema] = {
    "entities": pa.schema(
        [
            ("entity", pa.string()),
            ("entity_kind", pa.string()),
            ("role", pa.string()),
            ("gang_id", pa.string()),
            ("fraud_type", pa.string()),
            ("organiser", pa.string()),
            ("layer", pa.int32()),
            ("first_used_at", pa.timestamp("us", tz="UTC")),
        ]
    ),
    "episodes": pa.schema(
        [
            ("episode_id", pa.string()),
            ("victim_id", pa.string()),
            ("fraud_type", pa.string()),
            ("gang_id", pa.string()),
            ("contact_channel", pa.string()),
            ("started_at", pa.timestamp("us", tz="UTC")),
            ("first_payment_at", pa.timestamp("us", tz="UTC")),
            ("loss_fen", pa.int64()),
            ("reported", pa.bool_()),
            ("case_id", pa.string()),
        ]
    ),
    "transfers": pa.schema(
        [
            ("transfer_id", pa.string()),
            ("is_fraud", pa.bool_()),
            ("episode_id", pa.string()),
            ("gang_id", pa.string()),
            ("step", pa.string()),
        ]
    ),
    "withdrawals": pa.schema(
        [
            ("withdrawal_id", pa.string()),
            ("is_fraud", pa.bool_()),
            ("episode_id", pa.string()),
            ("gang_id", pa.string()),
        ]
    ),
    "calls": pa.schema(
        [
            ("caller", pa.string()),
            ("callee", pa.string()),
            ("start_at", pa.timestamp("us", tz="UTC")),
            ("direction", pa.string()),
            ("is_fraud", pa.bool_()),
            ("episode_id", pa.string()),
            ("gang_id", pa.string()),
        ]
    ),
    "sms": pa.schema(
        [
            ("sender", pa.string()),
            ("receiver", pa.string()),
            ("sent_at", pa.timestamp("us", tz="UTC")),
            ("is_fraud", pa.bool_()),
            ("episode_id", pa.string()),
            ("gang_id", pa.string()),
        ]
    ),
    "money_paths": pa.schema(
        [
            ("episode_id", pa.string()),
            ("victim_id", pa.string()),
            ("hop", pa.int32()),
            ("record_kind", pa.string()),
            ("record_id", pa.string()),
            ("from_account", pa.string()),
            ("to_account", pa.string()),
            ("amount_fen", pa.int64()),
            ("at", pa.timestamp("us", tz="UTC")),
        ]
    ),
    "held": pa.schema([("episode_id", pa.string()), ("account", pa.string()), ("amount_fen", pa.int64())]),
}


class PartWriter:
    """Appends tables of one schema to ``folder/part-NNNNN.parquet`` files (or one named file)."""

    def __init__(self, folder: Path, schema: pa.Schema, *, rows_per_part: int, single: Path | None = None):
        self.folder, self.schema, self.rows_per_part, self.single = folder, schema, rows_per_part, single
        self.rows = 0
        self._part = 0
        self._in_part = 0
        self._writer: pq.ParquetWriter | None = None

    def _open(self) -> pq.ParquetWriter:
        if self._writer is None:
            path = self.single or self.folder / f"part-{self._part:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(path, self.schema, compression="zstd", compression_level=1)
        return self._writer

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(self.schema.names).cast(self.schema)
        self._open().write_table(table, row_group_size=256_000)
        self.rows += table.num_rows
        self._in_part += table.num_rows
        if self.single is None and self._in_part >= self.rows_per_part:
            self._roll()

    def _roll(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._part += 1
        self._in_part = 0

    def close(self) -> None:
        if self._writer is None and self.rows == 0:
            self._open()  # an empty kind still gets one (empty) part, so readers find the folder
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class Output:
    """All writers of one simulation run."""

    def __init__(self, out: Path, *, rows_per_part: int = 2_000_000):
        self.out = out
        self.kinds = {k: PartWriter(out / k, kind_schema(k), rows_per_part=rows_per_part) for k in SPECS}
        truth = out / "truth"
        self.truth = {
            name: PartWriter(truth, schema, rows_per_part=rows_per_part, single=truth / f"{name}.parquet")
            for name, schema in TRUTH_SCHEMAS.items()
        }

    def write(self, kind: str, table: pa.Table) -> None:
        self.kinds[kind].write(table)

    def write_truth(self, name: str, table: pa.Table) -> None:
        self.truth[name].write(table)

    def close(self) -> dict[str, int]:
        for w in [*self.kinds.values(), *self.truth.values()]:
            w.close()
        return {k: w.rows for k, w in self.kinds.items()}
