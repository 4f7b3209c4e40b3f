"""The demo step on a small simulated city: every stage produces something and the money adds up."""

from __future__ import annotations

import pytest
from rich.console import Console

from fanzha.demo import DemoContext


@pytest.mark.slow
def test_ops_demo_on_a_small_city(settings) -> None:
    simulate = pytest.importorskip("fanzha.simulate")
    from fanzha.ops import demo

    ctx = DemoContext(
        settings.model_copy(update={"home": settings.home / "demo"}),
        Console(record=True),
        people=400,
        days=10,
        seed=5,
    )
    simulate.simulate(simulate.SimConfig(people=400, days=10, seed=5, fraud_rate=150.0), ctx.sim_dir)
    demo.run(ctx)
    out = ctx.results["ops"]
    f = out["funnel"]
    assert f["warned"] > 0 and f["contacted"] <= f["warned"] and f["dissuaded"] <= f["contacted"]
    assert f["returned_fen"] <= f["frozen_fen"]
    assert f["stop_commands"] > 0 and f["frozen_fen"] > 0 and f["returned_fen"] > 0
    assert out["audit_rows"] > f["warned"]
    text = ctx.console.export_text()
    assert "effectiveness funnel" in text and "chain intact" in text


def test_ops_demo_without_a_simulated_city(settings) -> None:
    from fanzha.ops import demo

    ctx = DemoContext(settings, Console(record=True))
    demo.run(ctx)
    assert "nothing for operations to act on" in ctx.console.export_text()


def test_flagged_prefers_published_risk_scores(settings) -> None:
    import pandas as pd

    from fanzha.ops import demo

    ctx = DemoContext(settings, Console(record=True))
    scores = settings.home / "scores"
    scores.mkdir(parents=True)
    pd.DataFrame(
        {
            "id": ["phone:13800138000", "13900139000"],
            "probability": [0.9, 0.2],
            "tier": ["high", "low"],
            "reasons": ["[]", "[]"],
        }
    ).to_parquet(scores / "numbers.parquet")
    truth = {"entities": pd.DataFrame({"entity": ["account:6222020200112233445"], "role": ["mule_account"]})}
    world = demo.World(*[pd.DataFrame()] * 7, truth=truth)
    numbers, accounts = demo._flagged(ctx, world)
    assert numbers == {"13800138000": 0.9}
    assert accounts == {"6222020200112233445": 0.9}
    assert "risk scores" in world.notes[0] and "stand-in" in world.notes[1]


def test_demo_bank_rejects_a_second_hold_on_an_already_held_account(tmp_path) -> None:
    """Two stop-payments issued for one account before either is held (a reported case and an
    escalation reaching the same mule): the simulated bank holds the money once and rejects the
    other, instead of the demo crashing on the store's never-twice constraint."""
    from datetime import UTC, datetime

    import pandas as pd

    from fanzha.ops import demo
    from fanzha.ops import fundcontrol as F
    from fanzha.ops.audit import SYSTEM
    from fanzha.ops.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'ops.db'}")
    at = datetime(2026, 10, 1, tzinfo=UTC)
    account = "6222020000001234"
    for cid in ("c1", "c2"):
        F.issue_command(
            store,
            SYSTEM,
            command_id=cid,
            kind="stop_payment",
            account=account,
            amount_fen=5_000,
            reason="test",
            now=at,
        )
        F.send(store, cid, SYSTEM, now=at)
    bank = {account: 10_000}
    first = demo._receipt(store, F.get_command(store, "c1", SYSTEM), pd.DataFrame(), bank)
    assert first.outcome == "executed" and first.held_fen == 5_000
    F.apply_receipt(store, "c1", first, SYSTEM, now=at)
    second = demo._receipt(store, F.get_command(store, "c2", SYSTEM), pd.DataFrame(), bank)
    assert second.outcome == "rejected" and "c1" in (second.note or "")
    assert F.apply_receipt(store, "c2", second, SYSTEM, now=at).status == "rejected"
    store.close()
