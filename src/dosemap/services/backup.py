"""``dosemap backup`` / ``dosemap restore`` for both back ends.

SQLite uses the online backup API (a consistent copy while the clinic keeps working);
PostgreSQL uses ``pg_dump -Fc`` / ``pg_restore`` (Debian's ``postgresql-client``). Every backup
gets a manifest beside it (``<file>.json``): SHA-256 of the file, the audit chain's head and
genesis (a checkpoint), signed with the installation's audit key, so a backup whose contents were
edited and whose checksum was recomputed is refused.

Restore never touches the live database until the backup has proved itself: it is restored into
a scratch database first (a copy of the file on SQLite, a new database on the PostgreSQL server),
and there the checksum, the manifest's signature, the whole audit chain, every record's digest and
the head the manifest recorded are verified. Only then is it copied over the live database (one
transaction), which is verified again. On any refusal the live database is as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from dosemap.persistence import audit_checkpoint, audit_key
from dosemap.persistence.audit import ChainReport, canonical_json
from dosemap.persistence.audit_checkpoint import Checkpoint
from dosemap.persistence.backup_scratch import pg_command_env, pg_scratch_database
from dosemap.persistence.db import Database
from dosemap.persistence.errors import IntegrityError, StorageError
from dosemap.persistence.migrate import current_revision
from dosemap.persistence.unit_of_work import reading, writing


@dataclass(frozen=True)
class BackupManifest:
    """What a backup holds and how to check it; ``mac`` signs every other field."""

    format: str  # "sqlite" or "pg_dump"
    created_at: str
    sha256: str
    audit_head_seq: int
    audit_head_hash: str
    schema_revision: str | None
    genesis_hash: str | None = None
    key_id: str = ""
    mac: str = ""

    def body(self) -> dict[str, object]:
        """What the MAC covers."""
        data = asdict(self)
        data.pop("mac")
        data["kind"] = "dosemap-backup-manifest"
        return data

    def signed(self, keys: audit_key.AuditKeys) -> BackupManifest:
        """This manifest signed with the current audit key."""
        unsigned = replace(self, key_id=keys.current)
        return replace(unsigned, mac=keys.mac(canonical_json(unsigned.body()).encode()))

    def check_signature(self, name: str, keys: audit_key.AuditKeys) -> None:
        """Refuse a manifest not signed with one of this installation's audit keys."""
        if not self.mac or self.key_id not in keys.by_id:
            raise IntegrityError(
                f"backup manifest {name} is not signed with this installation's audit key"
            )
        if keys.mac(canonical_json(self.body()).encode(), self.key_id) != self.mac:
            raise IntegrityError(f"backup manifest {name} was changed after it was signed")

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


def _verified(db: Database, *, records: bool = False) -> ChainReport:
    with reading(db) as uow:
        report = uow.audit.verify_all(None, records=records)
    if not report.ok:
        raise IntegrityError(
            f"audit trail does not verify ({len(report.problems)} problem(s)): "
            + "; ".join(map(str, report.problems[:3]))
        )
    return report


def _run(cmd: list[str], env: dict[str, str]) -> None:
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise StorageError(f"{tool} not found: install the PostgreSQL client (postgresql-client)")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise StorageError(f"{tool} failed: {last}")


def backup_target(db: Database, destination: Path) -> Path:
    """The backup file: ``destination`` itself, or a new dated file inside it when it is a
    folder (``dosemap backup /tmp`` writes into /tmp, never ``/tmp.partial``)."""
    if destination.is_dir():
        return default_backup_name(db, destination)
    return destination


def backup(db: Database, destination: Path, *, checkpoints: Path | None = None) -> BackupManifest:
    """Write a consistent backup of the whole database to ``destination`` (a file, or a folder
    to put a dated file in) with its signed manifest; also a checkpoint at ``checkpoints``."""
    keys = audit_key.load_keys()
    destination = backup_target(db, destination)
    report = _verified(db)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        if db.is_sqlite:
            fmt = "sqlite"
            with db.engine.connect() as conn:
                source = conn.connection.driver_connection
                assert isinstance(source, sqlite3.Connection)
                target = sqlite3.connect(tmp)
                try:
                    source.backup(target)
                    # One self-contained file: no write-ahead log beside it to lose or to hide
                    # an edit in.
                    target.execute("PRAGMA journal_mode=DELETE")
                finally:
                    target.close()
        else:
            fmt = "pg_dump"
            libpq, schema, env = pg_command_env(db)
            _run(["pg_dump", "-Fc", "--no-owner", "-n", schema, "-f", str(tmp), libpq], env)
        tmp.replace(destination)
    finally:
        tmp.unlink(missing_ok=True)
    # The head the copy holds: the chain as of the copy (writes may have landed since the check).
    probe = _probe_head(db, destination) if db.is_sqlite else (report.head_seq, report.head_hash)
    manifest = BackupManifest(
        format=fmt,
        created_at=datetime.now(UTC).isoformat(),
        sha256=_sha256(destination),
        audit_head_seq=probe[0],
        audit_head_hash=probe[1],
        schema_revision=current_revision(db.engine),
        genesis_hash=report.genesis_hash,
    ).signed(keys)
    manifest.write(manifest_path(destination))
    if checkpoints is not None:
        cp = Checkpoint.make(
            keys,
            manifest.audit_head_seq,
            manifest.audit_head_hash,
            manifest.genesis_hash,
            f"backup {destination.name}",
        )
        audit_checkpoint.write(checkpoints, cp)
    return manifest


