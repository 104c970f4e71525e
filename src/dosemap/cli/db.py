"""``dosemap db …``: schema upgrade and status, clinics, staff, credentials, policy.

Also the helpers every records command uses: open the configured database, pick the clinic,
resolve what a person typed (chart number, vial label, staff name or a UUID) to a record.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dosemap.config import load_settings
from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.migrate import current_revision, head_revision, require_current, upgrade
from dosemap.services import patients as patient_service
from dosemap.services import staff as staff_service
from dosemap.services import vials as vial_service

app = typer.Typer(
    help="Database: upgrade, status, clinics, staff and credentials.", no_args_is_help=True
)
# User values (a chart number "[/]") must never be read as markup: styles are set explicitly.
console = Console(markup=False)

CLINIC_ENV = "DOSEMAP_CLINIC"
ACTOR_ENV = "DOSEMAP_ACTOR"

ClinicOpt = typer.Option(
    None, "--clinic", help=f"Clinic name or id (default: ${CLINIC_ENV}, or the only one)."
)
ActorOpt = typer.Option(
    None, "--as", help=f"Staff name or id acting (default: ${ACTOR_ENV}); writes need one."
)


def open_database(*, check_schema: bool = True) -> Database:
    """The configured database; refuses one that is not at the shipped schema version."""
    db = Database.from_url(load_settings().database_url)
    db.check_reachable()
    if check_schema:
        if current_revision(db.engine) is None:
            upgrade(db.engine)  # first use: create the schema
        require_current(db.engine)
    return db


def resolve_clinic(db: Database, ref: str | None) -> uuid.UUID:
    """The clinic named by ``ref`` / ``$DOSEMAP_CLINIC``, or the only clinic there is."""
    ref = ref or os.environ.get(CLINIC_ENV)
    clinics = staff_service.list_clinics(db)
    if ref:
        for c in clinics:
            if str(c.id) == ref or c.name == ref:
                return c.id
        raise InvalidInputError(
            "clinic", "no such clinic", "; ".join(c.name for c in clinics) or "none yet"
        )
    if len(clinics) == 1:
        return clinics[0].id
    if not clinics:
        raise InvalidInputError("clinic", "no clinic yet", "create one: dosemap db clinic-add NAME")
    raise InvalidInputError(
        "clinic", "several clinics", "--clinic one of: " + ", ".join(c.name for c in clinics)
    )


def resolve_staff(db: Database, clinic_id: uuid.UUID, ref: str, field: str = "staff") -> uuid.UUID:
    """A staff member by id or exact display name."""
    rows = staff_service.staff_matching(db, clinic_id, ref)
    if len(rows) != 1:
        raise InvalidInputError(field, "no single staff member matches", "a staff id or exact name")
    return rows[0]


def resolve_actor(db: Database, clinic_id: uuid.UUID, ref: str | None) -> str:
    """Who acts, for the audit log: a staff id, or ``cli``."""
    ref = ref or os.environ.get(ACTOR_ENV)
    return str(resolve_staff(db, clinic_id, ref, "as")) if ref else "cli"


def resolve_writer(db: Database, clinic_id: uuid.UUID, ref: str | None) -> str:
    """Who writes, for the audit log: an active staff member named by ``--as`` or
    ``$DOSEMAP_ACTOR`` (required once the clinic has staff; before that, ``setup``)."""
    ref = ref or os.environ.get(ACTOR_ENV)
    if not staff_service.has_staff(db, clinic_id):
        return "setup"  # the clinic's first staff member is being added: nobody to name yet
    if not ref:
        raise InvalidInputError(
            "as", "who is acting is not given", f"--as NAME or ${ACTOR_ENV} (active staff)"
        )
    staff_id = resolve_staff(db, clinic_id, ref, "as")
    if not staff_service.is_active(db, clinic_id, staff_id):
        raise InvalidInputError("as", f"staff {staff_id} is deactivated", "an active staff member")
    return str(staff_id)


def resolve_patient(db: Database, clinic_id: uuid.UUID, ref: str) -> uuid.UUID:
    """A patient by id or chart number."""
    rows = patient_service.patients_matching(db, clinic_id, ref)
    if len(rows) != 1:
        raise InvalidInputError("patient", "no such patient", "a patient id or chart number")
    return rows[0]


def resolve_vial(db: Database, clinic_id: uuid.UUID, ref: str, field: str = "vial") -> uuid.UUID:
    """A vial by id or label."""
    rows = vial_service.vials_matching(db, clinic_id, ref)
    if len(rows) != 1:
        raise InvalidInputError(field, "no single vial matches", "a vial id or label")
    return rows[0]


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Create or migrate the database schema to this version of dosemap."""
    db = open_database(check_schema=False)
    before = current_revision(db.engine)
    reached = upgrade(db.engine)
    console.print(f"database schema: {before or 'empty'} → {reached}")


