"""The accelerated (numba) feature paths against the SQL reference: same schema, same values, on
random record sets (hypothesis) and on hand-made edge cases."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.risk.features_accounts import account_features
from fanzha.risk.features_numbers import number_features
from fanzha.risk.kernels import code_strings, dense_ids, digit_codes, distinct_pairs, ranges

from .records import AS_OF

CALL_TYPES = {
    "caller": pa.string(),
    "callee": pa.string(),
    "start_at": pa.timestamp("us", tz="UTC"),
    "duration_s": pa.int32(),
    "direction": pa.string(),
    "city": pa.string(),
    "imei": pa.string(),
}


def sql_and_fast(
    features: Callable[..., pa.Table], tables: dict[str, pa.Table], **kwargs: object
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``features`` on the SQL path and on the accelerated path, over the same tables."""
    out = []
    for accelerate in (False, True):
        engine = DuckDBEngine(threads=1)
        for name, table in tables.items():
            engine.register(name, table)
        out.append(features(engine, as_of=AS_OF, accelerate=accelerate, **kwargs))
        engine.close()
    assert out[0].schema == out[1].schema
    return out[0].to_pandas(), out[1].to_pandas()


def both_paths(tables: dict[str, pa.Table], **kwargs: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    return sql_and_fast(number_features, tables, **kwargs)


def assert_same(sql: pd.DataFrame, fast: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(sql, fast, check_exact=False, rtol=1e-9, atol=1e-9)


@st.composite
def call_sets(draw: st.DrawFn) -> dict[str, pa.Table]:
    """Calls among a few numbers: both sides of some calls, repeated pairs, equal times, nulls in
    the optional columns, a few rows outside the window; optionally no direction column."""
    numbers = draw(
        st.sampled_from(
            [
                ["13800000001", "13800000002", "13800000003", "13900000004", "0139"],
                ["a-1", "b-2", "+8613800000003", "c", "13800000001"],
            ]
        )
    )
    two_sided = draw(st.booleans())
    n = draw(st.integers(1, 40))
    rows: dict[tuple[str, str, int, str], tuple[int | None, str | None, str | None]] = {}
    for _ in range(n):
        caller, callee = draw(st.sampled_from(numbers)), draw(st.sampled_from(numbers))
        minute = draw(st.sampled_from([0, 1, 5, 60 * 17, 60 * 30, 60 * 24 * 31, 60 * 24 * 45]))
        duration = draw(st.one_of(st.none(), st.integers(0, 400)))
        city = draw(st.sampled_from([None, "成都", "绵阳", "a"]))
        imei = draw(st.sampled_from([None, "860000000000001", "860000000000002", "imei-x"]))
        rows[(caller, callee, minute, "out")] = (duration, city, imei)
        if two_sided and draw(st.booleans()):
            other = draw(st.one_of(st.none(), st.integers(0, 400)))
            rows[(caller, callee, minute, "in")] = (
                other,
                draw(st.sampled_from([None, "绵阳", "b"])),
                draw(st.sampled_from([None, "860000000000003"])),
            )
    cols: dict[str, list[object]] = {k: [] for k in CALL_TYPES}
    for (caller, callee, minute, direction), (duration, city, imei) in rows.items():
        cols["caller"].append(caller)
        cols["callee"].append(callee)
        cols["start_at"].append(AS_OF - timedelta(minutes=minute))
        cols["duration_s"].append(duration)
        cols["direction"].append(direction)
        cols["city"].append(city)
        cols["imei"].append(imei)
    table = pa.table({k: pa.array(v, CALL_TYPES[k]) for k, v in cols.items()})
    if not two_sided and draw(st.booleans()):
        table = table.drop_columns(["direction"])
    if draw(st.booleans()):
        table = table.drop_columns(["imei", "city"])
    return {"calls": table}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call_sets(), st.sampled_from([30, None]))
def test_number_features_fast_path_equals_sql(tables: dict[str, pa.Table], window: int | None) -> None:
    sql, fast = both_paths(tables, window_days=window)
    assert_same(sql, fast)


def test_golden_record_set_gives_the_same_rows_both_ways() -> None:
    from .records import calls_table, cards_table, sms_table

    sql, fast = both_paths({"calls": calls_table(), "phone_cards": cards_table(), "sms": sms_table()})
    assert len(sql) == 6  # callers A, B, E; SMS receiver C; cards G, H
    assert_same(sql, fast)


def test_hub_caller_and_equal_times() -> None:
    """One caller with more than 64 calls to one callee (the long-run sort) and calls at equal
    times to different callees."""
    base = AS_OF - timedelta(days=1)
    n = 150
    calls = pa.table(
        {
            "caller": ["13800000001"] * n + ["13800000002"] * 3,
            "callee": ["13800000009"] * n + ["13800000003", "13800000004", "13800000001"],
            "start_at": pa.array(
                [base - timedelta(minutes=(i * 37) % 500) for i in range(n)] + [base] * 3,
                pa.timestamp("us", tz="UTC"),
            ),
            "duration_s": pa.array([(i * 13) % 90 for i in range(n)] + [1, 2, 3], pa.int32()),
        }
    )
    sql, fast = both_paths({"calls": calls})
    assert_same(sql, fast)
    hub = fast.set_index("id").loc["13800000001"]
    assert hub.out_calls == len({(i * 37) % 500 for i in range(n)})  # equal times are one call


def test_digit_codes_are_exact_and_reversible() -> None:
    plain = ["0", "00", "138", "0138", None, "99999999999999999"]
    e164 = ["+0138", "+8613800000000", "+" + "9" * 17]  # canonical non-mainland numbers
    values = pa.chunked_array([plain[:5], plain[5:] + e164])
    codes = digit_codes(values)
    assert codes is not None
    assert codes[4] == -1 and len(set(codes.tolist()) - {-1}) == 8  # leading zeros and "+" keep values apart
    (ids,), first = dense_ids(codes)
    names = code_strings(first).to_pylist()
    assert sorted(names) == sorted(v for v in plain + e164 if v is not None)
    assert ids[4] == -1
    assert [names[i] for i in ids[[0, 1, 2, 3, 5, 6, 7, 8]]] == [v for v in plain + e164 if v is not None]
    for bad in ("+", "++1", "1+2", "138 ", "+" + "1" * 18, "1" * 18, "a-1"):
        assert digit_codes(pa.chunked_array([["138", bad]])) is None, bad


def test_dense_ids_grow_past_the_first_table() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2**40, 400_000)
    codes[300_000:] = codes[:100_000]  # repeats
    (a, b), first = dense_ids(codes[:1000], codes)
    assert np.array_equal(first[b], codes) and np.array_equal(first[a], codes[:1000])
    assert len(first) == len(np.unique(codes))


