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


def _feats(url: str) -> dict[str, float]:
    from fanzha.texts.urllex import FEATURES, parse_url, url_features

    return dict(zip(FEATURES, url_features(parse_url(url))[0], strict=True))


def test_idn_host_is_one_host_in_unicode_and_punycode() -> None:
    from fanzha.texts.urllex import parse_url

    assert parse_url("http://аррӏе.com/login").host == parse_url("http://xn--80ak6aa92e.com/login").host
    assert _feats("http://аррӏе.com/login") == _feats("http://XN--80AK6AA92E.com/login")
    assert _feats("中国银行.中国")["punycode"] == 1.0


def test_idn_list_entries_match_either_form() -> None:
    from fanzha.texts.urls import HostList

    allow = HostList()
    allow.add("*.中国银行.中国")
    assert allow.match("www.xn--fiqs8s856bruk.xn--fiqs8s") is not None


def test_ipv6_host_is_an_ip() -> None:
    assert _feats("http://[2001:db8::1]:8080/a")["is_ip"] == 1.0
    from fanzha.texts.urllex import parse_url

    assert parse_url("http://[2001:db8::1]:8080/a").registered == "2001:db8::1"


def test_host_with_an_empty_label_is_invalid() -> None:
    from fanzha.errors import ValidationError
    from fanzha.texts.urllex import parse_url

    with pytest.raises(ValidationError, match=r"a\.\.b\.com"):
        parse_url("http://a..b.com/x")


def test_every_text_score_carries_reasons(tiny_detector) -> None:
    texts = ["😀😀😀🎉", "！！！？？？。。。", "NaN", "妈妈今晚回家吃饭吗"]
    scored = tiny_detector.score(texts)
    assert scored["probability"].notna().all()
    assert all(len(r) >= 1 for r in scored["reasons"]), list(scored["reasons"])
    assert all(len(tiny_detector.score_text(t).reasons) >= 1 for t in texts)


def test_every_url_score_carries_reasons() -> None:
    from fanzha.texts.urlcorpus import generate_url_corpus
    from fanzha.texts.urls import UrlDetector

    corpus = generate_url_corpus(n=300)
    model = UrlDetector().fit(corpus["url"].tolist(), corpus["label"].tolist())
    urls = ["a.cn", "http://x.org", "https://www.example.com/", "b.com", "http://qq.cn/a"]
    scored = model.score(urls)
    assert all(len(r) >= 1 for r in scored["reasons"]), list(zip(urls, scored["reasons"], strict=True))


def test_blank_line_inside_a_csv_is_a_row(tmp_path: Path) -> None:
    """One text per line: a blank line is an empty text (scored with reason empty_text), not a line
    dropped in silence that shifts every later row number; blank lines at the end are no rows."""
    (tmp_path / "a.csv").write_text("text\nA\n\nB\n\n\n", "utf-8")
    assert read_table(tmp_path / "a.csv", ["text"])["text"].tolist() == ["A", "", "B"]
    (tmp_path / "b.csv").write_text("id,text\n1,A\n\n2,B\n", "utf-8")
    assert read_table(tmp_path / "b.csv", ["text"])["id"].tolist() == ["1", "", "2"]


def test_jsonl_with_a_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes('\ufeff{"text": "刷单返利"}\n'.encode())
    assert read_table(tmp_path / "a.jsonl", ["text"])["text"].tolist() == ["刷单返利"]


def test_jsonl_object_or_list_where_text_is_expected(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"text": "刷单"}\n\n{"text": {"body": "刷单"}, "meta": [1]}\n', "utf-8"
    )
    with pytest.raises(InputFileError, match="line 3"):
        read_table(tmp_path / "a.jsonl", ["text"])
    assert len(read_table(tmp_path / "a.jsonl")) == 2  # only the columns asked for are checked


def test_more_folds_than_examples_is_a_clear_error() -> None:
    import numpy as np

    from fanzha.errors import ConfigError
    from fanzha.texts.evaluate import cross_validate

    y = np.array([0, 1] * 5)
    with pytest.raises(ConfigError, match="--folds 50"):
        cross_validate(lambda: None, list(range(10)), y, lambda m, x, t: {}, folds=50)
    with pytest.raises(ConfigError, match="--folds 8"):
        cross_validate(
            lambda: None, list(range(10)), y, lambda m, x, t: {}, folds=8, groups=np.arange(10) // 2
        )


