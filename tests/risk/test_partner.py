"""A partner's transfer file in its own layout → contract transfers (exact fen, UTC times)."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.errors import InputFileError, ValidationError
from fanzha.risk.partner import TransferLayout, load_labels, load_transfers

LAYOUT = TransferLayout("payer", "payee", "amt", "ts", "tid", "yuan")


def write(path: Path, rows: list[str], zipped: bool = False) -> Path:
    text = "tid,payer,payee,amt,ts\n" + "\n".join(rows) + "\n"
    if zipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, "utf-8")
    return path


def test_mapping_exact_fen_and_utc(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = write(
        tmp_path / "tx.csv.gz",
        [
            "1,A,B,0.29,2017-01-01T00:00:00Z",
            '2,B,C,"1,234.56",2017-01-02 08:00:00',
            "3,C,A,100,2017-01-03T10:00:00+08:00",
        ],
        zipped=True,
    )
    report = load_transfers(engine, f, LAYOUT)
    assert (report.rows_read, report.rows_kept) == (3, 3)
    rows = engine.query(
        'SELECT transfer_id, amount_fen, epoch("at") AS e FROM transfers ORDER BY 1'
    ).to_pylist()
    assert [r["amount_fen"] for r in rows] == [29, 123_456, 10_000]
    assert rows[1]["e"] == 1483315200  # 2017-01-02 08:00 Beijing (naive) = 00:00 UTC
    assert rows[2]["e"] == 1483408800  # 2017-01-03 10:00+08:00 = 02:00 UTC


def test_bad_rows_are_counted_not_hidden(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = [f"{i},A{i},B{i},10.00,2017-01-01" for i in range(300)]
    f = write(tmp_path / "tx.csv", [*good, "x,A,B,0.00,2017-01-01"])
    report = load_transfers(engine, f, LAYOUT)
    assert report.rows_kept == 300 and report.rejected["amount is not positive"][0] == 1
    assert "rejected: 1 amount is not positive" in report.summary()
    f = write(tmp_path / "bad.csv", ["1,A,B,ten,2017-01-01", "2,A,B,5,yesterday"])
    with pytest.raises(ValidationError, match=r"too many rows rejected.*'ten'"):
        load_transfers(engine, f, LAYOUT)


def test_one_reason_per_row_duplicates_and_conflicts(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = [f"{i},A{i},B{i},10.00,2017-01-01" for i in range(400)]
    f = write(
        tmp_path / "tx.csv",
        [
            *good,
            "1,A1,B1,10.00,2017-01-01",  # the same transfer again: a duplicate, not loaded twice
            "2,A2,B9,10.00,2017-01-01",  # id 2 with other values: a conflict, rejected
            "x,A,B,ten,yesterday",  # bad amount AND bad time: one row, one reason (the first)
        ],
    )
    out = tmp_path / "rejected" / "tx.rejected.csv"
    report = load_transfers(engine, f, LAYOUT, rejected_out=out, max_reject_share=0.01)
    assert (report.rows_read, report.rows_kept, report.rows_rejected, report.duplicates) == (403, 400, 2, 1)
    assert report.rejected["transfer id already used by an earlier row with other values"] == (1, "2")
    assert report.rejected["time is not a date-time (ISO 8601 expected)"][0] == 0
    assert engine.scalar("SELECT count(*) FROM transfers") == 400
    assert engine.scalar("SELECT to_account FROM transfers WHERE transfer_id = '2'") == "B2"  # the first kept
    rows = out.read_text("utf-8").splitlines()
    assert rows[0] == '"row","transfer_id","from_account","to_account","amount","time","reason"'
    assert rows[1].startswith('402,"2","A2","B9","10.00"') and rows[2].startswith(
        '403,"x","A","B","ten","yesterday"'
    )
    assert "duplicate(s) of an earlier row" in report.summary() and str(out) in report.summary()


def test_reject_share_is_an_option(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = write(tmp_path / "tx.csv", ["1,A,B,10,2017-01-01", "2,A,B,-1,2017-01-01", "3,A,C,5,2017-01-02"])
    out = tmp_path / "r.csv"
    with pytest.raises(ValidationError, match=r"--max-rejected \(now 0.01"):
        load_transfers(engine, f, LAYOUT, rejected_out=out)
    assert out.read_text("utf-8").count("\n") == 2  # written before the load failed: header + 1 row
    report = load_transfers(engine, f, LAYOUT, max_reject_share=0.5)
    assert (report.rows_kept, report.rows_rejected, report.rejected_path) == (2, 1, None)
    with pytest.raises(ValidationError, match="between 0 and 1"):
        load_transfers(engine, f, LAYOUT, max_reject_share=1.5)


_ROW_KINDS = {
    "good": "{id},A{n},B{n},{n}.5,2017-01-0{d}",
    "bad_amount": "{id},A{n},B{n},x{n},2017-01-0{d}",
    "bad_time": "{id},A{n},B{n},{n},2017-13-0{d}",
    "self": "{id},A{n},A{n},{n},2017-01-0{d}",
    "no_payee": "{id},A{n},,{n},2017-01-0{d}",
    "no_id": ",A{n},B{n},{n},2017-01-0{d}",
}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(_ROW_KINDS)), st.integers(0, 6), st.integers(1, 3), st.integers(1, 9)
        ),
        min_size=1,
        max_size=40,
    )
)
def test_no_row_is_lost(tmp_path_factory, rows) -> None:  # type: ignore[no-untyped-def]
    """rows read = kept + rejected + duplicates, the table holds the kept rows, the file the rejected."""
    folder = tmp_path_factory.mktemp("rows")
    lines = [_ROW_KINDS[kind].format(id=i, n=n, d=d) for kind, i, n, d in rows]
    f = write(folder / "tx.csv", lines)
    out = folder / "rejected.csv"
    report = load_transfers(_ENGINE, f, LAYOUT, max_reject_share=1.0, rejected_out=out, name="prop")
    assert report.rows_read == len(lines) == report.rows_kept + report.rows_rejected + report.duplicates
    assert _ENGINE.scalar("SELECT count(*) FROM prop") == report.rows_kept
    assert _ENGINE.scalar("SELECT count(DISTINCT transfer_id) FROM prop") == report.rows_kept
    written = len(out.read_text("utf-8").splitlines()) - 1 if out.exists() else 0
    assert written == report.rows_rejected
    kinds = [kind for kind, *_ in rows]
    assert report.rows_rejected >= len(lines) - kinds.count("good")  # every bad row, one reason each


def test_missing_columns_and_files(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = write(tmp_path / "tx.csv", ["1,A,B,1,2017-01-01"])
    with pytest.raises(InputFileError, match=r"column\(s\) orig_acct, transfer_id not found"):
        load_transfers(
            engine, f, TransferLayout(from_col="orig_acct", to_col="payee", amount_col="amt", time_col="ts")
        )
    with pytest.raises(InputFileError, match="does not exist"):
        load_transfers(engine, tmp_path / "nope.csv", LAYOUT)


def test_labels_file(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "l.csv").write_text("acct,flag\n1,1\n2,0\n3,true\n", "utf-8")
    table = load_labels(engine, tmp_path / "l.csv", id_col="acct", label_col="flag").to_pydict()
    assert table == {"id": ["1", "2", "3"], "label": [1, 0, 1]}
    (tmp_path / "m.csv").write_text("acct,flag\n1,maybe\n", "utf-8")
    with pytest.raises(ValidationError, match="'maybe' \\(id '1'\\)"):
        load_labels(engine, tmp_path / "m.csv", id_col="acct", label_col="flag")
    (tmp_path / "e.csv").write_text("acct,flag\n1,1\n2,\n3,0\n", "utf-8")
    with pytest.raises(ValidationError, match=r"1 row\(s\) have no label \(e\.g\. id '2'\)"):
        load_labels(engine, tmp_path / "e.csv", id_col="acct", label_col="flag")


@settings(max_examples=25, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2))
def test_yuan_to_fen_is_exact(value: Decimal) -> None:
    from fanzha.risk.partner import amount_fen_sql

    fen = _ENGINE.scalar(f"SELECT {amount_fen_sql('x', 'yuan')} FROM (SELECT $v AS x)", {"v": str(value)})
    assert fen == int(value * 100)


_ENGINE = DuckDBEngine(threads=1)


def test_amounts_and_durations_are_never_rounded(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Fen are whole, yuan have at most two decimals: anything else is rejected with its reason,
    never rounded ("1767.75" fen was kept as 1768); a comma groups thousands or it is no number."""
    from fanzha.risk.partner import load_calls

    rows = [
        "1,A,B,0.29,2017-01-01",
        "2,A,B,12.345,2017-01-01",
        '3,A,B,"1,5",2017-01-01',
        "4,A,B,1e3,2017-01-01",
        '5,A,B,"1,500",2017-01-01',
        "6,A,B,12.3400,2017-01-01",
    ]
    report = load_transfers(engine, write(tmp_path / "y.csv", rows), LAYOUT, max_reject_share=1)
    kept = engine.query("SELECT transfer_id, amount_fen FROM transfers ORDER BY 1").to_pylist()
    assert [(r["transfer_id"], r["amount_fen"]) for r in kept] == [("1", 29), ("5", 150_000), ("6", 1_234)]
    assert report.rows_rejected == 3
    fen = TransferLayout("payer", "payee", "amt", "ts", "tid", "fen")
    rows = ["1,A,B,1767.75,2017-01-01", "2,A,B,0x10,2017-01-01", "3,A,B,1767.0,2017-01-01"]
    load_transfers(engine, write(tmp_path / "f.csv", rows), fen, max_reject_share=1)
    assert engine.query("SELECT transfer_id, amount_fen FROM transfers").to_pylist() == [
        {"transfer_id": "3", "amount_fen": 1767}
    ]
    (tmp_path / "c.csv").write_text(
        "caller,callee,start_at,duration_s\n1,2,2017-01-01,12.7\n1,2,2017-01-02,12\n", "utf-8"
    )
    report = load_calls(engine, tmp_path / "c.csv", max_reject_share=1)
    assert report.rows_kept == 1 and "duration is not a whole number of seconds ≥ 0" in report.rejected


