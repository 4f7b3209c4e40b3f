"""Evaluation of the text and URL detectors on the public data sets in ../shared/data (评估).

Every figure is cross-validated (stratified k-fold, folds fixed by ``seed``) where a set has no test
split; the dialogue windows are also evaluated across sets (train on eval0902, test on eval0819 and
back), which is the harder and more honest figure because windows of one conversation overlap.
The shipped default model, trained only on the project's own corpus, is scored on the real fraud
texts it never saw: its recall there, and its false-positive rate on the real normal texts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fanzha.detect.folds import stratified_group_folds
from fanzha.errors import NotFoundError
from fanzha.texts.detector import TextDetector
from fanzha.texts.labels import NORMAL
from fanzha.texts.turns import DIALOGUE_TURN_WEIGHT

GENERIC_NEWS_LABEL = "诈骗"


# ------------------------------------------------------------------ data sets
def _need(path: Path) -> Path:
    if not path.exists():
        raise NotFoundError(f"{path} not found; pass --data-dir pointing at the shared data folder")
    return path


def load_news(data_dir: Path) -> pd.DataFrame:
    """``title, text, label`` of the fraud news articles (13 labels incl. the generic 诈骗)."""
    frame = pd.read_csv(_need(data_dir / "fraud-news" / "news_train.csv"), dtype=str, keep_default_na=False)
    frame["title"] = frame["title"].fillna("")
    return frame[frame["text"].str.strip() != ""].reset_index(drop=True)


def load_dialogues(data_dir: Path, name: str) -> pd.DataFrame:
    frame = pd.read_json(_need(data_dir / "fraud-dialogues" / f"{name}.jsonl"), lines=True)
    out = pd.DataFrame({"text": frame["input"].fillna("").astype(str), "label": frame["label"].astype(bool)})
    return out[out["text"].str.strip() != ""].reset_index(drop=True)  # a few windows are empty


def load_sms5(data_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(_need(data_dir / "fraud-sms" / "sms5_utf8.csv"), dtype=str, keep_default_na=False)
    frame = frame[frame["content"].str.strip() != ""]
    return pd.DataFrame({"text": frame["content"], "label": frame["label_name"]}).reset_index(drop=True)


def load_sms8(data_dir: Path) -> pd.DataFrame:
    """The 7 fraud classes of the 8-class set plus the normal SMS of the 5-class set as class 0."""
    parts = []
    for k in range(1, 8):
        f = pd.read_csv(
            _need(data_dir / "fraud-sms" / f"sms8_label{k}-new1030.csv"), dtype=str, keep_default_na=False
        )
        parts.append(pd.DataFrame({"text": f["content"], "label": f["label"].astype(str)}))
    normal = load_sms5(data_dir)
    parts.append(pd.DataFrame({"text": normal.loc[normal["label"] == "正常", "text"], "label": "0"}))
    frame = pd.concat(parts, ignore_index=True)
    return frame[frame["text"].str.strip() != ""].reset_index(drop=True)


def load_phishing(data_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(_need(data_dir / "phishing-urls" / "urls_train.csv"), dtype=str)
    return pd.DataFrame({"url": frame["url"], "label": (frame["status"] == "phishing").astype(int)})


def load_tw165_hosts(data_dir: Path) -> pd.DataFrame:
    """Scam-site hosts reported to 165 (label 1) against the AdGuard allow-list domains (label 0)."""
    scam = pd.read_csv(_need(data_dir / "tw165" / "tw165_scam_websites_train.csv"), dtype=str)
    hosts = scam["host"].fillna(scam["url"]).str.strip().str.lower().dropna().drop_duplicates()
    allow = []
    for line in _need(data_dir / "tw165" / "allowlist_adguard.txt").read_text("utf-8").splitlines():
        s = line.strip()
        if s.startswith("@@||"):  # @@||host^$modifiers: the host, without AdGuard's separators
            host = re.split(r"[\^$/]", s[4:], maxsplit=1)[0].lower()
            if "*" not in host:  # a wildcard rule names no one host
                allow.append(host)
    allow_hosts = pd.Series(allow).drop_duplicates()
    allow_hosts = allow_hosts[allow_hosts.str.contains(r"\.", regex=True)]
    frame = pd.concat(
        [pd.DataFrame({"url": hosts, "label": 1}), pd.DataFrame({"url": allow_hosts, "label": 0})]
    )
    return frame.drop_duplicates("url").reset_index(drop=True)


# -------------------------------------------------------------------- metrics
def _round(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(float(v), 4) if isinstance(v, float | np.floating) else v) for k, v in d.items()}


def class_metrics(y_true: list[str], y_pred: list[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(y_true))
    per = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class_f1": {lab: round(float(f), 4) for lab, f in zip(labels, per, strict=True)},
    }


def binary_metrics(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    pred = (prob >= threshold).astype(int)
    y = np.asarray(y_true).astype(int)
    out = {
        "accuracy": accuracy_score(y, pred),
        "f1": f1_score(y, pred, zero_division=0),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
    }
    if len(set(y)) == 2:
        out["roc_auc"] = roc_auc_score(y, prob)
    return _round(out)


def _check_folds(folds: int, units: int, what: str) -> None:
    """Each fold needs at least one test unit (an example, or a group kept whole)."""
    from fanzha.errors import ConfigError

    if folds > units:
        raise ConfigError(f"--folds {folds} is more than the {units} {what} of this set; use at most {units}")


def _summarise(folds: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in folds[0].items() if isinstance(v, float | int) and not isinstance(v, bool)]
    out: dict[str, Any] = {k: round(float(np.mean([f[k] for f in folds])), 4) for k in keys}
    out.update({f"{k}_std": round(float(np.std([f[k] for f in folds])), 4) for k in keys})
    out["folds"] = len(folds)
    if "per_class_f1" in folds[0]:
        classes = folds[0]["per_class_f1"]
        out["per_class_f1"] = {
            c: round(float(np.mean([f["per_class_f1"].get(c, 0) for f in folds])), 4) for c in classes
        }
    return out


def cross_validate(
    make: Callable[[], Any],
    X: pd.DataFrame | list[str],
    y: np.ndarray,
    evaluate: Callable[[Any, Any, np.ndarray], dict[str, Any]],
    *,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Stratified k-fold: fit ``make()`` on k-1 folds, ``evaluate(model, X_test, y_test)`` on the rest.

    With ``groups`` (e.g. the conversation a window comes from) a group never spans train and test."""
    from sklearn.model_selection import StratifiedKFold

    _check_folds(
        folds,
        len(y) if groups is None else len(np.unique(groups)),
        "groups" if groups is not None else "examples",
    )
    results = []
    if groups is None:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    else:
        splits = stratified_group_folds(y, groups, folds, seed)  # scikit-learn's folds, compiled
    for k, (train, test) in enumerate(splits, 1):
        model = make().fit(_take(X, train), y[train])
        results.append(evaluate(model, _take(X, test), y[test]))
        if progress:
            progress(f"fold {k}/{folds}")
    return _summarise(results)


