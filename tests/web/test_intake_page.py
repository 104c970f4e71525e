"""The Intake page: the questionnaire as a form, the findings of the latest answers, bad input."""

from __future__ import annotations

import re
from datetime import date, timedelta

from dosemap.persistence.unit_of_work import reading
from dosemap.services.clinic_day import access_log
from dosemap.services.intake_forms import QUESTIONS
from dosemap.services.reporting import patient_timeline
from dosemap.web.pages.patients import intake_lines
from support.web import OTHER_CLINIC_MARKER, WebWorld


def _answers(**overrides: str) -> dict[str, str]:
    data = {f"answers.{key}": "no" for key, _ in QUESTIONS}
    data.update({f"answers.{k}": v for k, v in overrides.items()})
    return data


def _intakes(world: WebWorld) -> int:
    events = patient_timeline(world.db, world.own.clinic_id, world.own.patient_id)
    return sum(1 for e in events if e.kind == "intake")


def test_the_page_shows_the_latest_answers_findings_and_is_access_logged(world: WebWorld) -> None:
    client = world.client("front_desk")
    page = client.get(f"/patients/{world.own.patient_id}/intake")
    assert page.status_code == 200
    assert "Questionnaire" in page.text and "Are you pregnant" in page.text
    assert OTHER_CLINIC_MARKER not in page.text
    entries = access_log(world.db, world.own.clinic_id, entity_id=str(world.own.patient_id))
    assert ("read", "intake", "page:intake") in [(e.action, e.entity, e.via) for e in entries]


def test_saving_answers_shows_their_findings(world: WebWorld) -> None:
    client = world.client("injector")
    url = f"/patients/{world.own.patient_id}/intake"
    before = _intakes(world)
    response = client.post(
        url,
        data={
            "csrf_token": world.csrf(client),
            **_answers(pregnancy="yes", cow_milk_protein_allergy="unsure"),
            "medications": "warfarin 5 mg\n",
            "prior_treatments.0.treated_on": "2026-01-10",
            "prior_treatments.0.product": "dysport",
            "prior_treatments.0.units": "30",
        },
    )
    assert response.status_code == 303, response.text
    assert _intakes(world) == before + 1
    page = client.get(response.headers["location"]).text
    assert "Answers saved" in page
    assert "DM805" in page or "pregnancy" in page  # the pregnancy finding
    assert "warfarin" in page  # DM815: a named anticoagulant, question answered no
    # The form is pre-filled from what was saved.
    assert 'name="answers.pregnancy" value="yes" checked' in page
    # Cow's milk protein matters for Dysport only: unanswered is reported for it.
    dysport = client.get(url, params={"product": "dysport"}).text
    assert "cow_milk_protein_allergy" in dysport


def test_a_bad_answer_names_its_field_and_writes_nothing(world: WebWorld) -> None:
    client = world.client("front_desk")
    url = f"/patients/{world.own.patient_id}/intake"
    csrf = world.csrf(client)
    before = _intakes(world)
    cases = {
        "answers.pregnancy": {**_answers(), "answers.pregnancy": "maybe"},
        "prior_treatments.0.units": {
            **_answers(),
            "prior_treatments.0.treated_on": "2026-01-10",
            "prior_treatments.0.product": "botox_cosmetic",
            "prior_treatments.0.units": "-4",
        },
        "prior_treatments.1.treated_on": {
            **_answers(),
            "prior_treatments.1.product": "botox_cosmetic",
            "prior_treatments.1.units": "4",
        },
        "prior_treatments.0.product": {
            **_answers(),
            "prior_treatments.0.treated_on": "2026-01-10",
            "prior_treatments.0.product": "snake_oil",
            "prior_treatments.0.units": "4",
        },
        "answers.infection_zones": {**_answers(), "answers.infection_zones": "forehead"},
    }
    for field, data in cases.items():
        response = client.post(url, data={"csrf_token": csrf, **data})
        assert response.status_code == 422, (field, response.status_code)
        assert "marked below" in response.text, field
        assert 'class="error"' in response.text, field
        # the message sits beside its own field
        assert f'id="e-{field.replace(".", "-")}"' in response.text, field
    assert _intakes(world) == before
    # What the person entered is kept on the re-shown form.
    response = client.post(url, data={"csrf_token": csrf, **cases["prior_treatments.0.units"]})
    assert 'value="-4"' in response.text


def test_another_clinics_patient_is_not_found(world: WebWorld) -> None:
    client = world.client("admin")
    url = f"/patients/{world.other.patient_id}/intake"
    assert client.get(url).status_code == 404
    posted = client.post(url, data={"csrf_token": world.csrf(client), **_answers()})
    assert posted.status_code == 404
    assert OTHER_CLINIC_MARKER not in posted.text


def test_intake_lines_give_the_age_from_the_date_of_birth() -> None:
    answers: dict[str, object] = {
        "recorded_on": "2026-06-01", "date_of_birth": "1951-06-02", "age_years": None,
    }  # fmt: skip
    lines = dict(intake_lines(answers))
    assert lines["age years"] == "74 (from the date of birth)"  # 75 the day after
    # No date of birth: an unanswered age says so; an age answered is shown as it is.
    assert dict(intake_lines({"recorded_on": "2026-06-01", "age_years": None}))["age years"] == (
        "not answered"
    )
    assert dict(intake_lines({**answers, "age_years": 70}))["age years"] == "70"


def test_the_patient_page_shows_the_age_when_the_date_of_birth_is_known(world: WebWorld) -> None:
    client = world.client("injector")
    url = f"/patients/{world.own.patient_id}/intake"
    saved = client.post(url, data={"csrf_token": world.csrf(client), **_answers()})
    assert saved.status_code == 303, saved.text
    page = client.get(f"/patients/{world.own.patient_id}").text
    intake = page.split('id="h-intake"')[1].split("</section>")[0]
    age = re.search(r"<dt>age years</dt><dd>([^<]*)</dd>", intake)
    assert age is not None and re.fullmatch(r"\d+ \(from the date of birth\)", age[1]), intake
    with reading(world.db) as uow:
        born = uow.patients.get(world.own.clinic_id, world.own.patient_id).date_of_birth
    today = date.today()  # the intake's day is the clinic's: within a day of this one
    assert int(age[1].split()[0]) in {
        d.year - born.year - ((d.month, d.day) < (born.month, born.day))
        for d in (today - timedelta(days=1), today, today + timedelta(days=1))
    }
