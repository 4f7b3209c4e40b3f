"""Demo step: classify the simulated city's SMS, case narratives and URLs with the shipped models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fanzha.demo import DemoContext


def _read_kind(ctx: DemoContext, kind: str) -> pd.DataFrame | None:
    """A record kind from the simulator output, else from the lake (when the ingest step landed it)."""
    folder = ctx.sim_dir / kind
    if folder.is_dir() and any(folder.glob("*.parquet")):
        return pd.read_parquet(folder)
    try:
        from fanzha.engine import get_engine
        from fanzha.ingest.lake import attach_lake
    except ImportError:
        return None
    engine = get_engine(ctx.settings)
    try:
        if kind not in attach_lake(engine, ctx.settings):
            return None
        return engine.query(f"SELECT * FROM {kind}")
    finally:
        close = getattr(engine, "close", None)
        if close:
            close()


def _score_unique(detector: Any, texts: pd.Series) -> pd.DataFrame:
    """Score each distinct text once (SMS templates repeat) and spread the result back to every row."""
    distinct = texts.drop_duplicates().tolist()
    scored = detector.score(distinct).set_index(pd.Index(distinct))
    return scored.loc[texts.tolist()].reset_index(drop=True)


def _type_table(ctx: DemoContext, title: str, scored: pd.DataFrame) -> None:
    from rich.table import Table

    from fanzha.taxonomy import fraud_types

    names = fraud_types()
    table = Table(title=title)
    for col in ("predicted type", "中文", "rows"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for code, n in scored["fraud_type_code"].fillna("normal").value_counts().items():
        table.add_row(str(code), names[code].zh if code in names else "正常", f"{n:,}")
    ctx.console.print(table)


def _examples(ctx: DemoContext, texts: pd.Series, scored: pd.DataFrame, k: int = 3) -> None:
    flagged = scored.index[scored["probability"] >= 0.5]
    seen: set[str] = set()
    for i in flagged:
        text = texts.iloc[i]
        if text in seen:
            continue
        seen.add(text)
        phrases = [r["message"] for r in scored.loc[i, "reasons"] if r["code"] in ("fraud_type", "phrase")]
        ctx.console.print(f"  [bold]{scored.loc[i, 'probability']:.2f}[/] {text[:70]}")
        ctx.console.print(f"      [dim]{' · '.join(phrases[:4])}[/]")
        if len(seen) >= k:
            break


def _truth_metrics(sms: pd.DataFrame, scored: pd.DataFrame, truth_file: Path) -> dict[str, Any] | None:
    if not truth_file.exists():
        return None
    truth = pd.read_parquet(truth_file)
    keys = ["sender", "receiver", "sent_at"]
    joined = (
        sms[keys]
        .assign(flag=(scored["probability"] >= 0.5).to_numpy())
        .merge(truth[[*keys, "is_fraud"]], on=keys, how="left")
    )
    actual = joined["is_fraud"].fillna(False).astype(bool)
    flagged = joined["flag"].astype(bool)
    tp = int((actual & flagged).sum())
    return {
        "precision": round(tp / max(int(flagged.sum()), 1), 4),
        "recall": round(tp / max(int(actual.sum()), 1), 4),
        "fraud_sms": int(actual.sum()),
        "flagged": int(flagged.sum()),
    }


def run(ctx: DemoContext) -> None:
    from fanzha.settings import get_settings
    from fanzha.texts import default_text_detector, default_url_detector

    # the shipped models live in the installation's model store, not in the demo's throw-away
    # stores: they are trained once per installation (first use), as in production
    store = get_settings()
    with ctx.console.status("loading the default text model (trained on first use from our own corpus)"):
        detector = default_text_detector(store)
    summary: dict[str, Any] = {}
    sms = _read_kind(ctx, "sms")
    if sms is not None and len(sms):
        sms = sms.reset_index(drop=True)
        scored = _score_unique(detector, sms["text"].astype(str))
        _type_table(ctx, f"SMS 短信: {len(sms):,} messages, {sms['text'].nunique():,} distinct", scored)
        _examples(ctx, sms["text"].astype(str), scored)
        metrics = _truth_metrics(sms, scored, ctx.sim_dir / "truth" / "sms.parquet")
        if metrics:
            ctx.console.print(
                f"fraud flag vs truth: precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f} "
                f"({metrics['flagged']:,} flagged, {metrics['fraud_sms']:,} fraud SMS)"
            )
        summary["sms"] = {
            "rows": len(sms),
            "flagged": int((scored["probability"] >= 0.5).sum()),
            "by_type": scored["fraud_type_code"].fillna("normal").value_counts().to_dict(),
            "truth": metrics,
        }
    cases = _read_kind(ctx, "cases")
    if cases is not None and len(cases):
        cases = cases.reset_index(drop=True)
        scored = _score_unique(detector, cases["narrative"].astype(str))
        _type_table(ctx, f"case narratives 案情: {len(cases):,}", scored)
        _examples(ctx, cases["narrative"].astype(str), scored, k=2)
        agree = float((scored["fraud_type_code"].to_numpy() == cases["fraud_type"].to_numpy()).mean())
        ctx.console.print(f"predicted type = reported type for {agree:.1%} of cases")
        summary["cases"] = {
            "rows": len(cases),
            "by_type": scored["fraud_type_code"].fillna("normal").value_counts().to_dict(),
            "type_agreement": round(agree, 4),
        }
    urls = _read_kind(ctx, "urls")
    if urls is not None and len(urls):
        url_scores = default_url_detector(store).score(urls["url"].astype(str).tolist())
        risky = int((url_scores["probability"] >= 0.5).sum())
        ctx.console.print(f"URLs 网址: {len(urls):,} seen, {risky:,} scored risky (p ≥ 0.5)")
        summary["urls"] = {"rows": len(urls), "risky": risky}
    if not summary:
        ctx.console.print("no SMS, cases or URLs to classify (run the simulate step first)")
    ctx.results["texts"] = summary
