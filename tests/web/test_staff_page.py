"""The Staff page: staff and credentials (expiry flagged), web logins, roles, activation."""

from __future__ import annotations

from datetime import date, timedelta

from dosemap.services import accounts, staff
from support.web import OTHER_CLINIC_MARKER, WebWorld


def test_the_page_lists_staff_credentials_and_logins_of_the_clinic(world: WebWorld) -> None:
    page = world.client("admin").get("/staff")
    assert page.status_code == 200
    assert "Ivy Injector" in page.text and "RN123" in page.text
    assert "a-front-desk" in page.text and "b-front-desk" not in page.text
    assert "Bo Injector" not in page.text and OTHER_CLINIC_MARKER not in page.text
    assert "your own login" in page.text


def test_a_credential_expiring_soon_or_expired_is_flagged(world: WebWorld) -> None:
    client = world.client("admin")
    csrf = world.csrf(client)
    staff_id = world.own.records["staff_id"]
    soon = (date.today() + timedelta(days=10)).isoformat()
    bad = client.post(
        f"/staff/{staff_id}/credentials",
        data={
            "csrf_token": csrf,
            "type": "R N",
            "number": "1",
            "jurisdiction": "US-CA",
            "expires_on": soon,
        },
    )
    assert bad.status_code == 422 and f'id="c-{staff_id}-e-type"' in bad.text
    for number, expires in (("N-SOON", soon), ("N-OLD", "2020-01-01")):
        ok = client.post(
            f"/staff/{staff_id}/credentials",
            data={
                "csrf_token": csrf,
                "type": "np",
                "number": number,
                "jurisdiction": "us-ca",
                "expires_on": expires,
            },
        )
        assert ok.status_code == 303
    page = client.get("/staff").text
    assert "expires soon" in page and ">expired<" in page
    lines = {
        c.number: c.status
        for m in staff.staff_overview(world.db, world.own.clinic_id, date.today())
        for c in m.credentials
    }
    assert lines == {"RN123": "valid", "N-SOON": "expiring", "N-OLD": "expired"}


def test_add_staff_and_a_login_with_field_errors_first(world: WebWorld) -> None:
    client = world.client("admin")
    csrf = world.csrf(client)
    bad = client.post("/staff", data={"csrf_token": csrf, "display_name": "", "role": "injector"})
    assert bad.status_code == 422 and 'id="s-e-display_name"' in bad.text
    assert (
        client.post(
            "/staff", data={"csrf_token": csrf, "display_name": "Nia Nurse", "role": "injector"}
        ).status_code
        == 303
    )
    login = {
        "csrf_token": csrf,
        "username": "Nia",
        "display_name": "Nia Nurse",
        "role": "injector",
        "password": "short",
    }
    short = client.post("/staff/logins", data=login)
    assert short.status_code == 422 and 'id="a-e-password"' in short.text
    assert "short" not in short.text.split('id="a-password"')[1][:200]  # never echoed
    taken = client.post(
        "/staff/logins", data={**login, "username": "b-admin", "password": "a long enough password"}
    )
    assert taken.status_code == 422 and "is taken" in taken.text
    ok = client.post("/staff/logins", data={**login, "password": "a long enough password"})
    assert ok.status_code == 303
    found = accounts.find_account(world.db, "nia")
    assert found is not None and found.role == "injector" and found.clinic_id == world.own.clinic_id


def test_deactivating_a_login_ends_its_sessions_and_nobody_changes_their_own(
    world: WebWorld,
) -> None:
    admin = world.client("admin")
    csrf = world.csrf(admin)
    desk = world.client("front_desk")
    assert desk.get("/").status_code == 200
    desk_id = world.own.accounts["front_desk"].id
    off = admin.post(
        f"/staff/logins/{desk_id}/active", data={"csrf_token": csrf, "active": "false"}
    )
    assert off.status_code == 303
    assert desk.get("/").status_code == 303  # signed out everywhere
    own_id = world.own.accounts["admin"].id
    mine = admin.post(f"/staff/logins/{own_id}/role", data={"csrf_token": csrf, "role": "auditor"})
    assert mine.status_code == 422 and "is your own" in mine.text
    bad_role = admin.post(
        f"/staff/logins/{desk_id}/role", data={"csrf_token": csrf, "role": "boss"}
    )
    assert bad_role.status_code == 422 and f'id="lr-{desk_id}-e-role"' in bad_role.text
    on = admin.post(f"/staff/logins/{desk_id}/active", data={"csrf_token": csrf, "active": "true"})
    assert on.status_code == 303
    desk_again = world.client("front_desk")
    assert desk_again.get("/").status_code == 200
    role = admin.post(f"/staff/logins/{desk_id}/role", data={"csrf_token": csrf, "role": "auditor"})
    assert role.status_code == 303
    view = accounts.find_account(world.db, "a-front-desk")
    assert view is not None and view.active and view.role == "auditor"
    assert desk_again.get("/").status_code == 303  # signs in again to act in the new role


def test_deactivate_a_staff_member(world: WebWorld) -> None:
    admin = world.client("admin")
    staff_id = world.own.records["staff_id"]
    response = admin.post(
        f"/staff/{staff_id}/active",
        data={"csrf_token": world.csrf(admin), "active": "false", "expected_version": "1"},
    )
    assert response.status_code == 303
    [member] = [
        m
        for m in staff.staff_overview(world.db, world.own.clinic_id, date.today())
        if m.id == staff_id
    ]
    assert not member.active
    odd = admin.post(
        f"/staff/{staff_id}/active", data={"csrf_token": world.csrf(admin), "active": "maybe"}
    )
    assert odd.status_code == 422 and "true or false" in odd.text
