"""Lockers' door and board alarms in the worker console, in-process on SQLite and
PostgreSQL: pushed through the signed sync API with the payloads the locker daemon
writes (locker/doorkeeper.py), shown on her home list with the locker, the door, since
when and what to do, marked handled by her (not by another grid's worker, not by an
appliance), and on the timeline of the case they concern."""
from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from sync.server.models import EventRow
from tests.sync.server.support import Signed, event, new_code, new_key
from tests.sync.server.worker.conftest import csrf_of, deposit_case

EVENTS = EventRow.__table__
DOOR = "bus0/1/7"  # the locker's door id: bus, board, door number


def alarms_section(page: str) -> str:
    found = re.search(r'<section class="card" id="alarms".*?</section>', page, re.S)
    return found.group(0) if found else ""


def handle(client, alarm_id: str, note: str = ""):
    return client.post(f"/worker/alarms/{alarm_id}/handled", data={"csrf": csrf_of(client, "/worker"), "note": note},
                       follow_redirects=False)


def occupy(locker, case_id: str, door: str = DOOR, number: int = 7) -> None:
    """The door events the locker records when a drop-off puts the case's paper behind a door."""
    locker.push(door, "reserved", aggregate_type="door", door=number, case=case_id, purpose="dropoff")
    locker.push(door, "occupied", aggregate_type="door", door=number, case=case_id, opening=1)


def test_a_forced_door_is_on_her_list_with_what_to_do_and_on_the_cases_timeline(client, engine, locker, household,
                                                                                staff):
    case_id = deposit_case(locker, household)
    occupy(locker, case_id)
    forced = locker.push(DOOR, "forced", aggregate_type="door", at="2026-11-22T10:15:00+08:00", door=7, alarm=True)
    assert forced["status"] == "applied"
    wang = staff("wang")
    section = alarms_section(wang.get("/worker").text)
    assert "柜门被异常打开" in section and "幸福里 1 号柜" in section and "门 7" in section
    assert "2026-11-22 10:15" in section  # since when, in China's time
    assert "没有人扫码开门" in section and "查看柜内材料是否缺少" in section  # what to do, in plain words
    assert f'href="/worker/cases/{case_id}"' in section
    english = alarms_section(wang.get("/worker?lang=en").text)
    assert "Door opened without a command" in english and "Mark handled" in english
    wang.get("/worker?lang=zh")
    timeline = wang.get(f"/worker/cases/{case_id}").text.split('id="timeline-h"', 1)[1]
    assert "告警：柜门被异常打开" in timeline and "待处理" in timeline

    other = staff("zhao", grid="二网格")  # another grid's worker: neither sees it nor may close it
    assert alarms_section(other.get("/worker").text) == ""
    assert handle(other, forced["id"]).status_code == 404

    done = handle(wang, forced["id"], note="门已关好，材料齐全")
    assert done.status_code == 303
    assert alarms_section(wang.get("/worker").text) == ""
    timeline = wang.get(f"/worker/cases/{case_id}").text.split('id="timeline-h"', 1)[1]
    assert "告警：柜门被异常打开" in timeline and "已处理（网格员 wang" in timeline
    again = handle(wang, forced["id"])  # twice (a double tap): one mark
    assert again.status_code == 303
    with engine.connect() as conn:
        marks = conn.execute(select(EVENTS.c.device_id, EVENTS.c.payload).where(
            EVENTS.c.aggregate_type == "alarm", EVENTS.c.aggregate_id == forced["id"])).all()
    assert [(m.device_id, m.payload["note"]) for m in marks] == [("console:wang", "门已关好，材料齐全")]


