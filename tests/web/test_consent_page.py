"""The Consent page: versioned text, a drawn signature stored with the text's SHA-256, time,
signer and witness; bad input named by field; nothing half-written."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from dosemap.domain.errors import InvalidInputError
from dosemap.services import consent
from dosemap.services.audit import verify
from dosemap.services.clinic_day import access_log
from support.web import OTHER_CLINIC_MARKER, WebWorld, signature_data_url


def _sign_form(world: WebWorld, **overrides: str) -> dict[str, str]:
    text = consent.current_text(world.db, world.own.clinic_id)
    data = {
        "text_version": text.version,
        "text_sha256": text.sha256,
        "signer_name": "Pat Example",
        "signature": signature_data_url(),
    }
    data.update(overrides)
    return data


def _count(world: WebWorld) -> int:
    return len(consent.consents_of(world.db, world.own.clinic_id, world.own.patient_id))


def _blank_png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (600, 200), "white").save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def test_the_page_shows_the_text_its_version_and_the_pad(world: WebWorld) -> None:
    client = world.client("front_desk")
    page = client.get(f"/patients/{world.own.patient_id}/consent")
    assert page.status_code == 200
    text = consent.current_text(world.db, world.own.clinic_id)
    assert text.title in page.text and text.version in page.text and text.sha256[:16] in page.text
    assert "<canvas" in page.text and "/static/signature.js" in page.text
    assert OTHER_CLINIC_MARKER not in page.text
    assert client.get("/static/signature.js").status_code == 200
    logged = access_log(world.db, world.own.clinic_id, entity_id=str(world.own.patient_id))
    assert "page:consent" in [e.via for e in logged]


def test_signing_stores_drawing_text_hash_time_signer_and_witness(world: WebWorld) -> None:
    client = world.client("front_desk")
    url = f"/patients/{world.own.patient_id}/consent"
    before = _count(world)
    data = _sign_form(world, signer_name="Pat Example")
    response = client.post(url, data={"csrf_token": world.csrf(client), **data})
    assert response.status_code == 303, response.text
    assert _count(world) == before + 1
    newest = consent.consents_of(world.db, world.own.clinic_id, world.own.patient_id)[0]
    assert newest.has_drawing and newest.witness == "a front_desk"
    signed = consent.signed_consent(world.db, world.own.clinic_id, newest.consent_id)
    png = base64.b64decode(data["signature"].split(",", 1)[1])
    assert signed.signature_png == png
    assert signed.text_sha256 == consent.text_sha256(signed.text) == data["text_sha256"]
    assert signed.signer == "Pat Example" and signed.witness == "a front_desk"
    # The drawing is served (access-logged) and shown with the signed consent.
    consent_url = f"/patients/{world.own.patient_id}/consents/{newest.consent_id}"
    image = client.get(consent_url + "/signature.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == png
    view = client.get(consent_url)
    assert "Pat Example" in view.text and signed.text_sha256 in view.text
    # The patient page now shows this consent on file.
    record = client.get(f"/patients/{world.own.patient_id}").text
    assert "on file" in record and signed.text_version in record


@pytest.mark.parametrize(
    ("field", "override", "message"),
    [
        ("signature", {"signature": _blank_png()}, "is blank"),
        ("signature", {"signature": "data:image/png;base64,@@@"}, "is damaged"),
        ("signature", {"signature": "data:image/gif;base64,R0lGOD"}, "not a drawn signature"),
        ("signer_name", {"signer_name": ""}, ""),
        ("text_sha256", {"text_sha256": "abc"}, ""),
    ],
)
def test_bad_input_is_named_and_nothing_is_stored(
    world: WebWorld, field: str, override: dict[str, str], message: str
) -> None:
    client = world.client("injector")
    before = _count(world)
    response = client.post(
        f"/patients/{world.own.patient_id}/consent",
        data={"csrf_token": world.csrf(client), **_sign_form(world, **override)},
    )
    assert response.status_code == 422
    assert message in response.text
    if field in ("signature", "signer_name"):
        assert f'id="e-{field}"' in response.text
    assert _count(world) == before


def test_a_new_text_version_must_be_read_before_signing(world: WebWorld, tmp_path: Path) -> None:
    client = world.client("front_desk")
    url = f"/patients/{world.own.patient_id}/consent"
    first = _sign_form(world)
    assert client.post(url, data={"csrf_token": world.csrf(client), **first}).status_code == 303
    published = consent.publish_text(
        world.db,
        world.own.clinic_id,
        consent.TextInput(version="clinic-2", title="Our consent", text="I agree. " * 10),
        actor="test",
    )
    with pytest.raises(InvalidInputError) as again:
        consent.publish_text(
            world.db,
            world.own.clinic_id,
            consent.TextInput(version="clinic-2", title="Again", text="Other words. " * 5),
            actor="test",
        )
    assert again.value.field == "version"
    before = _count(world)
    stale = client.post(url, data={"csrf_token": world.csrf(client), **first})
    assert stale.status_code == 409 and _count(world) == before
    page = client.get(url).text
    assert "Our consent" in page and "clinic-2" in page
    fresh = _sign_form(world)
    assert fresh["text_version"] == "clinic-2" and fresh["text_sha256"] == published.sha256
    assert client.post(url, data={"csrf_token": world.csrf(client), **fresh}).status_code == 303
    # Each signature keeps the text it was signed with.
    lines = consent.consents_of(world.db, world.own.clinic_id, world.own.patient_id)
    texts = {
        consent.signed_consent(world.db, world.own.clinic_id, c.consent_id).text_version
        for c in lines
    }
    assert {"clinic-2", first["text_version"]} <= texts
    versions = [v.version for v in consent.text_versions(world.db, world.own.clinic_id)]
    assert versions[0] == "clinic-2" and first["text_version"] in versions
    # Texts and signatures are in the audit chain, every record matching its last entry.
    report = verify(world.db, tmp_path / "checkpoints")
    assert report.problems == () and report.records_checked > 0


def test_another_clinics_consent_and_another_patients_are_not_found(world: WebWorld) -> None:
    client = world.client("admin")
    other = world.other
    assert client.get(f"/patients/{other.patient_id}/consent").status_code == 404
    path = f"/patients/{world.own.patient_id}/consents/{other.consent_id}"
    assert client.get(path).status_code == 404
    assert client.get(path + "/signature.png").status_code == 404
    response = client.post(
        f"/patients/{other.patient_id}/consent",
        data={"csrf_token": world.csrf(client), **_sign_form(world)},
    )
    assert response.status_code == 404 and OTHER_CLINIC_MARKER not in response.text


def test_an_admin_publishes_a_new_version_from_the_page(world: WebWorld) -> None:
    url = f"/patients/{world.own.patient_id}/consent-texts"
    admin = world.client("admin")
    assert "Publish a new version" in admin.get(f"/patients/{world.own.patient_id}/consent").text
    form = {"version": "clinic-3", "title": "Our own consent", "text": "I agree. " * 10}
    response = admin.post(url, data={"csrf_token": world.csrf(admin), **form})
    assert response.status_code == 303
    assert consent.current_text(world.db, world.own.clinic_id).version == "clinic-3"
    again = admin.post(url, data={"csrf_token": world.csrf(admin), **form})
    assert again.status_code == 422 and 'id="e-t-version"' in again.text
    bad = admin.post(url, data={"csrf_token": world.csrf(admin), **form, "version": "a b/c"})
    assert bad.status_code == 422 and 'id="e-t-version"' in bad.text
    short = admin.post(
        url, data={"csrf_token": world.csrf(admin), **form, "version": "x", "text": "ok"}
    )
    assert short.status_code == 422 and 'id="e-t-text"' in short.text
    versions = [v.version for v in consent.text_versions(world.db, world.own.clinic_id)]
    assert versions == ["clinic-3", "dosemap-template-1"]  # the template, as first signed
    desk = world.client("front_desk")
    assert "Publish a new version" not in desk.get(f"/patients/{world.own.patient_id}/consent").text
    refused = desk.post(url, data={"csrf_token": world.csrf(desk), **form, "version": "desk-1"})
    assert refused.status_code == 403
