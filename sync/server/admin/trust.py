"""What verifiers trust, as a community's admin (or ``python -m sync.server``) changes it:
certificate revocations and worker keys. Both are content records
(:mod:`sync.server.content`), published in the change feed.

``revocation`` (key: the certificate's serial, ``DEVICE-000042``), for every appliance
(community None: a certificate is shown anywhere)::

    {"serial", "device": the issuing device, "community": its community,
     "reason": why (published: nothing personal), "revoked_by", "revoked_at": ISO 8601}

The verify page (sync.server.worker.certificates) then says 已作废 / revoked. Only a
certificate issued by a device of the admin's community can be revoked there.

``worker_key`` (key: the key id, as ``[locker] server_key_id`` names it), for the
community's appliances: a public key the lockers accept worker and booking codes from,
in the trusted-keys format (:mod:`appliance.keys`)::

    {"public_key": base64 of the raw 32 bytes, "revoked": bool, "fingerprint",
     "community", "note", "added_by", "added_at", "revoked_by"?, "revoked_at"?}

A locker checks a worker or booking code against the key its ``[locker]
server_key_id`` names (``server``, the central server's own key, by default). The sync
agent merges worker keys into ``DATA_DIR/trusted-keys.json`` beside the device keys
(a device key of the same id wins), so a community whose lockers are set to another
issuer (its own signing tool: ``python -m locker sign server-key`` prints the entry to
publish) gets that key to every locker, and a revoked one is refused everywhere at the
next sync. A key id that is an enrolled device or the server's own key cannot be
published, and no enrolment code is made for a worker key's id (the device's key
would stand in for it); a revoked id is never published again (a new key takes a new
id).
"""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, select

from appliance.keys import DEVICE_ID, fingerprint
from sync.server import content
from sync.server.admin.catalogue import Invalid
from sync.server.keys import is_server_key_id
from sync.server.models import Device, Revocation, WorkerKey

DEVICES, REVOCATIONS, WORKER_KEYS = Device.__table__, Revocation.__table__, WorkerKey.__table__
SERIAL = re.compile(r"^([a-z0-9][a-z0-9-]{1,62})-([0-9]{6,12})$")
MAX_REASON = 200


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- certificate revocations ----------------------------------------------------------
def serial_of(text: str) -> tuple[str, str]:
    """(serial, issuing device) from a serial or a certificate's QR text (any URL
    prefix); Invalid when it is neither."""
    text = text.strip()
    if "CK1." in text:
        from forms.errors import CodeError
        from forms.stamp import parse

        try:
            stamp = parse(text)
        except CodeError as exc:
            raise Invalid([("二维码内容不完整或有误，请重新扫码或直接填写编号", f"not a certificate's QR text ({exc})")]) from None
        return stamp.serial, stamp.device
    match = SERIAL.fullmatch(text)
    if not match or int(match.group(2)) < 1 or text != f"{match.group(1)}-{int(match.group(2)):06d}":
        raise Invalid([("证明编号的格式是“终端编号-六位数字”，如 kiosk-01-000042（印在证明上）",
                        "a certificate's serial is DEVICE-NUMBER, e.g. kiosk-01-000042 (printed on it)")])
    return text, match.group(1)


def device_community(conn: Connection, device_id: str) -> str | None:
    return conn.execute(select(DEVICES.c.community).where(DEVICES.c.device_id == device_id)).scalar_one_or_none()


def revoke_certificate(conn: Connection, text: str, reason: str, by: str, *, community: str | None) -> str:
    """Revoke the certificate ``text`` names (a serial or its QR text) and publish it;
    ``community`` None: any community's (the command line). Returns the serial."""
    serial, device = serial_of(text)
    reason = " ".join(reason.split())
    problems = []
    if not 2 <= len(reason) <= MAX_REASON:
        problems.append((f"请写明作废原因（2–{MAX_REASON} 字，会随作废记录发布，不要写个人信息）",
                         f"give the reason (2–{MAX_REASON} characters; it is published: nothing personal)"))
    issuer = device_community(conn, device)
    if issuer is None or (community is not None and issuer != community):
        problems.append((f"证明 {serial} 不是本社区的终端开具的（开具终端：{device}）",
                         f"certificate {serial} was not issued by a device of this community (issuer: {device})"))
    if problems:
        raise Invalid(problems)
    content.put(conn, "revocation", serial, {"serial": serial, "device": device, "community": issuer,
                                             "reason": reason, "revoked_by": by, "revoked_at": _now()})
    return serial


def withdraw_revocation(conn: Connection, serial: str, *, community: str | None) -> bool:
    """Take a revocation back (it was a mistake): the certificate is valid again."""
    data = conn.execute(select(REVOCATIONS.c.data).where(REVOCATIONS.c.key == serial)).scalar_one_or_none()
    if data is None or (community is not None and data.get("community") != community):
        return False
    return content.remove(conn, "revocation", serial)


