"""The suggested retreatment date: the cited interval and the patient's own returns."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dosemap.domain.retreatment import Basis, return_intervals, suggest_retreatment

DAY = date(2026, 1, 5)
CITED, BOOSTER, MIN_RETURNS = 90, 21, 2


def _suggest(performed_on: date, earlier: list[date]):
    return suggest_retreatment(
        performed_on, earlier, cited_days=CITED, booster_days=BOOSTER, min_returns=MIN_RETURNS
    )


def test_a_patient_who_returns_later_than_cited_is_suggested_their_own_interval() -> None:
    earlier = [DAY, DAY + timedelta(days=112)]  # 16 weeks, then 15 weeks
    now = DAY + timedelta(days=112 + 105)
    found = _suggest(now, earlier)
    assert found.basis is Basis.OWN and found.own is not None
    assert found.own.intervals_days == (112, 105) and found.own.median_days == 105
    assert found.due_on == now + timedelta(days=105)
    assert found.own.describe() == "returned after 15–16 weeks over 3 sessions"
    assert found.patient_reason() == (
        "this patient: returned after 15–16 weeks over 3 sessions (median 105 d), used"
    )


def test_sooner_than_cited_is_shown_but_never_suggested() -> None:
    earlier = [DAY, DAY + timedelta(days=63)]  # back after 9, then 10 weeks
    now = DAY + timedelta(days=63 + 70)
    found = _suggest(now, earlier)
    assert found.basis is Basis.CITED_MINIMUM
    assert found.due_on == now + timedelta(days=CITED)
    assert "returned after 9–10 weeks over 3 sessions" in found.patient_reason()
    assert found.patient_reason().endswith("not before the cited minimum")


def test_too_few_returns_and_top_ups() -> None:
    first = _suggest(DAY, [])
    assert first.basis is Basis.CITED and first.own is None
    assert first.patient_reason() == "this patient: no return on record"
    one = _suggest(DAY + timedelta(days=120), [DAY])
    assert one.basis is Basis.CITED and one.due_on == DAY + timedelta(days=120 + CITED)
    assert one.patient_reason().endswith("too few returns to use")
    # A top-up two weeks after a treatment is part of it, not a return.
    topped = return_intervals([DAY, DAY + timedelta(days=14), DAY + timedelta(days=120)], BOOSTER)
    assert topped is not None and topped.intervals_days == (120,) and topped.sessions == 2
    # Treatments after the one being signed are not its history.
    later = _suggest(DAY, [DAY + timedelta(days=200), DAY + timedelta(days=400)])
    assert later.own is None


dates = st.lists(
    st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)), min_size=0, max_size=12
)


@given(dates, st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)))
def test_never_before_the_cited_minimum_and_cited_without_enough_returns(
    earlier: list[date], performed_on: date
) -> None:
    found = _suggest(performed_on, earlier)
    assert found.due_on >= performed_on + timedelta(days=CITED)
    returns = 0 if found.own is None else len(found.own.intervals_days)
    if returns < MIN_RETURNS:
        assert found.basis is Basis.CITED
        assert found.due_on == performed_on + timedelta(days=CITED)
    if found.basis is Basis.OWN:
        assert found.own is not None
        assert found.due_on == performed_on + timedelta(days=found.own.median_days)


@given(dates)
def test_returns_are_longer_than_the_booster_window_and_order_free(days: list[date]) -> None:
    found = return_intervals(days, BOOSTER)
    assert found == return_intervals(list(reversed(days)), BOOSTER)
    if found is None:
        return
    assert all(gap > BOOSTER for gap in found.intervals_days)
    assert found.sessions == len(found.intervals_days) + 1
    assert sum(found.intervals_days) <= (max(days) - min(days)).days
