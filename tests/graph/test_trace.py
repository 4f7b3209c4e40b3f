"""Fund tracing on hand-made flows with known answers, and money conservation as a property."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.errors import ConfigError, ValidationError
from fanzha.graph.trace import trace_funds

COLS = ["transfer_id", "from_account", "to_account", "amount_fen", "at"]


def transfers(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLS)
    frame["at"] = pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(frame["at"], unit="min")
    return frame


def withdrawals(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["withdrawal_id", "account", "amount_fen", "at"])
    frame["at"] = pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(frame["at"], unit="min")
    return frame


# two victims and legitimate money mix in M1; M1 pays M2; M2 pays back part (a cycle) and withdraws
MIXED = transfers(
    ("t1", "V1", "M1", 1000, 0),
    ("t2", "V2", "M1", 3000, 1),
    ("t3", "L", "M1", 2000, 2),
    ("t4", "M1", "M2", 2500, 3),
    ("t5", "M2", "M1", 500, 4),
)
CASH = withdrawals(("w1", "M2", 1500, 5))
SOURCES = {"t1": "v1", "t2": "v2"}


def held(result, victim: str) -> dict[str, int]:
    rows = result.holdings[result.holdings.victim_id == victim]
    return dict(zip(rows.account, rows.amount_fen.astype(int), strict=True))


def test_fifo_on_mixed_account_with_cycle_and_partial_cashout() -> None:
    r = trace_funds(MIXED, CASH, SOURCES, method="fifo")
    # M1 lots: v1 1000, v2 3000, clean 2000; t4 takes v1 1000 + v2 1500; t5 takes v1 500 back to M1
    assert held(r, "v1") == {"M1": 500}
    assert held(r, "v2") == {"M1": 1500, "M2": 500}
    cash = r.cashouts.groupby("victim_id").amount_fen.sum().to_dict()
    assert cash == {"v1": 500, "v2": 1000}
    cycle = r.flows[(r.flows.transfer_id == "t5")]
    assert cycle[["victim_id", "hop", "amount_fen"]].values.tolist() == [["v1", 2, 500]]
    r.check_conservation()


def test_proportional_on_mixed_account_uses_largest_remainder() -> None:
    r = trace_funds(MIXED, CASH, SOURCES, method="proportional")
    t4 = r.flows[r.flows.transfer_id == "t4"].set_index("victim_id").amount_fen.to_dict()
    # 2500 × (1000, 3000, 2000) / 6000 = 416.67, 1250, 833.33 → the one spare fen goes to v1
    assert t4 == {"v1": 417, "v2": 1250}
    assert held(r, "v1") == {"M1": 666, "M2": 84}
    assert held(r, "v2") == {"M1": 2000, "M2": 250}
    r.check_conservation()


def test_cashout_kinds_crypto_gold_and_cash() -> None:
    tr = transfers(
        ("p", "V", "M1", 10_000, 0),
        ("c", "M1", "OTC", 3000, 1),
        ("g", "M1", "GOLD", 2000, 2),
    )
    tr["channel"] = ["mobile", "crypto_otc", "mobile"]
    r = trace_funds(tr, withdrawals(("w", "M1", 1000, 3)), {"p": "v"}, cashout_accounts={"GOLD": "gold"})
    kinds = r.cashouts.set_index("kind").amount_fen.to_dict()
    assert kinds == {"crypto": 3000, "gold": 2000, "cash": 1000}
    assert held(r, "v") == {"M1": 4000}
    assert r.per_victim().iloc[0].tolist() == ["v", 10_000, 4000, 6000, 0, 0]


def test_outflow_larger_than_observed_balance_comes_from_opening_balance() -> None:
    tr = transfers(("p", "V", "M1", 1000, 0), ("x", "M1", "M2", 5000, 1))
    r = trace_funds(tr, None, {"p": "v"}, method="fifo")
    assert held(r, "v") == {"M2": 1000}
    assert r.flows[r.flows.transfer_id == "x"].amount_fen.tolist() == [1000]


def test_hop_and_time_limits_report_untraced_money() -> None:
    chain = transfers(("p", "V", "A", 900, 0), ("h1", "A", "B", 900, 1), ("h2", "B", "C", 900, 2))
    r = trace_funds(chain, None, {"p": "v"}, max_hops=1)
    assert held(r, "v") == {}
    assert r.untraced[["account", "record_id", "amount_fen", "reason"]].values.tolist() == [
        ["B", "h2", 900, "max_hops"]
    ]
    late = transfers(("p", "V", "A", 900, 0), ("h1", "A", "B", 900, 180))
    r = trace_funds(late, None, {"p": "v"}, max_hours=2)
    assert r.untraced.reason.tolist() == ["max_hours"]
    r.check_conservation()


def test_money_is_followed_in_time_order_only() -> None:
    # B forwarded money before it received the victim's: that earlier transfer carries none of it
    tr = transfers(("early", "B", "C", 500, 0), ("p", "V", "A", 500, 1), ("h", "A", "B", 500, 2))
    r = trace_funds(tr, None, {"p": "v"})
    assert held(r, "v") == {"B": 500}


def test_bad_input_is_rejected_with_a_reason() -> None:
    with pytest.raises(ConfigError, match="method"):
        trace_funds(MIXED, None, SOURCES, method="random")
    with pytest.raises(ValidationError, match="lacks columns"):
        trace_funds(MIXED.drop(columns="at"), None, SOURCES)
    floats = MIXED.assign(amount_fen=MIXED.amount_fen.astype(float))
    with pytest.raises(ValidationError, match="integer fen"):
        trace_funds(floats, None, SOURCES)
    r = trace_funds(MIXED, None, {"t1": "v1", "nope": "v9"})
    assert r.unmatched_sources == ["nope"]


ACCOUNTS = ["V1", "V2", "A", "B", "C", "D"]


@st.composite
def money_graphs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    n = draw(st.integers(2, 30))
    rows = []
    for i in range(n):
        a, b = draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from(ACCOUNTS))
        if a == b:
            continue
        rows.append((f"t{i}", a, b, draw(st.integers(0, 10_000)), draw(st.integers(0, 50))))
    rows.append(("s1", "V1", "A", draw(st.integers(1, 10_000)), draw(st.integers(0, 50))))
    rows.append(("s2", "V2", "B", draw(st.integers(1, 10_000)), draw(st.integers(0, 50))))
    wds = [
        (f"w{i}", draw(st.sampled_from(ACCOUNTS)), draw(st.integers(0, 5000)), draw(st.integers(0, 50)))
        for i in range(draw(st.integers(0, 5)))
    ]
    return transfers(*rows), withdrawals(*wds), {"s1": "v1", "s2": "v2"}


@settings(max_examples=100, deadline=None)
@given(money_graphs(), st.sampled_from(["fifo", "lifo", "match", "proportional"]), st.integers(0, 6))
def test_tracing_conserves_money_exactly(graph, method: str, max_hops: int) -> None:
    tr, wd, sources = graph
    r = trace_funds(tr, wd, sources, method=method, max_hops=max_hops)
    table = r.per_victim().set_index("victim_id")
    for victim, tid in (("v1", "s1"), ("v2", "s2")):
        paid = int(tr.loc[tr.transfer_id == tid, "amount_fen"].iloc[0])
        row = table.loc[victim]
        assert row.held_fen + row.cashed_out_fen + row.untraced_fen == paid == row.paid_fen
    # no transfer carries more victim money than its amount
    carried = r.flows.groupby("transfer_id").amount_fen.sum()
    amounts = tr.set_index("transfer_id").amount_fen
    assert (carried <= amounts.loc[carried.index]).all()
    assert (r.holdings.amount_fen > 0).all()
    # candidate freeze targets: exactly the ambiguous money, outside the conserved totals
    assert r.candidates.amount_fen.sum() == r.ambiguous.amount_fen.sum()
    assert set(r.candidates.victim_id) == set(r.ambiguous.victim_id)
    assert set(r.candidates.record_id) <= set(r.ambiguous.record_id)


def test_lifo_moves_the_latest_arrival_first() -> None:
    r = trace_funds(MIXED, CASH, SOURCES, method="lifo")
    # t4 takes the legitimate 2000 that arrived last, then 500 of v2; in M2 the legitimate 2000
    # arrived after v2's 500, so t5 and the withdrawal take legitimate money only
    assert r.flows[r.flows.transfer_id == "t4"][["victim_id", "amount_fen"]].values.tolist() == [["v2", 500]]
    assert r.flows[r.flows.transfer_id == "t5"].empty
    assert held(r, "v1") == {"M1": 1000}
    assert held(r, "v2") == {"M1": 2500, "M2": 500}
    assert r.cashouts.amount_fen.sum() == 0
    r.check_conservation()


def test_match_takes_the_portion_of_exactly_the_outflow_amount() -> None:
    tr = transfers(
        ("a", "V1", "M", 700, 0),
        ("b", "V2", "M", 300, 1),
        ("c", "L", "M", 500, 2),
        ("out", "M", "N", 700, 3),  # exactly V1's parcel, though it is neither first nor last in
    )
    r = trace_funds(tr, None, {"a": "v1", "b": "v2"}, method="match")
    assert r.flows[r.flows.transfer_id == "out"][["victim_id", "amount_fen"]].values.tolist() == [["v1", 700]]
    assert held(r, "v2") == {"M": 300}
    lifo = trace_funds(tr, None, {"a": "v1", "b": "v2"}, method="lifo")
    assert lifo.flows[lifo.flows.transfer_id == "out"][["victim_id", "amount_fen"]].values.tolist() == [
        ["v2", 200]
    ]


def test_match_takes_parcels_whose_sum_is_the_outflow_within_the_time_window() -> None:
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("a", "V1", "M", 300, 0),
        ("b", "V2", "M", 500, 10),
        ("c", "V3", "M", 200, 20),
        ("l", "L", "M", 1000, 30),
        ("out", "M", "N", 800, 40),  # V1 + V2 consolidated into one transfer
    )
    src = {"a": "v1", "b": "v2", "c": "v3"}
    r = trace_funds(tr, None, src, method="match")
    moved = r.flows[r.flows.transfer_id == "out"][["victim_id", "amount_fen"]].values.tolist()
    assert sorted(moved) == [["v1", 300], ["v2", 500]]
    assert held(r, "v3") == {"M": 200} and held(r, "v1") == {"N": 300}
    r.check_conservation()
    # single-lot rule (the former default): the clean 1000 that came last pays the outflow
    single = trace_funds(tr, None, src, method="match", match_rule=MatchRule(hours=None, max_parts=1))
    assert single.flows[single.flows.transfer_id == "out"].empty
    # parcels older than the window are not matched: LIFO takes the clean money first
    late = transfers(
        ("a", "V1", "M", 300, 0),
        ("b", "V2", "M", 500, 10),
        ("l", "L", "M", 1000, 30),
        ("out", "M", "N", 800, 73 * 60),
    )
    r = trace_funds(late, None, {"a": "v1", "b": "v2"}, method="match")
    assert r.flows[r.flows.transfer_id == "out"].empty
    assert held(r, "v1") == {"M": 300} and held(r, "v2") == {"M": 500}


def test_subset_sum_prefers_nothing_it_cannot_prove() -> None:
    from fanzha.graph.trace import _subset_sum

    assert sorted(_subset_sum([(300, 0), (500, 1), (200, 2)], 800, 4) or []) == [0, 1]
    assert sorted(_subset_sum([(300, 0), (500, 1), (200, 2)], 1000, 4) or []) == [0, 1, 2]
    assert _subset_sum([(300, 0), (500, 1), (200, 2)], 900, 4) is None
    assert _subset_sum([(300, 0), (500, 1)], 500, 4) is None  # one lot is not a sum
    assert _subset_sum([(100, i) for i in range(6)], 500, 4) is None  # needs 5 parts


def test_match_recognises_clean_parcels_that_arrived_before_the_victims_money() -> None:
    """An unreported victim's 9900 reaches the mule before v1's 8900; the mule forwards 9900 then
    8900. The 9900 is the earlier parcel, not v1's money plus change."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("u", "U", "M", 9900, 0),  # not a traced payment: clean money with an amount
        ("a", "V1", "M", 8900, 4),
        ("o1", "M", "N1", 9900, 9),
        ("o2", "M", "N2", 8900, 14),
    )
    r = trace_funds(tr, None, {"a": "v1"}, method="match")
    assert r.flows[r.flows.transfer_id == "o1"].empty
    assert held(r, "v1") == {"N2": 8900}
    r.check_conservation()
    former = trace_funds(
        tr, None, {"a": "v1"}, method="match", match_rule=MatchRule(clean_parcels=False, reserve_hours=None)
    )
    assert held(former, "v1") == {"N1": 8900}  # the opening balance had no amount: v1's lot was taken
    # a clean parcel already spent (its amount left earlier) is not matched again
    spent = transfers(
        ("u", "U", "M", 9900, 0),
        ("x", "M", "X", 9900, 1),
        ("a", "V1", "M", 8900, 4),
        ("o1", "M", "N1", 9900, 9),
    )
    r = trace_funds(spent, None, {"a": "v1"}, method="match")
    assert held(r, "v1") == {"N1": 8900}


