"""docs/fhir.md lists every skin-metric code the FHIR export sends for the photo analysis' metrics,
with its unit, and nothing it does not send."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dosemap.persistence.unit_of_work import writing
from dosemap.services.exports.fhir_common import CS
from dosemap.services.exports.fhir_export import fhir_bundle
from dosemap.services.skin_measurements import SKIN_METRICS, store_skin_metrics
from services.exports.conftest import Treated

DOC = Path(__file__).resolve().parents[3] / "docs" / "fhir.md"


def _documented() -> dict[str, str]:
    """code -> unit from the skin-metric table of docs/fhir.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Skin metrics (`urn:dosemap:cs:skin-metric`)", 1)[1].split("\n#", 1)[0]
    return dict(re.findall(r"^\| `([a-z0-9_]+)` \| `([^`]+)` \|", section, re.M))


def test_every_skin_metric_code_the_export_sends_is_documented(
    documented: Treated,
) -> None:
    c = documented.clinic
    # Every metric the analysis gives, stored for one zone of the documented patient's photo.
    result = {"zone": "forehead", **dict.fromkeys(SKIN_METRICS, 0.5)}
    with writing(c.db) as uow:
        [photo] = uow.photos.of_patient(c.clinic_id, c.patient_id)
        store_skin_metrics(uow, photo, [result], actor="t")
    bundle = json.loads(fhir_bundle(c.db, c.clinic_id, actor="t", patient_id=c.patient_id).content)
    sent = {
        coding["code"]: r["valueQuantity"]["unit"]
        for r in (e["resource"] for e in bundle["entry"])
        if r["resourceType"] == "Observation"
        for coding in r["code"]["coding"]
        if coding["system"] == CS + "skin-metric"
    }
    analysis = {metric: unit for metric, unit, _ in SKIN_METRICS.values()}
    assert analysis.items() <= sent.items()  # the export sends every analysis metric
    documented_codes = _documented()
    # Every code sent for the analysis is in the doc with its unit, and the doc lists no other.
    assert documented_codes == analysis
    assert {k: v for k, v in sent.items() if k in analysis} == documented_codes