def _take(X: pd.DataFrame | list[str], index: np.ndarray) -> Any:
    if isinstance(X, pd.DataFrame):
        return X.iloc[index].reset_index(drop=True)
    return [X[i] for i in index]


def _types_eval(model: TextDetector, X: Any, y: np.ndarray) -> dict[str, Any]:
    scored = model.score(X, explain=False)
    return class_metrics([str(v) for v in y], [str(v) for v in scored["fraud_type"]])


def _binary_eval(model: Any, X: Any, y: np.ndarray) -> dict[str, Any]:
    scored = model.score(X, explain=False) if isinstance(model, TextDetector) else model.score(X)
    return binary_metrics(np.asarray(y).astype(int), scored["probability"].fillna(0.0).to_numpy())


# ------------------------------------------------------------------ detectors
def news_detector() -> TextDetector:
    """The configuration used for long articles: title and body as two fields of equal weight, each
    its own L2-normalised n-gram space; a linear SVM type head (the LR + SVM ensemble was no better
    on the grouped folds and 4–5× slower to train; a title weight of 0.5 cost 0.015–0.02 macro-F1
    on three different fold partitions — docs/texts.md)."""
    return TextDetector(fields=("title", "text"), field_weights=(1.0, 1.0), type_solver="svm", C=20.0)


