"""Demo step: simulate the demo city into ``ctx.sim_dir`` and summarise it."""

from __future__ import annotations

from fanzha.demo import DemoContext

DEMO_FRAUD_RATE = 60.0  # episodes per 1,000 people per 30 days


def run(ctx: DemoContext) -> None:
    from rich.table import Table

    from fanzha.simulate import SimConfig, simulate
    from fanzha.simulate.report import calibration
    from fanzha.taxonomy import fraud_types

    # a denser fraud rate than the CLI default so that the short demo has enough cases to link and trace
    config = SimConfig(people=ctx.people, days=ctx.days, seed=ctx.seed, fraud_rate=DEMO_FRAUD_RATE)
    result = simulate(config, ctx.sim_dir)
    report = calibration(ctx.sim_dir)
    # the city on a line of its own: as the narrow table's title it wrapped mid-phrase
    ctx.console.print(f"simulated city: {ctx.people:,} people × {ctx.days} days (seed {ctx.seed})")
    rows = Table(title="records 记录")
    rows.add_column("record kind")
    rows.add_column("rows", justify="right")
    for kind, n in result.rows.items():
        rows.add_row(kind, f"{n:,}")
    ctx.console.print(rows)
    types = Table(title="fraud episodes 诈骗事件")
    for col in ("type", "中文", "episodes", "reported", "loss (yuan)"):
        types.add_column(col, justify="right" if col in ("episodes", "reported", "loss (yuan)") else "left")
    names = fraud_types()
    for r in report["per_type"]:
        types.add_row(
            r["fraud_type"],
            names[r["fraud_type"]].zh,
            str(r["episodes"]),
            str(int(r["reported"])),
            f"{r['loss_fen'] / 100:,.0f}",
        )
    ctx.console.print(types)
    ctx.console.print(
        f"{result.episodes} episodes by {result.gangs} gangs · {result.cases} reported cases · "
        f"total loss {report['loss_fen'] / 100:,.0f} yuan"
    )
    report["rows"] = result.rows
    report["gangs"] = result.gangs
    ctx.results["simulate"] = report
