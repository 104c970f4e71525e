"""The audit trail as a clinic uses it: verify everything, write a checkpoint, rotate the key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from dosemap.config import load_settings
from dosemap.persistence import audit_checkpoint, audit_key
from dosemap.persistence.audit import ChainReport
from dosemap.persistence.audit_checkpoint import Checkpoint
from dosemap.persistence.audit_verify import NoCheckpoint
from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import reading, writing


def default_checkpoints() -> Path:
    """``DOSEMAP_AUDIT_CHECKPOINTS``, else ``<data dir>/checkpoints``."""
    return load_settings().checkpoints_location


def verify(db: Database, checkpoints: Path | None = None, *, records: bool = True) -> ChainReport:
    """The chain, every audited record against its last entry, and the log against the latest
    checkpoint at ``checkpoints`` (default: :func:`default_checkpoints`)."""
    with reading(db) as uow:
        return uow.audit.verify_all(checkpoints or default_checkpoints(), records=records)


#: The no-checkpoint warning as clinic staff see it: not where it looked (a page discloses no
#: server path; ``dosemap audit verify``, run on the server, names it). Plain text: the page
#: shows it as written (no Markdown).
NO_CHECKPOINT_SHOWN = (
    "no checkpoint in the configured checkpoints folder: a cut or rewound log cannot be told "
    'from an intact one (ask the system administrator to run "dosemap audit checkpoint" '
    "regularly)"
)


def _shown(warning: object) -> str:
    return NO_CHECKPOINT_SHOWN if isinstance(warning, NoCheckpoint) else str(warning)


@dataclass(frozen=True)
class ClinicChainView:
    """:func:`verify` as one clinic may see it. The chain is one for the whole deployment, so
    its problems may name other clinics' records: those are only counted (``elsewhere``).
    ``problems`` are the clinic's own and those of the log as a whole (a deleted entry, the
    head, the checkpoint), which name no clinic's record. ``warnings`` name no server path."""

    entries: int
    records_checked: int
    head_seq: int
    head_hash: str
    warnings: tuple[str, ...]
    problems: tuple[str, ...]
    elsewhere: int
    #: Of ``entries``: the clinic's own, other clinics' (counted, not named), and those of no
    #: clinic (the log's own events, clinic groups).
    own_entries: int = 0
    other_entries: int = 0
    shared_entries: int = 0
    #: Of ``records_checked``, likewise: the clinic's own, other clinics', of no clinic.
    own_records: int = 0
    other_records: int = 0
    shared_records: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing anywhere is broken."""
        return not self.problems and not self.elsewhere


def verify_for_clinic(
    db: Database, clinic_id: uuid.UUID, checkpoints: Path | None = None
) -> ClinicChainView:
    """:func:`verify`, keeping only what ``clinic_id`` may read (other clinics' problems are
    counted, not named)."""
    report = verify(db, checkpoints)
    own: list[str] = []
    elsewhere = 0
    for problem in report.problems:
        owner = getattr(problem, "clinic_id", None)
        if owner is None or owner == clinic_id:
            own.append(str(problem))
        else:
            elsewhere += 1
    return ClinicChainView(
        report.entries,
        report.records_checked,
        report.head_seq,
        report.head_hash,
        tuple(_shown(w) for w in report.warnings),
        tuple(own),
        elsewhere,
        own_entries=report.entries_by_clinic.get(clinic_id, 0),
        other_entries=sum(
            n for c, n in report.entries_by_clinic.items() if c is not None and c != clinic_id
        ),
        shared_entries=report.entries_by_clinic.get(None, 0),
        own_records=report.records_by_clinic.get(clinic_id, 0),
        other_records=sum(
            n for c, n in report.records_by_clinic.items() if c is not None and c != clinic_id
        ),
        shared_records=report.records_by_clinic.get(None, 0),
    )


def checkpoint(
    db: Database, location: Path | None = None, note: str = ""
) -> tuple[Checkpoint, Path]:
    """Write a signed checkpoint of the current head (and the genesis) to ``location``."""
    keys = audit_key.load_keys()
    with reading(db) as uow:
        seq, head_hash, genesis = uow.audit.head()
    cp = Checkpoint.make(keys, seq, head_hash, genesis, note)
    return cp, audit_checkpoint.write(location or default_checkpoints(), cp)


def rotate_key(
    db: Database, *, actor: str, clinic_id: uuid.UUID | None = None
) -> tuple[str, str | None]:
    """Make a new audit key current and log the rotation under it (the entries before stay
    verifiable with the old key, which is kept). Returns the new key's id and, when the key
    comes from ``DOSEMAP_AUDIT_KEY``, the new value to set there."""
    import os

    keys, env_value = audit_key.rotate()
    if env_value is not None:
        os.environ[audit_key.AUDIT_KEY_ENV] = env_value  # this process signs with it now
    with writing(db) as uow:
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="rotate-key",
            entity="audit_key",
            entity_id=keys.current,
            before=None,
            after=None,
        )
    checkpoint(db, note="audit key rotated")
    return keys.current, env_value
