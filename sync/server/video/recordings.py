"""Recorded calls: only a department set to record (``department add --recording``),
and only after the kiosk said so on screen and the resident agreed to go on.

The staff console records what it shows and hears (the kiosk's picture, the two
voices mixed) with the browser's MediaRecorder as WebM and uploads a piece every
few seconds (``POST /staff/calls/{id}/recording/{seq}``), so a console closed mid-call
loses seconds, not the call. Pieces land in the database, so every server process
and machine serves them; ``GET /staff/calls/{id}/recording`` joins them for the
department's staff and the call's community admins, and the list is at
``/staff/recordings``. A recording is deleted ``SYNC_RECORDING_DAYS`` (default 90)
after it was made; the phone pages' hourly purge loop runs :func:`purge`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from sync.server.content import aware, now
from sync.server.video import calls
from sync.server.video.errors import BadRecording, CallNotFound, NotRecorded, RecordingConfigError
from sync.server.video.models import RecordingChunk, VideoCall

CHUNKS = RecordingChunk.__table__
CALLS = VideoCall.__table__
MAX_CHUNK_BYTES = 8 * 1024 * 1024  # a 2 s piece of 640×480 WebM is ~0.1–0.5 MB
MAX_SEQ = 100_000
UPLOAD_GRACE = timedelta(minutes=10)  # the last pieces arrive after the hang-up
DEFAULT_DAYS = 90
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"  # EBML: the first piece of a WebM file starts with it


def retention() -> timedelta:
    """``SYNC_RECORDING_DAYS`` (a whole number of days, at least 1)."""
    raw = os.environ.get("SYNC_RECORDING_DAYS", str(DEFAULT_DAYS)).strip()
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if days < 1:
        raise RecordingConfigError(f"SYNC_RECORDING_DAYS={raw!r}: a whole number of days, at least 1 "
                         f"(how long recorded calls are kept; default {DEFAULT_DAYS})")
    return timedelta(days=days)


def store(conn: Connection, call_id: str, staff: calls.Staff, seq: int, data: bytes,
          at: datetime | None = None) -> bool:
    """Keep piece ``seq`` of the call ``staff`` is (or was just) in. True when it is
    new, False when the same piece came again (a retried upload); a different piece
    under a known ``seq`` is refused."""
    at = at or now()
    call = calls.get(conn, call_id)
    if staff is None or call.staff_id != staff.id:
        raise CallNotFound(f"no call {call_id} of yours")
    if not call.recording:
        raise NotRecorded("这个部门的通话不录音录像，未保存 / this department's calls are not recorded: nothing kept")
    if call.answered_at is None:
        raise NotRecorded("通话尚未接通，不能录制 / the call was never answered: nothing to record")
    if call.ended_at is not None and aware(call.ended_at) + UPLOAD_GRACE < at:
        raise NotRecorded("通话结束已超过 10 分钟，不再接收录像 / the call ended more than 10 minutes ago")
    if not isinstance(seq, int) or not 0 <= seq < MAX_SEQ:
        raise BadRecording(f"录像片段序号 {seq!r} 无效 / piece number {seq!r}: 0 to {MAX_SEQ - 1}")
    if not data:
        raise BadRecording("录像片段为空 / an empty piece")
    if len(data) > MAX_CHUNK_BYTES:
        raise BadRecording(f"录像片段过大（{len(data)} 字节）/ a piece of {len(data)} bytes: at most {MAX_CHUNK_BYTES}")
    if seq == 0 and not data.startswith(WEBM_MAGIC):
        raise BadRecording("录像不是 WebM 格式 / the recording does not start as WebM")
    known = conn.execute(select(CHUNKS.c.data).where(CHUNKS.c.call_id == call_id, CHUNKS.c.seq == seq)).first()
    if known is not None:
        if bytes(known.data) == data:
            return False
        raise BadRecording(f"录像片段 {seq} 已收到且内容不同 / piece {seq} arrived before with other bytes")
    conn.execute(CHUNKS.insert().values(call_id=call_id, seq=seq, data=data, received_at=at))
    return True


@dataclass(frozen=True)
class Recording:
    call_id: str
    department: str
    community: str
    staff_id: int | None
    answered_at: datetime | None
    ended_at: datetime | None
    pieces: int
    size: int
    context: dict


def _visible(account, row) -> bool:
    if account.role == "staff":
        return bool(account.department) and row.department == account.department
    if account.role == "admin":
        return row.community == account.community
    return False


def recordings(conn: Connection, account) -> list[Recording]:
    """The recorded calls this account may play, newest first: staff their
    department's, admins their community's; nobody else any."""
    # the pieces counted per call first: PostgreSQL cannot GROUP BY a json column (context)
    pieces = (select(CHUNKS.c.call_id, func.count().label("pieces"), func.sum(func.length(CHUNKS.c.data)).label("size"))
              .group_by(CHUNKS.c.call_id).subquery())
    rows = conn.execute(
        select(CALLS.c.id, CALLS.c.department, CALLS.c.community, CALLS.c.staff_id, CALLS.c.answered_at,
               CALLS.c.ended_at, CALLS.c.context, pieces.c.pieces, pieces.c.size)
        .join(pieces, pieces.c.call_id == CALLS.c.id)
        .order_by(CALLS.c.answered_at.desc())).all()
    return [Recording(r.id, r.department, r.community, r.staff_id, aware(r.answered_at) if r.answered_at else None,
                      aware(r.ended_at) if r.ended_at else None, int(r.pieces), int(r.size or 0), r.context or {})
            for r in rows if _visible(account, r)]


def joined(conn: Connection, account, call_id: str) -> bytes:
    """The whole recording of ``call_id`` (its pieces in order), for an account that
    may play it; :class:`CallNotFound` otherwise, and when nothing was recorded."""
    call = conn.execute(select(CALLS).where(CALLS.c.id == call_id)).first()
    if call is None or not _visible(account, call):
        raise CallNotFound(f"no recording of call {call_id}")
    pieces = conn.execute(select(CHUNKS.c.data).where(CHUNKS.c.call_id == call_id)
                          .order_by(CHUNKS.c.seq)).scalars().all()
    if not pieces:
        raise CallNotFound(f"no recording of call {call_id}")
    return b"".join(bytes(p) for p in pieces)


def purge(conn: Connection, at: datetime | None = None, keep: timedelta | None = None) -> int:
    """Delete every piece received more than ``keep`` (default: :func:`retention`) ago."""
    cutoff = (at or now()) - (keep or retention())
    return conn.execute(delete(CHUNKS).where(CHUNKS.c.received_at < cutoff)).rowcount