def test_distinct_pairs_counts_and_skips_nulls() -> None:
    k, v, n = distinct_pairs(np.array([1, 0, 1, 1, 0], np.int32), np.array([5, -1, 5, 2, 7]), 2)
    assert list(zip(k.tolist(), v.tolist(), n.tolist(), strict=True)) == [(0, 7, 1), (1, 2, 1), (1, 5, 2)]


@pytest.mark.parametrize("accelerate", [False, True])
def test_calls_outside_the_window_only(accelerate: bool) -> None:
    """Every call before the window: no call features, a clear empty result rather than a crash."""
    calls = pa.table(
        {
            "caller": ["13800000001"],
            "callee": ["13800000002"],
            "start_at": pa.array([AS_OF - timedelta(days=60)], pa.timestamp("us", tz="UTC")),
            "duration_s": pa.array([10], pa.int32()),
        }
    )
    engine = DuckDBEngine(threads=1)
    engine.register("calls", calls)
    assert number_features(engine, as_of=AS_OF, accelerate=accelerate).num_rows == 0


# --- accounts -----------------------------------------------------------------------------------

TRANSFER_TYPES = {
    "transfer_id": pa.string(),
    "from_account": pa.string(),
    "to_account": pa.string(),
    "amount_fen": pa.int64(),
    "at": pa.timestamp("us", tz="UTC"),
}


