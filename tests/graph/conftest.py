"""Hand-made record tables with known linking answers, and small simulated cities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from fanzha.engine.duckdb import DuckDBEngine

T0 = pd.Timestamp("2026-03-01", tz="UTC")


def simulated_city(factory: pytest.TempPathFactory, people: int, days: int, seed: int) -> Path:
    """A simulator output folder (the test is skipped when the simulator is not installed)."""
    from fanzha.demo import module_exists

    if not module_exists("fanzha.simulate.world"):
        pytest.skip("the simulator (fanzha.simulate) is not available")
    from fanzha.simulate.world import SimConfig, simulate

    out = factory.mktemp("city") / "sim"
    simulate(SimConfig(people=people, days=days, seed=seed), out)
    return out


def case(case_id: str, phones=(), accounts=(), urls=(), region: str = "510104", victim: str = "V") -> dict:
    return {
        "case_id": case_id,
        "reported_at": T0,
        "victim_id": f"{victim}{case_id}",
        "fraud_type": "shua_dan",
        "loss_fen": 10_000,
        "narrative": "",
        "region": region,
        "suspect_phones": list(phones),
        "suspect_accounts": list(accounts),
        "suspect_urls": list(urls),
        "suspect_wallets": [],
        "suspect_app_accounts": [],
    }


@pytest.fixture
def linked_city() -> Iterator[DuckDBEngine]:
    """C1–C2 through a chain (account → owner → account), C3–C4 through a shared phone, C11 joins
    them through a SIM-farm device; C5–C6 share only a pooled account, C7–C8 only a hotline,
    C9–C10 only a popular domain (degree hub): those three pairs must stay apart."""
    eng = DuckDBEngine(threads=1)
    cases = pd.DataFrame(
        [
            case("C1", accounts=["A1"]),
            case("C2", accounts=["A2"], region="440305"),
            case("C3", phones=["13900000003"]),
            case("C4", phones=["13900000003"]),
            case("C11", phones=["13900000011"]),
            case("C5", accounts=["POOL"]),
            case("C6", accounts=["POOL"]),
            case("C7", phones=["95588"]),
            case("C8", phones=["95588"]),
            case("C9", urls=["https://popular.com/a"]),
            case("C10", urls=["http://popular.com/b"]),
            case("C12"),
        ]
    )
    accounts = pd.DataFrame(
        {
            "account_no": ["A1", "A2", "POOL"],
            "owner_id": ["X", "X", None],
            "account_type": ["personal", "personal", "pooled"],
            "opened_at": [T0] * 3,
        }
    )
    calls = pd.DataFrame(
        {
            "caller": ["13900000003", "13900000011"],
            "callee": ["13800000001", "13800000002"],
            "start_at": [T0, T0],
            "direction": ["out", "out"],
            "imei": ["DEV1", "DEV1"],
        }
    )
    # many other cases name popular.com? no: many accounts' owners browse it — model with url tips
    urls_hub = pd.DataFrame({"case_id": [f"H{i}" for i in range(5)]})
    extra = pd.DataFrame([case(c, urls=["https://popular.com/x"]) for c in urls_hub.case_id])
    eng.register("cases", pd.concat([cases, extra], ignore_index=True))
    eng.register("accounts", accounts)
    eng.register("calls", calls)
    yield eng
    eng.close()
