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
