"""The default models that ship with fanzha: trained at first use from the project's own corpus / lists.

Trained models are cached under ``settings.models`` (``texts-default-v<N>``, ``urls-default-v<N>``)
and in memory, so the real-time API pays the training cost (a few seconds) once per installation.
Nothing is downloaded and nothing from ../shared/data is used.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fanzha.settings import Settings, get_settings
from fanzha.texts.detector import TextDetector
from fanzha.texts.urls import UrlDetector

# bump when the corpus, the templates or the model change: a new folder name retrains
TEXT_MODEL_VERSION = 5
URL_MODEL_VERSION = 2
_LOCK = threading.Lock()
_TEXT_CACHE: dict[Path, TextDetector] = {}
_URL_CACHE: dict[Path, UrlDetector] = {}


def default_text_path(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).models / f"texts-default-v{TEXT_MODEL_VERSION}"


def default_url_path(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).models / f"urls-default-v{URL_MODEL_VERSION}"


def train_default_text_detector(seed: int = 20240601) -> TextDetector:
    """Fit the default text detector on the self-written corpus (never on evaluation data)."""
    from fanzha.texts.corpus import generate_corpus

    corpus = generate_corpus(seed=seed)
    detector = TextDetector(type_solver="svm", C=20.0)
    detector.fit(corpus["text"].tolist(), corpus["label"].tolist())
    detector.meta_.extra["corpus"] = {
        "seed": seed,
        "rows": len(corpus),
        "forms": corpus["form"].value_counts().to_dict(),
        "source": "fanzha.texts.corpus (self-written templates + typology library)",
    }
    return detector


def default_text_detector(settings: Settings | None = None) -> TextDetector:
    """The shipped text detector: loaded from the model store, trained there on first use."""
    path = default_text_path(settings)
    with _LOCK:
        if path in _TEXT_CACHE:
            return _TEXT_CACHE[path]
        if (path / "model.pkl").exists():
            detector = TextDetector.load(path)
            assert isinstance(detector, TextDetector)
        else:
            detector = train_default_text_detector()
            detector.save(path)
        _TEXT_CACHE[path] = detector
        return detector


def default_url_detector(settings: Settings | None = None) -> UrlDetector:
    """The shipped URL detector (brand / look-alike / lexical rules + built-in lists, self-made data)."""
    path = default_url_path(settings)
    with _LOCK:
        if path in _URL_CACHE:
            return _URL_CACHE[path]
        if (path / "model.pkl").exists():
            detector = UrlDetector.load(path)
            assert isinstance(detector, UrlDetector)
        else:
            from fanzha.texts.urlcorpus import generate_url_corpus

            corpus = generate_url_corpus()
            detector = UrlDetector().fit(corpus["url"].tolist(), corpus["label"].tolist())
            detector.save(path)
        _URL_CACHE[path] = detector
        return detector