def test_match_atm_withdrawal_is_a_parcel_rounded_down_to_whole_notes() -> None:
    from fanzha.graph.trace import MatchRule

    tr = transfers(("a", "V1", "M", 52_200, 0), ("b", "V2", "M", 31_000, 5))
    wd = withdrawals(("w", "M", 50_000, 10))  # 500 yuan out of v1's 522 yuan; v2's came later
    r = trace_funds(tr, wd, {"a": "v1", "b": "v2"}, method="match")
    assert r.cashouts[["victim_id", "amount_fen"]].values.tolist() == [["v1", 50_000]]
    assert held(r, "v1") == {"M": 2_200} and held(r, "v2") == {"M": 31_000}
    r.check_conservation()
    lifo = trace_funds(
        tr, wd, {"a": "v1", "b": "v2"}, method="match", match_rule=MatchRule(atm_note=None, cover=None)
    )
    assert sorted(lifo.cashouts[["victim_id", "amount_fen"]].values.tolist()) == [
        ["v1", 19_000],
        ["v2", 31_000],
    ]
    # a transfer of the rounded amount is not an ATM withdrawal: no rounding rule
    tr2 = transfers(("a", "V1", "M", 52_200, 0), ("b", "V2", "M", 31_000, 5), ("o", "M", "N", 50_000, 10))
    no_cover = MatchRule(cover=None)
    r2 = trace_funds(tr2, None, {"a": "v1", "b": "v2"}, method="match", match_rule=no_cover)
    assert held(r2, "v2") == {"N": 31_000}  # lifo, not the note rule
    r3 = trace_funds(tr2, None, {"a": "v1", "b": "v2"}, method="match")
    assert held(r3, "v1") == {"N": 50_000, "M": 2_200}  # a part of the one parcel that covers it


