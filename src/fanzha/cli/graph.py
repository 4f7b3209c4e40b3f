"""``fanzha link | gangs | trace | supervise`` and ``fanzha eval graph``: graph intelligence commands.

Records come from the lake (``fanzha ingest``) or, with ``--sim DIR``, from a simulator output.
Every command writes its tables (Parquet or CSV) under ``--out`` and prints a readable summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

SIM = typer.Option(None, "--sim", help="read records from a simulator output folder instead of the lake")
OUT = typer.Option(None, "--out", help="output folder (default <home>/graph)")
FMT = typer.Option("parquet", "--format", help="parquet or csv")


def _setup(sim: Path | None, out: Path | None, fmt: str | None = None) -> tuple[Any, Any, Path, Any]:
    """Settings, the records' engine, the output folder and a console; with ``fmt`` (a command that
    writes files) the format and the folder are checked first, not after minutes of work."""
    from rich.console import Console

    from fanzha.graph.records import open_records
    from fanzha.settings import get_settings

    settings = get_settings()
    out_dir = out or settings.home / "graph"
    if fmt is not None:
        from fanzha.cli.output import writable
        from fanzha.errors import ConfigError
        from fanzha.graph.report import FORMATS

        if fmt not in FORMATS:
            raise ConfigError(f"format {fmt!r} is not supported; use one of {FORMATS}")
        writable(out_dir, "the results")
    engine = open_records(settings, sim)
    return settings, engine, out_dir, Console()


def _parse_params(values: list[str], option: str = "--param", example: str = "min_cases=3") -> dict[str, Any]:
    from fanzha.errors import ConfigError

    params: dict[str, Any] = {}
    for item in values:
        if "=" not in item:
            raise ConfigError(f"{option} {item!r} is not NAME=VALUE (e.g. {option} {example})")
        key, value = item.split("=", 1)
        try:
            params[key.strip()] = int(value)
        except ValueError:
            try:
                params[key.strip()] = float(value)
            except ValueError:
                params[key.strip()] = value
    return params


def _link_config(max_degree: list[str], allow_file: Path | None) -> Any:
    from fanzha.errors import ConfigError
    from fanzha.graph.linking import DEFAULT_ALLOW, LinkConfig

    config = LinkConfig()
    for key, value in _parse_params(max_degree, "--max-degree", "phone=200").items():
        if key not in config.max_degree:
            raise ConfigError(
                f"--max-degree {key}={value}: unknown node type {key!r}; use one of {sorted(config.max_degree)}"
            )
        if not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"--max-degree {key}={value}: the limit must be a whole number ≥ 1 (distinct neighbours)"
            )
        config.max_degree[key] = value
    if allow_file:
        config.allow = DEFAULT_ALLOW + LinkConfig.read_allow_file(allow_file)
    return config


def register(app: typer.Typer) -> None:
    supervise = typer.Typer(help="法律监督模型 supervision models: list them, run one.", no_args_is_help=True)
    app.add_typer(supervise, name="supervise")

    @app.command()
    def link(
        sim: Path | None = SIM,
        out: Path | None = OUT,
        fmt: str = FMT,
        max_degree: list[str] = typer.Option(
            [], "--max-degree", help="hub limit per node type, e.g. --max-degree phone=200 (repeatable)"
        ),
        allow_file: Path | None = typer.Option(
            None, "--allow-file", help="extra allow-listed identifiers, one a line"
        ),
    ) -> None:
        """串并案: link cases that share identifiers, directly or through chains; hubs suppressed."""
        from fanzha.graph.linking import link_cases
        from fanzha.graph.report import table, write_frames

        _, engine, out_dir, console = _setup(sim, out, fmt)
        result = link_cases(engine, _link_config(max_degree, allow_file))
        paths = write_frames(
            {
                "groups": result.groups,
                "case_groups": result.cases,
                "evidence": result.evidence,
                "hubs": result.hubs,
            },
            out_dir,
            fmt,
        )
        console.print(
            table(
                "linked groups", result.groups, ["group_id", "n_cases", "regions", "identifiers", "loss_fen"]
            )
        )
        console.print(table("evidence", result.evidence, ["case_id", "linked_to", "hops", "path"], 5))
        console.print(
            f"{len(result.hubs)} hub identifiers suppressed; wrote {', '.join(p.name for p in paths)} to {out_dir}"
        )
        engine.close()

    @app.command()
    def gangs(sim: Path | None = SIM, out: Path | None = OUT, fmt: str = FMT) -> None:
        """团伙 and 卡头: communities in the linked graph, and card dealers behind card farmers."""
        from fanzha.graph.communities import find_gangs, summarise_gangs
        from fanzha.graph.dealers import find_dealers
        from fanzha.graph.linking import link_cases
        from fanzha.graph.report import table, write_frames

        _, engine, out_dir, console = _setup(sim, out, fmt)
        link_cases(engine)
        members = find_gangs(engine)
        summary = summarise_gangs(members)
        dealers, clusters = find_dealers(engine)
        write_frames(
            {"gangs": summary, "gang_members": members, "dealers": dealers, "dealer_clusters": clusters},
            out_dir,
            fmt,
        )
        console.print(table("gangs", summary, ["gang_id", "cases", "ids", "phones", "accounts", "case_ids"]))
        console.print(
            table(
                "card dealers",
                dealers,
                ["dealer_id", "organiser", "resolved", "keys", "farmers", "n_fraud_items"],
            )
        )
        console.print(f"wrote gangs, gang_members, dealers, dealer_clusters to {out_dir}")
        engine.close()

    @app.command()
    def trace(
        case: list[str] = typer.Option([], "--case", help="case id (repeatable)"),
        victim: list[str] = typer.Option([], "--victim", help="victim ID number (repeatable)"),
        all_cases: bool = typer.Option(False, "--all", help="trace every reported case"),
        method: str = typer.Option("match", "--method", help="match, lifo, fifo or proportional"),
        max_hops: int = typer.Option(10, "--max-hops", min=0),
        max_hours: float = typer.Option(720.0, "--max-hours", min=0),
        sim: Path | None = SIM,
        out: Path | None = OUT,
        fmt: str = FMT,
    ) -> None:
        """资金流向溯源: follow victims' money hop by hop; holdings (freeze targets) and cash-outs."""
        import pandas as pd

        from fanzha.errors import ConfigError
        from fanzha.graph.casetrace import trace_cases
        from fanzha.graph.report import table, write_frames, yuan

        if not (case or victim or all_cases):
            raise ConfigError("say what to trace: --case ID, --victim ID or --all")
        if all_cases and (case or victim):
            raise ConfigError("give --case / --victim or --all, not both (--all traces every reported case)")
        victim = [_id_number(v) or v.strip() for v in victim]  # no ID number: matches no case, and says so
        _, engine, out_dir, console = _setup(sim, out, fmt)
        result, _sources = trace_cases(
            engine,
            case or None,
            victim_ids=victim or None,
            method=method,
            max_hops=max_hops,
            max_hours=max_hours,
        )
        per_victim = result.per_victim()
        if victim and per_victim.empty:
            raise ConfigError(f"no payments of victims {victim[:3]} found in reported cases")
        no_pay = [c for c in dict.fromkeys(case) if c not in set(_sources.case_id)]
        no_pay += [v for v in dict.fromkeys(victim) if v not in set(_sources.victim_id)]
        if all_cases:  # every case without a payment found, as --case names them
            reported = engine.frame("SELECT case_id FROM cases ORDER BY case_id").case_id
            no_pay = reported[~reported.isin(set(_sources.case_id))].tolist()
        if no_pay:  # traced the others; these are named, not dropped in silence
            console.print(
                f"[yellow]no payments found for {len(no_pay)}: {', '.join(no_pay[:10])}"
                f"{' …' if len(no_pay) > 10 else ''} — not in the trace (the victim's accounts must pay an "
                "account a case names); listed in trace_not_traced[/]"
            )
        write_frames(
            {
                "trace_not_traced": pd.DataFrame({"id": no_pay, "reason": "no payment found"}, dtype=object),
                "trace_flows": result.flows,
                "trace_holdings": result.holdings,
                "trace_cashouts": result.cashouts,
                "trace_untraced": result.untraced,
                "trace_ambiguous": result.ambiguous,
                "trace_candidates": result.candidates,
                "trace_victims": per_victim,
            },
            out_dir,
            fmt,
        )
        console.print(
            table(
                "per victim",
                per_victim,
                ["victim_id", "paid_fen", "held_fen", "cashed_out_fen", "untraced_fen", "ambiguous_fen"],
            )
        )
        console.print(
            table("freeze targets (holdings)", result.holdings, ["victim_id", "account", "amount_fen"])
        )
        console.print(
            table("cash-outs", result.cashouts, ["victim_id", "kind", "record_id", "account", "amount_fen"])
        )
        if len(result.candidates):
            console.print(
                table(
                    "candidate freeze targets (冻结候选: the other reading of ambiguous choices)",
                    result.candidates,
                    ["victim_id", "account", "amount_fen", "reason", "new_place", "record_id"],
                )
            )
        console.print(
            f"{method}: paid {yuan(per_victim.paid_fen.sum())} = held {yuan(per_victim.held_fen.sum())} + cashed out "
            f"{yuan(per_victim.cashed_out_fen.sum())} + untraced {yuan(per_victim.untraced_fen.sum())}; wrote to {out_dir}"
        )
        if len(result.candidates):
            console.print(
                f"candidates: {yuan(result.candidates.amount_fen.sum())} of "
                f"{result.candidates.victim_id.nunique()} victims at "
                f"{result.candidates.account.nunique()} accounts, "
                f"{yuan(result.candidates.amount_fen[result.candidates.new_place].sum())} at accounts the trace "
                "does not name for that step (trace_candidates)"
            )
        engine.close()

    @supervise.command("list")
    def supervise_list() -> None:
        """Show the models with their version and last-run hit figures."""
        from rich.console import Console
        from rich.table import Table

        from fanzha.graph.supervision import ModelStore
        from fanzha.settings import get_settings

        store = ModelStore(get_settings().home / "supervision")
        console = Console()
        models = [store.load(name) for name in store.names()]

        def params(m: Any) -> str:
            return ", ".join(f"{k}={v}" for k, v in m.params.items()) or "-"

        if console.width < 120:  # a table of seven columns wrapped every description a word a line
            console.print("[bold]法律监督模型 supervision models[/]")
            for m in models:
                last = m.last_run
                console.print(
                    f"\n[bold]{m.name}[/] v{m.version} · {params(m)} · last run "
                    f"{last.get('run_at', 'never')} · hits {last.get('hits', '-')} · precision "
                    f"{last.get('precision', '-')}",
                    highlight=False,
                )
                console.print(f"  {m.description}", highlight=False)
            return
        out = Table(title="法律监督模型 supervision models")
        out.add_column("name", no_wrap=True)
        for col in ("version", "params", "last run", "hits", "precision", "description"):
            out.add_column(col, overflow="fold", ratio=3 if col == "description" else 1)
        for m in models:
            last = m.last_run
            out.add_row(
                m.name,
                str(m.version),
                params(m),
                last.get("run_at", "never"),
                str(last.get("hits", "-")),
                str(last.get("precision", "-")),
                m.description,
            )
        console.print(out)

    @supervise.command("run")
    def supervise_run(
        name: str = typer.Argument(..., help="model name (see fanzha supervise list)"),
        param: list[str] = typer.Option([], "--param", help="NAME=VALUE overriding a model parameter"),
        charged: Path | None = typer.Option(
            None, "--charged", help="CSV/Parquet with column id_number: charged people"
        ),
        sim: Path | None = SIM,
        out: Path | None = OUT,
        fmt: str = FMT,
    ) -> None:
        """Run one model and write its clue list with evidence."""
        from fanzha.graph.linking import link_cases
        from fanzha.graph.report import table, write_frames
        from fanzha.graph.supervision import ModelStore, run_model
        from fanzha.settings import get_settings

        store = ModelStore(get_settings().home / "supervision")
        model = store.load(name)  # an unknown name is the error to report, before any records are read
        _, engine, out_dir, console = _setup(sim, out, fmt)
        if charged is not None:
            listed, invalid = _read_charged(charged)
            engine.register("charged", listed)
            if invalid:
                console.print(
                    f"[yellow]{len(invalid)} of {len(listed)} entries of {charged} are no valid ID number "
                    f"(e.g. {invalid[0]!r}): they match nobody[/]"
                )
        if "case_groups" in model.requires:
            link_cases(engine)
        truth = None
        if sim is not None and (sim / "truth").is_dir():  # a simulated city: its precision too
            from fanzha.graph.evaluate import Truth, supervision_truth

            truth = supervision_truth(name, Truth.load(sim))
        clues, metrics = run_model(engine, store, name, _parse_params(param), truth=truth)
        write_frames({f"supervision_{name}": clues}, out_dir, fmt)
        console.print(
            table(
                f"{name} v{metrics['version']}",
                clues,
                [model.key, *[c for c in clues.columns if c != model.key][:4]],
            )
        )
        precision = f", precision {metrics['precision']}" if metrics.get("precision") is not None else ""
        console.print(f"{metrics['hits']} clues{precision}; wrote supervision_{name}.{fmt} to {out_dir}")
        engine.close()

    from fanzha.cli.groups import eval_app

    @eval_app.command("graph")
    def eval_graph(
        sim: Path | None = typer.Option(None, "--sim", help="simulator output folder with truth/"),
        seeds: str | None = typer.Option(
            None,
            "--seeds",
            help="simulate one city per seed now (comma-separated, e.g. 103,107) instead of --sim",
        ),
        people: int = typer.Option(20_000, "--people", help="people per city simulated for --seeds"),
        days: int = typer.Option(30, "--days", help="days per city simulated for --seeds"),
        method: str = typer.Option("match", "--method", help="tracing method to evaluate"),
        out: Path | None = typer.Option(
            None, "--out", help="JSON with every figure per city; beside it <out>.victims.csv (per victim)"
        ),
    ) -> None:
        """Case linking, gangs, tracing and card dealers against the simulator's truth; per victim,
        the share of the traceable money located (the victims below 95 % first)."""
        import json
        import tempfile

        import pandas as pd
        from rich.console import Console

        from fanzha.cli.output import parse_seeds, writable_file
        from fanzha.errors import ConfigError
        from fanzha.graph.report import print_metrics
        from fanzha.graph.trace import METHODS

        if method not in METHODS:
            raise ConfigError(f"method {method!r} is unknown; use one of {METHODS}")
        if (sim is None) == (seeds is None):
            raise ConfigError(
                "give --sim (a simulator output) or --seeds (cities simulated now), one of them"
            )
        if out is not None:
            writable_file(out, "the report")
        console = Console()
        figures: dict[str, dict[str, dict[str, float]]] = {}
        victims = []
        with tempfile.TemporaryDirectory(prefix="fanzha-eval-graph-") as tmp:
            cities = {str(sim): sim} if sim is not None else {}
            for seed in parse_seeds(seeds) if seeds is not None else []:
                from fanzha.simulate import SimConfig, simulate

                cities[f"seed {seed}"] = Path(tmp) / f"sim-{seed}"
                with console.status(f"simulating a city of {people:,} people × {days} days (seed {seed}) …"):
                    simulate(SimConfig(people=people, days=days, seed=seed), cities[f"seed {seed}"])
            for name, folder in cities.items():
                with console.status(f"evaluating {name} …"):
                    figures[name], shares = _eval_city(folder, method)
                console.print(f"[bold]{name}[/]")
                for title, values in figures[name].items():
                    print_metrics(console, f"  {title}", values)
                if shares is not None:
                    victims.append(shares.assign(city=name))
        if victims:
            table = pd.concat(victims, ignore_index=True)
            low = table[table.share < 0.95].sort_values("share")
            flagged = low.ambiguous_fen > 0  # the trace reported an ambiguous choice for the victim
            below = ", ".join(
                f"{v} {s:.1%}{' (ambiguous choice reported)' if a else ''}"
                for v, s, a in zip(low.victim_id[:10], low.share[:10], flagged[:10], strict=True)
            )
            console.print(
                f"victims with ≥ 95 % of their traceable money located: {len(table) - len(low):,} of "
                f"{len(table):,} ({len(cities)} {'city' if len(cities) == 1 else 'cities'})"
                + (f"; below: {below}{' …' if len(low) > 10 else ''}" if len(low) else "")
            )
        if out is not None:
            from fanzha.cli.output import json_ready

            text = json.dumps(json_ready(figures), ensure_ascii=False, indent=2, allow_nan=False)
            out.write_text(text, "utf-8")
            message = f"wrote {out}"
            if victims:
                csv = out.with_name(f"{out.stem}.victims.csv")
                table.sort_values(["share", "city", "victim_id"]).to_csv(csv, index=False)
                message += f" and {csv}"
            console.print(message)


