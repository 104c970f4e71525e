"""Who may do what: THE permission table of the web app and the API.

Two tables, both here and nowhere else:

* :data:`PERMISSIONS` — each permission, the roles that hold it, and what it allows;
* :data:`ROUTES` — each route's name (``name=`` on the route) and the one permission it needs.

:func:`dosemap.web.security.authorise`, a dependency of every router, looks the matched route up
in :data:`ROUTES` and refuses what the table does not allow; a route missing from it is refused
(HTTP 500, fail closed) and fails ``tests/web/test_authorisation_matrix.py``. Records are
scoped to the signed-in person's clinic by the services, so another clinic's record is 404.

``docs/permissions.md`` is generated from these tables (``python -m dosemap.web.permissions``)
and ``tests/web/test_docs.py`` checks that it is current.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: The web app's roles, in the order the docs list them.
ROLES: tuple[str, ...] = ("admin", "prescriber", "injector", "front_desk", "auditor")
ROLE_NAMES: dict[str, str] = {
    "admin": "clinic admin",
    "prescriber": "prescriber",
    "injector": "injector",
    "front_desk": "front desk",
    "auditor": "read-only auditor",
}
#: Anyone, signed in or not.
PUBLIC = "public"
#: A person who gave the right password and still owes the second factor (TOTP).
SECOND_FACTOR = "second_factor"
#: A patient at the tablet with a redeemed one-time kiosk pass (their own questionnaire only).
KIOSK = "kiosk"

_ALL = frozenset(ROLES)
_CLINICAL = frozenset({"admin", "prescriber", "injector"})
_STAFF = frozenset({"admin", "prescriber", "injector", "front_desk"})


@dataclass(frozen=True)
class Permission:
    """A permission: the roles that hold it and what it allows."""

    roles: frozenset[str]
    allows: str


PERMISSIONS: dict[str, Permission] = {
    PUBLIC: Permission(frozenset(), "anyone, signed in or not: the sign-in page, health check"),
    SECOND_FACTOR: Permission(
        frozenset(), "a person between password and second factor: the TOTP step only"
    ),
    KIOSK: Permission(
        frozenset(),
        "a patient at the tablet, by one-time kiosk pass: their own questionnaire, nothing else",
    ),
    "signed_in": Permission(
        _ALL,
        "sign out; see and manage one's own access tokens; switch to a site one holds a grant for",
    ),
    "today.view": Permission(
        _ALL, "the Today page: sessions, follow-ups due, open vials, lots expiring"
    ),
    "patients.list": Permission(_ALL, "list and search the clinic's patients"),
    "patients.read": Permission(_ALL, "read a patient's record (every read is access-logged)"),
    "patients.register": Permission(_STAFF, "register a patient"),
    "intake.record": Permission(
        _STAFF, "record intake answers and signed consent; open the patient kiosk"
    ),
    "clinical.write": Permission(
        _CLINICAL, "plan and chart treatment, upload photos, record adverse events"
    ),
    "sessions.sign": Permission(
        frozenset({"admin", "prescriber"}), "sign a charted session (locks it)"
    ),
    "vials.view": Permission(
        _ALL, "the Vials page: lots, open vials, units left, beyond-use times, reconciliation"
    ),
    "vials.manage": Permission(_CLINICAL, "receive lots, reconstitute, waste, discard vials"),
    "vials.export": Permission(
        frozenset({"admin", "prescriber", "injector", "auditor"}),
        "download the vial log (CSV, lot/vial PDF); audited",
    ),
    "recall.view": Permission(
        _ALL, "the Recall page: a lot's patients with contacts (each patient access-logged)"
    ),
    "adverse_events.view": Permission(
        frozenset({"admin", "prescriber", "injector", "auditor"}),
        "the Adverse events page (each patient listed is access-logged)",
    ),
    "adverse_events.export": Permission(
        frozenset({"admin", "prescriber", "auditor"}),
        "download the adverse events CSV; audited and access-logged",
    ),
    "followups.view": Permission(_ALL, "the Follow-ups page: reviews and retreatments due"),
    "followups.manage": Permission(_STAFF, "mark a follow-up contacted or done"),
    "followups.export": Permission(
        _STAFF, "download the follow-ups calendar (.ics); audited and access-logged"
    ),
    "audit.view": Permission(
        frozenset({"admin", "auditor"}), "verify the audit chain, view the access log"
    ),
    "consent.texts": Permission(
        frozenset({"admin"}), "publish a new version of the clinic's consent text"
    ),
    "staff.manage": Permission(
        frozenset({"admin"}),
        "staff, web logins, roles, credentials; grant logins of the group's other sites a role"
        " here, revoke it",
    ),
    "signin.policy": Permission(
        frozenset({"admin"}),
        "set which roles must use a second factor (TOTP) to sign in and to sign records",
    ),
}

#: Route name -> the permission it needs. Every route of the app must be here.
ROUTES: dict[str, str] = {
    # sign-in
    "login_form": PUBLIC,
    "login": PUBLIC,
    "health": PUBLIC,
    "openapi": PUBLIC,
    "totp_form": SECOND_FACTOR,
    "totp": SECOND_FACTOR,
    "logout": "signed_in",
    "tokens": "signed_in",
    "token_create": "signed_in",
    "token_revoke": "signed_in",
    # the JSON API (/api/v1)
    "api_me": "signed_in",
    "api_today": "today.view",
    "api_patients_search": "patients.list",
    "api_patient": "patients.read",
    # daily pages
    "today": "today.view",
    "patients": "patients.list",
    "patients_search": "patients.list",
    "patient_register": "patients.register",
    "patient": "patients.read",
    # treatment: new session, plan editor, chart mode, sign, amend (issue 13)
    "session_new_form": "clinical.write",
    "session_new": "clinical.write",
    "plan_editor": "patients.read",
    "plan_edit": "clinical.write",
    "plan_acknowledge": "clinical.write",
    "chart": "clinical.write",
    "chart_tap": "clinical.write",
    "chart_vial": "clinical.write",
    "chart_finish": "clinical.write",
    "chart_adverse_event": "clinical.write",
    "sign_form": "sessions.sign",
    "sign": "sessions.sign",
    "amend_form": "patients.read",
    "amend": "sessions.sign",
    "compare_form": "patients.read",
    "compare": "patients.read",
    "followup_book": "clinical.write",
    # intake, consent, photos
    "intake": "intake.record",
    "intake_record": "intake.record",
    "consent": "intake.record",
    "consent_sign": "intake.record",
    "consent_text_publish": "consent.texts",
    "consent_view": "patients.read",
    "consent_signature": "patients.read",
    "photos": "patients.read",
    "photo_status": "patients.read",
    "photo_thumbnail": "patients.read",
    "photo_upload": "clinical.write",
    "photo_retry": "clinical.write",
    "kiosk_open": "intake.record",
    "kiosk_here": "intake.record",
    # the patient kiosk: the code form is public, the questionnaire needs a redeemed pass
    "kiosk_start": PUBLIC,
    "kiosk_link": PUBLIC,
    "kiosk_redeem": PUBLIC,
    "kiosk_done": PUBLIC,
    "kiosk_questionnaire": KIOSK,
    "kiosk_submit": KIOSK,
    # the clinic desk (vials, recall, follow-ups, adverse events) and the admin's pages
    "vials": "vials.view",
    "vials_lot_receive": "vials.manage",
    "vial_reconstitute": "vials.manage",
    "vial_waste": "vials.manage",
    "vial_discard": "vials.manage",
    "vials_csv": "vials.export",
    "vials_pdf": "vials.export",
    "recall": "recall.view",
    "recall_lot": "recall.view",
    "adverse_events": "adverse_events.view",
    "adverse_event_form": "clinical.write",
    "adverse_event_record": "clinical.write",
    "adverse_event_outcome": "clinical.write",
    "adverse_events_csv": "adverse_events.export",
    "followups": "followups.view",
    "followup_contacted": "followups.manage",
    "followup_done": "followups.manage",
    "followups_ics": "followups.export",
    "audit": "audit.view",
    "audit_verify": "audit.view",
    "staff": "staff.manage",
    "staff_add": "staff.manage",
    "staff_credential_add": "staff.manage",
    "staff_active": "staff.manage",
    "login_add": "staff.manage",
    "login_role": "staff.manage",
    "login_active": "staff.manage",
    "site_grant": "staff.manage",
    "site_grant_revoke": "staff.manage",
    "sites": "signed_in",
    "site_switch": "signed_in",
    "totp_policy": "signin.policy",
}


def allowed(role: str | None, permission: str) -> bool:
    """True when ``role`` (``None``: not signed in) holds ``permission``."""
    if permission == PUBLIC:
        return True
    return role is not None and role in PERMISSIONS[permission].roles


def permissions_of(role: str) -> frozenset[str]:
    """Every permission ``role`` holds."""
    return frozenset(name for name, p in PERMISSIONS.items() if role in p.roles)


def markdown() -> str:
    """``docs/permissions.md``: the permission table and the route table."""
    lines = [
        "# Permissions",
        "",
        "Generated from `src/dosemap/web/permissions.py` by `python -m dosemap.web.permissions`;",
        "`tests/web/test_docs.py` fails when this file is out of date. Enforced in one",
        "place, `dosemap.web.security.authorise`; records are always scoped to the signed-in",
        "person's clinic (another clinic's record is *not found*).",
        "",
        "## Roles and permissions",
        "",
        "| permission | " + " | ".join(ROLE_NAMES[r] for r in ROLES) + " | allows |",
        "|---|" + "---|" * len(ROLES) + "---|",
    ]
    for name, perm in PERMISSIONS.items():
        if name == PUBLIC:
            marks = ["✓ (anyone)"] * len(ROLES)
        elif name == SECOND_FACTOR:
            marks = ["(during sign-in)"] * len(ROLES)
        elif name == KIOSK:
            marks = ["— (kiosk pass only)"] * len(ROLES)
        else:
            marks = ["✓" if r in perm.roles else "—" for r in ROLES]
        lines.append(f"| `{name}` | " + " | ".join(marks) + f" | {perm.allows} |")
    lines += ["", "## Routes", "", "| route | permission |", "|---|---|"]
    lines += [f"| `{route}` | `{perm}` |" for route, perm in sorted(ROUTES.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
