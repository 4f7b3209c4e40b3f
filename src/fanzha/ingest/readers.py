"""Finding input files, telling their format, kind and encoding, and reading them as text in SQL.

Every reader yields the same relation: ``_line`` (the file's line number for CSV — header = line 1 —
or the 1-based record number for JSON Lines and Parquet) and ``_x_<field>`` VARCHAR per field of the
kind, so that one validation query (:mod:`fanzha.ingest.rules`) serves every format. DuckDB reads
the files (in parallel, streaming); only GBK / GB18030 files are first transcoded to UTF-8, in
chunks, because DuckDB reads UTF-8 natively and the encodings extension needs a download.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fanzha.errors import InputFileError, NotFoundError
from fanzha.ingest.rules import ident, lit
from fanzha.records.contracts import KINDS, get_spec

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
UTF8 = ("utf-8", "utf8", "utf-8-sig", "utf_8", "ascii")
SAMPLE_BYTES = 1 << 20
CHUNK = 1 << 22
JSON_SAMPLE = 20000  # JSON Lines records sampled for their keys


@dataclass(frozen=True)
class SourceFile:
    path: Path
    kind: str
    format: str  # csv | parquet | jsonl
    gzip: bool


def file_format(path: Path) -> tuple[str, bool]:
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] in {".gz", ".gzip"}
    main = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes and not gz else "")
    if main not in SUFFIXES:
        raise InputFileError(
            f"{path}: cannot tell the file format from its name; use .csv, .parquet or .jsonl (optionally .gz)"
        )
    return SUFFIXES[main], gz


def _is_data_file(path: Path) -> bool:
    if path.name.startswith((".", "_")) or not path.is_file():
        return False
    try:
        file_format(path)
    except InputFileError:
        return False
    return True


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if _is_data_file(p))


def _kind_of(path: Path) -> str | None:
    stem = path.name.split(".", 1)[0].lower()
    for candidate in (stem, path.parent.name.lower()):
        if candidate in KINDS:
            return candidate
    return None


def _in_kind_folder(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return len(parts) == 1 or parts[0].lower() in KINDS


def discover(path: str | Path, kind: str | None = None) -> list[SourceFile]:
    """The files to ingest under ``path``, each with its kind.

    ``path`` is a file or a folder. Without ``kind``, a folder whose sub-folders are named by kinds
    (the simulator's ``DIR/<kind>/part-*.parquet``) is read kind by kind, and a file named after a
    kind (``calls.csv``) or inside a folder named after one takes that kind.
    """
    root = Path(path)
    if kind is not None:
        get_spec(kind)  # unknown kind: NotFoundError naming the choices
    if not root.exists():
        raise InputFileError(f"{root}: no such file or folder; check the path")
    if root.is_file():
        found = [root]
    else:
        found = _files_under(root)
        if kind is None:  # only DIR/<kind>.* and DIR/<kind>/…: other folders (truth/) are not records
            found = [p for p in found if _kind_of(p) is not None and _in_kind_folder(p, root)]
        if not found:
            raise InputFileError(
                f"{root}: no .csv, .parquet or .jsonl files"
                + ("" if kind else " in folders named by record kind (e.g. calls/)")
                + " found; check the path"
            )
    files = []
    for p in found:
        k = kind or _kind_of(p)
        if k is None:
            raise NotFoundError(
                f"{p}: cannot tell the record kind from the file name; pass --kind (one of {', '.join(KINDS)})"
            )
        fmt, gz = file_format(p)
        files.append(SourceFile(p, k, fmt, gz))
    return files


# -- encodings ---------------------------------------------------------------------------------


def _open_bytes(src: SourceFile) -> IO[bytes]:
    if src.gzip:
        return gzip.open(src.path, "rb")  # type: ignore[return-value]
    return open(src.path, "rb")


def _sample(src: SourceFile) -> bytes:
    try:
        with _open_bytes(src) as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise InputFileError(
            f"{src.path}: cannot be read ({exc}); check the file and its permissions"
        ) from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(src: SourceFile, given: str | None = None) -> str:
    """``utf-8`` (with or without BOM) or ``gb18030`` (which reads GBK and GB2312), or ``given``."""
    if src.format == "parquet":
        return "binary"
    sample = _sample(src)
    if not sample.strip():
        raise InputFileError(f"{src.path}: the file is empty; export it again with a header row and data")
    if given:
        try:
            codecs.lookup(given)
        except LookupError:
            raise InputFileError(f"unknown encoding {given!r}; use utf-8, gbk or gb18030") from None
        if not _decodes(_without_bom(sample, given), given):
            guess = next((e for e in ("utf-8", "gb18030") if _decodes(sample, e)), None)
            hint = f"it looks like {guess}: pass --encoding {guess}" if guess else "check how it was exported"
            raise InputFileError(f"{src.path}: is not valid {given} text near the start; {hint}")
        return given.lower()
    if _decodes(sample, "utf-8"):
        return "utf-8"
    if _decodes(_without_bom(sample, "gb18030"), "gb18030"):  # a UTF-8 mark on GBK: a tool added it
        return "gb18030"
    raise InputFileError(
        f"{src.path}: is neither UTF-8 nor GBK/GB18030 text; pass --encoding with the right codec"
    )


def _without_bom(data: bytes, encoding: str) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark unless read as UTF-8 (which drops it)."""
    if codecs.lookup(encoding).name.startswith("utf-8"):
        return data
    return data.removeprefix(codecs.BOM_UTF8)


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def transcode(src: SourceFile, encoding: str, target: Path) -> Path:
    """Copy a text file to UTF-8 in chunks (memory bounded); bad bytes name their line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 1
    target.parent.mkdir(parents=True, exist_ok=True)
    with _open_bytes(src) as fh, open(target, "w", encoding="utf-8", newline="") as out:
        for n, chunk in enumerate(_chunks(fh)):
            chunk = _without_bom(chunk, encoding) if n == 0 else chunk
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = lines + chunk[: exc.start].count(b"\n")
                raise InputFileError(
                    f"{src.path}: line {line} is not valid {encoding}; pass the right --encoding or fix that line"
                ) from None
            lines += text.count("\n")
            out.write(text)
        out.write(decoder.decode(b"", final=True))
    return target


# -- reading as text -----------------------------------------------------------------------------


def _as_text(column: str, duck_type: str, *, quoted: bool = False) -> str:
    """SQL turning a typed column (or, ``quoted``, an expression) into the text the scalar
    normalisers accept for that value."""
    col = column if quoted else ident(column)
    t = duck_type.upper()
    if t == "VARCHAR":
        return col
    if t == "JSON":  # a JSON Lines value, whatever its type on this line
        number = _as_text(f"CAST({col} AS DOUBLE)", "DOUBLE", quoted=True)
        return (
            f"(CASE json_type({col}) WHEN 'VARCHAR' THEN {col} ->> '$' WHEN 'DOUBLE' THEN {number} "
            f"WHEN 'ARRAY' THEN array_to_string(json_extract_string({col}, '$[*]'), ';') "
            f"WHEN 'NULL' THEN NULL ELSE CAST({col} AS VARCHAR) END)"
        )
    if t == "BLOB":  # text written as plain binary; bytes that are not UTF-8 stay escaped (\xFF)
        return f"coalesce(try(decode({col})), CAST({col} AS VARCHAR))"
    if t.endswith("[]"):
        return f"array_to_string(list_transform({col}, lambda v: CAST(v AS VARCHAR)), ';')"
    if t in {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP"}:
        # whole seconds as the canonical naive Shanghai text (the rules' fast path), same instant
        wall = f"CAST({col} AS TIMESTAMP) + INTERVAL 8 HOUR" if t != "TIMESTAMP" else col
        return (
            f"(CASE WHEN epoch_us({col}) % 1000000 = 0 AND {col} >= TIMESTAMP '1000-01-01' "
            f"THEN strftime({wall}, '%Y-%m-%d %H:%M:%S') ELSE CAST({col} AS VARCHAR) END)"
        )
    if t in {"DOUBLE", "FLOAT", "REAL"} or t.startswith("DECIMAL"):
        return (
            f"(CASE WHEN {col} = trunc({col}) AND abs({col}) < 1e18 THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({col} AS VARCHAR) END)"
        )
    return f"CAST({col} AS VARCHAR)"


def _reader(src: SourceFile, path: Path, encoding: str) -> str:
    p = lit(str(path))
    if src.format == "parquet":
        return f"read_parquet({p}, file_row_number = true)"
    if src.format == "jsonl":
        return f"read_json({p}, format = 'newline_delimited', sample_size = {JSON_SAMPLE})"
    # the quote is given: DuckDB's sniffer reads "no quoting" when its sample holds no quote, and a
    # quoted value after the sample (a comma or a line break inside) then fails the file
    return f"read_csv({p}, all_varchar = true, header = true, quote = '\"')"


@dataclass(frozen=True)
class Source:
    """How to read one file as text: ``sql`` gives ``_line`` and the ``_x_<field>`` columns;
    ``text_sql`` only the ``_x_<field>`` columns, in file order, whose row ``i`` (from 0) is line
    ``first_line + i`` (streamed without the window function that numbers the lines)."""

    sql: str
    text_sql: str
    first_line: int


def source_sql(con: Any, src: SourceFile, encoding: str, workdir: Path) -> Source:
    """How to read one file: the SELECT giving ``_line`` and ``_x_<field>`` text columns, and more.

    Raises :class:`InputFileError` when a required column is missing or the file cannot be parsed.
    """
    path = src.path
    if src.format != "parquet" and encoding.replace("_", "-") not in UTF8:
        path = transcode(
            src, encoding, workdir / "utf8.csv" if src.format == "csv" else workdir / "utf8.jsonl"
        )
    reader = _reader(src, path, encoding)
    numbered = src.format == "parquet"  # DuckDB numbers the rows of a Parquet file (file_row_number)
    try:
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except Exception as exc:
            if not (numbered and "file_row_number" in str(exc)):
                raise
            # the file has a column of that name itself: rows numbered in file order instead
            numbered, reader = False, f"read_parquet({lit(str(path))})"
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except Exception as exc:  # duckdb.Error: parse problems of any kind
        raise InputFileError(f"{src.path}: cannot be read as {src.format}: {_first_line(exc)}") from None
    types = {str(name): str(typ) for name, typ, *_ in described}
    by_field = {name.strip().lower().lstrip("\ufeff"): name for name in types}
    spec = get_spec(src.kind)
    missing = [f.name for f in spec.fields if f.required and f.name not in by_field]
    if missing and src.format == "csv" and (uneven := _uneven_record(path, src.gzip and path == src.path)):
        # DuckDB's sniffer, meeting a row of another width, reads the file as one column
        raise InputFileError(f"{src.path}: {uneven}; {UNEVEN_FIX}")
    if missing and src.format == "jsonl" and list(types) == ["json"]:
        # DuckDB reads lines that are arrays or plain values as one column named json
        raise InputFileError(
            f"{src.path}: its lines are not JSON objects; JSON Lines hold one object per line, "
            '{"field": value, …}, with the fields of kind ' + repr(src.kind)
        )
    if missing:
        # the row number DuckDB adds to a Parquet file is not one of the file's columns
        found = [n for n in types if not (numbered and n == "file_row_number")]
        raise InputFileError(
            f"{src.path}: missing required column {missing[0]!r} for kind {src.kind!r} "
            f"(columns found: {', '.join(found) or 'none'}); rename the header or pass the right --kind"
        )
    if src.format == "jsonl":
        # every value read as JSON: the types inferred from the sample failed the whole file on a
        # key whose type changes later (a number, then text) or that first appears after it, and
        # a key of several types in the sample came out as JSON text with its quotes
        names = {f.name: by_field.get(f.name, f.name) for f in spec.fields}
        struct = ", ".join(f"{lit(n)}: 'JSON'" for n in names.values())
        reader = f"read_json({lit(str(path))}, format = 'newline_delimited', columns = {{{struct}}})"
        types, by_field = {n: "JSON" for n in names.values()}, names
    cols = []
    for f in spec.fields:
        name = by_field.get(f.name)
        expr = _as_text(name, types[name]) if name is not None else "CAST(NULL AS VARCHAR)"
        cols.append(f"{expr} AS {ident('_x_' + f.name)}")
    line = (
        "file_row_number + 1"
        if numbered
        else "row_number() OVER () + 1"
        if src.format == "csv"
        else "row_number() OVER ()"
    )
    return Source(
        f"SELECT {line} AS _line, {', '.join(cols)} FROM {reader}",
        f"SELECT {', '.join(cols)} FROM {reader}",
        2 if src.format == "csv" else 1,
    )


UNEVEN_FIX = "quote the values that hold the delimiter, or fix that line and export the file again"


def _uneven_record(path: Path, gz: bool) -> str | None:
    """The first record of a CSV file whose number of fields differs from the header's (or that
    cannot be parsed), described for an error message; None when every record fits."""
    with (gzip.open if gz else open)(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
        header = fh.readline()
        delimiter = max(",\t;|", key=header.count)
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            width = len(next(reader, []))
            for record in reader:
                if record and len(record) != width:
                    return f"line {reader.line_num} has {len(record)} fields where the header has {width}"
        except csv.Error as exc:
            return f"line {reader.line_num} cannot be parsed ({exc})"
    return None


def csv_problem(message: str) -> str | None:
    """DuckDB's error for a CSV row of the wrong width, in a few words; None for other errors."""
    line = re.search(r"CSV Error on Line: (\d+)", message)
    width = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if line and width:
        return f"line {line[1]} has {width[2]} fields where the header has {width[1]}"
    return None


def _first_line(exc: BaseException) -> str:
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
    return "; ".join(lines[:2]) if lines else type(exc).__name__
