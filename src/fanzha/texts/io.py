"""Reading training / scoring files (CSV or JSONL) with errors that name the file, row and fix."""

from __future__ import annotations

import codecs
import csv
import itertools
import json
from pathlib import Path

import pandas as pd

from fanzha.errors import InputFileError


def read_table(
    path: str | Path, columns: list[str] | None = None, *, encoding: str = "utf-8"
) -> pd.DataFrame:
    """A CSV (``.csv``, ``.tsv``) or JSON-lines (``.jsonl``, ``.json``) file as text columns.

    ``columns`` must all exist (the message lists the columns the file has). Undecodable bytes are an
    error, not silently replaced: give ``--encoding gb18030`` for files from Chinese Windows tools.
    """
    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"input file {file} does not exist")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputFileError(
            f"unknown encoding {encoding!r}; give e.g. --encoding utf-8 or gb18030"
        ) from None
    suffix = file.suffix.lower()
    try:
        if suffix in (".jsonl", ".json", ".ndjson"):
            frame, lines = _read_jsonl(file, encoding)
            for col in columns or []:
                if col in frame.columns:
                    nested = frame[col].map(lambda v: isinstance(v, dict | list)).to_numpy()
                    if nested.any():
                        raise InputFileError(
                            f"{file} line {lines[int(nested.nonzero()[0][0])]}: {col!r} is a JSON "
                            f"{'object' if isinstance(frame[col][nested].iloc[0], dict) else 'list'}, not text"
                        )
        elif suffix in (".csv", ".tsv", ".txt"):
            sep = "\t" if suffix == ".tsv" else ","
            # blank lines are rows (an empty text keeps its row number); blank lines at the end are not
            frame = pd.read_csv(
                file, sep=sep, dtype=str, keep_default_na=False, encoding=encoding, skip_blank_lines=False
            )
            blank = (frame == "").all(axis=1).to_numpy()
            if len(frame.columns) and blank.any():
                filled = (~blank).nonzero()[0]
                frame = frame.iloc[: (filled[-1] + 1) if len(filled) else 0].reset_index(drop=True)
            _check_header(file, sep, encoding)
        else:
            raise InputFileError(f"{file}: unknown file type {suffix!r}; use .csv, .tsv or .jsonl")
    except UnicodeDecodeError:
        at, line, raw = _first_bad_byte(file, encoding)
        raise InputFileError(
            f"{file} is not valid {encoding} text (byte {at} (line {line}): {raw!r}); "
            "pass the right --encoding (e.g. gb18030)"
        ) from None
    except UnicodeError as exc:  # e.g. utf-16 without a byte order mark
        raise InputFileError(
            f"{file} is not valid {encoding} text ({exc}); pass the right --encoding (e.g. utf-8 or gb18030)"
        ) from None
    except pd.errors.ParserError as exc:
        raise InputFileError(f"{file} is not a well-formed CSV: {str(exc).splitlines()[0]}") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{file} is empty") from None
    if frame.empty and not len(frame.columns):
        raise InputFileError(f"{file} has no data rows")
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputFileError(
                f"{file} has no column(s) {', '.join(missing)}; its columns are: {', '.join(map(str, frame.columns))}"
            )
    if frame.empty:
        raise InputFileError(f"{file} has no data rows")
    return frame


def _first_bad_byte(file: Path, encoding: str) -> tuple[int, int, bytes]:
    """Where the file stops decoding: its byte offset, line and first bad bytes (a reader's own
    exception counts the offset inside its chunk: 'byte 0' for a byte on line 20,002)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = number = 0
    with file.open("rb") as fh:
        for number, raw in enumerate(itertools.chain(fh, [b""]), 1):  # b"": the end (a cut character)
            held = decoder.getstate()[0]  # bytes of a character begun on the line before
            try:
                decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                line = number if exc.start >= len(held) and raw else number - 1
                return offset - len(held) + exc.start, line, exc.object[exc.start : exc.start + 4]
            offset += len(raw)
    return offset, number, b""


def _check_header(file: Path, sep: str, encoding: str) -> None:
    """Duplicate column names are an error: pandas would rename the second (``text.1``) and the
    command would read whichever one is named as asked, in silence."""
    with file.open("r", encoding=encoding, newline="") as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    names = [h.lstrip("\ufeff").strip() for h in header]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise InputFileError(
            f"{file}: column name(s) {', '.join(map(repr, dups))} appear more than once in the header; rename them"
        )


def _read_jsonl(file: Path, encoding: str) -> tuple[pd.DataFrame, list[int]]:
    """The rows, and the file line of each (blank lines skipped)."""
    rows = []
    lines = []
    # a UTF-8 byte order mark (Windows tools) is not part of the first line
    with file.open("r", encoding="utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(f"{file} line {n} is not valid JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise InputFileError(f"{file} line {n} is not a JSON object")
            rows.append(value)
            lines.append(n)
    # object columns keep each value as JSON gave it (a column of numbers with a gap would go
    # through float: 13800138000 → '13800138000.0'); numbers and booleans become their text
    frame = pd.DataFrame(rows, dtype=object)
    for column in frame.columns:
        frame[column] = frame[column].map(_json_text)
    return frame, lines


def _json_text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value if value != value else str(value)  # NaN stays missing
    return value
