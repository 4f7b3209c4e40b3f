"""On a small simulated city: linking, tracing and card dealers against the simulator's truth, and
the CLI commands end to end. Skipped when the simulator is not installed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from .conftest import simulated_city

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated_city(tmp_path_factory, 4000, 21, 3)


def test_against_truth(city: Path) -> None:
    from fanzha.graph.casetrace import trace_cases
    from fanzha.graph.dealers import find_dealers
    from fanzha.graph.evaluate import Truth, dealer_metrics, linking_metrics, tracing_metrics
    from fanzha.graph.linking import link_cases
    from fanzha.graph.records import open_records
    from fanzha.settings import Settings

    engine = open_records(Settings(home=city.parent / "home"), city)
    truth = Truth.load(city)
    link = linking_metrics(link_cases(engine), truth)
    assert link["true_pairs"] > 10
    assert link["precision"] >= 0.95 and link["recall"] >= 0.9, link
    result, sources = trace_cases(engine, method="match")
    result.check_conservation()
    tracing = tracing_metrics(result, truth, list(sources.victim_id.unique()))
    assert tracing["located_share"] >= 0.95, tracing
    assert tracing["victims_ge_95_by_place"] >= 0.9, tracing
    dealers = dealer_metrics(find_dealers(engine)[0], truth)
    assert dealers["dealers_flagged"] >= 3 and dealers["dealer_precision"] >= 0.8, dealers
    engine.close()


def test_cli_end_to_end(city: Path, settings, tmp_path: Path) -> None:
    from fanzha.cli.main import app
    from fanzha.errors import ConfigError

    runner = CliRunner()
    out = tmp_path / "out"
    for args in (
        ["link", "--sim", str(city), "--out", str(out), "--format", "csv"],
        ["gangs", "--sim", str(city), "--out", str(out)],
        ["trace", "--all", "--sim", str(city), "--out", str(out), "--method", "fifo"],
        ["supervise", "run", "cross_district_links", "--sim", str(city), "--out", str(out)],
        ["supervise", "list"],
    ):
        result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
    groups = pd.read_csv(out / "groups.csv")
    assert len(groups) >= 1 and groups.n_cases.min() >= 2
    held = pd.read_parquet(out / "trace_holdings.parquet")
    victims = pd.read_parquet(out / "trace_victims.parquet")
    assert held.amount_fen.sum() == victims.held_fen.sum()
    assert (out / "supervision_cross_district_links.parquet").exists()
    assert "cross_district_links" in runner.invoke(app, ["supervise", "list"]).output
    failed = runner.invoke(app, ["trace", "--sim", str(city)])
    assert isinstance(failed.exception, ConfigError)


def test_supervise_run_on_a_city_with_truth_records_its_precision(
    city: Path, settings, tmp_path: Path
) -> None:
    """Before: ``supervise run --sim`` never passed the truth, so ``supervise list`` showed no
    precision; a charged list with only its header failed inside the query (a float column)."""
    from fanzha.cli.main import app
    from fanzha.graph.supervision import ModelStore

    (tmp_path / "charged.csv").write_text("id_number\n", "utf-8")
    args = ["supervise", "run", "unprosecuted_card_sellers", "--sim", str(city), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(
        app, [*args, "--charged", str(tmp_path / "charged.csv")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    last = ModelStore(settings.home / "supervision").load("unprosecuted_card_sellers").last_run
    assert last is not None and isinstance(last["precision"], float) and 0 <= last["precision"] <= 1
    assert f"precision {last['precision']}" in result.output
    listed = CliRunner().invoke(app, ["supervise", "list"], catch_exceptions=False).output
    assert str(last["precision"]) in listed


def test_eval_graph_per_city_and_per_victim(city: Path, settings, tmp_path: Path) -> None:
    import json

    from fanzha.cli.main import app
    from fanzha.errors import ConfigError

    runner = CliRunner()
    out = tmp_path / "eval.json"
    result = runner.invoke(
        app, ["eval", "graph", "--sim", str(city), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    # strict JSON (no NaN: a share of nothing is null) with money as integer fen
    figures = json.loads(out.read_text("utf-8"), parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))[
        str(city)
    ]
    tracing = figures["tracing (match)"]
    assert isinstance(tracing["paid_fen"], int)
    # counts are whole numbers, in the JSON and on screen (before: 4.000 victims, 132.0 cases)
    counts = (tracing["victims"], tracing["victims_with_ambiguous"], figures["linking"]["cases"])
    assert all(isinstance(c, int) for c in counts) and isinstance(
        figures["card dealers"]["dealers_flagged"], int
    )
    assert f"victims {tracing['victims']}," in " ".join(result.output.split())
    victims = pd.read_csv(tmp_path / "eval.victims.csv", dtype={"victim_id": str})
    # the per-victim table is what the figures summarise
    assert len(victims) == tracing["victims"] and set(victims.city) == {str(city)}
    assert (victims.share >= 0.95).mean() == pytest.approx(tracing["victims_ge_95_traceable"])
    assert victims.share.iloc[0] == pytest.approx(tracing["min_share_traceable"])  # lowest first
    assert (victims.traceable_fen == victims.paid_fen - victims.undetermined_fen).all()
    fen = victims[["paid_fen", "undetermined_fen", "traceable_fen", "located_fen"]]
    assert (fen.dtypes == "int64").all()  # money in whole fen, written without decimals
    assert victims.paid_fen.sum() == tracing["paid_fen"]
    # the money placed by a reported ambiguous choice, per victim: the figures' ambiguous share
    assert victims.ambiguous_fen.sum() == pytest.approx(
        tracing["ambiguous_share"] * tracing["paid_fen"], abs=1
    )
    said = " ".join(result.output.split())
    assert f"{int((victims.share >= 0.95).sum()):,} of {len(victims):,} (1 city)" in said
    for args in (["eval", "graph"], ["eval", "graph", "--sim", str(city), "--seeds", "3"]):
        failed = runner.invoke(app, args)
        assert isinstance(failed.exception, ConfigError) and "one of them" in str(failed.exception)
