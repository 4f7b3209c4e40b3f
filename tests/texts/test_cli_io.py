"""Files in and out: CSV / JSONL reading, the train / score commands, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fanzha.cli.main import app
from fanzha.errors import InputFileError
from fanzha.settings import Settings
from fanzha.texts.io import read_table

runner = CliRunner()


def _write_training(tmp_path: Path, corpus: tuple[list[str], list[str]]) -> Path:
    texts, labels = corpus
    path = tmp_path / "train.csv"
    pd.DataFrame({"content": texts, "kind": labels}).to_csv(path, index=False)
    return path


def test_read_csv_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"text": "你好", "label": true}\n\n{"text": "刷单", "label": false}\n', "utf-8"
    )
    frame = read_table(tmp_path / "a.jsonl", ["text", "label"])
    assert list(frame["label"]) == ["true", "false"]
    (tmp_path / "b.jsonl").write_text('{"text": 1}\nnot json\n', "utf-8")
    with pytest.raises(InputFileError, match="line 2"):
        read_table(tmp_path / "b.jsonl")
    (tmp_path / "c.csv").write_bytes("text\n刷单返利\n".encode("gb18030"))
    with pytest.raises(InputFileError, match="encoding"):
        read_table(tmp_path / "c.csv")
    assert read_table(tmp_path / "c.csv", encoding="gb18030")["text"][0] == "刷单返利"
    with pytest.raises(InputFileError, match="its columns are: text"):
        read_table(tmp_path / "c.csv", ["content"], encoding="gb18030")
    with pytest.raises(InputFileError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_train_and_score_texts_cli(
    tmp_path: Path, tiny_corpus: tuple[list[str], list[str]], settings: Settings
) -> None:
    data = _write_training(tmp_path, tiny_corpus)
    model = tmp_path / "model"
    result = runner.invoke(
        app,
        [
            "train",
            "texts",
            "--data",
            str(data),
            "--text-col",
            "content",
            "--label-col",
            "kind",
            "--out",
            str(model),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((model / "meta.json").read_text("utf-8"))["name"] == "texts"
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app,
        [
            "score",
            "texts",
            "--model",
            str(model),
            "--data",
            str(data),
            "--text-col",
            "content",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)
    assert list(scores.columns[:2]) == ["row", "probability"]
    assert {"fraud_type", "reasons", "tier"} <= set(scores.columns)
    assert scores.loc[0, "fraud_type"] == "brushing_rebate"
    assert "phrase" in scores.loc[0, "reasons"]


def test_score_wrong_column_is_a_clear_error(
    tmp_path: Path, tiny_corpus: tuple[list[str], list[str]]
) -> None:
    from fanzha.cli.main import main

    data = _write_training(tmp_path, tiny_corpus)
    with pytest.raises(InputFileError, match="no column"):
        runner.invoke(
            app,
            ["score", "texts", "--data", str(data), "--text-col", "body", "--out", str(tmp_path / "o.csv")],
            catch_exceptions=False,
        )
    assert callable(main)


def test_train_and_score_urls_cli(tmp_path: Path, settings: Settings) -> None:
    from fanzha.texts.urlcorpus import generate_url_corpus

    data = tmp_path / "urls.csv"
    generate_url_corpus(n=300).to_csv(data, index=False)
    block = tmp_path / "block.txt"
    block.write_text("||zhihu.com^\n", "utf-8")
    model = tmp_path / "um"
    result = runner.invoke(
        app, ["train", "urls", "--data", str(data), "--out", str(model), "--block", str(block)]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "u.csv"
    result = runner.invoke(
        app, ["score", "urls", "--model", str(model), "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)
    assert {"row", "probability", "host", "brand", "list_match", "reasons"} <= set(scores.columns)
    zhihu = scores[scores["host"].str.endswith("zhihu.com", na=False)]
    assert (zhihu["probability"] == 0.99).all()


def test_piped_output_holds_no_spinner_frames(tmp_path: Path, settings: Settings) -> None:
    """Found by QA: piped, `score texts` left its spinners' last frames ('⠋ loading model 0:00:04')
    on stdout before its one line."""
    data = tmp_path / "t.csv"
    data.write_text("content\n快来刷单返利日赚500\n", "utf-8")
    result = runner.invoke(
        app,
        ["score", "texts", "--data", str(data), "--text-col", "content", "--out", str(tmp_path / "o.csv")],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote "), result.output
