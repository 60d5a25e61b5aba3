"""The certificate code: what a certificate's QR holds, signed by the issuing device.

One line of URL-safe ASCII, fields separated by dots::

    CK1.demo-kiosk-01.42.residence_proof.20250301T060500Z.20250530.SALT.DIGEST.SIGNATURE

    CK1          the format (and domain separation: the same device key signs locker codes)
    device       the issuing device's id; its public key checks the signature
    number       the certificate's number at that device (the serial is device-number)
    template     the template id
    issued       the issue time, UTC, to the second
    expires      the last day it is valid (issuer's calendar), or "-" for none
    SALT         8 random bytes, base64url: keeps the digest from being guessed
    DIGEST       base64url SHA-256 of SALT + the canonical printed field data
    SIGNATURE    base64url Ed25519 signature of everything before the last dot

Never an ID number or a name in clear: the content is only in the digest, and the
salt stops anyone from confirming a guess of it without the certificate in hand.
The QR may carry a prefix (``[forms] verify_url``) so that a phone opens the
server's verify page; parsing starts at ``CK1.``.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from forms.errors import CodeError

PREFIX = "CK1"
_PAYLOAD = re.compile(
    r"CK1\.([a-z0-9][a-z0-9-]{1,62})\.([1-9][0-9]{0,11})\.([a-z][a-z0-9_]{0,39})\.(\d{8}T\d{6}Z)\."
    r"(\d{8}|-)\.([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{86})")


class Signer(Protocol):
    """What signs a stamp: :class:`appliance.keys.DeviceKey` is one."""

    device_id: str

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class Stamp:
    device: str
    number: int
    template: str
    issued_at: datetime  # aware, whole seconds: the issuer's local time (UTC once parsed from a code)
    expires: date | None
    salt: bytes  # 8 bytes
    digest: bytes  # 32 bytes
    signature: bytes = b""  # 64 bytes once signed

    @property
    def serial(self) -> str:
        """The certificate's serial as printed: ``demo-kiosk-01-000042``."""
        return serial(self.device, self.number)

    def signed_text(self) -> str:
        expires = self.expires.strftime("%Y%m%d") if self.expires else "-"
        return ".".join((PREFIX, self.device, str(self.number), self.template,
                         self.issued_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ"), expires,
                         _b64(self.salt), _b64(self.digest)))

    @property
    def text(self) -> str:
        """The code as the QR holds it (without any URL prefix)."""
        if len(self.signature) != 64:
            raise ValueError("the stamp is not signed")
        return f"{self.signed_text()}.{_b64(self.signature)}"

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires


def serial(device: str, number: int) -> str:
    return f"{device}-{number:06d}"


def digest(salt: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(salt + canonical).digest()


def make(signer: Signer, *, template: str, number: int, canonical: bytes, issued_at: datetime,
         valid_days: int = 0, salt: bytes | None = None) -> Stamp:
    """Sign a new stamp. ``issued_at`` must be aware; the expiry is counted in its
    calendar (the issuer's local days). ``salt`` is random unless given (tests)."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must carry its time zone")
    issued_at = issued_at.replace(microsecond=0)
    salt = os.urandom(8) if salt is None else salt
    if len(salt) != 8:
        raise ValueError("the salt is 8 bytes")
    expires = issued_at.date() + timedelta(days=valid_days) if valid_days else None
    stamp = Stamp(signer.device_id, number, template, issued_at, expires, salt, digest(salt, canonical))
    return replace(stamp, signature=signer.sign(stamp.signed_text().encode("ascii")))


def parse(text: str) -> Stamp:
    """A stamp from a QR's text (any URL prefix is skipped); :class:`CodeError` if malformed."""
    start = text.find(PREFIX + ".")
    if start < 0:
        raise CodeError("not a certificate code (it does not contain CK1.)")
    body = text[start:].strip()
    match = _PAYLOAD.fullmatch(body)
    if not match:
        raise CodeError("not a well-formed certificate code (a character was changed, or it was cut short)")
    device, number, template, issued, expires, salt, dig, sig = match.groups()
    try:
        issued_at = datetime.strptime(issued, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        expiry = None if expires == "-" else datetime.strptime(expires, "%Y%m%d").date()
    except ValueError:
        raise CodeError("not a well-formed certificate code (an impossible date)") from None
    stamp = Stamp(device, int(number), template, issued_at, expiry, _unb64(salt, 8), _unb64(dig, 32),
                  _unb64(sig, 64))
    if stamp.text != body:  # base64 with stray bits: not what any signer wrote
        raise CodeError("not a well-formed certificate code (non-canonical encoding)")
    return stamp


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str, size: int) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != size:
        raise CodeError("not a well-formed certificate code (a field has the wrong length)")
    return raw
