"""The queue, first-to-answer, decline and no-answer, with real consoles in Chromium
and aiortc kiosks, on the real server process."""
from __future__ import annotations

import requests
from sqlalchemy import select

from kiosk.call import CallbackRefused, CallState
from tests.sync.server.video.support import CONTEXT, enrol, open_console, prepare, wait_for


def read_case(site, case_id):
    from sync.server import db
    from sync.server.models import Case, EventRow

    engine = db.create(site.server.database_url)
    try:
        with engine.connect() as conn:
            case = conn.execute(select(Case.__table__).where(Case.__table__.c.id == case_id)).one()
            event = conn.execute(select(EventRow.__table__).where(EventRow.__table__.c.aggregate_id == case_id)).one()
            return case, event
    finally:
        engine.dispose()


def test_queue_positions_and_the_first_to_answer_takes_the_call(live_server, staff_page, kiosk_loop, kiosks, artifacts):
    site = prepare(live_server, {"wang": "social_security", "li": "social_security", "zhao": "civil_affairs"})
    wang, li = open_console(staff_page, site, "wang"), open_console(staff_page, site, "li")
    other = open_console(staff_page, site, "zhao")  # another department never sees these calls
    first = kiosks(site)
    second = kiosks(site, enrol(site.server))  # a second kiosk
    kiosk_loop.run(first.start("social_security", CONTEXT))
    kiosk_loop.run(second.start("social_security", {"name": "李四"}))
    assert (first.position, second.position) == (1, 2)

    for page in (wang, li):  # every online staff member of the department rings
        page.wait_for_function("document.querySelectorAll('#queue li.ringing').length === 2")
    assert other.locator("#queue li").count() == 0
    wang.screenshot(path=str(artifacts / "two-waiting.png"), full_page=True)

    wang.locator("#queue li").first.locator("[data-action=take]").click()
    wait_for(lambda: first.state == CallState.IN_CALL, 10, what="the first kiosk in the call")
    # the colleague stops ringing for the taken call; the second resident moves up
    li.wait_for_function("document.querySelectorAll('#queue li').length === 1")
    wait_for(lambda: second.position == 1, 15, what="the second kiosk's new position")
    assert second.state == CallState.QUEUED
    assert "李*" in li.inner_text("#queue li")
    # the colleague in a call shows busy to the others
    li.wait_for_function("document.getElementById('staff').innerText.includes('忙碌')")

    # li answers the second; wang, in a call, is not rung
    assert wang.locator("#queue li.ringing").count() == 0
    li.locator("#queue li [data-action=take]").click()
    wait_for(lambda: second.state == CallState.IN_CALL, 10, what="the second kiosk in the call")
    kiosk_loop.run(first.hang_up())
    kiosk_loop.run(second.hang_up())
    wang.locator("#after").wait_for()


def test_declined_then_a_call_back_becomes_a_case(live_server, staff_page, kiosk_loop, kiosks, artifacts):
    site = prepare(live_server, {"wang": "veterans"})
    page = open_console(staff_page, site, "wang")
    session = kiosks(site)
    kiosk_loop.run(session.start("veterans", CONTEXT))
    page.locator("#queue li.ringing [data-action=decline]").click()
    wait_for(lambda: session.state == CallState.DECLINED, 15, what="the kiosk told of the decline")
    page.wait_for_function("document.querySelectorAll('#queue li').length === 0")

    try:
        kiosk_loop.run(session.request_callback("12345"))
        raise AssertionError("a five-digit number was taken")
    except CallbackRefused as exc:
        assert "11位手机号" in exc.resident
    assert session.state == CallState.DECLINED  # nothing lost: the resident types again
    case_id = kiosk_loop.run(session.request_callback("138 0013 8000"))
    assert session.state == CallState.CALLBACK_SENT
    case, event = read_case(site, case_id)
    assert case.state == "created" and event.event_type == "created"
    assert event.payload["kind"] == "callback" and event.payload["phone"] == "13800138000"
    assert event.payload["department"] == "veterans" and event.payload["context"]["id_number"] == "1101**********0021"


def test_no_answer_in_time_offers_a_call_back(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "legal_aid"}, answer_timeout=5)
    page = open_console(staff_page, site, "wang")  # online, but does not answer
    session = kiosks(site)
    kiosk_loop.run(session.start("legal_aid", CONTEXT))
    page.locator("#queue li.ringing").wait_for()
    wait_for(lambda: session.state == CallState.UNANSWERED, 20, what="no answer in 5 s")
    assert session.in_call_s == 0
    page.wait_for_function("document.querySelectorAll('#queue li').length === 0")  # stopped ringing
    case_id = kiosk_loop.run(session.request_callback("02087654321"))
    case, event = read_case(site, case_id)
    assert event.payload["phone"] == "02087654321" and case.state == "created"


def test_a_staff_member_away_is_not_rung(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "family_planning"})
    page = open_console(staff_page, site, "wang")
    page.click("[data-presence=away]")
    page.wait_for_function("document.querySelector('[data-presence=away]').getAttribute('aria-pressed') === 'true'")
    session = kiosks(site)
    kiosk_loop.run(session.start("family_planning", CONTEXT))
    page.locator("#queue li").wait_for()
    assert page.locator("#queue li.ringing").count() == 0  # listed, not ringing
    assert session.staff_online == 0 or wait_for(lambda: session.staff_online == 0, 3)
    departments = kiosk_loop.run(session.api.departments())
    assert {d["key"]: d["staff_online"] for d in departments}["family_planning"] == 0
    page.click("[data-presence=online]")
    page.locator("#queue li.ringing").wait_for()
    kiosk_loop.run(session.hang_up())
    page.wait_for_function("document.querySelectorAll('#queue li').length === 0")


def test_unknown_department_and_unsigned_requests_are_refused(live_server, kiosk_loop, kiosks):
    from kiosk.call import CallUnavailable

    site = prepare(live_server, {})
    session = kiosks(site)
    try:
        kiosk_loop.run(session.start("tax_office", {}))
        raise AssertionError("an unknown department was called")
    except CallUnavailable as exc:
        assert "窗口" in exc.resident and "tax_office" in exc.detail
    assert session.state == CallState.FAILED
    assert requests.post(f"{site.url}/api/v1/video/calls", json={"department": "veterans"}, timeout=5).status_code == 401
