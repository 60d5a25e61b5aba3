"""Dropped connections: each side hears of the other's loss within five seconds, a
short network drop is ridden out, a console that comes back picks the call up again."""
from __future__ import annotations

import time

from kiosk.call import CallState
from tests.sync.server.video.support import CONTEXT, FreezableProxy, open_console, prepare, wait_for

NOTICED_WITHIN_S = 5.0


def in_call(page, session, kiosk_loop, department="civil_affairs"):
    kiosk_loop.run(session.start(department, CONTEXT))
    page.locator("#queue li.ringing [data-action=take]").click()
    wait_for(lambda: session.state == CallState.IN_CALL and session.frames["video"] > 5, 10, what="the call")
    page.wait_for_function("document.getElementById('console').dataset.state === 'in-call'")


def frames_flow(session, seconds=1.0):
    before = session.frames["video"]
    wait_for(lambda: session.frames["video"] > before + 3, 5 + seconds, what="video frames flowing again")


def call_row(site):
    from sqlalchemy import select

    from sync.server import db
    from sync.server.video.models import VideoCall

    engine = db.create(site.server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(VideoCall.__table__)).one()
    finally:
        engine.dispose()


def test_a_console_closed_mid_call_is_noticed_and_can_pick_the_call_up(live_server, staff_page, kiosk_loop, kiosks,
                                                                        artifacts):
    site = prepare(live_server, {"wang": "civil_affairs"})
    page = open_console(staff_page, site, "wang")
    session = kiosks(site)
    in_call(page, session, kiosk_loop)

    context = page.context
    dropped = time.monotonic()
    page.close()  # the browser tab is gone: its socket and its peer connection
    wait_for(lambda: session.peer_lost, NOTICED_WITHIN_S, what="the kiosk hearing the console dropped")
    assert time.monotonic() - dropped < NOTICED_WITHIN_S

    again = context.new_page()  # the staff member opens the console again: same session
    again.goto(f"{site.url}/staff")
    again.wait_for_function("document.getElementById('console').dataset.state === 'in-call'", timeout=15_000)
    assert not session.peer_lost and session.renegotiations >= 1
    frames_flow(session)
    stats = wait_for(lambda: (s := again.evaluate("window.videoConsole.stats()")) and s["video_frames"] > 5 and s,
                     10, what="video in the reopened console")
    assert stats["audio_packets"] > 0
    again.screenshot(path=str(artifacts / "picked-up-again.png"), full_page=True)
    assert call_row(site).state == "connected"


def test_a_short_network_drop_at_the_kiosk_is_ridden_out(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "civil_affairs"})
    proxy = kiosk_loop.run(FreezableProxy(int(site.url.rsplit(":", 1)[1])).start())
    try:
        page = open_console(staff_page, site, "wang")
        session = kiosks(site, url=f"http://127.0.0.1:{proxy.port}")
        in_call(page, session, kiosk_loop)

        proxy.freeze()  # the kiosk's network goes silent: nothing closes, nothing arrives
        frozen = time.monotonic()
        page.locator("#call-problem").wait_for(timeout=NOTICED_WITHIN_S * 1000)
        assert time.monotonic() - frozen < NOTICED_WITHIN_S
        assert "居民端连接中断" in page.inner_text("#call-problem")
        wait_for(lambda: session.state == CallState.RECONNECTING, NOTICED_WITHIN_S, what="the kiosk noticing")

        time.sleep(2)
        proxy.thaw()  # back within the grace period
        wait_for(lambda: session.state == CallState.IN_CALL and session.reconnections >= 1, 10,
                 what="the kiosk back in the call")
        page.locator("#call-problem").wait_for(state="hidden", timeout=10_000)
        frames_flow(session)
        assert call_row(site).state == "connected"
    finally:
        kiosk_loop.run(proxy.stop())


def test_a_kiosk_that_never_comes_back_ends_the_call(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "civil_affairs"})
    proxy = kiosk_loop.run(FreezableProxy(int(site.url.rsplit(":", 1)[1])).start())
    try:
        page = open_console(staff_page, site, "wang")
        session = kiosks(site, url=f"http://127.0.0.1:{proxy.port}", reconnect_s=60)
        in_call(page, session, kiosk_loop)
        proxy.freeze()
        kiosk_loop.loop.call_soon_threadsafe(proxy.cut)  # and the line is cut for good
        page.locator("#call-problem").wait_for(timeout=NOTICED_WITHIN_S * 1000)
        page.locator("#after").wait_for(timeout=20_000)  # the grace period passed
        assert "居民端连接中断" in page.inner_text("#after-reason")
        row = call_row(site)
        assert row.state == "ended" and row.end_reason == "kiosk_lost"
    finally:
        kiosk_loop.run(proxy.stop())
