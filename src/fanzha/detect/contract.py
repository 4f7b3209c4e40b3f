"""The one Detector contract shared by every model in fanzha (numbers, accounts, texts, URLs).

scikit-learn habits: ``__init__`` only stores parameters; learned attributes end in ``_``; ``fit``
returns ``self``. ``score`` returns a :class:`pandas.DataFrame` with at least the columns
``id, probability, tier, reasons`` (``reasons``: a list of :class:`Reason` as dicts per row);
a detector may add columns (``fraud_type`` …). ``save`` / ``load`` write a versioned artefact folder:
``model.pkl`` plus ``meta.json`` (name, class, format version, created, data fingerprint, parameters,
metrics, library versions, and the SHA-256 of ``model.pkl``); ``load`` refuses a folder whose
``model.pkl`` is not the file saved with its ``meta.json`` or whose ``meta.json`` was edited. Only
load artefacts you trust: they are pickles.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pickle
import platform
import warnings
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from fanzha.errors import ModelError, NotFoundError

ARTEFACT_FORMAT = 1
SCORE_COLUMNS = ("id", "probability", "tier", "reasons")
TIERS = ("red", "orange", "yellow", "none")  # 分级: red most urgent
DEFAULT_TIER_THRESHOLDS = {"red": 0.9, "orange": 0.7, "yellow": 0.5}
_LIBRARIES = ("fanzha", "numpy", "pandas", "scikit-learn", "lightgbm", "duckdb", "pyarrow")


@dataclass(frozen=True)
class Reason:
    """Why a score is what it is: a stable code, a plain-words message, the value behind it."""

    code: str
    message: str
    value: float | str | None = None
    weight: float = 0.0  # contribution to the score (same units within one detector)

    def to_dict(self) -> dict[str, Any]:
        # a literal, not dataclasses.asdict (19× faster; half a million reasons per large table)
        return {"code": self.code, "message": self.message, "value": self.value, "weight": self.weight}


def tier_of(probability: float, thresholds: dict[str, float] | None = None) -> str:
    t = thresholds or DEFAULT_TIER_THRESHOLDS
    for tier in ("red", "orange", "yellow"):
        if probability >= t[tier]:
            return tier
    return "none"


def tiers_of(probabilities: np.ndarray, thresholds: dict[str, float] | None = None) -> np.ndarray:
    t = thresholds or DEFAULT_TIER_THRESHOLDS
    p = np.asarray(probabilities, dtype=float)
    return np.select(
        [p >= t["red"], p >= t["orange"], p >= t["yellow"]], ["red", "orange", "yellow"], default="none"
    )


def fingerprint(data: pd.DataFrame | pd.Series | np.ndarray | list[Any]) -> str:
    """Stable SHA-256 of training data (row order matters), recorded in the artefact."""
    if isinstance(data, pd.DataFrame | pd.Series):
        digest = pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes()
    else:
        digest = pd.util.hash_pandas_object(pd.Series(list(data)), index=False).to_numpy().tobytes()
    return "sha256:" + hashlib.sha256(digest).hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return versions


class ModelVersionWarning(UserWarning):
    """A model was saved with other library versions than the ones installed (see :func:`version_differences`)."""


def version_differences(saved: dict[str, Any] | None) -> dict[str, tuple[str, str | None]]:
    """The libraries whose recorded version (an artefact's ``libraries``) is not the installed one:
    name → (saved, installed or None when it is not installed)."""
    installed = library_versions()
    return {
        lib: (str(version), installed.get(lib))
        for lib, version in (saved or {}).items()
        if installed.get(lib) != str(version)
    }


def _versions_note(differences: dict[str, tuple[str, str | None]]) -> str:
    saved = ", ".join(f"{lib} {old}" for lib, (old, _) in differences.items())
    now = ", ".join(f"{lib} {new or 'not installed'}" for lib, (_, new) in differences.items())
    return f"saved with {saved} (installed: {now})"


@dataclass
class ArtefactMeta:
    name: str
    detector_class: str
    format: int = ARTEFACT_FORMAT
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    data_fingerprint: str | None = None
    n_rows: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=library_versions)
    extra: dict[str, Any] = field(default_factory=dict)


def _same_kind(folder: Path, saved: type, wanted: type) -> None:
    """A model of another kind (a texts model given to ``score numbers``) named in words."""
    if not issubclass(saved, wanted):
        kind, want = getattr(saved, "name", saved.__name__), getattr(wanted, "name", wanted.__name__)
        raise ModelError(
            f"{folder} holds a model of `fanzha train {kind}`, not of `fanzha train {want}`; give "
            f"--model the folder that `fanzha train {want}` wrote"
        )


class Detector(ABC):
    """Base class of every model: fit on a table and labels, score to ``id, probability, tier, reasons``."""

    name: ClassVar[str] = "detector"
    meta_: ArtefactMeta

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (what ``__init__`` stored)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names if hasattr(self, p)}

    @abstractmethod
    def fit(self, X: Any, y: Any = None) -> Self:
        """Learn from ``X`` (a table) and labels ``y``; return ``self``."""

    @abstractmethod
    def score(self, X: Any) -> pd.DataFrame:
        """Score rows of ``X``: ``id, probability, tier, reasons`` (+ detector-specific columns)."""

    def _record_fit(self, X: Any, y: Any = None, **metrics: Any) -> None:
        """Call at the end of ``fit``: keeps the training metadata saved with the model."""
        self.meta_ = ArtefactMeta(
            name=self.name,
            detector_class=f"{type(self).__module__}.{type(self).__qualname__}",
            data_fingerprint=fingerprint(X) if isinstance(X, pd.DataFrame | pd.Series | list) else None,
            n_rows=len(X) if hasattr(X, "__len__") else None,
            parameters={k: v for k, v in self.get_params().items() if _jsonable(v)},
            metrics=metrics,
        )

    def check_fitted(self) -> None:
        if not hasattr(self, "meta_"):
            raise ModelError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    def save(self, path: str | Path) -> Path:
        self.check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "model.pkl.tmp"
        pickled = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.write_bytes(pickled)
        tmp.replace(folder / "model.pkl")
        # meta.json: the training metadata (also inside model.pkl) and the SHA-256 of model.pkl, so
        # that load() finds a file swapped, damaged or edited by hand before it unpickles anything
        meta = {**_meta_json(self.meta_), MODEL_HASH_KEY: _sha256(pickled)}
        (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), "utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Detector:
        folder = Path(path)
        meta_file, model_file = folder / "meta.json", folder / "model.pkl"
        if not meta_file.exists() or not model_file.exists():
            raise NotFoundError(f"{folder} is not a fanzha model (needs meta.json and model.pkl)")
        damaged = f"{folder} is not a fanzha model or is damaged"
        try:
            meta = json.loads(meta_file.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{damaged}: meta.json is not JSON ({exc}); retrain the model") from exc
        if not isinstance(meta, dict):
            raise ModelError(f"{damaged}: meta.json is not an object; retrain the model")
        if meta.get("format") != ARTEFACT_FORMAT:
            raise ModelError(
                f"{folder}: artefact format {meta.get('format')} is not {ARTEFACT_FORMAT}; retrain the model"
            )
        module, _, qualname = str(meta.get("detector_class", "")).rpartition(".")
        try:
            saved_class = getattr(importlib.import_module(module), qualname, None)
        except (ImportError, ValueError) as exc:
            raise ModelError(f"{damaged}: its detector class {module!r} is not part of this product") from exc
        if isinstance(saved_class, type) and issubclass(saved_class, Detector):
            _same_kind(folder, saved_class, cls)  # before reading the whole model
        pickled = model_file.read_bytes()
        saved_hash = meta.get(MODEL_HASH_KEY)
        if saved_hash is not None and saved_hash != _sha256(pickled):
            raise ModelError(
                f"{damaged}: model.pkl cannot be read as the model saved with its meta.json (its SHA-256 "
                "differs: truncated, damaged or replaced by another model's file); restore the artefact "
                "folder as saved or retrain the model"
            )
        libraries = meta.get("libraries") if isinstance(meta.get("libraries"), dict) else {}
        differences = version_differences(libraries)
        try:
            model = pickle.loads(pickled)
        except Exception as exc:  # a truncated or foreign file: any unpickling error
            cause = f"; it was {_versions_note(differences)}, the likely cause" if differences else ""
            raise ModelError(
                f"{damaged}: model.pkl cannot be read ({type(exc).__name__}{cause}); retrain the model"
            ) from exc
        if not isinstance(model, cls):
            _same_kind(folder, type(model), cls)
            raise ModelError(f"{folder} holds a {type(model).__name__}, not a {cls.__name__}")
        inside = _meta_json(getattr(model, "meta_", None))
        edited = sorted(
            k
            for k in {*inside, *meta} - {MODEL_HASH_KEY}
            if json.dumps(inside.get(k), sort_keys=True) != json.dumps(meta.get(k), sort_keys=True)
        )
        if edited:
            raise ModelError(
                f"{folder}: meta.json does not describe its model.pkl (not as saved inside the model: "
                f"{', '.join(edited)}): the files were edited by hand or come from different models; "
                "restore the artefact folder as saved or retrain the model"
            )
        if differences:  # recorded at training, never compared before: say so, the scores may differ
            warnings.warn(
                ModelVersionWarning(
                    f"{folder} was {_versions_note(differences)}: its scores may differ from those it gave "
                    "when it was trained; retrain it with the installed libraries, or install those"
                ),
                stacklevel=2,
            )
        return model


MODEL_HASH_KEY = "model_sha256"  # in meta.json only: the SHA-256 of model.pkl


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _meta_json(meta: ArtefactMeta | None) -> dict[str, Any]:
    """The training metadata as meta.json holds it (JSON types: tuples are lists, keys strings)."""
    if meta is None:
        return {}
    loaded: dict[str, Any] = json.loads(json.dumps(asdict(meta), ensure_ascii=False, default=str))
    return loaded


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def score_frame(
    ids: Any,
    probabilities: Any,
    reasons: list[list[Reason]],
    thresholds: dict[str, float] | None = None,
    **extra: Any,
) -> pd.DataFrame:
    """Assemble the standard score table (validates lengths, clips probabilities into [0, 1])."""
    p = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    if len(p) != len(reasons):
        raise ModelError(f"{len(p)} probabilities but {len(reasons)} reason lists")
    frame = pd.DataFrame(
        {
            "id": list(ids),
            "probability": p,
            "tier": tiers_of(p, thresholds),
            "reasons": [[r.to_dict() for r in rs] for rs in reasons],
        }
    )
    for column, values in extra.items():
        frame[column] = list(values)
    return frame


def reasons_text(reasons: list[dict[str, Any]]) -> str:
    """Reasons as one readable string for CSV output: ``code: message; …``."""
    return "; ".join(f"{r['code']}: {r['message']}" for r in reasons)
