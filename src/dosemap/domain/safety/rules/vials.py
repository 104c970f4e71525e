"""The vials on the tray: right product, lot in date, reconstituted vial within its beyond-use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from dosemap.domain.dosing import beyond_use_at
from dosemap.domain.errors import InvalidInputError, UnknownNameError
from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.intake import VialInUse
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import num
from dosemap.domain.safety.finding import Finding
from dosemap.domain.safety.inputs import Inputs


def _hours(delta: timedelta) -> Decimal:
    """Hours in ``delta``, exact to the microsecond, rounded to 0.01 h for display."""
    micro = delta // timedelta(microseconds=1)
    return (Decimal(micro) / Decimal(3_600_000_000)).quantize(Decimal("0.01"))


def _limit(
    index: int, vial: VialInUse, inputs: Inputs
) -> tuple[datetime, str, str | None, EvidenceTag | None] | None:
    """The vial's beyond-use time, what set it, and that rule's source and tag."""
    if vial.reconstituted_at is None:
        return None
    options: list[tuple[datetime, str, str | None, EvidenceTag | None]] = []
    if vial.beyond_use_at is not None:
        options.append((vial.beyond_use_at, "recorded beyond_use_at", None, None))
    if vial.beyond_use_policy is not None:
        try:
            policy = inputs.library.beyond_use_policy(vial.product, vial.beyond_use_policy)
        except UnknownNameError as exc:
            raise UnknownNameError(
                f"vials[{index}].beyond_use_policy", vial.beyond_use_policy, exc.known
            ) from None
        options.append(
            (
                beyond_use_at(vial.reconstituted_at, policy),
                f"policy {policy.id!r} ({policy.hours.value} h)",
                policy.hours.source,
                policy.hours.tag,
            )
        )
    return min(options, key=lambda option: option[0])


WEAK_TAGS = frozenset({EvidenceTag.UNCONFIRMED, EvidenceTag.LOW_AUTHORITY})
"""Evidence too weak for a beyond-use time to be used silently (DM705)."""


def _weak_policy_allows(vial: VialInUse, when: datetime, inputs: Inputs) -> Finding | None:
    """DM705: the vial is usable only under a weakly supported policy (none better allows it)."""
    if vial.reconstituted_at is None or vial.beyond_use_policy is None:
        return None
    policy = inputs.library.beyond_use_policy(vial.product, vial.beyond_use_policy)
    if policy.hours.tag not in WEAK_TAGS:
        return None
    product = inputs.library.product(vial.product)
    if any(
        p.hours.tag not in WEAK_TAGS and when <= beyond_use_at(vial.reconstituted_at, p)
        for p in product.beyond_use_policies
    ):
        return None  # a well-supported policy allows it as well
    age = _hours(when - vial.reconstituted_at)
    return inputs.finding(
        codes.BEYOND_USE_UNCONFIRMED,
        f"lot {vial.lot} ({vial.product}) reconstituted {num(age)} h before treatment is usable "
        f"only under policy {policy.id!r} ({policy.hours.value} h), whose evidence is "
        f"[{policy.hours.tag.value}] ({inputs.cite(policy.hours.source)})",
        rationale=(policy.hours.note or "")
        + " A beyond-use time that was not confirmed is shown, never used silently.",
        source=policy.hours.source,
        tag=policy.hours.tag,
        values={"hours_since_reconstitution": age, "beyond_use_hours": Decimal(policy.hours.value)},
    )


def vials(inputs: Inputs) -> Iterator[Finding]:
    """DM701-DM704."""
    context = inputs.context
    if context is None:
        return
    when = context.treatment_at
    session_products = inputs.products
    for index, vial in enumerate(context.vials):
        if vial.product not in inputs.library.products:
            raise InvalidInputError(
                f"vials[{index}].product",
                f"unknown {vial.product!r}",
                "one of: " + ", ".join(sorted(inputs.library.products)),
            )
        where = f"lot {vial.lot} ({vial.product})"
        if vial.product not in session_products:
            names = " / ".join(inputs.library.product(p).name for p in session_products)
            yield inputs.finding(
                codes.VIAL_PRODUCT_MISMATCH,
                f"{where} is not {names}, the session's product(s)",
                rationale="The plan's units are units of its own product only.",
                source=None,
                tag=None,
            )
        if when.date() > vial.lot_expiry:
            storage = inputs.library.product(vial.product).storage_unopened
            yield inputs.finding(
                codes.LOT_EXPIRED,
                f"{where} expired on {vial.lot_expiry.isoformat()}; treatment on "
                f"{when.date().isoformat()}",
                rationale="Potency and sterility are guaranteed only until the expiry date.",
                source=storage.source,
                tag=storage.tag,
                values={"days_past_expiry": Decimal((when.date() - vial.lot_expiry).days)},
            )
        limit = _limit(index, vial, inputs)
        if limit is not None and when <= limit[0]:
            weak = _weak_policy_allows(vial, when, inputs)
            if weak is not None:
                yield weak
        if limit is not None and vial.reconstituted_at is not None and when > limit[0]:
            moment, why, source, tag = limit
            age = _hours(when - vial.reconstituted_at)
            allowed = _hours(moment - vial.reconstituted_at)
            yield inputs.finding(
                codes.VIAL_BEYOND_USE,
                f"{where} reconstituted {num(age)} h before treatment; beyond use after "
                f"{num(allowed)} h by {why}, i.e. {moment.isoformat()}",
                rationale="A reconstituted vial past its beyond-use time may have lost potency "
                "or be contaminated. The label (24 h) and the ASDS consensus (≥ 4 weeks) are "
                "separate policies; this uses the one recorded for the vial.",
                source=source,
                tag=tag,
                values={"hours_since_reconstitution": age, "beyond_use_hours": allowed},
            )
    for product_id in session_products if context.vials else ():
        if any(v.product == product_id for v in context.vials):
            continue
        yield inputs.finding(
            codes.NO_VIAL_FOR_PRODUCT,
            f"the session lists {len(context.vials)} vial(s), none of "
            f"{inputs.library.product(product_id).name}",
            rationale="The plan cannot be drawn up from the vials recorded for the session.",
            source=None,
            tag=None,
        )
