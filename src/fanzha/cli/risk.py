"""``fanzha train | score | eval numbers|accounts``: phone-number and bank-account risk models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from fanzha.cli.groups import eval_app, score_app, train_app

WHAT = typer.Argument(..., help="numbers or accounts")
DATA = typer.Option(
    None, "--data", help="'lake', a simulator folder, or a CSV/Parquet file (feature table or raw calls)"
)
TRANSFERS = typer.Option(None, "--transfers", help="accounts: a partner's raw transfer file (CSV/Parquet)")
LABEL = typer.Option(None, "--label", help="label column of a ready feature table (1 = fraud)")
ID = typer.Option(None, "--id", help="id column of a ready feature table (default 'id')")
LABELS = typer.Option(None, "--labels", help="separate labels file (with --id-col and --label-col)")
LABEL_COL = typer.Option("label", "--label-col", help="label column in the labels file")
ID_COL = typer.Option("id", "--id-col", help="id column in the labels file")
TX_ID = typer.Option(
    None, "--tx-id-col", help="transfer id column of the transfer file (default: row number)"
)
FROM = typer.Option("from_account", "--from-col", help="payer account column of the transfer file")
TO = typer.Option("to_account", "--to-col", help="payee account column of the transfer file")
AMOUNT = typer.Option("amount_fen", "--amount-col", help="amount column of the transfer file")
UNIT = typer.Option("fen", "--amount-unit", help="fen (integers) or yuan (decimals, converted exactly)")
TIME = typer.Option("at", "--time-col", help="time column of the transfer file (ISO 8601)")
WINDOW = typer.Option(
    "30",
    "--window",
    help="feature window in days before the latest record (0 = all), or several, e.g. 1,7,30: "
    "each windowed feature once per window (out_calls_1d … out_calls_30d)",
)
EVAL_WINDOW = typer.Option(
    "30", "--window", help="feature window(s) on the simulated cities, e.g. 30 or 1,7,30 (0 = all)"
)
SCORE_WINDOW = typer.Option(
    None,
    "--window",
    help="feature window(s) in days, as in training (default: the model's own, e.g. 30 or 1,7,30)",
)
MAX_REJECTED = typer.Option(
    0.01,
    "--max-rejected",
    help="raw transfer / call files: share of rows that may be rejected before the load fails",
)
REJECTED = typer.Option(
    None,
    "--rejected",
    help="raw transfer / call files: CSV for the rejected rows and reasons (default: <out>.rejected.csv)",
)


def _layout(tx_id: str | None, from_col: str, to_col: str, amount_col: str, unit: str, time_col: str) -> Any:
    from fanzha.risk.partner import TransferLayout

    return TransferLayout(from_col, to_col, amount_col, time_col, tx_id, unit)


def _intake(max_rejected: float, rejected: Path | None, out: Path) -> dict[str, Any]:
    """How a partner's transfer file is taken in: the rejected rows go next to the output."""
    return {
        "max_rejected": max_rejected,
        "rejected_out": rejected or out.with_name(f"{out.stem}.rejected.csv"),
    }


def _rows(
    what: str,
    data: str | None,
    transfers: Path | None,
    layout: Any,
    id_: str | None,
    label: str | None,
    labels: Path | None,
    id_col: str,
    label_col: str,
    window: Any,
    intake: dict[str, Any] | None = None,
    truth: bool = True,
) -> Any:
    from fanzha.engine import get_engine
    from fanzha.risk.pipeline import load_rows
    from fanzha.settings import get_settings

    settings = get_settings()
    engine = get_engine(settings)
    rows = load_rows(
        engine,
        settings,
        what,
        data=data,
        transfers=transfers,
        layout=layout,
        id_col=id_,
        label_col=label,
        labels_file=labels,
        labels_id_col=id_col,
        labels_label_col=label_col,
        window_days=window,
        truth=truth,
        **(intake or {}),
    )
    return rows


def _detector(what: str, id_col: str) -> Any:
    from fanzha.risk.model import AccountDetector, NumberDetector

    return (NumberDetector if what == "numbers" else AccountDetector)(id_col=id_col)


