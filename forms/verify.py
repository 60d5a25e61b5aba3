"""Verifying a certificate offline: its code (QR text), its data, or its PDF.

The answers (:class:`Verdict`)::

    valid        signed by a trusted device key, content as signed, not expired
    tampered     the code is malformed or its signature does not match; or the data,
                 or the page of the PDF, differ from what was signed
    unknown key  no trusted key for the issuing device (not enrolled, or the list of
                 keys is out of date: sync, or pass --keys)
    revoked      the issuing device's key was revoked: nothing it signed is trusted
    expired      genuine, but past its last valid day

For a PDF, the certificate record it carries (:mod:`forms.record`) is checked
against the code's digest; then, when this appliance has the very template the
certificate was made from (same fingerprint) and poppler's ``pdftotext``, the page is
rendered again from the signed content and its text compared with the file's, so
an edit of the visible page is caught too. When that comparison cannot be made the
verification says so in its notes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from typing import Any

from appliance.keys import KeyVerdict, TrustedKeys
from forms import stamp as stamps
from forms.errors import CodeError, FormsError, NotACertificate, TemplateNotFound
from forms.fields import canonical_bytes, from_canonical
from forms.record import read_record
from forms.render import Look, render
from forms.stamp import Stamp
from forms.templates import Catalogue


class Verdict(Enum):
    VALID = "valid"
    TAMPERED = "tampered"
    UNKNOWN_KEY = "unknown key"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Verification:
    verdict: Verdict
    reason: str  # one line for a person
    stamp: Stamp | None = None
    notes: list[str] = field(default_factory=list)
    values: dict[str, Any] | None = None  # a PDF's signed (printed) values

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.VALID

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict.value, "reason": self.reason, "notes": self.notes}
        if self.stamp is not None:
            s = self.stamp
            out.update(serial=s.serial, device=s.device, number=s.number, template=s.template,
                       issued_at=s.issued_at.isoformat(), expires=s.expires.isoformat() if s.expires else None,
                       digest=s.digest.hex())
        if self.values is not None:
            out["fields"] = self.values
        return out


def verify_code(text: str, keys: TrustedKeys, *, today: date | None = None,
                canonical: bytes | None = None) -> Verification:
    """Check a QR's text; with ``canonical`` (the printed data's canonical bytes) the
    content too. Without it, a valid answer vouches for the code, not for a page."""
    try:
        stamp = stamps.parse(text)
    except CodeError as exc:
        return Verification(Verdict.TAMPERED, exc.message)
    checked = keys.verify(stamp.device, stamp.signed_text().encode("ascii"), stamp.signature)
    if checked is KeyVerdict.UNKNOWN_KEY:
        return Verification(Verdict.UNKNOWN_KEY, f"no trusted key for device {stamp.device} (not enrolled, or the "
                                                 "keys are out of date: sync, or pass --keys)", stamp)
    if checked is KeyVerdict.BAD_SIGNATURE:
        return Verification(Verdict.TAMPERED, f"the signature does not match: the code was changed after "
                                              f"{stamp.device} signed it", stamp)
    if checked is KeyVerdict.REVOKED:
        return Verification(Verdict.REVOKED, f"the key of device {stamp.device} was revoked: nothing it signed is "
                                             "trusted", stamp)
    if canonical is not None and stamps.digest(stamp.salt, canonical) != stamp.digest:
        return Verification(Verdict.TAMPERED, f"the content differs from what {stamp.device} signed", stamp)
    today = today or date.today()
    if stamp.expired(today):
        return Verification(Verdict.EXPIRED, f"genuine, but it expired after {stamp.expires.isoformat()}", stamp)
    what = "code and content" if canonical is not None else "code"
    return Verification(Verdict.VALID, f"genuine {what}: {stamp.template} {stamp.serial}, signed by {stamp.device}",
                        stamp)


def verify_pdf(pdf: bytes, keys: TrustedKeys, *, catalogue: Catalogue | None = None, look: Look = Look(),
               today: date | None = None, source: str = "<pdf>") -> Verification:
    """Check a certificate PDF: its code, its record against the code, and its page."""
    try:
        record = read_record(pdf, source)
    except NotACertificate as exc:
        return Verification(Verdict.TAMPERED, exc.message)
    result = verify_code(record.code, keys, today=today, canonical=canonical_bytes(record.values))
    stamp = result.stamp
    if stamp is None or result.verdict in (Verdict.TAMPERED, Verdict.UNKNOWN_KEY, Verdict.REVOKED):
        return replace(result, values=record.values)
    if record.template != stamp.template or record.issued != stamp.issued_at:
        return Verification(Verdict.TAMPERED, "the file's certificate record does not match its code", stamp,
                            values=record.values)
    notes = list(result.notes)
    problem = _compare_page(pdf, record, stamp, catalogue, look, notes)
    if problem:
        return Verification(Verdict.TAMPERED, problem, stamp, notes, record.values)
    return replace(result, notes=notes, values=record.values)


def _compare_page(pdf: bytes, record, stamp: Stamp, catalogue: Catalogue | None, look: Look,
                  notes: list[str]) -> str:
    """"" when the page's text is what the signed content renders to (or cannot be
    compared: then a note says why); else what is wrong."""
    if catalogue is None:
        notes.append("page not compared: no templates given")
        return ""
    try:
        template = catalogue.get(record.template)
    except (TemplateNotFound, FormsError) as exc:
        notes.append(f"page not compared: {exc}")
        return ""
    if template.fingerprint != record.template_fingerprint:
        notes.append(f"page not compared: this appliance's {template.id} template is not the one the "
                     "certificate was made from (edited since)")
        return ""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        notes.append("page not compared: pdftotext is missing (Debian package poppler-utils)")
        return ""
    try:
        again = render(template, from_canonical(template, record.values), replace(stamp, issued_at=record.issued),
                       lang=record.lang, look=replace(look, seal_image=""), blank_seal=record.seal == "image")
    except (FormsError, KeyError, ValueError, TypeError, StopIteration) as exc:
        return f"the signed content cannot be laid out on its template ({exc})"
    expected, actual = _text(pdftotext, again), _text(pdftotext, pdf)
    if actual is None:
        return "the file's page cannot be read"
    if expected != actual:
        return "the page's text differs from the signed content"
    notes.append("page text matches the signed content")
    return ""


def _text(pdftotext: str, pdf: bytes) -> str | None:
    with tempfile.TemporaryDirectory(prefix="forms-verify-") as folder:
        path = os.path.join(folder, "page.pdf")
        with open(path, "wb") as file:
            file.write(pdf)
        run = subprocess.run([pdftotext, "-q", "-enc", "UTF-8", path, "-"], capture_output=True, timeout=30)
    if run.returncode != 0:
        return None
    return re.sub(r"\s+", "", run.stdout.decode("utf-8", "replace"))
