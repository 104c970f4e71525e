"""A photo attached to a patient is compared with their earlier photos (issue 11, #2)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

from dosemap.domain.evidence import EvidenceTag
from dosemap.imaging.identity import FaceEncoder
from dosemap.imaging.landmarks import MediaPipeDetector
from dosemap.services import photo_identity, photos
from support.clinic import T0, SeededClinic
from support.faces import face


@pytest.fixture(scope="module")
def models():
    with MediaPipeDetector() as detector:
        yield detector, FaceEncoder()


def _meta() -> photos.PhotoInput:
    return photos.PhotoInput(media_type="image/jpeg", taken_at=T0, view="frontal")


def _darker(name: str) -> bytes:
    image = ImageEnhance.Brightness(Image.open(face(name)).convert("RGB")).enhance(0.75)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def test_same_patient_passes_another_person_warns(clinic: SeededClinic, tmp_path: Path, models):
    detector, encoder = models
    store = photos.PhotoStore(tmp_path / "photos")

    def attach(data: bytes) -> photo_identity.AttachedPhoto:
        return photo_identity.attach_photo(
            clinic.db, store, clinic.clinic_id, clinic.patient_id, data, _meta(),
            actor="t", detector=detector, encoder=encoder,
        )  # fmt: skip

    first = attach(face("E000285.jpg").read_bytes())
    assert first.identity.same_person is None
    assert first.identity.notes == ("no earlier photo of this patient: identity not compared",)
    assert first.identity.warnings == ()

    later = attach(_darker("E000285.jpg"))
    assert later.identity.same_person is True
    assert later.identity.warnings == ()

    # P000373 is the test face nearest E000285 (0.52): still flagged, with the figure.
    stranger = attach(face("P000373.jpg").read_bytes())
    assert stranger.identity.same_person is False
    assert stranger.identity.comparison is not None
    assert len(stranger.identity.comparison.distances) == 2
    (warning,) = stranger.identity.warnings
    assert "may show a different person: face distance 0.5" in warning
    assert "[DERIVED] dosemap_identity_test_2026" in warning
    # The photo is stored all the same: the clinic decides, having seen the warning.
    assert photos.read_photo(clinic.db, store, clinic.clinic_id, stranger.record.id)


def test_mirrored_photo_is_hinted_against_an_earlier_one(clinic: SeededClinic, tmp_path, models):
    detector, encoder = models
    store = photos.PhotoStore(tmp_path / "photos")
    photo_identity.attach_photo(
        clinic.db, store, clinic.clinic_id, clinic.patient_id, face("G000567.jpg").read_bytes(),
        _meta(), actor="t", detector=detector, encoder=encoder,
    )  # fmt: skip
    mirrored = Image.open(face("G000567.jpg")).convert("RGB").transpose(Image.FLIP_LEFT_RIGHT)
    buffer = io.BytesIO()
    mirrored.save(buffer, format="PNG")
    attached = photo_identity.attach_photo(
        clinic.db, store, clinic.clinic_id, clinic.patient_id, buffer.getvalue(), _meta(),
        actor="t", detector=detector, encoder=encoder,
    )  # fmt: skip
    assert attached.identity.same_person is True
    assert attached.identity.mirrored_suspected
    assert any("may be mirrored" in w for w in attached.identity.warnings)


def test_clinic_threshold_is_tagged_as_the_clinic_s():
    own = photo_identity.same_person_threshold(Decimal("0.45"))
    assert own.value == Decimal("0.45")
    assert own.tag is EvidenceTag.CLINIC
    assert photo_identity.same_person_threshold().value == Decimal("0.5")