def register(app: typer.Typer) -> None:
    del app  # the commands live on the shared train / score / eval groups

    @train_app.command("numbers")
    def train_numbers(
        data: str = typer.Option(..., "--data", help="'lake', a simulator folder, or a feature/calls file"),
        label: str | None = LABEL,
        id_: str | None = ID,
        labels: Path | None = LABELS,
        label_col: str = LABEL_COL,
        id_col: str = ID_COL,
        max_rejected: float = MAX_REJECTED,
        rejected: Path | None = REJECTED,
        window: str = WINDOW,
        out: Path = typer.Option(..., "--out", help="model folder to write"),
    ) -> None:
        """Train the fraud-number model (涉诈号码) and save it with its metadata."""
        intake = _intake(max_rejected, rejected, out)
        _train("numbers", data, None, None, id_, label, labels, id_col, label_col, window, out, intake)

    @train_app.command("accounts")
    def train_accounts(
        data: str | None = DATA,
        transfers: Path | None = TRANSFERS,
        label: str | None = LABEL,
        id_: str | None = ID,
        labels: Path | None = LABELS,
        label_col: str = LABEL_COL,
        id_col: str = ID_COL,
        tx_id: str | None = TX_ID,
        from_col: str = FROM,
        to_col: str = TO,
        amount_col: str = AMOUNT,
        unit: str = UNIT,
        time_col: str = TIME,
        max_rejected: float = MAX_REJECTED,
        rejected: Path | None = REJECTED,
        window: str = WINDOW,
        out: Path = typer.Option(..., "--out", help="model folder to write"),
    ) -> None:
        """Train the mule-account model (涉诈账户 / 跑分) from the lake, a folder, features or raw transfers."""
        layout = _layout(tx_id, from_col, to_col, amount_col, unit, time_col)
        intake = _intake(max_rejected, rejected, out)
        _train(
            "accounts", data, transfers, layout, id_, label, labels, id_col, label_col, window, out, intake
        )

    @score_app.command("numbers")
    def score_numbers(
        model: Path = typer.Option(..., "--model", help="model folder from `fanzha train numbers`"),
        data: str = typer.Option(..., "--data", help="'lake', a simulator folder, or a feature/calls file"),
        id_: str | None = ID,
        max_rejected: float = MAX_REJECTED,
        rejected: Path | None = REJECTED,
        window: str | None = SCORE_WINDOW,
        out: Path = typer.Option(..., "--out", help="CSV to write: id, probability, tier, reasons"),
        publish: bool = typer.Option(
            False, "--publish", help="also publish to <home>/scores/numbers.parquet"
        ),
    ) -> None:
        """Score phone numbers: probability, tier and plain-words reasons."""
        intake = _intake(max_rejected, rejected, out)
        _score("numbers", model, data, None, None, id_, window, out, publish, intake)

    @score_app.command("accounts")
    def score_accounts(
        model: Path = typer.Option(..., "--model", help="model folder from `fanzha train accounts`"),
        data: str | None = DATA,
        transfers: Path | None = TRANSFERS,
        id_: str | None = ID,
        tx_id: str | None = TX_ID,
        from_col: str = FROM,
        to_col: str = TO,
        amount_col: str = AMOUNT,
        unit: str = UNIT,
        time_col: str = TIME,
        max_rejected: float = MAX_REJECTED,
        rejected: Path | None = REJECTED,
        window: str | None = SCORE_WINDOW,
        out: Path = typer.Option(..., "--out", help="CSV to write: id, probability, tier, reasons"),
        publish: bool = typer.Option(
            False, "--publish", help="also publish to <home>/scores/accounts.parquet"
        ),
    ) -> None:
        """Score bank accounts: probability, tier and plain-words reasons."""
        layout = _layout(tx_id, from_col, to_col, amount_col, unit, time_col)
        intake = _intake(max_rejected, rejected, out)
        _score("accounts", model, data, transfers, layout, id_, window, out, publish, intake)

    @eval_app.command("numbers")
    def eval_numbers(
        sichuan: Path | None = typer.Option(None, "--sichuan", help="numbers_train.csv of the Sichuan set"),
        sim: Path | None = typer.Option(
            None, "--sim", help="simulator output (default: simulate a city now)"
        ),
        people: int = typer.Option(2000, "--people", help="people in the city simulated for evaluation"),
        days: int = typer.Option(14, "--days", help="days simulated"),
        folds: int = typer.Option(5, "--folds", help="cross-validation folds"),
        seeds: str | None = SEEDS,
        window: str = EVAL_WINDOW,
        out: Path = typer.Option(Path("eval-numbers.json"), "--out", help="JSON file to write"),
        data_dir: Path | None = typer.Option(
            None, "--data-dir", help="the shared data folder: its sichuan-numbers/ (instead of --sichuan)"
        ),
    ) -> None:
        """Precision, recall, F1, ROC-AUC and AP on simulator truth and the Sichuan set (5-fold CV)."""
        real = _real_data("numbers", sichuan, data_dir)
        _evaluate("numbers", real, sim, people, days, folds, out, seeds, window)

    @eval_app.command("accounts")
    def eval_accounts(
        amlsim: Path | None = typer.Option(None, "--amlsim", help="the amlsim-world0 folder"),
        sim: Path | None = typer.Option(
            None, "--sim", help="simulator output (default: simulate a city now)"
        ),
        people: int = typer.Option(2000, "--people", help="people in the city simulated for evaluation"),
        days: int = typer.Option(14, "--days", help="days simulated"),
        folds: int = typer.Option(5, "--folds", help="cross-validation folds"),
        seeds: str | None = SEEDS,
        window: str = EVAL_WINDOW,
        out: Path = typer.Option(Path("eval-accounts.json"), "--out", help="JSON file to write"),
        data_dir: Path | None = typer.Option(
            None, "--data-dir", help="the shared data folder: its amlsim-world0/ (instead of --amlsim)"
        ),
    ) -> None:
        """Metrics on simulator truth and AMLSim (CV grouped by laundering alert)."""
        real = _real_data("accounts", amlsim, data_dir)
        _evaluate("accounts", real, sim, people, days, folds, out, seeds, window)


