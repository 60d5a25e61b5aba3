"""My progress: the resident's cases from the kiosk's store, refreshed from a real
locker daemon on the lock-board simulator, in plain words; rating a finished case is
an ``evaluated`` event in the outbox."""
from __future__ import annotations

import time
import tomllib
import uuid
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from kiosk.flows.doors import LockerDoors
from kiosk.flows.progress import ProgressFlow, state_keys
from kiosk.store import cases
from sync.agent import Agent
from sync.server import create_app
from sync.server.accounts import create_account
from sync.server.worker.cases import set_locker_grid
from sync.store import append_event, mark_sent, pending, server_cases
from tests.sync.agent.adapters import ASGIAdapter
from tests.sync.server.support import COMMUNITY, new_code, new_key
from tests.sync.server.worker.conftest import csrf_of, login
from tests.kiosk.journeys import (bus, door, kiosk_store, locker, result_waiting, running_bus,  # noqa: F401
                                  server_key, wait_for)
from tests.support import ROOT

ZHANG = cases.Resident.of("110101198503120033", "张晓明")
LI = cases.Resident.of("110101194912310027", "李桂兰")


def make(store, resident, kind="dropoff", **kw):
    return cases.create(store, kind=kind, item_id="elderly-subsidy", item="高龄补贴申领", resident=resident, **kw)


def test_every_word_the_flow_asks_for_is_in_the_catalogue():
    catalogue = tomllib.loads((ROOT / "assets" / "i18n" / "progress.toml").read_text("utf-8"))
    for key in state_keys():
        entry = catalogue.get(key.removeprefix("progress."))
        assert entry and entry["zh"] and entry["en"] and entry["note"], key


def test_only_the_residents_own_cases_newest_first(kiosk_store):
    older = make(kiosk_store, ZHANG, now=1_700_000_000)
    newer = make(kiosk_store, ZHANG, kind="report", now=1_700_000_100)
    make(kiosk_store, LI)
    rows = ProgressFlow(kiosk_store, ZHANG.key).load()
    assert [r.case.id for r in rows] == [newer.id, older.id]
    assert rows[0].next_key == "progress.next_report_created" and rows[1].next_key == "progress.next_created"
    assert rows[1].state_key == "progress.state_created" and rows[1].stage == 0
    assert not any(r.rateable for r in rows)


def test_the_locker_moves_the_case_on_and_the_resident_rates_it(locker, bus, server_key, kiosk_store):
    mine = make(kiosk_store, ZHANG)
    flow = ProgressFlow(kiosk_store, ZHANG.key, locker.doors)
    answer = locker.client("dropoff", case=mine.id, size="M")
    locker.client.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    wait_for(lambda: flow.load()[0].case.state.value == "materials_deposited", what="deposited")
    assert flow.rows[0].next_key == "progress.next_materials_deposited" and flow.rows[0].stage == 1

    issued = result_waiting(locker, bus, server_key, mine.id)
    row = flow.load()[0]
    assert row.case.state.value == "result_deposited" and row.case.door == issued["door"]
    assert row.next_key == "progress.next_result_deposited" and not row.rateable

    answer = locker.client("pickup", code=issued["short"])
    locker.client.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    wait_for(lambda: flow.load()[0].case.state.value == "picked_up", what="picked up")
    assert flow.rows[0].rateable and flow.rows[0].next_key == "progress.next_picked_up"

    with pytest.raises(cases.CaseError, match="1 to 5"):
        flow.rate(mine.id, 6)
    rated = flow.rate(mine.id, 5, "网格员很负责")
    assert rated.case.state.value == "evaluated" and rated.case.rating == 5 and not rated.rateable
    evaluated = [e for e in pending(kiosk_store, 1000) if e.event_type == "evaluated"]
    assert [(e.aggregate_id, e.payload) for e in evaluated] == [(mine.id, {"rating": 5, "comment": "网格员很负责"})]
    with pytest.raises(cases.CaseError, match="once"):
        flow.rate(mine.id, 4)
    assert flow.load()[0].case.state.value == "evaluated"  # the locker's picked_up does not undo the rating


