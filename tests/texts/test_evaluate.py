"""Evaluation code on a tiny fake copy of the shared data layout; real data behind ``shared_data``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fanzha.texts import evaluate as ev

BRUSH = ["兼职刷单日结佣金{}", "刷单返利做任务{}"]
POLICE = ["公安局说你涉嫌洗钱{}", "安全账户资金清查{}"]
NORMAL = ["明天开会{}", "晚上回家吃饭{}"]


def _texts(templates: list[str], n: int) -> list[str]:
    return [templates[i % len(templates)].format(i) for i in range(n)]


@pytest.fixture
def fake_data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "fraud-news").mkdir(parents=True)
    news = pd.DataFrame(
        {
            "label": ["兼职刷单诈骗"] * 10 + ["投资诈骗"] * 10 + ["诈骗"] * 3,
            "title": [f"刷单{i}" for i in range(10)] + [f"投资理财{i}" for i in range(10)] + ["反诈"] * 3,
            "text": _texts(BRUSH, 10) + _texts(["投资平台稳赚{}", "理财导师带单{}"], 10) + _texts(NORMAL, 3),
        }
    )
    news.to_csv(root / "fraud-news" / "news_train.csv", index=False)
    (root / "fraud-dialogues").mkdir()
    for name in ("eval0902", "eval0819"):
        rows = [{"input": t, "label": True} for t in _texts(POLICE, 10)]
        rows += [{"input": t, "label": False} for t in _texts(NORMAL, 10)]
        rows.append({"input": "", "label": False})  # an empty window, dropped by the loader
        (root / "fraud-dialogues" / f"{name}.jsonl").write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8"
        )
    (root / "fraud-sms").mkdir()
    sms5 = pd.DataFrame(
        {
            "content": _texts(NORMAL, 12) + _texts(POLICE, 12),
            "label_name": ["正常"] * 12 + ["冒充公检法及政府机关类"] * 12,
            "label_id": [0] * 12 + [1] * 12,
        }
    )
    sms5.to_csv(root / "fraud-sms" / "sms5_utf8.csv", index=False)
    for k in range(1, 8):
        pd.DataFrame({"content": _texts(BRUSH if k % 2 else POLICE, 6), "label": k}).to_csv(
            root / "fraud-sms" / f"sms8_label{k}-new1030.csv", index=False
        )
    (root / "phishing-urls").mkdir()
    urls = [f"http://icbc-kefu{i}.top/login" for i in range(10)] + [
        f"https://www.site{i}.com/" for i in range(10)
    ]
    pd.DataFrame({"url": urls, "status": ["phishing"] * 10 + ["legitimate"] * 10}).to_csv(
        root / "phishing-urls" / "urls_train.csv", index=False
    )
    (root / "tw165").mkdir()
    hosts = [f"www.{i}bet.games" for i in range(10)]
    pd.DataFrame({"site_name": hosts, "url": hosts, "host": hosts, "report_count": 1}).to_csv(
        root / "tw165" / "tw165_scam_websites_train.csv", index=False
    )
    allow = "\n".join(
        ["! comment", "@@||medium-*.intercom-clicks.com^"]  # a wildcard rule names no host: skipped
        + [f"@@||news{i}.com.tw^" for i in range(9)]
        + ["@@||ledger.tool$important"]  # AdGuard modifiers are not part of the host
    )
    (root / "tw165" / "allowlist_adguard.txt").write_text(allow, "utf-8")
    return root


def test_metrics_on_known_answers() -> None:
    m = ev.class_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert m["accuracy"] == 0.75
    assert m["per_class_f1"] == {"a": pytest.approx(2 / 3, abs=1e-4), "b": pytest.approx(0.8, abs=1e-4)}
    b = ev.binary_metrics(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.2, 0.6]))
    assert (b["accuracy"], b["precision"], b["recall"]) == (0.5, 0.5, 0.5)
    assert b["roc_auc"] == 0.75


def test_text_evaluations_on_fake_data(fake_data: Path) -> None:
    result = ev.eval_texts(fake_data, folds=2, parts=("news", "dialogues", "dialogues_turns", "sms"))
    news = result["news"]
    assert news["classes"] == 2 and news["generic_label_rows_excluded"] == 3 and news["rows"] == 20
    assert news["macro_f1"] == 1.0
    assert result["dialogues"]["cv_eval0902"]["rows"] == 20
    assert result["dialogues"]["train_eval0902_test_eval0819"]["accuracy"] == 1.0
    assert (result["dialogues"]["turn_weight"], result["dialogues"]["seed"]) == (0.0, 0)
    turns = result["dialogues_turns"]
    assert turns["turn_weight"] == 0.1 and turns["cv_eval0902"]["rows"] == 20
    assert result["sms"]["sms5"]["macro_f1"] == 1.0
    assert result["sms"]["sms8"]["rows"] == 7 * 6 + 12
    path = ev.write_json(result, fake_data / "out" / "r.json")
    assert json.loads(path.read_text("utf-8"))["folds"] == 2


def test_the_seed_picks_the_fold_partition(fake_data: Path) -> None:
    assert ev.eval_texts(fake_data, folds=2, parts=("dialogues",), seed=3)["dialogues"]["seed"] == 3
    seen: dict[int, list[list[int]]] = {}

    class Probe:
        def fit(self, X: list[str], y: np.ndarray) -> Probe:
            seen.setdefault(seed, []).append(sorted(int(t) for t in X))
            return self

    X, y = [str(i) for i in range(40)], np.array([0, 1] * 20)
    for seed in (0, 1):
        ev.cross_validate(Probe, X, y, lambda m, Xt, yt: {}, folds=2, seed=seed)
    assert seen[0] != seen[1]  # another seed, another partition


def test_url_evaluations_on_fake_data(fake_data: Path) -> None:
    result = ev.eval_urls(fake_data, folds=2, parts=("phishing", "tw165"))
    assert result["phishing"]["rows"] == 20 and result["phishing"]["accuracy"] == 1.0
    assert result["tw165"]["positives"] == 10 and result["tw165"]["rows"] == 20
    assert "ledger.tool" in set(ev.load_tw165_hosts(fake_data)["url"])
    with pytest.raises(ev.NotFoundError):
        ev.eval_urls(fake_data, parts=("nope",))
    with pytest.raises(ev.NotFoundError, match="--data-dir"):
        ev.load_news(fake_data / "missing")


@pytest.mark.slow
def test_real_sms_sample_cross_validates(shared_data: Path) -> None:
    sms = ev.load_sms5(shared_data).groupby("label").head(80).reset_index(drop=True)  # 400 texts: a few s
    y = ev._normal_as(sms["label"].to_numpy())
    result = ev.cross_validate(ev.short_text_detector, sms["text"].tolist(), y, ev._types_eval, folds=3)
    assert result["macro_f1"] > 0.85


def test_clean_duplicates_drops_conflicting_and_repeated_texts() -> None:
    frame = pd.DataFrame({"text": ["a", "a", "b", "b", "c"], "label": ["x", "y", "x", "x", "y"]})
    kept, stats = ev.clean_duplicates(frame)
    assert kept["text"].tolist() == ["b", "c"]
    assert stats == {"conflicting_rows_dropped": 2, "repeat_rows_dropped": 1}


def test_any_label_truth_accepts_any_label_of_a_text() -> None:
    predicted = ["x", "y", "z"]
    truth = ev.any_label_truth(predicted, [("x", "y"), ("x", "y"), ("x",)])
    assert truth == ["x", "y", "x"]
    assert ev.class_metrics(truth, predicted)["accuracy"] == pytest.approx(2 / 3)


def test_text_groups_put_copies_together() -> None:
    groups = ev.text_groups(pd.Series(["同一篇文章 ", "同一篇文章", "另一篇"]))
    assert groups[0] == groups[1] != groups[2]


def test_grouped_news_never_tests_a_training_text(fake_data: Path) -> None:
    news = pd.read_csv(fake_data / "fraud-news" / "news_train.csv")
    copy = news.iloc[[0]].assign(label="投资诈骗")  # the same article filed under a second keyword
    pd.concat([news, copy]).to_csv(fake_data / "fraud-news" / "news_train.csv", index=False)
    result = ev.eval_texts(fake_data, folds=2, parts=("news",))["news"]
    assert result["rows"] == 21 and result["distinct_texts"] == 20
    assert result["texts_with_several_labels"] == 1
    assert result["macro_f1"] == 1.0 and result["macro_f1_first_label"] <= 1.0
    assert result["stories"] == 20  # the copy keeps its title: one story


def test_dialogue_groups_follow_the_source_conversation(tmp_path: Path) -> None:
    assert ev.dialogue_groups(tmp_path, ["张三: 你好"]) is None  # no by_type folder: plain k-fold
    folder = tmp_path / "fraud-dialogues" / "by_type"
    folder.mkdir(parents=True)
    rows = {"case": ["案例-0", "案例-0", "案例-1"], "speaker": ["甲", "乙", "丙"],
            "content": ["转到安全账户", "好的", "明天开会"], "is_fraud": [True, False, False]}  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "冒充客服诈骗(2).csv", index=False)
    windows = ["甲: 转到安全账户\n乙: 好的", "乙: 好的", "丙: 明天开会", "丁: 没见过的话"]
    groups = ev.dialogue_groups(tmp_path, windows)
    assert groups is not None
    assert groups[0] == groups[1] == "冒充客服诈骗(2)/案例-0"
    assert groups[2] == "冒充客服诈骗(2)/案例-1" and groups[3] == "window-3"
