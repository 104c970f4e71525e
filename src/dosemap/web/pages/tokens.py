"""Access tokens: a person makes, sees and revokes their own personal access tokens."""

from __future__ import annotations

import uuid

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services.signin import Principal
from dosemap.services.tokens import TokenInput, create_token, revoke_token, tokens_of
from dosemap.web.forms import field_errors, form_lists
from dosemap.web.permissions import PERMISSIONS, PUBLIC, SECOND_FACTOR, permissions_of
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()


def _scopes(user: Principal) -> list[tuple[str, str]]:
    """(permission, what it allows) the person may give a token."""
    held = permissions_of(user.role) - {PUBLIC, SECOND_FACTOR}
    return [(name, PERMISSIONS[name].allows) for name in PERMISSIONS if name in held]


def _page(
    request: Request,
    user: Principal,
    *,
    new_token: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = app_state(request)
    return state.templates.page(
        "tokens.html",
        user=user,
        title="Access tokens",
        status_code=status_code,
        tokens=tokens_of(state.db, user),
        scopes=_scopes(user),
        new_token=new_token,
        errors=errors or {},
    )


@routes.get("/account/tokens", name="tokens")
def tokens(request: Request) -> Response:
    """One's own tokens and a form to make one."""
    return _page(request, signed_in_user(request))


@routes.post("/account/tokens", name="token_create")
async def token_create(request: Request) -> Response:
    """Make a token; it is shown once, on the page this answers with."""
    user = signed_in_user(request)
    form = await form_lists(request)
    try:
        data = TokenInput(
            name=(form.get("name") or [""])[-1],
            scopes=frozenset(form.get("scopes", [])),
            days=int((form.get("days") or ["90"])[-1] or 90),
        )
        token, _ = await run_in_threadpool(
            lambda: create_token(
                app_state(request).db, user, data,
                allowed_scopes=frozenset(name for name, _ in _scopes(user)),
            )
        )  # fmt: skip
    except (ValidationError, InvalidInputError, ValueError) as exc:
        errors = (
            field_errors(exc)
            if isinstance(exc, ValidationError | InvalidInputError)
            else {"days": "is not a whole number"}
        )
        return await run_in_threadpool(lambda: _page(request, user, errors=errors, status_code=422))
    return await run_in_threadpool(lambda: _page(request, user, new_token=token))


@routes.post("/account/tokens/{token_id}/revoke", name="token_revoke")
def token_revoke(request: Request, token_id: uuid.UUID) -> Response:
    """Revoke one of one's tokens."""
    revoke_token(app_state(request).db, signed_in_user(request), token_id)
    return RedirectResponse("/account/tokens", status_code=303)
