"""The worker console in-process: her lockers, a case's actions as lifecycle
transitions recorded as events, reconciliation with the locker's own collection,
notifications to the resident, the grid boundary."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from sync.server.models import Case, EventRow
from sync.server.notify.models import Notification
from tests.sync.server.worker.conftest import PHONE, csrf_of, deposit_case

EVENTS, CASES, NOTES = EventRow.__table__, Case.__table__, Notification.__table__


def state(engine, case_id):
    with engine.connect() as conn:
        return conn.execute(select(CASES.c.state).where(CASES.c.id == case_id)).scalar_one()


def act(client, case_id, action, **form):
    csrf = csrf_of(client, f"/worker/cases/{case_id}")
    return client.post(f"/worker/cases/{case_id}/act", data={"action": action, "csrf": csrf, **form},
                       follow_redirects=False)


def test_her_lockers_show_what_waits_and_her_cases_move_through_review(client, engine, locker, household, staff):
    case_id = deposit_case(locker, household)
    wang = staff("wang")
    home = wang.get("/worker")
    assert home.status_code == 200
    assert "幸福里 1 号柜" in home.text and case_id in home.text and "待取件" in home.text

    page = wang.get(f"/worker/cases/{case_id}")
    assert "张*明" in page.text and "1101**********0033" in page.text and "138****8000" in page.text
    assert "张晓明" not in page.text and "110101198503120033" not in page.text and PHONE not in page.text
    assert "身份证复印件" in page.text and "确认已取件" in page.text

    assert act(wang, case_id, "collect").status_code == 303
    assert state(engine, case_id) == "collected"
    assert act(wang, case_id, "review").status_code == 303
    refused = act(wang, case_id, "return", reasons="  \n")
    assert refused.status_code == 303 and state(engine, case_id) == "in_review"  # no reason: nothing done
    assert act(wang, case_id, "return", reasons="缺少户口本原件\n照片不清晰").status_code == 303
    assert state(engine, case_id) == "returned_with_reasons"

    again = act(wang, case_id, "approve")  # not allowed from returned_with_reasons: refused with the state
    assert again.status_code == 409 and "已退回" in again.text
    with engine.connect() as conn:
        rows = conn.execute(select(EVENTS.c.event_type, EVENTS.c.device_id, EVENTS.c.payload, EVENTS.c.case_state)
                            .where(EVENTS.c.aggregate_id == case_id).order_by(EVENTS.c.server_seq)).all()
    assert [r.event_type for r in rows] == ["created", "materials_deposited", "collected", "in_review",
                                            "returned_with_reasons"]
    assert {r.device_id for r in rows[2:]} == {"console:wang"}
    assert rows[-1].payload["reasons"] == ["缺少户口本原件", "照片不清晰"]

    deposit = wang.get(f"/worker/cases/{case_id}/deposit")
    assert "幸福里 1 号柜" in deposit.text and "<svg" in deposit.text and case_id in deposit.text


def test_the_lockers_late_collected_is_reconciled_not_doubled(client, engine, locker, household, staff):
    case_id = deposit_case(locker, household)
    wang = staff("wang")
    act(wang, case_id, "collect")
    act(wang, case_id, "review")
    late = locker.push(case_id, "collected", door=7, worker="wang")  # the locker was offline
    assert late["status"] == "applied" and late["reason"].startswith("reconciled")
    assert late["case_state"] == "in_review" and state(engine, case_id) == "in_review"
    again = locker.push(case_id, "collected", door=7, worker="wang")  # a second, different one is no console's
    assert again["status"] == "applied"  # still the same fact: reconciled again, state untouched
    assert state(engine, case_id) == "in_review"


def test_collect_after_the_locker_recorded_it_is_refused_with_the_state(client, engine, locker, household, staff):
    case_id = deposit_case(locker, household)
    assert locker.push(case_id, "collected", door=7, worker="wang")["status"] == "applied"
    wang = staff("wang")
    refused = act(wang, case_id, "collect")
    assert refused.status_code == 409 and "已取件" in refused.text and "无需重复" in refused.text
    with engine.connect() as conn:
        collected = conn.execute(select(EVENTS.c.id).where(EVENTS.c.aggregate_id == case_id,
                                                           EVENTS.c.event_type == "collected")).all()
    assert len(collected) == 1


def test_pickup_code_and_rating_link_reach_the_resident(client, engine, locker, household, staff):
    case_id = deposit_case(locker, household)
    wang = staff("wang")
    for action in ("collect", "review", "approve"):
        act(wang, case_id, action)
    assert locker.push(case_id, "result_deposited", door=3, worker="wang")["case_state"] == "result_deposited"
    locker.push(case_id, "pickup_code_issued", door=3, expires_at=1795000000, code="LKR1.P.x.y", short="12345678")
    with engine.connect() as conn:
        (note,) = conn.execute(select(NOTES).where(NOTES.c.case_id == case_id)).all()
    assert (note.kind, note.phone, note.state) == ("pickup_ready", PHONE, "pending")
    assert "12345678" in note.text and "幸福里 1 号柜" in note.text and "3 号门" in note.text

    assert locker.push(case_id, "picked_up", door=3)["status"] == "applied"
    with engine.connect() as conn:
        notes = conn.execute(select(NOTES).where(NOTES.c.case_id == case_id).order_by(NOTES.c.id)).all()
    assert [n.kind for n in notes] == ["pickup_ready", "rate_service"]
    assert "https://server.example/rate/" in notes[1].text
    page = wang.get(f"/worker/cases/{case_id}")
    assert "12345678" not in page.text  # a bearer code: never on a page
    assert "取件码 ••••••••" in page.text and "/rate/…" in page.text  # the messages, their secrets hidden


def test_contact_the_resident_queues_a_message(client, engine, locker, household, staff):
    case_id = deposit_case(locker, household)
    wang = staff("wang", name="王芳")
    csrf = csrf_of(wang, f"/worker/cases/{case_id}")
    sent = wang.post(f"/worker/cases/{case_id}/contact", data={"csrf": csrf, "message": "请明天上午带户口本原件来社区"},
                     follow_redirects=False)
    assert sent.status_code == 303
    with engine.connect() as conn:
        (note,) = conn.execute(select(NOTES).where(NOTES.c.case_id == case_id)).all()
    assert note.kind == "contact" and note.created_by == "wang" and note.text.endswith("请明天上午带户口本原件来社区")
    assert "网格员王芳" in note.text
    no_csrf = wang.post(f"/worker/cases/{case_id}/contact", data={"message": "x"}, follow_redirects=False)
    assert no_csrf.status_code == 403


def test_a_worker_sees_only_her_grid(client, engine, locker, household, staff):
    case_id = deposit_case(locker, household)
    other = staff("zhao", grid="二网格")
    assert case_id not in other.get("/worker").text
    assert other.get(f"/worker/cases/{case_id}").status_code == 404
    assert other.get(f"/worker/lockers/{locker.device_id}/qr").status_code == 404
    assert act(other, case_id, "collect").status_code in (403, 404)
    assert state(engine, case_id) == "materials_deposited"
    admin = staff("li", role="admin")
    assert admin.get("/worker").status_code == 403  # the console is the worker's


def test_worker_qr_is_signed_by_the_server_for_that_locker(client, engine, locker, staff, app):
    import re

    from appliance.keys import TrustedKeys
    from locker import codes
    from sync.server import keys

    wang = staff("wang")
    page = wang.get(f"/worker/lockers/{locker.device_id}/qr")
    assert page.status_code == 200 and "<svg" in page.text
    assert re.search(r"<path d=\"M", page.text)
    # the same code the page shows, decoded from its text in a second request would differ (nonce): check the
    # issuing path instead through codes.check against the server key
    with engine.begin() as conn:
        from sync.server.codes import issue_worker_code
        text = issue_worker_code(conn, "wang", [locker.device_id], 15)
        public = keys.public_keys(conn)
    trusted = TrustedKeys.parse(__import__("json").dumps(public))
    code = codes.check(text, trusted, locker_id=locker.device_id, server_key_id="server", worker_max_minutes=30)
    assert code.worker == "wang" and code.lockers == [locker.device_id]


def test_the_admin_sees_the_communitys_notifications_and_reads_cases(client, engine, locker, household, staff):
    with_phone = deposit_case(locker, household)
    no_phone = "case-no-phone"
    locker.push(no_phone, "created", item="居住证明")  # no household: nobody to text
    locker.push(no_phone, "materials_deposited", door=5)
    wang = staff("wang")
    for case_id in (with_phone, no_phone):
        csrf = csrf_of(wang, f"/worker/cases/{case_id}")
        wang.post(f"/worker/cases/{case_id}/contact", data={"csrf": csrf, "message": "请来社区服务站"})
    admin = staff("li", role="admin")
    page = admin.get("/worker/notifications")
    assert page.status_code == 200
    assert "138****8000" in page.text and PHONE not in page.text
    assert "no phone number" in page.text or "household record" in page.text
    failed = admin.get("/worker/notifications?state=failed")
    assert no_phone in failed.text and with_phone not in failed.text
    read = admin.get(f"/worker/cases/{no_phone}")
    assert read.status_code == 200 and "确认已取件" not in read.text  # an admin reads, the worker acts
    assert wang.get("/worker/notifications").status_code == 403
