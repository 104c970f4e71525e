"""Chart mode: the taps of a treatment replayed into what was done at each point.

A tap marks a point done (optionally at another µL than planned, from a vial), skipped, or
undoes the point's last mark. Taps are replayed in the order the server took them, so two
devices, or one device's offline queue sent late, give one answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from dosemap.domain.plan import Plan, SessionPlan, as_session


class TapAction(StrEnum):
    """What a tap says about its point."""

    DONE = "done"
    SKIPPED = "skipped"
    UNDO = "undo"


@dataclass(frozen=True)
class Tap:
    """One tap as recorded."""

    point_number: int
    action: TapAction
    volume_ul: Decimal | None = None
    vial_id: UUID | None = None


@dataclass(frozen=True)
class PointState:
    """A planned point as charted so far (``state``: pending, done or skipped)."""

    number: int
    state: str
    volume_ul: Decimal  # the planned µL unless a tap changed it
    vial_id: UUID | None


def replay(plan: Plan | SessionPlan, taps: Iterable[Tap]) -> dict[int, PointState]:
    """Point number -> its state after ``taps`` in order; a tap of an unknown point is ignored.

    ``plan``: one plan, or a session of several products (numbers run on across its plans,
    so a tap's number names one point of one product). An undo restores the point's state
    before its last tap (pending when there was none).
    """
    planned = {p.number: p.volume_ul for p in as_session(plan).points}
    state = {n: PointState(n, "pending", v, None) for n, v in planned.items()}
    history: dict[int, list[PointState]] = {n: [] for n in planned}
    for tap in taps:
        if tap.point_number not in state:
            continue
        number = tap.point_number
        if tap.action is TapAction.UNDO:
            state[number] = (
                history[number].pop()
                if history[number]
                else PointState(number, "pending", planned[number], None)
            )
            continue
        history[number].append(state[number])
        if tap.action is TapAction.DONE:
            state[number] = PointState(
                number, "done", tap.volume_ul or planned[number], tap.vial_id
            )
        else:
            state[number] = PointState(number, "skipped", planned[number], None)
    return state
