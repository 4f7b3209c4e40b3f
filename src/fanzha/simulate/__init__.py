"""World simulator: a synthetic city with every party's records and the ground truth (`fanzha simulate`)."""

from __future__ import annotations

from fanzha.simulate.world import DEFAULT_START, SimConfig, SimResult, simulate

__all__ = ["DEFAULT_START", "SimConfig", "SimResult", "simulate"]
