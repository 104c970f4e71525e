"""When to suggest the next treatment: the product's cited interval and the patient's own.

The patient's own response is read from when they came back: the days between their
treatments with the same product. A session within the booster window of the one before is a
top-up of that treatment, not a return (it neither starts nor ends an interval). Once enough
returns are on record, their median sets the suggested date, never earlier than the cited
minimum interval (a patient who came back sooner is shown so, and offered the cited minimum).
Pure: dates and numbers in, dates and words out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from statistics import median_low


class Basis(StrEnum):
    """What the suggested date follows."""

    CITED = "cited"  # too few returns on record: the cited interval
    OWN = "own"  # the patient's median return interval
    CITED_MINIMUM = "cited_minimum"  # the patient came back sooner than the cited minimum


@dataclass(frozen=True)
class OwnResponse:
    """The patient's return intervals (days, oldest first) over ``sessions`` treatments."""

    intervals_days: tuple[int, ...]
    sessions: int

    @property
    def median_days(self) -> int:
        return int(median_low(self.intervals_days))

    def describe(self) -> str:
        """E.g. ``returned after 9–10 weeks over 3 sessions``."""
        weeks = sorted({round(d / 7) for d in self.intervals_days})
        span = f"{weeks[0]}" if len(weeks) == 1 else f"{weeks[0]}–{weeks[-1]}"
        unit = "week" if span == "1" else "weeks"
        return f"returned after {span} {unit} over {self.sessions} sessions"


@dataclass(frozen=True)
class RetreatmentSuggestion:
    """The suggested retreatment date and both reasons for it."""

    due_on: date
    cited_days: int
    own: OwnResponse | None
    basis: Basis

    def patient_reason(self) -> str:
        """The patient's side in words, also when it did not set the date."""
        if self.own is None:
            return "this patient: no return on record"
        said = f"this patient: {self.own.describe()} (median {self.own.median_days} d)"
        return (
            said
            + {
                Basis.OWN: ", used",
                Basis.CITED_MINIMUM: ", not before the cited minimum",
                Basis.CITED: ", too few returns to use",
            }[self.basis]
        )


def return_intervals(performed: Sequence[date], booster_days: int) -> OwnResponse | None:
    """The days between the patient's returns, from the dates of their treatments with one
    product (any order); a treatment within ``booster_days`` of the last return is a top-up
    of it. ``None`` when no return is on record."""
    days = sorted(performed)
    if not days:
        return None
    intervals: list[int] = []
    last = days[0]
    sessions = 1
    for day in days[1:]:
        gap = (day - last).days
        if gap <= booster_days:
            continue  # a top-up of the treatment at ``last``
        intervals.append(gap)
        sessions += 1
        last = day
    return OwnResponse(tuple(intervals), sessions) if intervals else None


def suggest_retreatment(
    performed_on: date,
    earlier: Sequence[date],
    *,
    cited_days: int,
    booster_days: int,
    min_returns: int,
) -> RetreatmentSuggestion:
    """The retreatment date for a treatment on ``performed_on``, given the dates of the
    patient's ``earlier`` treatments with the same product (later ones are ignored)."""
    own = return_intervals([*(d for d in earlier if d <= performed_on), performed_on], booster_days)
    if own is None or len(own.intervals_days) < min_returns:
        basis = Basis.CITED
        days = cited_days
    elif own.median_days >= cited_days:
        basis, days = Basis.OWN, own.median_days
    else:
        basis, days = Basis.CITED_MINIMUM, cited_days
    return RetreatmentSuggestion(performed_on + timedelta(days=days), cited_days, own, basis)
