"""PDF documents read back with poppler (pdftotext, pdfinfo, pdffonts, pdfimages): the numbers
on the page are the record's, fonts are embedded, A4 and Letter, the drawn signature is there."""

from __future__ import annotations

import re
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.unit_of_work import reading
from dosemap.resources import document_data
from dosemap.services.exports import pdf_documents as docs
from services.exports.conftest import CONSENT_TEXT, Treated


def _poppler(tool: str, pdf: bytes, tmp: Path, *args: str) -> str:
    """Run a poppler tool on ``pdf`` (missing poppler-utils is a failure, not a skip)."""
    path = tmp / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _text(pdf: bytes, tmp: Path) -> str:
    return _poppler("pdftotext", pdf, tmp, "-layout")


def _number_after(label: str, text: str) -> Decimal:
    found = re.search(re.escape(label) + r"\s+(-?[0-9]+(?:\.[0-9]+)?)", text)
    assert found, f"no number after {label!r}"
    return Decimal(found.group(1))


def _checks_fonts_and_paper(pdf: bytes, tmp: Path, paper: str) -> None:
    info = _poppler("pdfinfo", pdf, tmp)
    assert ("(A4)" if paper == "a4" else "(letter)") in info
    fonts = _poppler("pdffonts", pdf, tmp).splitlines()[2:]
    assert fonts, "no fonts listed"
    for line in fonts:  # columns emb, sub, uni, object, generation at the end of each line
        embedded = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
        assert embedded and embedded.group(1) == "yes", f"font not embedded: {line}"


def _consents(treated: Treated) -> list[uuid.UUID]:
    c = treated.clinic
    with reading(c.db) as uow:
        return [x.id for x in uow.exports.consents(c.clinic_id, [c.patient_id])]


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_treatment_record_shows_the_record(documented: Treated, tmp_path: Path, paper: str) -> None:
    c, s = documented.clinic, documented.session
    file = docs.treatment_record_pdf(c.db, c.clinic_id, s.id, c.library, actor="t", paper=paper)
    assert file.media_type == "application/pdf" and file.filename.endswith(".pdf")
    _checks_fonts_and_paper(file.content, tmp_path, paper)
    text = _text(file.content, tmp_path)
    for expected in (
        "Test Clinic",
        "12 Harbour Street",
        "+1 555 0142",
        "Pat Example",
        "C-0001",
        "RN RN123",
        "C1234A",
        "2027-06-30",
        "topical lidocaine 4%",
        "DM901-OFF-LABEL",
        "Discussed off-label use; patient agrees.",
        "Signed by",
        "Point 6 was not injected",
    ):
        assert expected in text, expected
    assert _number_after("Needle entries", text) == len(s.points) == 5
    assert _number_after("Units (U)", text) == s.total_units
    assert _number_after("Volume (µL)", text) == sum(p.volume_ul for p in s.points)
    assert _number_after("Botox-equivalent units", text) == s.botox_equivalent_units
    assert _number_after("Pain score (0–10)", text) == s.pain_score
    rows = re.findall(r"(\d+) forehead\s+([0-9.]+)\s+([0-9.]+)\s+V-1", text)
    charted = {str(p.number): (p.volume_ul, p.units) for p in s.points}
    assert {n: (Decimal(v), Decimal(u)) for n, v, u in rows} == charted
    assert "BLOCK" not in text  # checked as charted: the amended chart blocks nothing


def test_aftercare_sheet_cites_every_statement(documented: Treated, tmp_path: Path) -> None:
    c, s = documented.clinic, documented.session
    file = docs.aftercare_pdf(c.db, c.clinic_id, s.id, c.library, actor="t", paper="letter")
    _checks_fonts_and_paper(file.content, tmp_path, "letter")
    text = " ".join(_text(file.content, tmp_path).split())
    statements = document_data("aftercare.toml")
    for group in ("expect", "avoid", "warning"):
        for item in statements[group]:
            assert " ".join(item["value"].split()[:6]) in text
            assert f"[{item['tag']}] {item['source']}" in text
    assert "Results show over 5 to 14 days. [ESTABLISHED] iranmanesh_2022" in text
    assert "2026-03-16" in text  # the review follow-up on record
    assert "forehead" in text and "+1 555 0142" in text
    assert "Tiny injections 5" in text


def test_consent_form_has_text_and_drawn_signature(documented: Treated, tmp_path: Path) -> None:
    c = documented.clinic
    first, signed = _consents(documented)
    file = docs.consent_pdf(c.db, c.clinic_id, signed, actor="t")
    text = _text(file.content, tmp_path)
    for line in CONSENT_TEXT.splitlines():
        assert line in text
    assert "matches the fingerprint" in text and "Pat Example" in text and "Dee Desk" in text
    images = _poppler("pdfimages", file.content, tmp_path, "-list")
    assert re.search(r"\s360\s+120\s", images), images  # the drawn signature, as stored
    plain = docs.consent_pdf(c.db, c.clinic_id, first, actor="t")
    assert "No drawn signature" in _text(plain.content, tmp_path)


def test_vial_log_balances(documented: Treated, tmp_path: Path) -> None:
    c = documented.clinic
    file = docs.vial_log_pdf(c.db, c.clinic_id, actor="t")
    text = _text(file.content, tmp_path)
    assert "Lot C1234A" in text and "V-1" in text
    row = re.search(
        r"V-1 .*?label\s+100\s+2\.5\s+40\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)",
        text,
    )
    assert row, text
    drawn, charted, sessions, wasted, left = row.groups()
    assert Decimal(charted) == documented.session.total_units == Decimal(1)
    assert Decimal(drawn) == Decimal(1) and Decimal(left) == Decimal(99) and sessions == "1"
    assert Decimal(wasted) == 0


def test_bad_paper_is_refused(documented: Treated) -> None:
    c = documented.clinic
    with pytest.raises(InvalidInputError) as err:
        docs.vial_log_pdf(c.db, c.clinic_id, actor="t", paper="legal")
    assert err.value.field == "paper"
