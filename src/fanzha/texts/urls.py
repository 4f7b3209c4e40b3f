"""URL and domain risk detector (网址风险识别): block / allow lists, then a linear model over lexical
features and character n-grams of host and path, with the features that drove the score as reasons.

Lists win over the model: a host on the allow list (exact, or a sub-domain of a suffix entry) scores
0.01, one on the block list 0.99. List files: one entry a line, ``#`` or ``!`` comments; ``example.com``
matches that host exactly; ``*.example.com``, ``.example.com`` and AdGuard ``||example.com^`` match the
domain and every sub-domain; AdGuard ``@@||example.com^`` lines are allow entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fanzha.detect.contract import DEFAULT_TIER_THRESHOLDS, Detector, Reason, score_frame, tier_of
from fanzha.errors import InputFileError, ModelError, ValidationError
from fanzha.texts.features import NgramTfidf
from fanzha.texts.labels import FRAUD, plan_labels
from fanzha.texts.urllex import (
    BRANDS,
    FEATURES,
    ParsedUrl,
    ascii_host,
    feature_message,
    parse_url,
    unicode_host,
    url_features,
)

ALLOW_SCORE = 0.01
BLOCK_SCORE = 0.99


def _ascii(host: str) -> str:
    """List entries are matched against punycode hosts (see :func:`urllex.parse_url`)."""
    if host.isascii():
        return host
    try:
        return ascii_host(host)
    except UnicodeError:
        return host


@dataclass
class HostList:
    """Exact hosts and domain suffixes (a suffix entry covers the domain and all its sub-domains)."""

    exact: set[str] = field(default_factory=set)
    suffixes: set[str] = field(default_factory=set)

    def add(self, entry: str) -> None:
        e = entry.strip().lower().rstrip(".^")
        if e.startswith("||"):
            self.suffixes.add(_ascii(e[2:].split("^")[0].split("/")[0]))
        elif e.startswith(("*.", ".")):
            self.suffixes.add(_ascii(e.lstrip("*.")))
        elif e:
            host = e.split("://", 1)[-1].split("/")[0].split(":")[0]
            self.exact.add(_ascii(host))

    def match(self, host: str) -> str | None:
        """The entry that covers ``host`` (``None`` when none does)."""
        if host in self.exact:
            return host
        labels = host.split(".")
        for i in range(len(labels) - 1):
            suffix = ".".join(labels[i:])
            if suffix in self.suffixes:
                return "*." + suffix
        return None

    def __len__(self) -> int:
        return len(self.exact) + len(self.suffixes)


def read_host_lists(path: str | Path) -> tuple[HostList, HostList]:
    """(block, allow) entries of a list file (AdGuard ``@@`` lines go to allow, others to block)."""
    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"list file {file} does not exist; give a text file with one host per line")
    try:
        lines = file.read_text("utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputFileError(f"list file {file} is not UTF-8 text; convert it first") from None
    block, allow = HostList(), HostList()
    for line in lines:
        s = line.strip()
        if not s or s.startswith(("#", "!", "[")):
            continue
        if s.startswith("@@"):
            allow.add(s[2:])
        else:
            block.add(s)
    return block, allow


def builtin_allow() -> HostList:
    """Official domains of the brands the lexical features know (bank, payment, shopping, gov.cn …)."""
    allow = HostList()
    for domains in BRANDS.values():
        for d in domains:
            allow.suffixes.add(d)
    return allow


@dataclass
class UrlScore:
    probability: float
    tier: str
    host: str
    brand: str | None
    reasons: list[Reason]


def _url_text(p: ParsedUrl) -> str:
    """Host (as a person reads it: IDN labels in Unicode) and the start of the path, for the n-grams."""
    return unicode_host(p.host) + " " + p.path[:80]


class UrlDetector(Detector):
    """Lists + logistic regression over lexical features and host/path character n-grams."""

    name: ClassVar[str] = "urls"
    block_: HostList
    allow_: HostList

    def __init__(
        self,
        ngram_range: tuple[int, int] = (3, 5),
        min_df: int = 2,
        max_features: int = 200_000,
        C: float = 2.0,
        use_ngrams: bool = True,
        builtin_allow_list: bool = True,
        top_reasons: int = 4,
        thresholds: dict[str, float] | None = None,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.use_ngrams = use_ngrams
        self.builtin_allow_list = builtin_allow_list
        self.top_reasons = top_reasons
        self.thresholds = thresholds

    # ------------------------------------------------------------------- lists
    def add_lists(self, block: Iterable[str] = (), allow: Iterable[str] = ()) -> Self:
        """Add block / allow entries (exact hosts, or ``*.domain`` / ``||domain^`` suffixes)."""
        self._ensure_lists()
        for e in block:
            self.block_.add(e)
        for e in allow:
            self.allow_.add(e)
        return self

    def add_list_file(self, path: str | Path, kind: str = "auto") -> Self:
        """Add a list file; ``kind`` block / allow forces every entry to that side."""
        self._ensure_lists()
        block, allow = read_host_lists(path)
        if kind == "allow":
            block, allow = HostList(), _merge(block, allow)
        elif kind == "block":
            block, allow = _merge(block, allow), HostList()
        self.block_ = _merge(self.block_, block)
        self.allow_ = _merge(self.allow_, allow)
        return self

    def _ensure_lists(self) -> None:
        if not hasattr(self, "block_"):
            self.block_ = HostList()
            self.allow_ = builtin_allow() if self.builtin_allow_list else HostList()

    # ---------------------------------------------------------------- training
    def _parse_all(self, urls: list[Any], ids: list[Any]) -> list[ParsedUrl]:
        parsed = []
        for i, u in zip(ids, urls, strict=True):
            try:
                parsed.append(parse_url(u))
            except ValidationError as exc:
                raise ValidationError(f"row {i}: {exc}", value=u) from None
        return parsed

    def _lexical(self, parsed: list[ParsedUrl]) -> tuple[np.ndarray, list[str | None]]:
        rows, brands = [], []
        for p in parsed:
            v, b = url_features(p)
            rows.append(v)
            brands.append(b)
        return np.vstack(rows) if rows else np.zeros((0, len(FEATURES))), brands

    def _matrix(self, lexical: np.ndarray, parsed: list[ParsedUrl]) -> sp.csr_matrix:
        scaled = sp.csr_matrix((lexical - self.mean_) / self.std_)
        if not self.use_ngrams:
            return scaled
        grams = self.vectoriser_.transform([_url_text(p) for p in parsed])
        return sp.hstack([scaled, grams], format="csr")

    def fit(self, X: Any, y: Any = None) -> Self:
        from sklearn.linear_model import LogisticRegression

        ids, urls = _ids_and_urls(X)
        if y is None:
            raise ModelError("UrlDetector.fit needs labels y (phishing / scam vs legitimate)")
        labels = pd.Series(list(y), dtype=object)
        if len(labels) != len(urls):
            raise ModelError(f"{len(urls)} URLs but {len(labels)} labels")
        plan = plan_labels(labels)
        if plan.kind != "binary" and not plan.has_normal:
            raise ModelError("URL labels must say fraud vs legitimate (e.g. phishing / legitimate, 1 / 0)")
        target = np.array([m != "normal" for m in plan.mapped], dtype=int)
        parsed = self._parse_all(urls, ids)
        lexical, _ = self._lexical(parsed)
        self.mean_ = lexical.mean(axis=0)
        self.std_ = lexical.std(axis=0)
        self.std_[self.std_ == 0] = 1.0
        if self.use_ngrams:
            self.vectoriser_ = NgramTfidf(self.ngram_range, self.min_df, self.max_features)
            self.vectoriser_.fit([_url_text(p) for p in parsed])
        model = LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear", max_iter=2000)
        model.fit(self._matrix(lexical, parsed), target)
        self.coef_ = model.coef_[0]
        self.intercept_ = float(model.intercept_[0])
        self._ensure_lists()
        self._record_fit(pd.Series([p.url for p in parsed]), labels, label=FRAUD, n_lexical=len(FEATURES))
        return self

    # ----------------------------------------------------------------- scoring
    def score(self, X: Any) -> pd.DataFrame:
        """``id, probability, tier, reasons, host, brand, list_match``; unparseable URLs get probability NaN
        and an ``invalid_url`` reason (rejected with a reason, not dropped)."""
        self.check_fitted()
        ids, urls = _ids_and_urls(X)
        probs, hosts, brands, matches, reasons = [], [], [], [], []
        for u in urls:
            s = self._score_or_reject(u)
            probs.append(s.probability)
            hosts.append(s.host)
            brands.append(s.brand)
            matches.append(next((str(r.value) for r in s.reasons if r.code.endswith("_list")), None))
            reasons.append(s.reasons)
        return score_frame(ids, probs, reasons, self.thresholds, host=hosts, brand=brands, list_match=matches)

    def _score_or_reject(self, url: Any) -> UrlScore:
        try:
            return self.score_url(url)
        except ValidationError as exc:
            return UrlScore(float("nan"), "none", "", None, [Reason("invalid_url", str(exc), str(url)[:100])])

    def score_url(self, url: str) -> UrlScore:
        """Score one URL or host: the real-time path."""
        self.check_fitted()
        p = parse_url(url)
        thresholds = self.thresholds or DEFAULT_TIER_THRESHOLDS
        lexical, brand = url_features(p)
        hit = self.allow_.match(p.host)
        if hit:
            return UrlScore(ALLOW_SCORE, tier_of(ALLOW_SCORE, thresholds), p.host, brand,
                            [Reason("allow_list", f"host is on the allow list ({hit})", hit, -1.0)])  # fmt: skip
        hit = self.block_.match(p.host)
        if hit:
            return UrlScore(BLOCK_SCORE, tier_of(BLOCK_SCORE, thresholds), p.host, brand,
                            [Reason("block_list", f"host is on the block list ({hit})", hit, 1.0)])  # fmt: skip
        x = (lexical - self.mean_) / self.std_
        contrib = x * self.coef_[: len(FEATURES)]
        decision = self.intercept_ + float(contrib.sum())
        gram_cols: np.ndarray = np.empty(0, dtype=np.int64)
        gram_contrib: np.ndarray = np.empty(0)
        if self.use_ngrams:
            gram_cols, weights = self.vectoriser_.transform_one(_url_text(p))
            gram_contrib = weights * self.coef_[len(FEATURES) + gram_cols]
            decision += float(gram_contrib.sum())
        probability = float(1.0 / (1.0 + np.exp(-decision)))
        reasons = self._explain(lexical, contrib, gram_cols, gram_contrib, brand, probability)
        return UrlScore(probability, tier_of(probability, thresholds), p.host, brand, reasons)

    def _explain(
        self,
        lexical: np.ndarray,
        contrib: np.ndarray,
        cols: np.ndarray,
        gram_contrib: np.ndarray,
        brand: str | None,
        probability: float = 1.0,
    ) -> list[Reason]:
        """The features behind the score, as the text detector gives them: for a risky URL
        (probability ≥ 0.5) what pushed it towards scam, for the others what pulled it towards
        legitimate (said so, weight negative); with neither, ``no_signal`` — every score carries its
        reasons (before, a low score cited what raised it, "typical of scam URLs", or nothing)."""
        positive = probability >= 0.5
        sign = 1.0 if positive else -1.0
        items: list[tuple[float, Reason]] = []
        for j in np.argsort(-sign * contrib, kind="stable")[: self.top_reasons]:
            if sign * contrib[j] <= 0 or lexical[j] == 0:
                continue
            name = FEATURES[j]
            message = feature_message(name) + (f" ({brand})" if name.startswith("brand") and brand else "")
            if not positive:
                message += " — lowers the score"
            items.append(
                (
                    float(sign * contrib[j]),
                    Reason(name, message, round(float(lexical[j]), 4), round(float(contrib[j]), 4)),
                )
            )
        if len(gram_contrib):
            j = int(np.argmax(sign * gram_contrib))
            if sign * gram_contrib[j] > 0:
                gram = str(self.vectoriser_.ngrams_[cols[j]]).strip()
                kind = "scam" if positive else "legitimate"
                code = "url_ngram" if positive else "legitimate_ngram"
                reason = Reason(code, f"fragment “{gram}” is typical of {kind} URLs", gram, round(float(gram_contrib[j]), 4))  # fmt: skip
                items.append((float(sign * gram_contrib[j]), reason))
        items.sort(key=lambda t: -t[0])
        reasons = [r for _, r in items[: self.top_reasons]]
        if not reasons:
            reasons.append(Reason("no_signal", "no feature of the URL raises or lowers the score", None, 0.0))
        return reasons


def _merge(a: HostList, b: HostList) -> HostList:
    return HostList(a.exact | b.exact, a.suffixes | b.suffixes)


def _ids_and_urls(X: Any) -> tuple[list[Any], list[Any]]:
    if isinstance(X, str):
        raise ValidationError("expected a sequence of URLs, got one string; wrap it in a list", value=X[:60])
    if isinstance(X, pd.DataFrame):
        column = next((c for c in ("url", "host") if c in X.columns), None)
        if column is None:
            raise ValidationError(
                f"the table has no 'url' or 'host' column (columns: {', '.join(map(str, X.columns))})",
                field="url",
            )
        ids = list(X["id"]) if "id" in X.columns else list(range(len(X)))
        return ids, list(X[column])
    values = list(X)
    return list(range(len(values))), values
