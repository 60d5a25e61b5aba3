"""The agent's pull: ``case`` changes go into the appliance's store
(sync.store.server_cases); a kind this release does not know is skipped with a log
line, never fatal (a newer server may add kinds)."""
from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from sync.agent import state
from sync.server import db, migrations
from sync.server.content import append_change, put
from sync.store import server_cases
from sync.wire import Change, PullResponse, known
from tests.sync.server.support import COMMUNITY


def publish(server_url: str, *changes: tuple[str, str, dict | None]) -> None:
    engine = db.create(server_url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            for kind, key, data in changes:
                append_change(conn, kind, key, data, COMMUNITY)
    finally:
        engine.dispose()


def test_a_kind_the_agent_does_not_know_is_skipped_with_a_log_line(make_agent, server_url, store, caplog):
    agent = make_agent()
    agent.run_once()
    publish(server_url, ("parcel_locker_v9", "p-1", {"anything": 1}))
    engine = db.create(server_url)
    with engine.begin() as conn:
        put(conn, "guide_item", "after-it", {"name": "高龄补贴申领"})
    engine.dispose()
    with caplog.at_level(logging.WARNING, logger="sync.agent.agent"):
        done = agent.run_once()  # not fatal: the round goes on past it
    assert done.pulled == 1 and done.heartbeat
    assert "parcel_locker_v9" in caplog.text and "does not know" in caplog.text
    assert "after-it" in state.records(agent.state, "guide_item")  # the change behind it arrived
    assert state.records(agent.state, "parcel_locker_v9") == {}
    assert agent.run_once().pulled == 0  # and the cursor went past it


def test_the_wire_still_reads_a_page_with_an_unknown_kind():
    page = PullResponse.model_validate({"cursor": 2, "more": False, "changes": [
        {"seq": 1, "kind": "from_the_future", "key": "x", "data": {}, "changed_at": "2026-11-22T07:00:00Z"},
        {"seq": 2, "kind": "case", "key": "c", "data": {"state": "approved"}, "changed_at": "2026-11-22T07:00:00Z"}]})
    assert [c.kind for c in page.changes] == ["from_the_future", "case"]
    assert [known(c) for c in page.changes] == [False, True]


def test_case_changes_land_in_the_appliance_store_newest_event_wins(make_agent, server_url, store):
    agent = make_agent()
    agent.run_once()
    publish(server_url,
            ("case", "DO-261122-AAAAA", {"case": "DO-261122-AAAAA", "state": "in_review", "event": "in_review",
                                          "event_at": "2026-11-22T07:00:00.000+00:00", "item": "高龄补贴申领",
                                          "next_step": "in_review"}),
            ("case", "DO-261122-AAAAA", {"case": "DO-261122-AAAAA", "state": "approved", "event": "approved",
                                          "event_at": "2026-11-22T07:05:00.000+00:00", "item": "高龄补贴申领",
                                          "next_step": "approved"}),
            # published later but about an older event (two server processes): does not win
            ("case", "DO-261122-AAAAA", {"case": "DO-261122-AAAAA", "state": "collected", "event": "collected",
                                          "event_at": "2026-11-22T06:59:00.000+00:00"}),
            ("case", "BS-261122-BBBBB", {"case": "BS-261122-BBBBB", "state": "closed", "event": "closed",
                                          "event_at": "2026-11-22T07:01:00.000+00:00", "next_step": "report_closed"}))
    assert agent.run_once().pulled == 4
    kept = server_cases.get(store, "DO-261122-AAAAA")
    assert (kept.state, kept.event, kept.item, kept.next_step) == ("approved", "approved", "高龄补贴申领", "approved")
    assert kept.moment == 1795331100.0
    assert server_cases.get(store, "BS-261122-BBBBB").state == "closed"
    assert server_cases.get(store, "nothing") is None


def test_a_change_without_a_state_is_not_kept(store):
    with store.atomic() as conn:
        assert not server_cases.put(conn, {"case": "x"}, key="x", seq=1)
        assert server_cases.put(conn, {"case": "x", "state": "created", "event_at": "garbage"}, key="x", seq=2)
    assert server_cases.get(store, "x").moment == 0.0


def test_change_kind_is_a_string_on_the_wire_but_bounded():
    with pytest.raises(ValidationError):
        Change.model_validate({"seq": 1, "kind": "", "key": "x", "data": None, "changed_at": "2026-11-22T07:00:00Z"})
