"""The reference library aggregate: every record by id, plus where each came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import Source
from dosemap.domain.library.models import (
    Adjunct,
    BeyondUsePolicy,
    Goal,
    Product,
    Protocol,
    Technique,
    UnitConversion,
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
