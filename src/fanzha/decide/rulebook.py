"""The live and draft rule sets, re-read when their files change (no redeploy).

Rule files live in ``<settings.home>/rules/{live,draft}.json``; when the live file is absent the
packaged default (``fanzha/decide/rules/live.json``) is used. :meth:`RuleBook.refresh` costs one
``stat`` per file and is called at most once a second from the request path; a file that fails
validation is refused with its reason and the previous rule set stays in force.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fanzha.decide.features import FEATURES
from fanzha.decide.ruleset import RuleSet, load_ruleset, parse_ruleset, read_document
from fanzha.errors import ConfigError, NotFoundError

PACKAGED = Path(__file__).with_name("rules")
PREVIOUS = "live.previous.json"  # the live rule set before the last install / promote / rollback
log = logging.getLogger(__name__)


class RuleBook:
    def __init__(self, folder: Path | None = None, *, check_every_s: float = 1.0) -> None:
        self.folder = folder
        self.check_every_s = check_every_s
        self.live: RuleSet = load_ruleset(PACKAGED / "live.json", FEATURES)
        self.draft: RuleSet | None = None
        self._documents: dict[str, dict[str, Any]] = {}  # the documents of the rule sets in force
        self.last_error: str | None = None
        self._stamps: dict[str, tuple[int, int] | None] = {"live": None, "draft": None}
        self._checked = 0.0
        self.refresh(force=True)

    def path(self, name: str) -> Path | None:
        return self.folder / f"{name}.json" if self.folder else None

    def _stamp(self, path: Path | None) -> tuple[int, int] | None:
        try:
            st = path.stat() if path else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st else None

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read changed rule files; True when a rule set changed."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_every_s:
            return False
        self._checked = now
        changed = False
        for name in ("live", "draft"):
            path = self.path(name)
            stamp = self._stamp(path)
            if stamp == self._stamps[name] and not force:
                continue
            self._stamps[name] = stamp
            try:
                document = read_document(path) if stamp and path else None
                loaded = parse_ruleset(document, FEATURES) if document is not None else None
            except ConfigError as exc:
                self.last_error = f"{name}: {exc}"
                if name == "live" and "live" not in self._documents and self._start_from_previous(exc):
                    changed = True
                    continue
                log.error("rule set %s refused, previous one stays in force: %s", name, exc)
                continue
            if name == "live":
                self.live = loaded or load_ruleset(PACKAGED / "live.json", FEATURES)
            else:
                self.draft = loaded
            if document is None:
                self._documents.pop(name, None)
            else:
                self._documents[name] = document
            changed = True
        return changed

    def _start_from_previous(self, exc: ConfigError) -> bool:
        """A broken live.json when nothing installed is in force yet (the service starting): the
        set installed before it (``live.previous.json``) rather than the packaged default, which
        would drop the installed rules in silence on a restart. False when there is none."""
        path = self.folder / PREVIOUS if self.folder else None
        try:
            document = read_document(path) if path and path.is_file() else None
            loaded = parse_ruleset(document, FEATURES) if document is not None else None
        except ConfigError:
            return False
        if loaded is None or document is None:
            return False
        self.live, self._documents["live"] = loaded, document
        log.error(
            "live rule set refused (%s); the previously installed set %s from %s is in force, not the "
            "packaged default: fix live.json or run `fanzha rules rollback`",
            exc,
            loaded.label,
            PREVIOUS,
        )
        return True

    def document(self, name: str) -> dict[str, Any]:
        """The document of the rule set in force (not the file, which may hold a refused edit)."""
        if name in self._documents:
            return copy.deepcopy(self._documents[name])
        if name == "live":
            return dict(json.loads((PACKAGED / "live.json").read_text("utf-8")))
        raise NotFoundError(f"no {name} rule set; PUT one to /v1/rules/{name} or write {self.path(name)}")

    def write(self, name: str, document: dict[str, Any]) -> RuleSet:
        """Validate and store a rule set document (atomically); it is live at the next refresh.

        Installing a live rule set keeps the one in force as ``live.previous.json`` (see
        :meth:`rollback`), whether it came from a file, a promote or the packaged default.
        """
        if name not in ("live", "draft"):
            raise NotFoundError(f"rule set {name!r} does not exist; use live or draft")
        if self.folder is None:
            raise ConfigError("this rule book has no folder to write to; start with settings.home")
        ruleset = parse_ruleset(document, FEATURES)
        with self._locked():
            self._write(name, document)
        return ruleset

    def _write(self, name: str, document: dict[str, Any]) -> None:
        assert self.folder is not None
        if name == "live":
            self._keep_previous(document)
        self._store(self.folder / f"{name}.json", document)
        self.refresh(force=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One change of the rule files at a time, across threads and processes (installs, promote,
        rollback): live.json and live.previous.json must change together."""
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _keep_previous(self, document: dict[str, Any]) -> None:
        """Save the live rule set in force as ``live.previous.json`` before ``document`` replaces it."""
        assert self.folder is not None
        self.refresh(force=True)
        current = self.document("live")  # the rule set in force, never a refused file
        if current != document:  # installing the same set twice must not lose the real previous one
            self._store(self.folder / PREVIOUS, current)

    @staticmethod
    def _store(path: Path, document: dict[str, Any]) -> None:
        # a temporary file of its own: a shared name let two writers interleave into one file
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(document, fh, ensure_ascii=False, indent=2)
            os.chmod(tmp, 0o644)  # as an ordinary file (mkstemp makes it 600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def promote(self) -> RuleSet:
        """Make the draft the live rule set (the old live one is kept as ``live.previous.json``)."""
        if self.draft is None or self.folder is None:
            raise NotFoundError("there is no draft rule set to promote; PUT one to /v1/rules/draft first")
        with self._locked():
            self.refresh(force=True)
            if self.draft is None:
                raise NotFoundError("there is no draft rule set to promote; PUT one to /v1/rules/draft first")
            self._write("live", self.document("draft"))  # live.json replaced in one step, never absent
            (self.folder / "draft.json").unlink(missing_ok=True)
            self.refresh(force=True)
        return self.live

    def rollback(self) -> RuleSet:
        """Put ``live.previous.json`` back in force; the live rule set it replaces becomes the previous
        one (a second rollback rolls forward again)."""
        path = self.folder / PREVIOUS if self.folder else None
        if path is None or not path.exists():
            raise NotFoundError(
                f"there is no previous live rule set to roll back to ({path or 'no rules folder'}); "
                "one is kept each time a live rule set is installed or promoted"
            )
        with self._locked():
            document = read_document(path)
            ruleset = parse_ruleset(document, FEATURES)
            self._write("live", document)
        return ruleset
