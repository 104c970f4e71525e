"""What is always true, and what was not checked."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from dosemap.domain.dosing import botox_equivalent_units
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import span, units
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


def session_products(inputs: Inputs) -> Iterator[Finding]:
    """DM903: a session of several products: each product's units and the Botox-equivalent sum."""
    if len(inputs.products) < 2:
        return
    library = inputs.library
    totals: dict[str, Decimal] = {}
    for part in inputs.plans:
        totals[part.product.id] = totals.get(part.product.id, Decimal(0)) + part.total_units
    lines: list[str] = []
    default = low = high = Decimal(0)
    values: dict[str, Decimal] = {}
    for product_id, total in totals.items():
        name = library.product(product_id).name
        try:
            botox = botox_equivalent_units(total, product_id, library)
            b_default, b_low, b_high = botox.default, botox.low, botox.high
        except UnknownNameError:
            b_default = b_low = b_high = total  # counted 1:1, as the history rules do
        default, low, high = default + b_default, low + b_low, high + b_high
        lines.append(f"{units(total)} {name} ≈ {span(b_low, b_high)} Botox-eq")
        values[f"{product_id}_units"] = total
    values |= {
        "botox_equivalent_units": default,
        "botox_equivalent_low_units": low,
        "botox_equivalent_high_units": high,
    }
    yield inputs.finding(
        codes.SESSION_PRODUCTS,
        f"{'; '.join(lines)}; session {units(default)} Botox-eq (range {span(low, high)})",
        rationale="Units are product-specific and not interchangeable (every label); the sum is "
        "a Botox-equivalent estimate used for the cumulative and cap checks, never a dose.",
        source="bont_class_labels",
        tag=EvidenceTag.LABEL,
        values=values,
    )
