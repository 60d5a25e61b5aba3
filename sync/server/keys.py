"""The server's own Ed25519 signing key: worker and booking codes (sync.server.codes).

Where it lives — the decision
-----------------------------
In the database, table ``server_keys`` (PKCS#8 PEM, one row per key id). Several
server processes on several machines serve one PostgreSQL database and must sign
with the same key, and the database is the one thing they share; a file under one
machine's data folder would be a second thing to copy and keep in step. It is not
encrypted at rest: whoever can read the server's database can sign codes, so the
database's credentials and backups are to be guarded like the key itself. It is
never in the repository, never logged, and only its public half leaves the server.

The key is created the first time a server starts (:func:`ensure`, called by
:func:`sync.server.app.create_app`; ``python -m sync.server worker-code`` too): two
processes starting at once race on the primary key, and both end up with the
winner's key. Creating it publishes its public half in the change feed as a
``device_key`` record under its id (``server`` unless ``--server-key-id`` /
``$SYNC_SERVER_KEY_ID`` says otherwise; it must match the appliances'
``[locker] server_key_id``), so the sync agents write it into
``DATA_DIR/trusted-keys.json``; ``GET /api/v1/keys`` lists it too. No device may
enrol under that id.
"""
from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from appliance.keys import DEVICE_ID, DeviceKey, encode_public_key
from sync.server.content import append_change, now
from sync.server.models import Device, ServerKey

DEFAULT_KEY_ID = "server"
ENV_KEY_ID = "SYNC_SERVER_KEY_ID"
KEYS = ServerKey.__table__


class ServerKeyError(Exception):
    pass


def ensure(conn: Connection, key_id: str = DEFAULT_KEY_ID) -> DeviceKey:
    """The server's key ``key_id``, created and published if it has none yet."""
    if not DEVICE_ID.match(key_id):
        raise ServerKeyError(f"server key id {key_id!r}: lower-case letters, digits and '-' "
                             "(as [locker] server_key_id)")
    key = load(conn, key_id)
    if key is not None:
        return key
    devices = Device.__table__
    if conn.execute(select(devices.c.device_id).where(devices.c.device_id == key_id)).first() is not None:
        raise ServerKeyError(f"a device is enrolled as {key_id!r}, the server key id: choose another "
                             f"(--server-key-id, and [locker] server_key_id on the appliances to match)")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = encode_public_key(private.public_key().public_bytes(serialization.Encoding.Raw,
                                                                 serialization.PublicFormat.Raw))
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(KEYS)
    won = conn.execute(insert.values(key_id=key_id, private_key=pem, public_key=public, created_at=now())
                       .on_conflict_do_nothing().returning(KEYS.c.key_id)).first()
    if won is not None:
        append_change(conn, "device_key", key_id, {"public_key": public, "revoked": False, "community": None},
                      None)
    key = load(conn, key_id)
    assert key is not None
    return key


def load(conn: Connection, key_id: str = DEFAULT_KEY_ID) -> DeviceKey | None:
    row = conn.execute(select(KEYS.c.private_key).where(KEYS.c.key_id == key_id)).first()
    if row is None:
        return None
    private = serialization.load_pem_private_key(row.private_key.encode("ascii"), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ServerKeyError(f"server key {key_id!r} in the database is not an Ed25519 key")
    return DeviceKey(key_id, private)


def is_server_key_id(conn: Connection, key_id: str) -> bool:
    return conn.execute(select(KEYS.c.key_id).where(KEYS.c.key_id == key_id)).first() is not None


def public_keys(conn: Connection) -> dict[str, dict[str, object]]:
    """Every server key as trusted-keys entries."""
    return {r.key_id: {"public_key": r.public_key, "revoked": False}
            for r in conn.execute(select(KEYS.c.key_id, KEYS.c.public_key).order_by(KEYS.c.key_id))}
