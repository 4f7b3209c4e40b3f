"""One small simulated city shared by the tests of this folder (simulated once per session)."""

from __future__ import annotations

import pytest

from fanzha.simulate import SimConfig, SimResult, simulate


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> SimResult:
    out = tmp_path_factory.mktemp("sim") / "city"
    return simulate(SimConfig(people=1500, days=10, seed=11, fraud_rate=60), out)
