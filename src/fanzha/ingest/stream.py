"""Landing a file as a stream of Arrow batches: the fast path of ``land.land_file``.

Used for the kinds whose every field has a compiled canonical-form check (``fast.supported``:
calls, SMS, transfers, withdrawals, devices, tips …). One pass over the file, in line order:

1. DuckDB parses the file (its CSV / JSON / Parquet readers, the same as the SQL path) into Arrow
   batches, in a second connection on a reader thread, ahead of the validation;
2. ``fast.split`` settles the canonical rows (typed at once); the other rows of the batch, raw, go
   through the full SQL rules (``rules.validation_sql``, the reference) — so values and reasons
   are those of the SQL path;
3. the valid rows, in line order, get two independent 64-bit hashes of their key and one of their
   content, and one compiled pass decides per row: duplicate or conflict of a committed lake row
   (the committed files of the row's partition are loaded into a second table when the partition
   first appears), duplicate or conflict of an earlier row of the file, or land;
4. landed rows are appended to one Parquet file per partition under the staging folder; rejected
   rows (invalid, conflicts) collect in DuckDB tables and become the quarantine file at the end.

The outcome — landed rows, reasons, counts — is the one of the SQL path: a test compares both on
random mixes of valid, invalid, duplicate and conflicting rows. Keys are compared by their 128-bit
hash (two independent 64-bit hashes): two different keys collide with probability ≈ n²/2¹²⁹
(≈ 10⁻²³ for 10⁸ rows). Memory: the Arrow batches in flight, the Parquet writers' buffers, and the
key tables (≈ 50 bytes per distinct key of the file and of the lake partitions it touches).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from queue import Empty, Full, Queue
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fanzha.engine.sql import quote_ident as ident
from fanzha.engine.sql import quote_literal as lit
from fanzha.errors import InputFileError
from fanzha.ingest import catalog, fast
from fanzha.ingest.readers import UNEVEN_FIX, Source, SourceFile, _first_line, csv_problem
from fanzha.ingest.rules import validation_sql
from fanzha.records.contracts import RecordSpec
from fanzha.settings import Settings

# rows per Arrow batch, and batches parsed ahead while one is validated and written
BATCH_ROWS = 1 << 19
READ_AHEAD = 2
# rows per Parquet row group; at most this many partition files open at once
ROW_GROUP = 1 << 17
MAX_OPEN_WRITERS = 256
# zstd level 1: the CPU of snappy for 40 % smaller files (measured on 1 M call records)
COMPRESSION = {"compression": "zstd", "compression_level": 1}
_DAY_US = 86_400 * 1_000_000
_SHANGHAI_US = 8 * 3_600 * 1_000_000
_SEEDS = (np.uint64(0x100000001B3), np.uint64(0xC2B2AE3D27D4EB4F))  # of the two row hashes
CONFLICT = "conflicts with an already landed record"


def read_error(src: SourceFile, exc: BaseException) -> InputFileError:
    """One line for a file DuckDB (or the Arrow stream over it) could not parse."""
    if problem := csv_problem(str(exc)):
        return InputFileError(f"{src.path}: {problem}; {UNEVEN_FIX}")
    text = _first_line(exc)
    hint = (
        "; if it came from a Chinese system pass --encoding gb18030"
        if "unicode" in str(exc).lower() or "utf" in text.lower()
        else "; fix the file or export it again"
    )
    return InputFileError(f"{src.path}: cannot be read as {src.format}: {text}{hint}")


def arrow_schema(spec: RecordSpec) -> pa.Schema:
    """The contract columns as Arrow types (the lake's Parquet types)."""
    types = {
        "time": pa.timestamp("us", tz="UTC"),
        "duration_s": pa.int32(),
        "amount_fen": pa.int64(),
        "int": pa.int64(),
    }
    return pa.schema([(f.name, types.get(f.type, pa.string())) for f in spec.fields])


# -- key tables ----------------------------------------------------------------------------------


class KeyTable:
    """The key table of ``_kernels.decide``: open addressing, three 64-bit words per slot, grown
    by doubling at a load factor of 0.7 (≈ 24–69 bytes per distinct key)."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        self.table = np.zeros((_pow2(capacity), 3), dtype=np.uint64)
        self.count = 0

    def reserve(self, extra: int) -> None:
        need = (self.count + extra) * 10 // 7 + 1
        if need <= len(self.table):
            return
        old, self.table = self.table, np.zeros((_pow2(need), 3), dtype=np.uint64)
        _k()["table_grow"](old, self.table)

    def decide(
        self,
        lake: KeyTable | None,
        hashes: tuple[np.ndarray, np.ndarray, np.ndarray],
        batch: int = 0,
        slow: bool = False,
    ) -> np.ndarray:
        """Per row (in line order): 0 land, 1 duplicate, 2 conflict, 3 out of order (see
        ``_kernels.decide``); new keys are added."""
        self.reserve(len(hashes[0]))
        out = np.zeros(len(hashes[0]), dtype=np.uint8)
        if len(out):
            lake_table = lake.table if lake is not None and lake.count else _NO_LAKE
            self.count += _k()["decide"](lake_table, self.table, *hashes, np.uint64(batch), slow, out)
        return out


def _pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 1).bit_length()


_NO_LAKE = np.zeros((1, 3), dtype=np.uint64)


def _k() -> dict[str, Callable[..., Any]]:
    kernels = fast.kernels()
    assert kernels is not None
    return kernels


def _numbers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    nulls = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else np.zeros(len(arr), np.bool_)
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.int64())
    return arr.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False), nulls


def row_hashes(
    table: pa.Table, key: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key hash 1, key hash 2, content hash) per row of a table of typed contract columns.

    The content hash covers the columns outside the key: it is only compared between rows with
    the same key."""
    rows = table.num_rows
    key_h, key_g = _fold(table, key, rows)
    content, _ = _fold(table, tuple(c for c in columns if c not in key), rows)
    return key_h, key_g, content


def _fold(table: pa.Table, names: tuple[str, ...], rows: int) -> tuple[np.ndarray, np.ndarray]:
    k = _k()
    h = np.full(rows, _SEEDS[0], dtype=np.uint64)
    g = np.full(rows, _SEEDS[1], dtype=np.uint64)
    for name in names:
        arr = table.column(name).combine_chunks() if name in table.column_names else pa.nulls(rows)
        if pa.types.is_integer(arr.type) or pa.types.is_timestamp(arr.type):
            k["hash_number"](*_numbers(arr), h, g)
        else:  # text; a missing column (older files) is NULL; any other type by its text
            text = (
                arr
                if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
                else arr.cast(pa.string())
            )
            k["hash_text"](*fast.buffers(text), h, g)
    return h, g


# -- partitions ----------------------------------------------------------------------------------


def partitions(spec: RecordSpec, table: pa.Table, monthly: bool) -> tuple[list[str], np.ndarray]:
    """(labels, label index per row): the Asia/Shanghai day (or month) of the time field, ``none``
    where there is none — as ``land._day_sql``."""
    rows = table.num_rows
    if spec.time_field is None:
        return ["none"], np.zeros(rows, dtype=np.int64)
    us, nulls = _numbers(table.column(spec.time_field).combine_chunks())
    day = np.floor_divide(us + _SHANGHAI_US, _DAY_US)
    if monthly:
        day = day.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    day = np.where(nulls, np.iinfo(np.int64).min, day)
    values, index = np.unique(day, return_inverse=True)
    labels = [
        "none" if v == np.iinfo(np.int64).min else _label(date(1970, 1, 1) + timedelta(days=int(v)), monthly)
        for v in values
    ]
    return labels, index.astype(np.int64)


def _label(day: date, monthly: bool) -> str:
    return day.isoformat()[:7] if monthly else day.isoformat()


# -- reading -------------------------------------------------------------------------------------


def batches(
    con: duckdb.DuckDBPyConnection, sql: str, src: SourceFile, prepare: Callable[[pa.RecordBatch], Any]
) -> Iterator[Any]:
    """``prepare(batch)`` for the file's text columns as Arrow batches in file order: parsed by a
    second connection and prepared in a thread, ahead of the consumer (a pipeline: parse and check
    batch k+1 while batch k is decided and batch k-1 is written)."""
    queue: Queue[Any] = Queue(READ_AHEAD)
    stop = threading.Event()
    reader_con = con.cursor()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in reader_con.sql(sql).to_arrow_reader(BATCH_ROWS):
                if batch.num_rows and not put(prepare(batch)):
                    return
            put(None)
        except BaseException as exc:  # handed to the consumer
            put(exc)

    thread = threading.Thread(target=produce, name="fanzha-ingest-read", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not None:
            # the Arrow stream raises DuckDB's parse errors as OSError
            if isinstance(item, duckdb.Error | OSError) and not isinstance(item, InputFileError):
                raise read_error(src, item) from None
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                thread.join(0.05)
        reader_con.close()


# -- writing -------------------------------------------------------------------------------------


class PartitionWriters:
    """Parquet files ``<out>/<part>=<label>/part-<n>.parquet``, written by a thread of their own
    (the encoding and compression release the GIL, so they overlap with the validation)."""

    def __init__(self, out: Path, part: str, schema: pa.Schema, dictionary: list[str]) -> None:
        self.out, self.part, self.schema, self.dictionary = out, part, schema, dictionary
        self.open: dict[str, pq.ParquetWriter] = {}
        self.files = 0
        self.rows = 0
        self.error: BaseException | None = None
        self.queue: Queue[tuple[str, pa.Table] | None] = Queue(8)
        self.thread = threading.Thread(target=self._work, name="fanzha-ingest-write", daemon=True)
        self.thread.start()

    def write(self, label: str, table: pa.Table) -> None:
        if self.error is not None:
            raise self.error
        self.rows += table.num_rows
        self.queue.put((label, table))

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # raised in the caller's thread
                    self.error = exc
        self._close_files()

    def _write(self, label: str, table: pa.Table) -> None:
        writer = self.open.get(label)
        if writer is None:
            if len(self.open) >= MAX_OPEN_WRITERS:
                self._close_files()
            folder = self.out / f"{self.part}={label}"
            folder.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(
                folder / f"part-{self.files}.parquet",
                self.schema,
                use_dictionary=self.dictionary,
                **COMPRESSION,
            )
            self.files += 1
            self.open[label] = writer
        writer.write_table(table, row_group_size=ROW_GROUP)

    def _close_files(self) -> None:
        for writer in self.open.values():
            writer.close()
        self.open.clear()

    def close(self) -> None:
        """Write what is queued, close the files; raises the writer's error if any."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


# -- the stream ----------------------------------------------------------------------------------


@dataclass
class Counts:
    read: int = 0
    invalid: int = 0
    duplicates: int = 0
    conflicts: int = 0
    landed: int = 0


class OutOfOrder(Exception):
    """A row that needed the SQL rules comes before a canonical row with the same key: the file
    is landed again by the SQL path, which decides by line order (rare)."""


def land_stream(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    spec: RecordSpec,
    source: Source,
    src: SourceFile,
    stage: Path,
    ingest_id: int,
    monthly: bool,
    part: str,
) -> Counts:
    """Validate, deduplicate and write one file into ``stage`` (``lake/`` and ``quarantine.parquet``).

    Raises :class:`OutOfOrder` (nothing to keep in ``stage``) when the SQL path must decide."""
    schema = arrow_schema(spec)
    columns = tuple(f.name for f in spec.fields)
    names = ", ".join(ident(n) for n in columns)
    raws = [f"_x_{n}" for n in columns]
    empty_raw = "SELECT CAST(NULL AS BIGINT) AS _line, " + ", ".join(
        f"CAST(NULL AS VARCHAR) AS {ident(r)}" for r in raws
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE slow_raw AS {empty_raw} LIMIT 0")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bad AS SELECT _line, _reasons, _raw "
        f"FROM ({validation_sql(spec.kind, empty_raw)}) LIMIT 0"
    )
    typed_schema = pa.schema([("_line", pa.int64()), *schema])
    con.register("typed_empty", typed_schema.empty_table())
    con.execute("CREATE OR REPLACE TEMP TABLE conf AS SELECT * FROM typed_empty")
    con.unregister("typed_empty")

    by_part: dict[str, list[str]] = {}
    for label, path in catalog.committed_files_by_partition(settings).get(spec.kind, []):
        by_part.setdefault(label, []).append(path)
    lake, loaded = KeyTable(), set()

    def load_lake(labels: list[str]) -> None:
        for label in labels:
            if label in loaded:
                continue
            loaded.add(label)
            for path in by_part.get(label, []):
                table = pq.read_table(path, columns=[c for c in columns if c in pq.read_schema(path).names])
                lake.decide(None, row_hashes(table, spec.key, columns))

    if spec.time_field not in spec.key:  # equal keys may sit in any partition: load them all
        load_lake(list(by_part))

    counts = Counts()
    seen = KeyTable(1 << 16)
    dictionary = [f.name for f in spec.fields if f.type in ("enum", "region", "imei")]
    writers = PartitionWriters(stage / "lake", part, schema, dictionary)

    def settle(valid: pa.Table, batch: int, slow: bool) -> None:
        """Decide and write valid typed rows (``_line`` first, in line order) of input ``batch``."""
        labels, index = partitions(spec, valid, monthly)
        if spec.time_field in spec.key:
            load_lake(labels)
        outcome = seen.decide(lake, row_hashes(valid, spec.key, columns), batch, slow)
        if (outcome == 3).any():
            raise OutOfOrder
        counts.duplicates += int(np.count_nonzero(outcome == 1))
        conflicts = np.flatnonzero(outcome == 2)
        if len(conflicts):
            counts.conflicts += len(conflicts)
            con.register("conf_batch", valid.take(pa.array(conflicts)))
            con.execute("INSERT INTO conf SELECT * FROM conf_batch")
            con.unregister("conf_batch")
        land = outcome == 0
        data = valid.drop_columns(["_line"])
        if len(labels) == 1:
            keep = np.flatnonzero(land)
            if len(keep):
                writers.write(labels[0], data if len(keep) == valid.num_rows else data.take(pa.array(keep)))
            return
        order = np.argsort(index, kind="stable")
        order = order[land[order]]
        bounds = np.searchsorted(index[order], np.arange(len(labels) + 1))
        for i, label in enumerate(labels):
            if bounds[i] < bounds[i + 1]:
                writers.write(label, data.take(pa.array(order[bounds[i] : bounds[i + 1]])))

    latest = fast.latest_us()
    line = source.first_line
    slow_count = 0
    starts: list[int] = []  # first line of each input batch

    def prepare(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, np.ndarray, pa.Table, np.ndarray]:
        """(batch, canonical rows, their typed values with a placeholder ``_line``, other rows)."""
        is_fast, results = fast.split(spec, batch, latest)
        fast_rows = np.flatnonzero(is_fast)
        typed = fast.typed_columns(spec, batch, results, fast_rows)
        line = pa.nulls(len(fast_rows), pa.int64())
        return (
            batch,
            fast_rows,
            pa.table({"_line": line, **typed}, schema=typed_schema),
            np.flatnonzero(~is_fast),
        )

    try:
        for number, (batch, fast_rows, typed, slow_rows) in enumerate(
            batches(con, source.text_sql, src, prepare)
        ):
            starts.append(line)
            if number == 0:
                seen.reserve(_expected_rows(src, batch))
            rows = batch.num_rows
            counts.read += rows
            lines = np.arange(line, line + rows, dtype=np.int64)
            line += rows
            if len(fast_rows):
                typed = typed.set_column(0, "_line", pa.array(lines[fast_rows]))
                settle(typed, number, False)
            if len(slow_rows):  # validated by the SQL rules at the end, in one query
                slow_count += len(slow_rows)
                slow = batch.take(pa.array(slow_rows)).add_column(0, "_line", pa.array(lines[slow_rows]))
                con.register("slow_batch", slow)
                con.execute("INSERT INTO slow_raw SELECT * FROM slow_batch")
                con.unregister("slow_batch")
        if slow_count:
            try:
                # not TEMP: a second connection streams its valid rows while this one stages conflicts
                con.execute(
                    f"CREATE OR REPLACE TABLE sv AS {validation_sql(spec.kind, 'SELECT * FROM slow_raw')}"
                )
            except duckdb.Error as exc:
                raise read_error(src, exc) from None
            con.execute("INSERT INTO bad SELECT _line, _reasons, _raw FROM sv WHERE len(_reasons) > 0")
            reader = con.cursor()
            try:
                good = reader.sql(f"SELECT _line, {names} FROM sv WHERE len(_reasons) = 0 ORDER BY _line")
                for rows_batch in good.to_arrow_reader(BATCH_ROWS):
                    counts.invalid -= rows_batch.num_rows
                    table = pa.Table.from_batches([rows_batch]).cast(typed_schema)
                    # by input batch: a row is out of order only against canonical rows of its batch or later
                    of = np.searchsorted(starts, table.column("_line").to_numpy(), side="right") - 1
                    cuts = np.flatnonzero(np.diff(of)) + 1
                    for lo, hi in zip([0, *cuts], [*cuts, len(of)], strict=True):
                        settle(table.slice(lo, hi - lo), int(of[lo]), True)
            finally:
                reader.close()
            counts.invalid += slow_count
    finally:
        writers.close()
        for table in ("slow_raw", "sv"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    counts.landed = writers.rows
    write_quarantine(con, spec, stage, ingest_id, str(src.path))
    for table in ("bad", "conf"):
        con.execute(f"DROP TABLE {table}")
    return counts


# the stream keeps a key table per distinct key (≈ 24–69 bytes each); beyond this many rows a file
# takes the SQL path, whose memory is capped (it spills), so memory stays bounded whatever the size
MAX_ROWS = 15_000_000


def fits(src: SourceFile) -> bool:
    """Whether a file is small enough for the stream (rows from Parquet metadata, else estimated
    from the size: ≥ 70 bytes per row of text, gzip ≈ 8× smaller)."""
    if src.format == "parquet":
        try:
            return pq.ParquetFile(src.path).metadata.num_rows <= MAX_ROWS
        except Exception:  # unreadable here: the SQL path reports it
            return False
    size = src.path.stat().st_size * (8 if src.gzip else 1)
    return size <= MAX_ROWS * 70


def _expected_rows(src: SourceFile, first: pa.RecordBatch) -> int:
    """Rows of an uncompressed text file, estimated from its size and its first batch (sizes the
    key table once instead of doubling it); 0 when unknown."""
    if src.format == "parquet" or src.gzip or not first.num_rows:
        return 0
    chars = sum((pc.sum(pc.binary_length(col)).as_py() or 0) for col in first.columns)
    text = chars / first.num_rows + first.num_columns  # + separators and the line end
    return int(src.path.stat().st_size / max(text, 1.0) * 1.05)


def write_quarantine(
    con: duckdb.DuckDBPyConnection,
    spec: RecordSpec,
    stage: Path,
    ingest_id: int,
    file: str,
    invalid: str = "bad",
    conflicts: str = "conf s",
) -> None:
    """``stage/quarantine.parquet``: the invalid rows (``_line, _reasons, _raw`` FROM ``invalid``)
    and the conflicting ones (typed columns and ``_line`` FROM ``conflicts``, aliased ``s``)."""
    reason = lit(f"{', '.join(spec.key)}: {CONFLICT} (same key, different content)")
    head = f"{ingest_id} AS ingest_id, {lit(file)} AS file, {lit(spec.kind)} AS kind"
    values = "json_object(" + ", ".join(f"{lit(c)}, s.{ident(c)}" for c in spec.columns) + ")"
    con.execute(
        f"COPY (SELECT {head}, _line AS line, _reasons AS reasons, _raw AS raw FROM {invalid} "
        f"UNION ALL SELECT {head}, s._line, [{reason}], CAST({values} AS VARCHAR) FROM {conflicts}) "
        f"TO {lit(str(stage / 'quarantine.parquet'))} (FORMAT parquet)"
    )