def short_text_detector() -> TextDetector:
    return TextDetector(solver="lr", type_solver="ensemble", C=20.0)


# ----------------------------------------------------------------- evaluations
def clean_duplicates(frame: pd.DataFrame, text_col: str = "text") -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop texts that occur under more than one label (label noise: no model can get both right) and
    repeated copies of a text under its one label (they would sit in both train and test folds)."""
    labels_per_text = frame.groupby(text_col)["label"].transform("nunique")
    conflicting = labels_per_text > 1
    kept = frame[~conflicting].drop_duplicates(text_col)
    stats = {
        "conflicting_rows_dropped": int(conflicting.sum()),
        "repeat_rows_dropped": int((~conflicting).sum() - len(kept)),
    }
    return kept.reset_index(drop=True), stats


def eval_news(
    data_dir: Path,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
    *,
    clean: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Row-wise stratified CV (the first figure; identical texts can sit in train and test)."""
    news = load_news(data_dir)
    typed = news[news["label"] != GENERIC_NEWS_LABEL].reset_index(drop=True)
    stats: dict[str, int] = {}
    if clean:
        typed, stats = clean_duplicates(typed)
    y = typed["label"].to_numpy()
    out = cross_validate(
        news_detector, typed[["title", "text"]], y, _types_eval, folds=folds, seed=seed, progress=progress
    )
    out["rows"] = len(typed)
    out["classes"] = int(typed["label"].nunique())
    out["generic_label_rows_excluded"] = int((news["label"] == GENERIC_NEWS_LABEL).sum())
    out.update(stats)
    return out


def text_groups(texts: pd.Series) -> np.ndarray:
    """One group id per distinct article body (hash of the stripped text): copies share a group."""
    import hashlib

    return np.array([hashlib.sha1(t.strip().encode("utf-8")).hexdigest()[:16] for t in texts], dtype=object)


def any_label_truth(predicted: list[str], label_sets: list[tuple[str, ...]]) -> list[str]:
    """Truth for multi-label weak data: the predicted label when it is one of the text's labels, else
    its first label. Scoring a text right when it matches *any* of its labels is the honest reading
    of a text that the scrape filed under two keywords (no single answer can be more right)."""
    return [p if p in labels else labels[0] for p, labels in zip(predicted, label_sets, strict=True)]


