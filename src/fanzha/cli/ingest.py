"""``fanzha ingest``, ``fanzha ingest-report`` and ``fanzha records``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def _print_report(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title="ingest 入库 by kind")
    for col in ("kind", "files", "read", "landed", "rejected", "duplicates"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, row in sorted(report["by_kind"].items()):
        table.add_row(
            kind, *(f"{row[k]:,}" for k in ("files", "rows_read", "landed", "rejected", "duplicates"))
        )
    table.add_row(
        "[bold]total",
        str(len(report["files"])),
        *(f"[bold]{report[k]:,}" for k in ("rows_read", "landed", "rejected", "duplicates")),
    )
    console.print(table)
    _print_reasons(report["top_reasons"], console)


def _print_reasons(reasons: list[Any], console: Any) -> None:
    from rich.table import Table

    if not reasons:
        return
    table = Table(title="top rejection reasons 拒收原因")
    table.add_column("rows", justify="right")
    table.add_column("reason")
    for item in reasons:
        reason, rows = (item["reason"], item["rows"]) if isinstance(item, dict) else item
        table.add_row(f"{rows:,}", reason)
    console.print(table)


def ingest(
    path: Path | None = typer.Argument(
        None, help="a file or a folder (.csv / .parquet / .jsonl, optionally .gz)"
    ),
    kind: str | None = typer.Option(
        None, "--kind", "-k", help="record kind; default: from folder / file names (simulator layout)"
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", "-e", help="text encoding; default: detect UTF-8 / GBK / GB18030"
    ),
    report: bool = typer.Option(False, "--report", help="show the ingest report instead of ingesting"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Validate and land partner files in the lake (校验入库); rejected rows go to the quarantine."""
    from rich.console import Console

    from fanzha.cli.output import spinner
    from fanzha.ingest.api import ingest_path
    from fanzha.settings import get_settings

    settings = get_settings()
    console = Console()
    if report:
        ingest_report(as_json=as_json)
        return
    if path is None:
        from fanzha.errors import ConfigError

        raise ConfigError("give the file or folder to ingest: fanzha ingest PATH [--kind KIND]")
    with spinner(console) as bar:
        task = bar.add_task("ingesting", total=None)

        def progress(src: Any, step: str) -> None:
            bar.update(task, description=f"{src.path.name} ({src.kind}): {step}")

        result = ingest_path(path, kind, settings, encoding=encoding, progress=progress)
    data = result.as_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    _print_report(data, console)
    if result.orphans_removed:
        console.print(
            f"[yellow]removed {result.orphans_removed} uncommitted file(s) left by an interrupted ingest"
        )


def ingest_report(as_json: bool = typer.Option(False, "--json", help="print the report as JSON")) -> None:
    """Counts per file and kind and the top rejection reasons (入库报告)."""
    from rich.console import Console
    from rich.table import Table

    from fanzha.ingest.report import ingest_summary
    from fanzha.settings import get_settings

    summary = ingest_summary(get_settings())
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return
    console = Console()
    if not summary["files"]:
        console.print("nothing ingested yet; run `fanzha ingest PATH --kind KIND`")
        return
    kinds = Table(title="lake 数据湖 by kind (committed ingests)")
    for col in ("kind", "ingests", "read", "landed", "rejected", "duplicates"):
        kinds.add_column(col, justify="left" if col == "kind" else "right")
    for row in summary["kinds"]:
        kinds.add_row(
            row["kind"],
            *(f"{row[k]:,}" for k in ("ingests", "rows_read", "landed", "rejected", "duplicates")),
        )
    console.print(kinds)
    files = Table(title="latest ingests")
    for col in ("id", "file", "kind", "status", "read", "landed", "rejected", "duplicates"):
        files.add_column(
            col, justify="right" if col in {"id", "read", "landed", "rejected", "duplicates"} else "left"
        )
    for row in summary["files"][:20]:
        files.add_row(
            str(row["ingest_id"]),
            Path(row["file"]).name,
            row["kind"],
            row["status"],
            *(f"{row[k] or 0:,}" for k in ("rows_read", "landed", "rejected", "duplicates")),
        )
    console.print(files)
    _print_reasons(summary["top_reasons"], console)


def records(kind: str | None = typer.Argument(None, help="one record kind; default: all")) -> None:
    """The data contracts (数据规范): fields, types, required, doc."""
    from rich.console import Console
    from rich.table import Table

    from fanzha.records.contracts import SPECS, get_spec

    console = Console()
    for spec in [get_spec(kind)] if kind else list(SPECS.values()):
        table = Table(title=f"{spec.kind} ({spec.party}) — {spec.doc}", title_justify="left")
        for col in ("field", "type", "required", "doc"):
            table.add_column(col)
        for f in spec.fields:
            typ = f"enum: {' | '.join(f.choices)}" if f.type == "enum" else f.type
            table.add_row(f.name, typ + (" (list)" if f.is_list else ""), "yes" if f.required else "", f.doc)
        console.print(table)
        extra = f"key: {', '.join(spec.key)}" + (
            f" · partitioned by day of {spec.time_field}" if spec.time_field else ""
        )
        console.print(f"[dim]{extra}[/]\n")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("ingest-report")(ingest_report)
    app.command("records")(records)
