"""The installation's audit key: the secret the audit chain, checkpoints and backup manifests are
keyed with (HMAC-SHA256), kept outside the database.

Where it comes from, first match wins:

``DOSEMAP_AUDIT_KEY``
    For servers: one or more secrets separated by commas, oldest first; the last one signs new
    entries, the others still verify the entries they signed (after a key rotation).
``<data dir>/audit.key``
    Default: one secret per line, oldest first, created on first use with mode 0600.

Each secret has a short public id (``key_id``), stored with what it signed, so a rotated key
keeps verifying the entries written before the rotation. Whoever can read the key can forge the
chain: keep it where the database's users cannot read it (see SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from dosemap.config import load_settings
from dosemap.domain.errors import DosemapError

AUDIT_KEY_ENV = "DOSEMAP_AUDIT_KEY"
KEY_FILENAME = "audit.key"
_MIN_SECRET_CHARS = 16


class AuditKeyError(DosemapError):
    """The audit key is missing, unreadable or too short."""


def key_id(secret: bytes) -> str:
    """The public id of a secret (16 hex digits; says which key signed, reveals nothing)."""
    return hashlib.sha256(b"dosemap-audit-key-id\0" + secret).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeys:
    """Every known secret by id; ``current`` signs what is written now."""

    by_id: dict[str, bytes]
    current: str
    source: str

    def mac(self, message: bytes, kid: str | None = None) -> str:
        """HMAC-SHA256 of ``message`` under key ``kid`` (default: the current key)."""
        secret = self.secret(kid or self.current)
        return hmac.new(secret, message, hashlib.sha256).hexdigest()

    def secret(self, kid: str) -> bytes:
        """The secret with this id, or :class:`AuditKeyError` naming the id."""
        try:
            return self.by_id[kid]
        except KeyError:
            raise AuditKeyError(
                f"audit key {kid} is not among the keys in {self.source} (was it rotated away?)"
            ) from None


def _parse(secrets_text: list[str], source: str) -> AuditKeys:
    values = [s.strip() for s in secrets_text if s.strip() and not s.strip().startswith("#")]
    if not values:
        raise AuditKeyError(f"{source} holds no audit key")
    for value in values:
        if len(value) < _MIN_SECRET_CHARS:
            raise AuditKeyError(
                f"{source}: an audit key must be at least {_MIN_SECRET_CHARS} characters"
            )
    by_id = {key_id(v.encode()): v.encode() for v in values}
    return AuditKeys(by_id, key_id(values[-1].encode()), source)


def key_file(data_dir: Path | None = None) -> Path:
    """``<data dir>/audit.key``."""
    return (data_dir or load_settings().data_dir) / KEY_FILENAME


_cache: dict[tuple[str, float], AuditKeys] = {}


def load_keys() -> AuditKeys:
    """The installation's keys (``DOSEMAP_AUDIT_KEY``, else the key file, created if missing)."""
    env = os.environ.get(AUDIT_KEY_ENV)
    if env:
        cached = _cache.get((env, -1.0))
        if cached is None:
            cached = _cache[(env, -1.0)] = _parse(env.split(","), AUDIT_KEY_ENV)
        return cached
    path = key_file()
    if not path.exists():
        _create(path)
    try:
        stamp = path.stat().st_mtime
        cached = _cache.get((str(path), stamp))
        if cached is None:
            cached = _parse(path.read_text().splitlines(), str(path))
            _cache[(str(path), stamp)] = cached
        return cached
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key {path}: {exc.strerror}") from None


def _create(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first
    except OSError as exc:
        raise AuditKeyError(f"cannot create the audit key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")


def rotate() -> tuple[AuditKeys, str | None]:
    """Add a new current key. With the key file, it is appended (0600, old keys kept); with
    ``DOSEMAP_AUDIT_KEY`` the new value is returned for the operator to set."""
    new = secrets.token_hex(32)
    env = os.environ.get(AUDIT_KEY_ENV)
    if env:
        value = f"{env},{new}"
        return _parse(value.split(","), AUDIT_KEY_ENV), value
    path = key_file()
    load_keys()  # creates the file if there is none
    with path.open("a") as fh:
        fh.write(new + "\n")
    os.chmod(path, 0o600)
    _cache.clear()
    return load_keys(), None
