"""What is always true, and what was not checked."""

from __future__ import annotations

from collections.abc import Iterator

from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety.finding import Finding
from dosemap.domain.safety.inputs import Inputs


def off_label(inputs: Inputs) -> Iterator[Finding]:
    """DM901: always."""
    yield inputs.finding(
        codes.OFF_LABEL,
        f"intradermal {inputs.product.name} is off-label; labels cover intramuscular use in "
        "named indications and state that units are not interchangeable between products",
        rationale="Published micro-dose protocols differ several-fold; they are presets, not "
        "a standard dose.",
        source="bont_class_labels",
        tag=EvidenceTag.LABEL,
    )


def not_checked(inputs: Inputs) -> Iterator[Finding]:
    """DM814 (no intake) and DM902 (no session context)."""
    if inputs.intake is None:
        yield inputs.finding(
            codes.INTAKE_MISSING,
            "no intake given: contraindications, age and prior treatments were not checked",
            rationale="A plan checked without the patient's answers is only half checked.",
            source=None,
            tag=None,
        )
    if inputs.context is None:
        yield inputs.finding(
            codes.CONTEXT_MISSING,
            "no session context given: lot expiry, beyond-use times and hyaluronidase on hand "
            "were not checked",
            rationale="These depend on the tray at the time of treatment.",
            source=None,
            tag=None,
        )
