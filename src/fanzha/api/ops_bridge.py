"""The API's narrow door into the operational store (``fanzha.ops``): audit, warnings, lists, fund control.

Everything here runs in the background writer or on non-hot endpoints, never on the decision path.
The ops area owns the logic; this module only adapts calls. Parts of ops that are not installed
make the matching endpoint answer 503 with a clear message instead of a second implementation.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fanzha.decide.engine import Decision
from fanzha.decide.state import ListEntry, Lists
from fanzha.demo import module_exists
from fanzha.errors import FanzhaError

log = logging.getLogger(__name__)

TYPED = {"number": "phone", "account": "account", "host": "url"}
STATUS = {"fatal_block": "block", "block": "block", "allow": "allow", "warn": "watch"}
SIGNAL_KIND = {"call": "call", "sms": "sms", "payment": "pending_transfer", "url": "url_visit"}


def _entry(verdict: Any) -> ListEntry | None:
    """An ops list verdict as the decision state's entry (None when the identifier is on no list)."""
    if verdict.action == "none" or not verdict.matched:
        return None
    top = verdict.matched[0]
    status = STATUS.get(top["action"], "watch")
    return ListEntry(status, str(top.get("reason") or ""), str(top.get("source") or ""), str(top["entry_id"]))


class Unavailable(FanzhaError, RuntimeError):
    """A part of the operational store this endpoint needs is not installed or not reachable."""


@dataclass(frozen=True)
class AuditRow:
    actor: str
    role: str
    action: str
    purpose: str
    subject_kind: str | None
    subject_id: str | None
    detail: dict[str, Any]
    at: datetime


def _module(name: str) -> Any:
    full = f"fanzha.ops.{name}"
    if not module_exists(full):
        raise Unavailable(f"{full} is not installed; this endpoint needs the operational store (fanzha.ops)")
    return importlib.import_module(full)


class OpsBridge:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            from fanzha.ops.store import open_store

            try:
                self._store = open_store(self.dsn)
            except FanzhaError as exc:  # the server's store is down or misconfigured: not the caller's input
                raise Unavailable(str(exc)) from None
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def actor(self, name: str, role: str, purpose: str) -> Any:
        from fanzha.ops.audit import Actor

        return Actor(name, role, purpose)

    # audit -----------------------------------------------------------------------------------------
    def write_audit(self, rows: Iterable[AuditRow]) -> int:
        audit = _module("audit")
        n = 0
        with self.store.transaction() as session:
            for r in rows:
                audit.append(
                    session,
                    audit.Actor(r.actor, r.role, r.purpose),
                    r.action,
                    subject_kind=r.subject_kind,
                    subject_id=r.subject_id,
                    detail=r.detail,
                    now=r.at,
                )
                n += 1
        return n

    def read_audit(self, actor: Any, *, subject_id: str | None, action: str | None, limit: int) -> list[Any]:
        return list(
            _module("audit").entries(self.store, actor, subject_id=subject_id, action=action, limit=limit)
        )

    # warnings --------------------------------------------------------------------------------------
    def create_warnings(self, decisions: Iterable[Decision]) -> int:
        warnings = _module("warnings")
        from fanzha.ops.audit import SYSTEM

        created = 0
        for d in decisions:
            person = d.subject.split(":", 1)[1] if ":" in d.subject else d.subject
            event = warnings.SignalEvent(
                kind=SIGNAL_KIND[d.event],
                person_id=person,
                occurred_at=d.at,
                counterpart=d.counterpart or "unknown",
                counterpart_risk=min(max(d.score, 0.0), 1.0),
                amount_fen=d.amount_fen,
                phone=d.phone if d.phone and not d.phone.startswith("+") else None,
                event_id=d.decision_id,
            )
            try:
                warnings.create_warning(self.store, event, SYSTEM, now=d.at)
                created += 1
            except FanzhaError as exc:  # a stale or incomplete signal is logged, not fatal
                log.warning("warning task for %s not created: %s", d.decision_id, exc)
        return created

    # lists -----------------------------------------------------------------------------------------
    def lists_snapshot(self, now: datetime | None = None) -> Lists | None:
        """Every live list entry, resolved per identifier with ops' own precedence (``lists.decide``)."""
        if not module_exists("fanzha.ops.lists"):
            return None
        from sqlalchemy import select

        from fanzha.ops import lists
        from fanzha.ops.models import ListEntry as Row
        from fanzha.records.normalise import url_host

        now = now or datetime.now(UTC)
        with self.store.transaction() as session:
            rows = list(session.execute(select(Row).where(*lists.in_force(now))).scalars())
            session.expunge_all()
        groups: dict[tuple[str, str, str], list[Any]] = {}
        for r in rows:
            groups.setdefault((r.kind, r.match, r.value), []).append(r)
        entries: dict[str, ListEntry] = {}
        for (kind, match, value), group in groups.items():
            if match == "exact" and kind in TYPED:
                entry = _entry(lists.decide(kind, value, group))
                if entry is not None:
                    entries[f"{TYPED[kind]}:{value}"] = entry
        digest = hashlib.sha256("|".join(sorted(r.id for r in rows)).encode()).hexdigest()[:10]
        snapshot = Lists(entries, f"ops:{len(rows)}@{digest}")

        def of_host(host: str) -> list[Any]:
            return [
                *groups.get(("host", "exact", host), []),
                *(e for s in lists._suffixes(host) for e in groups.get(("host", "suffix", s), [])),
            ]

        if any(m == "suffix" for (_, m, _) in groups):
            snapshot.host_resolver = lambda host: _entry(lists.decide("host", host, of_host(host)))
        # a URL listed as itself is decided with its host's entries, as `fanzha lists check url` does
        snapshot.urls = {
            value: _entry(lists.decide("url", value, [*group, *of_host(url_host(value))]))
            for (kind, match, value), group in groups.items()
            if kind == "url" and match == "exact"
        }
        return snapshot

    # fund control ------------------------------------------------------------------------------------
    def fundcontrol(self) -> Any:
        return _module("fundcontrol")
