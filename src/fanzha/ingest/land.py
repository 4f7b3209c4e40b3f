"""Landing one file: validate in bulk, deduplicate by natural key, stage, then commit atomically.

Steps, all SQL in DuckDB with a memory limit (it spills to the staging folder, so memory stays
bounded whatever the file size):

1. table ``stg``: every row, typed and with its reasons (one streaming pass over the file);
2. decisions: rows whose key hash repeats in the file or exists in the lake are resolved exactly
   on the key columns — same content → duplicate, different content → rejected (conflict);
3. the landed rows, partitioned by day, and the quarantine rows are written to the staging folder;
4. commit: files are moved under the lake, then one catalog transaction records them, the
   quarantine rows and the ingest-log row. Before that commit nothing is visible.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from fanzha.errors import InputFileError, StateError
from fanzha.ingest import catalog, fast
from fanzha.ingest.readers import Source, SourceFile
from fanzha.ingest.rules import ident, lit, validation_sql
from fanzha.ingest.stream import OutOfOrder, fits, land_stream, read_error, write_quarantine
from fanzha.records.contracts import RecordSpec, get_spec
from fanzha.settings import Settings

# DuckDB's memory for one file; beyond it the staged rows spill to the staging folder, so memory
# stays bounded whatever the file size. 2 GB holds 10 M staged call records (≈ 120 MB per million)
# and the duplicate check without spilling, which cost ≈ 17 % more CPU at 1 GB (measured).
MEMORY_LIMIT = "2GB"
Progress = Callable[[str], None]


@dataclass
class FileReport:
    file: str
    kind: str
    format: str
    encoding: str
    size_bytes: int
    sha256: str = ""
    ingest_id: int = 0
    rows_read: int = 0
    landed: int = 0
    rejected: int = 0
    duplicates: int = 0
    status: str = "started"
    seconds: float = 0.0
    message: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step
    cpu_steps: dict[str, float] = field(default_factory=dict)  # process CPU seconds per step

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.landed + self.rejected + self.duplicates

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def processing_connection(settings: Settings, stage: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for the heavy work, spilling to ``stage`` beyond its memory limit."""
    from fanzha.ingest.rules import register_udfs

    con = duckdb.connect()
    con.execute(f"SET threads = {int(settings.threads)}")
    con.execute(f"SET memory_limit = {lit(MEMORY_LIMIT)}")
    con.execute(f"SET temp_directory = {lit(str(stage / 'spill'))}")
    # timestamps cast to text or to a naive TIMESTAMP in UTC, whatever the machine's time zone
    con.execute("SET TimeZone = 'UTC'")
    register_udfs(con)
    return con


def _cols(names: tuple[str, ...], alias: str = "") -> str:
    return ", ".join(f"{alias}{ident(n)}" for n in names)


# register-like kinds: their time (an account's or a card's opening) spans years, so one folder
# per day would make thousands of tiny files; they are partitioned by month instead
MONTHLY = frozenset({"phone_cards", "accounts", "app_accounts"})


def partition_name(kind: str) -> str:
    return "month" if kind in MONTHLY else "day"


def _day_sql(spec: RecordSpec) -> str:
    """The partition of a valid row as a DATE (first of the month for MONTHLY kinds), else NULL.

    A DATE rather than text: cheaper to compute, and its zone maps let each partition's write skip
    the staged row groups of other days.
    """
    if spec.time_field is None:
        return "CAST(NULL AS DATE)"
    ts = ident(spec.time_field)
    # the parties' calendar (Asia/Shanghai, UTC+8 without DST since 1991)
    day = f"CAST(CAST({ts} AS TIMESTAMP) + INTERVAL 8 HOUR AS DATE)"
    if spec.kind in MONTHLY:
        day = f"CAST(date_trunc('month', {day}) AS DATE)"
    return f"(CASE WHEN len(_reasons) = 0 THEN {day} END)"


def _partition_value(kind: str, day: Any) -> str:
    """The folder name's value of a partition: YYYY-MM-DD, YYYY-MM or ``none``."""
    if day is None:
        return "none"
    return str(day)[:7] if kind in MONTHLY else str(day)


def start_log(con: duckdb.DuckDBPyConnection, settings: Settings, report: FileReport) -> int:
    with catalog.attached(con, settings):
        row = con.execute(
            "INSERT INTO cat.ingest_log (ingest_id, file, kind, format, encoding, size_bytes, started_at, status) "
            "VALUES (nextval('cat.ingest_seq'), ?, ?, ?, ?, ?, now(), 'started') RETURNING ingest_id",
            [report.file, report.kind, report.format, report.encoding, report.size_bytes],
        ).fetchone()
    assert row is not None
    return int(row[0])


