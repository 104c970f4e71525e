"""Is a new photo of the same patient as the earlier ones? A warning, never a silent pass.

Geometry cannot tell two people apart (their stable landmarks align to under a millimetre), so
the face is compared by dlib's face descriptor (:mod:`dosemap.imaging.identity`) against the
patient's earlier photos, with the cited threshold of ``data/photo_checks.toml``. A mismatch is
returned as a warning naming the distance; the caller shows it (``photos align`` exits 3).

The same comparison also hints at a **mirrored** photo: if the new photo, flipped left-right,
lies clearly nearer the earlier ones than as it is, it was probably mirrored (a selfie camera).
That hint needs an earlier photo; a single photo cannot show it (``docs/photos.md``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from dosemap.domain.evidence import Cited, EvidenceTag
from dosemap.persistence.db import Database
from dosemap.persistence.models import PhotoRecord
from dosemap.persistence.unit_of_work import reading
from dosemap.resources import photo_checks
from dosemap.services.photos import PhotoInput, PhotoStore, add_photo

if TYPE_CHECKING:
    from dosemap.imaging.identity import FaceEncoder, IdentityComparison
    from dosemap.imaging.landmarks import Detector
    from dosemap.imaging.quality import PhotoAnalysis

FloatArray = npt.NDArray[np.float64]


def same_person_threshold(clinic_value: Decimal | None = None) -> Cited[Decimal]:
    """The same-person distance threshold: the cited one, or the clinic's own (tagged CLINIC)."""
    cited = photo_checks().same_person_max_distance
    if clinic_value is None:
        return cited
    return Cited[Decimal](
        value=clinic_value, source="clinic", tag=EvidenceTag.CLINIC, note=f"default {cited.value}"
    )


def mirror_min_gain() -> Decimal:
    """How much nearer a flipped photo must be for it to be reported as probably mirrored."""
    return photo_checks().mirror_min_gain.value


@dataclass(frozen=True)
class FaceSignature:
    """A photo's face descriptor, as it is and flipped left-right."""

    descriptor: FloatArray
    flipped: FloatArray


def face_signature(analysis: PhotoAnalysis, encoder: FaceEncoder) -> FaceSignature:
    """The descriptors of an inspected photo's face, as it is and mirrored."""
    rgb = analysis.photo.detect_rgb
    xy = analysis.landmarks.xy / analysis.photo.detect_scale
    mirrored_xy = np.c_[rgb.shape[1] - 1 - xy[:, 0], xy[:, 1]]
    return FaceSignature(
        encoder.descriptor(rgb, xy),
        encoder.descriptor(np.ascontiguousarray(rgb[:, ::-1]), mirrored_xy),
    )


