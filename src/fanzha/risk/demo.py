"""Demo step: number and account risk on the simulated city.

Features are computed in SQL from the demo lake (or the simulator folder when there is no lake),
models are trained on the simulator's truth — the product showcase of "train on your own labels": a
bank or operator trains on the numbers and accounts it has confirmed — then every number and account
is scored, the scores are published for the ops and API steps, and the riskiest are printed with
their reasons. AP is measured out of fold (cross-validated by gang), not on the training rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _engine(ctx: Any) -> tuple[Any, str]:
    from fanzha.demo import module_exists
    from fanzha.engine import get_engine
    from fanzha.risk.pipeline import register_folder

    engine = get_engine(ctx.settings)
    if module_exists("fanzha.ingest.lake"):
        from fanzha.ingest.lake import attach_lake

        kinds = attach_lake(engine, ctx.settings)
        if {"calls", "transfers"} <= set(kinds):
            return engine, f"lake {ctx.settings.lake}"
    register_folder(engine, ctx.sim_dir)
    return engine, f"simulator folder {ctx.sim_dir}"


def _step(ctx: Any, engine: Any, what: str) -> dict[str, Any]:
    from rich.table import Table
    from sklearn.metrics import average_precision_score

    from fanzha.risk.evaluate import truth_model
    from fanzha.risk.publish import publish_scores

    detector, frame, y = truth_model(engine, ctx.sim_dir, what)
    scores = detector.score(frame)
    path = publish_scores(scores, what, ctx.settings)
    cv_ap = detector.meta_.metrics["cv_average_precision"]
    table = Table(title=f"riskiest {what} (of {len(scores):,}; {int(y.sum())} in the truth)")
    for col in ("id", "p", "tier", "truth", "reasons"):
        table.add_column(col, justify="right" if col == "p" else "left", overflow="fold")
    top = scores.sort_values("probability", ascending=False).head(10)
    for _, row in top.iterrows():
        is_true = bool(y[frame.index[frame["id"] == row["id"]][0]])
        reasons = "; ".join(r["message"] for r in row["reasons"])
        table.add_row(row["id"], f"{row['probability']:.2f}", row["tier"], "✓" if is_true else "·", reasons)
    ctx.console.print(table)
    ctx.console.print(
        f"{what}: out-of-fold average precision vs truth {cv_ap:.3f} (CV by gang on the training labels) · "
        f"tiers {scores['tier'].value_counts().to_dict()} · published {path}"
    )
    in_sample = float(average_precision_score(y, scores["probability"])) if y.sum() else float("nan")
    return {
        "scores": scores,
        "path": str(path),
        "cv_average_precision": cv_ap,
        "in_sample_average_precision": in_sample,
        "positives": int(np.sum(y)),
    }


def run(ctx: Any) -> None:
    engine, source = _engine(ctx)
    ctx.console.print(
        f"features from the {source}; models trained on the simulator's truth "
        "(a showcase of training on your own confirmed labels)"
    )
    ctx.results["risk"] = {what: _step(ctx, engine, what) for what in ("numbers", "accounts")}
    engine.close()