def _probe_head(db: Database, copy: Path) -> tuple[int, str]:
    probe = Database.from_url(f"sqlite:///{copy}")
    try:
        with reading(probe) as uow:
            seq, head_hash, _ = uow.audit.head()
        return seq, head_hash
    finally:
        probe.dispose()


def restore(
    db: Database, source: Path, *, checkpoints: Path | None = None, actor: str = "restore"
) -> ChainReport:
    """Replace the database's contents with the backup at ``source`` after verifying it in a
    scratch database; the live database is untouched when the backup is refused."""
    keys = audit_key.load_keys()
    manifest = BackupManifest.read(manifest_path(source))
    manifest.check_signature(manifest_path(source).name, keys)
    if not source.is_file() or _sha256(source) != manifest.sha256:
        raise IntegrityError(f"backup {source.name} does not match its manifest checksum")
    expected = "sqlite" if db.is_sqlite else "pg_dump"
    if manifest.format != expected:
        raise IntegrityError(f"backup {source.name} is a {manifest.format} backup, not {expected}")
    scratch_cm = _sqlite_scratch(db, source) if db.is_sqlite else _pg_scratch(db, source)
    with scratch_cm as scratch:
        report = _verified(scratch, records=True)
        _check_head(report, manifest, source)
        # Proven: now, and only now, the live database is replaced (one transaction).
        if db.is_sqlite:
            _sqlite_swap(db, scratch)
        else:
            _pg_swap(db, source)
    report = _verified(db, records=True)
    _check_head(report, manifest, source)
    with writing(db) as uow:  # the restore itself is on the record
        uow.audit.record(
            clinic_id=None,
            actor=actor,
            action="restore",
            entity="database",
            entity_id=manifest.sha256[:16],
            before=None,
            after=None,
        )
    if checkpoints is not None:  # the head legitimately moved back: anchor the new one
        with reading(db) as uow:
            seq, head_hash, genesis = uow.audit.head()
        cp = Checkpoint.make(keys, seq, head_hash, genesis, f"restored from {source.name}")
        audit_checkpoint.write(checkpoints, cp)
    return report


def _check_head(report: ChainReport, manifest: BackupManifest, source: Path) -> None:
    if (report.head_seq, report.head_hash) != (manifest.audit_head_seq, manifest.audit_head_hash):
        raise IntegrityError(
            f"backup {source.name}: audit head is entry {report.head_seq}, "
            f"the manifest recorded {manifest.audit_head_seq}"
        )
    if manifest.genesis_hash and report.genesis_hash != manifest.genesis_hash:
        raise IntegrityError(
            f"backup {source.name}: its log does not start at the genesis recorded"
        )


@contextmanager
def _sqlite_scratch(db: Database, source: Path) -> Iterator[Database]:
    live = Path(str(db.engine.url.database))
    with tempfile.TemporaryDirectory(dir=live.parent, prefix=".restore-") as folder:
        copy = Path(folder) / "scratch.sqlite3"
        shutil.copyfile(source, copy)
        scratch = Database.from_url(f"sqlite:///{copy}")
        try:
            yield scratch
        finally:
            scratch.dispose()


def _sqlite_swap(db: Database, scratch: Database) -> None:
    """Copy the verified scratch database over the live one with SQLite's backup API (one
    transaction on the live file: readers see the old or the new database, never a mix)."""
    db.engine.dispose()
    scratch.engine.dispose()
    src = sqlite3.connect(f"file:{scratch.engine.url.database}?mode=ro", uri=True)
    dst = sqlite3.connect(str(db.engine.url.database))
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@contextmanager
def _pg_scratch(db: Database, source: Path) -> Iterator[Database]:
    """The dump restored into a new database on the same server (dropped afterwards)."""
    _, _, env = pg_command_env(db)
    with pg_scratch_database(db) as (scratch, scratch_libpq):
        _run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", scratch_libpq, str(source)],
            env,
        )
        yield scratch


def _pg_swap(db: Database, source: Path) -> None:
    libpq, schema, env = pg_command_env(db)
    db.engine.dispose()
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "-n",
            schema,
            "-d",
            libpq,
            str(source),
        ],
        env,
    )


def default_backup_name(db: Database, directory: Path) -> Path:
    """``dosemap-YYYYmmddTHHMMSSZ.<sqlite3|dump>`` in ``directory``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return directory / f"dosemap-{stamp}.{'sqlite3' if db.is_sqlite else 'dump'}"
