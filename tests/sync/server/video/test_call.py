"""A whole call on loopback: headless Chromium (fake camera and microphone) as the
staff console, aiortc as the kiosk, the real server process for signaling."""
from __future__ import annotations

from sqlalchemy import select

from kiosk.call import CallState
from tests.sync.server.video.support import CONTEXT, open_console, prepare, wait_for


def test_a_call_carries_video_and_audio_both_ways(live_server, staff_page, kiosk_loop, kiosks, artifacts):
    site = prepare(live_server, {"wang": "civil_affairs"})
    page = open_console(staff_page, site, "wang")
    session = kiosks(site)
    kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    assert session.state == CallState.QUEUED and session.position == 1

    ringing = page.locator("#queue li.ringing")
    ringing.wait_for()
    text = ringing.inner_text()
    assert "张**" in text and "1101**********0021" in text and "110105194912310021" not in text
    page.screenshot(path=str(artifacts / "ringing.png"), full_page=True)
    ringing.locator("[data-action=take]").click()

    wait_for(lambda: session.state == CallState.IN_CALL, 10, what="the kiosk in the call")
    wait_for(lambda: session.frames["video"] > 10 and session.frames["audio"] > 10, 10, what="frames at the kiosk")
    stats = wait_for(lambda: (s := page.evaluate("window.videoConsole.stats()")) and s["video_frames"] > 10
                     and s["audio_packets"] > 10 and s, 10, what="frames in the browser")
    assert stats["video_sent"] > 0 and stats["audio_sent"] > 0
    assert session.latest_video.width > 0
    page.fill("#call-note", "居民咨询低保，材料齐全")
    page.wait_for_timeout(500)  # a picture in both videos for the screenshot
    page.screenshot(path=str(artifacts / "in-call.png"), full_page=True)

    kiosk_loop.run(session.hang_up())
    page.locator("#after").wait_for()
    assert "居民挂断" in page.inner_text("#after-reason")
    page.fill("#follow-up", "请网格员上门核实家庭收入")
    page.click("#save-note")
    page.wait_for_function("document.getElementById('saved').textContent.includes('VF-')")
    page.screenshot(path=str(artifacts / "after-call.png"), full_page=True)
    page.goto(f"{site.url}/staff?lang=en")
    page.wait_for_function("document.getElementById('link').classList.contains('ok')")
    assert "Incoming calls" in page.inner_text("#incoming") and "Wang 老师" in page.inner_text("#staff")
    page.screenshot(path=str(artifacts / "console-en.png"), full_page=True)

    from sync.server import db
    engine = db.create(site.server.database_url)
    try:
        with engine.connect() as conn:
            from sync.server.models import Case, EventRow
            from sync.server.video.models import VideoCall
            call = conn.execute(select(VideoCall.__table__)).one()
            assert call.state == "ended" and call.end_reason == "kiosk_hangup" and "低保" in call.note
            events = conn.execute(select(EventRow.__table__).where(EventRow.__table__.c.event_type == "video_call")).all()
            assert len(events) == 1
            record = events[0]
            assert record.aggregate_type == "resident" and record.aggregate_id == "household-0042"
            assert record.payload["department"] == "civil_affairs" and record.payload["staff"] == "Wang 老师"
            assert record.payload["duration_s"] > 0 and record.payload["started_at"]
            case = conn.execute(select(Case.__table__).where(Case.__table__.c.id == call.case_id)).one()
            assert case.state == "created" and case.community == call.community
    finally:
        engine.dispose()