def fail_log(con: duckdb.DuckDBPyConnection, settings: Settings, report: FileReport, message: str) -> None:
    report.status, report.message = "failed", message
    with catalog.attached(con, settings):
        con.execute(
            "UPDATE cat.ingest_log SET status = 'failed', message = ?, finished_at = now() WHERE ingest_id = ?",
            [message, report.ingest_id],
        )


def _staged(spec: RecordSpec, validated: str) -> str:
    """The staging SELECT over validated rows: adds the key hash and the partition day."""
    # the content hash is computed later, only for the rows whose key repeats
    return f"SELECT v.*, hash({_cols(spec.key)}) AS _kh, {_day_sql(spec)} AS _day FROM ({validated}) AS v"


def _stage_rows(con: duckdb.DuckDBPyConnection, spec: RecordSpec, source: Source, src: SourceFile) -> None:
    """Pass 1: table ``stg``, every row typed, with reasons, key hash and its day."""
    try:
        # a temporary table: cheaper than a staging Parquet file; beyond the memory limit DuckDB
        # spills it to the staging folder, so memory stays bounded
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE stg AS {_staged(spec, validation_sql(spec.kind, source.sql))}"
        )
    except duckdb.Error as exc:
        raise read_error(src, exc) from None


def _lake_files_to_check(con: duckdb.DuckDBPyConnection, settings: Settings, spec: RecordSpec) -> list[str]:
    """The committed files that may hold a key of this file.

    When the time field is part of the key, equal keys share their partition: only the partitions
    present in this file are read. Otherwise (a card's key is its number, whatever its opening
    month) every committed file of the kind is.
    """
    files = catalog.committed_files_by_partition(settings).get(spec.kind, [])
    if not files or spec.time_field not in spec.key:
        return [path for _, path in files]
    days = {
        _partition_value(spec.kind, row[0])
        for row in con.execute("SELECT DISTINCT _day FROM stg WHERE len(_reasons) = 0").fetchall()
    }
    return [path for day, path in files if day in days]


def _decide(con: duckdb.DuckDBPyConnection, spec: RecordSpec, lake_files: list[str]) -> None:
    """Table ``dec(_line, outcome)`` for valid rows that are duplicates or conflicts."""
    key = _cols(spec.key)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE kdup AS SELECT _kh FROM stg WHERE len(_reasons) = 0 "
        "GROUP BY _kh HAVING count(*) > 1"
    )
    if lake_files:
        files = "[" + ", ".join(lit(f) for f in lake_files) + "]"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE lk AS SELECT DISTINCT ON ({key}) {key}, hash({_cols(spec.columns)}) AS _ch "
            f"FROM read_parquet({files}, union_by_name = true) "
            f"WHERE hash({key}) IN (SELECT _kh FROM stg WHERE len(_reasons) = 0)"
        )
        in_lake = f" OR _kh IN (SELECT hash({key}) FROM lk)"
    else:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE lk AS SELECT {key}, 0::UBIGINT AS _ch FROM stg WHERE false"
        )
        in_lake = ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE cand AS SELECT _line, {key}, hash({_cols(spec.columns)}) AS _ch "
        f"FROM stg WHERE len(_reasons) = 0 AND (_kh IN (SELECT _kh FROM kdup){in_lake})"
    )
    on = " AND ".join(f"c.{ident(k)} IS NOT DISTINCT FROM l.{ident(k)}" for k in spec.key)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE dec AS SELECT _line, outcome FROM ("
        "SELECT _line, CASE WHEN lake_ch IS NOT NULL THEN (CASE WHEN _ch = lake_ch THEN 'duplicate' ELSE 'conflict' END) "
        "WHEN _line = first_line THEN 'land' WHEN _ch = first_ch THEN 'duplicate' ELSE 'conflict' END AS outcome "
        f"FROM (SELECT c._line, c._ch, l._ch AS lake_ch, min(c._line) OVER w AS first_line, "
        f"arg_min(c._ch, c._line) OVER w AS first_ch FROM cand c LEFT JOIN lk l ON {on} "
        f"WINDOW w AS (PARTITION BY {_cols(spec.key, 'c.')}))) WHERE outcome <> 'land'"
    )


