"""Victims' payments of a case: named accounts, the farmer's other accounts, pass-through accounts."""

from __future__ import annotations

import pandas as pd

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.graph.casetrace import case_sources, trace_cases

T0 = pd.Timestamp("2026-03-10", tz="UTC")


def at(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


def test_sources_follow_the_rules_and_trace_conserves() -> None:
    eng = DuckDBEngine(threads=1)
    eng.register(
        "cases",
        pd.DataFrame(
            {
                "case_id": ["C1"],
                "victim_id": ["V"],
                "reported_at": [at(48)],
                "suspect_accounts": [["M1"]],
                "loss_fen": [0],
                "region": ["510104"],
            }
        ),
    )
    eng.register(
        "accounts",
        pd.DataFrame(
            {
                "account_no": ["VA", "M1", "M2", "P", "FRIEND", "SHOP", "VA2"],
                "owner_id": ["V", "FARMER", "FARMER", "X", "Y", None, "V"],
                "account_type": [
                    "personal",
                    "personal",
                    "personal",
                    "personal",
                    "personal",
                    "merchant",
                    "personal",
                ],
                "merchant_category": [None, None, None, None, None, "gold", None],
            }
        ),
    )
    rows = [
        ("named", "VA", "M1", 10_000, at(0)),
        ("same_owner", "VA", "M2", 20_000, at(1)),
        ("pass", "VA", "P", 30_000, at(2)),
        ("p_out", "P", "SHOP", 30_000, at(2.5)),  # P passes the money on within 2 h: 快进快出
        ("friend", "VA", "FRIEND", 5_000, at(3)),  # an ordinary payment: not a source
        ("old", "VA", "M1", 7_000, at(-24 * 40)),  # before the 30-day window
        # the victim moves money to her second card, then pays from it: one payment, not two (before:
        # the move passed on within 2 h, so it counted as paid too and VA2 became a freeze target)
        ("own", "VA", "VA2", 40_000, at(4)),
        ("named2", "VA2", "M1", 40_000, at(4.5)),
    ]
    eng.register(
        "transfers",
        pd.DataFrame(rows, columns=["transfer_id", "from_account", "to_account", "amount_fen", "at"]).assign(
            channel="mobile", wallet=None
        ),
    )
    sources = case_sources(eng)
    assert dict(zip(sources.transfer_id, sources.reason, strict=True)) == {
        "named": "named",
        "same_owner": "same_owner",
        "pass": "pass_through",
        "named2": "named",
    }
    result, _ = trace_cases(eng, ["C1"], method="fifo")
    result.check_conservation()
    assert result.cashouts[["kind", "amount_fen"]].values.tolist() == [["gold", 30_000]]
    held = dict(zip(result.holdings.account, result.holdings.amount_fen, strict=True))
    assert held == {"M1": 50_000, "M2": 20_000}
    assert result.sources.amount_fen.sum() == 100_000  # 10,000 + 20,000 + 30,000 + 40,000
    eng.close()


def _two_victims_one_mule() -> DuckDBEngine:
    """Victims A and B pay mule account M, B twice: case CB was reported after her first payment,
    CB2 after both. M cashes out 10,000 then 12,000 at gold."""
    eng = DuckDBEngine(threads=1)
    eng.register(
        "cases",
        pd.DataFrame(
            {
                "case_id": ["CA", "CB", "CB2"],
                "victim_id": ["A", "B", "B"],
                "reported_at": [at(48), at(0.75), at(48)],
                "suspect_accounts": [["M"]] * 3,
                "loss_fen": [0] * 3,
                "region": ["510104"] * 3,
            }
        ),
    )
    eng.register(
        "accounts",
        pd.DataFrame(
            {
                "account_no": ["AA", "BA", "BA2", "M", "SHOP"],
                "owner_id": ["A", "B", "B", "MULE", None],
                "account_type": ["personal"] * 4 + ["merchant"],
                "merchant_category": [None] * 4 + ["gold"],
            }
        ),
    )
    rows = [
        ("a", "AA", "M", 10_000, at(0)),
        ("b2", "BA2", "M", 5_000, at(0.5)),
        ("b", "BA", "M", 10_000, at(1)),
        ("out1", "M", "SHOP", 10_000, at(2)),
        ("out2", "M", "SHOP", 12_000, at(3)),
    ]
    eng.register(
        "transfers",
        pd.DataFrame(rows, columns=["transfer_id", "from_account", "to_account", "amount_fen", "at"]).assign(
            channel="mobile", wallet=None
        ),
    )
    return eng


def _fen(result, what: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    table = result.per_victim().set_index("victim_id")
    return {str(v): int(x) for v, x in table[what].items()}


def test_a_victim_traced_alone_reads_the_ledger_of_every_case() -> None:
    """Before: ``--victim B`` replayed from B's first payment only, so FIFO at M missed A's earlier
    10,000 and cashed B's money out first; the match rule likewise missed other victims' parcels."""
    eng = _two_victims_one_mule()
    every, _ = trace_cases(eng, method="fifo")
    assert _fen(every, "cashed_out_fen") == {"A": 10_000, "B": 12_000}
    assert _fen(every, "held_fen") == {"A": 0, "B": 3_000}
    for method in ("fifo", "lifo", "proportional", "match"):
        whole, _ = trace_cases(eng, method=method)
        for victim in ("A", "B"):
            alone, _ = trace_cases(eng, victim_ids=[victim], method=method)
            assert set(alone.sources.victim_id) == {victim}
            part = whole.of_victims({victim}, set(whole.sources.transfer_id))
            for name in ("holdings", "cashouts", "flows", "untraced"):
                got = getattr(alone, name).sort_values(list(getattr(alone, name).columns), ignore_index=True)
                want = getattr(part, name).sort_values(list(getattr(part, name).columns), ignore_index=True)
                pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # one case of B: only its payment counts as hers; her later one rides along in the ledger
    case, sources = trace_cases(eng, ["CB"], method="fifo")
    assert list(sources.transfer_id) == ["b2"]
    case.check_conservation()
    assert _fen(case, "paid_fen") == {"B": 5_000}
    assert _fen(case, "cashed_out_fen") == {"B": 5_000}  # out2 takes b2's 5,000, then 7,000 of b
    assert case.holdings.empty and set(case.flows.transfer_id) == {"b2", "out2"}
    eng.close()