def test_someone_elses_case_cannot_be_rated(kiosk_store):
    theirs = make(kiosk_store, LI)
    with pytest.raises(cases.CaseError, match="of this resident"):
        ProgressFlow(kiosk_store, ZHANG.key).rate(theirs.id, 5)


def test_a_locker_that_does_not_answer_shows_the_last_known_state(kiosk_store, tmp_path):
    make(kiosk_store, ZHANG)
    flow = ProgressFlow(kiosk_store, ZHANG.key, LockerDoors(tmp_path / "nobody.sock"))
    rows = flow.load()
    assert flow.locker_unreachable and rows[0].case.state.value == "created"


def test_the_session_end_forgets_the_resident(kiosk_store):
    make(kiosk_store, ZHANG)
    flow = ProgressFlow(kiosk_store, ZHANG.key)
    flow.load()
    flow.end_session()
    assert flow.rows == [] and flow.resident_key == ""


# -- the server's state folded in ---------------------------------------------------------------
@pytest.fixture
def server(tmp_path, monkeypatch):
    """The central server in-process on its own SQLite file (no delivery loop)."""
    monkeypatch.setenv("SYNC_NOTIFY_LOOP", "0")
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with TestClient(create_app(url)) as client:
        yield client, url


@pytest.fixture
def agent(server, kiosk_store, tmp_path):
    client, url = server
    key = new_key(f"kiosk-{uuid.uuid4().hex[:6]}")
    (tmp_path / "code").write_text(new_code(url, key.device_id))
    agent = Agent(kiosk_store, key, "http://testserver", tmp_path / "appliance.sync.db", data_dir=tmp_path,
                  enrolment_code_file=tmp_path / "code", adapter=ASGIAdapter(client))
    yield agent
    agent.close()


def worker(server, agent) -> TestClient:
    client, url = server
    engine = client.app.state.engine
    with engine.begin() as conn:
        create_account(conn, username="wang", password="pass-wang-1", name="王芳", role="worker",
                       community=COMMUNITY, grid="一网格")
        set_locker_grid(conn, agent.key.device_id, COMMUNITY, "一网格", "幸福里 1 号柜")
    console = TestClient(client.app)
    return login(console, "wang", "pass-wang-1")