# zstd at level 1: the CPU of snappy (measured on 1 M call records) for 40 % smaller files
PARQUET_OPTIONS = "COMPRESSION zstd, COMPRESSION_LEVEL 1"
# one COPY per partition while partitions ≤ this and partitions × staged rows ≤ the scan budget
# (in the worst case, rows not in day order, each COPY scans every staged row's day); beyond,
# one partitioned COPY
MAX_PARTITION_COPIES = 1000
PARTITION_SCAN_BUDGET = 2_000_000_000


def _write_landed(con: duckdb.DuckDBPyConnection, spec: RecordSpec, stage: Path) -> int:
    """The landed rows into ``stage/lake/<day|month>=<value>/part-0.parquet``; returns rows landed.

    One COPY per partition: the staged rows are in file order, so a partition's rows sit in few
    row groups and the DATE filter skips the others by their zone maps. That costs about half of
    DuckDB's partitioned COPY (which hashes every row into per-partition buffers).
    """
    part = partition_name(spec.kind)
    has_dec = con.execute("SELECT count(*) FROM dec").fetchone() != (0,)
    keep = "len(s._reasons) = 0" + (" AND s._line NOT IN (SELECT _line FROM dec)" if has_dec else "")
    columns = _cols(spec.columns, "s.")
    days = con.execute(f"SELECT s._day, count(*) FROM stg s WHERE {keep} GROUP BY s._day").fetchall()
    out = stage / "lake"
    staged = sum(int(n) for _, n in days)
    if len(days) > MAX_PARTITION_COPIES or len(days) * staged > PARTITION_SCAN_BUDGET:
        fmt = lit("%Y-%m" if spec.kind in MONTHLY else "%Y-%m-%d")
        text_day = f"(CASE WHEN s._day IS NULL THEN 'none' ELSE strftime(s._day, {fmt}) END)"
        landed = con.execute(
            f"COPY (SELECT {columns}, {text_day} AS {part} FROM stg s WHERE {keep}) TO {lit(str(out))} "
            f"(FORMAT parquet, PARTITION_BY ({part}), {PARQUET_OPTIONS}, FILENAME_PATTERN 'part-{{i}}')"
        ).fetchone()
        return int(landed[0]) if landed else 0
    total = 0
    for day, _ in days:
        folder = out / f"{part}={_partition_value(spec.kind, day)}"
        folder.mkdir(parents=True, exist_ok=True)
        where = "s._day IS NULL" if day is None else f"s._day = DATE {lit(str(day))}"
        written = con.execute(
            f"COPY (SELECT {columns} FROM stg s WHERE {keep} AND {where}) TO {lit(str(folder / 'part-0.parquet'))} (FORMAT parquet, {PARQUET_OPTIONS})"
        ).fetchone()
        total += int(written[0]) if written else 0
    return total


def _write_outputs(
    con: duckdb.DuckDBPyConnection, spec: RecordSpec, stage: Path, ingest_id: int, file: str
) -> int:
    """Landed rows (partitioned by day) and quarantine rows into ``stage``; returns rows landed."""
    con.execute("SET preserve_insertion_order = false")
    landed = _write_landed(con, spec, stage)
    write_quarantine(
        con,
        spec,
        stage,
        ingest_id,
        file,
        "stg WHERE len(_reasons) > 0",
        "stg s JOIN dec d ON s._line = d._line WHERE d.outcome = 'conflict'",
    )
    return landed


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int, int]:
    read, invalid = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE len(_reasons) > 0) FROM stg"
    ).fetchone()  # type: ignore[misc]
    dup, conflict = con.execute(
        "SELECT count(*) FILTER (WHERE outcome = 'duplicate'), count(*) FILTER (WHERE outcome = 'conflict') FROM dec"
    ).fetchone()  # type: ignore[misc]
    return int(read), int(invalid), int(dup), int(conflict)


def _move_into_lake(stage: Path, lake: Path, kind: str, ingest_id: int) -> list[tuple[str, str, Path, Path]]:
    """Move staged partitions under the (still invisible) lake: (partition, relative path, file, source)."""
    moved = []
    for n, part in enumerate(sorted((stage / "lake").glob("*=*/*.parquet"))):
        day = part.parent.name.split("=", 1)[1]
        rel = f"{kind}/{part.parent.name}/part-{ingest_id:06d}-{n:04d}.parquet"
        target = lake / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        moved.append((day, rel, target, part))
        part.replace(target)
    return moved


