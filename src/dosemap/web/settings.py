"""The web app's settings, read from the environment once when the app is built.

Every variable is listed in ``docs/deploy.md`` (``tests/web/test_settings.py`` checks the table
against :data:`ENVIRONMENT`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from dosemap.config import Settings, load_settings
from dosemap.services.consent import MAX_SIGNATURE_URL_CHARS
from dosemap.services.photos import MAX_PHOTO_BYTES
from dosemap.web.body_limit import (
    CONSENT_BODY_BYTES,
    DEFAULT_BODY_BYTES,
    KIB,
    PHOTO_BODY_BYTES,
    size_text,
)

#: Environment variable -> (default, what it does). docs/deploy.md shows this table.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "DOSEMAP_DATA_DIR": (
        "platform user data dir",
        "Where the SQLite database, photos and backups live.",
    ),
    "DOSEMAP_DATABASE_URL": (
        "sqlite:///<data dir>/dosemap.sqlite3",
        "The records database; `postgresql://user@host/db` for several workers or sites.",
    ),
    "DOSEMAP_REDIS_URL": (
        "(unset)",
        "Keep signed-in sessions in Redis instead of the database, and run photo analyses on "
        "its job queue (start `dosemap worker` beside the server) instead of in the server.",
    ),
    "DOSEMAP_JOB_QUEUE": ("dosemap-photos", "The Redis queue's name (server and worker alike)."),
    "DOSEMAP_WEB_IDLE_MINUTES": ("15", "Sign out after this many minutes without a request."),
    "DOSEMAP_WEB_SESSION_HOURS": (
        "12",
        "Sign out this many hours after signing in, active or not.",
    ),
    "DOSEMAP_WEB_SECURE_COOKIES": (
        "1 unless bound to loopback",
        "Mark cookies Secure (set 1 behind HTTPS; `dosemap serve` sets 0 on 127.0.0.1).",
    ),
    "DOSEMAP_WEB_LOGIN_ATTEMPTS": ("5", "Wrong passwords in a row that lock an account."),
    "DOSEMAP_WEB_LOCKOUT_MINUTES": ("15", "How long a locked account stays locked."),
    "DOSEMAP_WEB_LOGIN_RATE": ("10", "Sign-in attempts per minute allowed from one address."),
    "DOSEMAP_WEB_HSTS": ("0", "Send Strict-Transport-Security (set 1 when served over HTTPS)."),
    "DOSEMAP_WEB_BODY_LIMIT_KIB": (
        f"{DEFAULT_BODY_BYTES // KIB} ({size_text(DEFAULT_BODY_BYTES)})",
        "Largest request body (KiB) of a form or API call; a larger one is refused (413) "
        "before it is read. The two below are the exceptions.",
    ),
    "DOSEMAP_WEB_PHOTO_BODY_LIMIT_KIB": (
        f"{PHOTO_BODY_BYTES // KIB} ({size_text(PHOTO_BODY_BYTES)})",
        f"Largest photo upload (KiB): a photo up to the photo store's limit "
        f"({size_text(MAX_PHOTO_BYTES)}, which holds whatever this says) and its form.",
    ),
    "DOSEMAP_WEB_CONSENT_BODY_LIMIT_KIB": (
        f"{CONSENT_BODY_BYTES // KIB} ({size_text(CONSENT_BODY_BYTES)})",
        f"Largest signed-consent form (KiB): the drawn signature's data URL (at most "
        f"{MAX_SIGNATURE_URL_CHARS:,} characters, each up to 3 bytes once form-encoded) and "
        "the other fields.",
    ),
}


def _int(env: dict[str, str] | os._Environ[str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a whole number") from None
    if value <= 0:
        raise ValueError(f"{name}: must be > 0, got {value}")
    return value


def _kib(env: dict[str, str] | os._Environ[str], name: str, default_bytes: int) -> int:
    """A size set in KiB, in bytes."""
    return _int(env, name, default_bytes // KIB) * KIB


@dataclass(frozen=True)
class WebSettings:
    """What the web app needs to know at start."""

    records: Settings
    redis_url: str | None = None
    idle_timeout: timedelta = timedelta(minutes=15)
    absolute_lifetime: timedelta = timedelta(hours=12)
    secure_cookies: bool = True
    hsts: bool = False
    login_attempts: int = 5
    lockout: timedelta = timedelta(minutes=15)
    login_rate_per_minute: int = 10
    job_queue: str = "dosemap-photos"
    body_limit: int = DEFAULT_BODY_BYTES  # bytes, as are the two below
    photo_body_limit: int = PHOTO_BODY_BYTES
    consent_body_limit: int = CONSENT_BODY_BYTES
    extra: dict[str, str] = field(default_factory=dict)


def load_web_settings(
    environ: dict[str, str] | None = None, *, loopback: bool = False
) -> WebSettings:
    """Read the settings; ``loopback`` (serving on 127.0.0.1 only) defaults cookies to
    not-Secure so that plain http://127.0.0.1 works for a demo."""
    env = os.environ if environ is None else environ
    secure_raw = env.get("DOSEMAP_WEB_SECURE_COOKIES", "")
    secure = secure_raw not in ("0", "false", "no") if secure_raw else not loopback
    return WebSettings(
        records=load_settings(dict(env)),
        redis_url=env.get("DOSEMAP_REDIS_URL") or None,
        idle_timeout=timedelta(minutes=_int(env, "DOSEMAP_WEB_IDLE_MINUTES", 15)),
        absolute_lifetime=timedelta(hours=_int(env, "DOSEMAP_WEB_SESSION_HOURS", 12)),
        secure_cookies=secure,
        hsts=env.get("DOSEMAP_WEB_HSTS", "0") in ("1", "true", "yes"),
        login_attempts=_int(env, "DOSEMAP_WEB_LOGIN_ATTEMPTS", 5),
        lockout=timedelta(minutes=_int(env, "DOSEMAP_WEB_LOCKOUT_MINUTES", 15)),
        login_rate_per_minute=_int(env, "DOSEMAP_WEB_LOGIN_RATE", 10),
        job_queue=env.get("DOSEMAP_JOB_QUEUE") or "dosemap-photos",
        body_limit=_kib(env, "DOSEMAP_WEB_BODY_LIMIT_KIB", DEFAULT_BODY_BYTES),
        photo_body_limit=_kib(env, "DOSEMAP_WEB_PHOTO_BODY_LIMIT_KIB", PHOTO_BODY_BYTES),
        consent_body_limit=_kib(env, "DOSEMAP_WEB_CONSENT_BODY_LIMIT_KIB", CONSENT_BODY_BYTES),
    )
