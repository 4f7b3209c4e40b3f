"""The fast batch paths give exactly what the reference paths give (they change speed, never results).

* ``normalise_many`` (one pass per step over only the texts a step can change, a numpy translate
  table for long strings) against ``normalise`` text by text;
* the compiled n-gram counting (hash table, prefix cut-off, first occurrences) against the numpy
  ``_counts_vectorised`` and the plain dict ``columns`` paths;
* batch reasons (selection and phrase merging compiled for the whole batch) against the per-row
  reasons and the one-text ``score_text`` path.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.texts.corpus import generate_corpus
from fanzha.texts.detector import TextDetector, _reason_dict
from fanzha.texts.features import NgramTfidf
from fanzha.texts.kernels import compiled_kernels
from fanzha.texts.normalise import _char_table, _translate, normalise, normalise_many

TRICKY = [
    "",
    "   ",
    "看http://localhost/abc 哦",  # a URL without a dot
    "点击 https://u.ab.cn/x9 或 www.b.com/p 联系 a@b.cn 13812345678",
    "刷 单 返*利，加 v 信 shua dan yzm 发我",
    "威信 菠菜 岱款 u币 转500元 卡号6222021234567890123 致电95588",
    "您的銀行卡涉嫌洗錢，請轉賬到安全帳戶 ＶＩＰ１２３ ａｌｉｐａｙ",
    "NUL\x00inside 文本",
    "İstanbul ﬁ ① ² ٣ \u3000 Ⓤ Ⓟ 𠀀𠀁 text",
    "lone \ud800 surrogate 刷单",
    "纯中文短信，没有数字也没有字母。",
    "多个\t\n空白   和 ★☆ 符号 刷★单",
]

ALPHABET = [
    *list("abcxyz .:/@-*_|刷单返利微信威信加v菠菜 0123456789元,，。ＡＢ１銀行"),
    "http://",
    "www.",
    ".com",
    "\n",
    "\t",
    "İ",
    "①",
    "٣",
    "\u3000",
    "Ⓤ",
    "\x00",
    "𠀀",
]


def _corpus_texts() -> list[str]:
    corpus = generate_corpus(seed=11, per_type=6, normal=60)
    return corpus["text"].tolist()


def _assert_same_as_one_by_one(texts: list[str]) -> None:
    urls: list[tuple[str, ...]] = []
    batch = normalise_many(texts, urls=urls)
    single = [normalise(t) for t in texts]
    assert batch == [n.text for n in single]
    assert urls == [n.urls for n in single]


def test_normalise_many_equals_normalise_one_by_one() -> None:
    _assert_same_as_one_by_one(TRICKY + _corpus_texts())
    _assert_same_as_one_by_one(["看http://localhost/abc 哦"])  # short batch: str.translate path
    assert normalise_many([]) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ALPHABET), max_size=30).map("".join), min_size=1, max_size=40))
def test_normalise_many_equals_normalise_on_random_texts(texts: list[str]) -> None:
    _assert_same_as_one_by_one([*texts, "填充" * 1100])  # long enough for the array translate path


def test_array_translate_equals_str_translate() -> None:
    table = _char_table()
    every_mapped = "".join(chr(c) for c in table) * 3
    assert len(every_mapped) >= 2_000
    assert _translate(every_mapped) == every_mapped.translate(table)


def _vectoriser(texts: list[str], ngram_range: tuple[int, int] = (1, 3)) -> NgramTfidf:
    return NgramTfidf(ngram_range, min_df=2).fit(normalise_many(texts))


def _reference(v: NgramTfidf, texts: list[str]) -> sp.csr_matrix:
    matrix = v._weight(v._counts_vectorised(texts))
    matrix.sort_indices()
    return matrix


def _dict_path(v: NgramTfidf, texts: list[str]) -> sp.csr_matrix:
    rows = [np.array(v.columns(t), dtype=np.int64) for t in texts]
    indptr = np.cumsum([0] + [len(r) for r in rows])
    counts = sp.csr_matrix(
        (np.ones(int(indptr[-1])), np.concatenate(rows), indptr), shape=(len(texts), v.n_features)
    )
    counts.sum_duplicates()
    return v._weight(counts)


def _assert_identical(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert np.array_equal(a.indptr, b.indptr)
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)  # bit for bit, not approximately


@pytest.mark.skipif(compiled_kernels() is None, reason="numba not installed")
@pytest.mark.parametrize("ngram_range", [(1, 3), (2, 3), (1, 2)])
def test_compiled_ngram_counts_equal_the_reference(ngram_range: tuple[int, int]) -> None:
    texts = _corpus_texts()
    v = _vectoriser(texts, ngram_range)
    scored = [*normalise_many(TRICKY + texts[:80]), "", "𠀀𠀁𠀀𠀁", "a b c", "x\x00y"]
    fast, first = v.transform_with_first(scored)
    assert first is not None
    _assert_identical(fast, _reference(v, [t.replace("\x00", " ") for t in scored]))
    _assert_identical(fast, _dict_path(v, [t.replace("\x00", " ") for t in scored]))
    grams = v.ngrams_[fast.indices]
    rows = np.repeat(np.arange(len(scored)), np.diff(fast.indptr))
    assert [
        scored[r].replace("\x00", " ").find(g) for r, g in zip(rows, grams, strict=True)
    ] == first.tolist()


@pytest.mark.skipif(compiled_kernels() is None, reason="numba not installed")
def test_compiled_counts_without_the_prefix_property() -> None:
    """A vocabulary in which a longer n-gram's prefix is missing turns the early stop off."""
    texts = _corpus_texts()
    v = _vectoriser(texts)
    gram = next(g for g in v.ngrams_ if len(g) == 1 and any(len(h) > 1 and h[0] == g for h in v.ngrams_))
    assert v.keys_ is not None
    keep = v.ngrams_[v.key_cols_] != gram  # key_cols_: the column of each sorted key
    v.keys_, v.key_cols_ = v.keys_[keep], v.key_cols_[keep]  # the 1-gram is gone, its 2-grams stay
    scored = normalise_many(texts[:60])
    fast, _ = v.transform_with_first(scored)
    _assert_identical(fast, _reference(v, scored))
    assert v.table_[2] is False  # the kernel saw that the early stop is not safe here


