"""The whole verification ``dosemap audit verify`` runs: the keyed chain, every audited record
against its last entry, and the log against the latest checkpoint outside the database."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dosemap.persistence import audit_checkpoint
from dosemap.persistence.audit import ChainReport, check_entries
from dosemap.persistence.audit_key import AuditKeys, load_keys
from dosemap.persistence.audit_records import check_records
from dosemap.persistence.models import AuditEntry, AuditHead


@dataclass(frozen=True)
class CheckpointProblem:
    """The log does not reach, or differs from, the latest checkpoint."""

    problem: str

    def __str__(self) -> str:
        return f"checkpoint: {self.problem}"


@dataclass(frozen=True)
class NoCheckpoint:
    """No checkpoint at ``location``: a cut or rewound log cannot be told from an intact one.
    Its text names the location, for whoever runs ``dosemap audit verify`` on the server."""

    location: Path

    def __str__(self) -> str:
        return (
            f"no checkpoint in {self.location}: a cut or rewound log cannot be told from an "
            "intact one (run `dosemap audit checkpoint`)"
        )


def check_checkpoint(
    session: Session, report: ChainReport, location: Path | None, keys: AuditKeys
) -> ChainReport:
    """Add what the latest checkpoint at ``location`` says about the log to ``report``."""
    if location is None:
        return report
    found = audit_checkpoint.latest(location, keys)
    problems = [CheckpointProblem(text) for text in found.invalid]
    cp = found.latest
    if cp is None:
        return replace(
            report,
            problems=report.problems + tuple(problems),
            warnings=(*report.warnings, NoCheckpoint(location)),
        )
    if cp.seq > 0:
        anchored = session.execute(
            select(AuditEntry.hash).where(AuditEntry.seq == cp.seq)
        ).scalar_one_or_none()
        if anchored is None:
            state = "empty (wiped)" if report.entries == 0 else f"at entry {report.head_seq}"
            problems.append(
                CheckpointProblem(
                    f"the log ends before entry {cp.seq} of the checkpoint of {cp.at[:19]}: "
                    f"it is {state} (truncated, rewound or wiped)"
                )
            )
        elif anchored != cp.head_hash:
            problems.append(
                CheckpointProblem(
                    f"entry {cp.seq} differs from the checkpoint of {cp.at[:19]} "
                    "(the log was rewritten)"
                )
            )
        if report.head_seq < cp.seq and anchored is not None:
            problems.append(
                CheckpointProblem(f"head {report.head_seq} is behind checkpoint entry {cp.seq}")
            )
    if cp.genesis_hash is not None and report.genesis_hash not in (None, cp.genesis_hash):
        problems.append(
            CheckpointProblem("entry 1 is not this installation's genesis entry (log replaced)")
        )
    return replace(report, problems=report.problems + tuple(problems))


def verify_all(
    session: Session, checkpoints: Path | None, *, records: bool = True, batch: int = 5000
) -> ChainReport:
    """Chain, records and checkpoint, in one read transaction."""
    keys = load_keys()
    head = session.get(AuditHead, 1)
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    ).scalars()
    report = check_entries(rows, head, keys)
    if records:
        count, record_problems, by_clinic = check_records(session, report.last, keys)
        report = replace(
            report,
            problems=report.problems + tuple(record_problems),
            records_checked=count,
            records_by_clinic=by_clinic,
        )
    return check_checkpoint(session, report, checkpoints, keys)
