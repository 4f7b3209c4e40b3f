"""The SQL rules agree with the scalar ``validate_row``, row by row, values and reasons."""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanzha.ingest import rules
from fanzha.records import samples
from fanzha.records.contracts import KINDS, SPECS, get_spec, validate_row


@pytest.fixture(scope="module")
def con() -> Any:
    connection = duckdb.connect()
    rules.register_udfs(connection)
    yield connection
    connection.close()


def vectorised(con: Any, kind: str, rows: list[dict[str, str | None]]) -> list[dict[str, Any]]:
    spec = get_spec(kind)
    table = pa.table(
        {
            "_line": list(range(1, len(rows) + 1)),
            **{f"_x_{f.name}": [r.get(f.name) for r in rows] for f in spec.fields},
        },
        schema=pa.schema([("_line", pa.int64())] + [(f"_x_{f.name}", pa.string()) for f in spec.fields]),
    )
    con.register("rows_in", table)
    # values of rejected rows are never used (and may be out of Python's datetime range)
    cols = ", ".join(f'CASE WHEN len(_reasons) = 0 THEN "{c}" END AS "{c}"' for c in spec.columns)
    sql = rules.validation_sql(kind, "SELECT * FROM rows_in")
    return (
        con.sql(f"SELECT _line, _reasons, _raw, {cols} FROM ({sql}) ORDER BY _line")
        .to_arrow_table()
        .to_pylist()
    )


def assert_same(con: Any, kind: str, rows: list[dict[str, str | None]]) -> None:
    for row, got in zip(rows, vectorised(con, kind, rows), strict=True):
        expected, reasons = validate_row(kind, {k: (v if v != "" else None) for k, v in row.items()})
        assert got["_reasons"] == reasons, (kind, row)
        if expected is not None:
            assert got["_raw"] is None
            assert {c: got[c] for c in expected} == expected, (kind, row)
        else:
            assert got["_raw"] is not None


def pool(f: Any) -> list[str]:
    if f.type == "enum":
        return [*f.choices, *(c.upper() for c in f.choices), *samples.ENUM_INVALID, *samples.MISSING]
    return [*samples.VALID[f.type], *samples.INVALID[f.type], *samples.MISSING]


@pytest.mark.parametrize("kind", KINDS)
def test_every_pool_value_in_every_field(con, kind):
    rnd = random.Random(kind)
    rows: list[dict[str, str | None]] = list(samples.sample_rows(kind, 200, seed=5, invalid_share=0.5))
    for f in get_spec(kind).fields:
        for value in pool(f):
            row: dict[str, str | None] = dict(samples.valid_row(kind, rnd))
            row[f.name] = value
            rows.append(row)
        rows.append({**samples.valid_row(kind, rnd), f.name: None})
    assert_same(con, kind, rows)


@st.composite
def raw_rows(draw: Any) -> tuple[str, list[dict[str, str | None]]]:
    kind = draw(st.sampled_from(KINDS))
    spec = get_spec(kind)
    noise = st.text(alphabet="0123456789+-/ :.TZxX,;|　１２３ａé中\u200b\x00'\"\\", max_size=24)
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row: dict[str, str | None] = dict(samples.valid_row(kind, random.Random(draw(st.integers(0, 10**6)))))
        for f in spec.fields:
            choice = draw(st.integers(0, 9))
            if choice == 0:
                row[f.name] = draw(noise)
            elif choice == 1:
                row[f.name] = draw(st.sampled_from(pool(f)))
            elif choice == 2 and f.is_list:
                row[f.name] = ";".join(draw(st.lists(st.sampled_from(pool(f)), max_size=3)))
        rows.append(row)
    return kind, rows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_rows())
def test_property_vectorised_equals_scalar(con, case):
    kind, rows = case
    assert_same(con, kind, rows)


def test_every_cross_field_check_has_sql():
    for spec in SPECS.values():
        for check in spec.checks:
            assert check in rules.CHECKS, (spec.kind, check.__name__)


def test_python_runs_only_on_rare_rows(con, monkeypatch):
    """Canonical call records take the SQL fast paths: the scalar UDF is never called."""
    calls: list[tuple[str, ...]] = []
    real = rules.scalar_field.__wrapped__

    def counting(*args: str) -> tuple[str | None, str | None]:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(rules, "scalar_field", counting)
    canonical = {
        "caller": "13800138000",
        "callee": "13900139000",
        "start_at": "2024-05-01 13:45:00",
        "duration_s": "60",
        "direction": "out",
        "city": "510104",
        "cell_id": "C1",
        "imei": "490154203237518",
    }
    rows = [dict(canonical, duration_s=str(i)) for i in range(500)]
    got = vectorised(con, "calls", rows)
    assert all(r["_reasons"] == [] for r in got) and calls == []
    vectorised(con, "calls", [dict(canonical, caller="１３８００１３８０００")])
    assert set(calls) == {("calls", "caller", "１３８００１３８０００")}
