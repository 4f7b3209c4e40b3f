"""Calibration report: the published shares the simulator aims at, and what a run achieved.

Targets (public reports, see ../shared/seeds and docs/simulate.md): the top ten types ≈ 80 % of
cases; 刷单返利 ≈ 1/3 of cases; 虚假网络投资理财 ≈ 1/3 of losses; many small losses. "Cases" are
reported cases (what police statistics count); the same figures over all episodes are shown too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from fanzha.taxonomy import fraud_types


@dataclass(frozen=True)
class Target:
    name: str
    target: float
    tolerance: float  # absolute, on a share
    doc: str


TARGETS = (
    Target("top10_case_share", 0.80, 0.08, "top ten types' share of reported cases"),
    Target("brushing_case_share", 1 / 3, 0.08, "刷单返利 share of reported cases"),
    Target("investment_loss_share", 1 / 3, 0.12, "虚假网络投资理财 share of reported losses"),
    Target("small_loss_share", 0.55, 0.15, "share of cases losing under 10,000 yuan"),
)


def _shares(frame: Any) -> dict[str, float]:
    top10 = {c for c, t in fraud_types().items() if t.top10}
    n = max(len(frame), 1)
    loss = max(int(frame["loss_fen"].sum()), 1)
    return {
        "top10_case_share": float(frame["fraud_type"].isin(top10).sum() / n),
        "brushing_case_share": float((frame["fraud_type"] == "brushing_rebate").sum() / n),
        "investment_loss_share": float(
            frame.loc[frame["fraud_type"] == "fake_investment", "loss_fen"].sum() / loss
        ),
        "small_loss_share": float((frame["loss_fen"] < 1_000_000).sum() / n),
    }


def calibration(sim_dir: Path) -> dict[str, Any]:
    """Targets vs achieved figures of a simulator output folder (reads truth/episodes.parquet)."""
    ep = pq.read_table(sim_dir / "truth" / "episodes.parquet").to_pandas()
    reported = ep[ep["reported"]]
    achieved = _shares(reported)
    all_eps = _shares(ep)
    rows = []
    for t in TARGETS:
        value = achieved[t.name]
        rows.append(
            {
                "name": t.name,
                "doc": t.doc,
                "target": t.target,
                "tolerance": t.tolerance,
                "achieved_cases": value,
                "achieved_episodes": all_eps[t.name],
                "ok": abs(value - t.target) <= t.tolerance,
            }
        )
    per_type = (
        ep.groupby("fraud_type")
        .agg(episodes=("episode_id", "count"), reported=("reported", "sum"), loss_fen=("loss_fen", "sum"))
        .reset_index()
        .sort_values("episodes", ascending=False)
    )
    fraud_share = {}
    for name in ("calls", "sms", "transfers", "withdrawals"):
        col = pq.read_table(sim_dir / "truth" / f"{name}.parquet", columns=["is_fraud"]).column("is_fraud")
        fraud_share[name] = float(pc.mean(pc.cast(col, "int8")).as_py() or 0.0) if len(col) else 0.0
    return {
        "fraud_share_of_records": fraud_share,
        "episodes": len(ep),
        "cases": len(reported),
        "loss_fen": int(ep["loss_fen"].sum()),
        "median_loss_fen": int(ep["loss_fen"].median()) if len(ep) else 0,
        "targets": rows,
        "per_type": per_type.to_dict(orient="records"),
    }


def print_report(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title="calibration 校准 (reported cases; all episodes in brackets)")
    for col in ("target", "goal", "achieved", "ok"):
        table.add_column(col)
    for r in report["targets"]:
        table.add_row(
            r["doc"],
            f"{r['target']:.2f} ± {r['tolerance']:.2f}",
            f"{r['achieved_cases']:.2f} ({r['achieved_episodes']:.2f})",
            "✓" if r["ok"] else "✗",
        )
    console.print(table)
    types = Table(title="episodes per fraud type")
    for col in ("type", "中文", "episodes", "reported", "loss (yuan)"):
        types.add_column(col, justify="right" if col not in ("type", "中文") else "left")
    ft = fraud_types()
    for r in report["per_type"]:
        types.add_row(
            r["fraud_type"],
            ft[r["fraud_type"]].zh,
            str(r["episodes"]),
            str(int(r["reported"])),
            f"{r['loss_fen'] / 100:,.0f}",
        )
    console.print(types)
    shares = ", ".join(f"{k} {v:.1%}" for k, v in report["fraud_share_of_records"].items())
    console.print(f"fraud-related share of records (hidden in normal traffic): {shares}")
    console.print(
        f"{report['episodes']} episodes, {report['cases']} reported cases, total loss "
        f"{report['loss_fen'] / 100:,.0f} yuan, median {report['median_loss_fen'] / 100:,.0f} yuan"
    )
