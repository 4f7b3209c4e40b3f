"""Property: for any seed, every episode's money path balances exactly (loss = cashed out + held)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.simulate import SimConfig, simulate


@given(st.integers(0, 2**31 - 1), st.integers(1, 4))
@settings(max_examples=4, deadline=None)
def test_money_balances_for_any_seed(seed: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "city"
        result = simulate(SimConfig(people=300, days=days, seed=seed, fraud_rate=400), out)
        truth = out / "truth"
        paths = pq.read_table(truth / "money_paths.parquet").to_pandas()
        held = pq.read_table(truth / "held.parquet").to_pandas()
        eps = pq.read_table(truth / "episodes.parquet").to_pandas()
        steps = pq.read_table(truth / "transfers.parquet").to_pandas().set_index("transfer_id")["step"]
        assert len(eps) == result.episodes
        cash = (paths.record_kind == "withdrawal") | paths.record_id.map(steps).isin(
            ["cashout_otc", "cashout_gold"]
        )
        frame = pd.DataFrame(
            {
                "loss": eps.set_index("episode_id").loss_fen,
                "hop0": paths[paths.hop == 0].groupby("episode_id").amount_fen.sum(),
                "out": paths[cash].groupby("episode_id").amount_fen.sum(),
                "held": held.groupby("episode_id").amount_fen.sum(),
            }
        ).fillna(0)
        assert (frame.loss == frame.hop0).all()
        assert (frame.loss == frame.out + frame.held).all()
        # a record's hop is one more than the hop that brought the money into its source account
        assert (paths.groupby("episode_id").hop.min() == 0).all()