def both_account_paths(tables: dict[str, pa.Table], **kwargs: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    return sql_and_fast(account_features, tables, **kwargs)


def assert_same_accounts(sql: pd.DataFrame, fast: pd.DataFrame) -> None:
    assert list(sql.columns) == list(fast.columns)
    assert sql["id"].tolist() == fast["id"].tolist()
    for col in sql.columns[1:]:
        pd.testing.assert_series_equal(
            sql[col].astype(float), fast[col].astype(float), check_exact=False, rtol=1e-9, atol=1e-9
        )


@st.composite
def transfer_sets(draw: st.DrawFn) -> dict[str, pa.Table]:
    """Transfers among a few accounts: equal times, self-transfers, round and zero amounts, rows
    outside the window, cycles; optionally the accounts and flagged tables."""
    accounts = draw(
        st.sampled_from(
            [
                ["6222000000000001", "6222000000000002", "6222000000000003", "06222", "7"],
                ["M", "N", "P", "acct-4", "6222000000000001"],
            ]
        )
    )
    n = draw(st.integers(1, 40))
    cols: dict[str, list[object]] = {k: [] for k in TRANSFER_TYPES}
    for i in range(n):
        cols["transfer_id"].append(f"t{i}")
        cols["from_account"].append(draw(st.sampled_from(accounts)))
        cols["to_account"].append(draw(st.sampled_from(accounts)))
        cols["amount_fen"].append(draw(st.sampled_from([0, 1, 9_999, 10_000, 20_000, 123_456])))
        minute = draw(st.sampled_from([0, 1, 10, 59, 61, 60 * 17, 60 * 25, 60 * 24 * 3, 60 * 24 * 40]))
        cols["at"].append(AS_OF - timedelta(minutes=minute))
    tables = {"transfers": pa.table({k: pa.array(v, TRANSFER_TYPES[k]) for k, v in cols.items()})}
    if draw(st.booleans()):
        tables["accounts"] = pa.table(
            {
                "account_no": accounts,
                "bank": ["icbc", "abc", "icbc", "ccb", "abc"],
                "owner_id": ["o1", "o1", "o2", "o3", "o2"],
                "opened_at": pa.array([AS_OF - timedelta(days=90)] * 5, pa.timestamp("us", tz="UTC")),
            }
        )
    if draw(st.booleans()):
        tables["flagged_accounts"] = pa.table({"account": accounts[:2]})
    return tables


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transfer_sets(), st.sampled_from([30, None]))
def test_account_features_fast_path_equals_sql(tables: dict[str, pa.Table], window: int | None) -> None:
    sql, fast = both_account_paths(tables, window_days=window)
    assert_same_accounts(sql, fast)


def test_golden_transfers_give_the_same_rows_both_ways() -> None:
    from .records import accounts_table, transfers_table

    sql, fast = both_account_paths({"transfers": transfers_table(), "accounts": accounts_table()})
    assert len(sql) == 6  # V1, V2, M, N, P from transfers; Q from the account table
    assert_same_accounts(sql, fast)
    m = fast.set_index("id").loc["M"]
    assert m.cycle3_cp == 1 and m.out_within_1h_share == pytest.approx(1.0)


def test_three_cycles_skip_busy_payers_and_count_each_partner_once() -> None:
    """X → B → C → X twice over (two routes through B), and a payer with more than 50 partners."""
    rows = [("X", "B"), ("B", "C"), ("C", "X"), ("B", "D"), ("D", "X"), ("X", "B")]
    rows += [("H", f"Z{i}") for i in range(51)] + [("Z0", "Y"), ("Y", "H")]
    at = AS_OF - timedelta(hours=1)
    transfers = pa.table(
        {
            "transfer_id": [f"t{i}" for i in range(len(rows))],
            "from_account": [r[0] for r in rows],
            "to_account": [r[1] for r in rows],
            "amount_fen": pa.array([100] * len(rows), pa.int64()),
            "at": pa.array([at] * len(rows), pa.timestamp("us", tz="UTC")),
        }
    )
    sql, fast = both_account_paths({"transfers": transfers})
    assert_same_accounts(sql, fast)
    got = fast.set_index("id")
    assert got.loc["X"].cycle3_cp == 1  # B once, though two routes close the cycle
    assert got.loc["H"].cycle3_cp == 0  # H pays 51 accounts: skipped


