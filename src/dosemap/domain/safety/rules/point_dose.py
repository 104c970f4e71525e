"""Per-point volume and dose against the typical: catches a slipped decimal point."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from dosemap.domain.dosing import convert_units, units_for_volume
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.library.models import Protocol
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import num, units
from dosemap.domain.safety.finding import Code, Finding
from dosemap.domain.safety.inputs import Inputs


@dataclass(frozen=True)
class Reference:
    """A typical per-point figure and where it comes from."""

    value: Decimal
    source: str
    tag: EvidenceTag
    what: str


def _band(ratio: Decimal, slip: Code, high: Code, ratios: tuple[Decimal, Decimal]) -> Code | None:
    """``slip`` at or above the slip ratio, ``high`` at or above the high ratio (both data)."""
    slip_ratio, high_ratio = ratios
    if ratio >= slip_ratio:
        return slip
    if ratio >= high_ratio:
        return high
    return None


def _protocol_point_units(protocol: Protocol) -> Decimal:
    return units_for_volume(protocol.volume_per_point_ul.value, protocol.working_units_per_ml.value)


def unit_reference(inputs: Inputs, technique: str) -> Reference | None:
    """The per-point dose a point is measured against, in the plan product's units.

    The selected preset's own per-point dose; without a preset, the highest per-point dose of
    any library preset using the same technique (of any preset if none does), so that only a
    dose above every published preset counts as high. Converted at the default ratio when the
    preset uses another product; ``None`` if no preset converts.
    """
    library = inputs.library
    product = inputs.product.id
    if inputs.protocol is not None:
        candidates = [inputs.protocol]
    else:
        same = [p for p in library.protocols.values() if p.technique == technique]
        candidates = same or list(library.protocols.values())
    best: Reference | None = None
    for protocol in sorted(candidates, key=lambda p: p.id):
        per_point = _protocol_point_units(protocol)
        if protocol.stock.product != product:
            try:
                per_point = convert_units(
                    per_point, protocol.stock.product, product, library
                ).default
            except UnknownNameError:
                continue
        if best is None or per_point > best.value:
            cited = protocol.working_units_per_ml
            best = Reference(
                per_point,
                cited.source,
                cited.tag,
                f"preset {protocol.name!r}"
                if inputs.protocol is not None
                else f"highest library preset per-point dose ({protocol.name!r})",
            )
    return best


def volume_reference(inputs: Inputs, technique_id: str) -> Reference:
    """The technique's typical volume per point, or the selected preset's if that is larger
    (a preset's own droplet size is never a slip)."""
    technique = inputs.library.technique(technique_id)
    typical = technique.typical_volume_per_point_ul
    reference = Reference(
        typical.value, typical.source, typical.tag, f"typical for {technique.name}"
    )
    protocol = inputs.protocol
    if protocol is not None and protocol.volume_per_point_ul.value > typical.value:
        cited = protocol.volume_per_point_ul
        reference = Reference(cited.value, cited.source, cited.tag, f"preset {protocol.name!r}")
    return reference


def point_volumes(inputs: Inputs) -> Iterator[Finding]:
    """DM301/DM302: point volume against the technique's typical volume per point."""
    references: dict[str, Reference] = {}
    groups: defaultdict[tuple[Code, str, str, Decimal], list[int]] = defaultdict(list)
    ratios = (inputs.figure("volume_slip_ratio"), inputs.figure("volume_high_ratio"))
    for point in inputs.plan.points:
        if point.technique not in references:
            references[point.technique] = volume_reference(inputs, point.technique)
        reference = references[point.technique]
        ratio = point.volume_ul / reference.value
        code = _band(ratio, codes.POINT_VOLUME_SLIP, codes.POINT_VOLUME_HIGH, ratios)
        if code is not None:
            groups[(code, point.zone, point.technique, point.volume_ul)].append(point.number)
    for (code, zone, technique_id, volume), numbers in sorted(groups.items()):
        reference = references[technique_id]
        ratio = volume / reference.value
        yield inputs.finding(
            code,
            f"{zone}: {len(numbers)} point(s) of {num(volume)} µL = {num(ratio, 1)}× the "
            f"{num(reference.value)} µL per point {reference.what} "
            f"({inputs.cite(reference.source)})",
            rationale="A volume several times the typical droplet is more often a slipped "
            "decimal point or mL typed as µL than a choice; large droplets also spread further.",
            source=reference.source,
            tag=reference.tag,
            values={
                "volume_ul": volume,
                "reference_volume_ul": reference.value,
                "ratio": ratio,
            },
            zone=zone,
            point_numbers=tuple(numbers),
        )


def point_doses(inputs: Inputs) -> Iterator[Finding]:
    """DM303/DM304 (high, decimal slip upwards), DM305 (low, slip downwards): point units
    against the reference per-point dose."""
    references: dict[str, Reference | None] = {}
    groups: defaultdict[tuple[Code, str, str, Decimal], list[int]] = defaultdict(list)
    ratios = (inputs.figure("dose_slip_ratio"), inputs.figure("dose_high_ratio"))
    low_ratio = inputs.figure("dose_low_ratio")
    for point in inputs.plan.points:
        if point.technique not in references:
            references[point.technique] = unit_reference(inputs, point.technique)
        reference = references[point.technique]
        if reference is None:
            continue
        ratio = point.units / reference.value
        code = _band(ratio, codes.POINT_DOSE_SLIP, codes.POINT_DOSE_HIGH, ratios)
        if code is None and ratio * low_ratio <= 1:
            code = codes.POINT_DOSE_LOW
        if code is not None:
            groups[(code, point.zone, point.technique, point.units)].append(point.number)
    for (code, zone, technique_id, dose), numbers in sorted(groups.items()):
        reference = references[technique_id]
        assert reference is not None  # only points with a reference were grouped
        ratio = dose / reference.value
        low = code is codes.POINT_DOSE_LOW
        yield inputs.finding(
            code,
            f"{zone}: {len(numbers)} point(s) of {units(dose, 3)} = {num(ratio, 2)}× the "
            f"{reference.what}, {units(reference.value, 3)} per point "
            f"({inputs.cite(reference.source)})",
            rationale=(
                "A fraction of the preset's per-point dose suggests a wrong concentration or a "
                "decimal slip downwards: the patient would be under-treated."
                if low
                else "Micro-dose protocols give fractions of a unit per point; several times "
                "the preset's per-point dose suggests a wrong concentration or a decimal slip."
            ),
            source=reference.source,
            tag=reference.tag,
            values={
                "point_units": dose,
                "reference_point_units": reference.value,
                "ratio": ratio,
            },
            zone=zone,
            point_numbers=tuple(numbers),
        )
