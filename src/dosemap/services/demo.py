"""A believable demo clinic: staff with credentials, patients, 18 months of charted sessions,
vials opened and discarded, a few adverse events and follow-ups due.

Everything goes through the same services a clinic uses (audited, safety-checked at signing);
plans come from the core planner with published presets. Names are invented.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from dosemap.domain.intake import ContraindicationAnswers, Intake
from dosemap.domain.library.catalog import Library
from dosemap.domain.plan import Plan, PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.persistence.db import Database
from dosemap.persistence.errors import SigningRefusedError
from dosemap.persistence.migrate import current_revision, upgrade
from dosemap.persistence.unit_of_work import reading
from dosemap.resources import load_library, template_mesh
from dosemap.services import followups, sessions, staff, vials
from dosemap.services import patients as patient_service

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
    inventory = _Inventory(db, cid, library, rng, a, start)
    injector_ids = [admin.id, injectors[0].id, injectors[1].id]
    # Each patient's visits: first somewhere in the first months, then every ~3.5-4.5 months.
    visits: list[tuple[datetime, int]] = []
    patient_ids: list[uuid.UUID] = []
    for i in range(patients):
        born = date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28))
        p = patients_add(db, cid, i, born, rng, str(desk.id))
        patient_ids.append(p)
        day = start + timedelta(days=rng.randint(0, 120))
        first = True
        while day <= today - timedelta(days=1):
            at = datetime.combine(
                day, time(rng.randint(16, 25) % 24, rng.choice((0, 30))), tzinfo=UTC
            )
            visits.append((at, i))
            if first:
                patient_service.record_intake(
                    db,
                    cid,
                    p,
                    _intake(rng, born, day),
                    answered_at=at - timedelta(hours=1),
                    actor=str(desk.id),
                )
                patient_service.record_consent(
                    db,
                    cid,
                    p,
                    patient_service.ConsentInput(
                        text_version="2025-01",
                        text="Micro-dose neuromodulator treatment consent v2025-01.",
                        signature=f"signed on tablet by patient {i + 1}",
                        signed_at=at - timedelta(minutes=30),
                        witness_name="Riley Chen",
                    ),
                    actor=str(desk.id),
                )
                first = False
            day += timedelta(days=rng.randint(100, 140))
    visits.sort()
    signed = 0
    for n, (at, i) in enumerate(visits):
        protocol = DEMO_PROTOCOLS[(i + n) % len(DEMO_PROTOCOLS)] if i % 3 else DEMO_PROTOCOLS[i % 2]
        plan = plans[protocol]
        injector = injector_ids[i % len(injector_ids)]
        row = sessions.plan_session(
            db,
            cid,
            patient_id=patient_ids[i],
            injector_id=injector,
            plan=plan,
            scheduled_at=at,
            actor=str(injector),
        )
        vial_id = inventory.vial_for(plan.product, plan.summary.total_units, at)
        chart = sessions.ChartInput(
            performed_at=at,
            points=sessions.chart_as_planned(plan, vial_id),
            pain_score=rng.randint(1, 4),
            numbing=rng.choice(("topical lidocaine 30 min", "ice", None)),
            aftercare="Upright 4 h; no massage or exercise today; review at 2 weeks.",
        )
        row = sessions.chart_session(
            db, cid, row.id, chart, library, expected_version=row.version, actor=str(injector)
        )
        if at.date() < today - timedelta(days=2) or rng.random() < 0.5:
            try:
                row = sessions.sign_session(
                    db,
                    cid,
                    row.id,
                    library,
                    signer_id=injector,
                    expected_version=row.version,
                    actor=str(injector),
                )
                signed += 1
            except SigningRefusedError:
                pass  # stays charted: the demo shows such records too
        if rng.random() < 0.06:
            kind, severity, action, outcome = rng.choice(ADVERSE)
            followups.record_adverse_event(
                db,
                cid,
                patient_ids[i],
                followups.AdverseEventInput(
                    session_id=row.id,
                    kind=kind,
                    onset_at=at + timedelta(days=rng.randint(0, 3)),
                    severity=severity,
                    action=action,
                    outcome=outcome,
                ),
                actor=str(injector),
            )
        if progress:
            progress("sessions", n + 1, len(visits))
    inventory.close_old(today)
    _close_past_followups(db, cid, today, rng, a)
    return _summary(db, cid, True, today)


def patients_add(
    db: Database, cid: uuid.UUID, i: int, born: date, rng: random.Random, actor: str
) -> uuid.UUID:
    """One invented patient."""
    given = GIVEN[i % len(GIVEN)]
    family = FAMILY[(i * 7) % len(FAMILY)]
    p = patient_service.register_patient(
        db,
        cid,
        patient_service.PatientInput(
            chart_number=f"D-{i + 1:04d}",
            given_name=given,
            family_name=family,
            date_of_birth=born,
            phone=f"+1 555 01{i:02d}",
            email=f"{given.lower()}.{family.lower()}@example.org",
            fitzpatrick_type=rng.randint(1, 6),
            skin_type=rng.choice(("dry", "normal", "oily", "combination")),
        ),
        actor=actor,
    )
    return p.id


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


class _Inventory:
    """Opens vials as needed (one lot per product per ~6 months) and discards them when spent."""

    def __init__(
        self,
        db: Database,
        cid: uuid.UUID,
        library: Library,
        rng: random.Random,
        actor: str,
        start: date,
    ) -> None:
        self.db, self.cid, self.library, self.rng, self.actor = db, cid, library, rng, actor
        self.start = start
        self.lots: dict[tuple[str, int], uuid.UUID] = {}
        self.open: dict[str, tuple[uuid.UUID, datetime, Decimal]] = {}  # product -> vial, bud, left
        self.count = 0

    def _lot(self, product: str, at: datetime) -> uuid.UUID:
        half = (at.date() - self.start).days // 180
        key = (product, half)
        if key not in self.lots:
            lot = vials.receive_lot(
                self.db,
                self.cid,
                vials.LotInput(
                    product=product,
                    lot_number=f"{product[:3].upper()}{24 + half}{self.rng.randint(100, 999)}",
                    expires_on=at.date() + timedelta(days=400),
                ),
                self.library,
                actor=self.actor,
            )
            self.lots[key] = lot.id
        return self.lots[key]

    def vial_for(self, product: str, units: Decimal, at: datetime) -> uuid.UUID:
        current = self.open.get(product)
        if current is not None:
            vial_id, bud, left = current
            if bud > at and left >= units:
                self.open[product] = (vial_id, bud, left - units)
                return vial_id
            reason = "beyond use" if bud <= at else "too little left for the next plan"
            vials.discard_vial(
                self.db,
                self.cid,
                vial_id,
                reason=reason,
                at=min(at, bud) - timedelta(minutes=1),
                actor=self.actor,
            )
        self.count += 1
        vial = vials.open_vial(
            self.db,
            self.cid,
            vials.VialInput(
                lot_id=self._lot(product, at),
                label=f"V-{self.count:04d}",
                vial_units=VIAL_UNITS[product],
                diluent_ml=VIAL_DILUENT_ML[product],
                reconstituted_at=at - timedelta(minutes=20),
            ),
            self.library,
            actor=self.actor,
        )
        self.open[product] = (vial.id, vial.beyond_use_at, vial.vial_units - units)
        return vial.id

    def close_old(self, today: date) -> None:
        for vial_id, bud, _left in list(self.open.values()):
            if bud.date() < today:
                vials.discard_vial(
                    self.db, self.cid, vial_id, reason="beyond use", at=bud, actor=self.actor
                )


def _close_past_followups(
    db: Database, cid: uuid.UUID, today: date, rng: random.Random, actor: str
) -> None:
    """Reviews and retreatments long past were attended; recent ones stay due."""
    rows = followups.open_followups_due_before(db, cid, today - timedelta(days=21))
    for fid, version, due in rows:
        followups.complete_followup(
            db,
            cid,
            fid,
            at=datetime.combine(due, time(17), tzinfo=UTC),
            expected_version=version,
            actor=actor,
            cancelled=rng.random() < 0.1,
        )
