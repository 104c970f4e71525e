"""One web login per role for the demo clinic (what ``make run`` prints).

The passwords are printed on purpose: the demo clinic's records are invented, and the demo
server listens on 127.0.0.1 only. A real clinic's admin creates logins on the Staff page.
"""

from __future__ import annotations

from dataclasses import dataclass

from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import reading
from dosemap.services import accounts, staff
from dosemap.services.demo import DEMO_CLINIC

#: role -> (username, display name, the demo staff member it acts as, or None)
DEMO_LOGINS: dict[str, tuple[str, str, str | None]] = {
    "admin": ("admin", "Dr. Alex Rivera", "Dr. Alex Rivera"),
    "prescriber": ("prescriber", "Jordan Lee, NP", "Jordan Lee, NP"),
    "injector": ("injector", "Casey Morgan, RN", "Casey Morgan, RN"),
    "front_desk": ("desk", "Riley Chen", "Riley Chen"),
    "auditor": ("auditor", "Pat Okoro (auditor)", None),
}


@dataclass(frozen=True)
class DemoLogin:
    """A demo login to print."""

    role: str
    username: str
    password: str


def demo_password(username: str) -> str:
    """The demo password of ``username`` (printed by ``make run``)."""
    return f"{username}-demo-2026"


def seed_demo_logins(db: Database) -> list[DemoLogin]:
    """Create the demo clinic's logins if missing; the demo clinic must exist."""
    clinic_id = staff.find_clinic(db, DEMO_CLINIC)
    if clinic_id is None:
        raise LookupError(f"{DEMO_CLINIC!r} is not seeded")
    out = []
    for role, (username, display, staff_name) in DEMO_LOGINS.items():
        password = demo_password(username)
        out.append(DemoLogin(role, username, password))
        with reading(db) as uow:
            if uow.accounts.by_username(username) is not None:
                continue
        staff_id = None
        if staff_name is not None:
            found = staff.staff_matching(db, clinic_id, staff_name)
            staff_id = found[0] if found else None
        accounts.create_account(
            db,
            clinic_id,
            accounts.AccountInput(
                username=username,
                display_name=display,
                role=role,
                password=password,
                staff_id=staff_id,
            ),
            actor="demo",
        )
    return out
