"""The compiled fast path (``fast.py``) and the streaming lander (``stream.py``) agree with the SQL
path: same typed values for every canonical value, and — for whole files — the same lake rows,
quarantine rows and counts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from ingest_helpers import CALL, lake_rows, write_rows
from test_rules import pool

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.ingest import fast, stream
from fanzha.ingest.api import ingest_path
from fanzha.ingest.readers import discover
from fanzha.records import samples
from fanzha.records.contracts import get_spec, validate_row

STREAM_KINDS = ["calls", "sms", "transfers", "withdrawals", "devices", "accounts", "app_accounts"]

pytestmark = pytest.mark.skipif(fast.kernels() is None, reason="numba is not installed")


def test_supported_kinds():
    from fanzha.records.contracts import SPECS

    assert [k for k, s in SPECS.items() if fast.supported(s)] == [
        "devices",
        "calls",
        "sms",
        "topups",
        "data_usage",
        "accounts",
        "transfers",
        "logins",
        "withdrawals",
        "app_accounts",
    ]


def _statuses(kind: str, field: str, values: list[str | None]) -> fast.FieldResult:
    spec = get_spec(kind)
    f = next(f for f in spec.fields if f.name == field)
    return fast.check_field(f, pa.array(values, type=pa.string()), fast.latest_us())


def test_kernels_on_hand_made_values():
    phones = _statuses(
        "calls", "caller", ["13800138000", "12800138000", "1380013800", "+8613800138000", None, ""]
    )
    assert phones.status.tolist() == [1, 2, 2, 2, 0, 2]
    times = _statuses(
        "calls",
        "start_at",
        [
            "2024-05-01 08:00:00",
            "2024-02-30 08:00:00",
            "2024-02-29 23:59:59",
            "2024-05-01T08:00:00",
            "1999-12-31 23:00:00",
        ],
    )
    assert times.status.tolist() == [1, 2, 1, 2, 2]
    assert times.values is not None
    assert times.values[0] == int(datetime(2024, 5, 1, 0, 0, tzinfo=UTC).timestamp() * 1_000_000)
    # IMEI: 15 digits with a good / bad Luhn digit, 14 and 16 digits
    imeis = _statuses(
        "calls", "imei", ["490154203237518", "490154203237519", "49015420323751", "4901542032375180"]
    )
    assert imeis.status.tolist() == [1, 2, 1, 1]
    durations = _statuses("calls", "duration_s", ["0", "86400", "86401", "007", "-1", "1.5"])
    assert durations.status.tolist() == [1, 1, 2, 1, 2, 2]
    amounts = _statuses("transfers", "amount_fen", ["1", "0", "0100", "9999999999999", "99999999999999"])
    assert amounts.status.tolist() == [1, 2, 2, 1, 2]
    texts = _statuses(
        "sms", "text", ["您好，您的快递已到", " leading", "a\nb", "tail\n", "零宽\u200b字符", "emoji 😀"]
    )
    assert texts.status.tolist() == [1, 2, 1, 2, 2, 2]
    regions = _statuses("calls", "city", ["510104", "990104", "51010", None])
    assert regions.status.tolist() == [1, 2, 2, 0]
    enums = _statuses("calls", "direction", ["out", "in", "OUT", "outgoing"])
    assert enums.status.tolist() == [1, 1, 2, 2]


def test_time_near_the_upper_bound_is_left_to_sql():
    soon = (datetime.now(UTC) + timedelta(hours=8 + 20)).strftime("%Y-%m-%d %H:%M:%S")  # Shanghai wall time
    assert _statuses("calls", "start_at", [soon]).status.tolist() == [2]


@hsettings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(STREAM_KINDS),
    seed=st.integers(0, 10**6),
    noise=st.lists(st.text(alphabet="0123456789+-/ :.TZ中文，é\u3000\u200b\n", max_size=22), max_size=6),
)
def test_property_canonical_values_equal_the_scalar_rules(kind, seed, noise):
    """Whatever a kernel accepts, the scalar normaliser accepts with the same typed value."""
    rnd = random.Random(seed)
    spec = get_spec(kind)
    for f in spec.fields:
        values: list[str | None] = [*pool(f), *noise, samples.valid_row(kind, rnd).get(f.name)]
        arr = pa.array(values, type=pa.string())
        result = fast.check_field(f, arr, fast.latest_us())
        typed = fast.field_values(f, arr, result, np.arange(len(values))).to_pylist()
        for value, status, got in zip(values, result.status, typed, strict=True):
            assert (status == 0) == (value is None), (kind, f.name, value)
            if status == 1:
                row = dict(samples.valid_row(kind, random.Random(0)))
                row[f.name] = value
                expected, reasons = validate_row(kind, row)
                assert expected is not None and not [r for r in reasons if r.startswith(f.name + ":")]
                assert got == expected[f.name], (kind, f.name, value)


# -- whole files: the streaming lander against the SQL path --------------------------------------


def _variant(kind: str, row: dict[str, str], rnd: random.Random) -> dict[str, str]:
    """The same record written in a non-canonical but valid way (takes the SQL rules)."""
    spec = get_spec(kind)
    out = dict(row)
    for f in spec.fields:
        value = row.get(f.name)
        if not value:
            continue
        if f.type == "phone" and rnd.random() < 0.5:
            out[f.name] = "+86 " + value
        elif f.type == "time" and rnd.random() < 0.5:
            out[f.name] = value.replace("-", "/")
        elif f.type == "enum" and rnd.random() < 0.5:
            out[f.name] = value.upper()
    return out


@st.composite
def files_of(draw: Any) -> tuple[str, list[list[dict[str, str]]]]:
    kind = draw(st.sampled_from(STREAM_KINDS))
    rnd = random.Random(draw(st.integers(0, 10**6)))
    spec = get_spec(kind)
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(1, 30))):
        op = draw(st.sampled_from(["valid", "valid", "variant", "invalid", "duplicate", "conflict"]))
        if op == "valid" or not rows:
            rows.append(samples.valid_row(kind, rnd))
        elif op == "variant":
            rows.append(_variant(kind, draw(st.sampled_from(rows)), rnd))
        elif op == "invalid":
            rows.append(samples.invalid_row(kind, rnd))
        elif op == "duplicate":
            rows.append(dict(draw(st.sampled_from(rows))))
        else:  # same key, another value in a non-key field
            base = dict(draw(st.sampled_from(rows)))
            other = [f for f in spec.fields if f.name not in spec.key and not f.required]
            if other:
                f = rnd.choice(other)
                base[f.name] = samples.valid_row(kind, rnd).get(f.name) or ""
            rows.append(base)
    cut = draw(st.integers(0, len(rows)))
    return kind, [part for part in (rows[:cut], rows[cut:]) if part]


def _quarantine(settings: Any) -> list[tuple[Any, ...]]:
    from fanzha.ingest.catalog import read_catalog

    with read_catalog(settings) as cat:
        if cat is None:
            return []
        rows = cat.execute(
            "SELECT l.file, q.line, q.reasons, q.raw FROM quarantine q JOIN ingest_log l USING (ingest_id)"
        ).fetchall()
    return sorted((Path(f).name, line, tuple(reasons), raw) for f, line, reasons, raw in rows)


def _land(settings: Any, home: Path, kind: str, files: list[list[dict[str, str]]], enabled: bool) -> Any:
    s = settings.model_copy(update={"home": home})
    old = fast.ENABLED
    fast.ENABLED = enabled
    try:
        counts = []
        for i, file_rows in enumerate(files):
            f = ingest_path(write_rows(home / f"f{i}.csv", kind, file_rows), kind, s).files[0]
            assert f.rows_read == len(file_rows) == f.landed + f.rejected + f.duplicates
            counts.append((f.landed, f.rejected, f.duplicates))
    finally:
        fast.ENABLED = old
    spec = get_spec(kind)
    rows = sorted(tuple(str(r[c]) for c in spec.columns) for r in lake_rows(s, kind))
    with DuckDBEngine() as engine:
        from fanzha.ingest.lake import attach_lake

        parts = (
            sorted(
                engine.query(
                    f"SELECT DISTINCT regexp_extract(filename, '(day|month)=([^/]*)', 2) AS p FROM read_parquet('{s.lake}/{kind}/*/*.parquet', filename = true)"
                )
                .column("p")
                .to_pylist()
            )
            if kind in attach_lake(engine, s)
            else []
        )
    return counts, rows, _quarantine(s), parts


def _same_as_sql_path(settings: Any, tmp: Path, kind: str, files: list[list[dict[str, str]]]) -> None:
    got = _land(settings, tmp / "fast", kind, files, True)
    expected = _land(settings, tmp / "sql", kind, files, False)
    assert got == expected


@hsettings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=files_of())
def test_property_stream_equals_sql_path(settings, tmp_path_factory, monkeypatch, case):
    """Lake rows, partitions, quarantine (lines, reasons, raw values) and counts are the same."""
    kind, files = case
    monkeypatch.setattr(stream, "BATCH_ROWS", 4)  # many batches: order across batches matters
    monkeypatch.setattr(stream, "MAX_OPEN_WRITERS", 2)
    _same_as_sql_path(settings, tmp_path_factory.mktemp("eq"), kind, files)


def test_a_non_canonical_row_before_a_canonical_one_with_the_same_key(settings, tmp_path, monkeypatch):
    """Line order decides (first lands, a different later one conflicts) even when the earlier
    row needed the SQL rules: the stream notices and hands the file to the SQL path."""
    rows = [dict(CALL, caller="+86 " + CALL["caller"]), dict(CALL, cell_id="C999")]
    monkeypatch.setattr(stream, "BATCH_ROWS", 1)
    calls: list[int] = []
    real = stream.land_stream

    def counting(*args: Any, **kw: Any) -> Any:
        try:
            return real(*args, **kw)
        except stream.OutOfOrder:
            calls.append(1)
            raise

    monkeypatch.setattr("fanzha.ingest.land.land_stream", counting)
    _same_as_sql_path(settings, tmp_path, "calls", [rows])
    assert calls == [1]
    counts, landed, quarantine, _ = _land(settings, tmp_path / "again", "calls", [rows], True)
    assert counts == [(1, 1, 0)] and len(landed) == 1 and quarantine[0][1] == 3  # line 3 conflicts


def test_stream_reads_every_format(settings, tmp_path):
    rows = [samples.valid_row("transfers", random.Random(i)) for i in range(20)]
    rows.append(dict(rows[0], from_account=rows[0]["to_account"]))  # self transfer: rejected
    for suffix in (".csv", ".jsonl", ".parquet", ".csv.gz"):
        home = tmp_path / suffix.replace(".", "_")
        s = settings.model_copy(update={"home": home})
        f = ingest_path(write_rows(home / f"t{suffix}", "transfers", rows), "transfers", s).files[0]
        assert (f.rows_read, f.landed, f.rejected) == (21, 20, 1), suffix
        assert len(lake_rows(s, "transfers")) == 20


def test_files_beyond_the_stream_limit_take_the_sql_path(settings, tmp_path, monkeypatch):
    """The stream's key table grows with the file; big files take the SQL path (memory capped)."""
    rows = [samples.valid_row("calls", random.Random(i)) for i in range(30)]
    path = write_rows(tmp_path / "c.csv", "calls", rows)
    src = discover(path, "calls")[0]
    assert stream.fits(src)
    monkeypatch.setattr(stream, "MAX_ROWS", 0)
    assert not stream.fits(src)

    def fail(*args: Any, **kw: Any) -> Any:
        raise AssertionError("the stream must not run")

    monkeypatch.setattr("fanzha.ingest.land.land_stream", fail)
    s = settings.model_copy(update={"home": tmp_path / "h"})
    f = ingest_path(path, "calls", s).files[0]
    assert f.rows_read == 30 == f.landed + f.rejected + f.duplicates


