"""What the Staff page shows, read in one unit of work (one transaction, a query a section:
staff, credentials, logins, the site's group and grants, the second-factor policy)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import reading
from dosemap.services._common import now
from dosemap.services.accounts import AccountView, account_view
from dosemap.services.sites import SiteGrants
from dosemap.services.staff import StaffLine, staff_lines


@dataclass(frozen=True)
class StaffPage:
    """The clinic's staff with credentials flagged, its logins, its site grants and the roles
    that must use a second factor."""

    members: list[StaffLine]
    logins: list[AccountView]
    grants: SiteGrants
    totp_roles: set[str]


def staff_page(db: Database, clinic_id: uuid.UUID, at: datetime | None = None) -> StaffPage:
    """The Staff page's content as of ``at`` (credentials judged on the clinic's day)."""
    at = at or now()
    with reading(db) as uow:
        clinic = uow.clinics.get(clinic_id)
        members = uow.staff.of_clinic(clinic_id)
        credentials = uow.staff.credentials_of_clinic(clinic_id)
        logins = [account_view(row) for row in uow.accounts.of_clinic(clinic_id)]
        group_id = uow.sites.group_of(clinic_id)
        group = uow.sites.group(group_id) if group_id else None
        grants = SiteGrants(
            group_name=group.name if group else None,
            grants=uow.sites.of_site(clinic_id),
            sibling_logins=uow.sites.sibling_logins(clinic_id) if group else [],
            staff=[s for s in members if s.active],
            at=at,
        )
        totp_roles = uow.accounts.totp_required_roles(clinic_id)
    on = at.astimezone(ZoneInfo(clinic.timezone)).date()
    return StaffPage(staff_lines(members, credentials, on), logins, grants, totp_roles)
