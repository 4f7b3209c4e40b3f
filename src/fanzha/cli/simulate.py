"""``fanzha simulate``: a synthetic city with every party's records and its ground truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        people: int = typer.Option(2000, "--people", help="people in the city"),
        days: int = typer.Option(14, "--days", help="days of traffic"),
        seed: int = typer.Option(7, "--seed", help="random seed (same seed → identical output)"),
        out: Path = typer.Option(Path("sim"), "--out", help="output folder (replaced)"),
        start: str = typer.Option(
            "2026-09-01", "--start", help="first day YYYY-MM-DD (local, Asia/Shanghai)"
        ),
        fraud_rate: float = typer.Option(
            25.0, "--fraud-rate", help="fraud episodes per 1,000 people per 30 days"
        ),
        report: bool = typer.Option(False, "--report", help="print calibration targets vs achieved figures"),
    ) -> None:
        """Write every party's records (ready for `fanzha ingest`) plus a truth/ folder."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from fanzha.errors import ConfigError
        from fanzha.simulate import SimConfig
        from fanzha.simulate import simulate as run
        from fanzha.simulate.report import calibration, print_report
        from fanzha.simulate.world import check_out

        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise ConfigError(f"--start {start!r} is not a date like 2026-09-01") from None
        config = SimConfig(people=people, days=days, seed=seed, start=first, fraud_rate=fraud_rate)
        config.validate()  # before the progress bar: a bad value is the one line of output
        check_out(out)
        console = Console()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("simulating", total=days)

            def tick(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            result = run(config, out, progress=tick)
        console.print(f"wrote {out}: " + ", ".join(f"{k} {v:,}" for k, v in result.rows.items()))
        console.print(
            f"{result.episodes} fraud episodes by {result.gangs} gangs, {result.cases} reported cases"
        )
        if report:
            print_report(calibration(out), console)
