"""Demo step: ingest the simulated city (``ctx.sim_dir``) into the demo lake and print the counts."""

from __future__ import annotations

from typing import Any


def run(ctx: Any) -> None:
    from fanzha.cli.ingest import _print_report
    from fanzha.ingest.api import IngestReport, ingest_path

    if not ctx.sim_dir.exists():
        ctx.console.print(f"[yellow]no simulator output at {ctx.sim_dir}: nothing to ingest[/]")
        ctx.results["ingest"] = IngestReport()
        return
    report = ingest_path(ctx.sim_dir, None, ctx.settings)
    _print_report(report.as_dict(), ctx.console)
    ctx.console.print(f"lake: {ctx.settings.lake} · catalog: {ctx.settings.catalog}")
    ctx.results["ingest"] = report
