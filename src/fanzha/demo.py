"""``fanzha demo``: the main job end to end on a simulated city, with the embedded default stores.

The demo is a pipeline of steps; each area provides ``fanzha.<area>.demo.run(ctx)``. Steps share
what they produce through ``ctx.results``. The same code paths run in production: no shortcuts.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from fanzha.settings import Settings

# (step name, module providing run(ctx)); order matters: later steps read earlier results
STEPS: tuple[tuple[str, str], ...] = (
    ("simulate", "fanzha.simulate.demo"),
    ("ingest", "fanzha.ingest.demo"),
    ("numbers & accounts", "fanzha.risk.demo"),
    ("texts & URLs", "fanzha.texts.demo"),
    ("graph: linking, gangs, tracing", "fanzha.graph.demo"),
    ("operations: warnings, fund control, refunds", "fanzha.ops.demo"),
    ("real-time decisions", "fanzha.api.demo"),
)


def module_exists(name: str) -> bool:
    """True when ``name`` can be imported (its parent packages may be missing too)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@dataclass
class DemoContext:
    settings: Settings  # the demo's own stores (lake, catalog, ops DB) under <home>/demo
    console: Console
    people: int = 2000
    days: int = 14
    seed: int = 7
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def workdir(self) -> Path:
        return self.settings.home

    @property
    def sim_dir(self) -> Path:
        return self.workdir / "sim"


def run_demo(
    settings: Settings,
    *,
    people: int,
    days: int,
    seed: int,
    fresh: bool = True,
    console: Console | None = None,
) -> DemoContext:
    console = console or Console()
    home = settings.home / "demo"
    if fresh and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    # a configured ops DSN (PostgreSQL) is kept; otherwise the demo gets its own SQLite file
    demo_settings = settings.model_copy(
        update={"home": home, "lake_dir": None, "catalog_path": None, "models_dir": None}
    )
    ctx = DemoContext(demo_settings, console, people=people, days=days, seed=seed)
    console.rule("[bold]fanzha demo 反诈演示")
    console.print(f"stores under {home} · {people} people × {days} days · seed {seed}")
    for title, module in STEPS:
        if not module_exists(module):
            continue
        console.rule(f"[bold cyan]{title}")
        started = time.perf_counter()
        importlib.import_module(module).run(ctx)
        console.print(f"[dim]{title}: {time.perf_counter() - started:.1f} s[/]")
    console.rule("[bold green]demo finished")
    return ctx