def test_match_atm_withdrawal_takes_the_parcel_leaving_the_least_change() -> None:
    tr = transfers(("a", "V1", "M", 60_500, 0), ("b", "V2", "M", 66_800, 5), ("o", "M", "N", 66_800, 20))
    wd = withdrawals(("w", "M", 60_000, 10))  # both round down to 600 yuan; v1's leaves 5 yuan
    r = trace_funds(tr, wd, {"a": "v1", "b": "v2"}, method="match")
    assert r.cashouts[["victim_id", "amount_fen"]].values.tolist() == [["v1", 60_000]]
    assert held(r, "v2") == {"N": 66_800} and held(r, "v1") == {"M": 500}


def test_consolidation_prefers_the_fewest_parcels_and_reports_ambiguity() -> None:
    from fanzha.graph.trace import _consolidation

    lots = [(450, 0), (350, 1), (100, 2), (250, 3)]
    # {450, 350} and {450, 250, 100} both make 800: the fewest parcels, flagged as ambiguous
    assert _consolidation(lots, 800, 8) == ([0, 1], [2, 3])  # the other set's parcels not chosen
    assert _consolidation(lots, 800, 2) == ([0, 1], [])  # with 2 parts at most only one fits
    assert _consolidation([(300, 0), (500, 1), (200, 2)], 800, 8) == ([1, 0], [])
    assert _consolidation([(300, 0), (500, 1)], 900, 8) == (None, [])
    # without the fewest-parcels rule: the first set with the largest parcels
    assert _consolidation([(500, 0), (200, 1), (100, 2), (700, 3)], 800, 8, fewest=False) == ([3, 2], [0, 1])


