"""Demo step: case linking, gangs, card dealers, tracing every reported case, supervision models,
with precision / recall against the simulator's truth when it is there."""

from __future__ import annotations

import time
from typing import Any

from fanzha.graph.report import print_metrics, table, write_frames, yuan


def run(ctx: Any) -> None:
    from fanzha.graph.casetrace import trace_cases
    from fanzha.graph.communities import find_gangs, summarise_gangs
    from fanzha.graph.dealers import find_dealers
    from fanzha.graph.evaluate import supervision_truth
    from fanzha.graph.linking import link_cases
    from fanzha.graph.records import open_records, register_folder
    from fanzha.graph.supervision import ModelStore, run_model

    console = ctx.console
    engine = _engine(ctx, open_records, register_folder)
    out_dir = ctx.workdir / "graph"
    results: dict[str, Any] = {}
    started = time.perf_counter()
    link = link_cases(engine)
    console.print(
        f"串并案 case linking: {len(link.cases)} cases → {len(link.groups)} linked groups over "
        f"{link.n_edges:,} linking edges; {len(link.hubs)} hub identifiers suppressed "
        f"({time.perf_counter() - started:.1f} s)"
    )
    if len(link.groups):
        console.print(
            table(
                "linked groups", link.groups, ["group_id", "n_cases", "regions", "fraud_types", "loss_fen"], 5
            )
        )
        console.print(f"evidence e.g.: {link.evidence.path.iloc[0] if len(link.evidence) else '-'}")
    members = find_gangs(engine)
    gangs = summarise_gangs(members)
    console.print(f"团伙 gangs: {len(gangs)} communities holding cases")
    results.update(link=link, gang_members=members, gangs=gangs)

    trace, sources = trace_cases(engine, method="match")
    per_victim = trace.per_victim()
    console.print(
        f"资金溯源 tracing ({trace.method}): {len(per_victim)} victims, paid {yuan(per_victim.paid_fen.sum())}; "
        f"held in {trace.holdings.account.nunique()} accounts {yuan(per_victim.held_fen.sum())} (freeze targets), "
        f"cashed out {yuan(per_victim.cashed_out_fen.sum())}, untraced {yuan(per_victim.untraced_fen.sum())}; "
        f"{yuan(per_victim.ambiguous_fen.sum())} of {int((per_victim.ambiguous_fen > 0).sum())} victims placed by "
        "a choice between parcels that fit equally (trace_ambiguous)"
    )
    mules = sorted(set(trace.flows.to_account) - set(trace.cashouts.counterparty.dropna()))
    dealers, clusters = find_dealers(engine, fraud_items=[f"account:{a}" for a in mules])
    console.print(
        f"卡头 card dealers: {len(dealers)} dealers behind {sum(len(f) for f in dealers.farmers)} card farmers "
        f"({int(dealers.resolved.sum()) if len(dealers) else 0} named as a person)"
    )
    results.update(trace=trace, trace_sources=sources, dealers=dealers, dealer_clusters=clusters)

    truth = _truth(ctx)
    store = ModelStore(ctx.settings.home / "supervision")
    supervision = {}
    for name in store.names():
        clues, metrics = run_model(engine, store, name, truth=supervision_truth(name, truth))
        supervision[name] = clues
        console.print(
            f"法律监督模型 {name} v{metrics['version']}: {metrics['hits']} clues"
            + (f", precision {metrics['precision']}" if metrics.get("precision") is not None else "")
        )
    results["supervision"] = supervision
    if truth is not None:
        results["metrics"] = _evaluate(console, engine, truth, results)
    frames = {
        "groups": link.groups,
        "evidence": link.evidence,
        "hubs": link.hubs,
        "gangs": gangs,
        "dealers": dealers,
        "trace_flows": trace.flows,
        "trace_holdings": trace.holdings,
        "trace_cashouts": trace.cashouts,
        "trace_ambiguous": trace.ambiguous,
        "trace_candidates": trace.candidates,
        "trace_victims": per_victim,
    }
    write_frames(frames, out_dir)
    console.print(f"[dim]graph outputs in {out_dir}[/]")
    ctx.results["graph"] = results
    engine.close()


def _engine(ctx: Any, open_records: Any, register_folder: Any) -> Any:
    from fanzha.engine import get_engine
    from fanzha.errors import FanzhaError

    try:
        return open_records(ctx.settings)  # the lake, when the ingest step landed the city
    except FanzhaError as exc:  # no lake (ingest step absent) or an unreadable one: the simulator files
        ctx.console.print(f"[dim]reading the simulator output {ctx.sim_dir} ({str(exc)[:100]})[/]")
        engine = get_engine(ctx.settings)
        register_folder(engine, ctx.sim_dir)
        return engine


def _truth(ctx: Any) -> Any:
    from fanzha.graph.evaluate import Truth

    return Truth.load(ctx.sim_dir) if (ctx.sim_dir / "truth").is_dir() else None


def _evaluate(console: Any, engine: Any, truth: Any, results: dict[str, Any]) -> dict:
    from fanzha.graph.casetrace import trace_cases
    from fanzha.graph.evaluate import dealer_metrics, gang_metrics, linking_metrics, tracing_metrics

    trace = results["trace"]
    metrics = {
        "linking": linking_metrics(results["link"], truth),
        "gangs": gang_metrics(results["gang_members"], truth),
        "dealers": dealer_metrics(results["dealers"], truth),
    }
    # every reported victim: one none of whose payments was found counts as 0 % located
    metrics[f"tracing_{trace.method}"] = tracing_metrics(trace, truth)
    for method in ("lifo", "fifo", "proportional"):
        other, _ = trace_cases(engine, method=method)
        metrics[f"tracing_{method}"] = tracing_metrics(other, truth)
    for name, values in metrics.items():
        print_metrics(console, f"vs truth: {name}", values)
    return metrics
