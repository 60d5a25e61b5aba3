"""The public certificate check: a certificate's QR text → valid, tampered, revoked
(or unknown key, expired), with the holder's masked name where the server knows it.

The check is :func:`forms.verify.verify_code` on the server's published keys (every
enrolled device's key, revoked ones marked: the same list ``/api/v1/keys`` gives).
A certificate is also revoked when a ``revocation`` record names its serial (its key,
or ``data.serial``). The holder is the resident of the case whose events name the
certificate's serial (``certificate`` in a payload), else a ``holder`` the issuing
event carried; only the masked name is shown.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import Connection, Text, cast, or_, select

from appliance.keys import TrustedKey, TrustedKeys
from forms.verify import Verdict, Verification, verify_code
from sync.server.models import CertificateTemplate, Device, EventRow, Revocation
from sync.server.notify.residents import mask_name, of_case

DEVICES = Device.__table__
EVENTS = EventRow.__table__
REVOCATIONS = Revocation.__table__
TEMPLATES = CertificateTemplate.__table__
MAX_TEXT = 2000


@dataclass
class Checked:
    verification: Verification
    holder: str = ""  # masked
    revoked_certificate: bool = False
    template_name: tuple[str, str] = ("", "")  # (Chinese, English) as the template record names it

    @property
    def verdict(self) -> str:
        return "revoked" if self.revoked_certificate else self.verification.verdict.value


def published_keys(conn: Connection) -> TrustedKeys:
    keys = {r.device_id: TrustedKey(r.device_id, base64.b64decode(r.public_key), r.revoked_at is not None)
            for r in conn.execute(select(DEVICES.c.device_id, DEVICES.c.public_key, DEVICES.c.revoked_at))}
    return TrustedKeys(keys, "server")


def _revoked(conn: Connection, serial: str) -> bool:
    for row in conn.execute(select(REVOCATIONS.c.key, REVOCATIONS.c.data)):
        if row.key == serial or (isinstance(row.data, dict) and row.data.get("serial") == serial):
            return True
    return False


def holder(conn: Connection, serial: str) -> str:
    rows = conn.execute(select(EVENTS.c.aggregate_type, EVENTS.c.aggregate_id, EVENTS.c.payload).where(
        EVENTS.c.aggregate_type.in_(["case", "certificate"]),
        or_(EVENTS.c.aggregate_id == serial, cast(EVENTS.c.payload, Text).like(f"%{serial}%")))
        .order_by(EVENTS.c.server_seq)).all()
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        if row.aggregate_type == "case" and serial in (payload.get("certificate"), payload.get("serial")):
            name = of_case(conn, row.aggregate_id).masked_name
            if name:
                return name
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        if row.aggregate_type == "certificate" and row.aggregate_id == serial and payload.get("holder"):
            return mask_name(str(payload["holder"]))
    return ""


def check(conn: Connection, text: str) -> Checked:
    text = text.strip()[:MAX_TEXT]
    start = text.find("CK1.")
    code = text[start:] if start >= 0 else text
    result = verify_code(code, published_keys(conn))
    if result.stamp is None or result.verdict in (Verdict.TAMPERED, Verdict.UNKNOWN_KEY):
        return Checked(result)
    serial = result.stamp.serial
    return Checked(result, holder(conn, serial), result.verdict is not Verdict.REVOKED and _revoked(conn, serial),
                   template_name(conn, result.stamp.template))


def template_name(conn: Connection, template: str) -> tuple[str, str]:
    data = conn.execute(select(TEMPLATES.c.data).where(TEMPLATES.c.key == template)).scalar()
    if isinstance(data, dict) and data.get("name"):
        return str(data["name"]), str(data.get("name_en") or data["name"])
    return template, template