def test_labels_that_contradict_each_other_are_an_error(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "l.csv").write_text("acct,flag\n1,1\n2,0\n1,0\n", "utf-8")
    with pytest.raises(ValidationError, match=r"1 id\(s\) are labelled both 1 and 0, e.g. '1'"):
        load_labels(engine, tmp_path / "l.csv", id_col="acct", label_col="flag")
    (tmp_path / "d.csv").write_text("acct,flag\n1,1\n2,0\n1,yes\n", "utf-8")  # the same label twice: one row
    assert load_labels(engine, tmp_path / "d.csv", id_col="acct", label_col="flag").to_pydict() == {
        "id": ["1", "2"],
        "label": [1, 0],
    }


def test_gbk_files_are_read_as_chinese_systems_export_them(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A labels file and a feature table saved in GBK (before: a raw DuckDB "Invalid unicode" error)."""
    from fanzha.risk.partner import read_table

    (tmp_path / "l.csv").write_bytes("账号,是否涉诈\n1,是\n2,否\n".encode("gbk"))
    table = load_labels(engine, tmp_path / "l.csv", id_col="账号", label_col="是否涉诈").to_pydict()
    assert table == {"id": ["1", "2"], "label": [1, 0]}
    (tmp_path / "f.csv.gz").write_bytes(gzip.compress("号码,运营商\n139,移动\n".encode("gbk")))
    assert read_table(engine, tmp_path / "f.csv.gz").to_pylist() == [{"号码": "139", "运营商": "移动"}]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_times_with_an_offset_or_a_zone_are_read_as_such(engine, tmp_path, zone) -> None:  # type: ignore[no-untyped-def]
    """An offset of hours only (``-05``, ``+00``: how DuckDB and many exports write one) was
    ignored and the time read as Beijing wall time; so was a Parquet TIMESTAMPTZ column, whose
    text carries the session's offset (8 hours off on a UTC machine). A zone name (``UTC``,
    ``CST``: China or US Central?) is rejected, never ignored."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    engine.execute(f"SET TimeZone = '{zone}'")
    rows = [
        "1,A,B,1,2017-01-01 10:00:00-05",
        "2,A,B,1,2017-01-01T10:00:00+00",
        "3,A,B,1,2017-01-01 10:00:00 +08:00",
        "4,A,B,1,2017-01-01 10:00:00",
        "5,A,B,1,2017-01-01",
        "6,A,B,1,2017-01-01 10:00:00 UTC",
        "7,A,B,1,2017-01-01 10:00:00 CST",
    ]
    report = load_transfers(engine, write(tmp_path / "t.csv", rows), LAYOUT, max_reject_share=1)
    kept = engine.query('SELECT transfer_id, epoch("at") AS e FROM transfers ORDER BY 1').to_pylist()
    ten_utc = 1483264800  # 2017-01-01 10:00 UTC
    assert [(r["transfer_id"], r["e"]) for r in kept] == [
        ("1", ten_utc + 5 * 3600),
        ("2", ten_utc),
        ("3", ten_utc - 8 * 3600),
        ("4", ten_utc - 8 * 3600),
        ("5", ten_utc - 18 * 3600),  # midnight in Beijing
    ]
    assert report.rejected["time is not a date-time (ISO 8601 expected)"][0] == 2
    at = pa.array([ten_utc * 1_000_000], pa.timestamp("us", tz="UTC"))
    table = pa.table({"tid": ["1"], "payer": ["A"], "payee": ["B"], "amt": ["1"], "ts": at})
    pq.write_table(table, tmp_path / "t.parquet")
    load_transfers(engine, tmp_path / "t.parquet", LAYOUT)
    assert engine.scalar('SELECT epoch("at") FROM transfers') == ten_utc


