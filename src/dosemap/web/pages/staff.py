"""The Staff page (admin): staff members and their credentials (expiry flagged), web logins,
roles, activate and deactivate."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services import accounts, sites, staff
from dosemap.services.staff_page import staff_page as staff_page_content
from dosemap.web.forms import clean, field_errors, form_dict, form_lists
from dosemap.web.permissions import ROLE_NAMES, allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

#: Roles a staff member (the clinical record's person) may have; web logins have more.
STAFF_ROLES = ("admin", "injector", "front_desk")


def _page(
    request: Request,
    user: Any,
    *,
    failed: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = app_state(request)
    content = staff_page_content(state.db, user.clinic_id)  # one transaction, a query a section
    members = content.members
    return state.templates.page(
        "staff.html",
        user=user,
        title="Staff",
        me=user.user_id,
        active="/staff",
        status_code=status_code,
        members=members,
        logins=content.logins,
        grants=content.grants,
        grant_roles=sites.GRANT_ROLES,
        names={m.id: m.display_name for m in members},
        staff_roles=STAFF_ROLES,
        login_roles=accounts.ROLES,
        role_names=ROLE_NAMES,
        totp_roles=content.totp_roles,
        can_set_policy=allowed(user.role, "signin.policy"),
        warning_days=staff.CREDENTIAL_WARNING_DAYS,
        failed=failed,
        form=form or {},
        errors=errors or {},
    )


async def _attempt(
    request: Request, user: Any, key: str, form: dict[str, str], work: Any
) -> Response:
    """Run ``work`` in the thread pool; a bad field re-shows the page with its message."""
    try:
        await run_in_threadpool(work)
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _page, request, user, failed=key, form=form, errors=field_errors(exc), status_code=422
        )
    return RedirectResponse("/staff", status_code=303)


@routes.get("/staff", name="staff")
def staff_page(request: Request) -> Response:
    """Staff, credentials with expiry flagged, web logins."""
    user = signed_in_user(request)
    return _page(request, user)


@routes.post("/staff", name="staff_add")
async def staff_add(request: Request) -> Response:
    """Add a staff member."""
    user = signed_in_user(request)
    db = app_state(request).db
    form = await form_dict(request)

    def work() -> None:
        staff.add_staff(
            db, user.clinic_id, staff.StaffInput.model_validate(clean(form)), actor=user.actor
        )

    return await _attempt(request, user, "staff", form, work)


@routes.post("/staff/{staff_id}/credentials", name="staff_credential_add")
async def staff_credential_add(request: Request, staff_id: uuid.UUID) -> Response:
    """Record a licence of a staff member."""
    user = signed_in_user(request)
    db = app_state(request).db
    form = await form_dict(request)

    def work() -> None:
        data = clean(form)
        for key in ("type", "jurisdiction"):
            if key in data:
                data[key] = data[key].upper()
        staff.add_credential(
            db,
            user.clinic_id,
            staff_id,
            staff.CredentialInput.model_validate(data),
            actor=user.actor,
        )

    return await _attempt(request, user, f"credential:{staff_id}", form, work)


@routes.post("/staff/{staff_id}/active", name="staff_active")
async def staff_active(request: Request, staff_id: uuid.UUID) -> Response:
    """Activate or deactivate a staff member."""
    user = signed_in_user(request)
    db = app_state(request).db
    form = await form_dict(request)

    def work() -> None:
        active, version = _active_and_version(form)
        staff.set_staff_active(
            db, user.clinic_id, staff_id, active=active, expected_version=version, actor=user.actor
        )

    return await _attempt(request, user, f"staff_active:{staff_id}", form, work)


@routes.post("/staff/logins", name="login_add")
async def login_add(request: Request) -> Response:
    """Create a web login (the username must be free in the whole deployment)."""
    user = signed_in_user(request)
    db = app_state(request).db
    form = await form_dict(request)

    def work() -> None:
        data: dict[str, Any] = clean(form)
        if "username" in data:
            data["username"] = data["username"].strip().lower()
        accounts.create_account(
            db, user.clinic_id, accounts.AccountInput.model_validate(data), actor=user.actor
        )

    return await _attempt(request, user, "login", form, work)


@routes.post("/staff/logins/{account_id}/role", name="login_role")
async def login_role(request: Request, account_id: uuid.UUID) -> Response:
    """Change a web login's role (its sessions end: the new role applies at once)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)

    def work() -> None:
        accounts.set_account_role(
            state.db,
            user.clinic_id,
            account_id,
            accounts.RoleInput.model_validate(clean(form)),
            by=user.user_id,
            actor=user.actor,
        )
        state.sessions.remove_all_of(account_id)

    return await _attempt(request, user, f"login_role:{account_id}", form, work)


@routes.post("/staff/logins/{account_id}/active", name="login_active")
async def login_active(request: Request, account_id: uuid.UUID) -> Response:
    """Let a web login sign in, or stop it (deactivating ends its sessions)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)

    def work() -> None:
        active, _ = _active_and_version(form)
        accounts.set_account_active(
            state.db, user.clinic_id, account_id, active=active, by=user.user_id, actor=user.actor
        )
        if not active:
            state.sessions.remove_all_of(account_id)

    return await _attempt(request, user, f"login_active:{account_id}", form, work)


@routes.post("/staff/totp-policy", name="totp_policy")
async def totp_policy(request: Request) -> Response:
    """The clinic's second-factor policy: the roles checked must use TOTP (a person of such a
    role without it enrols at their next sign-in)."""
    user = signed_in_user(request)
    db = app_state(request).db
    posted = await form_lists(request)
    roles = posted.get("roles", [])
    form = {"roles": " ".join(roles)}

    def work() -> None:
        accounts.require_totp_for(db, user.clinic_id, set(roles), actor=user.actor)

    return await _attempt(request, user, "totp_policy", form, work)


def _active_and_version(form: dict[str, str]) -> tuple[bool, int | None]:
    value = form.get("active", "")
    if value not in ("true", "false"):
        raise InvalidInputError("active", f"is {value!r}", "true or false")
    version = form.get("expected_version", "")
    if version and not version.isdigit():
        raise InvalidInputError("expected_version", "is not a number", "the version shown")
    return value == "true", int(version) if version else None


@routes.post("/staff/grants", name="site_grant")
async def site_grant(request: Request) -> Response:
    """Let a login of another site of the group work here, with a role, until a day."""
    user = signed_in_user(request)
    db = app_state(request).db
    form = await form_dict(request)

    def work() -> None:
        data = sites.GrantInput.model_validate(clean(form))
        sites.grant_site(db, user.clinic_id, data, actor=user.actor)

    return await _attempt(request, user, "grant", form, work)


@routes.post("/staff/grants/{grant_id}/revoke", name="site_grant_revoke")
async def site_grant_revoke(request: Request, grant_id: uuid.UUID) -> Response:
    """End a grant now: the holder's next request is back at its own site."""
    user = signed_in_user(request)
    db = app_state(request).db
    form = await form_dict(request)

    def work() -> None:
        version = int(form["expected_version"]) if form.get("expected_version") else None
        sites.revoke_grant(db, user.clinic_id, grant_id, expected_version=version, actor=user.actor)

    return await _attempt(request, user, f"revoke:{grant_id}", form, work)