def act(console: TestClient, case_id: str, action: str) -> None:
    answer = console.post(f"/worker/cases/{case_id}/act", data={"action": action, "csrf": csrf_of(
        console, f"/worker/cases/{case_id}")}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_a_worker_approves_in_the_console_and_my_progress_shows_it_after_the_sync(server, agent, kiosk_store):
    mine = make(kiosk_store, ZHANG)
    with kiosk_store.atomic() as db:  # the locker on this box: deposited (it pushes from the same device)
        append_event(db, aggregate_type="case", aggregate_id=mine.id, event_type="materials_deposited",
                     payload={"door": 7})
    cases.observe(kiosk_store, mine.id, "materials_deposited", door=7)
    agent.run_once()
    console = worker(server, agent)
    try:
        for action in ("collect", "review", "approve"):
            act(console, mine.id, action)
    finally:
        console.close()
    flow = ProgressFlow(kiosk_store, ZHANG.key)
    assert flow.load()[0].case.state.value == "materials_deposited"  # not synced yet: what the kiosk knew

    assert agent.run_once().pulled >= 3
    row = flow.load()[0]
    assert row.case.state.value == "approved" and row.next_key == "progress.next_approved"
    assert row.state_key == "progress.state_approved" and row.stage == 3 and not row.rateable
    assert cases.get(kiosk_store, mine.id).state.value == "approved"  # kept: rating and the locker build on it


def test_the_kiosks_own_events_not_yet_synced_stay_visible(kiosk_store):
    mine = make(kiosk_store, ZHANG)
    cases.observe(kiosk_store, mine.id, "picked_up")
    cases.rate(kiosk_store, mine.id, 5)  # evaluated here, not pushed yet
    later = datetime.fromtimestamp(time.time() + 60, timezone.utc).isoformat()  # a server clock ahead
    with kiosk_store.atomic() as db:  # the server's last word, before the rating reached it: picked_up
        server_cases.put(db, {"case": mine.id, "state": "picked_up", "event": "picked_up", "event_at": later},
                         key=mine.id, seq=9)
    row = ProgressFlow(kiosk_store, ZHANG.key).load()[0]
    assert row.case.state.value == "evaluated" and row.case.rating == 5
    # once the server acknowledged the rating, the server's newer word counts again
    mark_sent(kiosk_store, [e.id for e in pending(kiosk_store, 1000)])
    with kiosk_store.atomic() as db:
        server_cases.put(db, {"case": mine.id, "state": "closed", "event": "closed", "event_at": later},
                         key=mine.id, seq=10)
    assert ProgressFlow(kiosk_store, ZHANG.key).load()[0].case.state.value == "closed"


def test_a_lagging_report_does_not_undo_a_state_further_along(kiosk_store):
    mine = make(kiosk_store, ZHANG)
    cases.observe(kiosk_store, mine.id, "materials_deposited")  # the kiosk asked the locker just now
    earlier = datetime.fromtimestamp(time.time() - 600, timezone.utc).isoformat()
    with kiosk_store.atomic() as db:  # the console collected it ten minutes ago: further along, so it wins
        server_cases.put(db, {"case": mine.id, "state": "collected", "event": "collected", "event_at": earlier},
                         key=mine.id, seq=3)
    assert ProgressFlow(kiosk_store, ZHANG.key).load()[0].case.state.value == "collected"
    other = make(kiosk_store, ZHANG)
    cases.observe(kiosk_store, other.id, "picked_up")
    cases.rate(kiosk_store, other.id, 4)
    with kiosk_store.atomic() as db:  # an older event behind the kiosk's rating: the rating stays
        server_cases.put(db, {"case": other.id, "state": "picked_up", "event": "picked_up", "event_at": earlier},
                         key=other.id, seq=4)
    states = {r.case.id: r.case.state.value for r in ProgressFlow(kiosk_store, ZHANG.key).load()}
    assert states == {mine.id: "collected", other.id: "evaluated"}


def test_a_phone_confirmed_here_is_recorded_with_its_event_and_a_wrong_number_records_nothing(tmp_path):
    from forms.register import migrations as register_migrations
    from kiosk.flows.phonelink import PhoneLinkFlow
    from kiosk.store import phones
    from sync.store import Store

    with Store(tmp_path / "phones.db", [register_migrations, cases.migrations, phones.migrations]) as store:
        link = PhoneLinkFlow(store, ZHANG.key)
        for digit in "123456789012":  # a twelfth digit is not taken
            link.press(digit)
        assert link.digits == "12345678901" and link.complete
        assert link.confirm() is False and link.problem == "progress.phone_invalid"
        assert pending(store, 10) == [] and phones.of_resident(store, ZHANG.key) == []
        link.press("clear")
        for digit in "13900139000":
            link.press(digit)
        assert link.problem == "" and link.confirm() is True
        assert link.linked == "139****9000" and link.digits == ""  # not kept in the flow once recorded
        [event] = pending(store, 10)
        assert (event.aggregate_type, event.aggregate_id, event.event_type) == ("phone", "13900139000",
                                                                                "phone_confirmed")
        assert event.payload == {"phone": "13900139000", "resident": ZHANG.key}
        [row] = phones.of_resident(store, ZHANG.key)
        assert row.masked_phone == "139****9000" and row.event_id == str(event.id)
        assert "13900139000" not in str(store.query("SELECT * FROM kiosk_phone_links"))
        assert phones.of_resident(store, LI.key) == []
