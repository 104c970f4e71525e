"""A believable demo clinic: staff with credentials, patients, 18 months of charted sessions,
vials opened and discarded, a few adverse events and follow-ups due.

Clinic and staff are made through the services; the 18 months of records are written in one
bulk transaction under the services' rules (input models, signing refusals, follow-ups), each
record with its audit entry, the entries appended as one batch to the same hash chain. Plans
come from the core planner with published presets. Names are invented.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from dosemap.domain.dosing import beyond_use_at, botox_equivalent_units
from dosemap.domain.intake import ContraindicationAnswers, Intake, SessionContext, VialInUse
from dosemap.domain.library.catalog import Library
from dosemap.domain.plan import Plan, PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.domain.safety import evaluate
from dosemap.persistence import audit
from dosemap.persistence import models as m
from dosemap.persistence.audit_records import signed_content_sha256
from dosemap.persistence.db import Database
from dosemap.persistence.migrate import current_revision, upgrade
from dosemap.persistence.unit_of_work import UnitOfWork, reading, writing
from dosemap.resources import load_library, template_mesh
from dosemap.services import followups, sessions, staff, vials
from dosemap.services import patients as patient_service
from dosemap.services._common import snap

DEMO_CLINIC = "Demo Clinic (sample data)"
#: Presets the demo rotates through (all [VARIES] published protocols in the library).
DEMO_PROTOCOLS = (
    "wu_microbotox_20",
    "wu_microbotox_24",
    "park_2021_inco",
    "diaspro_2020_grid",
    "salem_2024_5ml",
    "kesty_2021_forehead_30",
)
_Q = Decimal("0.0001")  # the chart's stored precision
VIAL_UNITS = {"botox_cosmetic": Decimal(100), "xeomin": Decimal(100), "dysport": Decimal(300)}
VIAL_DILUENT_ML = {
    "botox_cosmetic": Decimal("2.5"),
    "xeomin": Decimal("2.5"),
    "dysport": Decimal("2.5"),
}

GIVEN = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farah",
    "Grace",
    "Hiro",
    "Isla",
    "Jonah",
    "Kemi",
    "Liam",
    "Maya",
    "Noor",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
)
FAMILY = (
    "Abbott",
    "Baker",
    "Cruz",
    "Dunn",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Reyes",
    "Silva",
)
ADVERSE = (
    ("bruising", "mild", "cold compress", "resolved in 5 days"),
    ("swelling", "mild", "reassurance", "resolved in 2 days"),
    ("asymmetry", "moderate", "touch-up at review", "resolved after touch-up"),
    ("headache", "mild", "paracetamol", "resolved in 1 day"),
)


@dataclass(frozen=True)
class DemoSummary:
    """What the seeder made (or found)."""

    created: bool
    clinic_id: uuid.UUID
    patients: int
    sessions: int
    signed: int
    followups_due: int


Progress = Callable[[str, int, int], None]


def _plans(library: Library) -> dict[str, Plan]:
    mesh = template_mesh()
    return {p: build_plan(PlanRequest(protocol=p), library, mesh) for p in DEMO_PROTOCOLS}


def _summary(db: Database, clinic_id: uuid.UUID, created: bool, today: date) -> DemoSummary:
    with reading(db) as uow:
        n_pat = uow.patients.count(clinic_id)
        n_ses = uow.sessions.count(clinic_id)
        n_sig = uow.sessions.count(clinic_id, ("signed",))
        n_due = uow.followups.count_open_due(clinic_id, today + timedelta(days=14))
    return DemoSummary(created, clinic_id, n_pat, n_ses, n_sig, n_due)


def seed_demo_clinic(
    target: Database | str,
    *,
    patients: int = 40,
    months: int = 18,
    seed: int = 7,
    today: date | None = None,
    progress: Progress | None = None,
    library: Library | None = None,
) -> DemoSummary:
    """Seed the demo clinic once; a second call finds it and does nothing.

    ``target`` is a :class:`Database` or a database URL (migrated here if empty).
    ``progress(stage, done, total)`` is called as patients are seeded.
    """
    db = Database.from_url(target) if isinstance(target, str) else target
    if current_revision(db.engine) is None:
        upgrade(db.engine)
    today = today or datetime.now(UTC).date()
    existing = staff.find_clinic(db, DEMO_CLINIC)
    if existing is not None:
        return _summary(db, existing, False, today)
    library = library or load_library()
    rng = random.Random(seed)
    plans = _plans(library)
    clinic = staff.create_clinic(
        db,
        staff.ClinicInput(
            name=DEMO_CLINIC,
            jurisdiction="US-CA",
            timezone="America/Los_Angeles",
            beyond_use_policy="asds_consensus",
        ),
    )
    cid = clinic.id
    admin = staff.add_staff(
        db, cid, staff.StaffInput(display_name="Dr. Alex Rivera", role="admin"), actor="demo"
    )
    a = str(admin.id)
    injectors = [
        staff.add_staff(db, cid, staff.StaffInput(display_name=name, role="injector"), actor=a)
        for name in ("Jordan Lee, NP", "Casey Morgan, RN")
    ]
    desk = staff.add_staff(
        db, cid, staff.StaffInput(display_name="Riley Chen", role="front_desk"), actor=a
    )
    staff.add_credential(
        db,
        cid,
        admin.id,
        staff.CredentialInput(
            type="MD",
            number="A123456",
            jurisdiction="US-CA",
            expires_on=today + timedelta(days=500),
        ),
        actor=a,
    )
    staff.add_credential(
        db,
        cid,
        injectors[0].id,
        staff.CredentialInput(
            type="NP",
            number="NP95001",
            jurisdiction="US-CA",
            expires_on=today + timedelta(days=300),
        ),
        actor=a,
    )
    staff.add_credential(
        db,
        cid,
        injectors[1].id,
        staff.CredentialInput(
            type="RN", number="RN77310", jurisdiction="US-CA", expires_on=today + timedelta(days=40)
        ),
        actor=a,
    )
    for cred in (
        "MD",
        "DO",
        "NP",
        "PA",
        "RN",
    ):  # California: RNs inject under a supervising MD's order
        staff.allow_procedure(
            db,
            cid,
            procedure=staff.MICRODOSE_PROCEDURE,
            credential_type=cred,
            jurisdiction="US-CA",
            actor=a,
        )
    start = today - timedelta(days=int(months * 30.4))
    # The records go in as one bulk write: one transaction, a flush per table, one batch of
    # audit entries (seconds, where a service call per record took half a minute).
    with writing(db) as uow:
        writer = _DemoRecords(uow, cid, library, rng, start, today)
        writer.seed(patients, [admin.id, injectors[0].id, injectors[1].id], desk.id, plans)
        uow.bulk.insert([row for _, _, row in writer.rows] + writer.usage_rows, writer.point_rows)
        uow.audit.append_many(writer.audit_entries())
    return _summary(db, cid, True, today)


def _intake(rng: random.Random, born: date, day: date) -> Intake:
    return Intake(
        recorded_on=day,
        date_of_birth=born,
        answers=ContraindicationAnswers(
            hypersensitivity=False,
            infection_at_site=False,
            neuromuscular_disease=False,
            aminoglycosides=False,
            pregnancy=False,
            breastfeeding=False,
            cow_milk_protein_allergy=False,
            anticoagulants=rng.random() < 0.1,
            dry_skin_or_eczema=rng.random() < 0.15,
        ),
    )


@dataclass
class _Visit:
    at: datetime
    patient: int


@dataclass
class _OpenVial:
    row: m.Vial
    lot: m.ProductLot
    left: Decimal


class _DemoRecords:
    """Builds the demo's patients, vials, sessions and follow-ups as rows in one transaction.

    The rules are the services': the same input models validate each record, signing is refused
    on the same grounds (a blocking safety finding of the core, a credential not valid on the
    day, no consent), follow-ups are those :func:`sessions.followups_for` schedules. Each record
    is written once, in its final state, with one audit entry (``create``) whose digest covers
    it as stored (a session with its chart points and vial usage, as the services digest it).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        cid: uuid.UUID,
        library: Library,
        rng: random.Random,
        start: date,
        today: date,
    ) -> None:
        self.uow, self.cid, self.library, self.rng = uow, cid, library, rng
        self.start, self.today = start, today
        self.stamp = datetime.now(UTC)
        self.rows: list[tuple[str, str, m.Base]] = []  # (actor, entity, row) in write order
        # Chart points go in as plain rows (bulk insert; ~100 per session): column -> value.
        self.points: dict[uuid.UUID, list[dict[str, Any]]] = {}
        self.usage: dict[uuid.UUID, list[m.SessionVialUsage]] = {}
        self.lots: dict[tuple[str, int], m.ProductLot] = {}
        self.open: dict[str, _OpenVial] = {}
        self.vials = 0
        self.by_id: dict[uuid.UUID, _OpenVial] = {}
        self.mesh = template_mesh()
        self.clinic = uow.clinics.get(cid)
        self.credential_checked: dict[tuple[uuid.UUID, date], list[str]] = {}

    def _add(self, actor: uuid.UUID | str, entity: str, row: m.Base) -> None:
        self.rows.append((str(actor), entity, row))

    @property
    def usage_rows(self) -> list[m.Base]:
        return [u for rows in self.usage.values() for u in rows]

    @property
    def point_rows(self) -> list[dict[str, Any]]:
        return [p for rows in self.points.values() for p in rows]

    def seed(
        self,
        patients: int,
        injector_ids: list[uuid.UUID],
        desk: uuid.UUID,
        plans: dict[str, Plan],
    ) -> None:
        rng = self.rng
        visits: list[_Visit] = []
        patient_rows: list[m.Patient] = []
        intakes: dict[int, Intake] = {}
        consented: dict[int, datetime] = {}
        for i in range(patients):
            born = date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28))
            patient = self._patient(i, born, desk)
            patient_rows.append(patient)
            day = self.start + timedelta(days=rng.randint(0, 120))
            first = True
            while day <= self.today - timedelta(days=1):
                at = datetime.combine(
                    day, time(rng.randint(16, 25) % 24, rng.choice((0, 30))), tzinfo=UTC
                )
                visits.append(_Visit(at, i))
                if first:
                    intakes[i] = _intake(rng, born, day)
                    self._intake_row(patient, intakes[i], at - timedelta(hours=1), desk)
                    consented[i] = self._consent(patient, i, at - timedelta(minutes=30), desk)
                    first = False
                day += timedelta(days=rng.randint(100, 140))
        visits.sort(key=lambda v: (v.at, v.patient))
        for n, visit in enumerate(visits):
            i = visit.patient
            protocol = (
                DEMO_PROTOCOLS[(i + n) % len(DEMO_PROTOCOLS)] if i % 3 else DEMO_PROTOCOLS[i % 2]
            )
            injector = injector_ids[i % len(injector_ids)]
            row = self._session(patient_rows[i], injector, plans[protocol], visit.at)
            if visit.at.date() < self.today - timedelta(days=2) or rng.random() < 0.5:
                reasons = self._signing_refusals(row, plans[protocol], intakes[i], consented[i])
                if not reasons:  # else it stays charted: the demo shows such records too
                    row.status = "signed"
                    row.signed_at = visit.at + timedelta(minutes=45)
                    row.signed_by = injector
                    row.signed_content_sha256 = signed_content_sha256(
                        {
                            "session": snap(row),
                            "points": self.points[row.id],
                            "usage": [snap(u) for u in self.usage[row.id]],
                        }
                    )
                    for fu in sessions.followups_for(row, self.library, self.stamp):
                        if fu.due_on < self.today - timedelta(days=21):
                            # Reviews and retreatments long past were attended.
                            fu.status = "cancelled" if rng.random() < 0.1 else "done"
                            fu.completed_at = datetime.combine(fu.due_on, time(17), tzinfo=UTC)
                        self._add(injector, "followup", fu)
            if rng.random() < 0.06:
                kind, severity, action, outcome = rng.choice(ADVERSE)
                data = followups.AdverseEventInput(
                    session_id=row.id,
                    kind=kind,
                    onset_at=visit.at + timedelta(days=rng.randint(0, 3)),
                    severity=severity,
                    action=action,
                    outcome=outcome,
                )
                event = m.AdverseEvent(
                    id=uuid.uuid4(),
                    clinic_id=self.cid,
                    patient_id=row.patient_id,
                    recorded_by=None,
                    created_at=self.stamp,
                    **data.model_dump(),
                )
                self._add(injector, "adverse_event", event)
        for held in list(self.open.values()):
            if held.row.beyond_use_at.date() < self.today:
                self._discard(held, "beyond use", held.row.beyond_use_at)

    def _patient(self, i: int, born: date, desk: uuid.UUID) -> m.Patient:
        given = GIVEN[i % len(GIVEN)]
        family = FAMILY[(i * 7) % len(FAMILY)]
        data = patient_service.PatientInput(
            chart_number=f"D-{i + 1:04d}",
            given_name=given,
            family_name=family,
            date_of_birth=born,
            phone=f"+1 555 01{i:02d}",
            email=f"{given.lower()}.{family.lower()}@example.org",
            fitzpatrick_type=self.rng.randint(1, 6),
            skin_type=self.rng.choice(("dry", "normal", "oily", "combination")),
        )
        row = m.Patient(
            id=uuid.uuid4(),
            clinic_id=self.cid,
            created_at=self.stamp,
            updated_at=self.stamp,
            **data.model_dump(),
        )
        self._add(desk, "patient", row)
        return row

    def _intake_row(
        self, patient: m.Patient, answers: Intake, at: datetime, desk: uuid.UUID
    ) -> None:
        row = m.IntakeRecord(
            id=uuid.uuid4(),
            clinic_id=self.cid,
            patient_id=patient.id,
            questionnaire_version=answers.schema_version,
            answered_at=at,
            answers=answers.model_dump(mode="json"),
            recorded_by=None,
            created_at=self.stamp,
        )
        self._add(desk, "intake", row)

    def _consent(self, patient: m.Patient, i: int, at: datetime, desk: uuid.UUID) -> datetime:
        data = patient_service.ConsentInput(
            text_version="2025-01",
            text="Micro-dose neuromodulator treatment consent v2025-01.",
            signature=f"signed on tablet by patient {i + 1}",
            signed_at=at,
            witness_name="Riley Chen",
        )
        row = m.Consent(
            id=uuid.uuid4(),
            clinic_id=self.cid,
            patient_id=patient.id,
            procedure=data.procedure,
            text_version=data.text_version,
            text_sha256=hashlib.sha256(data.text.encode()).hexdigest(),
            signature=data.signature,
            signed_at=data.signed_at,
            witness_name=data.witness_name,
            created_at=self.stamp,
        )
        self._add(desk, "consent", row)
        return at

    def _session(
        self, patient: m.Patient, injector: uuid.UUID, plan: Plan, at: datetime
    ) -> m.TreatmentSession:
        vial = self._vial_for(plan.product, plan.summary.total_units, at)
        row = m.TreatmentSession(
            id=uuid.uuid4(),
            clinic_id=self.cid,
            patient_id=patient.id,
            injector_id=injector,
            procedure=staff.MICRODOSE_PROCEDURE,
            status="charted",
            product=plan.product,
            plan=plan.model_dump(mode="json"),
            planned_units=plan.summary.total_units.quantize(_Q),
            scheduled_at=at,
            created_at=self.stamp,
            updated_at=self.stamp,
            amendment_count=0,
        )
        chart = sessions.ChartInput(
            performed_at=at,
            points=sessions.chart_as_planned(plan, vial.row.id),
            pain_score=self.rng.randint(1, 4),
            numbing=self.rng.choice(("topical lidocaine 30 min", "ice", None)),
            aftercare="Upright 4 h; no massage or exercise today; review at 2 weeks.",
        )
        total = sum((p.units for p in chart.points), Decimal(0))
        row.performed_at = at
        row.total_units = total
        row.botox_equivalent_units = botox_equivalent_units(
            total, row.product, self.library
        ).default.quantize(_Q, rounding=ROUND_HALF_EVEN)
        row.pain_score, row.numbing = chart.pain_score, chart.numbing
        row.aftercare = chart.aftercare
        self._add(injector, "session", row)
        self.points[row.id] = points = [
            {
                "id": uuid.uuid4(),
                "clinic_id": self.cid,
                "session_id": row.id,
                "vial_id": p.vial_id,
                "number": p.number,
                "zone": p.zone,
                "x_mm": p.position_mm[0],
                "y_mm": p.position_mm[1],
                "z_mm": p.position_mm[2],
                "anchor": {"vertices": list(p.anchor.vertices), "weights": list(p.anchor.weights)},
                "technique": p.technique,
                "depth": p.depth,
                "volume_ul": p.volume_ul,
                "units": p.units,
                "mix": p.mix,
            }
            for p in sorted(chart.points, key=lambda p: p.number)
        ]
        usage = m.SessionVialUsage(
            session_id=row.id,
            vial_id=vial.row.id,
            clinic_id=self.cid,
            points=len(points),
            units=total,
        )
        self.usage[row.id] = [usage]
        vial.row.units_drawn += total
        vial.left -= total
        return row

    def _signing_refusals(
        self, row: m.TreatmentSession, plan: Plan, intake: Intake, consent_at: datetime
    ) -> list[str]:
        """Why signing would be refused, on the services' grounds (see sessions.sign_session)."""
        assert row.performed_at is not None
        key = (row.injector_id, row.performed_at.date())
        if key not in self.credential_checked:  # the staff were made through the services
            self.credential_checked[key] = staff.credential_problems(
                self.uow, self.clinic, row.injector_id, row.procedure, key[1]
            )
        reasons = list(self.credential_checked[key])
        if consent_at > row.performed_at:
            reasons.append("no signed consent before the session")
        (used,) = self.usage[row.id]
        held = self.by_id[used.vial_id]
        context = SessionContext(
            treatment_at=row.performed_at,
            vials=(
                VialInUse(
                    product=held.lot.product,
                    lot=held.lot.lot_number,
                    lot_expiry=held.lot.expires_on,
                    reconstituted_at=held.row.reconstituted_at,
                    beyond_use_policy=held.row.beyond_use_policy,
                    beyond_use_at=held.row.beyond_use_at,
                ),
            ),
        )
        findings = evaluate(plan, self.library, intake=intake, context=context, mesh=self.mesh)
        reasons += [f.code for f in findings if f.severity == "block"]
        return reasons

    def _lot(self, product: str, at: datetime) -> m.ProductLot:
        half = (at.date() - self.start).days // 180
        key = (product, half)
        if key not in self.lots:
            data = vials.LotInput(
                product=product,
                lot_number=f"{product[:3].upper()}{24 + half}{self.rng.randint(100, 999)}",
                expires_on=at.date() + timedelta(days=400),
            )
            self.library.product(data.product)
            lot = m.ProductLot(
                id=uuid.uuid4(), clinic_id=self.cid, created_at=self.stamp, **data.model_dump()
            )
            self._add("demo", "lot", lot)
            self.lots[key] = lot
        return self.lots[key]

    def _vial_for(self, product: str, units: Decimal, at: datetime) -> _OpenVial:
        held = self.open.get(product)
        if held is not None:
            if held.row.beyond_use_at > at and held.left >= units:
                return held
            reason = "beyond use" if held.row.beyond_use_at <= at else "too little left"
            self._discard(held, reason, min(at, held.row.beyond_use_at) - timedelta(minutes=1))
        self.vials += 1
        lot = self._lot(product, at)
        data = vials.VialInput(
            lot_id=lot.id,
            label=f"V-{self.vials:04d}",
            vial_units=VIAL_UNITS[product],
            diluent_ml=VIAL_DILUENT_ML[product],
            reconstituted_at=at - timedelta(minutes=20),
        )
        policy = self.library.beyond_use_policy(product, self.clinic.beyond_use_policy)
        row = m.Vial(
            id=uuid.uuid4(),
            clinic_id=self.cid,
            lot_id=lot.id,
            label=data.label,
            vial_units=data.vial_units,
            diluent=data.diluent,
            diluent_ml=data.diluent_ml,
            reconstituted_at=data.reconstituted_at,
            beyond_use_policy=policy.id,
            beyond_use_at=beyond_use_at(data.reconstituted_at, policy),
            units_drawn=Decimal(0),
            units_wasted=Decimal(0),
            opened_by=None,
            created_at=self.stamp,
        )
        self._add("demo", "vial", row)
        self.open[product] = self.by_id[row.id] = held = _OpenVial(row, lot, data.vial_units)
        return held

    def _discard(self, held: _OpenVial, reason: str, at: datetime) -> None:
        """As vials.discard_vial: what is left is wasted."""
        held.row.units_wasted = (held.row.units_wasted or Decimal(0)) + held.left
        held.row.units_drawn += held.left
        held.left = Decimal(0)
        held.row.discarded_at = at
        held.row.discard_reason = reason
        del self.open[held.lot.product]

    def audit_entries(self) -> list[audit.PendingEntry]:
        """One ``create`` entry per record, in write order, digesting the flushed rows."""
        entries = []
        for actor, entity, row in self.rows:
            if isinstance(row, m.TreatmentSession):
                after = {
                    "session": snap(row),
                    "points": self.points[row.id],
                    "usage": [snap(u) for u in self.usage[row.id]],
                }
            else:
                after = snap(row)
            entries.append(
                audit.PendingEntry(
                    clinic_id=self.cid,
                    actor=actor,
                    action="create",
                    entity=entity,
                    entity_id=row.id,  # type: ignore[attr-defined]
                    after=after,
                )
            )
        return entries