def _commit(con: duckdb.DuckDBPyConnection, settings: Settings, report: FileReport, stage: Path) -> None:
    lake = Path(settings.lake)
    staged = stage / "lake"
    counts = (
        dict(
            con.execute(
                f"SELECT filename, count(*) FROM read_parquet({lit(str(staged / '*=*' / '*.parquet'))}, "
                "filename = true, hive_partitioning = false) GROUP BY filename"
            ).fetchall()
        )
        if any(staged.glob("*=*/*.parquet"))
        else {}
    )
    sources = {Path(name).resolve(): n for name, n in counts.items()}
    by_target: dict[str, int] = {}
    moved = []
    for day, rel, target, source in _move_into_lake(stage, lake, report.kind, report.ingest_id):
        by_target[rel] = int(sources[source.resolve()])
        moved.append((day, rel, target))
    try:
        with catalog.attached(con, settings):
            con.execute("BEGIN TRANSACTION")
            if moved:
                con.executemany(
                    "INSERT INTO cat.lake_files VALUES (?, ?, ?, ?, ?, now())",
                    [[report.ingest_id, report.kind, day, rel, by_target[rel]] for day, rel, _ in moved],
                )
            con.execute(
                f"INSERT INTO cat.quarantine SELECT * FROM read_parquet({lit(str(stage / 'quarantine.parquet'))})"
            )
            con.execute(
                "UPDATE cat.ingest_log SET sha256 = ?, rows_read = ?, landed = ?, rejected = ?, duplicates = ?, "
                "finished_at = now(), status = 'committed', message = ? WHERE ingest_id = ?",
                [
                    report.sha256,
                    report.rows_read,
                    report.landed,
                    report.rejected,
                    report.duplicates,
                    report.message,
                    report.ingest_id,
                ],
            )
            con.execute("COMMIT")
    except BaseException:
        for _, _, path in moved:  # not committed: the files must not stay in the lake
            path.unlink(missing_ok=True)
        raise


def land_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    src: SourceFile,
    source: Source,
    report: FileReport,
    stage: Path,
    progress: Progress | None = None,
) -> FileReport:
    """Validate, deduplicate, stage and commit one file read through ``source``."""
    started = time.perf_counter()
    spec = get_spec(src.kind)
    current: list[Any] = [None, time.perf_counter(), time.process_time()]  # step, its start

    def say(step: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if current[0] is not None:
            report.steps[current[0]] = round(now - current[1], 3)
            report.cpu_steps[current[0]] = round(cpu - current[2], 3)
        current[:] = [step, now, cpu]
        if progress and step != "done":
            progress(step)

    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(sha256_file, src.path)  # overlaps with DuckDB's work
        try:
            say("validating")
            counts = None
            if fast.supported(spec) and fits(src):  # one streaming pass: validate, deduplicate, write
                con.execute("SET preserve_insertion_order = true")  # batches in line order
                try:
                    counts = land_stream(
                        con,
                        settings,
                        spec,
                        source,
                        src,
                        stage,
                        report.ingest_id,
                        spec.kind in MONTHLY,
                        partition_name(spec.kind),
                    )
                except OutOfOrder:  # rare: the SQL path decides by line order
                    shutil.rmtree(stage / "lake", ignore_errors=True)
                    (stage / "quarantine.parquet").unlink(missing_ok=True)
            if counts is not None:
                read, invalid, dup, conflict, landed = (
                    counts.read,
                    counts.invalid,
                    counts.duplicates,
                    counts.conflicts,
                    counts.landed,
                )
            else:
                con.execute("SET preserve_insertion_order = true")  # row_number() = line order
                _stage_rows(con, spec, source, src)
                say("deduplicating")
                lake_files = _lake_files_to_check(con, settings, spec)
                _decide(con, spec, lake_files)
                say("writing")
                landed = _write_outputs(con, spec, stage, report.ingest_id, str(src.path))
                read, invalid, dup, conflict = _counts(con)
            report.sha256 = digest.result()
        except BaseException as exc:
            fail_log(con, settings, report, str(exc) if isinstance(exc, InputFileError) else repr(exc))
            raise
    report.rows_read, report.landed = read, landed
    report.rejected, report.duplicates = invalid + conflict, dup
    if not report.balanced:  # an internal error, never expected: refuse to commit
        fail_log(con, settings, report, "counts do not reconcile")
        raise StateError(f"{src.path}: counts do not reconcile ({report.as_dict()}); nothing was landed")
    say("committing")
    report.status = "committed"
    _commit(con, settings, report, stage)
    for table in ("stg", "kdup", "lk", "cand", "dec", "bad", "conf"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    say("done")
    report.seconds = round(time.perf_counter() - started, 3)
    shutil.rmtree(stage, ignore_errors=True)
    return report