def eval_news_grouped(
    data_dir: Path, folds: int = 5, progress: Callable[[str], None] | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """Group-aware CV: identical article texts, and texts under one title, never sit on both sides.

    Articles are grouped by a hash of their text; each distinct text is tested once, folds are
    stratified on its first label (StratifiedGroupKFold), training keeps every (text, label) pair of
    the training groups. A prediction counts as right when it matches any label of the text
    (``macro_f1``); ``macro_f1_first_label`` is the strict reading against the first label only.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    news = load_news(data_dir)
    typed = news[news["label"] != GENERIC_NEWS_LABEL].reset_index(drop=True)
    typed["group"] = text_groups(typed["text"])
    typed = typed.drop_duplicates(["group", "label"]).reset_index(drop=True)
    distinct = typed.groupby("group", sort=False).agg(
        title=("title", "first"), text=("text", "first"), labels=("label", lambda s: tuple(sorted(set(s))))
    )
    first = np.array([labels[0] for labels in distinct["labels"]], dtype=object)
    # texts under one title are versions of one story (reposts, light edits): kept in one fold too
    titles = distinct["title"].str.strip()
    story = np.where(titles.str.len() > 0, "title:" + titles, "text:" + distinct.index.to_series())
    _check_folds(folds, len(np.unique(story)), "stories")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    results = []
    for k, (train, test) in enumerate(splitter.split(np.zeros(len(distinct)), first, story), 1):
        rows = typed[typed["group"].isin(set(distinct.index[train]))].reset_index(drop=True)
        model = news_detector().fit(rows[["title", "text"]], rows["label"].to_numpy())
        held = distinct.iloc[test]
        predicted = [
            str(v)
            for v in model.score(held[["title", "text"]].reset_index(drop=True), explain=False)["fraud_type"]
        ]
        res = class_metrics(any_label_truth(predicted, list(held["labels"])), predicted)
        strict = class_metrics(list(first[test]), predicted)
        res["macro_f1_first_label"] = strict["macro_f1"]
        res["accuracy_first_label"] = strict["accuracy"]
        results.append(res)
        if progress:
            progress(f"fold {k}/{folds}")
    out = _summarise(results)
    out["rows"] = len(news[news["label"] != GENERIC_NEWS_LABEL])
    out["distinct_texts"] = len(distinct)
    out["texts_with_several_labels"] = int(sum(len(v) > 1 for v in distinct["labels"]))
    out["stories"] = len(set(story))
    out["classes"] = int(typed["label"].nunique())
    out["generic_label_rows_excluded"] = int((news["label"] == GENERIC_NEWS_LABEL).sum())
    return out


def dialogue_detector(turn_weight: float = 0.0) -> TextDetector:
    """The dialogue-window configuration: the short-text detector; ``turn_weight > 0`` adds the
    turn-structure features (``texts/turns.py``) to the fraud head — measured, not shipped."""
    return TextDetector(solver="lr", type_solver="ensemble", C=20.0, turn_weight=turn_weight)


def eval_dialogues(
    data_dir: Path,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
    *,
    seed: int = 0,
    turn_weight: float = 0.0,
) -> dict[str, Any]:
    """Conversation-grouped CV on each window set (folds fixed by ``seed``), and train-on-one /
    test-on-the-other. ``turn_weight``: see :func:`dialogue_detector`."""
    sets = {name: load_dialogues(data_dir, name) for name in ("eval0902", "eval0819")}
    out: dict[str, Any] = {"seed": seed, "turn_weight": turn_weight}
    for name, frame in sets.items():
        y = frame["label"].astype(int).to_numpy()
        groups = dialogue_groups(data_dir, frame["text"].tolist())
        out[f"cv_{name}"] = cross_validate(lambda: dialogue_detector(turn_weight), frame["text"].tolist(), y,
                                           _binary_eval, folds=folds, seed=seed, progress=progress,
                                           groups=groups)  # fmt: skip
        out[f"cv_{name}"]["rows"] = len(frame)
        out[f"cv_{name}"]["grouped_by_conversation"] = groups is not None
        if groups is not None:
            out[f"cv_{name}"]["conversations"] = len(set(groups))
    for train, test in (("eval0902", "eval0819"), ("eval0819", "eval0902")):
        model = dialogue_detector(turn_weight).fit(
            sets[train]["text"].tolist(), sets[train]["label"].tolist()
        )
        y = sets[test]["label"].astype(int).to_numpy()
        out[f"train_{train}_test_{test}"] = _binary_eval(model, sets[test]["text"].tolist(), y)
    return out


def window_utterances(window: str) -> list[str]:
    """The utterances of a ``speaker: words`` window, without the speaker names."""
    return [line.split(": ", 1)[-1].strip() for line in window.split("\n") if line.strip()]


def dialogue_groups(data_dir: Path, windows: list[str]) -> np.ndarray | None:
    """The conversation each window was cut from, or None when ``by_type`` is not there.

    Windows of one conversation overlap, so plain k-fold puts a conversation on both sides. Each
    utterance is looked up in ``fraud-dialogues/by_type/*.csv`` (file + ``case`` = conversation); a
    window belongs to the conversation most of its utterances come from (its own group if none)."""
    from collections import Counter

    folder = data_dir / "fraud-dialogues" / "by_type"
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        return None
    conversation: dict[str, str] = {}
    for f in files:
        frame = pd.read_csv(f, dtype=str, keep_default_na=False, usecols=["case", "content"])
        for case, content in zip(frame["case"], frame["content"].str.strip(), strict=True):
            conversation.setdefault(content, f"{f.stem}/{case}")
    out = []
    for i, window in enumerate(windows):
        found = Counter(conversation[u] for u in window_utterances(window) if u in conversation)
        out.append(found.most_common(1)[0][0] if found else f"window-{i}")
    return np.array(out, dtype=object)


def eval_sms(
    data_dir: Path, folds: int = 5, progress: Callable[[str], None] | None = None, *, seed: int = 0
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, frame in (("sms5", load_sms5(data_dir)), ("sms8", load_sms8(data_dir))):
        y = frame["label"].to_numpy()
        res = cross_validate(short_text_detector, frame["text"].tolist(), _normal_as(y), _types_eval, folds=folds,
                             seed=seed, progress=progress)  # fmt: skip
        res["rows"] = len(frame)
        out[name] = res
    return out


def _normal_as(y: np.ndarray) -> np.ndarray:
    """Normal labels (正常, 0) as ``normal`` so that predictions and truth use one name."""
    return np.array([NORMAL if str(v).strip() in ("正常", "0") else str(v) for v in y], dtype=object)


def eval_default_model(data_dir: Path, settings: Any = None) -> dict[str, Any]:
    """The shipped model (own corpus only) on real texts: recall on fraud, false positives on normal."""
    from fanzha import taxonomy
    from fanzha.texts.default import default_text_detector

    model = default_text_detector(settings)
    labels = taxonomy.dataset_labels()
    out: dict[str, Any] = {}
    news = load_news(data_dir)
    out["news_fraud"] = _recall(model, (news["title"] + "。" + news["text"]).tolist(),
                                [labels["fraud-news"][v] for v in news["label"]])  # fmt: skip
    for name in ("eval0902", "eval0819"):
        d = load_dialogues(data_dir, name)
        out[f"{name}_fraud"] = _recall(model, d.loc[d["label"], "text"].tolist(), None)
        out[f"{name}_normal"] = _false_positives(model, d.loc[~d["label"], "text"].tolist())
    sms5 = load_sms5(data_dir)
    fraud = sms5[sms5["label"] != "正常"]
    out["sms5_fraud"] = _recall(
        model, fraud["text"].tolist(), [labels["fraud-sms-5"][v] for v in fraud["label"]]
    )
    out["sms5_normal"] = _false_positives(model, sms5.loc[sms5["label"] == "正常", "text"].tolist())
    sms8 = load_sms8(data_dir)
    fraud8 = sms8[sms8["label"] != "0"]
    out["sms8_fraud"] = _recall(
        model, fraud8["text"].tolist(), [labels["fraud-sms-8"][v] for v in fraud8["label"]]
    )
    return out


def _recall(model: TextDetector, texts: list[str], codes: list[str] | None) -> dict[str, Any]:
    scored = model.score(texts, explain=False)
    flagged = scored["probability"].to_numpy() >= 0.5
    out: dict[str, Any] = {
        "rows": len(texts),
        "recall": round(float(flagged.mean()), 4),
        "recall_red_tier": round(float((scored["probability"].to_numpy() >= 0.9).mean()), 4),
    }
    if codes is not None:
        known = np.array([c not in ("other", NORMAL) for c in codes])
        predicted = scored["fraud_type_code"].to_numpy()
        hit = np.array([p == c for p, c in zip(predicted, codes, strict=True)])
        if known.any():
            out["type_accuracy_when_flagged"] = round(
                float(hit[known & flagged].mean()) if (known & flagged).any() else 0.0, 4
            )
            out["type_rows"] = int(known.sum())
    return out


def _false_positives(model: TextDetector, texts: list[str]) -> dict[str, Any]:
    scored = model.score(texts, explain=False)
    return {
        "rows": len(texts),
        "false_positive_rate": round(float((scored["probability"] >= 0.5).mean()), 4),
        "false_positive_rate_red_tier": round(float((scored["probability"] >= 0.9).mean()), 4),
    }


def eval_texts(
    data_dir: Path, *, folds: int = 5,
    parts: tuple[str, ...] = ("news", "news_clean", "dialogues", "sms", "default"),
    settings: Any = None, progress: Callable[[str], None] | None = None, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The chosen evaluations; ``seed`` fixes the cross-validation folds (another seed, another
    partition: a check that a figure does not depend on one split)."""
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "news": lambda: eval_news_grouped(data_dir, folds, progress, seed=seed),
        "news_rows": lambda: eval_news(data_dir, folds, progress, seed=seed),
        "news_clean": lambda: eval_news(data_dir, folds, progress, clean=True, seed=seed),
        "dialogues": lambda: eval_dialogues(data_dir, folds, progress, seed=seed),
        "dialogues_turns": lambda: eval_dialogues(
            data_dir, folds, progress, seed=seed, turn_weight=DIALOGUE_TURN_WEIGHT
        ),
        "sms": lambda: eval_sms(data_dir, folds, progress, seed=seed),
        "default": lambda: eval_default_model(data_dir, settings),
    }
    return _run(runners, parts, data_dir, folds, progress)


# ----------------------------------------------------------------------- URLs
def eval_urls(
    data_dir: Path, *, folds: int = 5, parts: tuple[str, ...] = ("phishing", "tw165", "default"),
    settings: Any = None, progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    from fanzha.texts.urls import UrlDetector

    def url_cv(frame: pd.DataFrame) -> dict[str, Any]:
        # no built-in allow list inside CV: it would score brand hosts by rule, not by the model
        res = cross_validate(lambda: UrlDetector(builtin_allow_list=False), frame["url"].tolist(),
                             frame["label"].to_numpy(), _binary_eval, folds=folds, progress=progress)  # fmt: skip
        res["rows"] = len(frame)
        res["positives"] = int(frame["label"].sum())
        return res

    def default() -> dict[str, Any]:
        from fanzha.texts.default import default_url_detector

        model = default_url_detector(settings)
        out = {}
        for name, frame in (("phishing", load_phishing(data_dir)), ("tw165", load_tw165_hosts(data_dir))):
            scored = model.score(frame["url"].tolist())
            out[name] = binary_metrics(
                frame["label"].to_numpy(), scored["probability"].fillna(0.0).to_numpy()
            )
        return out

    runners = {
        "phishing": lambda: url_cv(load_phishing(data_dir)),
        "tw165": lambda: url_cv(load_tw165_hosts(data_dir)),
        "default": default,
    }
    return _run(runners, parts, data_dir, folds, progress)


def _run(
    runners: dict[str, Callable[[], dict[str, Any]]],
    parts: tuple[str, ...],
    data_dir: Path,
    folds: int,
    progress: Callable[[str], None] | None,
) -> dict[str, Any]:
    unknown = [p for p in parts if p not in runners]
    if unknown:
        raise NotFoundError(f"unknown evaluation part(s) {unknown}; choose from {', '.join(runners)}")
    out: dict[str, Any] = {"data_dir": str(data_dir), "folds": folds}
    for part in parts:
        started = time.perf_counter()
        if progress:
            progress(f"evaluating {part}")
        out[part] = runners[part]()
        out[part]["seconds"] = round(time.perf_counter() - started, 1)
    return out


def write_json(result: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), "utf-8")
    return path
