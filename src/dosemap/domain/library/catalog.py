"""The reference library aggregate: every record by id, plus where each came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import Cited, Source
from dosemap.domain.library.models import (
    Adjunct,
    BeyondUsePolicy,
    DangerMargin,
    DrugClass,
    Figure,
    FindingSeverity,
    Goal,
    Product,
    Protocol,
    Severity,
    Technique,
    UnitConversion,
    ZoneCap,
)

R = TypeVar("R")


def _get(records: Mapping[str, R], field_name: str, record_id: str) -> R:
    try:
        return records[record_id]
    except KeyError:
        raise UnknownNameError(field_name, record_id, records.keys()) from None


def _frozen(records: Mapping[str, R]) -> Mapping[str, R]:
    return MappingProxyType(dict(records))


@dataclass(frozen=True)
class Library:
    """Products, conversions, protocols, adjuncts, techniques, goals and sources, by id.

    Built only by :func:`dosemap.domain.library.build_library`, which has validated every
    record and every cross-reference. ``conversions`` is keyed by product id. ``origins`` maps
    ``"<section>.<id>"`` to the name of the file the record came from (embedded or a clinic's).
    """

    products: Mapping[str, Product]
    conversions: Mapping[str, UnitConversion]
    protocols: Mapping[str, Protocol]
    adjuncts: Mapping[str, Adjunct]
    techniques: Mapping[str, Technique]
    goals: Mapping[str, Goal]
    sources: Mapping[str, Source]
    version: str
    origins: Mapping[str, str] = field(default_factory=dict)
    findings: Mapping[str, FindingSeverity] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)
    danger_margins: Mapping[str, DangerMargin] = field(default_factory=dict)
    zone_caps: Mapping[str, ZoneCap] = field(default_factory=dict)
    drug_classes: Mapping[str, DrugClass] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (
            "products",
            "conversions",
            "protocols",
            "adjuncts",
            "techniques",
            "goals",
            "sources",
            "origins",
            "findings",
            "figures",
            "danger_margins",
            "zone_caps",
            "drug_classes",
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def product(self, product_id: str) -> Product:
        """The product ``product_id``; :class:`UnknownNameError` naming the known ids."""
        return _get(self.products, "product", product_id)

    def protocol(self, protocol_id: str) -> Protocol:
        """The protocol preset ``protocol_id``."""
        return _get(self.protocols, "protocol", protocol_id)

    def technique(self, technique_id: str) -> Technique:
        """The technique ``technique_id``."""
        return _get(self.techniques, "technique", technique_id)

    def adjunct(self, adjunct_id: str) -> Adjunct:
        """The adjunct ``adjunct_id``."""
        return _get(self.adjuncts, "adjunct", adjunct_id)

    def goal(self, goal_id: str) -> Goal:
        """The goal ``goal_id``."""
        return _get(self.goals, "goal", goal_id)

    def conversion(self, product_id: str) -> UnitConversion:
        """The unit conversion of ``product_id`` to Botox units."""
        return _get(self.conversions, "conversion", product_id)

    def source(self, source_id: str) -> Source:
        """The citable source ``source_id``."""
        return _get(self.sources, "source", source_id)

    def beyond_use_policy(self, product_id: str, policy_id: str) -> BeyondUsePolicy:
        """One beyond-use policy of a product (``label``, ``asds_consensus``, a clinic's own)."""
        policies = {p.id: p for p in self.product(product_id).beyond_use_policies}
        return _get(policies, "beyond_use_policy", policy_id)

    def origin(self, section: str, record_id: str) -> str:
        """Name of the file a record came from, or ``"?"``."""
        return self.origins.get(f"{section}.{record_id}", "?")

    def finding_severity(self, code: str) -> Cited[Severity]:
        """The cited severity of a finding code (``"DM101-ZONE-CEILING"`` or ``"dm101"``)."""
        key = code.split("-")[0].lower()
        return _get(self.findings, "findings", key).severity

    def figure(self, figure_id: str) -> Cited[Decimal]:
        """A cited figure of the safety settings (``dead_space_ul``, ``slip_ratio`` …)."""
        return _get(self.figures, "figure", figure_id).value

    def margins_mm(self) -> dict[str, Decimal]:
        """Danger-zone id -> margin in mm, for the planner and the checker alike."""
        return {key: record.margin_mm.value for key, record in self.danger_margins.items()}

    def danger_margin(self, danger_id: str) -> DangerMargin:
        """The margin (and its grade) kept around a danger zone of the atlas."""
        return _get(self.danger_margins, "danger_margin", danger_id)
