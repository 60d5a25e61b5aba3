"""Reading a certificate's record back from its PDF.

:func:`forms.render.render` writes the record as an XMP packet: uncompressed XML in
ASCII, so it is found by scanning the file's bytes (what XMP packets are designed
for) and no PDF parser is needed. Anything else is :class:`NotACertificate`.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forms.errors import NotACertificate
from forms.render import XMP_NAMESPACE

_DESCRIPTION = re.compile(rb'<rdf:Description rdf:about="" xmlns:ck="' + re.escape(XMP_NAMESPACE.encode()) +
                          rb'">(.*?)</rdf:Description>', re.S)
_ITEM = re.compile(rb"<ck:([A-Za-z]+)>([^<]*)</ck:\1>")
KEYS = ("code", "template", "templateFingerprint", "lang", "issued", "seal", "fields")


@dataclass(frozen=True)
class PdfRecord:
    code: str
    template: str
    template_fingerprint: str
    lang: str
    issued: datetime  # the issuer's local time, with its offset
    seal: str  # what filled the seal slot: "image", "slot" (an empty circle) or "none"
    values: dict[str, Any]  # the canonical printed values


def read_record(pdf: bytes, source: str = "<pdf>") -> PdfRecord:
    if not pdf.startswith(b"%PDF-"):
        raise NotACertificate(f"{source}: not a PDF file")
    found = _DESCRIPTION.findall(pdf)
    if not found:
        raise NotACertificate(f"{source}: a PDF, but not a certificate (it carries no certificate record)")
    if len(found) > 1:
        # Two records: someone appended one. Neither can be trusted to be the page's.
        raise NotACertificate(f"{source}: carries {len(found)} certificate records; a certificate has one")
    items = {k.decode(): html.unescape(v.decode("ascii", "replace")) for k, v in _ITEM.findall(found[0])}
    missing = [k for k in KEYS if k not in items]
    if missing:
        raise NotACertificate(f"{source}: the certificate record lacks {', '.join(missing)}")
    try:
        values = json.loads(items["fields"])
        issued = datetime.fromisoformat(items["issued"])
    except ValueError as exc:
        raise NotACertificate(f"{source}: the certificate record is damaged ({exc})") from None
    if not isinstance(values, dict) or issued.tzinfo is None:
        raise NotACertificate(f"{source}: the certificate record is damaged")
    return PdfRecord(items["code"], items["template"], items["templateFingerprint"], items["lang"], issued,
                     items["seal"], values)
