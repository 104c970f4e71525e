"""``dosemap backup`` / ``dosemap restore`` for both back ends.

SQLite uses the online backup API (a consistent copy while the clinic keeps working);
PostgreSQL uses ``pg_dump -Fc`` / ``pg_restore`` (Debian's ``postgresql-client``). Every backup
gets a manifest beside it (``<file>.json``): SHA-256 of the file and the audit chain's head.
Restore checks the file's checksum, restores, verifies the whole audit chain and that its head
is the one the manifest recorded; anything else raises :class:`IntegrityError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from dosemap.persistence.audit import ChainReport
from dosemap.persistence.db import Database
from dosemap.persistence.errors import IntegrityError, StorageError
from dosemap.persistence.migrate import current_revision
from dosemap.persistence.unit_of_work import reading


@dataclass(frozen=True)
class BackupManifest:
    """What a backup holds and how to check it."""

    format: str  # "sqlite" or "pg_dump"
    created_at: str
    sha256: str
    audit_head_seq: int
    audit_head_hash: str
    schema_revision: str | None

    def write(self, path: Path) -> None:
        """Save beside the backup file."""
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> BackupManifest:
        """Load a manifest; names the file when it is missing or malformed."""
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise IntegrityError(f"backup manifest {path.name}: {type(exc).__name__}") from None


def manifest_path(backup_file: Path) -> Path:
    """``<file>.json``."""
    return backup_file.with_name(backup_file.name + ".json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_audit_chain(db: Database) -> ChainReport:
    """Walk the whole audit chain and report every break (does not raise on one)."""
    with reading(db) as uow:
        return uow.audit.verify()


def _verified(db: Database) -> ChainReport:
    report = verify_audit_chain(db)
    if not report.ok:
        raise IntegrityError("audit chain broken: " + "; ".join(map(str, report.problems[:3])))
    return report


def _pg_command_env(db: Database) -> tuple[str, str, dict[str, str]]:
    """libpq URL without the password (it goes in the environment), and the current schema."""
    url = db.engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return libpq, db.current_schema(), env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise StorageError(f"{tool} not found: install the PostgreSQL client (postgresql-client)")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise StorageError(f"{tool} failed: {last}")


def backup(db: Database, destination: Path) -> BackupManifest:
    """Write a consistent backup of the whole database to ``destination`` (+ manifest)."""
    report = _verified(db)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if db.is_sqlite:
        fmt = "sqlite"
        tmp = destination.with_name(destination.name + ".partial")
        tmp.unlink(missing_ok=True)
        with db.engine.connect() as conn:
            source = conn.connection.driver_connection
            assert isinstance(source, sqlite3.Connection)
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
            finally:
                target.close()
        tmp.replace(destination)
    else:
        fmt = "pg_dump"
        libpq, schema, env = _pg_command_env(db)
        _run(["pg_dump", "-Fc", "--no-owner", "-n", schema, "-f", str(destination), libpq], env)
    manifest = BackupManifest(
        format=fmt,
        created_at=datetime.now(UTC).isoformat(),
        sha256=_sha256(destination),
        audit_head_seq=report.head_seq,
        audit_head_hash=report.head_hash,
        schema_revision=current_revision(db.engine),
    )
    manifest.write(manifest_path(destination))
    return manifest


def restore(db: Database, source: Path) -> ChainReport:
    """Replace the database's contents with the backup at ``source``, then verify it."""
    manifest = BackupManifest.read(manifest_path(source))
    if not source.is_file() or _sha256(source) != manifest.sha256:
        raise IntegrityError(f"backup {source.name} does not match its manifest checksum")
    expected = "sqlite" if db.is_sqlite else "pg_dump"
    if manifest.format != expected:
        raise IntegrityError(f"backup {source.name} is a {manifest.format} backup, not {expected}")
    if db.is_sqlite:
        _check_sqlite_backup(source, manifest)
        db.engine.dispose()
        target_path = db.engine.url.database
        assert target_path
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target_path)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    else:
        libpq, schema, env = _pg_command_env(db)
        db.engine.dispose()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "-n",
                schema,
                "-d",
                libpq,
                str(source),
            ],
            env,
        )
    report = _verified(db)
    if (report.head_seq, report.head_hash) != (manifest.audit_head_seq, manifest.audit_head_hash):
        raise IntegrityError(
            f"restored audit head is entry {report.head_seq}, "
            f"the backup recorded {manifest.audit_head_seq}"
        )
    return report


def _check_sqlite_backup(source: Path, manifest: BackupManifest) -> None:
    """Verify the backup's own audit chain on a scratch copy before touching the live file."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "check.sqlite3"
        shutil.copyfile(source, copy)
        probe = Database.from_url(f"sqlite:///{copy}")
        try:
            report = _verified(probe)
        finally:
            probe.dispose()
    if (report.head_seq, report.head_hash) != (manifest.audit_head_seq, manifest.audit_head_hash):
        raise IntegrityError(f"backup {source.name}: audit head differs from its manifest")


def default_backup_name(db: Database, directory: Path) -> Path:
    """``dosemap-YYYYmmddTHHMMSSZ.<sqlite3|dump>`` in ``directory``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return directory / f"dosemap-{stamp}.{'sqlite3' if db.is_sqlite else 'dump'}"
