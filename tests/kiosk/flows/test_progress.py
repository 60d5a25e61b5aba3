"""My progress: the resident's cases from the kiosk's store, refreshed from a real
locker daemon on the lock-board simulator, in plain words; rating a finished case is
an ``evaluated`` event in the outbox."""
from __future__ import annotations

import tomllib

import pytest

from kiosk.flows.doors import LockerDoors
from kiosk.flows.progress import ProgressFlow, state_keys
from kiosk.store import cases
from sync.store import pending
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