def _eval_city(sim: Path, method: str) -> tuple[dict[str, dict[str, float]], Any]:
    """Every figure of ``fanzha eval graph`` on one simulator output, and the per-victim shares
    (None when the output has no transfer or withdrawal records)."""
    from fanzha.graph.casetrace import trace_cases
    from fanzha.graph.communities import find_gangs
    from fanzha.graph.dealers import find_dealers
    from fanzha.graph.evaluate import (
        Truth,
        dealer_metrics,
        gang_metrics,
        linking_metrics,
        tracing_metrics,
        victim_shares,
    )
    from fanzha.graph.linking import link_cases

    _, engine, _, _ = _setup(sim, None)
    try:
        truth = Truth.load(sim)
        figures = {
            "linking": linking_metrics(link_cases(engine), truth),
            "gangs": gang_metrics(find_gangs(engine), truth),
        }
        result, _sources = trace_cases(engine, method=method)
        # every victim of a reported case, not only those whose payments the trace found: a victim
        # none of whose payments was found (a child paying from a parent's account) has 0 % located
        figures[f"tracing ({method})"] = tracing_metrics(result, truth)
        figures["card dealers"] = dealer_metrics(find_dealers(engine)[0], truth)
        shares = victim_shares(result, truth) if truth.outflows is not None else None
    finally:
        engine.close()
    return figures, shares


