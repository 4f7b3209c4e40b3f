"""``fanzha serve`` (the decision service and party API), ``fanzha api-key …``, ``fanzha rules check``,
``fanzha eval decisions``."""

from __future__ import annotations

from pathlib import Path

import typer

from fanzha.cli.groups import eval_app

keys_app = typer.Typer(help="API keys (stored hashed) for the decision service.", no_args_is_help=True)
rules_app = typer.Typer(help="Decision rule sets (rules as data).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="api-key")
    app.add_typer(rules_app, name="rules")
    eval_app.command("decisions")(eval_decisions)


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
    workers: int = typer.Option(
        1,
        min=1,
        help="processes; velocity counters and fusion memory are per process, so keep 1 "
        "unless a load balancer pins each payer to one worker",
    ),
    log_level: str = typer.Option("warning", help="uvicorn log level"),
) -> None:
    """Start the FastAPI decision service (OpenAPI at /docs and /openapi.json)."""
    import importlib.util

    import uvicorn

    fast = (
        importlib.util.find_spec("uvloop") is not None and importlib.util.find_spec("httptools") is not None
    )
    uvicorn.run(
        "fanzha.api.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # every request is in the audit log already
        loop="uvloop" if fast else "auto",
        http="httptools" if fast else "auto",
    )


@keys_app.command("create")
def key_create(
    role: str = typer.Option(..., help="police | bank | telecom | platform | procurator | public"),
    party: str = typer.Option(
        "", help="bank name, carrier, platform, or the holder's own ID number (public)"
    ),
    name: str = typer.Option("", help="who holds the key (shown in the audit log)"),
) -> None:
    """Create a key and print it once; only its HMAC is stored."""
    from fanzha.api.auth import KeyStore
    from fanzha.settings import get_settings

    settings = get_settings()
    store = KeyStore.of(settings)
    typer.echo(store.create(role, party, name))


@keys_app.command("list")
def key_list() -> None:
    """List keys (id, role, revoked, party masked, name, created) — never the secrets."""
    from rich.console import Console
    from rich.table import Column, Table

    from fanzha.api.auth import KeyStore
    from fanzha.records.normalise import mask_id_number
    from fanzha.settings import get_settings

    settings = get_settings()
    store = KeyStore.of(settings)
    # the id is what `revoke` takes: never cut short, whatever the width (names and times may be)
    table = Table(Column("key id", min_width=12, no_wrap=True), "role", "revoked", "party", "name", "created")
    for k in store.records():
        party = mask_id_number(k.party) if k.role == "public" else k.party
        table.add_row(k.key_id, k.role, "yes" if k.revoked else "", party, k.name, k.created_at)
    Console().print(table)


@keys_app.command("revoke")
def key_revoke(key_id: str = typer.Argument(..., help="the id part of fz_<id>_<secret>")) -> None:
    """Revoke a key (running services stop accepting it within 2 seconds)."""
    from fanzha.api.auth import KeyStore
    from fanzha.settings import get_settings

    settings = get_settings()
    KeyStore.of(settings).revoke(key_id)
    typer.echo(f"revoked {key_id}")


@rules_app.command("check")
def rules_check(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="rule-set JSON file"),
) -> None:
    """Validate a rule-set file against the features the engine computes."""
    from fanzha.decide.features import FEATURES
    from fanzha.decide.ruleset import load_ruleset

    ruleset = load_ruleset(path, FEATURES)
    typer.echo(f"ok: {ruleset.label}, {len(ruleset.rules)} rules, bands {ruleset.bands}")


@rules_app.command("install")
def rules_install(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="rule-set JSON file"),
    as_: str = typer.Option("draft", "--as", help="draft (shadow mode) or live"),
) -> None:
    """Install a rule set into <home>/rules; running services pick it up within a second.

    With --as live the live rule set it replaces is kept (`fanzha rules rollback` puts it back)."""
    from fanzha.decide.rulebook import RuleBook
    from fanzha.decide.ruleset import read_document
    from fanzha.settings import get_settings

    book = RuleBook(get_settings().home / "rules")
    ruleset = book.write(as_, read_document(path))
    typer.echo(f"installed {ruleset.label} as {as_}")


@rules_app.command("rollback")
def rules_rollback() -> None:
    """Put the previous live rule set back (kept at each install --as live, promote or rollback)."""
    from fanzha.decide.rulebook import RuleBook
    from fanzha.settings import get_settings

    book = RuleBook(get_settings().home / "rules")
    replaced = book.live.label
    ruleset = book.rollback()
    typer.echo(
        f"live is {ruleset.label} again; {replaced} is kept as live.previous.json (rollback again to undo)"
    )


def eval_decisions(
    sim: Path = typer.Option(
        ..., exists=True, file_okay=False, help="simulator output folder (fanzha simulate --out)"
    ),
    scores: Path = typer.Option(
        None,
        exists=True,
        file_okay=False,
        help="folder with numbers.parquet / accounts.parquet (default <home>/scores)",
    ),
    train_sim: Path = typer.Option(
        None,
        exists=True,
        file_okay=False,
        help="another simulated city: train the number and account models on its truth and score "
        "this city day by day from the records before each day (no look-ahead, not in-sample), "
        "instead of the published scores",
    ),
) -> None:
    """Replay a simulated city's calls, SMS and payments through the decision engine; print the outcome.

    Uses the live rule set of <home>/rules (or the packaged one), the published scores, the texts
    area's text detector and the lists of the operational store, as the service does. Published
    scores computed over the same city's whole run have seen each payee's later days; with
    --train-sim the scores are those a deployment would have had.
    """
    from rich.console import Console

    from fanzha.api.ops_bridge import OpsBridge
    from fanzha.decide.replay import print_report, replay_city
    from fanzha.decide.sources import load_detectors
    from fanzha.errors import ConfigError
    from fanzha.settings import get_settings

    settings = get_settings()
    if scores is not None and not any((scores / f"{n}.parquet").exists() for n in ("numbers", "accounts")):
        raise ConfigError(
            f"--scores {scores} holds neither numbers.parquet nor accounts.parquet; "
            "give the folder `fanzha score … --publish` fills (<home>/scores), or leave --scores out"
        )
    console = Console()
    scores_dir = scores or settings.home / "scores"
    if train_sim is not None and scores is not None:
        raise ConfigError("give --scores or --train-sim, not both: --train-sim computes the scores itself")
    if train_sim is not None and train_sim.resolve() == sim.resolve():
        raise ConfigError("--train-sim must be another city than --sim (else the scores are in-sample)")
    if train_sim is None and not any((scores_dir / f"{n}.parquet").exists() for n in ("numbers", "accounts")):
        # the replay runs all the same, but the figures are those of the real-time signals alone
        console.print(
            f"[yellow]note:[/] no published risk scores in {scores_dir}: the replay uses the real-time "
            "signals alone (publish them with `fanzha score numbers|accounts … --publish`, or run "
            "`fanzha demo`)"
        )
    text_scorer, _url, _versions = load_detectors(settings)
    ops = OpsBridge(settings.ops)
    try:
        lists = ops.lists_snapshot()
    finally:
        ops.close()
    report = replay_city(
        sim,
        scores_dir=scores_dir,
        settings=settings,
        text_scorer=text_scorer,
        lists=lists,
        train_sim=train_sim,
    )
    print_report(report, console)
