"""Errors the records layer raises on purpose. All are :class:`DosemapError`s, so the CLI prints
them as one line; none carries patient data (names, dates of birth, contact details)."""

from __future__ import annotations

from dosemap.domain.errors import DosemapError


class ConflictError(DosemapError):
    """Somebody else saved the record since it was read (optimistic locking)."""

    def __init__(self, entity: str, entity_id: str, detail: str = "") -> None:
        self.entity = entity
        self.entity_id = entity_id
        text = f"{entity} {entity_id} was changed by someone else since you read it; reload it"
        super().__init__(text + (f" ({detail})" if detail else ""))


class NotFoundError(DosemapError):
    """No such record in this clinic."""

    def __init__(self, entity: str, entity_id: str) -> None:
        self.entity = entity
        self.entity_id = entity_id
        super().__init__(f"{entity} {entity_id} not found in this clinic")


class RecordLockedError(DosemapError):
    """The session is signed: change it with an amendment and a reason."""


class SigningRefusedError(DosemapError):
    """Signing refused: a safety finding blocks, or the credential does not cover it."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("cannot sign: " + "; ".join(reasons))


class IntegrityError(DosemapError):
    """The audit chain or a stored file does not verify."""


class StorageError(DosemapError):
    """The database is unreachable or not at the expected schema version."""


class TransientError(StorageError):
    """The database gave up on this transaction for a reason that passes (a serialisation
    failure, a deadlock, a busy SQLite file): the whole use case may be run again."""


class RecordClashError(StorageError):
    """The database refused a write that clashes with a stored record (a duplicate key, a
    constraint): named by the constraint, without the values."""
