"""Signaling tokens: who may open a signaling WebSocket, signed with the server's key.

A kiosk gets one for its call through a signed ``/api/v1`` request (so only an
enrolled, unrevoked device can). A staff console needs none: its WebSocket upgrade
carries the session cookie, checked by the accounts' own lookup
(``signaling.staff_socket``). ``VT1.<base64url JSON>.<base64url Ed25519 signature>``;
the JSON names the subject (``kiosk`` with device and call) and an expiry. Tokens
carry no personal data.
"""
from __future__ import annotations

import base64
import json
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.keys import DeviceKey
from sync.server.video.errors import BadToken

PREFIX = "VT1"
KIOSK_TTL_S = 4 * 3600  # a call's token: reconnections reuse it


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: DeviceKey, claims: dict, ttl_s: int, clock=time.time) -> str:
    body = _b64(json.dumps({**claims, "exp": int(clock()) + ttl_s}, separators=(",", ":")).encode())
    return f"{PREFIX}.{body}.{_b64(key.sign(f'{PREFIX}.{body}'.encode()))}"


def verify(key: DeviceKey, token: str, clock=time.time) -> dict:
    try:
        prefix, body, signature = (token or "").split(".")
        if prefix != PREFIX:
            raise ValueError(prefix)
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(_unb64(signature), f"{prefix}.{body}".encode())
        claims = json.loads(_unb64(body))
    except (ValueError, InvalidSignature, json.JSONDecodeError):
        raise BadToken("signaling token malformed or not signed by this server: ask for a new one") from None
    if not isinstance(claims, dict) or claims.get("exp", 0) < clock():
        raise BadToken("signaling token expired: ask for a new one")
    return claims