def test_null_amounts_take_the_sql_path() -> None:
    transfers = pa.table(
        {
            "from_account": ["A1", "A2"],
            "to_account": ["A2", "A3"],
            "amount_fen": pa.array([None, 500], pa.int64()),
            "at": pa.array([AS_OF - timedelta(hours=2), AS_OF], pa.timestamp("us", tz="UTC")),
        }
    )
    sql, fast = both_account_paths({"transfers": transfers})
    assert_same_accounts(sql, fast)


@pytest.mark.parametrize("threshold, fast", [(7, True), (8, False)])
def test_fast_path_is_chosen_from_the_window_size(
    monkeypatch: pytest.MonkeyPatch, threshold: int, fast: bool
) -> None:
    """The default picks the numba path on a local engine from the threshold (7 calls / 5 transfers
    in the golden sets' windows) and the SQL below it; the results are the same either way."""
    import fanzha.risk.features_accounts as fa
    import fanzha.risk.features_numbers as fn

    from .records import calls_table, transfers_table

    used: list[str] = []
    monkeypatch.setattr(fn, "ACCELERATE_MIN_CALLS", threshold)
    monkeypatch.setattr(fa, "ACCELERATE_MIN_TRANSFERS", threshold - 2)
    real_calls, real_accounts = fn.call_tables, fa.account_tables
    monkeypatch.setattr(fn, "call_tables", lambda *a, **k: used.append("calls") or real_calls(*a, **k))
    monkeypatch.setattr(fa, "account_tables", lambda *a: used.append("transfers") or real_accounts(*a))
    engine = DuckDBEngine(threads=1)
    engine.register("calls", calls_table())
    engine.register("transfers", transfers_table())
    numbers = fn.number_features(engine, as_of=AS_OF)
    accounts = fa.account_features(engine, as_of=AS_OF)
    assert used == (["calls", "transfers"] if fast else [])
    assert numbers.num_rows == 3 and accounts.num_rows == 5


