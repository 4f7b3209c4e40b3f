"""Fraud text and URL detection (诈骗文本与网址识别).

The small Python API the real-time API uses::

    from fanzha.texts import default_text_detector, default_url_detector
    det = default_text_detector(settings)      # cached; trained on first use from our own corpus
    det.score_text("…")                        # TextScore: probability, tier, fraud_type, reasons
    default_url_detector(settings).score_url("icbc-vip.top")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fanzha.settings import Settings
    from fanzha.texts.detector import TextDetector
    from fanzha.texts.urls import UrlDetector


def default_text_detector(settings: Settings | None = None) -> TextDetector:
    """The shipped text detector (cached in memory and under ``settings.models``)."""
    from fanzha.texts.default import default_text_detector as load

    return load(settings)


def default_url_detector(settings: Settings | None = None) -> UrlDetector:
    """The shipped URL detector (cached in memory and under ``settings.models``)."""
    from fanzha.texts.default import default_url_detector as load

    return load(settings)


__all__ = ["default_text_detector", "default_url_detector"]
