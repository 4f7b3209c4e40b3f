"""Number features on a hand-made record set: every value below was worked out by hand."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from fanzha.errors import NotFoundError, ValidationError
from fanzha.risk.features_numbers import number_features

from .records import AS_OF, X_UNKNOWN, A, B, C, E, G, H, calls_table, t, topups_table


@pytest.fixture(params=[False, True], ids=["sql", "numba"])
def rows(number_engine, request):  # type: ignore[no-untyped-def]
    table = number_features(number_engine, as_of=AS_OF, accelerate=request.param).to_pandas()
    return table.set_index("id")


def test_call_aggregates_of_a(rows) -> None:  # type: ignore[no-untyped-def]
    a = rows.loc[A]
    assert a.out_calls == 4  # the December call is outside the 30-day window; the B-side copy is deduplicated
    assert a.distinct_callees == 3
    assert a.callee_per_call == pytest.approx(0.75)
    assert a.short_call_share == pytest.approx(0.5)  # 5 s and 8 s of 5, 8, 100, 20
    assert a.dur_mean_s == pytest.approx(33.25)
    assert a.dur_median_s == pytest.approx(14.0)
    assert a.night_share == pytest.approx(0.25)  # 17:00 UTC = 01:00 Beijing
    assert a.repeat_callee_share == pytest.approx(1 / 3)
    assert a.callback_share == pytest.approx(1 / 3)  # only B calls back
    assert a.in_calls == 1
    assert a.outbound_share == pytest.approx(0.8)
    assert a.callee_cities == 1  # B's home city 绵阳; C and D have no records of their own


def test_device_sim_relations(rows) -> None:  # type: ignore[no-untyped-def]
    assert rows.loc[A].imeis == 1
    assert rows.loc[A].max_sims_on_device == 2  # A and E on handset I1
    assert rows.loc[E].max_sims_on_device == 2
    assert rows.loc[B].max_sims_on_device == 1


def test_sms_and_cards(rows) -> None:  # type: ignore[no-untyped-def]
    a = rows.loc[A]
    assert (a.sms_out, a.sms_receivers, a.sms_in) == (3, 2, 1)
    assert rows.loc[C].sms_in == 2 and rows.loc[C].out_calls == 0
    assert a.card_age_days == pytest.approx(5.0)
    assert a.owner_cards == 2  # A and G open; H closed
    assert a.owner_recent_cards == 1
    assert a.owner_closed_cards == 1
    assert rows.loc[H].is_industry_card == 1 and a.is_industry_card == 0
    assert G in rows.index  # numbers known only from cards are scored too


def test_topups_and_data_usage(rows) -> None:  # type: ignore[no-untyped-def]
    a = rows.loc[A]
    assert (a.topups, a.topup_fen) == (2, 8000)  # the December top-up is outside the window
    assert a.topup_no_account_share == pytest.approx(0.5)  # the voucher
    assert a.topup_payer_cards == 1  # A's own account pays only A
    for number in (E, G, B):  # the dealer's account tops up E, G, B and a fourth, unknown number
        assert rows.loc[number].topup_payer_cards == 4 and rows.loc[number].topup_no_account_share == 0
    assert (rows.loc[C].topups, rows.loc[C].topup_fen, rows.loc[C].topup_payer_cards) == (0, 0, 0)
    assert pd.isna(rows.loc[C].topup_no_account_share)  # no top-up: no share, not 0 %
    assert a.data_mb == pytest.approx(4.0)  # 2048 + 1024 + 0 + 1024 KB in the window
    assert a.data_days == 2  # Beijing days 8 and 9; the 0 KB row adds none, 05:00 UTC is still the 9th
    assert (rows.loc[E].data_mb, rows.loc[E].data_days) == (0, 0)
    assert X_UNKNOWN not in rows.index  # top-ups and data describe known numbers only


def test_without_topups_and_data_the_columns_are_absent(engine) -> None:  # type: ignore[no-untyped-def]
    engine.register("calls", calls_table())
    table = number_features(engine, as_of=AS_OF)
    assert not {"topups", "topup_fen", "data_mb", "data_days"} & set(table.column_names)


@pytest.mark.parametrize("how", ["no column", "empty column"])
def test_topups_without_payers_leave_the_payer_features_out(engine, how: str) -> None:  # type: ignore[no-untyped-def]
    """A partner that does not say who paid each top-up: the counts stay, the payer features are
    absent (not "100 % paid with no account behind them"); a lake column left empty is the same."""
    topups = topups_table()
    if how == "no column":
        topups = topups.drop_columns(["payer_account"])
    else:
        i = topups.column_names.index("payer_account")
        topups = topups.set_column(i, "payer_account", pa.nulls(topups.num_rows, pa.string()))
    engine.register("calls", calls_table())
    engine.register("topups", topups)
    table = number_features(engine, as_of=AS_OF).to_pandas().set_index("id")
    assert {"topups", "topup_fen"} <= set(table.columns)
    assert not {"topup_no_account_share", "topup_payer_cards"} & set(table.columns)
    assert (table.loc[A].topups, table.loc[A].topup_fen) == (2, 8000)


def test_window_changes_the_counts(number_engine) -> None:  # type: ignore[no-untyped-def]
    everything = number_features(number_engine, window_days=None, as_of=AS_OF).to_pandas().set_index("id")
    assert everything.loc[A].out_calls == 5


def test_missing_table_and_columns(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="calls"):
        number_features(engine, as_of=AS_OF)
    engine.register("calls", calls_table().drop_columns(["duration_s"]))
    with pytest.raises(ValidationError, match="duration_s"):
        number_features(engine, as_of=AS_OF)


def test_empty_calls_is_a_clear_error(engine) -> None:  # type: ignore[no-untyped-def]
    engine.register("calls", calls_table().slice(0, 0))
    with pytest.raises(ValidationError, match="empty"):
        number_features(engine)


@pytest.mark.parametrize("reverse", [False, True])
def test_home_city_tie_goes_to_the_first_city_by_name(engine, reverse: bool) -> None:  # type: ignore[no-untyped-def]
    """Q's own records carry 'b' once and 'a' once: its home is 'a' whatever the row order, so P's
    two callees (Q, and S at home in 'a') are in one city."""
    p, q, r, s = "13900000001", "13900000002", "13900000003", "13900000004"
    rows = [
        (p, q, t(9, 10), 30, "out", "c", None),
        (p, q, t(9, 10), 30, "in", "b", None),  # Q's side of the same call
        (q, r, t(9, 11), 30, "out", "a", None),
        (p, s, t(9, 12), 30, "out", "c", None),
        (p, s, t(9, 12), 30, "in", "a", None),
    ]
    if reverse:
        rows.reverse()
    cols = list(zip(*rows, strict=True))
    names = ("caller", "callee", "start_at", "duration_s", "direction", "city", "imei")
    types = [pa.string(), pa.string(), pa.timestamp("us", tz="UTC"), pa.int32()] + [pa.string()] * 3
    engine.register(
        "calls", pa.table({n: pa.array(c, ty) for n, c, ty in zip(names, cols, types, strict=True)})
    )
    got = number_features(engine, as_of=AS_OF).to_pandas().set_index("id")
    assert got.loc[p].callee_cities == 1
    assert got.loc[p].top_city_share == pytest.approx(1.0)
    assert got.loc[p].distinct_callees == 2
    assert got.loc[q].in_calls == 1
