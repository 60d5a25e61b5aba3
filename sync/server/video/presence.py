"""Staff presence: what each staff member chose (online, busy, away) and whether a
console of theirs is connected (``seen_at``, refreshed by the process holding the
console's WebSocket every few seconds, cleared when it closes). A staff member is
rung only when online by choice, connected, and not in a call."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, and_, column, exists, select, table, update
from sqlalchemy.dialects import postgresql, sqlite

from sync.server.content import aware, now
from sync.server.video.models import CallDecline, StaffPresence, VideoCall

PRESENCE = StaffPresence.__table__
CALLS = VideoCall.__table__
STATUSES = ("online", "busy", "away")
STALE = timedelta(seconds=15)  # a console not seen for this long is offline
# the accounts table (migration 0003), read only: who is staff of which department
ACCOUNTS = table("accounts", column("id"), column("username"), column("name"), column("role"),
                 column("department"), column("disabled_at"))


def set_status(conn: Connection, account_id: int, status: str, *, seen: bool = True) -> None:
    if status not in STATUSES:
        raise ValueError(f"presence {status!r}: one of {', '.join(STATUSES)}")
    values = {"status": status, "updated_at": now(), **({"seen_at": now()} if seen else {})}
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(PRESENCE)
    conn.execute(insert.values(account_id=account_id, **({"seen_at": None} | values))
                 .on_conflict_do_update(index_elements=[PRESENCE.c.account_id], set_=values))


def seen(conn: Connection, account_ids: list[int]) -> list[str]:
    """Consoles of these staff are connected (the holding process says so every few
    seconds). Returns the departments of those who were offline until now (a console
    closed elsewhere, a reload that overtook its own close): their consoles must be
    told, or a call already waiting would not ring them."""
    if not account_ids:
        return []
    at = now()
    revived = conn.execute(
        select(ACCOUNTS.c.department).select_from(ACCOUNTS.join(PRESENCE, PRESENCE.c.account_id == ACCOUNTS.c.id))
        .where(PRESENCE.c.account_id.in_(account_ids),
               (PRESENCE.c.seen_at.is_(None)) | (PRESENCE.c.seen_at <= at - STALE))).scalars().all()
    conn.execute(update(PRESENCE).where(PRESENCE.c.account_id.in_(account_ids)).values(seen_at=at))
    return sorted({d for d in revived if d})


def gone(conn: Connection, account_id: int) -> None:
    """A console closed: offline until another console of theirs says it is still there."""
    conn.execute(update(PRESENCE).where(PRESENCE.c.account_id == account_id).values(seen_at=None))


def _in_call():
    return exists().where(CALLS.c.staff_id == ACCOUNTS.c.id, CALLS.c.state == "connected")


def staff(conn: Connection, department: str) -> list[dict]:
    """Every active staff account of the department with its effective presence:
    offline (no console), busy (chosen, or in a call), away or online."""
    cutoff = now() - STALE
    rows = conn.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.name, PRESENCE.c.status, PRESENCE.c.seen_at, _in_call().label("in_call"))
        .select_from(ACCOUNTS.outerjoin(PRESENCE, PRESENCE.c.account_id == ACCOUNTS.c.id))
        .where(ACCOUNTS.c.role == "staff", ACCOUNTS.c.department == department, ACCOUNTS.c.disabled_at.is_(None))
        .order_by(ACCOUNTS.c.name))
    out = []
    for row in rows:
        connected = row.seen_at is not None and aware(row.seen_at) > cutoff
        state = "offline" if not connected else "busy" if row.in_call else (row.status or "away")
        out.append({"id": row.id, "name": row.name, "presence": state})
    return out


def ringable(conn: Connection, department: str, call_id: str | None = None) -> list[int]:
    """Staff to ring for a call of the department: online by choice, connected, not in
    a call, and (for ``call_id``) not having declined it."""
    declines = CallDecline.__table__
    query = (select(ACCOUNTS.c.id)
             .select_from(ACCOUNTS.join(PRESENCE, PRESENCE.c.account_id == ACCOUNTS.c.id))
             .where(ACCOUNTS.c.role == "staff", ACCOUNTS.c.department == department,
                    ACCOUNTS.c.disabled_at.is_(None), PRESENCE.c.status == "online",
                    PRESENCE.c.seen_at > now() - STALE, ~_in_call()))
    if call_id is not None:
        query = query.where(~exists().where(and_(declines.c.call_id == call_id,
                                                 declines.c.account_id == ACCOUNTS.c.id)))
    return [r.id for r in conn.execute(query)]


def status_of(conn: Connection, account_id: int) -> str:
    row = conn.execute(select(PRESENCE.c.status).where(PRESENCE.c.account_id == account_id)).first()
    return row.status if row else "away"
