"""Landing files: formats, encodings, accounting, idempotence, conflicts, errors, the lake's types."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from ingest_helpers import CALL

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.errors import FanzhaError, InputFileError, NotFoundError
from fanzha.ingest import catalog
from fanzha.ingest.api import ingest_path
from fanzha.ingest.lake import attach_lake
from fanzha.ingest.report import ingest_summary
from fanzha.records import samples
from fanzha.records.contracts import KINDS


def calls(n: int, **change: str) -> list[dict[str, str]]:
    return [dict(CALL, start_at=f"2024-05-01 13:{i // 60:02d}:{i % 60:02d}", **change) for i in range(n)]


def test_accounting_and_lake_types(settings, tmp_path, write, read_lake):
    rows = [*calls(5), dict(CALL, caller="12", start_at="2024-05-02 00:00:00"), dict(CALL, duration_s="1.5")]
    path = write(tmp_path / "calls.csv", "calls", rows)
    report = ingest_path(path, "calls", settings)
    f = report.files[0]
    assert (f.rows_read, f.landed, f.rejected, f.duplicates, f.status) == (7, 5, 2, 0, "committed")
    assert f.balanced and len(f.sha256) == 64
    landed = read_lake(settings, "calls", "start_at")
    assert landed[0]["start_at"] == datetime(2024, 5, 1, 5, 0, tzinfo=UTC)  # naive Shanghai → UTC
    assert landed[0]["duration_s"] == 60 and landed[0]["imei"] is None
    import pyarrow.parquet as pq

    schema = pq.read_schema(next(Path(settings.lake).glob("calls/*/*.parquet")))
    assert schema.field("start_at").type in (pa.timestamp("us", tz="UTC"), pa.timestamp("us", tz="+00:00"))
    assert schema.field("duration_s").type == pa.int32()
    # partitioned by the Shanghai day of start_at
    days = sorted(p.parent.name for p in Path(settings.lake).glob("calls/*/*.parquet"))
    assert days == ["day=2024-05-01"]
    # quarantine: every reason, the line number and the raw values
    with catalog.read_catalog(settings) as cat:
        q = cat.execute("SELECT line, reasons, raw FROM quarantine ORDER BY line").fetchall()
    assert [line for line, _, _ in q] == [7, 8]  # header is line 1
    assert q[0][1] == [
        "caller: phone number '12' is neither an 11-digit mobile (1[3-9]…), a landline 0…, "
        "a service code, a 400 / 800 hotline nor an international +… number"
    ]
    assert '"caller":"12"' in q[0][2]
    assert report.top_reasons[0][1] == 1


def test_idempotent_and_conflicts(settings, tmp_path, write, read_lake):
    path = write(tmp_path / "a.csv", "calls", calls(20))
    first = ingest_path(path, "calls", settings)
    again = ingest_path(path, "calls", settings)
    assert (first.landed, again.landed, again.duplicates, again.rejected) == (20, 0, 20, 0)
    assert len(read_lake(settings, "calls")) == 20
    # same key, other content → rejected; in-file duplicates counted; new rows land
    changed = (
        [dict(calls(20)[0], duration_s="61")] + calls(3) + [dict(CALL, start_at="2024-05-03 10:00:00")] * 2
    )
    report = ingest_path(write(tmp_path / "b.csv", "calls", changed), "calls", settings)
    f = report.files[0]
    assert (f.rows_read, f.landed, f.rejected, f.duplicates) == (6, 1, 1, 4)
    assert any("conflicts with an already landed record" in r for r, _ in report.top_reasons)
    assert len(read_lake(settings, "calls")) == 21


def test_in_file_conflict_keeps_the_first(settings, tmp_path, write, read_lake):
    rows = [CALL, dict(CALL, duration_s="99"), CALL]
    f = ingest_path(write(tmp_path / "c.csv", "calls", rows), "calls", settings).files[0]
    assert (f.landed, f.rejected, f.duplicates) == (1, 1, 1)
    assert read_lake(settings, "calls")[0]["duration_s"] == 60


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.jsonl", "t.jsonl.gz", "t.parquet"])
def test_formats(settings, tmp_path, write, read_lake, name):
    rows = [*calls(4), dict(CALL, direction="sideways")]
    report = ingest_path(write(tmp_path / name, "calls", rows), "calls", settings)
    assert (report.rows_read, report.landed, report.rejected) == (5, 4, 1)
    assert {r["caller"] for r in read_lake(settings, "calls")} == {"13800138000"}


def test_typed_parquet_columns(settings, tmp_path, read_lake):
    """Typed Parquet (the simulator's) reads as the values those types hold."""
    import pyarrow.parquet as pq

    at = datetime(2024, 5, 1, 5, 45, tzinfo=UTC)
    table = pa.table(
        {
            "transfer_id": ["T1", "T2"],
            "from_account": ["6222021234567890", "6222021234567891"],
            "to_account": ["6222021234567899", "6222021234567898"],
            "amount_fen": pa.array([1000, 250], pa.int64()),
            "at": pa.array([at, at], pa.timestamp("us", tz="UTC")),
            "channel": ["mobile", "crypto_otc"],
        }
    )
    pq.write_table(table, tmp_path / "transfers.parquet")
    report = ingest_path(tmp_path / "transfers.parquet", None, settings)  # kind from the file name
    assert report.landed == 2
    assert {r["amount_fen"] for r in read_lake(settings, "transfers")} == {1000, 250}
    assert read_lake(settings, "transfers")[0]["at"] == at


def test_parquet_text_in_binary_columns(settings, tmp_path, read_lake):
    """Exports that write strings as plain BINARY (no UTF8 annotation): Chinese text landed as
    its escaped bytes ('\\xE6\\x88\\x90…') instead of the text."""
    import pyarrow.parquet as pq

    text = lambda *v: pa.array([x.encode() for x in v], pa.binary())  # noqa: E731
    table = pa.table(
        {
            "caller": text("13800138000", "13800138000"),
            "callee": text("13900139000", "13900139000"),
            "start_at": text("2024-05-01 13:45:00", "2024-05-01 13:46:00"),
            "duration_s": text("60", "61"),
            "direction": text("out", "in"),
            "cell_id": text("成都武侯基站", "C1"),
        }
    )
    pq.write_table(table, tmp_path / "calls.parquet")
    assert ingest_path(tmp_path / "calls.parquet", "calls", settings).landed == 2
    assert [r["cell_id"] for r in read_lake(settings, "calls", "start_at")] == ["成都武侯基站", "C1"]


@pytest.mark.parametrize("lines", ["[1, 2]\n[3, 4]\n", "5\n6\n"])
def test_json_lines_that_are_no_objects(settings, tmp_path, lines):
    """Arrays or plain values per line: the error said 'missing required column' (QA round)."""
    path = tmp_path / "t.jsonl"
    path.write_text(lines, "utf-8")
    with pytest.raises(InputFileError, match="its lines are not JSON objects"):
        ingest_path(path, "transfers", settings)


def test_json_lines_whose_value_types_vary(settings, tmp_path, read_lake):
    """A key holding a number on one line and text on another (or first seen after the sample):
    the values were read as JSON text (quotes kept, every row rejected), or the file failed."""
    import json

    lines = [
        dict(CALL, caller=13800138000, duration_s=60),
        dict(CALL, start_at="2024-05-01 13:46:00", duration_s="61"),
        dict(CALL, start_at=1714542420, imei=None),  # epoch seconds: 2024-05-01 13:47 Shanghai
        *[
            dict(CALL, caller=13800138000, start_at=f"2024-05-02 10:{i // 60:02d}:{i % 60:02d}")
            for i in range(3000)
        ],
        dict(
            CALL, caller="+86 138 0013 8000", start_at="2024-05-03 10:00:00", city=510104.0, cell_id=["C", 1]
        ),
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    # the sample of the file's types ends before the last line
    from fanzha.ingest import readers

    readers.JSON_SAMPLE, old = 1000, readers.JSON_SAMPLE
    try:
        report = ingest_path(path, "calls", settings)
    finally:
        readers.JSON_SAMPLE = old
    assert (report.rows_read, report.landed, report.rejected) == (3004, 3004, 0)
    first = read_lake(settings, "calls", "start_at")
    assert [(r["caller"], r["duration_s"]) for r in first[:3]] == [("13800138000", d) for d in (60, 61, 60)]
    assert first[2]["start_at"] == datetime(2024, 5, 1, 5, 47, tzinfo=UTC)
    assert (first[-1]["city"], first[-1]["cell_id"]) == ("510104", "C;1")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_chinese_encodings_detected(settings, tmp_path, write, read_lake, encoding):
    rows = [dict(CALL, cell_id="成都武侯基站"), dict(CALL, direction="in", cell_id="北京")]
    path = write(tmp_path / "calls.csv", "calls", rows, encoding=encoding)
    assert ingest_path(path, "calls", settings).landed == 2
    assert {r["cell_id"] for r in read_lake(settings, "calls")} == {"成都武侯基站", "北京"}


@pytest.mark.parametrize("cell", ["成都, 武侯", "成都\n武侯", 'the "A" cell'])
def test_first_quoted_value_after_the_sniffed_sample(settings, tmp_path, write, read_lake, cell):
    """A value quoted because it holds the delimiter, a line break or a quote, first seen after
    the rows DuckDB samples for the dialect: the file failed with a multi-line parser error."""
    from datetime import timedelta

    start = datetime(2024, 5, 1)
    rows = [dict(CALL, start_at=str(start + timedelta(seconds=i)), cell_id="C") for i in range(29_999)]
    rows.append(dict(CALL, start_at="2024-05-02 09:00:00", cell_id=cell))
    report = ingest_path(write(tmp_path / "calls.csv", "calls", rows), "calls", settings)
    assert (report.rows_read, report.landed) == (30_000, 30_000)
    assert read_lake(settings, "calls", "start_at")[-1]["cell_id"] == cell


@pytest.mark.parametrize("given", [None, "gb18030"])
def test_gbk_behind_a_utf8_bom(settings, tmp_path, write, read_lake, given):
    """A GBK export with a UTF-8 byte-order mark in front (a tool added it): detected as UTF-8 for
    the mark, it failed with "CSV Error on Line: 2; Original Line: caller,callee,…"; with
    --encoding gb18030 the mark became part of the first column's name."""
    path = write(tmp_path / "calls.csv", "calls", [dict(CALL, cell_id="成都武侯基站")], encoding="gbk")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    report = ingest_path(path, "calls", settings, encoding=given)
    assert (report.landed, report.files[0].encoding) == (1, "gb18030")
    assert read_lake(settings, "calls")[0]["cell_id"] == "成都武侯基站"


def test_wrong_encoding_is_a_clear_error(settings, tmp_path, write):
    path = write(tmp_path / "calls.csv", "calls", [dict(CALL, cell_id="成都")], encoding="gbk")
    with pytest.raises(InputFileError, match=r"calls.csv: is not valid utf-8.*--encoding gb18030"):
        ingest_path(path, "calls", settings, encoding="utf-8")
    assert not Path(settings.lake, "calls").exists()


@pytest.mark.parametrize(
    ("setup", "kind", "error", "match"),
    [
        ("missing", "calls", InputFileError, "no such file or folder"),
        ("empty", "calls", InputFileError, "the file is empty"),
        ("column", "calls", InputFileError, "missing required column 'start_at' for kind 'calls'"),
        ("good", "callz", NotFoundError, "unknown record kind 'callz'"),
        ("binary", "calls", InputFileError, "cannot be read as parquet"),
        ("noformat", "calls", InputFileError, "cannot tell the file format"),
    ],
)
def test_bad_input_errors(settings, tmp_path, write, setup, kind, error, match):
    path = tmp_path / "in.csv"
    if setup == "empty":
        path.write_bytes(b"")
    elif setup == "column":
        write(path, "calls", [CALL], columns=["caller", "callee", "duration_s", "direction"])
    elif setup == "good":
        write(path, "calls", [CALL])
    elif setup == "binary":
        path = tmp_path / "in.parquet"
        path.write_bytes(b"PAR1 this is not parquet at all")
    elif setup == "noformat":
        path = tmp_path / "in.xlsx"
        path.write_bytes(b"x")
    with pytest.raises(error, match=match) as info:
        ingest_path(path, kind, settings)
    assert "\n" not in str(info.value) and isinstance(info.value, FanzhaError)
    assert not list(Path(settings.lake).glob("*/**/*.parquet"))  # nothing half-written


@pytest.mark.parametrize(("rows_before", "cut"), [(3, -1), (3, 1), (30_000, -1), (30_000, 1)])
def test_a_row_of_another_width_names_its_line(settings, tmp_path, write, rows_before, cut):
    """A row with a field too few or too many: in DuckDB's sniffing sample the file was read as
    one column ("missing required column 'caller' (columns found: caller,callee,…)"); after it,
    DuckDB's multi-line parser report ended in "check the path and its permissions"."""
    from datetime import timedelta

    start = datetime(2024, 5, 1)
    rows = [dict(CALL, start_at=str(start + timedelta(seconds=i))) for i in range(rows_before + 1)]
    path = write(tmp_path / "calls.csv", "calls", rows)
    lines = path.read_text().splitlines()
    bad = rows_before + 1  # the last row; the header is line 1
    lines[bad] = lines[bad] + ",extra" if cut > 0 else lines[bad].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    width = len(CALL) + cut
    with pytest.raises(
        InputFileError, match=rf"calls.csv: line {bad + 1} has {width} fields where the header has 8; quote"
    ) as info:
        ingest_path(path, "calls", settings)
    assert "\n" not in str(info.value)
    assert not list(Path(settings.lake).glob("*/**/*.parquet"))


def test_header_only_file_lands_nothing_and_is_logged(settings, tmp_path):
    """A partner's extract for a day without records is a header alone: 0 rows, not an error."""
    path = tmp_path / "calls.csv"
    path.write_text(",".join(CALL) + "\n")
    report = ingest_path(path, "calls", settings)
    (file_report,) = report.files
    assert (file_report.rows_read, file_report.landed, file_report.rejected) == (0, 0, 0)
    assert not list(Path(settings.lake).glob("*/**/*.parquet"))
    (logged,) = ingest_summary(settings)["files"]
    assert (logged["status"], logged["rows_read"]) == ("committed", 0)


def test_missing_column_of_a_parquet_file_lists_only_its_columns(settings, tmp_path, write):
    """The list of columns found ended in 'file_row_number', the row number DuckDB adds (QA: docs)."""
    path = write(tmp_path / "in.parquet", "calls", [CALL], columns=["caller", "callee", "duration_s"])
    with pytest.raises(InputFileError, match=r"missing required column 'start_at'") as info:
        ingest_path(path, "calls", settings)
    assert "(columns found: caller, callee, duration_s);" in str(info.value)


def test_a_parquet_file_with_its_own_file_row_number_column_is_read(settings, tmp_path):
    """Found by QA: a Parquet export holding a column named file_row_number (the name DuckDB gives
    its own row numbers) could not be read at all ("Option file_row_number adds column …")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [dict(CALL, caller=f"1380013800{i}") for i in range(3)]
    table = pa.table({**{k: [r[k] for r in rows] for k in CALL}, "file_row_number": [7, 8, 9]})
    pq.write_table(table, tmp_path / "in.parquet")
    others = [
        dict(r, caller=f"1390013900{i}", duration_s=d)
        for i, (r, d) in enumerate(zip(rows, "5x9", strict=True))
    ]
    bad = pa.table({**{k: [r[k] for r in others] for k in CALL}, "file_row_number": [7, 8, 9]})
    pq.write_table(bad, tmp_path / "bad.parquet")
    f = ingest_path(tmp_path / "in.parquet", "calls", settings).files[0]
    assert (f.rows_read, f.landed, f.rejected) == (3, 3, 0)
    g = ingest_path(tmp_path / "bad.parquet", "calls", settings).files[0]
    assert (g.rows_read, g.landed, g.rejected) == (3, 2, 1)


def test_folder_checked_before_anything_lands(settings, tmp_path, write):
    write(tmp_path / "in" / "a.csv", "calls", [CALL])
    write(tmp_path / "in" / "b.csv", "calls", [CALL], columns=["caller"])
    with pytest.raises(InputFileError, match=r"b.csv: missing required column"):
        ingest_path(tmp_path / "in", "calls", settings)
    assert not list(Path(settings.lake).glob("*/**/*.parquet"))


def test_simulator_layout_kind_by_kind(settings, tmp_path, write, read_lake):
    sim = tmp_path / "sim"
    rnd = random.Random(1)
    for kind in ("people", "accounts", "cases"):
        write(sim / kind / "part-00000.parquet", kind, [samples.valid_row(kind, rnd) for _ in range(5)])
    write(sim / "truth" / "entities.parquet", "calls", [CALL])  # not a kind: ignored
    (sim / "manifest.json").write_text("{}")
    report = ingest_path(sim, None, settings)
    assert set(report.by_kind()) == {"people", "accounts", "cases"}
    assert report.landed == 15
    lake = Path(settings.lake)
    assert {p.parent.name.split("=")[0] for p in lake.glob("accounts/*/*.parquet")} == {"month"}
    assert [p.parent.name for p in lake.glob("people/*/*.parquet")] == ["day=none"]
    with DuckDBEngine() as engine:
        assert attach_lake(engine, settings) == ["accounts", "cases", "people"]
        lists = engine.query("SELECT suspect_phones FROM cases").schema.field("suspect_phones").type
    assert lists == pa.list_(pa.string())


def test_every_kind_lands(settings, tmp_path, write):
    for kind in KINDS:
        rows = samples.sample_rows(kind, 30, seed=2, invalid_share=0.3)
        f = ingest_path(write(tmp_path / f"{kind}.csv", kind, rows), kind, settings).files[0]
        assert f.balanced and f.landed > 0 and f.rejected > 0, kind


def test_report_summary(settings, tmp_path, write):
    assert ingest_summary(settings)["files"] == []
    ingest_path(
        write(tmp_path / "calls.csv", "calls", [*calls(3), dict(CALL, caller="x")]), "calls", settings
    )
    summary = ingest_summary(settings)
    assert summary["kinds"][0]["landed"] == 3 and summary["lake"][0]["rows"] == 3
    assert summary["top_reasons"] == [("caller: phone number … has characters other than digits", 1)]


def test_cli(settings, tmp_path, write):
    from typer.testing import CliRunner

    from fanzha.cli.main import app

    path = write(tmp_path / "calls.csv", "calls", calls(3))
    runner = CliRunner()
    out = runner.invoke(app, ["ingest", str(path), "--kind", "calls"])
    assert out.exit_code == 0, out.output
    assert "calls" in out.output and "3" in out.output
    out = runner.invoke(app, ["ingest-report", "--json"])
    assert '"landed": 3' in out.output
    out = runner.invoke(app, ["records", "calls"])
    assert "duration_s" in out.output and "caller" in out.output


def test_cli_error_exit_code(settings, tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "fanzha.cli.main", "ingest", str(tmp_path / "nope.csv"), "--kind", "calls"],
        capture_output=True,
        text=True,
        env={"FANZHA_HOME": str(settings.home), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 2
    assert "no such file or folder" in " ".join(run.stderr.split()) and "Traceback" not in run.stderr
    assert run.stdout == ""  # the progress bar of a pipe left a blank line (QA: docs)


def test_cli_json_report_is_the_only_output(settings, tmp_path, write):
    import json
    import subprocess
    import sys

    path = write(tmp_path / "calls.csv", "calls", calls(3))
    run = subprocess.run(
        [sys.executable, "-m", "fanzha.cli.main", "ingest", str(path), "--kind", "calls", "--json"],
        capture_output=True,
        text=True,
        env={"FANZHA_HOME": str(settings.home), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("{") and json.loads(run.stdout)["landed"] == 3


def _days_calls(days: int, per_day: int) -> list[dict[str, str]]:
    return [
        dict(CALL, start_at=f"2024-05-{d + 1:02d} 13:00:{i:02d}", duration_s=str(10 + i))
        for d in range(days)
        for i in range(per_day)
    ]


@pytest.mark.parametrize("copies", [64, 1])  # one COPY per day, and the PARTITION_BY fallback
def test_partitions_written_per_day_or_by_fallback(settings, tmp_path, write, read_lake, monkeypatch, copies):
    from fanzha.ingest import land

    monkeypatch.setattr(land, "MAX_PARTITION_COPIES", copies)
    rows = [*_days_calls(3, 4), dict(CALL, start_at="2024-05-01 13:00:00", duration_s="10")]  # one dup
    report = ingest_path(write(tmp_path / "calls.csv", "calls", rows), "calls", settings)
    f = report.files[0]
    assert (f.rows_read, f.landed, f.rejected, f.duplicates) == (13, 12, 0, 1)
    files = sorted(
        p.relative_to(settings.lake).as_posix() for p in Path(settings.lake).glob("calls/*/*.parquet")
    )
    assert [p.split("/")[1] for p in files] == ["day=2024-05-01", "day=2024-05-02", "day=2024-05-03"]
    landed = read_lake(settings, "calls", "start_at")
    assert len(landed) == 12 and sorted(r["duration_s"] for r in landed) == sorted([10, 11, 12, 13] * 3)
    with catalog.read_catalog(settings) as cat:
        per_file = cat.execute("SELECT day, rows FROM lake_files ORDER BY day").fetchall()
    assert per_file == [("2024-05-01", 4), ("2024-05-02", 4), ("2024-05-03", 4)]


def test_lake_keys_checked_only_on_the_files_days(settings, tmp_path, write, read_lake):
    from fanzha.ingest import land
    from fanzha.records.contracts import get_spec

    ingest_path(write(tmp_path / "a.csv", "calls", _days_calls(3, 2)), "calls", settings)
    # day 2: one exact duplicate, one conflict (same key, other duration); day 4: new
    second = [
        dict(CALL, start_at="2024-05-02 13:00:00", duration_s="10"),
        dict(CALL, start_at="2024-05-02 13:00:01", duration_s="99"),
        dict(CALL, start_at="2024-05-04 13:00:00", duration_s="10"),
    ]
    report = ingest_path(write(tmp_path / "b.csv", "calls", second), "calls", settings)
    f = report.files[0]
    assert (f.rows_read, f.landed, f.rejected, f.duplicates) == (3, 1, 1, 1)
    assert len(read_lake(settings, "calls")) == 7
    # the files a file of days 2 and 4 is checked against: those days' files, never days 1 and 3
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE stg AS SELECT [] AS _reasons, DATE '2024-05-02' AS _day UNION ALL SELECT [], DATE '2024-05-04'"
    )
    checked = land._lake_files_to_check(con, settings, get_spec("calls"))
    assert [Path(p).parent.name for p in checked] == ["day=2024-05-02", "day=2024-05-04"]
    # a kind whose key has no time (transfers: transfer_id) reads every committed file of the kind
    assert land._lake_files_to_check(con, settings, get_spec("transfers")) == []
