"""A partner's raw transfer (or call) file in its own layout → the ``transfers`` (``calls``) table.

Banks and payment companies hand over transfer files with their own column names, decimal amounts in
yuan (or dollars) and local times. :class:`TransferLayout` maps their columns; :func:`load_transfers`
reads the file with the Engine (CSV, gzip CSV or Parquet), converts amounts to integer fen exactly
(decimal arithmetic, never float) and times to UTC, and registers the result as ``transfers``.
Rows that cannot be read are rejected with one reason each, counted with an example and written to
a rejected-rows file, never silently dropped (rows read = kept + rejected + duplicates).
:func:`load_calls` does the same for an operator's raw call-record file.
Account identifiers are kept as the partner's own strings (trimmed): they are internal keys of the
partner, not card numbers, so card-number normalisation does not apply. Phone numbers of a call
file are spelled as the records spell them (``normalise_phone``: ``+86 138 0013 8000`` →
``13800138000``), so one number is one row of features and its published score is found by the
lookups; values that are no phone number (hashed numbers) are kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from fanzha.engine.base import Engine
from fanzha.engine.sql import quote_ident, quote_literal
from fanzha.errors import EngineError, InputFileError, ValidationError
from fanzha.records.normalise import normalise_phone


@dataclass(frozen=True)
class TransferLayout:
    """Which partner column holds which contract field."""

    from_col: str = "from_account"
    to_col: str = "to_account"
    amount_col: str = "amount_fen"
    time_col: str = "at"
    id_col: str | None = "transfer_id"
    amount_unit: str = "fen"  # "fen" (integers) or "yuan" (decimals, × 100)
    naive_utc_offset_hours: int = 8  # times without an offset are local Beijing time by default

    def columns(self) -> tuple[str, ...]:
        cols = (self.from_col, self.to_col, self.amount_col, self.time_col)
        return cols + ((self.id_col,) if self.id_col else ())


def _reader(path: Path) -> str:
    if not path.exists():
        raise InputFileError(f"transfer file {path} does not exist; check the path")
    name = path.name.lower()
    if name.endswith(".parquet"):
        return f"read_parquet({quote_literal(str(path))})"
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        # the quote given: sniffed from a sample without one, a later quoted value failed the file
        return f"read_csv({quote_literal(str(_utf8(path)))}, all_varchar = true, header = true, quote = '\"')"
    raise InputFileError(f"{path}: unknown file type; give a .csv, .csv.gz or .parquet file")


_TRANSCODED: dict[tuple[Path, float, int], Path] = {}


def _utf8(path: Path) -> Path:
    """``path`` itself when it is UTF-8 text; else (GBK / GB18030, as Chinese systems export) a
    UTF-8 copy in a temporary folder, made once per file version and removed at exit."""
    from fanzha.ingest.readers import SourceFile, detect_encoding, transcode

    src = SourceFile(path, "partner", "csv", path.name.lower().endswith((".gz", ".gzip")))
    if detect_encoding(src) == "utf-8":
        return path
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime, stat.st_size)
    if key not in _TRANSCODED:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="fanzha-utf8-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _TRANSCODED[key] = transcode(src, "gb18030", folder / "utf8.csv")
    return _TRANSCODED[key]


def read_table(engine: Engine, path: str | Path) -> pa.Table:
    """Any CSV / Parquet file as an Arrow table (CSV values as text, so nothing is guessed).
    A column name twice in the header is an error: DuckDB would rename the second (``noise_1``) in
    silence, and a model trained on it would ask every scoring file for a column none has."""
    table = engine.query(f"SELECT * FROM {_reader(Path(path))}")
    names = _header(engine, Path(path))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputFileError(
            f"{path}: column name(s) {', '.join(map(repr, repeated))} appear more than once in the "
            "header; rename them"
        )
    return table


def _header(engine: Engine, path: Path) -> list[str]:
    """The column names as the file writes them."""
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    reader = _reader(path).replace("header = true", "header = false")
    first = engine.query(f"SELECT * FROM {reader} LIMIT 1").to_pylist()
    return [str(v).strip() for v in first[0].values()] if first else []


def _plain_number_sql(col: str) -> str:
    """The text of a number without thousands separators (1,234,567.89): commas are dropped only
    where they group digits by three; anything else stays as written (and fails the patterns)."""
    raw = f"trim(CAST({col} AS VARCHAR))"
    return (
        f"CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]*)?') "
        f"THEN replace({raw}, ',', '') ELSE {raw} END"
    )


def whole_number_sql(col: str, cast: str = "BIGINT") -> str:
    """A text or numeric column as a whole number, NULL unless it is one exactly: "12", "12.0"
    and 1,234 pass; 12.7, 1e3, 0x10 and 1,5 do not (never rounded)."""
    text = _plain_number_sql(col)
    return (
        f"CASE WHEN regexp_full_match({text}, '[+-]?[0-9]+(\\.0*)?') "
        f"THEN TRY_CAST(regexp_replace({text}, '\\.0*$', '') AS {cast}) END"
    )


def amount_fen_sql(col: str, unit: str) -> str:
    """Exact conversion of a text or numeric amount column to integer fen: whole fen, or yuan with
    at most two decimals (trailing zeros aside); anything else is NULL (the row is rejected), never
    rounded."""
    if unit == "fen":
        return whole_number_sql(col)
    if unit == "yuan":
        text = _plain_number_sql(col)
        return (
            f"CASE WHEN regexp_full_match({text}, '[+-]?[0-9]+(\\.[0-9]{{0,2}}0*)?') "
            f"THEN TRY_CAST(TRY_CAST({text} AS DECIMAL(38, 4)) * 100 AS BIGINT) END"
        )
    raise ValidationError(f"amount unit {unit!r} is not 'fen' or 'yuan'", field="amount_unit", value=unit)


# a time of day followed by an offset: Z, ±HH, ±HHMM or ±HH:MM (a space before it allowed)
_OFFSET = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)? ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def time_utc_sql(col: str, naive_offset_hours: int) -> str:
    """Text or timestamp → TIMESTAMPTZ (UTC). Times with an offset are read as such (a TIMESTAMPTZ
    column's text carries one); naive times are shifted by the partner's offset; a time ending in
    letters (a zone name: ``CST`` is China or US Central) is NULL, because a TIMESTAMP cast would
    ignore it."""
    text = f"trim(CAST({col} AS VARCHAR))"
    with_offset = f"regexp_replace({text}, ' ([+-][0-9])', '\\1')"
    aware = f"to_timestamp(epoch(TRY_CAST({with_offset} AS TIMESTAMPTZ)))"
    naive = f"to_timestamp(epoch(TRY_CAST({text} AS TIMESTAMP)) - {int(naive_offset_hours) * 3600})"
    return (
        f"CASE WHEN regexp_matches({text}, '{_OFFSET}') THEN {aware} "
        f"WHEN regexp_matches({text}, '[A-Za-z]$') THEN NULL ELSE {naive} END"
    )


@dataclass
class LoadReport:
    """What happened to a raw file: rows read = rows kept + rows rejected + duplicates; the
    rejected rows per reason (count and an example value) and, when written, where they are."""

    rows_read: int
    rows_kept: int
    rejected: dict[str, tuple[int, str | None]]
    duplicates: int = 0
    rejected_path: Path | None = None
    what: str = "transfer"

    @property
    def rows_rejected(self) -> int:
        return sum(n for n, _ in self.rejected.values())

    def summary(self) -> str:
        parts = [f"{n} {reason} (e.g. {ex!r})" for reason, (n, ex) in self.rejected.items() if n]
        text = f"{self.rows_kept:,} of {self.rows_read:,} {self.what} rows kept"
        if self.duplicates:
            text += f"; {self.duplicates:,} duplicate(s) of an earlier row (same {self.what} id and values) skipped"
        if parts:
            text += f"; rejected: {'; '.join(parts)}"
        if self.rejected_path is not None:
            text += f"; rejected rows with their reasons: {self.rejected_path}"
        return text


# (condition, column shown as the example, reason): a row takes the first reason it meets
Check = tuple[str, str, str]
_TRANSFER_CHECKS: tuple[Check, ...] = (
    (
        "amount_fen IS NULL",
        "raw_amount",
        "amount is not a number in the stated unit (--amount-unit): whole fen, or yuan with at most 2 decimals",
    ),
    ("amount_fen <= 0", "raw_amount", "amount is not positive"),
    ('"at" IS NULL', "raw_time", "time is not a date-time (ISO 8601 expected)"),
    ("from_account IS NULL OR from_account = ''", "from_account", "from account is empty"),
    ("to_account IS NULL OR to_account = ''", "to_account", "to account is empty"),
    ("from_account = to_account", "from_account", "from account equals to account"),
    ("transfer_id IS NULL OR transfer_id = ''", "transfer_id", "transfer id is empty"),
)
CONFLICT = "transfer id already used by an earlier row with other values"
_DUPLICATE = "duplicate"


@dataclass(frozen=True)
class _Rows:
    """How one kind of partner record is read: ``fields`` (column → SQL over the file's row ``r``),
    the ``checks`` on them, the ``shown`` columns of the rejected-rows file (name → SQL), the
    ``key`` field naming a record (rows repeating a key are duplicates or conflicts), and the
    ``table`` select of the kept rows."""

    what: str
    fields: dict[str, str]
    checks: tuple[Check, ...]
    shown: dict[str, str]
    table: str
    key: str | None = None
    hint: str = ""


def _land(
    engine: Engine,
    path: str | Path,
    rows: _Rows,
    name: str,
    max_reject_share: float,
    rejected_out: str | Path | None,
) -> LoadReport:
    """Every row of ``path`` kept, rejected with one reason, or skipped as a duplicate; the kept
    rows registered as table ``name`` (in file order)."""
    if not 0 <= max_reject_share <= 1:
        raise ValidationError(
            f"the share of rejected rows allowed must be between 0 and 1, got {max_reject_share}",
            field="max_rejected",
            value=max_reject_share,
        )
    source = _reader(Path(path))
    reason = "CASE " + " ".join(f"WHEN {c} THEN {quote_literal(r)}" for c, _, r in rows.checks) + " END"
    fields = ",\n".join(f"{sql} AS {quote_ident(col)}" for col, sql in rows.fields.items())
    verdict = "reason"
    window = ""
    if rows.key:  # a key used again: the same values → duplicate, other values → conflict
        values = [quote_ident(c) for c in rows.fields if not c.startswith("raw_")]
        firsts = ", ".join(f"first_value({v}) OVER w" for v in values)
        verdict = f"""CASE WHEN reason IS NOT NULL OR __row = first_value(__row) OVER w THEN reason
            WHEN ({", ".join(values)}) = ({firsts}) THEN '{_DUPLICATE}' ELSE {quote_literal(CONFLICT)} END"""
        window = f"WINDOW w AS (PARTITION BY {quote_ident(rows.key)}, reason IS NULL ORDER BY __row)"
    raw = f"__raw_{name}"
    try:
        engine.execute(
            f"""CREATE OR REPLACE TEMP TABLE "{raw}" AS
            WITH r AS (SELECT row_number() OVER () AS __row, * FROM {source}),
            v AS (SELECT __row, {fields} FROM r),
            c AS (SELECT *, {reason} AS reason FROM v)
            SELECT * REPLACE ({verdict} AS reason) FROM c {window}"""
        )
    except EngineError as exc:
        raise _read_error(path, exc) from None
    try:
        counts = {
            r["reason"]: int(r["n"])
            for r in engine.query(f'SELECT reason, count(*) AS n FROM "{raw}" GROUP BY reason').to_pylist()
        }
        total = sum(counts.values())
        if total == 0:
            raise InputFileError(f"{path}: the {rows.what} file has no rows")
        examples = {r: c for _, c, r in rows.checks}
        if rows.key:
            examples[CONFLICT] = rows.key
        rejected: dict[str, tuple[int, str | None]] = {}
        for text, column in examples.items():
            n = counts.get(text, 0)
            example = None
            if n:
                example = engine.scalar(
                    f'SELECT {column} FROM "{raw}" WHERE reason = $r ORDER BY __row LIMIT 1', {"r": text}
                )
            rejected[text] = (n, example)
        written = None
        if rejected_out is not None and any(n for n, _ in rejected.values()):
            written = Path(rejected_out)
            written.parent.mkdir(parents=True, exist_ok=True)
            shown = ", ".join(f"{sql} AS {quote_ident(col)}" for col, sql in rows.shown.items())
            _write_csv(
                engine,
                f"""SELECT __row AS "row", {shown}, reason FROM "{raw}"
                    WHERE reason IS NOT NULL AND reason <> '{_DUPLICATE}' ORDER BY __row""",
                written,
            )
        engine.execute(
            f"""CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS
            SELECT {rows.table} FROM "{raw}" WHERE reason IS NULL ORDER BY __row"""
        )
    finally:
        engine.execute(f'DROP TABLE IF EXISTS "{raw}"')
    kept = int(engine.scalar(f"SELECT count(*) FROM {quote_ident(name)}"))
    report = LoadReport(total, kept, rejected, counts.get(_DUPLICATE, 0), written, rows.what)
    if report.rows_rejected > max_reject_share * total:
        raise ValidationError(
            f"{path}: too many rows rejected — {report.summary()}. Check the column mapping"
            f"{rows.hint}; if the rows are really bad, allow more with --max-rejected "
            f"(now {max_reject_share:g} of the rows)",
            field=name,
        )
    return report


def file_columns(engine: Engine, path: str | Path) -> list[str]:
    """The column names of a CSV / Parquet file."""
    return engine.query(f"SELECT * FROM {_reader(Path(path))} LIMIT 0").column_names


def _uneven(path: str | Path) -> InputFileError | None:
    """The error for a CSV file with a row of another width than its header (DuckDB's sniffer
    then reads the file as one column, so its columns look missing), or None."""
    from fanzha.ingest.readers import UNEVEN_FIX, _uneven_record

    path = Path(path)
    if path.name.lower().endswith(".parquet"):
        return None
    text = _utf8(path)
    problem = _uneven_record(text, text == path and path.name.lower().endswith((".gz", ".gzip")))
    return InputFileError(f"{path}: {problem}; {UNEVEN_FIX}") if problem else None


def _read_error(path: str | Path, exc: EngineError) -> Exception:
    """A parse error of a row of another width, in one line; other errors unchanged."""
    from fanzha.ingest.readers import UNEVEN_FIX, csv_problem

    problem = csv_problem(str(exc))
    return InputFileError(f"{path}: {problem}; {UNEVEN_FIX}") if problem else exc


def load_transfers(
    engine: Engine,
    path: str | Path,
    layout: TransferLayout,
    *,
    name: str = "transfers",
    max_reject_share: float = 0.01,
    rejected_out: str | Path | None = None,
) -> LoadReport:
    """Read ``path`` with ``layout`` and register it as table ``name``.

    Every row is kept, rejected with one reason (the first it meets: no amount, non-positive
    amount, no time, empty or equal accounts, empty transfer id, or a transfer id an earlier row
    used with other values), or skipped as a duplicate (an earlier row has the same transfer id and
    the same values; only with a transfer-id column). ``rejected_out``: a CSV written with the
    rejected rows (file row number, the raw values, the reason) when there are any — also when
    the load then fails. More than ``max_reject_share`` of the rows rejected is an error, because
    then the column mapping is probably wrong.
    """
    present = file_columns(engine, path)
    missing = [c for c in layout.columns() if c not in present]
    if missing:
        if uneven := _uneven(path):
            raise uneven
        raise InputFileError(
            f"{path}: column(s) {', '.join(missing)} not found; the file has {', '.join(present)}. "
            "Map them with --from-col/--to-col/--amount-col/--time-col/--tx-id-col"
        )
    col = lambda c: f"r.{quote_ident(c)}"  # noqa: E731  the file's column, not a field of the same name
    amount, time = col(layout.amount_col), col(layout.time_col)
    rows = _Rows(
        what="transfer",
        fields={
            "transfer_id": f"trim(CAST({col(layout.id_col)} AS VARCHAR))"
            if layout.id_col
            else "CAST(__row AS VARCHAR)",
            "from_account": f"trim(CAST({col(layout.from_col)} AS VARCHAR))",
            "to_account": f"trim(CAST({col(layout.to_col)} AS VARCHAR))",
            "amount_fen": amount_fen_sql(amount, layout.amount_unit),
            "at": time_utc_sql(time, layout.naive_utc_offset_hours),
            "raw_amount": f"CAST({amount} AS VARCHAR)",
            "raw_time": f"CAST({time} AS VARCHAR)",
        },
        checks=_TRANSFER_CHECKS,
        shown={
            "transfer_id": "transfer_id",
            "from_account": "from_account",
            "to_account": "to_account",
            "amount": "raw_amount",
            "time": "raw_time",
        },
        table="transfer_id, from_account, to_account, amount_fen, \"at\", 'online' AS channel",
        key="transfer_id" if layout.id_col else None,
        hint=" and --amount-unit",
    )
    return _land(engine, path, rows, name, max_reject_share, rejected_out)


CALL_REQUIRED = ("caller", "callee", "start_at", "duration_s")
CALL_OPTIONAL = ("direction", "city", "imei", "cell_id")


def load_calls(
    engine: Engine,
    path: str | Path,
    *,
    name: str = "calls",
    max_reject_share: float = 0.01,
    rejected_out: str | Path | None = None,
    naive_utc_offset_hours: int = 8,
) -> LoadReport:
    """A raw call-record file (columns ``caller, callee, start_at, duration_s`` and optionally
    ``direction, city, imei, cell_id``) as table ``name``, checked row by row like
    :func:`load_transfers`: empty numbers, an unreadable time, a duration that is not a whole
    number of seconds ≥ 0 (an empty one is kept as unknown), or a direction other than out / in
    reject the row with its reason.
    Duplicate calls are not decided here: the number features count a (caller, callee, start)
    once."""
    present = file_columns(engine, path)
    missing = [c for c in CALL_REQUIRED if c not in present]
    if missing:
        if uneven := _uneven(path):
            raise uneven
        raise InputFileError(
            f"{path}: column(s) {', '.join(missing)} not found; a call file needs {', '.join(CALL_REQUIRED)}"
            f" (optional: {', '.join(CALL_OPTIONAL)}); the file has {', '.join(present)}"
        )
    text = lambda c: f"nullif(trim(CAST(r.{quote_ident(c)} AS VARCHAR)), '')"  # noqa: E731
    fields = {
        "caller": text("caller"),
        "callee": text("callee"),
        "start_at": time_utc_sql('r."start_at"', naive_utc_offset_hours),
        "raw_time": 'CAST(r."start_at" AS VARCHAR)',
    }
    checks: list[Check] = [
        ("caller IS NULL", "caller", "caller is empty"),
        ("callee IS NULL", "callee", "callee is empty"),
        ("start_at IS NULL", "raw_time", "start time is not a date-time (ISO 8601 expected)"),
    ]
    shown = {"caller": "caller", "callee": "callee", "start_at": "raw_time"}
    fields["duration_s"] = whole_number_sql(f"r.{quote_ident('duration_s')}", "INTEGER")
    fields["raw_duration"] = text("duration_s")
    checks.append(
        (
            "raw_duration IS NOT NULL AND (duration_s IS NULL OR duration_s < 0)",
            "raw_duration",
            "duration is not a whole number of seconds ≥ 0",
        )
    )
    shown["duration_s"] = "raw_duration"
    if "direction" in present:
        fields["direction"] = f"lower({text('direction')})"
        checks.append(
            (
                "direction IS NOT NULL AND direction NOT IN ('out', 'in')",
                "direction",
                "direction is not out / in",
            )
        )
        shown["direction"] = "direction"
    for c in ("city", "imei", "cell_id"):
        if c in present:
            fields[c] = text(c)
    table = ", ".join(quote_ident(c) for c in fields if not c.startswith("raw_"))
    rows = _Rows("call", fields, tuple(checks), shown, table)
    report = _land(engine, path, rows, name, max_reject_share, rejected_out)
    _canonical_numbers(engine, name)
    return report


def _canonical_numbers(engine: Engine, name: str) -> None:
    """Callers and callees of table ``name`` in the records' spelling (the scalar normaliser on
    each distinct number not already an 11-digit mobile); non-numbers stay as written."""
    odd = engine.query(
        f"SELECT DISTINCT x FROM (SELECT caller AS x FROM {quote_ident(name)} UNION ALL "
        f"SELECT callee FROM {quote_ident(name)}) WHERE NOT regexp_full_match(x, '1[3-9][0-9]{{9}}')"
    ).column(0)
    spelled: dict[str, str] = {}
    for raw in odd.to_pylist():
        try:
            number = normalise_phone(raw)
        except ValidationError:
            continue
        if number != raw:
            spelled[raw] = number
    if not spelled:
        return
    engine.register("__call_numbers", pa.table({"raw": list(spelled), "number": list(spelled.values())}))
    cols = engine.query(f"SELECT * FROM {quote_ident(name)} LIMIT 0").column_names
    shown = ", ".join(
        f"coalesce({a}.number, c.{c}) AS {c}" if a else f"c.{c}"
        for c, a in ((quote_ident(col), {"caller": "a", "callee": "b"}.get(col)) for col in cols)
    )
    engine.execute(
        f"""CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS SELECT {shown}
        FROM (SELECT row_number() OVER () AS __row, * FROM {quote_ident(name)}) c
        LEFT JOIN __call_numbers a ON c.caller = a.raw LEFT JOIN __call_numbers b ON c.callee = b.raw
        ORDER BY c.__row"""
    )


def _write_csv(engine: Engine, sql: str, path: Path) -> None:
    """A query's rows to a CSV file, batch by batch (a badly mapped file can reject every row)."""
    from pyarrow import csv

    writer = None
    try:
        for batch in engine.batches(sql):
            if writer is None:
                writer = csv.CSVWriter(str(path), batch.schema)
            writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()


def load_labels(engine: Engine, path: str | Path, *, id_col: str, label_col: str) -> pa.Table:
    """A labels file → ``id`` (string), ``label`` (0/1). Non-binary labels are a clear error."""
    source = _reader(Path(path))
    present = engine.query(f"SELECT * FROM {source} LIMIT 0").column_names
    missing = [c for c in (id_col, label_col) if c not in present]
    if missing:
        raise InputFileError(
            f"{path}: column(s) {', '.join(missing)} not found; the file has {', '.join(present)}. "
            "Name them with --id-col / --label-col"
        )
    table = engine.query(
        f"""SELECT trim(CAST({quote_ident(id_col)} AS VARCHAR)) AS id,
                   lower(trim(CAST({quote_ident(label_col)} AS VARCHAR))) AS raw_label
            FROM {source}"""
    )
    table = labels_to_binary(table, str(path))
    # an id listed twice with the same label is one label (a join must not double its rows)
    return _first_per_id(table)


def _first_per_id(table: pa.Table) -> pa.Table:
    """One row per id (the labels of a repeated id agree: :func:`labels_to_binary` checked), in file order."""
    ids = table.column("id").to_pylist()
    keep, seen = [], set()
    for i, v in enumerate(ids):
        if v not in seen:
            seen.add(v)
            keep.append(i)
    return table if len(keep) == len(ids) else table.take(pa.array(keep))


_TRUE = {"1", "true", "t", "yes", "y", "1.0", "是"}
_FALSE = {"0", "false", "f", "no", "n", "0.0", "否"}


def labels_to_binary(table: pa.Table, where: str) -> pa.Table:
    ids = table.column("id").to_pylist()
    raw = table.column("raw_label").to_pylist()
    empty = [i for i, v in zip(ids, raw, strict=True) if v is None or v in ("", "nan", "none", "null")]
    if empty:
        raise ValidationError(
            f"{where}: {len(empty)} row(s) have no label (e.g. id {empty[0]!r}); label them 1 / 0 "
            "(true / false) or leave them out of the file",
            field="label",
        )
    bad = [(i, v) for i, v in zip(ids, raw, strict=True) if v not in _TRUE and v not in _FALSE]
    if bad:
        raise ValidationError(
            f"{where}: {len(bad)} label value(s) are not yes/no (1/0, true/false), e.g. {bad[0][1]!r} "
            f"(id {bad[0][0]!r})",
            field="label",
            value=bad[0][1],
        )
    labels = pa.array([1 if v in _TRUE else 0 for v in raw], pa.int8())
    seen: dict[object, int] = {}
    clashes = set()
    for i, v in zip(ids, labels.to_pylist(), strict=True):
        if seen.setdefault(i, v) != v:
            clashes.add(i)
    if clashes:
        example = sorted(clashes, key=str)[0]
        raise ValidationError(
            f"{where}: {len(clashes)} id(s) are labelled both 1 and 0, e.g. {example!r}; give each id one label",
            field="label",
            value=str(example),
        )
    return pa.table({"id": table.column("id"), "label": labels})
