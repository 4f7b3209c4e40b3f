"""The text detector (文本诈骗识别): fraud probability, fraud type, and the phrases behind them.

Two linear heads share one character n-gram TF-IDF space:

* the *fraud head* (fraud vs normal) gives the probability of fraud; it exists when the training
  labels include a normal class (正常 / normal / false / 0 …);
* the *type head* (which fraud type) is trained on the fraud rows only, so type and fraud are not
  confused with each other; it exists when there are at least two fraud types.

A boolean label trains only the fraud head; a label without a normal class (e.g. news articles that
are all fraud) trains only the type head, and every text is then taken as fraud (probability 1, with a
``type_only_model`` reason). Reasons are the n-grams with the largest contributions
``tfidf(x_j) · w_j`` to the decision, merged so that a phrase is not quoted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fanzha.detect.contract import DEFAULT_TIER_THRESHOLDS, Detector, Reason, score_frame, tier_of
from fanzha.errors import ModelError, ValidationError
from fanzha.texts.features import FieldSpace
from fanzha.texts.heads import LinearHead
from fanzha.texts.kernels import compiled_kernels
from fanzha.texts.labels import NORMAL, plan_labels, type_code, type_name
from fanzha.texts.normalise import (
    DEFAULT_MAX_CHARS,
    URL_TOKEN,
    normalise,
    normalise_many,
    readable,
)
from fanzha.texts.turns import TurnFeatures


@dataclass
class TextScore:
    """One scored text (the real-time path)."""

    probability: float
    tier: str
    fraud_type: str
    type_probability: float
    reasons: list[Reason] = field(default_factory=list)
    urls: tuple[str, ...] = ()


class TextDetector(Detector):
    """Character n-gram TF-IDF + linear heads. ``fit(texts, labels)``; ``score(texts)``."""

    name: ClassVar[str] = "texts"

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 2,
        max_features: int = 300_000,
        solver: str = "lr",
        type_solver: str = "ensemble",
        C: float = 10.0,
        svm_C: float = 0.5,
        class_weight: str | None = "balanced",
        max_chars: int = DEFAULT_MAX_CHARS,
        top_reasons: int = 4,
        thresholds: dict[str, float] | None = None,
        fields: tuple[str, ...] = ("text",),
        field_weights: tuple[float, ...] | None = None,
        turn_weight: float = 0.0,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.solver = solver
        self.type_solver = type_solver
        self.C = C
        self.svm_C = svm_C
        self.class_weight = class_weight
        self.max_chars = max_chars
        self.top_reasons = top_reasons
        self.thresholds = thresholds
        self.fields = tuple(fields)
        self.field_weights = field_weights
        self.turn_weight = turn_weight

    # ---------------------------------------------------------------- training
    def fit(self, X: Any, y: Any = None) -> Self:
        _, columns = field_columns(X, self.fields)
        texts = columns[-1]
        if y is None:
            raise ModelError("TextDetector.fit needs labels y (a fraud flag or a fraud type per text)")
        labels = pd.Series(list(y), dtype=object)
        if len(labels) != len(texts):
            raise ModelError(f"{len(texts)} texts but {len(labels)} labels")
        plan = plan_labels(labels)
        empty = [i for i, t in enumerate(texts) if not t.strip()]
        if empty:
            raise ValidationError(
                f"{len(empty)} training text(s) are empty (first: row {empty[0]}); drop or fill them",
                field="text",
            )
        normalised = [normalise_many(col, max_chars=self.max_chars) for col in columns]
        weights = self.field_weights or (1.0,) * len(self.fields)  # equal: see evaluate.news_detector
        self.vectoriser_ = FieldSpace(self.fields, weights, self.ngram_range, self.min_df, self.max_features)
        matrix = self.vectoriser_.fit(normalised).transform(normalised)
        self.plan_ = plan
        self.fraud_head_: LinearHead | None = None
        self.type_head_: LinearHead | None = None
        self.turns_: TurnFeatures | None = None
        mapped = np.array(plan.mapped, dtype=object)
        is_fraud = mapped != NORMAL
        if plan.has_normal:
            if self.turn_weight > 0:  # conversation windows: turn-structure columns (texts/turns.py)
                self.turns_ = TurnFeatures(self.turn_weight).fit(texts)
            head = LinearHead(self.solver, self.C, self.svm_C, self.class_weight)
            self.fraud_head_ = head.fit(self._with_turns(matrix, texts), is_fraud.astype(int))
        if len(plan.types) >= 2:
            head = LinearHead(self.type_solver, self.C, self.svm_C, self.class_weight)
            self.type_head_ = head.fit(matrix[is_fraud], mapped[is_fraud].astype(str))
        self._record_fit(
            pd.Series(texts),
            labels,
            kind=plan.kind,
            types=list(plan.types),
            n_features=self.vectoriser_.n_features,
            turn_features=self.turns_ is not None,
        )
        return self

    def _with_turns(self, matrix: sp.csr_matrix, texts: Sequence[str]) -> sp.csr_matrix:
        """The n-gram matrix, plus the turn-structure columns when the fraud head uses them."""
        turns = getattr(self, "turns_", None)  # None in models saved before they existed
        if turns is None:
            return matrix
        return sp.hstack([matrix, sp.csr_matrix(turns.transform(texts))], format="csr")

    def _turn_contributions(self, texts: Sequence[str]) -> np.ndarray | None:
        """Each text's summed contribution of the turn-structure columns to the fraud decision."""
        turns = getattr(self, "turns_", None)
        if turns is None or self.fraud_head_ is None:
            return None
        tail = self.fraud_head_.coef_[0, self.vectoriser_.n_features :]
        return np.asarray(turns.transform(texts) @ tail, dtype=np.float64)

    # ----------------------------------------------------------------- scoring
    def score(self, X: Any, *, explain: bool = True) -> pd.DataFrame:
        """Score a batch: ``id, probability, tier, reasons, fraud_type, fraud_type_code, type_probability``.

        ``explain=False`` skips the reasons (bulk evaluation); every row then has an empty list."""
        self.check_fitted()
        ids, columns = field_columns(X, self.fields, missing_as_empty=True)
        url_lists: list[list[tuple[str, ...]]] = [[] for _ in columns]
        by_field = [
            normalise_many(col, max_chars=self.max_chars, urls=found if explain else None)
            for col, found in zip(columns, url_lists, strict=True)
        ]
        matrix, first = self.vectoriser_.transform_with_first(by_field)
        shown_text = (
            by_field[0] if len(by_field) == 1 else ["\n".join(parts) for parts in zip(*by_field, strict=True)]
        )
        structure = self._turn_contributions(columns[-1])
        probability, contrib_weights = self._fraud_probability(matrix, structure)
        types, type_p, type_weights = self._types(matrix)
        weights = contrib_weights if contrib_weights is not None else type_weights
        reasons: list[list[dict[str, Any]]] = [[] for _ in range(matrix.shape[0])]
        if explain:
            row_urls = [
                tuple(u for found in url_lists for u in found[i]) if URL_TOKEN in text else ()
                for i, text in enumerate(shown_text)
            ]
            reasons = self._batch_reasons(
                matrix, first, weights, probability, types, type_p, row_urls, shown_text, structure
            )
        shown = [t if p >= 0.5 else NORMAL for t, p in zip(types, probability, strict=True)]
        if explain:
            for raw_col, norm_col in zip(columns, by_field, strict=True):
                for i, (raw, norm) in enumerate(zip(raw_col, norm_col, strict=True)):
                    clipped = _clipped_reason(raw, norm, self.max_chars)
                    if clipped is not None and not any(r["code"] == "long_text" for r in reasons[i]):
                        reasons[i].append(_reason_dict(clipped))
        for i, text in enumerate(columns[-1]):
            if not text.strip():  # rejected with a reason, not scored and not dropped
                probability[i], shown[i], type_p[i] = np.nan, "", np.nan
                reasons[i] = [
                    _reason_dict(Reason("empty_text", "text is empty or missing; nothing to score", None))
                ]
        frame = score_frame(
            ids,
            probability,
            [[] for _ in reasons],
            self.thresholds,
            fraud_type=shown,
            fraud_type_code=[type_code(t) for t in shown],
            type_probability=type_p,
        )
        # plain dicts built directly: dataclasses.asdict deep-copies and would cost more than scoring
        frame["reasons"] = reasons
        return frame

    def score_text(self, text: str) -> TextScore:
        """Score one text fast (no DataFrame, no sparse matrix): the real-time path."""
        self.check_fitted()
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("text is empty; give the message text to score", value=text)
        norm = normalise(text, max_chars=self.max_chars)
        cols, x = self.vectoriser_.transform_one(norm.text)
        structure = self._turn_contributions([text])
        if self.fraud_head_ is not None:
            w = self.fraud_head_.coef_[0, cols]
            d = x @ w + self.fraud_head_.intercept_[0] + (structure[0] if structure is not None else 0.0)
            p = float(self.fraud_head_.proba_from_decision(np.array([d])))
        else:
            w, p = None, 1.0
        fraud_type, type_p = NORMAL, 0.0
        if self.type_head_ is not None:
            d = self.type_head_.coef_[:, cols] @ x + self.type_head_.intercept_
            probs = self.type_head_.class_proba(d)
            k = int(np.argmax(probs))
            fraud_type, type_p = str(self.type_head_.classes_[k]), float(probs[k])
            if w is None:
                w = self.type_head_.class_weights(k)[cols]
        elif self.plan_.types:
            fraud_type, type_p = self.plan_.types[0], 1.0
        contrib = x * w if w is not None else np.empty(0)
        reasons = self._explain(
            cols, contrib, p, fraud_type, type_p, norm.urls, norm.text,
            structure=None if structure is None else float(structure[0]),
        )  # fmt: skip
        clipped = _clipped_reason(text, norm.text, self.max_chars)
        if clipped is not None:
            reasons.append(clipped)
        shown = fraud_type if p >= 0.5 else NORMAL
        return TextScore(
            p, tier_of(p, self.thresholds or DEFAULT_TIER_THRESHOLDS), shown, type_p, reasons, norm.urls
        )

    def _fraud_probability(
        self, matrix: sp.csr_matrix, structure: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if self.fraud_head_ is None:
            return np.ones(matrix.shape[0]), None
        head = self.fraud_head_
        if structure is None:
            return head.proba(matrix), None
        ngrams = head.coef_[0, : self.vectoriser_.n_features]
        decision = np.asarray(matrix @ ngrams) + head.intercept_[0] + structure
        return head.proba_from_decision(decision[:, None]), None

    def _types(self, matrix: sp.csr_matrix) -> tuple[list[str], np.ndarray, np.ndarray | None]:
        n = matrix.shape[0]
        if self.type_head_ is None:
            only = self.plan_.types[0] if self.plan_.types else NORMAL
            return [only] * n, np.ones(n) if self.plan_.types else np.zeros(n), None
        probs = self.type_head_.class_proba(self.type_head_.decision(matrix))
        best = probs.argmax(axis=1)
        classes = self.type_head_.classes_
        return [str(classes[k]) for k in best], probs[np.arange(n), best], best

    def _reasons(
        self,
        matrix: sp.csr_matrix,
        row: int,
        type_rows: np.ndarray | None,
        p: float,
        fraud_type: str,
        type_p: float,
        urls: tuple[str, ...],
        text: str,
        structure: float | None = None,
    ) -> list[Reason]:
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        cols, x = matrix.indices[start:end], matrix.data[start:end]
        if self.fraud_head_ is not None:
            w = self.fraud_head_.coef_[0, cols]
        elif self.type_head_ is not None and type_rows is not None:
            w = self.type_head_.class_weights(int(type_rows[row]))[cols]
        else:
            w = np.zeros(len(cols))
        return self._explain(cols, x * w, p, fraud_type, type_p, urls, text, structure=structure)

    def _entry_weights(self, matrix: sp.csr_matrix, type_rows: np.ndarray | None) -> np.ndarray:
        """The deciding head's weight of every stored entry of ``matrix`` (as :meth:`_reasons` per row)."""
        if self.fraud_head_ is not None:
            return self.fraud_head_.coef_[0, matrix.indices]
        if self.type_head_ is not None and type_rows is not None:
            per_class = np.stack(
                [self.type_head_.class_weights(k) for k in range(len(self.type_head_.classes_))]
            )
            rows = np.repeat(np.asarray(type_rows), np.diff(matrix.indptr))
            return per_class[rows, matrix.indices]
        return np.zeros(matrix.nnz)

    def _batch_reasons(
        self,
        matrix: sp.csr_matrix,
        first: np.ndarray | None,
        type_rows: np.ndarray | None,
        probability: np.ndarray,
        types: list[str],
        type_p: np.ndarray,
        urls: list[tuple[str, ...]],
        texts: list[str],
        structure: np.ndarray | None = None,
    ) -> list[list[dict[str, Any]]]:
        """:meth:`_reasons` of every row, as plain dicts.

        With the compiled kernels and the first occurrence of every n-gram (``first``, one field),
        the n-grams are chosen and merged into phrases for all rows in one compiled call; only the
        quoting is left per row. Otherwise :meth:`_reasons` runs row by row (same result)."""
        kernels = compiled_kernels()
        if kernels is None or first is None:
            return [
                [
                    _reason_dict(r)
                    for r in self._reasons(
                        matrix,
                        i,
                        type_rows,
                        probability[i],
                        types[i],
                        type_p[i],
                        urls[i],
                        texts[i],
                        None if structure is None else float(structure[i]),
                    )
                ]
                for i in range(matrix.shape[0])
            ]
        contrib = matrix.data * self._entry_weights(matrix, type_rows)
        positive = probability >= 0.5
        signed = np.where(np.repeat(positive, np.diff(matrix.indptr)), contrib, -contrib)
        ptr, starts, ends, weights = kernels.reason_spans(
            matrix.indptr,
            matrix.indices,
            signed,
            contrib,
            first,
            self.vectoriser_.ngram_lengths(),
            4 * self.top_reasons,
            self.top_reasons,
        )
        bounds, starts_l, ends_l, weights_l = ptr.tolist(), starts.tolist(), ends.tolist(), weights.tolist()
        probs = probability.tolist()
        type_probs = np.asarray(type_p).tolist()
        positives = positive.tolist()
        out = []
        for i, text in enumerate(texts):
            phrases = []
            for j in range(bounds[i], bounds[i + 1]):
                phrase = text[starts_l[j] : ends_l[j]]
                value = phrase.strip()
                if value:
                    phrases.append((f"“{readable(phrase)}”", value, round(weights_l[j], 4)))
            out.append(
                [
                    {"code": code, "message": message, "value": value, "weight": weight}
                    for code, message, value, weight in self._reason_parts(
                        phrases,
                        probs[i],
                        types[i],
                        type_probs[i],
                        urls[i],
                        positive=positives[i],
                        structure=None if structure is None else float(structure[i]),
                    )
                ]
            )
        return out

    def _reason_parts(
        self,
        phrases: list[tuple[str, str, float]],
        p: float,
        fraud_type: str,
        type_p: float,
        urls: tuple[str, ...],
        *,
        positive: bool,
        structure: float | None = None,
    ) -> list[tuple[str, str, Any, float]]:
        """The reasons as (code, message, value, weight): the model kind, the type, phrases, URLs, and
        the turn structure of a conversation window when it pushed towards the decision."""
        parts: list[tuple[str, str, Any, float]] = []
        if self.fraud_head_ is None:
            parts.append(("type_only_model", "model knows fraud types only; text taken as fraud", None, 0.0))
        if p >= 0.5 and fraud_type != NORMAL:
            parts.append(
                (
                    "fraud_type",
                    f"类型 {type_name(fraud_type)} ({type_p:.2f})",
                    fraud_type,
                    round(float(type_p), 4),
                )
            )
        code = "phrase" if positive else "normal_phrase"
        parts.extend((code, message, value, weight) for message, value, weight in phrases)
        if structure is not None and (structure > 0 if positive else structure < 0):
            parts.append(
                (
                    "turn_structure",
                    "对话结构 (轮次、长度、说话人、钱款用语)",
                    None,
                    round(float(structure), 4),
                )
            )
        if urls:
            parts.append(("url_in_text", f"contains {len(urls)} URL(s): {urls[0][:60]}", urls[0], 0.0))
        if not parts:  # every score carries a reason, also when nothing in the text is known
            parts.append(
                (
                    "no_signal",
                    "no phrase the model knows (fraud or normal) and no URL: the probability is the "
                    "model's base rate",
                    None,
                    0.0,
                )
            )
        return parts

    def _explain(
        self,
        cols: np.ndarray,
        contrib: np.ndarray,
        p: float,
        fraud_type: str,
        type_p: float,
        urls: tuple[str, ...],
        text: str | None = None,
        *,
        structure: float | None = None,
    ) -> list[Reason]:
        """Reasons of one text from its columns and their contributions to the deciding head."""
        positive = p >= 0.5
        top = _strongest(contrib, 4 * self.top_reasons, positive=positive, cols=cols)
        grams = self.vectoriser_.ngrams_[cols[top]].tolist()
        phrases = _phrases(grams, contrib[top].tolist(), self.top_reasons, text=text)
        return [
            Reason(code, message, value, weight)
            for code, message, value, weight in self._reason_parts(
                phrases, p, fraud_type, type_p, urls, positive=positive, structure=structure
            )
        ]


def _clipped_reason(raw: str, norm: str, max_chars: int) -> Reason | None:
    """A text longer than ``max_chars`` is read as its head and tail (normalise._clip): say so."""
    if len(raw) <= 2 * max_chars and len(norm) <= max_chars:
        return None
    return Reason(
        "long_text",
        f"text of {len(raw):,} characters: only its first {max_chars * 3 // 4:,} and last "
        f"{max_chars - max_chars * 3 // 4:,} characters (normalised) were read",
        len(raw),
        0.0,
    )


def top_phrases(
    grams: np.ndarray, contrib: np.ndarray, k: int, *, positive: bool = True, text: str | None = None
) -> list[Reason]:
    """The ``k`` phrases that pushed the decision most (towards fraud when ``positive``).

    The strongest n-grams are located in the normalised ``text`` and overlapping or touching ones are
    merged into one phrase (刷, 刷单, 单返, 返利 → 刷单返利) whose weight is the sum of its n-grams.
    """
    code = "phrase" if positive else "normal_phrase"
    return [
        Reason(code, message, value, weight)
        for message, value, weight in _top_phrase_parts(grams, contrib, k, positive=positive, text=text)
    ]


def _top_phrase_parts(
    grams: np.ndarray, contrib: np.ndarray, k: int, *, positive: bool, text: str | None
) -> list[tuple[str, str, float]]:
    """:func:`top_phrases` as (message, value, weight)."""
    top = _strongest(contrib, 4 * k, positive=positive, cols=np.arange(len(contrib)))
    return _phrases(grams[top].tolist(), contrib[top].tolist(), k, text=text)


def _strongest(contrib: np.ndarray, m: int, *, positive: bool, cols: np.ndarray) -> np.ndarray:
    """Positions of the (at most ``m``) largest contributions towards the decision (> 0).

    Ties are common — n-grams that always occur together get equal weights — and are broken by the
    lower column, so that every path (one text, a batch, the compiled kernel) quotes the same."""
    signed = contrib if positive else -contrib
    top = np.flatnonzero(signed > 0)
    if len(top) > m:
        top = top[np.lexsort((cols[top], -signed[top]))[:m]]
    return top


def _phrases(
    grams: list[str], weights: list[float], k: int, *, text: str | None
) -> list[tuple[str, str, float]]:
    """Merge the selected n-grams into at most ``k`` phrases: (message, value, weight), strongest first."""
    if not grams:
        return []
    spans: list[tuple[int, int, float]] = []
    phrases: list[tuple[str, float]] = []  # n-grams not found in the text are quoted as they are
    for gram, weight in zip(grams, weights, strict=True):
        at = text.find(gram) if text is not None else -1
        if at < 0:
            phrases.append((gram, weight))
        else:
            spans.append((at, at + len(gram), weight))
    if spans:
        assert text is not None
        spans.sort()
        start, end, total = spans[0]
        for s_start, s_end, weight in spans[1:]:
            if s_start <= end:
                end = max(end, s_end)
                total += weight
            else:
                phrases.append((text[start:end], total))
                start, end, total = s_start, s_end, weight
        phrases.append((text[start:end], total))
    phrases.sort(key=lambda pw: -abs(pw[1]))
    return [
        (f"“{readable(phrase)}”", phrase.strip(), round(weight, 4))
        for phrase, weight in phrases[:k]
        if phrase.strip()
    ]


def _reason_dict(r: Reason) -> dict[str, Any]:
    return {"code": r.code, "message": r.message, "value": r.value, "weight": r.weight}


def as_texts(X: Any) -> list[str]:
    """Texts from a list / Series / one-column frame (a frame needs a ``text`` column)."""
    return ids_and_texts(X)[1]


def field_columns(
    X: Any, fields: tuple[str, ...], *, missing_as_empty: bool = False
) -> tuple[list[Any], list[list[str]]]:
    """Ids and one list of texts per field; a plain list of texts fills the last (main) field.
    ``missing_as_empty``: a missing text (None / NaN) is an empty one (scoring) rather than an error."""
    if isinstance(X, pd.DataFrame) and (len(fields) > 1 or fields[0] != "text"):
        missing = [f for f in fields if f not in X.columns]
        if missing:
            raise ValidationError(
                f"the table lacks the text field(s) {missing} (columns: {', '.join(map(str, X.columns))})",
                field=missing[0],
            )
        ids = list(X["id"]) if "id" in X.columns else list(range(len(X)))
        columns = [
            ids_and_texts(
                X[f].fillna("").tolist() if f != fields[-1] else X[f].tolist(),
                missing_as_empty=missing_as_empty,
            )[1]
            for f in fields
        ]
        return ids, columns
    ids, texts = ids_and_texts(X, missing_as_empty=missing_as_empty)
    return ids, [[""] * len(texts) for _ in fields[:-1]] + [texts]


def ids_and_texts(X: Any, *, missing_as_empty: bool = False) -> tuple[list[Any], list[str]]:
    if isinstance(X, str):
        raise ValidationError("expected a sequence of texts, got one string; wrap it in a list", value=X[:40])
    if isinstance(X, pd.DataFrame):
        if "text" not in X.columns:
            raise ValidationError(
                f"the table has no 'text' column (columns: {', '.join(map(str, X.columns))})", field="text"
            )
        ids = list(X["id"]) if "id" in X.columns else list(range(len(X)))
        values: Sequence[Any] = list(X["text"])
    else:
        values = list(X)
        ids = list(range(len(values)))
    texts = []
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            if missing_as_empty:  # scored as an empty text: its row says so, the others are scored
                texts.append("")
                continue
            raise ValidationError(f"text of row {ids[i]} is missing; drop the row or fill it", value=v)
        if isinstance(v, bytes):
            try:
                v = v.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError(
                    f"text of row {ids[i]} is not valid UTF-8; decode it first (GB18030?)", value=v[:20]
                ) from None
        texts.append(str(v))
    return ids, texts
