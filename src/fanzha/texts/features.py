"""Character n-gram TF-IDF features (字符 n-gram) over normalised text.

Chinese has no spaces, and scam scripts are short and formulaic: character 1–3-grams capture words
(刷单, 安全账户) without a word segmenter, survive typos, and keep every feature readable so a
reason can quote the exact phrase. The vocabulary is a plain ``dict`` (n-gram → column) learned with
a document-frequency floor: lookup costs the same as feature hashing in Python, and unlike hashing
the column maps back to its n-gram without a reverse table, which is what the reasons need.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from fanzha.errors import ModelError
from fanzha.texts.kernels import compiled_kernels


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """All character n-grams of ``text`` with ``low <= n <= high`` (a lone space is not a feature)."""
    size = len(text)
    grams = [text[i : i + n] for n in range(low, high + 1) for i in range(size - n + 1)]
    return [g for g in grams if g != " "] if " " in text else grams


def ngram_key(gram: str) -> int:
    """Integer key of an n-gram of up to three characters: (code point + 1) in 21-bit slots."""
    key = 0
    for ch in gram:
        key = (key << 21) | (ord(ch) + 1)
    return key


class NgramTfidf:
    """Learn a vocabulary of character n-grams and turn texts into L2-normalised sublinear TF-IDF rows."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), min_df: int = 2, max_features: int = 300_000):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, texts: Sequence[str]) -> NgramTfidf:
        low, high = self.ngram_range
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(char_ngrams(text, low, high)))
        kept = [(g, c) for g, c in df.items() if c >= self.min_df]
        if not kept:
            raise ModelError(
                f"no character n-gram occurs in {self.min_df}+ of the {len(texts)} training texts; "
                "give more (or longer) texts or lower min_df"
            )
        kept.sort(key=lambda gc: (-gc[1], gc[0]))
        kept = kept[: self.max_features]
        self.vocabulary_ = {g: i for i, (g, _) in enumerate(kept)}
        self.ngrams_ = np.array([g for g, _ in kept], dtype=object)
        n_docs = len(texts)
        counts = np.array([c for _, c in kept], dtype=float)
        self.idf_ = np.log((1 + n_docs) / (1 + counts)) + 1.0  # smoothed idf, as scikit-learn
        self._index_keys()
        return self

    def _index_keys(self) -> None:
        """Sorted integer keys of the n-grams (21 bits per character) for the vectorised transform."""
        self.keys_: np.ndarray | None = None
        if self.ngram_range[1] > 3:
            return
        keys = np.array([ngram_key(g) for g in self.ngrams_], dtype=np.int64)
        order = np.argsort(keys)
        self.keys_ = keys[order]
        self.key_cols_ = order.astype(np.int64)

    @property
    def n_features(self) -> int:
        return len(self.vocabulary_)

    def columns(self, text: str) -> list[int]:
        """Column of every known n-gram occurrence in ``text`` (repeats kept: they are the counts)."""
        get = self.vocabulary_.get
        low, high = self.ngram_range
        return [c for g in char_ngrams(text, low, high) if (c := get(g)) is not None]

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        texts = list(texts)
        if not hasattr(self, "keys_"):  # a model saved before the vectorised path existed
            self._index_keys()
        if self.keys_ is not None and texts:
            if compiled_kernels() is not None:
                return self._tfidf_compiled(texts)[0]
            return self._weight(self._counts_vectorised(texts))
        indptr = [0]
        indices: list[int] = []
        for text in texts:
            indices.extend(self.columns(text))
            indptr.append(len(indices))
        n_rows = len(indptr) - 1
        data = np.ones(len(indices), dtype=np.float64)
        matrix = sp.csr_matrix(
            (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
            shape=(n_rows, self.n_features),
        )
        matrix.sum_duplicates()  # counts per (row, n-gram)
        return self._weight(matrix)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("table_", None)  # rebuilt at first use (fast), not stored in the model file
        return state

    def transform_with_first(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, np.ndarray | None]:
        """:meth:`transform` plus, for every stored entry, where its n-gram first occurs in its text
        (``text.find(gram)``) — ``None`` when the compiled kernels are not available."""
        texts = list(texts)
        if not hasattr(self, "keys_"):
            self._index_keys()
        if self.keys_ is not None and texts and compiled_kernels() is not None:
            return self._tfidf_compiled(texts)
        return self.transform(texts), None

    def _tfidf_compiled(self, texts: list[str]) -> tuple[sp.csr_matrix, np.ndarray]:
        """The batch transform in one compiled pass: hash lookup of every n-gram, counts, TF-IDF, L2.

        Same result as :meth:`_counts_vectorised` + :meth:`_weight` (the reference path, kept for a
        bare install and checked against this one in the tests)."""
        kernels = compiled_kernels()
        assert kernels is not None
        table = getattr(self, "table_", None)
        if table is None:
            assert self.keys_ is not None
            bits = max(4, int(2 * len(self.keys_) - 1).bit_length())  # load factor ≤ 0.5
            table = (*kernels.build_table(self.keys_, self.key_cols_, bits, self.ngram_range[0]), bits)
            self.table_ = table
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:  # a NUL inside a text must not split it
            joined = "\x00".join(t.replace("\x00", " ") for t in texts)
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        low, high = self.ngram_range
        indptr, indices, counts, first = kernels.count_rows(
            codes, len(texts), self.n_features, low, high, *table
        )
        matrix = sp.csr_matrix((counts, indices, indptr), shape=(len(texts), self.n_features))
        matrix.has_canonical_format = True  # sorted, no duplicates (the kernel counted them)
        return self._weight(matrix), first

    def _counts_vectorised(self, texts: list[str]) -> sp.csr_matrix:
        """Counts of known n-grams for many texts at once: every n-gram of every text becomes an integer
        key (code points + 1, 21 bits each) and is looked up by binary search — no Python loop per n-gram."""
        low, high = self.ngram_range
        joined = "\x00".join(t.replace("\x00", " ") for t in texts)
        codes = (
            np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64) + 1
        )
        row_of = np.cumsum(codes == 1)  # NUL (code 1 after the shift) separates texts
        keys_parts, rows_parts = [], []
        for n in range(low, high + 1):
            if len(codes) < n:
                continue
            m = len(codes) - n + 1
            key = codes[:m].copy()
            valid = codes[:m] != 1
            for j in range(1, n):
                key = (key << 21) | codes[j : j + m]
                valid &= codes[j : j + m] != 1
            if n == 1:
                valid &= codes[:m] != ord(" ") + 1  # a lone space is not a feature
            keys_parts.append(key[valid])
            rows_parts.append(row_of[:m][valid])
        keys = np.concatenate(keys_parts)
        rows = np.concatenate(rows_parts)
        vocab = self.keys_
        assert vocab is not None  # only called when the key index exists
        at = np.searchsorted(vocab, keys)
        at[at == len(vocab)] = 0
        hit = vocab[at] == keys
        matrix = sp.csr_matrix(
            (np.ones(int(hit.sum())), (rows[hit], self.key_cols_[at[hit]])),
            shape=(len(texts), self.n_features),
        )
        matrix.sum_duplicates()
        return matrix

    def _weight(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Counts (canonical CSR) → sublinear TF-IDF, each row L2-normalised (in place)."""
        data = (1.0 + np.log(matrix.data)) * self.idf_[matrix.indices]
        lengths = np.diff(matrix.indptr)
        filled = np.flatnonzero(lengths)
        norms = np.ones(matrix.shape[0])
        if len(filled):  # the row sums of scipy's matrix.multiply(matrix).sum(axis=1), without copies
            norms[filled] = np.sqrt(np.add.reduceat(data * data, matrix.indptr[filled]))
        norms[norms == 0] = 1.0
        data /= np.repeat(norms, lengths)
        matrix.data = data
        return matrix

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text as (columns, weights) — the lean path for real-time scoring (no sparse matrix)."""
        counts = Counter(self.columns(text))
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        weights = (1.0 + np.log(tf)) * self.idf_[cols]
        weights /= np.sqrt(weights @ weights)
        return cols, weights


class FieldSpace:
    """One n-gram space per text field (e.g. title and body), weighted and side by side.

    A short title says more per character than a long body; its own vocabulary and a weight keep the
    body's many n-grams from drowning it. With one field this is just :class:`NgramTfidf`.
    """

    def __init__(
        self,
        fields: Sequence[str],
        weights: Sequence[float],
        ngram_range: tuple[int, int],
        min_df: int,
        max_features: int,
    ) -> None:
        if len(fields) != len(weights) or not fields:
            raise ModelError(f"fields {list(fields)} and weights {list(weights)} must be non-empty and match")
        self.fields = tuple(fields)
        self.weights = tuple(float(w) for w in weights)
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, columns: Sequence[Sequence[str]]) -> FieldSpace:
        """``columns``: one sequence of normalised texts per field."""
        self.spaces_ = []
        for i, texts in enumerate(columns):
            min_df = self.min_df if i == len(columns) - 1 else 1  # titles are short: keep rare n-grams
            self.spaces_.append(NgramTfidf(self.ngram_range, min_df, self.max_features).fit(texts))
        self.offsets_ = np.cumsum([0] + [s.n_features for s in self.spaces_])
        self.ngrams_ = np.concatenate([s.ngrams_ for s in self.spaces_])
        return self

    @property
    def n_features(self) -> int:
        return int(self.offsets_[-1])

    def ngram_lengths(self) -> np.ndarray:
        """Length in characters of the n-gram of every column."""
        lengths = getattr(self, "lengths_", None)
        if lengths is None:
            lengths = np.fromiter((len(g) for g in self.ngrams_), dtype=np.int64, count=len(self.ngrams_))
            self.lengths_ = lengths
        return lengths

    @property
    def single(self) -> bool:
        return len(self.spaces_) == 1

    def transform(self, columns: Sequence[Sequence[str]]) -> sp.csr_matrix:
        if self.single:
            return self.spaces_[0].transform(columns[0])
        blocks = [
            w * s.transform(texts) for s, w, texts in zip(self.spaces_, self.weights, columns, strict=True)
        ]
        return sp.hstack(blocks, format="csr")

    def transform_with_first(
        self, columns: Sequence[Sequence[str]]
    ) -> tuple[sp.csr_matrix, np.ndarray | None]:
        """:meth:`transform` plus first occurrences (see :meth:`NgramTfidf.transform_with_first`); one
        field only (with several, an n-gram's first occurrence in the shown text may be in another)."""
        if self.single:
            return self.spaces_[0].transform_with_first(columns[0])
        return self.transform(columns), None

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text into the last (main) field: the real-time path."""
        cols, weights = self.spaces_[-1].transform_one(text)
        return cols + self.offsets_[-2], weights * self.weights[-1]
