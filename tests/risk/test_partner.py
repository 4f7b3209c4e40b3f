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
    with pytest.raises(ValidationError, match="'maybe'"):
        load_labels(engine, tmp_path / "m.csv", id_col="acct", label_col="flag")


@settings(max_examples=25, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2))
def test_yuan_to_fen_is_exact(value: Decimal) -> None:
    from fanzha.risk.partner import amount_fen_sql

    fen = _ENGINE.scalar(f"SELECT {amount_fen_sql('x', 'yuan')} FROM (SELECT $v AS x)", {"v": str(value)})
    assert fen == int(value * 100)


_ENGINE = DuckDBEngine(threads=1)