def test_match_consolidation_includes_clean_parcels() -> None:
    """A mule buys USDT once with three of v1's parcels and two unreported victims' parcels (clean
    money with amounts); v1's fourth parcel leaves later on its own. (A case of the held-out city.)"""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("a", "V1", "M", 4_400, 0),
        ("b", "V1", "M", 5_700, 120),
        ("u1", "U1", "M", 419_700, 160),  # unreported victims: not traced sources
        ("c", "V1", "M", 22_500, 240),
        ("d", "V1", "M", 27_600, 280),
        ("u2", "U2", "M", 486_800, 340),
        ("otc", "M", "OTC", 944_200, 560),  # 4400 + 5700 + 27600 + 419700 + 486800
        ("otc2", "M", "OTC", 22_500, 665),
    )
    tr["channel"] = ["mobile"] * 6 + ["crypto_otc"] * 2
    src = {"a": "v1", "b": "v1", "c": "v1", "d": "v1"}
    r = trace_funds(tr, None, src, method="match")
    cash = r.cashouts.groupby("record_id").amount_fen.sum().to_dict()
    assert cash == {"otc": 37_700, "otc2": 22_500}
    assert r.holdings.empty and r.ambiguous.empty
    r.check_conservation()
    # traced parcels only (the former rule): no sum fits, LIFO takes the latest parcels
    former = MatchRule(clean_in_sums=False, max_parts=4, fewest_parts=False, reserve_hours=None)
    f = trace_funds(tr, None, src, method="match", match_rule=former)
    assert f.cashouts.groupby("record_id").amount_fen.sum().to_dict() != cash


def test_match_lists_money_of_ambiguous_consolidations() -> None:
    tr = transfers(
        ("a", "V1", "M", 100, 0),
        ("b", "V2", "M", 700, 1),
        ("c", "V3", "M", 300, 2),
        ("d", "V4", "M", 500, 3),
        ("out", "M", "N", 800, 10),  # 700 + 100 or 500 + 300: the records cannot decide
    )
    r = trace_funds(tr, None, {"a": "v1", "b": "v2", "c": "v3", "d": "v4"}, method="match")
    assert sorted(r.ambiguous[["victim_id", "amount_fen", "taken"]].values.tolist()) == [
        ["v1", 100, True],
        ["v2", 700, True],
        ["v3", 300, False],  # the other set that fits: left in M by this choice
        ["v4", 500, False],
    ]
    assert set(r.ambiguous.record_id) == {"out"}
    table = r.per_victim().set_index("victim_id")
    assert table.ambiguous_fen.to_dict() == {"v1": 100, "v2": 700, "v3": 300, "v4": 500}
    assert held(r, "v3") == {"M": 300} and held(r, "v1") == {"N": 100}
    r.check_conservation()


def test_consolidation_takes_the_latest_of_equal_parcels() -> None:
    """v1's 4900 and an unreported victim's 4900 both fit a 12800 consolidation with a 7900 parcel:
    the latest leaves (as with single parcels), and the choice is listed as ambiguous."""
    tr = transfers(
        ("a", "V1", "M", 4_900, 0),
        ("u", "U", "M", 4_900, 19 * 60),
        ("w", "W", "M", 7_900, 22 * 60),
        ("otc", "M", "OTC", 12_800, 26 * 60),
    )
    tr["channel"] = ["mobile"] * 3 + ["crypto_otc"]
    r = trace_funds(tr, None, {"a": "v1"}, method="match")
    assert r.cashouts.empty and held(r, "v1") == {"M": 4_900}
    assert r.ambiguous[["victim_id", "amount_fen", "taken"]].values.tolist() == [["v1", 4_900, False]]
    from fanzha.graph.trace import _consolidation

    assert _consolidation([(4_900, 0), (4_900, 1), (7_900, 2)], 12_800, 8) == ([2, 1], [0])


