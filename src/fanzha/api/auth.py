"""API keys (stored hashed), roles and what each role may do.

A key looks like ``fz_<key id>_<secret>``. Only ``HMAC-SHA256(settings.secret_key, secret)`` is stored
(in ``<home>/api/keys.json``), so a copy of the key file does not give access. A key carries a role
and a party: the bank's name for a bank (it sees fund-control commands for accounts of that bank), the
carrier for a telecom, the platform name for a platform, and the holder's own ID number for a member
of the public (一证通查 lists only that ID's cards).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fanzha.errors import AccessDenied, ConflictError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from fanzha.settings import Settings

ROLES = ("police", "bank", "telecom", "platform", "procurator", "public")
# a key's name is logged as "<role>:<name>" in the audit log's 128-character actor column
MAX_KEY_NAME = 100

# permission → roles allowed. The access-matrix test reads this table and checks every endpoint.
PERMISSIONS: dict[str, frozenset[str]] = {
    "decide:call": frozenset({"police", "telecom"}),
    "decide:sms": frozenset({"police", "telecom", "platform"}),
    "decide:url": frozenset({"police", "platform", "telecom"}),
    "decide:payment": frozenset({"police", "bank"}),
    "lookup": frozenset(ROLES),
    "phonecards:self": frozenset({"public"}),
    "phonecards:any": frozenset({"police"}),
    "tips:create": frozenset(ROLES),
    "ingest": frozenset({"police", "bank", "telecom", "platform"}),
    "fundcontrol:read": frozenset({"police", "bank"}),
    "fundcontrol:receipt": frozenset({"bank"}),
    "interceptions:create": frozenset({"telecom"}),
    "rules:read": frozenset({"police", "procurator"}),
    "rules:write": frozenset({"police"}),
    "audit:read": frozenset({"police", "procurator"}),
    "status:read": frozenset(ROLES),
}
# record kinds each party may ingest over HTTP (its own data only)
INGEST_KINDS: dict[str, frozenset[str]] = {
    "police": frozenset({"people", "cases", "tips"}),
    "bank": frozenset({"accounts", "transfers", "withdrawals", "logins"}),
    "telecom": frozenset({"phone_cards", "devices", "calls", "sms", "topups", "data_usage"}),
    "platform": frozenset({"urls", "app_accounts"}),
}
# roles that see scores, reasons and unmasked identifiers of suspects in lookups
DETAIL_ROLES = frozenset({"police", "procurator"})
PARTY_ROLES = frozenset({"bank", "telecom", "platform"})


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    party: str
    name: str

    def allowed(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    def require(self, permission: str) -> None:
        if not self.allowed(permission):
            raise AccessDenied(
                f"role {self.role!r} may not {permission}; roles allowed: "
                f"{', '.join(sorted(PERMISSIONS[permission]))}"
            )

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


@dataclass
class KeyRecord:
    key_id: str
    digest: str
    role: str
    party: str
    name: str
    created_at: str
    revoked: bool = False


def _digest(secret_key: str, secret: str) -> str:
    return hmac.new(secret_key.encode(), secret.encode(), hashlib.sha256).hexdigest()


class KeyStore:
    """Hashed API keys in a JSON file, cached in memory and re-read when the file changes."""

    def __init__(self, path: Path, secret_key: str) -> None:
        self.path = path
        self.secret_key = secret_key
        self._keys: dict[str, KeyRecord] = {}
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._checked = 0.0
        self.reload()

    @classmethod
    def of(cls, settings: Settings) -> KeyStore:
        """The key store of these settings (``<home>/api/keys.json``; tokens signed with ``secret_key``)."""
        return cls(settings.home / "api" / "keys.json", settings.secret_key)

    def reload(self) -> None:
        try:
            st = self.path.stat()
        except OSError:
            self._keys, self._stamp = {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        raw = json.loads(self.path.read_text("utf-8"))
        self._keys = {k["key_id"]: KeyRecord(**k) for k in raw.get("keys", [])}
        self._stamp = stamp

    def maybe_reload(self, now: float) -> None:
        if now - self._checked >= 2.0:  # one stat every 2 s at most: revocations apply within seconds
            self._checked = now
            self.reload()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        body = {"keys": [asdict(k) for k in self._keys.values()]}
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1), "utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.path)
        self._stamp = None
        self.reload()

    def create(self, role: str, party: str, name: str) -> str:
        """Create a key; returns the full key, shown once (only its hash is kept)."""
        if role not in ROLES:
            raise ValidationError(f"role {role!r} is not one of {', '.join(ROLES)}", value=role)
        party = party.strip()
        if len(name) > MAX_KEY_NAME:
            raise ValidationError(
                f"key name {name[:40]!r}… has {len(name)} characters; give at most {MAX_KEY_NAME} "
                "(it names the holder in the audit log)",
                value=name,
            )
        if role != "police" and role != "procurator" and not party:
            raise ValidationError(f"a {role} key needs --party (bank name, carrier, platform or own ID)")
        if role == "public":
            from fanzha.records.normalise import normalise_id_number

            party = normalise_id_number(party)
        with self._lock:
            self.reload()
            key_id = secrets.token_hex(6)
            if key_id in self._keys:
                raise ConflictError(f"key id {key_id} already exists; try again")
            secret = secrets.token_urlsafe(24).replace("_", "x")
            self._keys[key_id] = KeyRecord(
                key_id,
                _digest(self.secret_key, secret),
                role,
                party,
                name or f"{role}-{key_id}",
                datetime.now(UTC).isoformat(timespec="seconds"),
            )
            self._save()
        return f"fz_{key_id}_{secret}"

    def revoke(self, key_id: str) -> None:
        with self._lock:
            self.reload()
            if key_id not in self._keys:
                raise NotFoundError(f"no API key {key_id!r}; list keys with `fanzha api-key list`")
            self._keys[key_id].revoked = True
            self._save()

    def records(self) -> list[KeyRecord]:
        return list(self._keys.values())

    def authenticate(self, presented: str) -> Principal:
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != "fz":
            raise AccessDenied("API key is malformed; send 'Authorization: Bearer fz_<id>_<secret>'")
        record = self._keys.get(parts[1])
        if (
            record is None
            or record.revoked
            or not hmac.compare_digest(record.digest, _digest(self.secret_key, parts[2]))
        ):
            raise AccessDenied("API key is unknown or revoked; ask the administrator for a key")
        return Principal(record.key_id, record.role, record.party, record.name)