@pytest.fixture(scope="module")
def corpus_detector() -> TextDetector:
    corpus = generate_corpus(seed=3, per_type=15, normal=150)
    return TextDetector(type_solver="svm").fit(corpus["text"].tolist(), corpus["label"].tolist())


def test_batch_reasons_equal_per_row_and_one_text_reasons(corpus_detector: TextDetector) -> None:
    det = corpus_detector
    texts = TRICKY[2:] + generate_corpus(seed=12, per_type=4, normal=40)["text"].tolist()
    texts = [t for t in texts if t.strip()]
    urls: list[tuple[str, ...]] = []
    shown = normalise_many(texts, urls=urls)
    matrix, first = det.vectoriser_.transform_with_first([shown])
    p, _ = det._fraud_probability(matrix)
    types, type_p, type_rows = det._types(matrix)
    row_urls = [u if "Ⓤ" in t else () for u, t in zip(urls, shown, strict=True)]
    fast = det._batch_reasons(matrix, first, type_rows, p, types, type_p, row_urls, shown)
    reference = det._batch_reasons(matrix, None, type_rows, p, types, type_p, row_urls, shown)
    assert fast == reference
    assert sum(len(r) for r in fast) > 3 * len(texts)  # reasons were produced, not empty lists
    scored = det.score(texts)
    for i, text in enumerate(texts):
        one = det.score_text(text)
        assert one.probability == pytest.approx(scored["probability"][i], abs=1e-12)
        assert one.fraud_type == scored["fraud_type"][i]
        batch = scored["reasons"][i]
        assert [_reason_dict(r)["message"] for r in one.reasons] == [r["message"] for r in batch]
        assert [r.weight for r in one.reasons] == pytest.approx([r["weight"] for r in batch], abs=1e-4)