def random_records(seed: int, n: int) -> dict[str, pa.Table]:
    """Calls (some recorded on both sides) and transfers among a few hundred ids, enough for the
    kernels to split their work into several ranges."""
    rng = np.random.default_rng(seed)
    phones = np.array([f"+8529{i:07d}" if i % 7 == 0 else f"138{i:08d}" for i in range(300)])  # E.164 too
    caller, callee = phones[rng.integers(0, 300, n)], phones[rng.zipf(1.5, n) % 300]
    start = pa.array(
        [AS_OF - timedelta(minutes=int(m)) for m in rng.integers(0, 60 * 24 * 40, n)],
        pa.timestamp("us", tz="UTC"),
    )
    calls = pa.table(
        {
            "caller": np.concatenate([caller, caller[: n // 4]]),
            "callee": np.concatenate([callee, callee[: n // 4]]),
            "start_at": pa.concat_arrays([start, start[: n // 4]]),
            "duration_s": pa.array(rng.integers(0, 300, n + n // 4), pa.int32()),
            "direction": ["out"] * n + ["in"] * (n // 4),
            "city": rng.choice(["成都", "绵阳", "德阳"], n + n // 4),
            "imei": [f"8600000000{i % 97:05d}" for i in rng.integers(0, 10_000, n + n // 4)],
        }
    )
    accounts = np.array([f"6222{i:012d}" for i in range(400)])
    transfers = pa.table(
        {
            "transfer_id": [f"t{i}" for i in range(n)],
            "from_account": accounts[rng.zipf(1.4, n) % 400],
            "to_account": accounts[rng.integers(0, 400, n)],
            "amount_fen": rng.choice([100, 10_000, 123_456, 5_000_000], n),
            "at": start,
        }
    )
    return {"calls": calls, "transfers": transfers}


@pytest.mark.parametrize("threads", ["1", "3"])
def test_kernels_give_the_same_features_on_any_number_of_threads(
    threads: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANZHA_KERNEL_THREADS", threads)
    tables = random_records(int(threads), 6_000)
    sql, fast = both_paths({"calls": tables["calls"]})
    assert len(sql) > 250
    assert_same(sql, fast)
    sql_a, fast_a = both_account_paths({"transfers": tables["transfers"]})
    assert len(sql_a) > 350
    assert_same_accounts(sql_a, fast_a)


def test_work_ranges_cover_every_entity_once() -> None:
    starts = np.array([0, 0, 5, 5, 6, 100, 101, 101, 130])
    for parts in (1, 2, 3, 8):
        got = ranges(starts, parts)
        assert got[0][0] == 0 and got[-1][1] == len(starts) - 1
        assert all(a < b and b == c for (a, b), (c, _) in itertools.pairwise(got))
        assert len(got) <= parts
    assert ranges(starts, 2) == [(0, 5), (5, 8)]  # the hub entity 4 (94 rows) ends the first half


def test_digit_codes_of_many_chunks_on_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANZHA_KERNEL_THREADS", "3")
    values = [f"{i:011d}" if i % 7 else None for i in range(5_000)]
    chunked = pa.chunked_array([values[i : i + 700] for i in range(0, 5_000, 700)])
    assert chunked.num_chunks == 8
    got = digit_codes(chunked)
    assert got is not None
    assert np.array_equal(got, digit_codes(pa.array(values)))
    assert code_strings(got[got >= 0]).to_pylist() == [v for v in values if v is not None]
    bad = pa.chunked_array([values[:700], ["1"] * 699 + ["x1"], values[1400:]])
    assert digit_codes(bad) is None  # one non-digit string in a middle chunk


@pytest.mark.parametrize("odd", ["none", "caller", "imei"])
def test_streamed_batches_mix_digit_codes_and_strings(odd: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records fetched in many small batches; a non-digit identifier in one late batch only makes
    that column fall back to exact strings (the earlier batches' codes are turned back into their
    strings), and the result still equals the SQL."""
    import fanzha.risk.fast_numbers as fast_numbers

    monkeypatch.setattr(fast_numbers, "BATCH_ROWS", 1_000)
    calls = random_records(5, 6_000)["calls"]
    n = calls.num_rows
    imei = calls.column("imei").to_pylist()
    imei[::11] = [None] * len(imei[::11])
    if odd == "imei":
        imei[n - 3] = "imei-x"
    caller = calls.column("caller").to_pylist()
    if odd == "caller":
        caller[n - 60 : n : 6] = ["a-1"] * 10  # some of them inside the window
    calls = calls.set_column(calls.schema.get_field_index("imei"), "imei", pa.array(imei))
    calls = calls.set_column(calls.schema.get_field_index("caller"), "caller", pa.array(caller))
    sql, fast = both_paths({"calls": calls})
    assert ("a-1" in set(fast["id"])) == (odd == "caller")
    assert_same(sql, fast)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kernel_pools_work_in_a_forked_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANZHA_KERNEL_THREADS", "2")
    codes = np.arange(10_000, dtype=np.int64) * 64 + 2
    expected = dense_ids(codes)[0][0]  # the parent's pools now exist
    pid = os.fork()
    if pid == 0:  # child: the same call must not hang on the parent's (absent) threads
        ok = np.array_equal(dense_ids(codes)[0][0], expected)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("reuse", ["1", "0"])
def test_reused_memory_restores_the_process_settings(reuse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast paths recycle freed blocks and ask numpy for no huge pages while they run; the
    process gets its settings back afterwards, also when the computation fails, and the features
    are the same with the policy on or off."""
    from fanzha.risk.kernels import _hugepage_switch, reused_memory

    monkeypatch.setenv("FANZHA_REUSE_MEMORY", reuse)
    switch = _hugepage_switch()
    assert switch is not None  # numpy 2 keeps it in numpy._core
    before = switch(True)
    try:
        with pytest.raises(RuntimeError), reused_memory():
            inside = switch(True)  # reads the setting (and sets it, as the kernels would not)
            switch(inside)
            raise RuntimeError("a failing stage")
        assert inside is (reuse == "0")  # off while the kernels run, unless switched off by the user
        assert switch(True) is True  # restored
        outer, inner = reused_memory(), reused_memory()  # two computations on two threads, overlapping
        outer.__enter__()
        inner.__enter__()
        outer.__exit__(None, None, None)
        still = switch(False)  # the inner one still runs: still off
        switch(still)
        inner.__exit__(None, None, None)
        assert still is (reuse == "0")
        assert switch(True) is True  # the last to leave restored the setting from before the first
        tables = random_records(5, 3_000)
        sql, fast = both_paths({"calls": tables["calls"]})
        assert_same(sql, fast)
    finally:
        switch(before)