def revocations(conn: Connection, community: str | None) -> list[dict[str, Any]]:
    """The revocations of certificates the community's devices issued, newest first."""
    rows = conn.execute(select(REVOCATIONS.c.key, REVOCATIONS.c.data)).all()
    found = [{**row.data, "serial": row.key} for row in rows
             if isinstance(row.data, dict) and (community is None or row.data.get("community") == community)]
    return sorted(found, key=lambda r: str(r.get("revoked_at") or ""), reverse=True)


# -- worker keys ----------------------------------------------------------------------
def parse_entry(key_id: str, public_key: str) -> tuple[str, str]:
    """(key id, public key) from the form: an id and base64, or the trusted-keys entry
    ``{"ID": {"public_key": …}}`` that ``python -m locker sign server-key`` prints
    pasted into the key field (the id then comes from it)."""
    key_id, public_key = key_id.strip(), public_key.strip()
    if public_key.startswith("{"):
        try:
            entry = json.loads(public_key)
            (found_id, value), = entry.items()
            key_id, public_key = key_id or str(found_id), str(value["public_key"])
        except (ValueError, TypeError, KeyError, AttributeError):
            raise Invalid([("粘贴的内容不是一条信任密钥记录：{\"编号\": {\"public_key\": \"…\"}}",
                            'not a trusted-keys entry: {"ID": {"public_key": "…"}}')]) from None
    return key_id, public_key


def publish_worker_key(conn: Connection, community: str, key_id: str, public_key: str, by: str,
                       note: str = "") -> bool:
    """Publish a key the community's lockers accept worker and booking codes from.
    False when the same key was already published under that id (nothing changes)."""
    key_id, public_key = parse_entry(key_id, public_key)
    problems = []
    if not DEVICE_ID.match(key_id):
        problems.append(("密钥编号只能用小写字母、数字和 -（与云柜配置 [locker] server_key_id 一致）",
                         "a key id is lower-case letters, digits and - (as [locker] server_key_id)"))
    try:
        raw = base64.b64decode(public_key, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        problems.append(("公钥应是 32 字节 Ed25519 公钥的 base64（python -m locker sign server-key 打印的 public_key）",
                         "the public key is base64 of a 32-byte Ed25519 key (public_key as python -m locker sign "
                         "server-key prints it)"))
    note = " ".join(note.split())
    if len(note) > 200:
        problems.append(("备注不能超过 200 字", "the note is at most 200 characters"))
    if problems:
        raise Invalid(problems)
    if device_community(conn, key_id) is not None or is_server_key_id(conn, key_id):
        raise Invalid([(f"{key_id} 是已注册终端或服务器自己的密钥编号，请换一个",
                        f"{key_id} is an enrolled device or the server's own key: choose another id")])
    row = conn.execute(select(WORKER_KEYS.c.community, WORKER_KEYS.c.data)
                       .where(WORKER_KEYS.c.key == key_id)).first()
    encoded = base64.b64encode(raw).decode("ascii")
    if row is not None:
        if row.community != community:
            raise Invalid([(f"密钥编号 {key_id} 已被其他社区使用，请换一个",
                            f"key id {key_id} belongs to another community: choose another")])
        if row.data.get("revoked"):
            raise Invalid([(f"密钥 {key_id} 已作废，不能再次发布；新密钥请用新的编号",
                            f"key {key_id} is revoked and is never published again: give a new key a new id")])
        if row.data.get("public_key") == encoded:
            return False
        raise Invalid([(f"密钥编号 {key_id} 已发布了另一把公钥；先作废它，再用新编号发布",
                        f"key id {key_id} already carries another public key: revoke it and publish under a new id")])
    content.put(conn, "worker_key", key_id, {"public_key": encoded, "revoked": False, "fingerprint": fingerprint(raw),
                                            "community": community, "note": note, "added_by": by,
                                            "added_at": _now()}, community)
    return True


def revoke_worker_key(conn: Connection, key_id: str, by: str, *, community: str | None) -> bool:
    """Mark a worker key revoked (kept and published, so every locker refuses it)."""
    row = conn.execute(select(WORKER_KEYS.c.community, WORKER_KEYS.c.data).where(WORKER_KEYS.c.key == key_id)).first()
    if row is None or (community is not None and row.community != community) or row.data.get("revoked"):
        return False
    content.put(conn, "worker_key", key_id, {**row.data, "revoked": True, "revoked_by": by, "revoked_at": _now()},
                row.community)
    return True


def is_worker_key_id(conn: Connection, key_id: str) -> bool:
    """Whether ``key_id`` names a worker key: no device may enrol under it (its device
    key would stand in for the worker key in the lockers' trusted keys)."""
    return conn.execute(select(WORKER_KEYS.c.key).where(WORKER_KEYS.c.key == key_id)).first() is not None


def worker_keys(conn: Connection, community: str | None) -> list[dict[str, Any]]:
    query = select(WORKER_KEYS.c.key, WORKER_KEYS.c.data).order_by(WORKER_KEYS.c.key)
    if community is not None:
        query = query.where(WORKER_KEYS.c.community == community)
    return [{**row.data, "key_id": row.key} for row in conn.execute(query)]
