"""The intake and session-context models: validation, ages, JSON round trip and schema."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from dosemap.domain.intake import (
    QUESTION_CODES,
    ContraindicationAnswers,
    Intake,
    PriorTreatment,
    SessionContext,
    VialInUse,
)
from dosemap.domain.library.models import ContraindicationCode

DAY = date(2026, 11, 27)


def test_every_contraindication_is_a_question_except_age_and_history() -> None:
    derived = {ContraindicationCode.AGE_LIMIT, ContraindicationCode.RECENT_TOXIN}
    assert set(QUESTION_CODES) == set(ContraindicationCode) - derived


def test_answers_default_to_unknown_not_no() -> None:
    answers = ContraindicationAnswers()
    assert all(answers.answer(code) is None for code in ContraindicationCode)
    assert ContraindicationAnswers(pregnancy=False).answer(ContraindicationCode.PREGNANCY) is False


def test_infection_zones_need_a_yes() -> None:
    with pytest.raises(ValidationError, match="infection_zones"):
        ContraindicationAnswers(infection_zones=("chin",))
    assert ContraindicationAnswers(infection_at_site=True, infection_zones=("chin",))


def test_dates_must_be_in_order() -> None:
    with pytest.raises(ValidationError, match="date_of_birth"):
        Intake(recorded_on=DAY, date_of_birth=DAY + timedelta(days=1))
    later = PriorTreatment(
        treated_on=DAY + timedelta(days=1), product="botox_cosmetic", units=Decimal(10)
    )
    with pytest.raises(ValidationError, match="after recorded_on"):
        Intake(recorded_on=DAY, prior_treatments=(later,))


@pytest.mark.parametrize("units", ["0", "-1", "2000.5"])
def test_prior_units_must_be_plausible(units: str) -> None:
    with pytest.raises(ValidationError, match="units"):
        PriorTreatment(treated_on=DAY, product="dysport", units=Decimal(units))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="pregnant"):
        Intake.model_validate({"recorded_on": "2026-11-27", "answers": {"pregnant": True}})


def test_age_from_date_of_birth_changes_on_the_birthday() -> None:
    intake = Intake(recorded_on=DAY, date_of_birth=date(1951, 11, 27))
    assert intake.age_range_on(date(2026, 11, 26)) == (74, 74)
    assert intake.age_range_on(date(2026, 11, 27)) == (75, 75)
    leap = Intake(recorded_on=DAY, date_of_birth=date(2000, 2, 29))
    assert leap.age_range_on(date(2026, 2, 28)) == (25, 25)
    assert leap.age_range_on(date(2026, 3, 1)) == (26, 26)


@given(
    age=st.integers(0, 100),
    days=st.integers(0, 3000),
)
def test_age_from_years_always_brackets_the_truth(age: int, days: int) -> None:
    """Whatever the birthday, the true age on a later day lies in the returned range."""
    recorded = date(2020, 6, 15)
    day = recorded + timedelta(days=days)
    intake = Intake(recorded_on=recorded, age_years=age)
    low, high = intake.age_range_on(day)  # type: ignore[misc]
    assert high - low <= 1
    for offset in range(0, 366, 7):  # every possible birthday in the year before recording
        born = date(recorded.year - age - 1, 1, 1) + timedelta(days=offset)
        truth = Intake(recorded_on=recorded, date_of_birth=born)
        if truth.age_range_on(recorded) != (age, age):
            continue
        true_age = truth.age_range_on(day)
        assert true_age is not None and low <= true_age[0] <= high


def test_no_age_known() -> None:
    assert Intake(recorded_on=DAY).age_range_on(DAY) is None


def test_reconstituted_vial_needs_a_limit() -> None:
    when = datetime(2026, 11, 27, 9, tzinfo=UTC)
    with pytest.raises(ValidationError, match="beyond_use"):
        VialInUse(product="botox_cosmetic", lot="A", lot_expiry=DAY, reconstituted_at=when)
    with pytest.raises(ValidationError, match="before reconstituted_at"):
        VialInUse(
            product="botox_cosmetic",
            lot="A",
            lot_expiry=DAY,
            reconstituted_at=when,
            beyond_use_at=when - timedelta(hours=1),
        )


def test_times_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="treatment_at"):
        SessionContext.model_validate({"treatment_at": "2026-11-27T10:00:00"})


def test_vial_cannot_be_reconstituted_after_the_treatment() -> None:
    vial = VialInUse(
        product="botox_cosmetic",
        lot="A",
        lot_expiry=DAY,
        reconstituted_at=datetime(2026, 11, 27, 11, tzinfo=UTC),
        beyond_use_policy="label",
    )
    with pytest.raises(ValidationError, match="reconstituted after"):
        SessionContext(treatment_at=datetime(2026, 11, 27, 10, tzinfo=UTC), vials=(vial,))


def test_json_round_trip_keeps_decimals_exact() -> None:
    intake = Intake(
        recorded_on=DAY,
        age_years=40,
        answers=ContraindicationAnswers(anticoagulants=True),
        medications=("apixaban",),
        prior_treatments=(
            PriorTreatment(treated_on=DAY, product="dysport", units=Decimal("62.5")),
        ),
    )
    text = intake.model_dump_json()
    assert json.loads(text)["prior_treatments"][0]["units"] == "62.5"
    assert Intake.model_validate_json(text) == intake


@pytest.mark.parametrize("model", [Intake, SessionContext])
def test_json_schema_is_published(model: type[Intake] | type[SessionContext]) -> None:
    schema = model.model_json_schema()
    assert schema["additionalProperties"] is False
    assert "schema_version" in schema["properties"]


def test_join_unique_does_not_repeat_advice() -> None:
    from dosemap.domain.safety.rules.contraindications import _join_unique

    first = "Bruises. Not stopped without the prescriber."
    joined = _join_unique(first, "Bruises (19-24%). Not stopped without the prescriber.")
    assert joined == "Bruises. Not stopped without the prescriber. Bruises (19-24%)."
    assert _join_unique("Same.", "Same.") == "Same."