def test_each_kind_of_alarm_concerns_its_case(client, engine, locker, household, staff):
    case_id = deposit_case(locker, household)
    occupy(locker, case_id)
    # a collection whose door jammed: the opening named the case when it was commanded
    locker.push("41", "unlock_commanded", aggregate_type="opening", door=7, at=DOOR, purpose="collect", case=case_id,
                source="scanner")
    jammed = locker.push("41", "jammed", aggregate_type="opening", door=7, note="acknowledged, never seen open")
    # left open: only once it reached the worker's level (the prompt is the locker's own screen)
    locker.push(DOOR, "door_left_open", aggregate_type="door", door=7, level="prompt", seconds=60, opening=41,
                case=case_id)
    left = locker.push(DOOR, "door_left_open", aggregate_type="door", door=7, level="worker", seconds=300,
                       opening=41, case=case_id)
    # the board the door is on went offline, then came back
    offline = locker.push("bus0/1", "board_offline", aggregate_type="board", reason="no reply")
    # a door of another case: not this one's
    other_case = deposit_case(locker, household)
    occupy(locker, other_case, door="bus0/0/2", number=2)
    elsewhere = locker.push("bus0/0/2", "forced", aggregate_type="door", door=2, alarm=True)

    wang = staff("wang")
    section = alarms_section(wang.get("/worker").text)
    for title in ("柜门卡住打不开", "柜门长时间未关", "锁控板离线", "柜门被异常打开"):
        assert title in section, title
    assert section.count('data-kind="door_left_open"') == 1  # the prompt level is not an alarm here
    assert "已开 5 分钟" in section and "bus0/1" in section

    page = wang.get(f"/worker/cases/{case_id}").text
    timeline = page.split('id="timeline-h"', 1)[1]
    assert "柜门卡住打不开" in timeline and "柜门长时间未关" in timeline and "锁控板离线" in timeline
    assert "柜门被异常打开" not in timeline  # that was the other case's door
    assert "柜门被异常打开" in wang.get(f"/worker/cases/{other_case}").text.split('id="timeline-h"', 1)[1]

    locker.push("bus0/1", "board_online", aggregate_type="board")  # back: nothing left to do about it
    section = alarms_section(wang.get("/worker").text)
    assert "锁控板离线" not in section and "柜门卡住打不开" in section
    assert "已恢复在线" in wang.get(f"/worker/cases/{case_id}").text
    for alarm in (jammed, left, elsewhere):
        assert handle(wang, alarm["id"]).status_code == 303
    assert alarms_section(wang.get("/worker").text) == ""
    assert handle(wang, offline["id"]).status_code == 303  # a recovered one may still be marked


def test_an_appliance_cannot_close_an_alarm_nor_a_worker_something_else(client, engine, locker, household, staff,
                                                                     database_url):
    case_id = deposit_case(locker, household)
    occupy(locker, case_id)
    forced = locker.push(DOOR, "forced", aggregate_type="door", door=7, alarm=True)
    # an appliance pushing the console's own kind of event does not close it
    assert locker.push(forced["id"], "alarm_handled", aggregate_type="alarm", worker="wang")["status"] == "applied"
    wang = staff("wang")
    assert "柜门被异常打开" in alarms_section(wang.get("/worker").text)
    # an event that is no alarm, an unknown id, another community's locker's alarm: all 404
    occupied = [r for r in _events(engine, DOOR) if r.event_type == "occupied"][0]
    assert handle(wang, occupied.id).status_code == 404
    assert handle(wang, str(uuid.uuid4())).status_code == 404
    key = new_key(f"locker-far-{uuid.uuid4().hex[:4]}")
    far = Signed(client, key)
    assert far.enrol(new_code(database_url, key.device_id, "别的社区")).status_code == 201
    pushed = event(DOOR, "forced", 1, aggregate_type="door", payload={"door": 7, "alarm": True})
    assert far("POST", "/events", {"events": [pushed]}).status_code == 200
    assert handle(wang, pushed["id"]).status_code == 404
    no_csrf = wang.post(f"/worker/alarms/{forced['id']}/handled", data={}, follow_redirects=False)
    assert no_csrf.status_code == 403
    assert "柜门被异常打开" in alarms_section(wang.get("/worker").text)


def _events(engine, aggregate_id):
    with engine.connect() as conn:
        return conn.execute(select(EVENTS).where(EVENTS.c.aggregate_id == aggregate_id)
                            .order_by(EVENTS.c.server_seq)).all()
