"""The command line and the demo step."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from fanzha.cli.main import app
from fanzha.demo import DemoContext
from fanzha.settings import Settings


def test_cli_simulate_with_report(tmp_path: Path) -> None:
    out = tmp_path / "city"
    result = CliRunner().invoke(
        app, ["simulate", "--people", "400", "--days", "3", "--seed", "2", "--out", str(out), "--report"]
    )
    assert result.exit_code == 0, result.output
    assert "calibration" in result.output and "episodes" in result.output
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["parameters"]["seed"] == 2 and manifest["rows"]["people"] == 400


def test_cli_rejects_bad_start(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--start", "2026-13-01", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0


def test_cli_bad_value_prints_only_the_error(tmp_path: Path) -> None:
    # was: an empty progress bar "simulating 0/14 0:00:00" was drawn before the error line
    result = CliRunner().invoke(app, ["simulate", "--people", "5", "--out", str(tmp_path / "x")])
    assert "too small" in str(result.exception) and "simulating" not in result.output
    assert not (tmp_path / "x").exists()


def test_cli_bad_out_prints_only_the_error(tmp_path: Path) -> None:
    # was: the empty progress bar was still drawn before an error about --out (QA: docs)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    (tmp_path / "afile").write_text("x")
    for out, message in [
        (tmp_path / "other", "is not a simulator output"),
        (tmp_path / "afile", "is a file"),
        (tmp_path / "afile" / "city", "cannot create the folder"),
    ]:
        result = CliRunner().invoke(app, ["simulate", "--people", "200", "--days", "1", "--out", str(out)])
        assert result.exit_code != 0 and message in str(result.exception)
        assert "simulating" not in result.output
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_demo_step(tmp_path: Path) -> None:
    from fanzha.simulate import demo

    ctx = DemoContext(Settings(home=tmp_path), Console(record=True, width=120), people=600, days=4, seed=1)
    demo.run(ctx)
    report = ctx.results["simulate"]
    assert report["rows"]["people"] == 600
    assert report["episodes"] > 0
    assert (ctx.sim_dir / "truth" / "episodes.parquet").exists()
    assert "诈骗事件" in ctx.console.export_text()