def test_match_split_takes_part_of_one_parcel_that_covers_the_outflow() -> None:
    """A layer-1 mule splits two unreported parcels (230000, 344200) into five transfers while v1's
    11800 passes through: no outflow is a sum of whole parcels until the last, so each is a part of
    the latest parcel that covers it alone — v1's parcel leaves whole, by its own transfer."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("u1", "U", "M", 230_000, 0),
        ("u2", "U", "M", 344_200, 8),
        ("o1", "M", "A", 127_800, 19),
        ("a", "V1", "M", 11_800, 21),
        ("o2", "M", "B", 102_200, 22),
        ("o3", "M", "C", 68_100, 22),
        ("o4", "M", "C", 133_100, 25),
        ("o5", "M", "D", 143_000, 25),
        ("o6", "M", "C", 11_800, 38),
    )
    r = trace_funds(tr, None, {"a": "v1"}, method="match")
    assert r.flows[r.flows.hop == 1][["transfer_id", "amount_fen"]].values.tolist() == [["o6", 11_800]]
    assert held(r, "v1") == {"C": 11_800}
    r.check_conservation()
    lifo = trace_funds(
        tr, None, {"a": "v1"}, method="match", match_rule=MatchRule(cover=None, reserve_exact=False)
    )
    assert lifo.flows[lifo.flows.hop == 1].transfer_id.tolist() == [
        "o2"
    ]  # the former rule: v1's parcel first


def test_match_atm_choice_between_parcels_is_listed_as_ambiguous() -> None:
    tr = transfers(("a", "V1", "M", 11_800, 0), ("b", "V2", "M", 15_500, 5))
    r = trace_funds(tr, withdrawals(("w", "M", 10_000, 10)), {"a": "v1", "b": "v2"}, method="match")
    assert r.cashouts[["victim_id", "amount_fen"]].values.tolist() == [["v1", 10_000]]  # least change
    assert sorted(r.ambiguous[["victim_id", "amount_fen", "taken"]].values.tolist()) == [
        ["v1", 10_000, True],
        ["v2", 15_500, False],
    ]
    r.check_conservation()


def test_match_look_ahead_keeps_whole_the_parcels_the_next_outflow_takes_whole() -> None:
    """An ATM withdrawal of 200 yuan fits three parcels rounded down (220, 232, 273 yuan); the
    next outflow, an OTC transfer of 2,043 yuan, is exactly the unreported 1,591 yuan + 220 + 232
    yuan: those two were still whole, so the withdrawal cut the 273 yuan. (A case of a held-out
    city: the least-change rule alone took the 220.)"""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("u", "U", "M", 159_100, 0),  # unreported victim: a clean parcel
        ("a", "V1", "M", 22_000, 400),
        ("b", "V2", "M", 23_200, 500),
        ("c", "V3", "M", 27_300, 600),
        ("otc", "M", "OTC", 204_300, 900),
    )
    tr["channel"] = ["mobile"] * 4 + ["crypto_otc"]
    wd = withdrawals(("w", "M", 20_000, 700))
    src = {"a": "v1", "b": "v2", "c": "v3"}
    r = trace_funds(tr, wd, src, method="match")
    assert r.cashouts[r.cashouts.record_id == "w"][["victim_id", "amount_fen"]].values.tolist() == [
        ["v3", 20_000]
    ]
    assert sorted(r.cashouts[r.cashouts.record_id == "otc"][["victim_id", "amount_fen"]].values.tolist()) == [
        ["v1", 22_000],
        ["v2", 23_200],
    ]
    assert held(r, "v3") == {"M": 7_300} and r.ambiguous.empty  # the records decided it
    r.check_conservation()
    before = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(reserve_hours=None, change=None))
    assert before.cashouts[before.cashouts.record_id == "w"].victim_id.tolist() == ["v1"]  # least change
    assert held(before, "v1") == {} and held(before, "v3") == {}  # the OTC transfer fitted no sum: lifo


def test_match_look_ahead_pays_an_owners_purchase_from_his_own_money() -> None:
    """A mule's account gets 313 yuan (unreported) and v1's 144 yuan; its owner pays 139.56 yuan
    at a shop, then the account buys USDT for exactly 313 + 144 yuan. The purchase came from the
    owner's own (unobserved) balance, not from v1's parcel (the split step alone cut v1's)."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("u", "U", "M", 31_300, 0),
        ("a", "V1", "M", 14_400, 80),
        ("shop", "M", "SHOP", 13_956, 320),
        ("otc", "M", "OTC", 45_700, 345),
    )
    tr["channel"] = ["mobile", "mobile", "third_party", "crypto_otc"]
    r = trace_funds(tr, None, {"a": "v1"}, method="match")
    assert r.flows[r.flows.transfer_id == "shop"].empty
    assert r.cashouts[["record_id", "amount_fen"]].values.tolist() == [["otc", 14_400]]
    r.check_conservation()
    before = trace_funds(tr, None, {"a": "v1"}, method="match", match_rule=MatchRule(reserve_hours=None))
    assert held(before, "v1") == {"SHOP": 13_956}
    # the same purchase with no outflow after it: the split step as before
    alone = trace_funds(tr[tr.transfer_id != "otc"], None, {"a": "v1"}, method="match")
    assert held(alone, "v1") == {"SHOP": 13_956, "M": 444}


def test_match_look_ahead_reads_only_the_next_outflow_within_its_hours() -> None:
    """Only the account's next outflow within ``reserve_hours`` reserves parcels: an outflow that
    no whole parcels explain, or one too late, reserves nothing."""
    from fanzha.graph.trace import MatchRule

    base = [("a", "V1", "M", 22_000, 0), ("b", "V2", "M", 27_300, 10)]
    wd = withdrawals(("w", "M", 20_000, 20))
    src = {"a": "v1", "b": "v2"}

    def atm_victim(*later: tuple, rule: MatchRule | None = None) -> list[str]:
        r = trace_funds(transfers(*base, *later), wd, src, method="match", match_rule=rule)
        r.check_conservation()
        return r.cashouts[r.cashouts.record_id == "w"].victim_id.tolist()

    assert atm_victim(("o", "M", "N", 22_000, 60)) == ["v2"]  # v1's 220 yuan leave whole next
    assert atm_victim(("o", "M", "N", 22_000, 60), rule=MatchRule(reserve_hours=0.5)) == ["v1"]  # too late
    # the next outflow cuts parcels (no whole fit): nothing is reserved, whatever follows
    assert atm_victim(("x", "M", "N", 1_000, 30), ("o", "M", "N", 22_000, 60)) == ["v1"]


