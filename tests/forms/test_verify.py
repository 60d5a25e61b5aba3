"""Verifying PDFs offline: valid, a changed field, a changed page, a changed record,
unknown key, revoked, expired."""
from __future__ import annotations

import re
from datetime import date

import pytest

from appliance.keys import DeviceKey, TrustedKeys
from forms.record import read_record
from forms.render import Look
from forms.verify import Verdict, verify_pdf
from tests.forms.conftest import SEAL
from tests.support import require_program

TODAY = date(2025, 3, 2)


@pytest.fixture(autouse=True)
def poppler():
    require_program("poppler-utils", "pdftotext")


def check(pdf: bytes, keys: TrustedKeys, catalogue, today: date = TODAY):
    return verify_pdf(pdf, keys, catalogue=catalogue, today=today)


@pytest.mark.parametrize("template_id, lang", [("residence_proof", "zh"), ("elderly_subsidy", "en"),
                                               ("dropoff_receipt", "zh")])
def test_a_genuine_pdf_is_valid_and_its_page_matches(issued, keys, catalogue, template_id, lang):
    one = issued(template_id, lang=lang, look=Look(seal_image=SEAL))
    result = check(one.pdf, keys, catalogue)
    assert result.verdict is Verdict.VALID, result
    assert "page text matches the signed content" in result.notes
    assert result.values == one.filled.values
    assert result.stamp.serial == "demo-kiosk-01-000042"


def test_the_record_round_trips(issued):
    one = issued("elderly_subsidy")
    record = read_record(one.pdf)
    assert record.code == one.stamp.text and record.values == one.filled.values
    assert record.issued == one.stamp.issued_at and record.lang == "zh"
    assert record.template_fingerprint == one.template.fingerprint


def test_one_changed_field_is_tampered(issued, keys, catalogue):
    """A forger renders a proof with another address and copies a genuine code onto it."""
    genuine = issued("residence_proof")
    data = {**genuine.template.example(), "address": "示范街道幸福里社区12号楼3单元402室"}
    forged = issued("residence_proof", data)
    code = genuine.stamp.text.encode()
    pdf = forged.pdf.replace(forged.stamp.text.encode(), code)
    result = check(pdf, keys, catalogue)
    assert result.verdict is Verdict.TAMPERED and "content differs" in result.reason


def test_a_changed_record_is_tampered(issued, keys, catalogue):
    one = issued("residence_proof")
    # the record's JSON is ASCII: \uXXXX escapes
    pdf = one.pdf.replace("子女入学".encode("unicode_escape"), "出国留学".encode("unicode_escape"))
    assert pdf != one.pdf
    result = check(pdf, keys, catalogue)
    assert result.verdict is Verdict.TAMPERED and "content differs" in result.reason


def test_a_changed_page_is_tampered(issued, keys, catalogue):
    """The visible page edited, the record and code left as they were."""
    genuine = issued("residence_proof")
    edited = issued("residence_proof", {**genuine.template.example(), "purpose": "出国留学"})
    record = re.compile(rb"<rdf:Description.*?</rdf:Description>", re.S)
    pdf = record.sub(lambda _: record.search(genuine.pdf).group(0), edited.pdf)
    assert read_record(pdf).values == genuine.filled.values
    result = check(pdf, keys, catalogue)
    assert result.verdict is Verdict.TAMPERED and "page's text differs" in result.reason


def test_a_changed_issue_time_in_the_record_is_tampered(issued, keys, catalogue):
    one = issued("residence_proof")
    pdf = one.pdf.replace(b"<ck:issued>2025-03-01T14:05:00+08:00", b"<ck:issued>2025-03-01T14:06:00+08:00")
    assert pdf != one.pdf
    assert check(pdf, keys, catalogue).verdict is Verdict.TAMPERED


def test_one_byte_of_the_code_changed_is_tampered(issued, keys, catalogue):
    one = issued("residence_proof")
    code = one.stamp.text
    i = code.rindex(".") + 10  # inside the signature
    changed = code[:i] + ("A" if code[i] != "A" else "B") + code[i + 1:]
    result = check(one.pdf.replace(code.encode(), changed.encode()), keys, catalogue)
    assert result.verdict is Verdict.TAMPERED and "signature does not match" in result.reason


def test_unknown_key_revoked_and_expired(issued, key, catalogue):
    one = issued("residence_proof")
    assert check(one.pdf, TrustedKeys(), catalogue).verdict is Verdict.UNKNOWN_KEY
    revoked = TrustedKeys().with_key("demo-kiosk-01", key.public_key, revoked=True)
    assert check(one.pdf, revoked, catalogue).verdict is Verdict.REVOKED
    impostor = TrustedKeys().with_key("demo-kiosk-01", DeviceKey.generate("demo-kiosk-01").public_key)
    assert check(one.pdf, impostor, catalogue).verdict is Verdict.TAMPERED
    trusted = TrustedKeys().with_key("demo-kiosk-01", key.public_key)
    assert check(one.pdf, trusted, catalogue, today=date(2025, 6, 1)).verdict is Verdict.EXPIRED


def test_not_a_certificate(keys, catalogue, tmp_path):
    assert check(b"hello", keys, catalogue).verdict is Verdict.TAMPERED
    from reportlab.pdfgen.canvas import Canvas
    path = tmp_path / "plain.pdf"
    canvas = Canvas(str(path))
    canvas.drawString(72, 720, "not a certificate")
    canvas.save()
    result = check(path.read_bytes(), keys, catalogue)
    assert result.verdict is Verdict.TAMPERED and "no certificate record" in result.reason


def test_a_second_appended_record_is_refused(issued, keys, catalogue):
    one = issued("residence_proof")
    record = re.search(rb"<rdf:Description.*?</rdf:Description>", one.pdf, re.S).group(0)
    assert check(one.pdf + record, keys, catalogue).verdict is Verdict.TAMPERED


def test_an_edited_template_means_the_page_is_not_compared(issued, keys, catalogue, tmp_path):
    from forms.templates import Catalogue
    one = issued("residence_proof")
    source = catalogue.get("residence_proof").path
    (tmp_path / source.name).write_text(source.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    result = verify_pdf(one.pdf, keys, catalogue=Catalogue(tmp_path), today=TODAY)
    assert result.verdict is Verdict.VALID
    assert any("page not compared" in n and "edited since" in n for n in result.notes)
