"""Time the exports over the demo clinic: FHIR bundles (size, import) and PDF documents (time,
size), with WeasyPrint as the PDF baseline measured in the same run on the same data.

Run: ``.venv/bin/python benchmarks/bench_exports.py [--records 20]``.

FHIR: the whole clinic as one bundle, every patient's bundle (documents per second), the size
plain and gzipped, and the import of the whole bundle into an empty database. PDF: treatment
records for the newest signed sessions, and one aftercare sheet, consent form and vial log,
through Typst (the engine dosemap uses); then the same treatment-record data laid out as HTML
and printed by WeasyPrint (if it is installed: it is not a dosemap dependency). For both it
prints seconds per document, bytes per document, whether pdffonts shows every font embedded
and whether pdftotext finds the record's total. No assertion; figures for docs/exports.md.
"""

from __future__ import annotations

import argparse
import gzip
import html
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from dosemap.persistence.db import Database
from dosemap.persistence.migrate import upgrade
from dosemap.persistence.unit_of_work import reading
from dosemap.resources import load_library
from dosemap.services.demo import DEMO_CLINIC, seed_demo_clinic
from dosemap.services.exports import pdf_documents as docs
from dosemap.services.exports.fhir_export import fhir_bundle
from dosemap.services.exports.fhir_import import import_bundle
from dosemap.services.staff import find_clinic

TODAY = date(2026, 11, 20)


def _db(folder: Path, name: str) -> Database:
    db = Database.from_url(f"sqlite:///{folder / name}")
    upgrade(db.engine)
    return db


def _poppler(tool: str, pdf: bytes, folder: Path) -> str:
    path = folder / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    args = [tool, str(path)] + (["-"] if tool == "pdftotext" else [])
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _embedded(pdf: bytes, folder: Path) -> bool:
    lines = _poppler("pdffonts", pdf, folder).splitlines()[2:]
    return bool(lines) and all(line.split()[-5] == "yes" for line in lines)