def test_match_decoding_pays_an_owners_payment_from_his_own_money_before_an_atm_withdrawal() -> None:
    """A mule's owner pays 1,100 yuan to a person, then withdraws 1,600 yuan = v1's 1,698 yuan
    rounded down to notes (a case of a development city). Read with the withdrawal in view, the
    payment came from the owner's own balance; the greedy rule split v1's parcel for it."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(("a", "V1", "M", 169_800, 0), ("p", "M", "P", 110_000, 60))
    wd = withdrawals(("w", "M", 160_000, 120))
    r = trace_funds(tr, wd, {"a": "v1"}, method="match")
    assert r.flows[r.flows.transfer_id == "p"].empty
    assert r.cashouts[["record_id", "amount_fen"]].values.tolist() == [["w", 160_000]]
    assert held(r, "v1") == {"M": 9_800}
    r.check_conservation()
    greedy = trace_funds(tr, wd, {"a": "v1"}, method="match", match_rule=MatchRule(decode=False))
    assert held(greedy, "v1") == {"P": 110_000}
    assert greedy.cashouts.amount_fen.tolist() == [59_800]  # the 1,600 fitted nothing: lifo


def test_match_decoding_reads_the_accounts_next_outflows_together() -> None:
    """An ATM withdrawal of 200 yuan fits v1's 220 and v2's 273 yuan rounded down; the account
    then forwards v3's 500 yuan whole, then 220 yuan: v1's parcel was still whole, so the ATM took
    v2's. The look-ahead of one outflow (and decoding one outflow ahead) sees only the 500 yuan
    and takes the least change (v1's); the greedy rule sees that v1's parcel leaves whole later."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("a", "V1", "M", 22_000, 0),
        ("b", "V2", "M", 27_300, 10),
        ("c", "V3", "M", 50_000, 15),
        ("o1", "M", "N1", 50_000, 30),
        ("o2", "M", "N2", 22_000, 40),
    )
    wd = withdrawals(("w", "M", 20_000, 20))
    src = {"a": "v1", "b": "v2", "c": "v3"}

    def atm_victim(rule: MatchRule | None = None) -> list[str]:
        r = trace_funds(tr, wd, src, method="match", match_rule=rule)
        r.check_conservation()
        return r.cashouts[r.cashouts.record_id == "w"].victim_id.tolist()

    r = trace_funds(tr, wd, src, method="match")
    assert atm_victim() == ["v2"]
    assert held(r, "v1") == {"N2": 22_000} and held(r, "v3") == {"N1": 50_000}
    assert held(r, "v2") == {"M": 7_300} and r.ambiguous.empty  # the records decided it
    assert atm_victim(MatchRule(decode_outflows=1)) == ["v1"]
    # the greedy rule: its look-ahead reads one outflow, but v1's 220 yuan leave whole later
    # (MatchRule.reserve_exact), so the ATM does not round them down either
    assert atm_victim(MatchRule(decode=False)) == ["v2"]
    assert atm_victim(MatchRule(decode_budget=0)) == ["v2"]  # budget spent: the greedy rule
    assert atm_victim(MatchRule(decode=False, reserve_exact=False)) == ["v1"]


def test_match_change_of_atm_notes_stays_in_the_account() -> None:
    """A mule withdraws a victim's 169 yuan rounded down to 100 yuan; the 69 yuan of change stay.
    Hours later the owner withdraws 17,600 yuan of another victim's money that arrived five days
    before (out of the 72-h window: no parcel fits, the other-money step decides): it is that
    money, not the change (a case of seed 79: lifo took the change with it). A transfer of exactly
    the change still takes it (a whole parcel)."""
    from fanzha.graph.trace import MatchRule

    day = 1440
    tr = transfers(
        ("old", "V1", "M", 2_000_000, 0),
        ("new", "V2", "M", 16_900, 5 * day),
    )
    wd = withdrawals(("w1", "M", 10_000, 5 * day + 180), ("w2", "M", 1_760_000, 5 * day + 600))
    src = {"old": "v1", "new": "v2"}
    r = trace_funds(tr, wd, src, method="match")
    r.check_conservation()
    cash = r.cashouts.groupby(["record_id", "victim_id"]).amount_fen.sum().to_dict()
    assert cash == {("w1", "v2"): 10_000, ("w2", "v1"): 1_760_000}
    assert held(r, "v2") == {"M": 6_900} and held(r, "v1") == {"M": 240_000}
    before = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(change=None))
    assert held(before, "v2") == {}  # lifo took the change with the 17,600 yuan
    last = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(change="last"))
    assert held(last, "v2") == {"M": 6_900}  # the other money covered it

    exact = pd.concat([tr, transfers(("out", "M", "N", 6_900, 5 * day + 700))], ignore_index=True)
    r2 = trace_funds(exact, wd, src, method="match")
    r2.check_conservation()
    assert held(r2, "v2") == {"N": 6_900}  # the change left whole, by its amount