def test_case_loss_out_of_range_is_rejected_and_zero_kept_on_both_paths(settings, tmp_path):
    base = {"reported_at": "2026-09-01 10:00", "victim_id": "11010519491231002X", "fraud_type": "romance"}
    rows = [
        {**base, "case_id": "C1", "loss_fen": "0", "narrative": "dissuaded in time"},
        {**base, "case_id": "C2", "loss_fen": "-5", "narrative": "typo"},
        {**base, "case_id": "C3", "loss_fen": "120000", "narrative": "paid"},
        # beyond MAX_FEN: a unit mix-up, and two of them overflowed the sums of losses in `link`
        {**base, "case_id": "C4", "loss_fen": "9000000000000000000", "narrative": "too big"},
        {**base, "case_id": "C5", "loss_fen": "10000000000000", "narrative": "the limit"},
    ]
    _same_as_sql_path(settings, tmp_path, "cases", [rows])
    counts, _, quarantine, _ = _land(settings, tmp_path / "again", "cases", [rows], True)
    assert counts == [(3, 2, 0)]
    assert [q[2] for q in quarantine] == [
        ("loss_fen -5 is negative",),
        ("loss_fen 9000000000000000000 is implausibly large (> 10000000000000)",),
    ]


def test_negative_data_usage_is_rejected_with_its_reason_on_both_paths(settings, tmp_path):
    rows = [
        {"number": "13800138000", "start_at": "2026-09-01", "kb": "20480"},
        {"number": "13800138001", "start_at": "2026-09-01", "kb": "-5"},
        {"number": "13800138002", "start_at": "2026-09-01", "kb": "many"},
    ]
    _same_as_sql_path(settings, tmp_path, "data_usage", [rows])
    counts, landed, quarantine, _ = _land(settings, tmp_path / "again", "data_usage", [rows], True)
    assert counts == [(1, 2, 0)] and landed == [
        ("13800138000", "2026-08-31 16:00:00+00:00", "20480")
    ]  # Shanghai midnight
    assert [q[2] for q in quarantine] == [("kb -5 is negative",), ("kb: 'many' is not an integer",)]