REAL_DATA = {
    "numbers": ("--sichuan", "sichuan-numbers/numbers_train.csv"),
    "accounts": ("--amlsim", "amlsim-world0"),
}


def _real_data(what: str, given: Path | None, data_dir: Path | None) -> Path | None:
    """The real data set to evaluate on: ``--sichuan`` / ``--amlsim``, or its place under
    ``--data-dir`` (the shared data folder, as ``fanzha eval texts|urls --data-dir`` take it)."""
    if data_dir is None:
        return given
    from fanzha.errors import ConfigError, InputFileError

    option, inside = REAL_DATA[what]
    if given is not None:
        raise ConfigError(f"give {option} or --data-dir, not both")
    if not data_dir.is_dir():
        raise InputFileError(f"--data-dir {data_dir} is not a folder; give the shared data folder")
    path = data_dir / inside
    if not path.exists():
        raise InputFileError(
            f"--data-dir {data_dir} has no {inside}; give the shared data folder or {option} PATH"
        )
    return path


def _train(
    what: str,
    data: str | None,
    transfers: Path | None,
    layout: Any,
    id_: str | None,
    label: str | None,
    labels: Path | None,
    id_col: str,
    label_col: str,
    window: str,
    out: Path,
    intake: dict[str, Any] | None = None,
) -> None:
    from rich.console import Console

    from fanzha.cli.output import parse_windows, writable
    from fanzha.errors import ConfigError

    if labels is None and (id_col, label_col) != ("id", "label"):
        # before: ignored, and the error then named the --data id column as missing
        raise ConfigError(
            "--id-col / --label-col name the columns of a --labels file, and none is given; "
            "name the id and label columns of --data with --id and --label"
        )
    windows = parse_windows(window)
    writable(out, "the model")
    console = Console()
    with console.status(f"computing {what} features …"):
        rows = _rows(what, data, transfers, layout, id_, label, labels, id_col, label_col, windows, intake)
    if rows.note:
        console.print(rows.note)
    y = rows.labelled()
    with console.status(f"training on {len(y):,} rows ({int(y.sum()):,} positive) …"):
        detector = _detector(what, rows.id_col).fit(rows.frame, y)
    saved = list(windows) if isinstance(windows, tuple) else windows
    detector.meta_.extra.update({"source": rows.source, "window_days": saved})
    detector.save(out)
    m = detector.meta_.metrics
    console.print(
        f"saved {out} · {len(y):,} rows · CV AP {m['cv_average_precision']:.3f} · ROC-AUC {m['cv_roc_auc']:.3f}"
        f" · threshold {m['threshold']:.3f}"
    )
    top = ", ".join(f"{k} {v:.0%}" for k, v in list(detector.meta_.extra["importance"].items())[:5])
    console.print(f"relies most on (share of split gain): {top}")
    dropped = m.get("dropped_columns") or {}
    if dropped:
        left = "; ".join(f"{k} ({v})" for k, v in list(dropped.items())[:8])
        more = f" and {len(dropped) - 8} more" if len(dropped) > 8 else ""
        console.print(f"left out (not usable as features): {left}{more}")


