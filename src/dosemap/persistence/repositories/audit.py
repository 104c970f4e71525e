"""The audit log as the unit of work sees it: append an entry for a write, verify the chain.

The chain itself (hashing, verification) is :mod:`dosemap.persistence.audit`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from dosemap.persistence import audit
from dosemap.persistence.models import Base
from dosemap.persistence.repositories._base import Repository


class AuditLog(Repository):
    """Appends to and verifies the hash-chained audit log."""

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
    ) -> None:
        """Flush pending changes, then append the audit entry for them.

        ``after`` is the written record (or a function building its snapshot), read after the
        flush so that the digest covers the stored version number.
        """
        self.session.flush()
        if isinstance(after, Base):
            after_snap: dict[str, Any] | None = audit.snapshot(after)
        else:
            after_snap = after() if after is not None else None
        audit.append(
            self.session,
            clinic_id=clinic_id,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after_snap,
        )

    def verify(self) -> audit.ChainReport:
        """Verify the whole chain."""
        return audit.verify_chain(self.session)