def test_tip_identifiers_land_in_the_normal_form_of_their_kind(settings, tmp_path):
    """Found by QA: a tips file kept '+86 138 0013 8000' as written while POST /v1/tips stored
    13800138000; a tip naming something that is no valid identifier of its kind is rejected with
    the reason (as the API answers 400), on the ingest path and in the scalar rules alike."""
    base = {"reported_at": "2026-09-01 10:00", "text": "可疑"}
    rows = [
        {**base, "tip_id": "T1", "identifier_kind": "phone", "identifier": "+86 138 0013 8000"},
        {**base, "tip_id": "T2", "identifier_kind": "account", "identifier": "6222 0200 0011 2233 445"},
        {**base, "tip_id": "T3", "identifier_kind": "url", "identifier": "HTTP://Bad.CN:80/pay"},
        {**base, "tip_id": "T4", "identifier_kind": "phone", "identifier": "not a number"},
        {**base, "tip_id": "T5", "identifier_kind": "app_account", "identifier": " wechat:abc "},
    ]
    counts, lake, quarantine, _ = _land(settings, tmp_path, "tips", [rows], True)
    assert counts == [(4, 1, 0)]
    spec = get_spec("tips")
    landed = {r[spec.columns.index("tip_id")]: r[spec.columns.index("identifier")] for r in lake}
    expected = {}
    for row in rows:
        value, reasons = validate_row("tips", row)
        if value is None:
            assert reasons and reasons[0].startswith("identifier: not a valid phone")
        else:
            expected[row["tip_id"]] = value["identifier"]
    assert landed == expected
    assert landed["T1"] == "13800138000" and landed["T2"] == "6222020000112233445"
    assert landed["T3"] == "http://bad.cn/pay" and landed["T5"] == "wechat:abc"
    assert len(quarantine) == 1 and quarantine[0][2][0].startswith("identifier: not a valid phone")
