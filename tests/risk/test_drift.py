"""Feature drift (PSI) between training and scored data: known answers and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.detect.drift import drift, profile, psi, summary
from fanzha.risk.model import SCORE_ROW, NumberDetector

from .test_model import FAST, feature_table


def test_psi_known_values() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    # (0.6 − 0.4)·ln(0.6/0.4) + (0.4 − 0.6)·ln(0.4/0.6)
    assert psi([0.4, 0.6], [0.6, 0.4]) == pytest.approx(0.4 * np.log(1.5))
    assert psi([1.0, 0.0], [0.0, 1.0]) == pytest.approx(2 * (1 - 1e-4) * np.log(1e4))  # empty bins floored


def test_profile_bins_deciles_range_and_missing() -> None:
    values = np.r_[np.arange(1.0, 101.0), [np.nan] * 25]  # 1..100 and a fifth missing
    prof = profile(pd.DataFrame({"x": values}))["x"]
    # the range 1..100 widened by half its magnitude; decile edges halfway below each decile
    assert prof.edges[0] == -49.0 and prof.edges[-1] == np.nextafter(150.0, np.inf)
    assert prof.edges[1:-1].tolist() == [9.5, 19.5, 29.5, 39.5, 49.5, 59.5, 69.5, 79.5, 89.5]
    assert prof.missing == pytest.approx(0.2) and prof.median == 50.5
    assert prof.shares[0] == 0.0 and prof.shares[-1] == 0.0  # below the minimum, above the maximum
    assert prof.shares.sum() + prof.missing == pytest.approx(1.0)


def test_a_value_many_rows_share_moving_a_little_is_no_shift() -> None:
    # a hub merchant: 40 % of accounts pay it and see its 874 payers; next city it has 881
    rng = np.random.default_rng(3)
    train = np.r_[np.full(400, 874.0), rng.integers(1, 300, 600)]
    scored = np.r_[np.full(400, 881.0), rng.integers(1, 300, 600)]
    report = drift(profile(pd.DataFrame({"x": train})), pd.DataFrame({"x": scored}))
    assert report.status.iloc[0] == "stable" and report.psi.iloc[0] < 0.05
    moved = np.r_[np.full(400, 2_000.0), rng.integers(1, 300, 600)]  # far beyond the training range
    assert drift(profile(pd.DataFrame({"x": train})), pd.DataFrame({"x": moved})).status.iloc[0] == "major"


def test_drift_flags_a_unit_change_and_more_missing_not_a_resample() -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {"amount": rng.lognormal(8, 1, 5_000), "calls": rng.poisson(20, 5_000).astype(float)}
    )
    profiles = profile(train)
    same = pd.DataFrame({"amount": rng.lognormal(8, 1, 2_000), "calls": rng.poisson(20, 2_000).astype(float)})
    report = drift(profiles, same).set_index("feature")
    assert (report.status == "stable").all() and report.psi.max() < 0.05
    assert summary(drift(profiles, same)) is None
    moved = same.assign(amount=same.amount * 100, calls=same.calls.where(rng.random(2_000) < 0.5))
    report = drift(profiles, moved).set_index("feature")
    assert report.loc["amount", "status"] == "major" and report.loc["amount", "psi"] > 5
    assert report.loc["calls", "status"] == "major" and report.loc[
        "calls", "scored_missing"
    ] == pytest.approx(0.5, abs=0.05)
    assert drift(profiles, moved).feature.iloc[0] == "amount"  # the most shifted first
    line = summary(drift(profiles, moved))
    assert (
        line
        and line.startswith("2 feature(s)")
        and "amount (PSI" in line
        and "fen / yuan" in line
        and "retrain" in line
    )


def test_small_samples_call_a_shift_only_beyond_chance() -> None:
    rng = np.random.default_rng(2)

    def sample(n: int, shift: float = 0.0) -> pd.DataFrame:
        return pd.DataFrame({"x": rng.normal(shift, 1, n)})

    # two draws of 300 from one distribution: a PSI of about 0.07–0.2 — chance, not a shift
    reports = [drift(profile(sample(300)), sample(300)) for _ in range(40)]
    assert not any(r.status.iloc[0] in ("moderate", "major") for r in reports)
    assert any(r.status.iloc[0] == "within chance" and r.psi.iloc[0] > 0.1 for r in reports)
    few = drift(profile(sample(300)), sample(12, 0.5))  # half a standard deviation on 12 rows
    assert few.psi.iloc[0] > 0.1 and few.status.iloc[0] == "within chance" and summary(few) is None
    assert drift(profile(sample(300)), sample(300, 1.0)).status.iloc[0] == "major"
    assert drift(profile(sample(300)), sample(12, 3.0)).status.iloc[0] == "major"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), min_size=1, max_size=60),
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), min_size=1, max_size=60),
)
def test_psi_is_never_negative_and_zero_on_the_training_data(train: list[float], scored: list[float]) -> None:
    profiles = profile(pd.DataFrame({"x": train}))
    prof = profiles["x"]
    assert prof.shares.sum() + prof.missing == pytest.approx(1.0)
    assert drift(profiles, pd.DataFrame({"x": train})).psi.iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert drift(profiles, pd.DataFrame({"x": scored})).psi.iloc[0] >= 0.0


def test_detector_keeps_its_training_profile() -> None:
    detector = NumberDetector(**FAST).fit(feature_table(300))
    report = detector.drift(feature_table(300, seed=1))
    assert report is not None and set(report.feature) == {*detector.feature_names_, SCORE_ROW}
    assert report.status.isin(["stable", "within chance"]).all()
    # every number now looks like a fraud number: the features and the scores move
    shifted = feature_table(300, seed=1).assign(short_call_share=0.9, out_calls=lambda d: d.out_calls * 10)
    moved = detector.drift(shifted).set_index("feature")  # type: ignore[union-attr]
    assert moved.loc["out_calls", "status"] == "major" and moved.loc[SCORE_ROW, "status"] == "major"
    assert moved.loc[SCORE_ROW, "scored_median"] > 0.5 > moved.loc[SCORE_ROW, "train_median"]
    given = detector.drift(shifted, detector.score(shifted)["probability"].to_numpy())
    pd.testing.assert_frame_equal(given, detector.drift(shifted))  # the scores passed in are the same
    del detector.profile_  # an artefact saved before the profile: no report, no error
    assert detector.drift(shifted) is None
