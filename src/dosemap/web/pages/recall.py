"""The Recall page: a lot number -> every patient who received it, with their contacts.

The lot is chosen by a POST (the answer lists patients: it never goes into a URL), and each
patient listed is written to the access log.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services.desk import Recall, recall_for_reader
from dosemap.services.staff import get_clinic
from dosemap.services.vials import clinic_lots
from dosemap.web.forms import field_errors, form_dict
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()


def _page(
    request: Request,
    user: Any,
    *,
    recall: Recall | None = None,
    lot_number: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = app_state(request)
    lots = clinic_lots(state.db, user.clinic_id)
    return state.templates.page(
        "recall.html",
        user=user,
        title="Recall",
        active="/recall",
        status_code=status_code,
        lots=lots,
        recall=recall,
        lot_number=lot_number,
        tz=get_clinic(state.db, user.clinic_id).timezone,
        errors=errors or {},
    )


@routes.get("/recall", name="recall")
def recall(request: Request) -> Response:
    """Choose a lot."""
    user = signed_in_user(request)
    return _page(request, user)


@routes.post("/recall", name="recall_lot")
async def recall_lot(request: Request) -> Response:
    """Every patient who received the lot, with contacts (each one access-logged)."""
    user = signed_in_user(request)
    state = app_state(request)
    lot_number = (await form_dict(request)).get("lot_number", "")[:60]
    try:
        found = await run_in_threadpool(
            recall_for_reader,
            state.db,
            user.clinic_id,
            lot_number,
            reader=user.user_id,
            via="page:recall",
        )
    except InvalidInputError as exc:
        return await run_in_threadpool(
            _page,
            request,
            user,
            lot_number=lot_number,
            errors=field_errors(exc),
            status_code=422,
        )
    return await run_in_threadpool(_page, request, user, recall=found, lot_number=lot_number)