def _score(
    what: str,
    model: Path,
    data: str | None,
    transfers: Path | None,
    layout: Any,
    id_: str | None,
    window: str | None,
    out: Path,
    publish: bool,
    intake: dict[str, Any] | None = None,
) -> None:
    from rich.console import Console

    from fanzha.cli.output import load_detector, parse_windows, writable_file
    from fanzha.risk.model import GBDTDetector
    from fanzha.risk.publish import publish_scores, write_csv
    from fanzha.settings import get_settings

    writable_file(out, "the scores")
    console = Console()
    detector = load_detector(GBDTDetector, model)
    if detector.name != what:
        from fanzha.errors import ModelError

        article = lambda w: "an" if w[0] in "aeiou" else "a"  # noqa: E731
        raise ModelError(
            f"{model} is {article(detector.name)} {detector.name} model, not {article(what)} {what} model"
        )
    id_col = id_ or detector.id_col  # type: ignore[attr-defined]
    windows = _model_windows(detector)
    if window is not None:
        given = parse_windows(window)
        if given != windows and (isinstance(given, tuple) or isinstance(windows, tuple)):
            from fanzha.errors import ConfigError

            raise ConfigError(
                f"{model} was trained on the window(s) {_shown(windows)}; --window {window} gives other "
                "feature columns. Leave --window out to use the model's, or retrain."
            )
        windows = given
    with console.status(f"computing {what} features …"):
        rows = _rows(
            what, data, transfers, layout, id_col, None, None, "id", "label", windows, intake, truth=False
        )
    if rows.note:
        console.print(rows.note)
    frame = rows.frame.drop(columns=[c for c in (detector.label_col,) if c in rows.frame.columns])  # type: ignore[attr-defined]
    frame = frame.rename(columns={rows.id_col: detector.id_col})  # type: ignore[attr-defined]
    scores = detector.score(frame)
    write_csv(scores, out)
    tiers = scores["tier"].value_counts().to_dict()
    console.print(f"wrote {out} · {len(scores):,} {what} · tiers {tiers}")
    _drift_report(detector, frame, scores["probability"].to_numpy(), out, console)
    if publish:
        path = publish_scores(scores, what, get_settings())
        console.print(f"published {path}")


def _model_windows(detector: Any) -> int | tuple[int | None, ...] | None:
    """The window(s) a model was trained on (30 days for a model saved without the record)."""
    from fanzha.risk.pipeline import window_list

    saved = detector.meta_.extra.get("window_days", 30)
    return tuple(window_list(tuple(saved))) if isinstance(saved, list) else saved  # in column order


def _shown(windows: int | tuple[int | None, ...] | None) -> str:
    values = windows if isinstance(windows, tuple) else (windows,)
    return ",".join("0 (all)" if w is None else str(w) for w in values)


def _drift_report(detector: Any, frame: Any, probabilities: Any, out: Path, console: Any) -> None:
    """模型监控: per-feature PSI of the scored data against the training data, written beside the
    scores; a warning naming the features with a major shift."""
    from fanzha.detect.drift import summary

    report = detector.drift(frame, probabilities)  # the scores just computed, not a second pass
    if report is None:
        console.print("no drift report: the model was saved without a training profile (retrain it)")
        return
    path = out.with_name(f"{out.stem}.drift.csv")
    report.to_csv(path, index=False)
    warning = summary(report)
    if warning:
        console.print(f"[bold yellow]warning:[/] {warning} ({path})")
    elif len(report):
        top = report.iloc[0]
        console.print(f"feature drift: {top.status} (largest PSI {top.psi:.3f}, {top.feature}) · {path}")


