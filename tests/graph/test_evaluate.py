"""The tracing score against a hand-made truth: strict by place, and 'traceable' (money the truth
leaves in an account its owner later spends from is not determined by the records)."""

from __future__ import annotations

import pandas as pd

from fanzha.graph.evaluate import Truth, tracing_metrics, victim_shares
from fanzha.graph.trace import trace_funds

T0 = pd.Timestamp("2026-03-01", tz="UTC")


def at(minutes: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def test_traceable_share_leaves_out_money_parked_where_the_owner_spends() -> None:
    # v1 pays 1000 to M, which the truth says stays there; M's owner then buys for 600 (ordinary).
    # v2 pays 500 to Q, which nobody touches.
    tr = pd.DataFrame(
        {
            "transfer_id": ["p1", "p2", "buy"],
            "from_account": ["V1", "V2", "M"],
            "to_account": ["M", "Q", "SHOP"],
            "amount_fen": [1000, 500, 600],
            "at": [at(0), at(1), at(60)],
        }
    )
    result = trace_funds(tr, None, {"p1": "v1", "p2": "v2"}, method="lifo")
    truth = Truth(
        entities=pd.DataFrame(),
        episodes=pd.DataFrame({"episode_id": ["E1", "E2"], "victim_id": ["v1", "v2"]}),
        money_paths=pd.DataFrame(
            {
                "episode_id": ["E1", "E2"],
                "victim_id": ["v1", "v2"],
                "hop": [0, 0],
                "record_kind": ["transfer", "transfer"],
                "record_id": ["p1", "p2"],
                "from_account": ["V1", "V2"],
                "to_account": ["M", "Q"],
                "amount_fen": [1000, 500],
                "at": [at(0), at(1)],
            }
        ),
        held=pd.DataFrame({"episode_id": ["E1", "E2"], "account": ["M", "Q"], "amount_fen": [1000, 500]}),
        transfers=pd.DataFrame(
            {"transfer_id": ["p1", "p2", "buy"], "step": ["victim_payment"] * 2 + ["legit"]}
        ),
    )
    strict = tracing_metrics(result, truth)
    assert strict["victims_ge_95_by_place"] == 0.5  # lifo spent 600 of v1's money: 40 % located
    assert "victims_ge_95_traceable" not in strict  # no record outflows known: no traceable share
    truth.outflows = pd.DataFrame(
        {
            "record_id": ["p1", "p2", "buy"],
            "account": ["V1", "V2", "M"],
            "amount_fen": [1000, 500, 600],
            "at": [at(0), at(1), at(60)],
            "fraud": [True, True, False],
        }
    )
    m = tracing_metrics(result, truth)
    assert m["undetermined_fen"] == 600  # min(held 1000, ordinary outflows after arrival 600)
    assert m["victims_ge_95_traceable"] == 1.0  # v1: 400 located of 1000 - 600 traceable
    assert m["min_share_traceable"] == 1.0
    table = victim_shares(result, truth).set_index("victim_id")
    assert table.loc["v1"].to_dict() == {
        "paid_fen": 1000,
        "undetermined_fen": 600,
        "traceable_fen": 400,
        "located_fen": 400,
        "share": 1.0,
        "ambiguous_fen": 0,
    }
    # the owner's spending before the money arrived does not make it undetermined
    truth.outflows.loc[truth.outflows.record_id == "buy", "at"] = at(-60)
    assert tracing_metrics(result, truth)["undetermined_fen"] == 0
