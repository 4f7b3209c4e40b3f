"""The text detector: types, fraud probability, reasons, bad inputs, save / load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fanzha.detect.contract import SCORE_COLUMNS, Detector
from fanzha.errors import ModelError, NotFoundError, ValidationError
from fanzha.texts.detector import TextDetector, top_phrases
from fanzha.texts.labels import plan_labels


def test_scores_types_and_probability(tiny_detector: TextDetector) -> None:
    scored = tiny_detector.score(
        ["兼职刷单返利，日结佣金", "这里是公安局，你涉嫌洗钱，转到安全账户", "今晚回家吃饭"]
    )
    assert list(scored.columns[:4]) == list(SCORE_COLUMNS)
    assert list(scored["fraud_type"]) == ["brushing_rebate", "impersonate_officials", "normal"]
    assert (
        scored["probability"][0] > 0.5 and scored["probability"][1] > 0.5 and scored["probability"][2] < 0.5
    )


def test_reasons_quote_the_driving_phrases(tiny_detector: TextDetector) -> None:
    result = tiny_detector.score_text("急招兼职：刷 单 返 利，加v信")
    assert result.fraud_type == "brushing_rebate"
    codes = [r.code for r in result.reasons]
    assert codes[0] == "fraud_type"
    phrases = [str(r.value) for r in result.reasons if r.code == "phrase"]
    assert any("刷单" in p or "返利" in p for p in phrases)
    assert all(r.weight > 0 for r in result.reasons if r.code == "phrase")


def test_single_text_path_matches_batch(tiny_detector: TextDetector) -> None:
    texts = ["刷单返利日结", "公安局通知你涉嫌洗钱", "周末爬山"]
    batch = tiny_detector.score(texts)
    for text, p in zip(texts, batch["probability"], strict=True):
        assert tiny_detector.score_text(text).probability == pytest.approx(p, abs=1e-9)


def test_top_phrases_merges_overlapping_ngrams() -> None:
    grams = np.array(["刷单", "单返", "返利", "吃饭"], dtype=object)
    reasons = top_phrases(grams, np.array([0.5, 0.2, 0.4, -0.3]), 3, text="兼职刷单返利,吃饭")
    assert reasons[0].value == "刷单返利"
    assert reasons[0].weight == pytest.approx(1.1)
    assert len(reasons) == 1  # 吃饭 pushes towards normal: not a fraud reason


def test_boolean_labels_train_fraud_vs_normal(tiny_corpus: tuple[list[str], list[str]]) -> None:
    texts, labels = tiny_corpus
    flags = [lab != "normal" for lab in labels]
    model = TextDetector(min_df=1).fit(texts, flags)
    assert model.plan_.kind == "binary" and model.type_head_ is None
    scored = model.score(["刷单返利佣金日结", "明天开会"])
    assert scored["probability"][0] > 0.5 > scored["probability"][1]
    assert scored["fraud_type"][0] == "fraud"


def test_type_only_labels_take_every_text_as_fraud(tiny_corpus: tuple[list[str], list[str]]) -> None:
    texts, labels = tiny_corpus
    keep = [i for i, lab in enumerate(labels) if lab != "normal"]
    model = TextDetector(min_df=1, type_solver="svm").fit([texts[i] for i in keep], [labels[i] for i in keep])
    scored = model.score(["公安局说我涉嫌洗钱"])
    assert scored["probability"][0] == 1.0
    assert scored["fraud_type"][0] == "impersonate_officials"
    assert scored["reasons"][0][0]["code"] == "type_only_model"


def test_bad_inputs_give_clear_errors(tiny_detector: TextDetector) -> None:
    with pytest.raises(ValidationError, match="empty"):
        tiny_detector.score_text("   ")
    with pytest.raises(ValidationError, match="one string"):
        tiny_detector.score("刷单")
    with pytest.raises(ValidationError, match="no 'text' column"):
        tiny_detector.score(pd.DataFrame({"content": ["x"]}))
    with pytest.raises(ValidationError, match="UTF-8"):
        tiny_detector.score([b"\xff\xfe\xfa"])
    with pytest.raises(ValidationError, match="missing"):
        TextDetector().fit(["刷单", None], ["fraud", "normal"])
    with pytest.raises(ModelError, match="two classes"):
        TextDetector().fit(["a", "b"], ["x", "x"])
    with pytest.raises(ValidationError, match="empty"):
        TextDetector().fit(["刷单", " "], ["fraud", "normal"])
    with pytest.raises(ModelError, match="not fitted"):
        TextDetector().score(["x"])


def test_empty_text_in_batch_is_rejected_with_a_reason(tiny_detector: TextDetector) -> None:
    scored = tiny_detector.score(["刷单返利", ""])
    assert np.isnan(scored["probability"][1])
    assert scored["reasons"][1][0]["code"] == "empty_text"
    assert scored["fraud_type"][1] == "" and pd.isna(scored["fraud_type_code"][1])  # no type for no text


def test_a_missing_text_in_batch_is_rejected_with_a_reason_not_the_whole_batch(
    tiny_detector: TextDetector,
) -> None:
    """A null text (JSONL ``"text": null`` or no such field) stopped the whole batch ("text of row 1
    is missing"), where an empty text or an unreadable URL is one row with a reason and NaN."""
    for missing in (None, float("nan"), pd.NA):
        scored = tiny_detector.score(
            pd.DataFrame({"id": ["a", "b", "c"], "text": ["刷单返利", missing, "开会"]})
        )
        assert list(scored["id"]) == ["a", "b", "c"] and scored["probability"][[0, 2]].notna().all()
        assert np.isnan(scored["probability"][1]) and scored["tier"][1] == "none"
        assert [r["code"] for r in scored["reasons"][1]] == ["empty_text"]


def test_save_load_round_trip(tiny_detector: TextDetector, tmp_path: Path) -> None:
    folder = tiny_detector.save(tmp_path / "m")
    loaded = Detector.load(folder)
    assert isinstance(loaded, TextDetector)
    texts = ["兼职刷单返利", "公安局安全账户", "回家吃饭"]
    pd.testing.assert_frame_equal(loaded.score(texts), tiny_detector.score(texts))
    with pytest.raises(NotFoundError):
        TextDetector.load(tmp_path / "nothing")


def test_title_and_body_fields() -> None:
    frame = pd.DataFrame(
        {
            "title": ["刷单诈骗", "冒充公安诈骗"] * 6,
            "text": ["宝妈在家做任务被骗", "接到电话说涉嫌洗钱"] * 6,
        }
    )
    labels = ["brushing_rebate", "impersonate_officials"] * 6
    model = TextDetector(fields=("title", "text"), min_df=1, type_solver="lr").fit(frame, labels)
    scored = model.score(pd.DataFrame({"title": ["刷单"], "text": ["做任务"]}))
    assert scored["fraud_type"][0] == "brushing_rebate"
    with pytest.raises(ValidationError, match="lacks the text field"):
        model.score(pd.DataFrame({"text": ["x"]}))


def test_label_plans() -> None:
    assert plan_labels(pd.Series(["true", "false", "true"])).kind == "binary"
    assert plan_labels(pd.Series([1, 0])).kind == "binary"
    plan = plan_labels(pd.Series(["正常", "刷单", "公检法"]))
    assert plan.kind == "types" and plan.has_normal and plan.types == ("公检法", "刷单")
    with pytest.raises(ValidationError, match="row 1"):
        plan_labels(pd.Series(["a", None, "b"]))


def test_a_model_of_another_kind_is_named_in_words(
    tmp_path: Path, tiny_corpus: tuple[list[str], list[str]]
) -> None:
    """Found by QA: `score numbers --model <a texts model>` said 'holds a TextDetector, not a
    GBDTDetector' after unpickling the whole file; now the commands, from meta.json, before reading it."""
    from fanzha.errors import ModelError
    from fanzha.risk.model import AccountDetector, NumberDetector
    from fanzha.texts.urls import UrlDetector

    texts, labels = tiny_corpus
    folder = TextDetector(min_df=1).fit(texts, labels).save(tmp_path / "texts")
    with pytest.raises(
        ModelError, match=r"holds a model of `fanzha train texts`, not of `fanzha train numbers`"
    ):
        NumberDetector.load(folder)
    for other in (AccountDetector, UrlDetector):
        with pytest.raises(ModelError, match=f"not of `fanzha train {other.name}`"):
            other.load(folder)
    assert isinstance(TextDetector.load(folder), TextDetector)
