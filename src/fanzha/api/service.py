"""The running service: decision engine, key store, limits, and the background writer / refresher.

Requests only touch memory. A background thread (every ``flush_every_s``) writes queued audit rows and
warning tasks to the operational store in batches, appends decisions and shadow verdicts to JSON-lines
logs, and swaps in new risk scores, lists and rule sets when they change.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from fanzha.api.auth import KeyStore, Principal
from fanzha.api.ops_bridge import AuditRow, OpsBridge
from fanzha.api.ratelimit import RateLimiter
from fanzha.decide import sources
from fanzha.decide.engine import Decision, DecisionEngine
from fanzha.decide.features import Scorer
from fanzha.decide.rulebook import RuleBook
from fanzha.decide.state import Directory, RiskState
from fanzha.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ServiceOptions:
    flush_every_s: float = 0.5
    refresh_every_s: float = 10.0
    directory_every_s: float = 300.0  # owner directory re-read from the lake (new accounts and cards)
    public_rate: float = 2.0  # requests/s per public key
    public_burst: int = 20
    failed_auth_rate: float = 1.0  # per client address
    failed_auth_burst: int = 10
    load_lake: bool = True
    load_detectors: bool = True
    decision_log: bool = True
    audit_decisions_each: bool = False  # True: one audit row per decision (slower); else summaries
    tune_gc: bool = False  # the server sets it: freeze the loaded snapshots out of the cyclic GC


@dataclass
class ShadowSummary:
    """Live × draft outcome counts since the draft was installed."""

    draft: str = ""
    live: str = ""
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))

    def follow(self, live: str, draft: str | None) -> None:
        """The counts belong to one live × draft pair: a new draft or live rule set (PUT, a file
        install, promote, rollback) starts them afresh."""
        if (live, draft or "") != (self.live, self.draft):
            self.live, self.draft = live, draft or ""
            self.pairs.clear()
            self.recent.clear()


class DecisionService:
    def __init__(self, settings: Settings, options: ServiceOptions | None = None) -> None:
        self.settings = settings
        self.options = options or ServiceOptions()
        self.started = datetime.now(UTC)
        self.keys = KeyStore.of(settings)
        self.public_limiter = RateLimiter(self.options.public_rate, self.options.public_burst)
        self.auth_limiter = RateLimiter(self.options.failed_auth_rate, self.options.failed_auth_burst)
        self.ops = OpsBridge(settings.ops)
        self.rulebook = RuleBook(settings.home / "rules")
        self.state = RiskState()
        self.shadow = ShadowSummary()
        self._audit: deque[AuditRow] = deque()
        self._warnings: deque[Decision] = deque()
        self._decisions: deque[Decision] = deque()
        self._tips: deque[dict[str, Any]] = deque()
        self._decision_events: deque[tuple[str, str, str, str]] = (
            deque()
        )  # appended on the loop, drained here
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._scores_stamp: tuple[Any, ...] | None = None
        self._last_refresh = 0.0
        self._directory_loaded = 0.0
        self.counters: Counter[str] = Counter()
        text: Scorer | None = None
        url: Scorer | None = None
        versions: dict[str, str] = {}
        if self.options.load_detectors:
            text, url, versions = sources.load_detectors(settings)
        self.engine = DecisionEngine(
            self.state,
            self.rulebook,
            text_scorer=text,
            url_scorer=url,
            model_versions=versions,
            on_decision=self._on_decision,
            on_warning=self._warnings.append,
            on_shadow=self._on_shadow,
        )
        self.refresh(initial=True)

    # lifecycle --------------------------------------------------------------------------------------
    def _freeze_heap(self) -> None:
        """Move what is loaded now (hundreds of thousands of scores, directory entries) out of the cyclic
        garbage collector's reach: full collections otherwise rescan it all, which measured ~40 % of a
        decision request. Snapshots hold no reference cycles, so replaced ones are still freed."""
        if self.options.tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 100)

    def start(self) -> None:
        self._freeze_heap()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="fanzha-api-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()
        self.ops.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.options.flush_every_s):
            try:
                self.flush()
                if time.monotonic() - self._last_refresh >= self.options.refresh_every_s:
                    self.refresh()
            except Exception:  # the writer must survive a bad batch; the error is logged with its rows
                log.exception("background writer failed; will retry")

    # refresh ----------------------------------------------------------------------------------------
    def refresh(self, *, initial: bool = False) -> None:
        """Swap in changed scores, lists and directory (each built off the request path)."""
        self._last_refresh = time.monotonic()
        stamp = sources.scores_stamp(self.settings)
        if stamp != self._scores_stamp:
            self.state.scores = sources.load_scores(self.settings)
            self._scores_stamp = stamp
            if not initial:
                self._freeze_heap()
        try:
            lists = self.ops.lists_snapshot()
        except Exception as exc:  # an unreachable store keeps the last lists in force
            log.warning("lists not refreshed: %s", exc)
            lists = None
        if lists is not None:
            self.state.lists = lists
        due = time.monotonic() - self._directory_loaded >= self.options.directory_every_s
        if self.options.load_lake and (initial or due):
            self._directory_loaded = time.monotonic()
            self.state.directory = sources.lake_directory(self.settings)

    def set_directory(self, directory: Directory) -> None:
        self.state.directory = directory

    # queues -----------------------------------------------------------------------------------------
    def _on_decision(self, d: Decision) -> None:
        self.counters[f"{d.event}:{d.outcome}"] += 1
        if self.options.decision_log:
            self._decisions.append(d)

    def _on_shadow(self, d: Decision) -> None:
        assert d.shadow is not None
        self.shadow.follow(d.versions["rules"], d.shadow.ruleset)
        self.shadow.pairs[(d.outcome, d.shadow.outcome)] += 1
        if d.outcome != d.shadow.outcome:
            self.shadow.recent.append(
                {
                    "decision_id": d.decision_id,
                    "event": d.event,
                    "live": d.outcome,
                    "draft": d.shadow.outcome,
                    "draft_reasons": [r["code"] for r in d.shadow.reasons],
                }
            )

    def audit(
        self,
        who: Principal,
        action: str,
        *,
        subject_kind: str | None = None,
        subject_id: str | None = None,
        detail: dict[str, Any] | None = None,
        purpose: str = "api request",
    ) -> None:
        self._audit.append(
            AuditRow(
                who.actor,
                who.role,
                action,
                purpose,
                subject_kind,
                subject_id,
                detail or {},
                datetime.now(UTC),
            )
        )

    def audit_decision(self, who: Principal, d: Decision) -> None:
        if self.options.audit_decisions_each:
            self.audit(who, f"decide.{d.event}", subject_kind="decision", subject_id=d.decision_id)
        else:  # summarised per key, event and outcome at each flush; each decision is in the decision log
            self._decision_events.append((who.actor, who.role, d.event, d.outcome))

    def queue_tip(self, row: dict[str, Any]) -> None:
        self._tips.append(row)

    def flush(self) -> None:
        """Write everything queued; a caller that flushes waits for a flush already in progress, so
        after it returns, everything queued before the call is stored (the audit read relies on it)."""
        with self._flush_lock:
            self._flush_tips()
            self._flush_decisions()
            self._flush_audit()
            self._flush_warnings()

    def _drain(self, q: deque[Any]) -> list[Any]:
        items = []
        while q:
            items.append(q.popleft())
        return items

    def _flush_audit(self) -> None:
        counts = Counter(self._drain(self._decision_events))
        now = datetime.now(UTC)
        for (actor, role, event, outcome), n in counts.items():
            self._audit.append(
                AuditRow(
                    actor,
                    role,
                    f"decide.{event}",
                    "real-time decision",
                    "decisions",
                    None,
                    {"outcome": outcome, "count": n, "log": str(self._log_path("decisions"))},
                    now,
                )
            )
        rows = self._drain(self._audit)
        if rows:
            try:
                self.ops.write_audit(rows)
                self.counters["audit_rows"] += len(rows)
            except Exception as exc:
                log.error("audit rows not written (%s); kept in %s", exc, self._log_path("audit-fallback"))
                self._append_lines("audit-fallback", [r.__dict__ for r in rows])

    def _flush_warnings(self) -> None:
        items = self._drain(self._warnings)
        if items:
            try:
                self.counters["warnings_created"] += self.ops.create_warnings(items)
            except Exception as exc:
                log.error(
                    "warning tasks not created (%s); kept in %s", exc, self._log_path("warnings-pending")
                )
                self._append_lines("warnings-pending", [_decision_line(d) for d in items])

    def _flush_tips(self) -> None:
        """Land queued tips in one ingest batch (the ingest area validates and keeps rejects)."""
        rows = self._drain(self._tips)
        if not rows:
            return
        from fanzha.demo import module_exists

        if module_exists("fanzha.ingest.api"):
            import tempfile

            from fanzha.ingest.api import ingest_path

            try:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "tips.jsonl"
                    path.write_bytes(b"".join(orjson.dumps(r, default=str) + b"\n" for r in rows))
                    report = ingest_path(path, "tips", self.settings)
                self.counters["tips_landed"] += report.landed
                return
            except Exception as exc:
                log.error("tips not landed (%s); kept in the inbox", exc)
        self._append_lines("tips-inbox", rows)

    def _flush_decisions(self) -> None:
        items = self._drain(self._decisions)
        if items:
            self._append_lines("decisions", [_decision_line(d) for d in items])

    def _log_path(self, name: str) -> Path:
        return self.settings.home / "api" / "logs" / f"{name}-{datetime.now(UTC):%Y%m%d}.jsonl"

    def _append_lines(self, name: str, rows: list[dict[str, Any]]) -> None:
        path = self._log_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as fh:
            fh.write(b"".join(orjson.dumps(r, default=str) + b"\n" for r in rows))


def _decision_line(d: Decision) -> dict[str, Any]:
    line = dict(d.public())
    line["at"] = d.at.isoformat()
    line["subject"] = d.subject
    if d.shadow is not None:
        line["shadow"] = {
            "outcome": d.shadow.outcome,
            "score": round(d.shadow.score, 4),
            "reasons": [r["code"] for r in d.shadow.reasons],
            "rules": d.shadow.ruleset,
        }
    return line
