"""``fanzha train|score|eval texts|urls``: fraud text and URL detection from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from fanzha.cli.groups import eval_app, score_app, train_app
from fanzha.cli.output import writable, writable_file

_DATA = typer.Option(..., "--data", help="CSV (.csv/.tsv) or JSON-lines (.jsonl) file")
_ENCODING = typer.Option("utf-8", "--encoding", help="file encoding (e.g. gb18030)")


def _spinner(description: str):
    from fanzha.cli.output import spinner

    progress = spinner()
    progress.add_task(description, total=None)
    return progress


def _columns(value: str, option: str = "--text-col") -> list[str]:
    from fanzha.errors import ConfigError

    names = [c.strip() for c in value.split(",") if c.strip()]
    if not names:
        raise ConfigError(f"{option} {value!r} names no column; give e.g. {option} text")
    return names


def register(app: typer.Typer) -> None:
    @train_app.command("texts")
    def train_texts(
        data: Path = _DATA,
        text_col: str = typer.Option("text", "--text-col", help="text column; several fields: title,text"),
        label_col: str = typer.Option("label", "--label-col", help="fraud flag (true/false) or fraud type"),
        out: Path = typer.Option(..., "--out", help="model folder to write"),
        solver: str = typer.Option("ensemble", "--type-solver", help="type head: lr | svm | ensemble"),
        encoding: str = _ENCODING,
    ) -> None:
        """Train a text detector on your own labelled texts (boolean label → fraud vs normal;
        multi-class label → fraud type, with a normal class when one is present)."""
        from rich.console import Console

        from fanzha.errors import ConfigError
        from fanzha.texts.detector import TextDetector
        from fanzha.texts.heads import SOLVERS
        from fanzha.texts.io import read_table

        fields = _columns(text_col)
        if label_col in fields:
            raise ConfigError(f"--label-col {label_col!r} is also a text column; name the label column")
        if solver not in SOLVERS:
            raise ConfigError(f"--type-solver {solver!r} is not one of {', '.join(SOLVERS)}")
        writable(out, "the model")
        frame = read_table(data, [*fields, label_col], encoding=encoding)
        detector = TextDetector(fields=tuple(fields), type_solver=solver)
        with _spinner(f"training on {len(frame):,} texts"):
            detector.fit(
                frame[fields] if len(fields) > 1 else frame[fields[0]].tolist(), frame[label_col].tolist()
            )
        detector.save(out)
        meta = detector.meta_.metrics
        Console().print(
            f"saved {out}: {meta['kind']} model, {len(frame):,} texts, {meta['n_features']:,} n-grams, "
            f"types: {', '.join(meta['types'])}"
        )

    @score_app.command("texts")
    def score_texts(
        data: Path = _DATA,
        text_col: str = typer.Option("text", "--text-col", help="text column (several fields: title,text)"),
        out: Path = typer.Option(..., "--out", help="CSV to write"),
        model: Path | None = typer.Option(None, "--model", help="model folder; default: the shipped model"),
        id_col: str | None = typer.Option(None, "--id-col", help="column copied into the output as id"),
        encoding: str = _ENCODING,
    ) -> None:
        """Score texts: row, probability, tier, fraud_type, type_probability, reasons."""
        from rich.console import Console

        from fanzha.texts.io import read_table

        fields = _columns(text_col)
        writable_file(out, "the scores")
        frame = read_table(data, [*fields, *([id_col] if id_col else [])], encoding=encoding)
        with _spinner("loading model"):
            detector = _load_text_model(model)
        if len(fields) > 1 and len(fields) != len(detector.fields):
            from fanzha.errors import ConfigError

            raise ConfigError(f"the model reads the fields {detector.fields}; --text-col gave {fields}")
        if len(fields) > 1:  # the file's columns, in the model's field order
            table = frame[fields].set_axis(list(detector.fields), axis=1)
            texts = table
        else:  # one column: the model's main field
            texts = frame[fields[0]].tolist()
        with _spinner(f"scoring {len(frame):,} texts"):
            scored = detector.score(texts)
        _write_scores(scored, frame[id_col] if id_col else None, out)
        flagged = int((scored["probability"] >= 0.5).sum())
        Console().print(f"wrote {out}: {len(scored):,} rows, {flagged:,} flagged as fraud (p ≥ 0.5)")

    @train_app.command("urls")
    def train_urls(
        data: Path = _DATA,
        url_col: str = typer.Option("url", "--url-col", help="URL or host column"),
        label_col: str = typer.Option("label", "--label-col", help="1/0, true/false, phishing/legitimate"),
        out: Path = typer.Option(..., "--out", help="model folder to write"),
        block: list[Path] = typer.Option([], "--block", help="block-list file(s), one host a line"),
        allow: list[Path] = typer.Option([], "--allow", help="allow-list file(s), one host a line"),
        encoding: str = _ENCODING,
    ) -> None:
        """Train a URL / domain risk model on your own labelled URLs (lists are stored with it)."""
        from rich.console import Console

        from fanzha.texts.io import read_table
        from fanzha.texts.urls import UrlDetector

        if label_col == url_col:
            from fanzha.errors import ConfigError

            raise ConfigError(f"--label-col {label_col!r} is also the URL column; name the label column")
        writable(out, "the model")
        frame = read_table(data, [url_col, label_col], encoding=encoding)
        detector = UrlDetector()
        with _spinner(f"training on {len(frame):,} URLs"):
            detector.fit(frame[url_col].tolist(), frame[label_col].tolist())
        for f in block:
            detector.add_list_file(f, "block")
        for f in allow:
            detector.add_list_file(f, "allow")
        detector.save(out)
        Console().print(
            f"saved {out}: {len(frame):,} URLs, block list {len(detector.block_):,}, allow list {len(detector.allow_):,}"
        )

    @score_app.command("urls")
    def score_urls(
        data: Path = _DATA,
        url_col: str = typer.Option("url", "--url-col", help="URL or host column"),
        out: Path = typer.Option(..., "--out", help="CSV to write"),
        model: Path | None = typer.Option(None, "--model", help="model folder; default: the shipped model"),
        block: list[Path] = typer.Option([], "--block", help="extra block-list file(s)"),
        allow: list[Path] = typer.Option([], "--allow", help="extra allow-list file(s)"),
        id_col: str | None = typer.Option(None, "--id-col", help="column copied into the output as id"),
        encoding: str = _ENCODING,
    ) -> None:
        """Score URLs: row, probability, tier, host, brand, list_match, reasons."""
        from rich.console import Console

        from fanzha.texts.io import read_table

        writable_file(out, "the scores")
        frame = read_table(data, [url_col, *([id_col] if id_col else [])], encoding=encoding)
        with _spinner("loading model"):
            detector = _load_url_model(model)
        for f in block:
            detector.add_list_file(f, "block")
        for f in allow:
            detector.add_list_file(f, "allow")
        with _spinner(f"scoring {len(frame):,} URLs"):
            scored = detector.score(frame[url_col].tolist())
        _write_scores(scored, frame[id_col] if id_col else None, out)
        invalid = int(scored["probability"].isna().sum())
        Console().print(
            f"wrote {out}: {len(scored):,} rows, {int((scored['probability'] >= 0.5).sum()):,} risky (p ≥ 0.5)"
            + (f", {invalid:,} invalid URLs (reason invalid_url)" if invalid else "")
        )

    @eval_app.command("texts")
    def eval_texts(
        data_dir: Path = typer.Option(Path("../shared/data"), "--data-dir", help="the shared data folder"),
        out: Path = typer.Option(Path("eval-texts.json"), "--out", help="JSON report to write"),
        folds: int = typer.Option(5, "--folds", min=2, help="cross-validation folds"),
        parts: str = typer.Option(
            "news,news_clean,dialogues,sms,default", "--parts", help="which evaluations"
        ),
        seed: int = typer.Option(0, "--seed", help="fixes the cross-validation folds (try others)"),
    ) -> None:
        """Cross-validated news types, dialogue windows, SMS sets, and the default model's recall."""
        from fanzha.texts.evaluate import eval_texts as run

        _run_eval(
            lambda progress: run(
                data_dir, folds=folds, parts=tuple(_columns(parts, "--parts")), progress=progress, seed=seed
            ),
            out,
        )

    @eval_app.command("urls")
    def eval_urls(
        data_dir: Path = typer.Option(Path("../shared/data"), "--data-dir", help="the shared data folder"),
        out: Path = typer.Option(Path("eval-urls.json"), "--out", help="JSON report to write"),
        folds: int = typer.Option(5, "--folds", min=2, help="cross-validation folds"),
        parts: str = typer.Option("phishing,tw165,default", "--parts", help="which evaluations"),
    ) -> None:
        """Cross-validated phishing URLs and 165 scam sites vs the allow list, and the default model."""
        from fanzha.texts.evaluate import eval_urls as run

        _run_eval(
            lambda progress: run(
                data_dir, folds=folds, parts=tuple(_columns(parts, "--parts")), progress=progress
            ),
            out,
        )


