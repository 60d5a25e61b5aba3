"""Locker codes: signed, expiring, with a nonce, checked offline.

A code is one line of text, short enough for a QR code::

    LKR1.<kind>.<payload>.<signature>

``kind`` is ``P`` (pickup), ``W`` (worker) or ``B`` (booking); ``payload`` is
base64url of compact JSON; ``signature`` is base64url of the Ed25519 signature of
``LKR1.<kind>.<payload>`` by the key of the payload's issuer ``i``.

=====  ==========================  =============================================
kind   signed by                   payload (besides i, n nonce, t issued, e expires)
=====  ==========================  =============================================
P      this locker's device key    l locker id, c case id
W      the server key              w worker id, l [locker ids]
B      the server key              c case id, s size S/M/L, l locker id or "" (any)
=====  ==========================  =============================================

Pickup codes also have an 8-digit short form, a random number the locker keeps
beside the code (:mod:`locker.schema` ``pickup_codes``): it only means something
to the locker that issued it, and typing it is rate-limited
(:mod:`locker.throttle`).

:func:`check` refuses with a :class:`~locker.errors.Refused` naming why: not a
code, forged (bad signature, or a kind its signer may not issue), unknown or
revoked key, expired, not yet valid, for another locker, a worker code valid for
too long. Replays are the caller's to refuse: it alone knows which codes were used.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.keys import KeyVerdict, TrustedKeys
from locker.errors import Refused

PREFIX = "LKR1"
KINDS = {"P": "pickup", "W": "worker", "B": "booking"}
SHORT = re.compile(r"^\d{8}$")
SKEW = 120  # seconds of clock difference forgiven on "issued"
SIZES = ("S", "M", "L")


class Signer(Protocol):
    device_id: str

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class Code:
    kind: str  # pickup, worker, booking
    issuer: str
    nonce: str
    issued: int
    expires: int
    payload: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    @property
    def case(self) -> str:
        return str(self.payload.get("c", ""))

    @property
    def worker(self) -> str:
        return str(self.payload.get("w", ""))

    @property
    def size(self) -> str:
        return str(self.payload.get("s", "M"))

    @property
    def lockers(self) -> list[str]:
        value = self.payload.get("l", "")
        return list(value) if isinstance(value, list) else ([value] if value else [])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(signer: Signer, kind: str, payload: dict[str, Any], *, valid_seconds: int,
         now: float | None = None, nonce: str | None = None) -> str:
    """A signed code of ``kind`` (P, W or B) valid for ``valid_seconds`` from now."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    issued = int(time.time() if now is None else now)
    body = {**payload, "i": signer.device_id, "n": nonce or secrets.token_hex(8), "t": issued,
            "e": issued + int(valid_seconds)}
    encoded = _b64(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    message = f"{PREFIX}.{kind}.{encoded}"
    return f"{message}.{_b64(signer.sign(message.encode('ascii')))}"


def pickup_code(signer: Signer, locker_id: str, case_id: str, *, days: int, now: float | None = None) -> str:
    return sign(signer, "P", {"l": locker_id, "c": case_id}, valid_seconds=days * 86400, now=now)


def worker_code(signer: Signer, worker: str, lockers: list[str], *, minutes: int, now: float | None = None) -> str:
    return sign(signer, "W", {"w": worker, "l": list(lockers)}, valid_seconds=minutes * 60, now=now)


def booking_code(signer: Signer, case_id: str, size: str, *, locker: str = "", days: int = 14,
                 now: float | None = None) -> str:
    if size not in SIZES:
        raise ValueError(f"size {size!r}: one of S, M, L")
    return sign(signer, "B", {"c": case_id, "s": size, "l": locker}, valid_seconds=days * 86400, now=now)


def short_code() -> str:
    return f"{secrets.randbelow(10 ** 8):08d}"


def looks_like_code(text: str) -> bool:
    return text.startswith(PREFIX + ".")


def parse(text: str) -> tuple[Code, bytes, bytes]:
    """The code, the signed message and the signature; Refused("unreadable") if it is none."""
    text = text.strip()
    parts = text.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] not in KINDS:
        raise Refused("unreadable")
    try:
        body = json.loads(_unb64(parts[2]).decode("utf-8"))
        signature = _unb64(parts[3])
        if not isinstance(body, dict):
            raise ValueError("not an object")
        code = Code(KINDS[parts[1]], str(body["i"]), str(body["n"]), int(body["t"]), int(body["e"]),
                    {k: v for k, v in body.items() if k not in ("i", "n", "t", "e")}, text)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Refused("unreadable") from None
    return code, ".".join(parts[:3]).encode("ascii"), signature


def check(text: str, keys: TrustedKeys, *, locker_id: str, server_key_id: str, worker_max_minutes: int,
          now: float | None = None) -> Code:
    """Parse and check a code offline; raise Refused with the reason."""
    code, message, signature = parse(text)
    verdict = keys.verify(code.issuer, message, signature)
    if verdict is KeyVerdict.UNKNOWN_KEY:
        raise Refused("unknown_key", f"issuer {code.issuer}")
    if verdict is KeyVerdict.BAD_SIGNATURE:
        raise Refused("forged")
    if verdict is KeyVerdict.REVOKED:
        raise Refused("revoked", f"issuer {code.issuer}")
    allowed = locker_id if code.kind == "pickup" else server_key_id
    if code.kind == "pickup" and code.issuer != locker_id and code.issuer != server_key_id:
        raise Refused("other_locker", f"issued by {code.issuer}")
    if code.issuer != allowed:
        raise Refused("forged", f"{code.issuer} may not issue {code.kind} codes")
    moment = time.time() if now is None else now
    if moment > code.expires:
        raise Refused("expired")
    if code.issued > moment + SKEW:
        raise Refused("not_yet_valid")
    if code.lockers and locker_id not in code.lockers:
        raise Refused("other_locker")
    if code.kind == "pickup" and not code.lockers:
        raise Refused("unreadable")
    if code.kind == "worker":
        if not code.worker:
            raise Refused("unreadable")
        if code.expires - code.issued > worker_max_minutes * 60:
            raise Refused("too_long", f"valid {(code.expires - code.issued) // 60} minutes, "
                                      f"at most {worker_max_minutes}")
    if code.kind == "booking" and (not code.case or code.size not in SIZES):
        raise Refused("unreadable")
    return code
