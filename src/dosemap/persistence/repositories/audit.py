"""The audit log as the unit of work sees it: entries for the writes, appended when the unit
commits; verification of the chain, the records and the checkpoint.

The chain itself (hashing, verification) is :mod:`dosemap.persistence.audit`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dosemap.persistence import audit, audit_verify
from dosemap.persistence.models import AuditEntry, AuditHead, Base
from dosemap.persistence.repositories._base import Repository


class AuditLog(Repository):
    """Collects the unit of work's audit entries and appends them, chained, at commit."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._pending: list[audit.PendingEntry] = []

    def record(
        self,
        *,
        clinic_id: uuid.UUID | None,
        actor: str,
        action: str,
        entity: str,
        entity_id: uuid.UUID | str,
        before: dict[str, Any] | None,
        after: Base | Callable[[], dict[str, Any]] | None,
        content_sha256: str | None = None,
    ) -> None:
        """Flush pending changes, then take the entry for them (appended at commit).

        ``after`` is the written record (or a function building its snapshot), read after the
        flush so that the digest covers the stored version number. The entry is numbered and
        chained only when the unit of work commits, so the chain's head is locked for the end
        of the transaction only (writers on different records overlap until then).
        """
        self.session.flush()
        if isinstance(after, Base):
            after_snap: dict[str, Any] | None = audit.snapshot(after)
        else:
            after_snap = after() if after is not None else None
        self._pending.append(
            audit.PendingEntry(
                clinic_id=clinic_id,
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after_snap,
                at=datetime.now(UTC),
                content_sha256=content_sha256,
            )
        )

    def append_many(self, pending: Iterable[audit.PendingEntry]) -> None:
        """Take a batch of entries (chained as one by one when the unit commits)."""
        self.session.flush()
        self._pending.extend(pending)

    def write_pending(self) -> None:
        """Number, chain and write the entries taken so far (the unit of work calls this just
        before it commits)."""
        if self._pending:
            pending, self._pending = self._pending, []
            audit.append_many(self.session, pending)

    def discard_pending(self) -> None:
        """Forget the entries of a rolled-back transaction."""
        self._pending = []

    def verify(self) -> audit.ChainReport:
        """Verify the whole chain."""
        return audit.verify_chain(self.session)

    def verify_all(self, checkpoints: Path | None, *, records: bool = True) -> audit.ChainReport:
        """Verify the chain, every audited record and the log against the latest checkpoint."""
        return audit_verify.verify_all(self.session, checkpoints, records=records)

    def head(self) -> tuple[int, str, str | None]:
        """The head's sequence number and hash, and the genesis entry's hash."""
        head = self.session.get(AuditHead, 1)
        genesis = self.session.execute(
            select(AuditEntry.hash).where(AuditEntry.seq == 1)
        ).scalar_one_or_none()
        if head is None:
            return 0, audit.GENESIS, genesis
        return head.seq, head.hash, genesis