def test_match_change_of_atm_notes_is_not_taken_by_other_money_when_nothing_else_is_there() -> None:
    """Only the change is left: a later 5,000-yuan transfer that no parcel explains came from the
    account's unobserved balance ("never"), or from the change ("last", None)."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(("a", "V1", "M", 16_900, 0), ("x", "M", "N", 500_000, 600))
    wd = withdrawals(("w", "M", 10_000, 60))
    src = {"a": "v1"}
    r = trace_funds(tr, wd, src, method="match")
    r.check_conservation()
    assert held(r, "v1") == {"M": 6_900} and r.flows[r.flows.hop == 1].empty
    for change in ("last", None):
        other = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(change=change))
        other.check_conservation()
        assert held(other, "v1") == {"N": 6_900}


@pytest.mark.parametrize("later", [False, True])
def test_match_change_of_atm_notes_is_not_a_parcel_of_a_sum(later: bool) -> None:
    """A 3,150-yuan OTC transfer is four parcels (283 + 261 + 860 yuan of v1 and 1,746 yuan of v2),
    as in seed 79 (where the rule took 1,746 + 1,050 + 283 yuan + the 71-yuan change of an earlier
    ATM withdrawal instead). Here a 9,958-yuan parcel was withdrawn as 9,900 yuan before; its 58
    yuan of change stay in the account, so they are no parcel of the sum, and the three-parcel set
    58 + 283 + 2,809 yuan that the fewest-parcels rule took before (``sum_change=True``) does not
    fit. ``later``: an unrelated outflow follows, so that the per-account decoding decides (both
    sets explain it alike)."""
    from fanzha.graph.trace import MatchRule

    rows = [
        ("a", "V1", "M", 28_300, 0),
        ("b", "V1", "M", 26_100, 10),
        ("c", "V1", "M", 86_000, 20),
        ("d", "V2", "M", 174_600, 30),
        ("f", "V2", "M", 280_900, 35),
        ("e", "V2", "M", 995_800, 40),
        ("otc", "M", "X", 315_000, 60),
    ]
    if later:
        rows += [("g", "V3", "M", 50_000, 65), ("h", "M", "N", 50_000, 70)]
    tr = transfers(*rows)
    tr["channel"] = ["mobile"] * 6 + ["crypto_otc"] + ["mobile"] * (len(rows) - 7)
    wd = withdrawals(("w", "M", 990_000, 50))
    src = {"a": "v1", "b": "v1", "c": "v1", "d": "v2", "e": "v2", "f": "v2"}
    if later:
        src["g"] = "v3"
    r = trace_funds(tr, wd, src, method="match")
    r.check_conservation()
    otc = r.cashouts[r.cashouts.record_id == "otc"].groupby("victim_id").amount_fen.sum().to_dict()
    assert otc == {"v1": 140_400, "v2": 174_600}
    assert held(r, "v1") == {} and held(r, "v2") == {"M": 286_700}  # 2,809 yuan + the 58 yuan of change
    explicit = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(sum_change=False))
    assert explicit.cashouts.equals(r.cashouts)
    old = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(sum_change=True))
    old.check_conservation()
    assert held(old, "v1") == {"M": 112_100}  # 261 + 860 yuan left behind by the 3-parcel set


def test_match_parcel_emptied_over_two_atm_visits_is_not_read_as_a_sum_of_others() -> None:
    """A mule holds v1's 2,889 and 3,711 yuan and v2's 9,347 yuan; he withdraws 6,600 yuan, then
    2,700 yuan 40 minutes later: v2's parcel over two visits (9,300 yuan in notes), not v1's two
    parcels (which add up to 6,600 by chance). The greedy rule reads the visits before the sums
    (``visit_first``); without the rule (``visit_hours=None``) the sum is taken."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(("a", "V1", "M", 288_900, 0), ("b", "V1", "M", 371_100, 1), ("c", "V2", "M", 934_700, 2))
    wd = withdrawals(("w1", "M", 660_000, 120), ("w2", "M", 270_000, 160))
    src = {"a": "v1", "b": "v1", "c": "v2"}

    def cash(rule: MatchRule | None = None) -> dict[str, list[str]]:
        r = trace_funds(tr, wd, src, method="match", match_rule=rule)
        r.check_conservation()
        c = r.cashouts.sort_values("record_id")
        return {w: c[c.record_id == w].victim_id.tolist() for w in ("w1", "w2")}

    r = trace_funds(tr, wd, src, method="match")
    assert cash() == {"w1": ["v2"], "w2": ["v2"]}
    assert held(r, "v1") == {"M": 660_000} and held(r, "v2") == {"M": 4_700}
    assert cash(MatchRule(decode=False)) == {"w1": ["v2"], "w2": ["v2"]}
    assert cash(MatchRule(visit_hours=None))["w1"] == ["v1", "v1"]
    assert cash(MatchRule(decode=False, visit_hours=None))["w1"] == ["v1", "v1"]
    assert cash(MatchRule(decode=False, visit_first=False))["w1"] == ["v1", "v1"]
    # the next outflow is a transfer, not a second visit: no visit, the sum
    tr2 = pd.concat([tr, transfers(("o", "M", "X", 1_000, 130))], ignore_index=True)
    r2 = trace_funds(tr2, wd, src, method="match", match_rule=MatchRule(decode=False))
    r2.check_conservation()
    assert r2.cashouts[r2.cashouts.record_id == "w1"].victim_id.tolist() == ["v1", "v1"]
    # the second visit comes after ``visit_hours``: no visit either
    late = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(decode=False, visit_hours=0.5))
    assert late.cashouts[late.cashouts.record_id == "w1"].victim_id.tolist() == ["v1", "v1"]


def test_match_decoding_reads_a_parcel_emptied_over_two_atm_visits() -> None:
    """v1's 2,889 yuan is withdrawn as 2,800 yuan; then 6,600 and 2,700 yuan of v3's 9,347 yuan
    (two visits). Reading the account's next outflows, the decoding saw that 6,600 yuan is v1's
    2,889 + 3,711 yuan and 2,700 yuan v2's 2,761 rounded down, so the 2,800 yuan came from other
    money (round 7). With the visits, 2,800 yuan is v1's 2,889 rounded down, and the rest follows."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("a", "V1", "M", 288_900, 0),
        ("b", "V1", "M", 371_100, 1),
        ("c", "V2", "M", 276_100, 20),
        ("d", "V3", "M", 934_700, 75),
    )
    wd = withdrawals(("w1", "M", 280_000, 53), ("w2", "M", 660_000, 188), ("w3", "M", 270_000, 226))
    src = {"a": "v1", "b": "v1", "c": "v2", "d": "v3"}
    r = trace_funds(tr, wd, src, method="match")
    r.check_conservation()
    by = r.cashouts.groupby("record_id").victim_id.agg(list).to_dict()
    assert by == {"w1": ["v1"], "w2": ["v3"], "w3": ["v3"]}
    assert (
        held(r, "v1") == {"M": 380_000} and held(r, "v2") == {"M": 276_100} and held(r, "v3") == {"M": 4_700}
    )
    old = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(visit_hours=None))
    old.check_conservation()
    assert "w1" not in set(old.cashouts.record_id)  # other money
    assert old.cashouts[old.cashouts.record_id == "w2"].victim_id.tolist() == ["v1", "v1"]


def test_match_decoding_counts_two_visits_to_a_parcel_as_one_explanation() -> None:
    """v1's 523 yuan reaches a mule who holds 1,000 yuan of his own; he forwards 523 yuan, then
    withdraws 300 and 200 yuan. Read as two visits to v1's parcel, the withdrawals would make the
    transfer other money (``visit_counts=True``: two explained withdrawals against one transfer);
    the two visits explain one parcel, so the transfer takes v1's parcel whole."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(("l", "L", "M", 100_000, 0), ("a", "V1", "M", 52_300, 10), ("o", "M", "X", 52_300, 30))
    wd = withdrawals(("w1", "M", 30_000, 600), ("w2", "M", 20_000, 640))
    src = {"a": "v1"}
    r = trace_funds(tr, wd, src, method="match")
    r.check_conservation()
    assert held(r, "v1") == {"X": 52_300} and r.cashouts.empty
    counts = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(visit_counts=True))
    counts.check_conservation()
    assert set(counts.cashouts.record_id) == {"w1", "w2"}


