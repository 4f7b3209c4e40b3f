"""Hostile-but-realistic inputs to the texts / URLs commands: clear one-line errors, never a
traceback, never a silent drop or a wrong answer (QA round)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fanzha.cli.main import app
from fanzha.errors import FanzhaError, InputFileError
from fanzha.settings import Settings
from fanzha.texts.io import read_table
from fanzha.texts.labels import plan_labels

runner = CliRunner()


def _clear(result, *needles: str) -> None:
    assert isinstance(result.exception, FanzhaError), (result.exit_code, result.output, result.exception)
    message = str(result.exception)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message


def _training(tmp_path: Path, corpus: tuple[list[str], list[str]]) -> Path:
    texts, labels = corpus
    path = tmp_path / "train.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def test_unknown_encoding_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text\n你好\n", "utf-8")
    with pytest.raises(InputFileError, match="bogus"):
        read_table(tmp_path / "a.csv", encoding="bogus")


def test_duplicate_header_names_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text,text,label\n刷单,返利,true\n", "utf-8")
    with pytest.raises(InputFileError, match="text"):
        read_table(tmp_path / "a.csv", ["text", "label"])


def test_empty_jsonl_says_it_is_empty(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("\n  \n", "utf-8")
    with pytest.raises(InputFileError, match=r"a\.jsonl has no data rows"):
        read_table(tmp_path / "a.jsonl", ["text"])


def test_fraud_flag_with_two_spellings_of_normal_is_binary() -> None:
    plan = plan_labels(pd.Series(["1", "0", "normal", "1"], dtype=object))
    assert plan.kind == "binary"
    assert plan.mapped == ("fraud", "normal", "normal", "fraud")
    # several fraud-side words are types, not one flag
    assert plan_labels(pd.Series(["phishing", "spam", "normal"])).kind == "types"


def test_empty_text_column_option(tmp_path: Path, tiny_corpus, settings: Settings) -> None:
    data = _training(tmp_path, tiny_corpus)
    result = runner.invoke(
        app, ["train", "texts", "--data", str(data), "--text-col", ",", "--out", str(tmp_path / "m")]
    )
    _clear(result, "--text-col")


def test_unknown_type_solver_is_rejected(tmp_path: Path, tiny_corpus, settings: Settings) -> None:
    texts, labels = tiny_corpus
    data = _training(tmp_path, ([*texts], ["true" if x != "normal" else "false" for x in labels]))
    result = runner.invoke(
        app, ["train", "texts", "--data", str(data), "--type-solver", "bogus", "--out", str(tmp_path / "m")]
    )
    _clear(result, "bogus")


def test_output_that_cannot_be_written(tmp_path: Path, tiny_corpus, settings: Settings) -> None:
    data = _training(tmp_path, tiny_corpus)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["train", "texts", "--data", str(data), "--out", str(blocker / "m")])
    _clear(result, "cannot write")
    model = tmp_path / "m"
    assert runner.invoke(app, ["train", "texts", "--data", str(data), "--out", str(model)]).exit_code == 0
    result = runner.invoke(
        app, ["score", "texts", "--data", str(data), "--model", str(model), "--out", str(blocker / "s.csv")]
    )
    _clear(result, "cannot write")


def test_eval_with_no_parts_or_unwritable_report(tmp_path: Path, settings: Settings) -> None:
    result = runner.invoke(app, ["eval", "urls", "--parts", ",", "--out", str(tmp_path / "r.json")])
    _clear(result, "--parts")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(
        app, ["eval", "urls", "--data-dir", str(tmp_path), "--out", str(blocker / "r.json")]
    )
    _clear(result, "cannot write")