SEEDS = typer.Option(
    None,
    "--seeds",
    help="simulated cities to evaluate on, comma-separated seeds (default 11; e.g. 7,11,13): one "
    "city each, then mean / min / max of every average precision",
)


def _evaluate(
    what: str,
    real: Path | None,
    sim: Path | None,
    people: int,
    days: int,
    folds: int,
    out: Path,
    seeds: str | None = None,
    window: str = "30",
) -> None:
    import tempfile

    from rich.console import Console

    from fanzha.cli.output import parse_seeds, parse_windows, writable_file
    from fanzha.engine import get_engine
    from fanzha.risk import evaluate as ev

    windows = parse_windows(window)
    if not 2 <= folds <= 50:
        from fanzha.errors import ConfigError

        raise ConfigError(f"--folds {folds}: give 2 to 50 cross-validation folds (default 5)")
    writable_file(out, "the report")
    console = Console()
    for given in (real, sim):
        if given is not None and not given.exists():
            from fanzha.errors import InputFileError

            raise InputFileError(f"{given} does not exist; check the path")
    if sim is not None and seeds is not None:
        from fanzha.errors import ConfigError

        raise ConfigError("give --sim (one city you simulated) or --seeds (cities simulated now), not both")
    seed_list = parse_seeds(seeds or "11")
    result: dict[str, Any] = {"target": what}
    with tempfile.TemporaryDirectory(prefix="fanzha-eval-") as tmp:
        cities: dict[int | None, Path] = {}
        if sim is not None:
            cities[None] = sim
        else:
            from fanzha.demo import module_exists

            if module_exists("fanzha.simulate"):
                from fanzha.simulate import SimConfig, simulate

                for seed in seed_list:
                    cities[seed] = Path(tmp) / f"sim-{seed}"
                    with console.status(
                        f"simulating a city of {people} people × {days} days (seed {seed}) …"
                    ):
                        simulate(
                            SimConfig(people=people, days=days, seed=seed, fraud_rate=60.0), cities[seed]
                        )
        per_city = {}
        for city, sim_dir in cities.items():
            named = "" if city is None else f" (seed {city}, {people} people)"
            with console.status(f"cross-validating on the simulator's truth{named} …"):
                per_city[city] = ev.eval_simulated(
                    get_engine(), sim_dir, what, folds=folds, window_days=windows
                )
            _show(console, f"simulated city{named}", per_city[city])
        if len(per_city) == 1:
            result["simulated"] = next(iter(per_city.values()))
        elif per_city:
            result["simulated_cities"] = {str(k): v for k, v in per_city.items()}
            result["simulated"] = ev.summarise_cities(list(per_city.values()))
            _show_summary(console, result["simulated"])
        if real is not None:
            with console.status(f"cross-validating on {real} …"):
                if what == "numbers":
                    path = real / "numbers_train.csv" if real.is_dir() else real
                    result["sichuan"] = ev.eval_sichuan(path, folds=folds)
                else:
                    result["amlsim"] = ev.eval_amlsim(get_engine(), real, folds=folds)
            _show(console, "real data", result.get("sichuan") or result["amlsim"])
    from fanzha.cli.output import json_ready

    ev.write_json(json_ready(result), out)  # type: ignore[arg-type]
    console.print(f"wrote {out}")


def _show_summary(console: Any, summary: dict[str, Any]) -> None:
    from fanzha.risk.evaluate import AP_TARGET

    for key, f in summary.items():
        if isinstance(f, dict):
            console.print(
                f"  {key} over {f['cities']} cities: mean {f['mean']:.3f}, min {f['min']:.3f}, "
                f"max {f['max']:.3f}, ≥ {AP_TARGET} on {f['at_least_target']} of {f['cities']}"
            )


def _show(console: Any, title: str, m: dict[str, Any]) -> None:
    keys = ("precision", "recall", "f1", "roc_auc", "average_precision", "brier", "ece")
    extra = {k: v for k, v in m.items() if k.startswith("average_precision_")}
    figures = " · ".join(f"{k} {m[k]:.3f}" for k in keys) + "".join(
        f" · {k} {v:.3f}" for k, v in extra.items()
    )
    console.print(
        f"[bold]{title}[/] ({m['rows']:,} rows, {m['positives']:,} positive, {m['method']}): {figures}"
    )