@dataclass(frozen=True)
class IdentityCheck:
    """The new photo against the earlier ones: the distances, the threshold and the verdict.

    ``comparison`` is ``None`` when no earlier photo had a face to compare with; that is said
    in :attr:`notes`, not hidden.
    """

    comparison: IdentityComparison | None
    flipped: IdentityComparison | None
    threshold: Cited[Decimal]
    mirror_gain: Decimal
    notes: tuple[str, ...] = ()

    @property
    def same_person(self) -> bool | None:
        """True/False, or ``None`` when there was nothing to compare with."""
        return None if self.comparison is None else self.comparison.same_person

    @property
    def mirrored_suspected(self) -> bool:
        """The flipped photo is nearer the earlier ones by at least the mirror gain."""
        if self.comparison is None or self.flipped is None:
            return False
        return self.flipped.nearest <= self.comparison.nearest - float(self.mirror_gain)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a person must see, one line each (empty when the faces match)."""
        found: list[str] = []
        if self.comparison is not None and not self.comparison.same_person:
            found.append(
                f"photo may show a different person: {self.comparison.describe()}, "
                f"threshold {self.threshold.cite()}"
            )
        if self.mirrored_suspected and self.flipped is not None and self.comparison is not None:
            found.append(
                "photo may be mirrored (left and right swapped): flipped, it lies nearer the "
                f"earlier photos ({self.flipped.nearest:.2f} against "
                f"{self.comparison.nearest:.2f}); use a camera that does not mirror"
            )
        return tuple(found)


def compare_signatures(
    new: FaceSignature,
    earlier: list[FaceSignature],
    *,
    threshold: Cited[Decimal] | None = None,
    notes: tuple[str, ...] = (),
) -> IdentityCheck:
    """Judge ``new`` against ``earlier`` (see :class:`IdentityCheck`)."""
    from dosemap.imaging.identity import compare_descriptors

    threshold = threshold or same_person_threshold()
    limit = float(threshold.value)
    if not earlier:
        return IdentityCheck(None, None, threshold, mirror_min_gain(), notes)
    old = [e.descriptor for e in earlier]
    return IdentityCheck(
        compare_descriptors(new.descriptor, old, max_distance=limit),
        compare_descriptors(new.flipped, old, max_distance=limit),
        threshold,
        mirror_min_gain(),
        notes,
    )


def compare_photos(
    a: PhotoAnalysis,
    b: PhotoAnalysis,
    *,
    encoder: FaceEncoder | None = None,
    threshold: Cited[Decimal] | None = None,
) -> IdentityCheck:
    """Whether photo ``b`` shows the person of photo ``a`` (before/after alignment)."""
    from dosemap.imaging.identity import FaceEncoder

    encoder = encoder or FaceEncoder()
    return compare_signatures(
        face_signature(b, encoder), [face_signature(a, encoder)], threshold=threshold
    )


def _earlier_signatures(
    records: list[PhotoRecord],
    store: PhotoStore,
    detector: Detector,
    encoder: FaceEncoder,
) -> tuple[list[FaceSignature], tuple[str, ...]]:
    from dosemap.imaging.errors import PhotoError
    from dosemap.imaging.intake import photo_from_bytes
    from dosemap.imaging.quality import inspect_photo

    found: list[FaceSignature] = []
    notes: list[str] = []
    for record in records:
        try:
            analysis = inspect_photo(
                photo_from_bytes(store.get(record.sha256), "earlier"), detector
            )
        except PhotoError as exc:  # an earlier photo without a usable face: say so, go on
            notes.append(f"earlier photo {record.id} not compared: {exc.message}")
            continue
        found.append(face_signature(analysis, encoder))
    return found, tuple(notes)


def check_against_patient(
    db: Database,
    store: PhotoStore,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    new: PhotoAnalysis,
    *,
    detector: Detector,
    encoder: FaceEncoder | None = None,
    threshold: Cited[Decimal] | None = None,
) -> IdentityCheck:
    """Compare an inspected photo with every earlier photo of the patient."""
    from dosemap.imaging.identity import FaceEncoder

    encoder = encoder or FaceEncoder()
    with reading(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        records = uow.photos.for_patient(clinic_id, patient_id)
    earlier, notes = _earlier_signatures(records, store, detector, encoder)
    if not records:
        notes = ("no earlier photo of this patient: identity not compared",)
    return compare_signatures(
        face_signature(new, encoder), earlier, threshold=threshold, notes=notes
    )


@dataclass(frozen=True)
class AttachedPhoto:
    """A photo added to a patient's record, with its identity check against earlier photos."""

    record: PhotoRecord
    identity: IdentityCheck


def attach_photo(
    db: Database,
    store: PhotoStore,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: bytes,
    meta: PhotoInput,
    *,
    actor: str,
    detector: Detector,
    encoder: FaceEncoder | None = None,
    threshold: Cited[Decimal] | None = None,
) -> AttachedPhoto:
    """Check the photo's face against the patient's earlier photos, then store it.

    A mismatch does not stop the photo being stored (the clinic decides); it comes back in
    ``identity.warnings`` for the caller to show. A photo without a usable face is refused
    (:class:`~dosemap.imaging.errors.PhotoError`) before anything is written.
    """
    from dosemap.imaging.intake import photo_from_bytes
    from dosemap.imaging.quality import inspect_photo

    analysis = inspect_photo(photo_from_bytes(data, "new photo"), detector)
    identity = check_against_patient(
        db, store, clinic_id, patient_id, analysis,
        detector=detector, encoder=encoder, threshold=threshold,
    )  # fmt: skip
    record = add_photo(db, store, clinic_id, patient_id, data, meta, actor=actor)
    return AttachedPhoto(record, identity)
