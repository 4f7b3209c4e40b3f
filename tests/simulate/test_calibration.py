"""Calibration: the published shares are met within the stated tolerances on a medium city."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from fanzha.simulate import SimResult, ids
from fanzha.simulate import episodes as ep_mod
from fanzha.simulate.population import DAY, build_population
from fanzha.simulate.records import Rows
from fanzha.simulate.report import TARGETS, _shares, calibration, print_report
from fanzha.simulate.supply import PeoplePicker, build_gangs
from fanzha.taxonomy.typologies import load_typologies


@pytest.fixture(scope="module")
def medium_city_episodes() -> pd.DataFrame:
    """20,000 people, 60 days, 6,000 episodes: the episode planner of simulate() without traffic."""
    rng = np.random.default_rng(3)
    counter = ids.Counter()
    start_s = 1_788_192_000
    end_s = start_s + 60 * DAY
    pop = build_population(rng, 20_000, np.datetime64("2026-09-01"), counter)
    typs = load_typologies()
    picker = PeoplePicker(pop, rng)
    gangs = build_gangs(
        rng,
        pop,
        counter,
        picker,
        list(typs),
        n_gangs=40,
        episodes_per_gang=150,
        sims_active_per_gang=2,
        start_s=start_s,
        end_s=end_s,
        rows=Rows(),
    )
    eps = ep_mod.plan_episodes(rng, pop, typs, gangs, picker.taken, 6000, start_s, end_s)
    ep_mod.report_cases(rng, eps, pop, end_s)
    return pd.DataFrame(
        {
            "fraud_type": [e.typ.code for e in eps],
            "loss_fen": [e.loss for e in eps],
            "reported": [e.case_id is not None for e in eps],
            "age": [int(pop.age[e.victim]) for e in eps],
            "student": [bool(pop.occupation[e.victim] == 0) for e in eps],
        }
    )


def test_published_shares_within_tolerance(medium_city_episodes: pd.DataFrame) -> None:
    shares = _shares(medium_city_episodes[medium_city_episodes.reported])
    for target in TARGETS:
        assert abs(shares[target.name] - target.target) <= target.tolerance, (
            target.name,
            shares[target.name],
        )


def test_victim_profiles_follow_the_reports(medium_city_episodes: pd.DataFrame) -> None:
    eps = medium_city_episodes
    by_type = eps.groupby("fraud_type")
    assert by_type.age.median()["fake_investment"] >= 50  # savings: middle-aged and elderly
    assert by_type.age.median()["game_trade"] <= 20  # minors and students
    assert by_type.student.mean()["game_trade"] > 0.6
    assert by_type.age.median()["impersonate_officials"] > by_type.age.median()["brushing_rebate"]
    # many small losses, a few very large ones
    assert (eps.loss_fen < 1_000_000).mean() > 0.5
    assert eps.loss_fen.max() > 100 * eps.loss_fen.median()


def test_report_of_a_run(small_city: SimResult) -> None:
    report = calibration(small_city.out)
    assert report["episodes"] == small_city.episodes
    assert report["cases"] == small_city.cases
    assert {r["name"] for r in report["targets"]} == {t.name for t in TARGETS}
    assert 0 < report["fraud_share_of_records"]["calls"] < 0.1
    console = Console(record=True, width=120)
    print_report(report, console)
    assert "刷单返利" in console.export_text()
