"""Presence that heals: a staff member marked offline while her console is still
connected (another process's console closing, or a reload whose new socket
overtook the old one's close) is seen again within seconds, and a call already
waiting then rings her console."""
from __future__ import annotations

from sqlalchemy import update

from kiosk.call import CallState
from sync.server import db
from sync.server.video.models import StaffPresence
from tests.sync.server.video.support import CONTEXT, open_console, prepare


def test_a_console_marked_gone_while_connected_rings_again(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "civil_affairs"})
    page = open_console(staff_page, site, "wang")
    engine = db.create(site.server.database_url)
    try:
        with engine.begin() as conn:  # what a close written after the reopen leaves behind
            conn.execute(update(StaffPresence.__table__).values(seen_at=None))
    finally:
        engine.dispose()
    session = kiosks(site)
    kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    assert session.state == CallState.QUEUED
    # the holding process says "seen" every 2 s: she is back, and the waiting call rings
    page.locator("#queue li.ringing").wait_for(timeout=15_000)


def test_reloading_the_console_never_leaves_her_unrung(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "civil_affairs"})
    page = open_console(staff_page, site, "wang")
    for _ in range(5):  # each reload closes one socket as the next one opens
        page.reload()
        page.wait_for_function("document.getElementById('console').dataset.state !== 'offline'")
    session = kiosks(site)
    kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    page.locator("#queue li.ringing").wait_for(timeout=15_000)
