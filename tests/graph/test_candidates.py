"""Candidate freeze targets (冻结候选) for money whose place the match rule chose among parcels that fit."""

from __future__ import annotations

import math

import pandas as pd

from fanzha.graph.trace import MatchRule, trace_funds

COLS = ["transfer_id", "from_account", "to_account", "amount_fen", "at"]
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def transfers(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLS)
    frame["at"] = T0 + pd.to_timedelta(frame["at"], unit="min")
    return frame


def withdrawals(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["withdrawal_id", "account", "amount_fen", "at"])
    frame["at"] = T0 + pd.to_timedelta(frame["at"], unit="min")
    return frame


def cands(result) -> list[list]:
    return sorted(result.candidates[["victim_id", "account", "amount_fen", "reason"]].values.tolist())


def test_equal_parcels_one_moved_on_one_cashed_out_both_get_the_other_place() -> None:
    # two victims' 50 000 in M; M forwards one parcel to N, then withdraws the other at an ATM
    tr = transfers(("a", "V1", "M", 50_000, 0), ("b", "V2", "M", 50_000, 5), ("f", "M", "N", 50_000, 30))
    wd = withdrawals(("w", "M", 50_000, 60))
    r = trace_funds(tr, wd, {"a": "v1", "b": "v2"}, method="match")
    # the trace: the latest parcel (v2) moves on to N, v1's is cashed out from M
    assert r.holdings[["victim_id", "account", "amount_fen"]].values.tolist() == [["v2", "N", 50_000]]
    assert r.cashouts[["victim_id", "account", "amount_fen"]].values.tolist() == [["v1", "M", 50_000]]
    # the other reading: v1's parcel moved on to N, v2's stayed in M (and left by M's cash-out)
    assert cands(r) == [["v1", "N", 50_000, "moves"], ["v2", "M", 50_000, "stays"]]
    assert set(r.candidates.record_id) == {"f"}
    assert r.candidates.new_place.all()  # the trace names the other account for each
    # candidates are no part of the trace: money is conserved without them
    r.check_conservation()
    table = r.per_victim().set_index("victim_id")
    assert table.held_fen.add(table.cashed_out_fen).to_dict() == {"v1": 50_000, "v2": 50_000}


def test_ambiguous_withdrawal_lists_the_cash_out_as_the_other_place() -> None:
    # equal parcels; a withdrawal takes one of them, the other stays: the one left would be cashed out
    tr = transfers(("a", "V1", "M", 30_000, 0), ("b", "V2", "M", 30_000, 5))
    wd = withdrawals(("w", "M", 30_000, 60))
    r = trace_funds(tr, wd, {"a": "v1", "b": "v2"}, method="match")
    assert cands(r) == [["v1", "M", 30_000, "cashed_out"], ["v2", "M", 30_000, "stays"]]
    assert not r.candidates.new_place.any()  # both readings name M: no new freeze target
    r.check_conservation()


def test_consolidation_alternatives_name_the_payee_and_the_account() -> None:
    tr = transfers(
        ("a", "V1", "M", 100, 0),
        ("b", "V2", "M", 700, 1),
        ("c", "V3", "M", 300, 2),
        ("d", "V4", "M", 500, 3),
        ("out", "M", "N", 800, 10),  # 700 + 100 or 500 + 300
    )
    r = trace_funds(tr, None, {"a": "v1", "b": "v2", "c": "v3", "d": "v4"}, method="match")
    assert cands(r) == [
        ["v1", "M", 100, "stays"],
        ["v2", "M", 700, "stays"],
        ["v3", "N", 300, "moves"],
        ["v4", "N", 500, "moves"],
    ]
    # the candidate amounts are exactly the ambiguous money
    assert r.candidates.amount_fen.sum() == r.ambiguous.amount_fen.sum()


def test_no_ambiguity_no_candidates() -> None:
    # parcels of different amounts: each outflow fits one parcel only
    tr = transfers(("a", "V1", "M", 50_000, 0), ("b", "V2", "M", 40_000, 5), ("f", "M", "N", 50_000, 30))
    wd = withdrawals(("w", "M", 40_000, 60))
    r = trace_funds(tr, wd, {"a": "v1", "b": "v2"}, method="match")
    assert r.ambiguous.empty and r.candidates.empty
    assert list(r.candidates.columns) == [
        "victim_id",
        "account",
        "amount_fen",
        "reason",
        "new_place",
        "record_id",
        "at",
    ]
    # one victim's two parcels of one amount: no other owner, no candidates
    tr = transfers(("a", "V1", "M", 50_000, 0), ("b", "V1", "M", 50_000, 5), ("f", "M", "N", 50_000, 30))
    r = trace_funds(tr, None, {"a": "v1", "b": "v1"}, method="match")
    assert r.ambiguous.empty and r.candidates.empty
    for method in ("fifo", "lifo", "proportional"):
        assert trace_funds(tr, None, {"a": "v1", "b": "v1"}, method=method).candidates.empty


