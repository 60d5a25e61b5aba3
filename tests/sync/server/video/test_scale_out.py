"""Two server processes on one PostgreSQL: a kiosk on one and staff consoles on both
still meet (LISTEN/NOTIFY carries the signals; every state is in the database)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kiosk.call import CallState
from tests.sync.server.support import ServerProcess
from tests.sync.server.video.support import CONTEXT, open_console, prepare, wait_for


@pytest.mark.parametrize("live_server", ["postgresql"], indirect=True)
def test_kiosk_and_staff_on_different_processes_meet(live_server, staff_page, kiosk_loop, kiosks, artifacts):
    site = prepare(live_server, {"wang": "civil_affairs", "li": "civil_affairs"})
    other = ServerProcess(live_server.database_url).start()
    try:
        assert other.url != site.url
        wang = open_console(staff_page, site, "wang")  # on the kiosk's process
        other_site = type(site)(other, site.key, site.staff)
        other_site.server.database_url = live_server.database_url
        li = open_console(staff_page, other_site, "li")  # on the other process
        session = kiosks(site)
        kiosk_loop.run(session.start("civil_affairs", CONTEXT))
        for page in (wang, li):
            page.locator("#queue li.ringing").wait_for()

        li.locator("#queue li.ringing [data-action=take]").click()  # answered across processes
        wait_for(lambda: session.state == CallState.IN_CALL, 10, what="the kiosk in the call")
        wang.wait_for_function("document.querySelectorAll('#queue li').length === 0")  # stopped ringing
        wait_for(lambda: session.frames["video"] > 10 and session.frames["audio"] > 10, 10, what="frames at the kiosk")
        stats = wait_for(lambda: (s := li.evaluate("window.videoConsole.stats()")) and s["video_frames"] > 10
                         and s["audio_packets"] > 10 and s, 10, what="frames in the other process's console")
        assert stats["video_sent"] > 0
        li.screenshot(path=str(artifacts / "call-across-processes.png"), full_page=True)

        li.click("#hangup")  # the hang-up reaches the kiosk through the other process
        wait_for(lambda: session.state == CallState.ENDED, 5, what="the kiosk hearing the hang-up")
        assert session.end_reason == "staff_hangup"
    finally:
        other.stop()

    from sync.server import db
    from sync.server.models import EventRow

    engine = db.create(live_server.database_url)
    try:
        with engine.connect() as conn:  # both processes sweep; the call is recorded once
            events = EventRow.__table__
            count = conn.execute(select(func.count()).select_from(events)
                                 .where(events.c.event_type == "video_call")).scalar_one()
            assert count == 1
    finally:
        engine.dispose()
