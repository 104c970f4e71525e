"""The treatment record of a session of two products (Botox + Dysport), read back with poppler:
a table of each product's own dilution, lot, points, units and µL; totals per product, never
added; every point in the list marked with its product's key."""

from __future__ import annotations

import re
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

from dosemap.domain import display
from dosemap.services.exports import pdf_documents as docs
from support.clinic import T0, SeededClinic
from support.products import DYSPORT_LOT, charted_two_products

_Q = Decimal("0.0001")


def _text(pdf: bytes, tmp: Path) -> str:
    path = tmp / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_record_of_two_products_shows_each_products_figures(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    c = clinic
    row_id, plan = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0, sign=True
    )
    botox, dysport = plan.plans
    file = docs.treatment_record_pdf(c.db, c.clinic_id, row_id, c.library, actor="t")
    text = _text(file.content, tmp_path)
    if out := __import__("os").environ.get("DOSEMAP_SCREENSHOTS"):
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "record_two_products.pdf").write_bytes(file.content)
    for key, one, name, lot in (
        ("A", botox, "Botox Cosmetic", "C1234A"),
        ("B", dysport, "Dysport", DYSPORT_LOT),
    ):
        units = display.units(sum((p.units for p in one.points), Decimal(0))).removesuffix(" U")
        volume = sum((p.volume_ul for p in one.points), Decimal(0))
        per_ml = display.number(one.mix.units_per_ml, display.CONCENTRATION_PLACES)
        # The product's row: key, name, dilution … lot, points, units, µL.
        row = re.search(
            rf"^\s*{key}\s+{re.escape(name)}\s+{re.escape(per_ml)} U/mL.*?{re.escape(lot)}\s+"
            rf"{len(one.points)}\s+([0-9.]+)\s+([0-9.]+)\s*$",
            text,
            re.M,
        )
        assert row, (key, text)
        assert row.group(1) == units
        assert Decimal(row.group(2)) == volume
        # Totals name each product with its own units.
        assert f"{key} {name}: {units}" in text
        # Every point of this product is marked with its key in the point list.
        for p in one.points:
            assert re.search(rf"(^|\s){p.number}\s+{key}\s+\S", text, re.M), (p.number, key)
    added = sum((p.units for p in plan.points), Decimal(0))
    assert (
        display.units(added).removesuffix(" U")
        not in re.sub(r"\s+", " ", text).split("Units (U)")[-1][:40]
    )
    assert "never added" in text


def test_aftercare_sheet_of_two_products_names_both(clinic: SeededClinic, tmp_path: Path) -> None:
    """The patient's sheet (it refused a session of several products): both products named,
    every area, every injection counted, a picture per product; no unit figures."""
    c = clinic
    row_id, plan = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0, sign=True
    )
    file = docs.aftercare_pdf(c.db, c.clinic_id, row_id, c.library, actor="t")
    text = " ".join(_text(file.content, tmp_path).split())
    if out := __import__("os").environ.get("DOSEMAP_SCREENSHOTS"):
        (Path(out) / "aftercare_two_products.pdf").write_bytes(file.content)
    assert "Botox Cosmetic, Dysport" in text
    for area in ("Forehead", "Glabella", "Chin"):
        assert area.lower() in text.lower(), area
    assert f"Tiny injections {len(plan.points)}" in text
    assert "A Botox Cosmetic" in text and "B Dysport" in text
