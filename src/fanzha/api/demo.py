"""Demo step: replay the simulated city's calls, SMS and payments through the decision engine.

The same :class:`~fanzha.decide.engine.DecisionEngine` the service runs, in process: the risk scores
the risk step published (``<home>/scores``), the text detector, the lists in the operational store,
the owner directory from the city's accounts and phone cards. Payments that warn or are delayed get
warning tasks in the operational store, as the service does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fanzha.demo import DemoContext


def run(ctx: DemoContext) -> None:
    from fanzha.api.ops_bridge import OpsBridge
    from fanzha.decide import sources
    from fanzha.decide.engine import Decision
    from fanzha.decide.replay import print_report, replay_city

    settings = ctx.settings
    text_scorer, _url, versions = sources.load_detectors(settings)
    ops = OpsBridge(settings.ops)
    try:
        lists = ops.lists_snapshot()
    except Exception as exc:  # the demo goes on with no lists, and says so
        ctx.console.print(f"[yellow]lists not loaded from the operational store: {exc}[/]")
        lists = None
    _install_draft(settings.home / "rules")
    pending: list[Decision] = []
    report = replay_city(
        ctx.sim_dir,
        scores_dir=settings.home / "scores",
        settings=settings,
        text_scorer=text_scorer,
        lists=lists,
        on_warning=lambda d: pending.append(d) if d.event == "payment" else None,
        warmup_days=min(3.0, ctx.days - 1),  # a short demo city (--days 2 or 3) still measures its last day
    )
    print_report(report, ctx.console)
    created = ops.create_warnings(pending[-50:]) if pending else 0  # the latest 50: the demo stays short
    ops.close()
    ctx.console.print(
        f"models: {versions or 'texts area not installed'} · warning tasks created for payments: {created}"
    )
    ctx.results["decisions"] = report.as_dict()


def _install_draft(folder: Path) -> None:
    """A draft rule set for shadow mode: lower the red-payee cut to 0.8 and widen the fusion window."""
    import json

    from fanzha.decide.rulebook import PACKAGED, RuleBook

    draft = json.loads((PACKAGED / "live.json").read_text("utf-8"))
    draft["version"] += "-draft"
    draft["description"] = "demo draft: red payee from 0.8, fusion window 45 min"
    draft["thresholds"]["fusion_window_minutes"] = 45
    for rule in draft["rules"]:
        if rule["code"] == "PAYEE_HIGH_RISK":
            rule["when"][0]["value"] = 0.8
        if rule["code"] == "PAYEE_ELEVATED_RISK":
            rule["when"][1]["value"] = 0.8
    RuleBook(folder).write("draft", draft)
