"""Recorded calls: a department set to record gets the whole call as one WebM file
(the kiosk's picture, the staff's own in a corner, both voices), uploaded in pieces by
the staff console while the call runs; only its department's staff and the
community's admins may play it; a department that does not record keeps nothing;
pieces are idempotent and checked; recordings go after their retention."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kiosk.call import CallState
from sync.server import db
from sync.server.accounts import create_account
from sync.server.content import now
from sync.server.video import recordings
from sync.server.video.calls import Staff
from sync.server.video.errors import BadRecording, CallNotFound, NotRecorded
from sync.server.video.models import Department, RecordingChunk, VideoCall
from tests.browser import sign_in
from tests.sync.server.support import COMMUNITY
from tests.sync.server.video.support import CONTEXT, PASSWORD, open_console, prepare, wait_for

CHUNKS = RecordingChunk.__table__


def records(site, department: str) -> None:
    engine = db.create(site.server.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(Department.__table__).where(Department.__table__.c.key == department)
                         .values(recording=True))
            create_account(conn, username="admin1", password=PASSWORD, name="管理员", role="admin",
                           community=COMMUNITY)
    finally:
        engine.dispose()


def pieces(site) -> list[tuple[str, int, int]]:
    engine = db.create(site.server.database_url)
    try:
        with engine.connect() as conn:
            return [(r.call_id, r.seq, len(r.data)) for r in conn.execute(select(CHUNKS).order_by(CHUNKS.c.seq))]
    finally:
        engine.dispose()


def frames_in(webm: bytes, folder) -> tuple[int, int]:
    """(frames, width) of the recording's video, decoded by OpenCV's FFmpeg."""
    import cv2

    path = folder / "call.webm"
    path.write_bytes(webm)  # a synthetic test picture, not a resident's
    capture = cv2.VideoCapture(str(path))
    try:
        count, width = 0, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        while capture.read()[0]:
            count += 1
        return count, width
    finally:
        capture.release()
        path.unlink()


def test_a_recorded_call_is_kept_whole_and_only_for_its_department(live_server, staff_page, kiosk_loop, kiosks,
                                                                    tmp_path, artifacts):
    site = prepare(live_server, {"wang": "civil_affairs", "zhao": "social_security"})
    records(site, "civil_affairs")
    page = open_console(staff_page, site, "wang")
    session = kiosks(site)
    kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    page.locator("#queue li.ringing [data-action=take]").click()
    wait_for(lambda: session.state == CallState.IN_CALL, 20, what="the call")
    assert page.locator("#recording").is_visible()  # the console says so, as the kiosk did before
    page.wait_for_function("window.videoConsole.recorded().pieces >= 2", timeout=30_000)
    kiosk_loop.run(session.hang_up())
    page.locator("#after").wait_for()
    # the recorder stopped (its last piece handed over) and every piece is acknowledged
    page.wait_for_function("(r => r.stopped === 1 && r.pending === 0)(window.videoConsole.recorded())")
    outcome = page.evaluate("window.videoConsole.recorded()")
    assert outcome["failed"] == 0 and outcome["refused"] == 0
    stored = pieces(site)
    assert {call for call, _, _ in stored} == {session.call_id}
    assert [seq for _, seq, _ in stored] == list(range(len(stored))) and len(stored) >= 2

    answer = page.request.get(f"{site.url}/staff/calls/{session.call_id}/recording")
    assert answer.status == 200 and answer.headers["cache-control"] == "no-store"
    webm = answer.body()
    assert webm.startswith(recordings.WEBM_MAGIC) and len(webm) == sum(size for _, _, size in stored)
    assert b"V_VP8" in webm[:4096] and b"A_OPUS" in webm[:4096]  # a picture and a voice track
    frames, width = frames_in(webm, tmp_path)
    assert frames >= 15 and width == 640, (frames, width)

    page.goto(f"{site.url}/staff/recordings")
    row = page.locator("#recordings tbody tr").first
    assert "张*" in row.inner_text() and "民政" in row.inner_text() and "张三丰" not in page.content()
    page.screenshot(path=str(artifacts / "recordings.png"), full_page=True)

    other = staff_page()  # another department's staff: as if the call did not exist
    sign_in(other, site.server, "zhao", PASSWORD)
    assert other.request.get(f"{site.url}/staff/calls/{session.call_id}/recording").status == 404
    other.goto(f"{site.url}/staff/recordings")
    assert session.call_id not in other.content() and "暂无录像" in other.inner_text("#recordings")
    admin = staff_page()  # the community's admin may play it
    sign_in(admin, site.server, "admin1", PASSWORD)
    assert admin.request.get(f"{site.url}/staff/calls/{session.call_id}/recording").body() == webm


def test_a_department_that_does_not_record_keeps_nothing(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "civil_affairs"})
    page = open_console(staff_page, site, "wang")
    session = kiosks(site)
    kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    page.locator("#queue li.ringing [data-action=take]").click()
    wait_for(lambda: session.state == CallState.IN_CALL and session.frames["video"] > 5, 20, what="the call")
    assert not page.locator("#recording").is_visible()
    assert page.evaluate("window.videoConsole.recorded()")["recording"] is False
    csrf = page.locator("#console").get_attribute("data-csrf")
    forced = page.request.post(f"{site.url}/staff/calls/{session.call_id}/recording/0",
                               data=recordings.WEBM_MAGIC + b"\x00" * 64,
                               headers={"Content-Type": "video/webm", "X-CSRF-Token": csrf})
    assert forced.status == 409 and "不录音录像" in forced.text()
    no_csrf = page.request.post(f"{site.url}/staff/calls/{session.call_id}/recording/0",
                                data=recordings.WEBM_MAGIC, headers={"Content-Type": "video/webm"})
    assert no_csrf.status == 403
    kiosk_loop.run(session.hang_up())
    assert pieces(site) == []


@pytest.fixture
def engine(tmp_path):
    from sync.server import migrations

    engine = db.create(f"sqlite:///{tmp_path / 'server.db'}")
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def a_call(conn, *, recording=True, answered=True, ended=None, staff_id=7) -> str:
    from sync.server.video import departments

    departments.add(conn, "civil_affairs", "民政", "Civil affairs", recording=recording)
    at = now()
    conn.execute(VideoCall.__table__.insert().values(
        id="call-1", department="civil_affairs", device_id="kiosk-1", community=COMMUNITY, context={},
        state="ended" if ended else "connected", staff_id=staff_id, generation=1, recording=recording,
        created_at=at, answered_at=at if answered else None, ended_at=ended))
    return "call-1"


WANG = Staff(7, "王", "civil_affairs")
PIECE = recordings.WEBM_MAGIC + b"first piece"


def test_pieces_are_idempotent_and_checked(engine):
    with engine.begin() as conn:
        call = a_call(conn)
        assert recordings.store(conn, call, WANG, 0, PIECE) is True
        assert recordings.store(conn, call, WANG, 0, PIECE) is False  # a retried upload
        with pytest.raises(BadRecording, match="other bytes"):
            recordings.store(conn, call, WANG, 0, PIECE + b"!")
        assert recordings.store(conn, call, WANG, 1, b"second") is True
        for seq, data, why in ((2, b"", "empty"), (-1, b"x", "piece number"),
                               (3, b"x" * (recordings.MAX_CHUNK_BYTES + 1), "at most")):
            with pytest.raises(BadRecording, match=why):
                recordings.store(conn, call, WANG, seq, data)
        with pytest.raises(CallNotFound):
            recordings.store(conn, call, Staff(8, "李", "civil_affairs"), 2, b"x")  # not her call
        assert conn.execute(select(CHUNKS.c.seq)).scalars().all() == [0, 1]


def test_the_first_piece_must_be_webm_and_a_call_must_have_been_answered(engine):
    with engine.begin() as conn:
        call = a_call(conn, answered=False)
        with pytest.raises(NotRecorded, match="never answered"):
            recordings.store(conn, call, WANG, 0, PIECE)
        conn.execute(update(VideoCall.__table__).values(answered_at=now()))
        with pytest.raises(BadRecording, match="WebM"):
            recordings.store(conn, call, WANG, 0, b"GIF89a")


def test_late_pieces_are_refused_and_old_recordings_purged(engine, monkeypatch):
    with engine.begin() as conn:
        call = a_call(conn, ended=now() - recordings.UPLOAD_GRACE - timedelta(seconds=1))
        with pytest.raises(NotRecorded, match="10 minutes"):
            recordings.store(conn, call, WANG, 0, PIECE)
        conn.execute(update(VideoCall.__table__).values(ended_at=now()))
        recordings.store(conn, call, WANG, 0, PIECE)
        monkeypatch.setenv("SYNC_RECORDING_DAYS", "30")
        assert recordings.purge(conn, at=now() + timedelta(days=29)) == 0
        assert recordings.purge(conn, at=now() + timedelta(days=31)) == 1


def test_a_wrong_retention_stops_the_server_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from tests.support import ROOT

    env = {**os.environ, "SYNC_RECORDING_DAYS": "forever"}
    done = subprocess.run([sys.executable, "-m", "sync.server", "--database", f"sqlite:///{tmp_path / 's.db'}",
                           "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "SYNC_RECORDING_DAYS='forever'" in done.stderr
    assert "Traceback" not in done.stderr