def _run_eval(run, out: Path) -> None:
    import json

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from fanzha.texts.evaluate import write_json

    writable_file(out, "the report")
    console = Console()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("evaluating", total=None)
        result = run(lambda message: bar.update(task, description=message))
    write_json(result, out)
    console.print_json(json.dumps(_headline(result), ensure_ascii=False))
    console.print(f"full report: {out}")


def _headline(result: dict) -> dict:
    """The main figures only (the JSON file has per-class and per-fold detail)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "per_class_f1" and not k.endswith("_std")}
        return value

    return strip(result)


def _load_text_model(path: Path | None):
    from fanzha.errors import ModelError
    from fanzha.texts.default import default_text_detector
    from fanzha.texts.detector import TextDetector

    if path is None:
        return default_text_detector()
    from fanzha.cli.output import load_detector

    model = load_detector(TextDetector, path)
    if not isinstance(model, TextDetector):
        raise ModelError(f"{path} is not a text model")
    return model


def _load_url_model(path: Path | None):
    from fanzha.texts.default import default_url_detector
    from fanzha.texts.urls import UrlDetector

    if path is None:
        return default_url_detector()
    from fanzha.cli.output import load_detector

    return load_detector(UrlDetector, path)


def _write_scores(scored, ids, out: Path) -> None:
    from fanzha.detect.contract import reasons_text

    table = scored.copy()
    table.insert(0, "row", range(len(table)))
    if ids is not None:
        table["id"] = list(ids)
    else:
        table = table.drop(columns=["id"])
    table["reasons"] = [reasons_text(r) for r in table["reasons"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, encoding="utf-8")