def test_a_quoted_amount_after_the_sniffed_sample(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ "1,234.56" quoted after 30,000 rows without a quote: the load failed with a parser error."""
    rows = [f"{i},A,B,1.00,2017-01-01" for i in range(30_000)] + ['x,A,B,"1,234.56",2017-01-02']
    report = load_transfers(engine, write(tmp_path / "t.csv", rows), LAYOUT)
    assert (report.rows_read, report.rows_kept) == (30_001, 30_001)
    assert engine.scalar("SELECT amount_fen FROM transfers WHERE transfer_id = 'x'") == 123_456


@pytest.mark.parametrize("before", [2, 30_000])
def test_a_row_of_another_width_names_its_line(engine, tmp_path, before) -> None:  # type: ignore[no-untyped-def]
    """A row a field short: "column(s) payer, … not found; the file has tid,payer,…" (in the
    sniffing sample) or DuckDB's multi-line parser report (after it)."""
    rows = [f"{i},A,B,1.00,2017-01-01" for i in range(before)] + ["x,A,B,1.00"]
    with pytest.raises(
        InputFileError, match=rf"t.csv: line {before + 2} has 4 fields where the header has 5"
    ):
        load_transfers(engine, write(tmp_path / "t.csv", rows), LAYOUT)


def test_a_raw_call_file_counts_one_number_however_it_is_spelled(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The operator writes one number several ways: the features and the published score's id are
    the number as the records, the lists and the decision service spell it (13800138000); ids that
    are no phone number (hashed numbers) stay as written. Was: '+86 138 0013 8000' and 13800138000
    were two numbers, each with half the calls, and neither score was found by a lookup."""
    from fanzha.risk.features_numbers import number_features
    from fanzha.risk.partner import load_calls

    spellings = [
        "13800138000",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "１３８００１３８０００",
        "8613800138000",
    ]
    rows = [f"{s},1390000{i:04d},2024-05-01 10:0{i}:00,30" for i, s in enumerate(spellings)]
    rows += ["h4sh3d,13900001111,2024-05-01 11:00:00,5", "13900001111,+86 10 6552 9988,2024-05-01 12:00:00,9"]
    (tmp_path / "calls.csv").write_text(
        "caller,callee,start_at,duration_s\n" + "\n".join(rows) + "\n", "utf-8"
    )
    report = load_calls(engine, tmp_path / "calls.csv")
    assert report.rows_kept == 7
    callers = engine.query("SELECT caller, callee FROM calls").to_pylist()
    assert [r["caller"] for r in callers] == ["13800138000"] * 5 + ["h4sh3d", "13900001111"]
    assert callers[-1]["callee"] == "+861065529988"
    features = number_features(engine, window_days=None).to_pandas().set_index("id")
    assert features.loc["13800138000", "distinct_callees"] == 5
    assert "+86 138 0013 8000" not in features.index
