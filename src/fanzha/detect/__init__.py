"""Detectors: one contract (fit / score → probability, tier, reasons) for every model."""

from fanzha.detect.contract import Detector, Reason, score_frame, tier_of

__all__ = ["Detector", "Reason", "score_frame", "tier_of"]