def test_label_column_that_is_a_text_column(tmp_path: Path, tiny_corpus, settings: Settings) -> None:
    data = _training(tmp_path, tiny_corpus)
    args = ["train", "texts", "--data", str(data), "--text-col", "text", "--label-col", "text"]
    _clear(runner.invoke(app, [*args, "--out", str(tmp_path / "m")]), "--label-col")
    args = ["train", "urls", "--data", str(data), "--url-col", "text", "--label-col", "text"]
    _clear(runner.invoke(app, [*args, "--out", str(tmp_path / "u")]), "--label-col")


def test_missing_value_markers_are_not_labels() -> None:
    """Files exported by pandas / Excel write a missing label as NaN / None / #N/A: that is no
    fraud type (a flag column with two NaN rows became a types model with types NaN, None, true)."""
    from fanzha.errors import ValidationError

    for marker in ("NaN", "nan", "None", "NULL", "#N/A", " n/a "):
        with pytest.raises(ValidationError, match="row 2"):
            plan_labels(pd.Series(["true", "false", marker], dtype=object))


def test_hosts_as_a_browser_reads_them() -> None:
    """A backslash ends the host in a browser (http://evil.xyz\\@bank.com opens evil.xyz): reading
    bank.com there let a phishing URL through an allow list."""
    from fanzha.errors import ValidationError
    from fanzha.texts.urllex import parse_url

    assert parse_url("http://evil.xyz\\@bank.com/login").host == "evil.xyz"
    assert parse_url("//evil.xyz/a").host == "evil.xyz"
    for bad in ("http://bank.com%40evil.xyz/", "http://x.com，"):
        with pytest.raises(ValidationError, match="host"):
            parse_url(bad)


def test_a_clipped_long_text_says_so(tiny_detector) -> None:
    """Beyond max_chars only the head and the tail are read: the score says so, not in silence."""
    long_text = "妈妈今晚回家吃饭吗" * 2000  # 18,000 characters
    scored = tiny_detector.score([long_text, "妈妈今晚回家吃饭吗"])
    codes = [[r["code"] for r in rs] for rs in scored["reasons"]]
    assert "long_text" in codes[0] and "long_text" not in codes[1]
    assert "long_text" in [r.code for r in tiny_detector.score_text(long_text).reasons]


def test_jsonl_numbers_are_read_as_written(tmp_path: Path) -> None:
    """A JSON number in a column with a missing value went through float: the text 13800138000
    became '13800138000.0' and an id 7 became '7.0' (QA round)."""
    (tmp_path / "a.jsonl").write_text(
        '{"text": 13800138000, "id": 7, "label": true}\n{"id": 8, "label": false}\n'
        '{"text": "退款", "id": 9007199254740993, "label": 1.5}\n',
        "utf-8",
    )
    frame = read_table(tmp_path / "a.jsonl", ["text", "id", "label"])
    assert frame["text"][0] == "13800138000" and pd.isna(frame["text"][1]) and frame["text"][2] == "退款"
    assert list(frame["id"]) == ["7", "8", "9007199254740993"]
    assert list(frame["label"]) == ["true", "false", "1.5"]


@pytest.mark.parametrize("name", ["a.csv", "a.jsonl"])
def test_undecodable_byte_is_named_where_it_is(tmp_path: Path, name: str) -> None:
    """The byte offset was counted inside the reader's chunk ('byte 0' for a byte on line 20,002),
    so the message pointed at the start of the file (QA round)."""
    line = '{"text": "正常文本"}\n' if name.endswith("jsonl") else "正常文本\n"
    head = b"" if name.endswith("jsonl") else b"text\n"
    data = head + (line * 20000).encode() + b"\xff\xfe bad\n"
    (tmp_path / name).write_bytes(data)
    with pytest.raises(InputFileError) as caught:
        read_table(tmp_path / name)
    message = str(caught.value)
    at = data.index(b"\xff")
    assert f"byte {at} (line {data[:at].count(10) + 1})" in message, message
    assert "--encoding" in message


def test_an_encoding_the_file_does_not_start_with_is_a_clear_error(tmp_path: Path) -> None:
    """--encoding utf-16 on a file without a byte order mark was a traceback (UnicodeError)."""
    (tmp_path / "a.csv").write_bytes("text\n刷单\n".encode())
    with pytest.raises(InputFileError, match=r"not valid utf-16 text .*--encoding"):
        read_table(tmp_path / "a.csv", encoding="utf-16")