def _read_charged(path: Path) -> tuple[Any, list[str]]:
    """The charged list as table ``charged`` (normalised ID numbers) and its invalid entries."""
    import pandas as pd

    from fanzha.errors import InputFileError

    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    except (OSError, ValueError) as exc:
        detail = " ".join(str(exc).split())  # pandas' parser messages end in a line break
        raise InputFileError(
            f"cannot read charged list {path}: {detail}; give CSV or Parquet with id_number"
        ) from exc
    if "id_number" not in frame.columns:
        raise InputFileError(f"charged list {path} has no id_number column (columns: {list(frame.columns)})")
    values = frame["id_number"].astype(str).tolist()
    ids = [_id_number(v) for v in values]
    invalid = [v.strip() for v, i in zip(values, ids, strict=True) if i is None]
    # object dtype: an empty list stays a text column (pandas would make it float, and the query fail)
    listed = pd.DataFrame(
        {"id_number": [i or v.strip() for v, i in zip(values, ids, strict=True)]}, dtype=object
    )
    return listed, invalid


def _id_number(value: str) -> str | None:
    """An ID number as the records store it (full-width digits, spaces, lower-case x normalised);
    None for a value that is no valid ID number."""
    from fanzha.errors import ValidationError
    from fanzha.records.normalise import normalise_id_number

    try:
        return normalise_id_number(value)
    except ValidationError:
        return None