def test_match_parcel_drained_at_the_atm_over_days_stays_in_view() -> None:
    """A cashier drains v1's 100,000 yuan at the ATM in 15,000-yuan withdrawals, one or two a day
    (the card's daily limit), the last on day 3 — past the 72-h window since the parcel arrived.
    v2's 39 yuan arrive on day 1 and stay. Each withdrawal that cuts the parcel restarts its clock
    (``drain``, round 9), so the last one is v1's money too; before (``drain=False``) the parcel
    had left the window and the other-money step took v2's 39 yuan first (seed 3: that victim
    located 0 %)."""
    from fanzha.graph.trace import MatchRule

    day = 1440
    tr = transfers(("a", "V1", "M", 10_000_000, 0), ("b", "V2", "M", 3_900, day + 120))
    at = [60, 90, day + 60, day + 90, 2 * day + 60, 3 * day + 60]
    wd = withdrawals(*((f"w{i}", "M", 1_500_000, t) for i, t in enumerate(at)))
    src = {"a": "v1", "b": "v2"}
    r = trace_funds(tr, wd, src, method="match")
    r.check_conservation()
    assert set(r.cashouts.victim_id) == {"v1"} and r.cashouts.amount_fen.sum() == 9_000_000
    assert held(r, "v2") == {"M": 3_900} and held(r, "v1") == {"M": 1_000_000}
    for rule in (MatchRule(decode=False), MatchRule(hours=None)):  # the greedy rule; no window at all
        other = trace_funds(tr, wd, src, method="match", match_rule=rule)
        assert held(other, "v2") == {"M": 3_900}
    before = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(drain=False))
    before.check_conservation()
    assert held(before, "v2") == {}  # the day-3 withdrawal took the 39 yuan


@pytest.mark.parametrize("method", ["fifo", "lifo", "match", "proportional"])
def test_a_transfer_to_the_same_account_moves_no_money(method: str) -> None:
    """M1 → M1 between the mule's hops: no hop, no flow (before: it used up ``max_hops`` and the
    ATM withdrawal at M3 was left untraced)."""
    tr = transfers(
        ("a", "V", "M1", 100_000, 0), ("s", "M1", "M1", 100_000, 10), ("b", "M1", "M3", 100_000, 20)
    )
    wd = withdrawals(("w", "M3", 100_000, 30))
    r = trace_funds(tr, wd, {"a": "v"}, method=method, max_hops=1)
    r.check_conservation()
    assert "s" not in set(r.flows.transfer_id) and r.untraced.empty
    assert r.cashouts.amount_fen.sum() == 100_000


def test_amounts_beyond_any_real_transfer_are_refused() -> None:
    """Sums of int64 fen must not wrap (two 5 × 10^18-fen payments printed a negative total)."""
    from fanzha.errors import ValidationError

    tr = transfers(("a", "V", "M1", 5 * 10**18, 0), ("b", "V", "M2", 5 * 10**18, 1))
    with pytest.raises(ValidationError, match="implausibly large"):
        trace_funds(tr, None, {"a": "v", "b": "v"})


def test_match_owner_spending_leaves_a_parcel_that_leaves_whole_later() -> None:
    """A card farmer's mule M holds v1's 469 yuan, v2's 618 and v3's 1,418. The owner pays 1,300
    yuan to his own card P; then 1,418 yuan leave whole, 600 are withdrawn (v2's rounded down) and,
    hours later, exactly 469 yuan go to N. The owner's payment took none of the parcels: v1's
    leaves whole to N (seed 199's victim in miniature; the reading of the next two outflows alone
    left v1's parcel to the owner's payment)."""
    from fanzha.graph.trace import MatchRule

    tr = transfers(
        ("a", "V1", "M", 46_900, 0),
        ("b", "V2", "M", 61_800, 10),
        ("c", "V3", "M", 141_800, 20),
        ("o1", "M", "P", 130_000, 30),
        ("o2", "M", "N3", 141_800, 40),
        ("o3", "M", "N1", 46_900, 300),
    )
    wd = withdrawals(("w", "M", 60_000, 200))
    src = {"a": "v1", "b": "v2", "c": "v3"}
    r = trace_funds(tr, wd, src, method="match")
    r.check_conservation()
    assert held(r, "v1") == {"N1": 46_900}
    assert held(r, "v3") == {"N3": 141_800} and held(r, "v2") == {"M": 1_800}
    assert r.flows[r.flows.transfer_id == "o1"].empty  # the owner's own money
    before = trace_funds(tr, wd, src, method="match", match_rule=MatchRule(reserve_exact=False))
    assert held(before, "v1") == {"P": 46_900}  # the rule before: lifo past the next two outflows