def _weasy_html(data: dict[str, Any], svg: str | None) -> str:
    """The treatment record's content as one HTML page (the same data Typst is given)."""
    e = html.escape
    s = data["session"]
    rows = "".join(
        f"<tr><td>{p['number']}</td><td>{e(p['zone'])}</td><td>{p['volume_ul']}</td>"
        f"<td>{p['units']}</td><td>{e(p['vial'])}</td></tr>"
        for p in data["point_rows"]
    )
    vials = "".join(
        f"<tr><td>{e(v['label'])}</td><td>{e(v['lot'])}</td><td>{v['lot_expiry']}</td>"
        f"<td>{v['vial_units']}</td><td>{v['diluent_ml']}</td><td>{v['units']}</td></tr>"
        for v in data["vials"]
    )
    findings = "".join(f"<p><b>{e(f['code'])}</b> {e(f['title'])}</p>" for f in data["findings"])
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
    @page {{ size: A4; margin: 16mm; }} body {{ font-family: serif; font-size: 9.5pt; }}
    table {{ border-collapse: collapse; }} td, th {{ border: 0.4pt solid #999; padding: 1pt 3pt; }}
    .cols {{ columns: 3; }}</style></head><body>
    <h1>{e(data["clinic"]["name"])} — Treatment record</h1>
    <p>{e(data["patient"]["name"])} {e(data["patient"]["chart"])} · {e(s["performed"])}</p>
    <table>{vials}</table>
    <div>{svg or ""}</div>
    <p>Needle entries {s["points"]} · Units (U) {s["units"]} · Volume (µL) {s["volume_ul"]}</p>
    <div class="cols"><table>{rows}</table></div>{findings}</body></html>"""


def bench_fhir(db: Database, clinic_id: uuid.UUID, folder: Path) -> None:
    start = time.perf_counter()
    whole = fhir_bundle(db, clinic_id, actor="bench").content
    took = time.perf_counter() - start
    zipped = len(gzip.compress(whole, 6))
    print(
        f"FHIR whole clinic: {len(whole) / 1e6:.2f} MB "
        f"({zipped / 1e6:.2f} MB gzipped), {took:.2f} s"
    )
    with reading(db) as uow:
        patients = [p.id for p in uow.exports.patients(clinic_id)]
    sizes = []
    start = time.perf_counter()
    for pid in patients:
        sizes.append(len(fhir_bundle(db, clinic_id, actor="bench", patient_id=pid).content))
    took = time.perf_counter() - start
    print(
        f"FHIR per patient: {len(patients) / took:.1f} bundles/s, "
        f"median {statistics.median(sizes) / 1e3:.0f} kB, largest {max(sizes) / 1e3:.0f} kB"
    )
    target = _db(folder, "import.sqlite3")
    start = time.perf_counter()
    done = import_bundle(target, whole, actor="bench")
    took = time.perf_counter() - start
    same = fhir_bundle(target, clinic_id, actor="bench").content == whole
    print(
        f"FHIR import: {done.records} records ({done.chart_points} points) in {took:.2f} s; "
        f"re-export identical: {same}"
    )


def bench_pdf(db: Database, clinic_id: uuid.UUID, folder: Path, records: int) -> None:
    library = load_library()
    with reading(db) as uow:
        signed = [s for s in uow.exports.sessions(clinic_id) if s.status == "signed"][-records:]
        consent = uow.exports.consents(clinic_id, [signed[-1].patient_id])[-1]
    docs.treatment_record_pdf(db, clinic_id, signed[0].id, library, actor="bench")  # warm-up
    times, sizes, texts = [], [], []
    for s in signed:
        start = time.perf_counter()
        pdf = docs.treatment_record_pdf(db, clinic_id, s.id, library, actor="bench").content
        times.append(time.perf_counter() - start)
        sizes.append(len(pdf))
        texts.append(
            f"{s.total_units:.2f}".rstrip("0").rstrip(".") in _poppler("pdftotext", pdf, folder)
        )
    print(
        f"Typst treatment record: {statistics.mean(times) * 1000:.0f} ms/doc "
        f"({1 / statistics.mean(times):.1f} docs/s, service and picture included), "
        f"{statistics.mean(sizes) / 1e3:.0f} kB/doc, fonts embedded: {_embedded(pdf, folder)}, "
        f"total found by pdftotext: {sum(texts)}/{len(texts)}"
    )
    for name, make in (
        ("aftercare", lambda: docs.aftercare_pdf(db, clinic_id, signed[-1].id, library, actor="b")),
        ("consent", lambda: docs.consent_pdf(db, clinic_id, consent.id, actor="b")),
        ("vial log", lambda: docs.vial_log_pdf(db, clinic_id, actor="b")),
    ):
        start = time.perf_counter()
        pdf = make().content
        print(
            f"Typst {name}: {(time.perf_counter() - start) * 1000:.0f} ms, {len(pdf) / 1e3:.0f} kB"
        )
    bench_engines(db, clinic_id, signed, folder)


def bench_engines(db: Database, clinic_id: uuid.UUID, signed: list[Any], folder: Path) -> None:
    """Typesetting alone, both engines, the same treatment-record content."""
    from dosemap.services.exports import pdf_engine

    try:
        import weasyprint
    except ImportError:
        print("WeasyPrint not installed: no baseline")
        return
    library = load_library()
    captured: list[tuple[dict[str, Any], dict[str, bytes]]] = []
    real = pdf_engine.render_pdf

    def capture(template: str, data: Any, *, images: Any = None, printed_at: Any) -> bytes:
        captured.append((data, dict(images or {})))
        return real(template, data, images=images, printed_at=printed_at)

    docs.render_pdf = capture  # type: ignore[assignment]
    try:
        for s in signed:
            docs.treatment_record_pdf(db, clinic_id, s.id, library, actor="bench")
    finally:
        docs.render_pdf = real  # type: ignore[assignment]
    from datetime import UTC, datetime

    at = datetime(2026, 11, 20, tzinfo=UTC)
    results = {}
    for engine in ("typst", "weasyprint"):
        times, sizes, found = [], [], 0
        for data, images in captured:
            svg = images.get("plan.svg", b"").decode() or None
            start = time.perf_counter()
            if engine == "typst":
                pdf = real("treatment_record.typ", data, images=images, printed_at=at)
            else:
                pdf = weasyprint.HTML(string=_weasy_html(data, svg)).write_pdf()
            times.append(time.perf_counter() - start)
            sizes.append(len(pdf))
            found += data["session"]["units"] in _poppler("pdftotext", pdf, folder)
        results[engine] = statistics.mean(times)
        print(
            f"{engine:>10}: {statistics.mean(times) * 1000:.0f} ms/doc typesetting, "
            f"{statistics.mean(sizes) / 1e3:.0f} kB/doc, fonts embedded: {_embedded(pdf, folder)}, "
            f"total units found by pdftotext: {found}/{len(captured)}"
        )
    print(f"WeasyPrint / Typst time per document: {results['weasyprint'] / results['typst']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20, help="treatment records to print")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = _db(folder, "demo.sqlite3")
        start = time.perf_counter()
        summary = seed_demo_clinic(db, today=TODAY, library=load_library())
        print(
            f"demo clinic: {summary.patients} patients, {summary.sessions} sessions "
            f"(seeded in {time.perf_counter() - start:.1f} s)"
        )
        clinic_id = find_clinic(db, DEMO_CLINIC)
        assert clinic_id is not None
        bench_fhir(db, clinic_id, folder)
        bench_pdf(db, clinic_id, folder, args.records)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