@app.command("status")
def status_cmd() -> None:
    """Where the database is and which schema version it has."""
    settings = load_settings()
    db = Database.from_url(settings.database_url)
    table = Table(show_header=False)
    table.add_row("database", db.engine.url.render_as_string(hide_password=True))
    table.add_row(
        "schema", f"{current_revision(db.engine) or 'empty'} (this dosemap: {head_revision()})"
    )
    table.add_row("data dir", str(settings.data_dir))
    console.print(table)


@app.command("clinic-add")
def clinic_add(
    name: str,
    jurisdiction: str = typer.Option(..., help="Where the clinic practises, e.g. US-CA."),
    beyond_use_policy: str = typer.Option(
        "label", help="Vial beyond-use policy: label or asds_consensus."
    ),
) -> None:
    """Create a clinic."""
    db = open_database()
    c = staff_service.create_clinic(
        db,
        staff_service.ClinicInput(
            name=name, jurisdiction=jurisdiction, beyond_use_policy=beyond_use_policy
        ),
    )
    console.print(f"clinic {c.id} {c.name}")


@app.command("clinic-profile")
def clinic_profile(
    address: str | None = typer.Option(None, help="Postal address printed on documents."),
    phone: str | None = typer.Option(None, help="Phone printed on documents."),
    logo: Annotated[Path | None, typer.Option(help="A PNG logo printed on documents.")] = None,
    calendar_detail: str | None = typer.Option(
        None, help="What follow-up calendars may say: none, chart, name or clinical."
    ),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Set what the clinic's documents print (address, phone, logo) and calendars may say."""
    logo_png = None
    if logo is not None:
        try:
            logo_png = logo.read_bytes()
        except OSError as exc:
            raise InvalidInputError(
                "logo", f"cannot read {logo} ({exc.strerror})", "a PNG file"
            ) from None
    if logo_png and not logo_png.startswith(staff_service.PNG_SIGNATURE):  # input before actor
        raise InvalidInputError("logo", "is not a PNG image", "a PNG file")
    data = staff_service.ClinicProfileInput.model_validate(
        {
            "address": address,
            "phone": phone,
            "logo_png": logo_png,
            "calendar_detail": calendar_detail,
        }
    )
    db = open_database()
    cid = resolve_clinic(db, clinic)
    c = staff_service.update_clinic_profile(db, cid, data, actor=resolve_writer(db, cid, actor))
    console.print(
        f"clinic {c.name}: address {'set' if c.address else 'none'}, phone {c.phone or 'none'}, "
        f"logo {'set' if c.logo_png else 'none'}, calendar detail {c.calendar_detail}"
    )


@app.command("staff-add")
def staff_add(
    name: str,
    role: str = typer.Option(..., help="admin, injector or front_desk"),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Add a staff member."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    m = staff_service.add_staff(
        db,
        cid,
        staff_service.StaffInput.model_validate({"display_name": name, "role": role}),
        actor=resolve_writer(db, cid, actor),
    )
    console.print(f"staff {m.id} {m.display_name} ({m.role})")


@app.command("staff-deactivate")
def staff_deactivate(
    staff: str,
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Deactivate a staff member: they can no longer sign, amend or act."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    m = staff_service.set_staff_active(
        db, cid, resolve_staff(db, cid, staff), False, actor=resolve_writer(db, cid, actor)
    )
    console.print(f"staff {m.id} deactivated")


@app.command("credential-add")
def credential_add(
    staff: str,
    type: str = typer.Option(..., "--type", help="MD, DO, NP, PA, RN …"),
    number: str = typer.Option(...),
    jurisdiction: str = typer.Option(...),
    expires: str = typer.Option(..., help="Expiry date, YYYY-MM-DD."),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Record a licence for a staff member."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    data = staff_service.CredentialInput.model_validate(
        {"type": type, "number": number, "jurisdiction": jurisdiction, "expires_on": expires}
    )
    cred = staff_service.add_credential(
        db, cid, resolve_staff(db, cid, staff), data, actor=resolve_writer(db, cid, actor)
    )
    console.print(f"credential {cred.id} {cred.type} expires {cred.expires_on}")


@app.command("allow")
def allow(
    credential_type: str,
    procedure: str = typer.Option(staff_service.MICRODOSE_PROCEDURE),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Clinic policy: let a credential type perform a procedure in the clinic's jurisdiction."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    jurisdiction = staff_service.get_clinic(db, cid).jurisdiction
    staff_service.allow_procedure(
        db,
        cid,
        procedure=procedure,
        credential_type=credential_type,
        jurisdiction=jurisdiction,
        actor=resolve_writer(db, cid, actor),
    )
    console.print(f"{credential_type} may perform {procedure} in {jurisdiction}")


def parse_date(text: str, field: str) -> date:
    """A YYYY-MM-DD date or an error naming the field."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(field, f"not a date: {text!r}", "YYYY-MM-DD") from None
