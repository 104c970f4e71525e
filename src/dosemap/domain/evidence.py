"""Evidence tags and citations carried by every clinical figure in the reference data.

The tags are those of ``shared/reference/clinical.md``; ``CLINIC`` marks a figure a clinic
added itself, so that output never passes a clinic's own number off as published.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class EvidenceTag(StrEnum):
    """How strongly a figure is supported."""

    LABEL = "LABEL"
    ESTABLISHED = "ESTABLISHED"
    VARIES = "VARIES"
    DERIVED = "DERIVED"
    UNCONFIRMED = "UNCONFIRMED"
    LOW_AUTHORITY = "LOW-AUTHORITY"
    CLINIC = "CLINIC"


class Source(BaseModel):
    """A citable source; figures point at it by ``id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    citation: str = Field(min_length=3)
    url: str | None = None
    note: str | None = None


class Cited(BaseModel, Generic[T]):
    """A clinical figure with its source id and evidence tag.

    ``source`` must name a :class:`Source` in the same library; the library checks it on load.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: T
    source: str
    tag: EvidenceTag
    note: str | None = None

    def cite(self) -> str:
        """Short form for output: ``"[VARIES] wu_2015"``."""
        return f"[{self.tag.value}] {self.source}"
