"""A small line chart of one skin metric across visits, as coordinates for an inline SVG.

The Results page draws one per zone and metric beside the table (which stays the record: the
numbers, their dates and their caveats). A visit whose photo has capture-quality caveats gets
a different marker, so a change that rests on a doubtful photo is seen as one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The chart's box in SVG user units (the page scales it with CSS).
WIDTH = 160.0
HEIGHT = 48.0
_PAD = 6.0


@dataclass(frozen=True)
class TrendPoint:
    """One visit's value, where it is drawn, and whether its photo has caveats."""

    date: str
    value: float
    x: float
    y: float
    doubtful: bool


@dataclass(frozen=True)
class Trend:
    """The points of one metric in date order, the polyline through them, and a summary."""

    points: tuple[TrendPoint, ...]
    polyline: str
    label: str  # what a screen reader hears: first and last value, and how many are doubtful


def trend(
    dates: Sequence[str],
    values: Mapping[str, float],
    caveats: Mapping[str, Sequence[str]],
    metric: str,
    unit: str,
) -> Trend | None:
    """The chart of ``values`` (by date) over the visits ``dates``; ``None`` below 2 values."""
    measured = [d for d in dates if d in values]
    if len(measured) < 2:
        return None
    low = min(values[d] for d in measured)
    high = max(values[d] for d in measured)
    span = high - low
    step = (WIDTH - 2 * _PAD) / (len(dates) - 1)
    points = []
    for d in measured:
        x = _PAD + dates.index(d) * step
        # A flat series is drawn across the middle, not on the floor.
        level = 0.5 if span == 0 else (values[d] - low) / span
        y = HEIGHT - _PAD - level * (HEIGHT - 2 * _PAD)
        points.append(TrendPoint(d, values[d], round(x, 2), round(y, 2), bool(caveats.get(d))))
    doubtful = sum(p.doubtful for p in points)
    first, last = points[0], points[-1]
    label = (
        f"{metric}: {first.value:.2f} {unit} on {first.date} to {last.value:.2f} {unit} on "
        f"{last.date}, {len(points)} visits"
        + (f", {doubtful} with capture-quality caveats" if doubtful else "")
    )
    polyline = " ".join(f"{p.x},{p.y}" for p in points)
    return Trend(tuple(points), polyline, label)