def test_eval_candidates_cover_the_misplaced_money_and_count_precision() -> None:
    from fanzha.graph.evaluate import Truth, tracing_metrics

    # the truth: v1's parcel moved on to N, v2's was cashed out from M; the trace reads it the
    # other way round (the latest parcel moves on), so all the money is misplaced and the
    # candidates (v1 → N, v2 → M) cover all of it, every listed fen at a true place
    tr = transfers(("a", "V1", "M", 50_000, 0), ("b", "V2", "M", 50_000, 5), ("f", "M", "N", 50_000, 30))
    wd = withdrawals(("w", "M", 50_000, 60))
    r = trace_funds(tr, wd, {"a": "v1", "b": "v2"}, method="match")
    rows = [
        ("E1", "v1", 0, "transfer", "a", "V1", "M", 50_000),
        ("E1", "v1", 1, "transfer", "f", "M", "N", 50_000),
        ("E2", "v2", 0, "transfer", "b", "V2", "M", 50_000),
        ("E2", "v2", 1, "withdrawal", "w", "M", None, 50_000),
    ]
    cols = ["episode_id", "victim_id", "hop", "record_kind", "record_id", "from_account", "to_account"]
    paths = pd.DataFrame(rows, columns=[*cols, "amount_fen"]).assign(at=T0)
    truth = Truth(
        entities=pd.DataFrame(),
        episodes=pd.DataFrame({"episode_id": ["E1", "E2"], "victim_id": ["v1", "v2"]}),
        money_paths=paths,
        held=pd.DataFrame({"episode_id": ["E1"], "account": ["N"], "amount_fen": [50_000]}),
        transfers=pd.DataFrame(
            {"transfer_id": ["a", "b", "f"], "step": ["victim_payment"] * 2 + ["layering"]}
        ),
    )
    m = tracing_metrics(r, truth)
    assert m["located_share_by_place"] == 0.0
    assert m["misplaced_fen"] == 100_000 and m["candidates_fen"] == 100_000
    assert m["candidates_coverage"] == 1.0 and m["candidates_coverage_mean"] == 1.0
    assert m["candidates_precision"] == 1.0 and m["candidates_precision_place"] == 1.0
    assert m["victims_with_candidates"] == 2 and m["candidates_per_victim"] == 1.0
    assert m["candidates_new_place_fen"] == 100_000 and m["candidates_precision_new_place"] == 1.0
    # the truth agrees with the trace instead: nothing misplaced; v1's candidate N never held v1's
    # money (wrong), v2's candidate M passed it (right by passing, not a final place)
    paths2 = paths.copy()
    paths2.loc[1, ["to_account", "record_kind", "record_id"]] = [None, "withdrawal", "w"]
    paths2.loc[3, ["to_account", "record_kind", "record_id"]] = ["N", "transfer", "f"]
    truth2 = Truth(
        entities=pd.DataFrame(),
        episodes=truth.episodes,
        money_paths=paths2,
        held=pd.DataFrame({"episode_id": ["E2"], "account": ["N"], "amount_fen": [50_000]}),
        transfers=truth.transfers,
    )
    m2 = tracing_metrics(r, truth2)
    assert m2["located_share_by_place"] == 1.0 and m2["misplaced_fen"] == 0
    assert math.isnan(m2["candidates_coverage"])  # nothing to cover: not defined, not a vacuous 1.0
    assert m2["candidates_precision"] == 0.5 and m2["candidates_precision_place"] == 0.0
    assert m2["candidates_precision_new_place"] == 0.5


def test_one_parcel_or_a_set_of_parcels_of_its_amount_is_an_ambiguous_choice() -> None:
    # v1's 9 200 and v2's 6 900 + 2 300 in M; M forwards 9 200 to N: one parcel or the two fit alike.
    # Alone the greedy step decides; with M's next outflow (to P) in view, the decoding step
    parcels = [("a", "V1", "M", 9_200, 0), ("b", "V2", "M", 6_900, 5), ("c", "V2", "M", 2_300, 10)]
    out = [("f", "M", "N", 9_200, 30)]
    payers = {"a": "v1", "b": "v2", "c": "v2"}
    for tr, v2_at in (
        (transfers(*parcels, *out), "M"),
        (transfers(*parcels, *out, ("g", "M", "P", 9_200, 60)), "P"),
    ):
        r = trace_funds(tr, None, payers, method="match")
        # the trace moves the one parcel to N (before the tenth session it did so silently)
        held = r.holdings.sort_values("victim_id")[["victim_id", "account", "amount_fen"]].values.tolist()
        assert held == [["v1", "N", 9_200], ["v2", v2_at, 9_200]]
        assert sorted(r.ambiguous[["victim_id", "amount_fen", "taken"]].values.tolist()) == [
            ["v1", 9_200, True],
            ["v2", 2_300, False],
            ["v2", 6_900, False],
        ]
        assert cands(r) == [["v1", "M", 9_200, "stays"], ["v2", "N", 9_200, "moves"]]
        r.check_conservation()
        quiet = MatchRule(set_ties_ambiguous=False)  # the rule before: the same places, no choice listed
        before = trace_funds(tr, None, payers, method="match", match_rule=quiet)
        assert before.ambiguous.empty
        pd.testing.assert_frame_equal(before.holdings, r.holdings)
    # a set of the chosen parcel's own owner changes no one's place: not ambiguous
    r = trace_funds(transfers(*parcels, *out), None, {"a": "v1", "b": "v1", "c": "v1"}, method="match")
    assert r.ambiguous.empty and r.candidates.empty
