"""Build a :class:`Library` from parsed documents: validate records and cross-references.

A document is ``(source name, parsed TOML mapping)``. Later documents (a clinic's file) add
records or replace records with the same id. Any problem raises :class:`LibraryError` naming
the file, the dotted key and what is allowed; nothing is built half-way.

Document shape (every section optional)::

    version = "2026.11.1"
    [sources.<id>]              citation, url, note
    [products.<id>]             see Product (the id comes from the table name)
    [conversions.<product id>]  see UnitConversion
    [protocols.<id>]  [adjuncts.<id>]  [techniques.<id>]  [goals.<id>]
    [beyond_use_policies.<id>]  name, hours, storage, products = [<product ids>]
    [findings.<dmNNN>]          severity = {value, source, tag}
    [figures.<id>]              unit, value = {value, source, tag}
    [danger_margins.<id>]       margin_mm = {value, source, tag}, grade = "hard" | "band"
    [zone_caps.<id>]            finding, zones, ceiling_units, product, rationale
    [drug_classes.<id>]         name, answer, names = {value = [...], source, tag}
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from dosemap.domain.concentration import reconstitute
from dosemap.domain.errors import DosemapError, LibraryError
from dosemap.domain.evidence import Cited, EvidenceTag, Source
from dosemap.domain.library.catalog import Library
from dosemap.domain.library.models import (
    ID_PATTERN,
    Adjunct,
    DangerMargin,
    DrugClass,
    Figure,
    FindingSeverity,
    Goal,
    Product,
    Protocol,
    SharedBeyondUsePolicy,
    Technique,
    UnitConversion,
    ZoneCap,
)
from dosemap.domain.library.zones import KNOWN_ZONES

# section name -> (record model, name of the field the table key fills)
_SECTIONS: dict[str, tuple[type[BaseModel], str]] = {
    "sources": (Source, "id"),
    "products": (Product, "id"),
    "conversions": (UnitConversion, "product"),
    "protocols": (Protocol, "id"),
    "adjuncts": (Adjunct, "id"),
    "techniques": (Technique, "id"),
    "goals": (Goal, "id"),
    "beyond_use_policies": (SharedBeyondUsePolicy, "id"),
    "findings": (FindingSeverity, "id"),
    "figures": (Figure, "id"),
    "danger_margins": (DangerMargin, "id"),
    "zone_caps": (ZoneCap, "id"),
    "drug_classes": (DrugClass, "id"),
}
_TOP_LEVEL = ("version", *_SECTIONS)
_ID_RE = re.compile(ID_PATTERN)

# (source name, record) pairs per section, keyed by record id
_Merged = dict[str, dict[str, tuple[str, Mapping[str, Any]]]]


def build_library(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> Library:
    """Validate and merge library documents into one :class:`Library`.

    Parameters
    ----------
    documents
        ``(source name, parsed mapping)`` pairs, embedded data first, clinic files after.
        Decimal figures should be parsed as ``Decimal`` (``tomllib.loads(parse_float=Decimal)``).

    Raises
    ------
    LibraryError
        Naming the source, the dotted key (``protocols.x.spacing_mm.value``) and what is allowed.
    """
    merged: _Merged = {section: {} for section in _SECTIONS}
    versions: list[str] = []
    for source, document in documents:
        _merge_document(source, document, merged, versions)

    records = {section: _validate_section(section, merged[section]) for section in _SECTIONS}
    origins = {
        f"{section}.{record_id}": source
        for section, entries in merged.items()
        for record_id, (source, _) in entries.items()
    }
    products = _attach_shared_policies(records, origins)
    library = Library(
        products=products,
        conversions=typing.cast(dict[str, UnitConversion], records["conversions"]),
        protocols=typing.cast(dict[str, Protocol], records["protocols"]),
        adjuncts=typing.cast(dict[str, Adjunct], records["adjuncts"]),
        techniques=typing.cast(dict[str, Technique], records["techniques"]),
        goals=typing.cast(dict[str, Goal], records["goals"]),
        sources=typing.cast(dict[str, Source], records["sources"]),
        version="+".join(dict.fromkeys(versions)) or "unversioned",
        origins=origins,
        findings=typing.cast(dict[str, FindingSeverity], records["findings"]),
        figures=typing.cast(dict[str, Figure], records["figures"]),
        danger_margins=typing.cast(dict[str, DangerMargin], records["danger_margins"]),
        zone_caps=typing.cast(dict[str, ZoneCap], records["zone_caps"]),
        drug_classes=typing.cast(dict[str, DrugClass], records["drug_classes"]),
    )
    _check_references(library, records)
    return library


# --------------------------------------------------------------------------- merging


def _merge_document(
    source: str, document: Mapping[str, Any], merged: _Merged, versions: list[str]
) -> None:
    if not isinstance(document, Mapping):
        raise LibraryError(source, "(root)", "must be a table")
    for key, value in document.items():
        if key not in _TOP_LEVEL:
            raise LibraryError(
                source, key, "unknown section (allowed: " + ", ".join(_TOP_LEVEL) + ")"
            )
        if key == "version":
            if not isinstance(value, str) or not value:
                raise LibraryError(source, key, "must be a non-empty string")
            versions.append(value)
            continue
        if not isinstance(value, Mapping):
            raise LibraryError(source, key, f"must be a table of [{key}.<id>] tables")
        for record_id, record in value.items():
            if not _ID_RE.match(record_id):
                raise LibraryError(
                    source, f"{key}.{record_id}", "bad id (allowed: lower-case a-z, 0-9 and _)"
                )
            if not isinstance(record, Mapping):
                raise LibraryError(source, f"{key}.{record_id}", "must be a table")
            merged[key][record_id] = (source, record)
    if not any(k == "version" for k in document):
        versions.append(source)


def _validate_section(
    section: str, entries: Mapping[str, tuple[str, Mapping[str, Any]]]
) -> dict[str, BaseModel]:
    model, id_field = _SECTIONS[section]
    out: dict[str, BaseModel] = {}
    for record_id, (source, raw) in entries.items():
        prefix = f"{section}.{record_id}"
        if id_field in raw and raw[id_field] != record_id:
            raise LibraryError(
                source,
                f"{prefix}.{id_field}",
                f"{raw[id_field]!r} differs from the table name "
                f"(allowed: {record_id!r} or omit it)",
            )
        try:
            out[record_id] = model.model_validate({**raw, id_field: record_id})
        except ValidationError as exc:
            raise _library_error(source, prefix, model, exc) from None
    return out


def _attach_shared_policies(
    records: Mapping[str, Mapping[str, BaseModel]], origins: Mapping[str, str]
) -> dict[str, Product]:
    products = typing.cast(dict[str, Product], dict(records["products"]))
    for policy_id, shared in records["beyond_use_policies"].items():
        assert isinstance(shared, SharedBeyondUsePolicy)
        source = origins[f"beyond_use_policies.{policy_id}"]
        own = shared.model_dump(exclude={"products"})
        for index, product_id in enumerate(shared.products):
            if product_id not in products:
                raise LibraryError(
                    source,
                    f"beyond_use_policies.{policy_id}.products[{index}]",
                    f"unknown product {product_id!r} (allowed: {', '.join(sorted(products))})",
                )
            product = products[product_id]
            kept = tuple(p for p in product.beyond_use_policies if p.id != policy_id)
            products[product_id] = Product.model_validate(
                {
                    **product.model_dump(),
                    "beyond_use_policies": [*(p.model_dump() for p in kept), own],
                }
            )
    return products


# --------------------------------------------------------------------------- error text


def _library_error(
    source: str, prefix: str, model: type[BaseModel], exc: ValidationError
) -> LibraryError:
    first = exc.errors()[0]
    loc = first["loc"]
    key = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        if parent is not None:
            message += " (allowed: " + ", ".join(parent.model_fields) + ")"
    elif first["type"] == "missing":
        message = "required key is missing"
    elif "input" in first and not isinstance(first["input"], dict | list):
        message += f" (got {first['input']!r})"
    return LibraryError(source, key, message)


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model that validates the value at ``loc`` inside ``model``."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int) or part not in current.model_fields:
            continue  # a tuple index or a dict key: same element model
        current = _find_model(current.model_fields[part].annotation)
    return current


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return None
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- cross-references


def _cited(value: Any, path: str) -> Iterator[tuple[str, Cited[Any]]]:
    """Every Cited figure inside a record, with its dotted path."""
    if isinstance(value, Cited):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _cited(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _cited(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _cited(item, f"{path}.{k}")


def _check_references(library: Library, records: Mapping[str, Mapping[str, BaseModel]]) -> None:
    def fail(section: str, record_id: str, key: str, message: str) -> None:
        raise LibraryError(
            library.origin(section, record_id), f"{section}.{record_id}{key}", message
        )

    def one_of(names: Iterator[str] | Sequence[str] | frozenset[str] | Mapping[str, Any]) -> str:
        return "allowed: " + ", ".join(sorted(names))

    def each_known(
        section: str,
        record_id: str,
        field: str,
        ids: Sequence[str],
        known: frozenset[str] | Mapping[str, Any],
        what: str,
    ) -> None:
        """Every id of a list field names a known record (the error names the list index)."""
        for index, name in enumerate(ids):
            if name not in known:
                fail(
                    section,
                    record_id,
                    f".{field}[{index}]",
                    f"unknown {what} {name!r} ({one_of(known)})",
                )

    sources = library.sources
    for section, entries in records.items():
        if section == "sources":
            continue
        for record_id, record in entries.items():
            record = library.products.get(record_id, record) if section == "products" else record
            for path, figure in _cited(record, ""):
                if figure.source not in sources:
                    fail(
                        section,
                        record_id,
                        f"{path}.source",
                        f"unknown source {figure.source!r} ({one_of(sources)})",
                    )

    for policy_id, shared in records["beyond_use_policies"].items():
        assert isinstance(shared, SharedBeyondUsePolicy)
        _in_range(
            library,
            "beyond_use_policies",
            policy_id,
            ".hours.value",
            Decimal(shared.hours.value),
            _RANGES["hours"],
        )

    for pid, product in library.products.items():
        _in_range(
            library,
            "products",
            pid,
            ".min_retreatment_days.value",
            Decimal(product.min_retreatment_days.value),
            _RANGES["min_retreatment_days"],
        )
        for index, policy in enumerate(product.beyond_use_policies):
            _in_range(
                library,
                "products",
                pid,
                f".beyond_use_policies[{index}].hours.value",
                Decimal(policy.hours.value),
                _RANGES["hours"],
            )
        for index, row in enumerate(product.label_dilutions):
            _check_label_row(library, pid, index, row.vial_units, row.diluent_ml, row)
        seen: set[str] = set()
        for index, policy in enumerate(product.beyond_use_policies):
            if policy.id in seen:
                fail("products", pid, f".beyond_use_policies[{index}].id", "duplicate policy id")
            seen.add(policy.id)

    for pid, conversion in library.conversions.items():
        if pid not in library.products:
            fail("conversions", pid, "", f"unknown product ({one_of(library.products)})")
        value = conversion.units_per_botox_unit.value
        if not conversion.low <= value <= conversion.high:
            fail(
                "conversions",
                pid,
                ".units_per_botox_unit.value",
                f"{value} lies outside the range (allowed: {conversion.low} to {conversion.high})",
            )

    for pid, protocol in library.protocols.items():
        for name in ("working_units_per_ml", "volume_per_point_ul", "spacing_mm"):
            number: Cited[Decimal] = getattr(protocol, name)
            _in_range(library, "protocols", pid, f".{name}.value", number.value, _RANGES[name])
        for zone, ceiling in protocol.zone_ceiling_units.items():
            _in_range(
                library,
                "protocols",
                pid,
                f".zone_ceiling_units.{zone}.value",
                ceiling.value,
                _RANGES["ceiling_units"],
            )
        if protocol.session_ceiling_units is not None:
            _in_range(
                library,
                "protocols",
                pid,
                ".session_ceiling_units.value",
                protocol.session_ceiling_units.value,
                _RANGES["ceiling_units"],
            )
        if protocol.source not in sources:
            fail("protocols", pid, ".source", f"unknown source ({one_of(sources)})")
        if protocol.tag not in {t.value for t in EvidenceTag}:
            fail(
                "protocols", pid, ".tag", f"unknown tag ({one_of([t.value for t in EvidenceTag])})"
            )
        if protocol.stock.product not in library.products:
            fail(
                "protocols", pid, ".stock.product", f"unknown product ({one_of(library.products)})"
            )
        if protocol.technique not in library.techniques:
            fail(
                "protocols", pid, ".technique", f"unknown technique ({one_of(library.techniques)})"
            )
        each_known("protocols", pid, "zones", protocol.zones, KNOWN_ZONES, "zone")
        each_known("protocols", pid, "goals", protocol.goals, library.goals, "goal")
        for index, part in enumerate(protocol.working_mix):
            if part.adjunct != "stock" and part.adjunct not in library.adjuncts:
                fail(
                    "protocols",
                    pid,
                    f".working_mix[{index}].adjunct",
                    f"unknown adjunct {part.adjunct!r} (allowed: stock, "
                    + ", ".join(sorted(library.adjuncts))
                    + ")",
                )
        for zone in protocol.zone_ceiling_units:
            if zone not in protocol.zones:
                fail(
                    "protocols",
                    pid,
                    f".zone_ceiling_units.{zone}",
                    f"zone not in the protocol's zones ({one_of(protocol.zones)})",
                )
        for index, cap_note in enumerate(protocol.cap_notes):
            if cap_note.finding not in _CAP_FINDINGS:
                fail(
                    "protocols",
                    pid,
                    f".cap_notes[{index}].finding",
                    f"{cap_note.finding!r} is not a cap ({one_of(_CAP_FINDINGS)})",
                )
            if protocol.published_total_units is None:
                fail(
                    "protocols",
                    pid,
                    f".cap_notes[{index}]",
                    "a cap note needs the preset's published_total_units",
                )
        if protocol.working_mix:
            _check_protocol_mix(library, pid, protocol)
        if protocol.working_units_per_ml.value > _stock_units_per_ml(protocol):
            fail(
                "protocols",
                pid,
                ".working_units_per_ml.value",
                f"above the stock concentration (allowed: <= {_stock_units_per_ml(protocol)} U/mL)",
            )

    for cid, cap in library.zone_caps.items():
        each_known("zone_caps", cid, "zones", cap.zones, KNOWN_ZONES, "zone")
        if cap.product not in library.products:
            fail("zone_caps", cid, ".product", f"unknown product ({one_of(library.products)})")
        _in_range(
            library,
            "zone_caps",
            cid,
            ".ceiling_units.value",
            cap.ceiling_units.value,
            _RANGES["ceiling_units"],
        )
    for did, margin in library.danger_margins.items():
        if not Decimal(0) <= margin.margin_mm.value <= Decimal(50):
            fail("danger_margins", did, ".margin_mm.value", "out of range (allowed: 0-50 mm)")
    for fid, fig in library.figures.items():
        if not fig.value.value.is_finite() or fig.value.value < 0:
            fail("figures", fid, ".value.value", f"{fig.value.value} (allowed: a number >= 0)")

    for gid, goal in library.goals.items():
        each_known("goals", gid, "zones", goal.zones, KNOWN_ZONES, "zone")
        each_known("goals", gid, "protocols", goal.protocols, library.protocols, "protocol")

    for tid, technique in library.techniques.items():
        if technique.depth_mm_low > technique.depth_mm_high:
            fail(
                "techniques",
                tid,
                ".depth_mm_low",
                f"above depth_mm_high ({technique.depth_mm_high})",
            )


# The findings a preset's cap note may turn into DM110 (ceilings and published caps).
_CAP_FINDINGS = frozenset({"dm101", "dm102", "dm104", "dm105", "dm106"})

# Plausibility bounds (low exclusive, high inclusive) for figures the models leave open.
_RANGES: dict[str, tuple[Decimal, Decimal, str]] = {
    "min_retreatment_days": (Decimal(0), Decimal(730), "days"),
    "hours": (Decimal(0), Decimal(8760), "h"),
    "working_units_per_ml": (Decimal(0), Decimal(1000), "U/mL"),
    "volume_per_point_ul": (Decimal(0), Decimal(200), "µL"),
    "spacing_mm": (Decimal(0), Decimal(50), "mm"),
    "ceiling_units": (Decimal(0), Decimal(1000), "U"),
}


def _in_range(
    library: Library,
    section: str,
    record_id: str,
    key: str,
    value: Decimal,
    bounds: tuple[Decimal, Decimal, str],
) -> None:
    low, high, unit = bounds
    if not (value.is_finite() and low < value <= high):
        raise LibraryError(
            library.origin(section, record_id),
            f"{section}.{record_id}{key}",
            f"{value} {unit} is out of range (allowed: > {low} and <= {high} {unit})",
        )


def _check_protocol_mix(library: Library, pid: str, protocol: Protocol) -> None:
    """The recipe must fill exactly 1 mL and give the stated working concentration."""
    source = library.origin("protocols", pid)
    total = sum((part.volume_ml for part in protocol.working_mix), Decimal(0))
    if total != 1:
        raise LibraryError(
            source, f"protocols.{pid}.working_mix", f"volumes add up to {total} mL (allowed: 1 mL)"
        )
    stock_ml = sum(
        (part.volume_ml for part in protocol.working_mix if part.adjunct == "stock"), Decimal(0)
    )
    expected = _stock_units_per_ml(protocol) * stock_ml
    stated = protocol.working_units_per_ml.value
    # 28-digit rounding of a non-terminating stock concentration is the only slack allowed.
    if abs(expected - stated) > stated.copy_abs() * Decimal("1e-25"):
        raise LibraryError(
            source,
            f"protocols.{pid}.working_units_per_ml.value",
            f"{stated} U/mL does not match the working_mix ({stock_ml} mL of stock per mL) "
            f"(allowed: {expected.normalize()})",
        )


def _stock_units_per_ml(protocol: Protocol) -> Decimal:
    return reconstitute(protocol.stock.vial_units, protocol.stock.diluent_ml).units_per_ml


def _check_label_row(
    library: Library, pid: str, index: int, vial_units: Decimal, diluent_ml: Decimal, row: Any
) -> None:
    key = f"products.{pid}.label_dilutions[{index}].units_per_0_1_ml.value"
    try:
        expected = reconstitute(vial_units, diluent_ml).units_per_0_1_ml
    except DosemapError as exc:
        raise LibraryError(library.origin("products", pid), key, str(exc)) from None
    if row.units_per_0_1_ml.value != expected:
        raise LibraryError(
            library.origin("products", pid),
            key,
            f"{row.units_per_0_1_ml.value} does not match {vial_units} U in {diluent_ml} mL "
            f"(allowed: {expected})",
        )
