"""Reading a per-point volume off a syringe's markings.

Injectors measure droplets by the syringe's printed lines: a 1 mL syringe has 0.01 mL (10 µL)
marks; on a U-100 insulin syringe one line (one *insulin* unit) is also 10 µL. A volume that
falls between lines cannot be measured exactly and the reading says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from dosemap.domain.errors import UnknownNameError
from dosemap.domain.exact import check_range, to_decimal


@dataclass(frozen=True)
class Syringe:
    """A syringe type: capacity and the volume between adjacent printed lines."""

    id: str
    name: str
    capacity_ul: Decimal
    mark_ul: Decimal
    mark_name: str


SYRINGES: dict[str, Syringe] = {
    s.id: s
    for s in (
        Syringe("ml_1", "1 mL syringe, 0.01 mL marks", Decimal(1000), Decimal(10), "0.01 mL"),
        Syringe(
            "insulin_u100_1ml",
            "U-100 insulin syringe 1 mL (1 line = 10 µL)",
            Decimal(1000),
            Decimal(10),
            "insulin-unit line",
        ),
        Syringe(
            "insulin_u100_0_5ml",
            "U-100 insulin syringe 0.5 mL (1 line = 10 µL)",
            Decimal(500),
            Decimal(10),
            "insulin-unit line",
        ),
        Syringe(
            "insulin_u100_0_3ml_half",
            "U-100 insulin syringe 0.3 mL, half-unit lines (1 line = 5 µL)",
            Decimal(300),
            Decimal(5),
            "half insulin-unit line",
        ),
    )
}


def syringe(syringe_id: str) -> Syringe:
    """The syringe type ``syringe_id``; :class:`UnknownNameError` names the known ids."""
    try:
        return SYRINGES[syringe_id]
    except KeyError:
        raise UnknownNameError("syringe", syringe_id, SYRINGES) from None


@dataclass(frozen=True)
class SyringeReading:
    """Where a per-point volume lies on a syringe's scale.

    ``marks`` is exact (``Decimal("0.8")`` for 8 µL on 10 µL lines). ``on_mark`` is false when
    the volume falls between ``lower_mark`` and ``upper_mark``. ``points_per_fill`` is how many
    such points one full syringe gives.
    """

    syringe: Syringe
    volume_ul: Decimal
    marks: Decimal
    lower_mark: int
    upper_mark: int
    on_mark: bool
    points_per_fill: int

    def describe(self) -> str:
        """One line for people, e.g. ``"8 µL: between lines 0 and 1 (0.8 line) ..."``."""
        s = self.syringe
        insulin = " (insulin units, NOT toxin units)" if "insulin" in s.mark_name else ""
        if self.on_mark:
            text = f"{self.volume_ul} µL = {self.marks} × {s.mark_name}{insulin}"
        else:
            text = (
                f"{self.volume_ul} µL falls BETWEEN lines {self.lower_mark} and "
                f"{self.upper_mark} ({self.marks} × {s.mark_name}{insulin}): "
                "not measurable exactly on this syringe"
            )
        return f"{text}; {self.points_per_fill} points per full {s.name}"


def syringe_marks(volume_ul: Decimal, syringe_type: Syringe) -> SyringeReading:
    """Read ``volume_ul`` (per point) against ``syringe_type``'s lines.

    Examples
    --------
    >>> r = syringe_marks(Decimal(8), SYRINGES["insulin_u100_1ml"])
    >>> (r.marks, r.on_mark, r.lower_mark, r.upper_mark, r.points_per_fill)
    (Decimal('0.8'), False, 0, 1, 125)
    """
    volume = check_range(
        "volume_ul", volume_ul, low=Decimal(0), high=syringe_type.capacity_ul, unit="µL"
    )
    marks = volume / Fraction(syringe_type.mark_ul)
    lower = marks.numerator // marks.denominator
    on_mark = marks.denominator == 1
    capacity = Fraction(syringe_type.capacity_ul) / volume
    return SyringeReading(
        syringe=syringe_type,
        volume_ul=Decimal(volume_ul),
        marks=to_decimal(marks),
        lower_mark=lower,
        upper_mark=lower if on_mark else lower + 1,
        on_mark=on_mark,
        points_per_fill=capacity.numerator // capacity.denominator,
    )
