"""Rating after pickup: a single-use expiring link (no login) or the kiosk's
``evaluated`` event; statistics per department and worker."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from sync.server.content import now
from sync.server.models import Case
from sync.server.notify.models import Notification
from sync.server.worker.models import Rating, RatingLink
from tests.sync.server.worker.conftest import csrf_of, deposit_case

NOTES, RATINGS, LINKS, CASES = (Notification.__table__, Rating.__table__, RatingLink.__table__, Case.__table__)


def through_pickup(locker, household, staff_client, case_id=None, deposited="2026-11-20T09:00:00+08:00",
                   picked="2026-11-20T15:00:00+08:00"):
    case_id = deposit_case(locker, household, case_id)
    for action in ("collect", "review", "approve"):
        csrf = csrf_of(staff_client, f"/worker/cases/{case_id}")
        staff_client.post(f"/worker/cases/{case_id}/act", data={"action": action, "csrf": csrf})
    assert locker.push(case_id, "result_deposited", at=deposited, door=3, worker="wang")["status"] == "applied"
    assert locker.push(case_id, "picked_up", at=picked, door=3)["status"] == "applied"
    return case_id


def link_of(engine, case_id):
    with engine.connect() as conn:
        text = conn.execute(select(NOTES.c.text).where(NOTES.c.case_id == case_id,
                                                       NOTES.c.kind == "rate_service")).scalar_one()
    return re.search(r"https://server\.example(/rate/[A-Za-z0-9_-]+)", text).group(1)


def test_rate_once_through_the_link(client, engine, locker, household, staff):
    case_id = through_pickup(locker, household, staff("wang"))
    link = link_of(engine, case_id)
    form = client.get(link)
    assert form.status_code == 200 and "请为本次服务打分" in form.text and case_id in form.text

    bad = client.post(link, data={"score": "9", "comment": "x"})
    assert bad.status_code == 422 and "请选择 1 到 5 颗星" in bad.text
    done = client.post(link, data={"score": "4", "comment": "网格员很耐心"})
    assert done.status_code == 200 and "感谢您的评价" in done.text
    with engine.connect() as conn:
        rating = conn.execute(select(RATINGS).where(RATINGS.c.case_id == case_id)).one()
        state = conn.execute(select(CASES.c.state).where(CASES.c.id == case_id)).scalar_one()
    assert (rating.score, rating.comment, rating.source, state) == (4, "网格员很耐心", "link", "evaluated")

    again = client.post(link, data={"score": "1", "comment": "changed my mind"})
    assert again.status_code == 410 and "已经用过" in again.text
    assert client.get(link).status_code == 410
    assert client.get("/rate/not-a-token").status_code == 404


def test_an_expired_link_is_refused(client, engine, locker, household, staff):
    case_id = through_pickup(locker, household, staff("wang"))
    link = link_of(engine, case_id)
    with engine.begin() as conn:
        conn.execute(update(LINKS).values(expires_at=now() - timedelta(minutes=1)))
    refused = client.post(link, data={"score": "5"})
    assert refused.status_code == 410 and "已过期" in refused.text
    with engine.connect() as conn:
        assert conn.execute(select(RATINGS)).first() is None


def test_a_kiosk_rating_and_the_statistics(client, engine, locker, household, staff):
    wang = staff("wang")
    first = through_pickup(locker, household, wang)  # waited 6 h, rated 4 by link
    client.post(link_of(engine, first), data={"score": "4"})
    second = through_pickup(locker, household, wang, deposited="2026-11-20T09:00:00+08:00",
                            picked="2026-11-21T09:00:00+08:00")  # waited 24 h, rated 2 at the kiosk
    assert locker.push(second, "evaluated", score=2, comment="等太久")["status"] == "applied"
    deposit_case(locker, household)  # a third case still waiting: counted, not picked up

    page = wang.get("/worker/stats")
    assert page.status_code == 200
    from sync.server.worker.stats import compute
    with engine.connect() as conn:
        figures = compute(conn, "示范社区")
    (civil,) = figures.departments
    assert (civil.name, civil.cases, civil.picked_up, civil.median_wait_h, civil.rating) == ("民政科", 3, 2, 15.0, 3.0)
    (worker,) = figures.workers
    assert (worker.name, worker.cases, worker.waits_h, worker.rated) == ("wang", 2, [6.0, 24.0], 2)
    assert "民政科" in page.text and "15.0" in page.text and "3.0 / 5" in page.text
    assert "王芳" in page.text  # workers by their display name
    with engine.connect() as conn:
        kiosk = conn.execute(select(RATINGS).where(RATINGS.c.case_id == second)).one()
    assert (kiosk.score, kiosk.source) == (2, "kiosk")


def test_a_kiosk_case_finds_its_household_by_the_residents_key(client, engine, locker, household, staff):
    from sync.server.notify.residents import resident_key
    from tests.sync.server.worker.conftest import PHONE, RESIDENT_ID

    from sync.server.content import put

    with engine.begin() as conn:  # the service guide names the department and the materials
        put(conn, "guide_item", "residence-proof", {"name": "居住证明", "department": "户籍科",
                                                     "materials": [{"material": "身份证", "form": "original"}, "户口本"]})
    case_id = "DO-261122-ABCDE"
    assert locker.push(case_id, "created", kind="dropoff", item_id="residence-proof", item="居住证明",
                       resident=resident_key(RESIDENT_ID), resident_name="张晓明")["status"] == "applied"
    locker.push(case_id, "materials_deposited", door=2)
    wang = staff("wang")
    page = wang.get(f"/worker/cases/{case_id}")
    assert "1101**********0033" in page.text and "138****8000" in page.text
    assert "户籍科" in page.text and "<li>身份证</li>" in page.text and "<li>户口本</li>" in page.text
    for action in ("collect", "review", "approve"):
        csrf = csrf_of(wang, f"/worker/cases/{case_id}")
        wang.post(f"/worker/cases/{case_id}/act", data={"action": action, "csrf": csrf})
    locker.push(case_id, "result_deposited", door=2, worker="wang")
    locker.push(case_id, "pickup_code_issued", door=2, short="87654321", expires_at=1795000000)
    locker.push(case_id, "picked_up", door=2)
    assert locker.push(case_id, "evaluated", rating=5, comment="很方便")["status"] == "applied"
    with engine.connect() as conn:
        phones = {n.phone for n in conn.execute(select(NOTES).where(NOTES.c.case_id == case_id))}
        rated = conn.execute(select(RATINGS).where(RATINGS.c.case_id == case_id)).one()
    assert phones == {PHONE}
    assert (rated.score, rated.comment, rated.source) == (5, "很方便", "kiosk")
    from sync.server.worker.stats import compute
    with engine.connect() as conn:
        assert [d.name for d in compute(conn, "示范社区").departments] == ["户籍科"]
