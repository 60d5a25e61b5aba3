"""The sync agent against the app in-process, through injected requests adapters:
offline, 5xx, lost answers, conflicts, deterministically."""
from __future__ import annotations

import json
import random
import time

import pytest
import requests
from sqlalchemy import select

from appliance.keys import TrustedKeys
from sync.agent import Backoff, state
from sync.errors import NotEnrolled
from sync.server.content import put
from sync.server.devices import revoke
from sync.server.models import Device, EventRow
from sync.store import get_event, pending
from drivers.health import Health
from sync.wire import PeripheralHealth
from tests.sync.agent.adapters import ASGIAdapter, FailingAdapter
from tests.sync.agent.conftest import append_events
from tests.sync.server.support import Signed, event, new_code, new_key


def server_events(app_client) -> list:
    with app_client.app.state.engine.connect() as conn:
        return conn.execute(select(EventRow.id, EventRow.device_id, EventRow.device_seq, EventRow.status)
                            .order_by(EventRow.server_seq)).all()


def assert_exactly_once_in_order(app_client, ids: list[str]) -> None:
    rows = server_events(app_client)
    assert sorted(r.id for r in rows) == sorted(ids)  # each once: id is unique on the server
    by_device: dict[str, list[int]] = {}
    for row in rows:
        by_device.setdefault(row.device_id, []).append(row.device_seq)
    for seqs in by_device.values():
        assert seqs == sorted(seqs)


def test_it_enrols_with_the_code_pushes_everything_and_deletes_the_code(make_agent, store, app_client, tmp_path):
    ids = append_events(store, 250)
    agent = make_agent()
    done = agent.run_once()
    assert (done.pushed, done.quarantined, done.heartbeat) == (250, 0, True)
    assert pending(store) == [] and not (tmp_path / "enrolment-code").exists()
    assert agent.enrolled and state.get(agent.state, "community") == "示范社区"
    assert_exactly_once_in_order(app_client, ids)
    assert agent.run_once().pushed == 0  # nothing left, and no code needed any more


def test_without_enrolment_it_says_how_to_enrol(make_agent):
    agent = make_agent(enrol=False)
    with pytest.raises(NotEnrolled) as refused:
        agent.run_once()
    assert "enrol-code" in refused.value.hint and "enrolment-code" in refused.value.hint


def test_an_agent_of_the_same_appliance_without_the_code_works_once_the_other_enrolled(make_agent, store, tmp_path):
    first = make_agent()
    first.run_once()
    from sync.agent import Agent
    second = Agent(store, first.key, "http://testserver", tmp_path / "locker.sync.db",
                   enrolment_code_file=tmp_path / "enrolment-code", adapter=first.client.session.get_adapter("http://"))
    try:
        append_events(store, 2)
        assert second.run_once().pushed == 2 and second.enrolled
    finally:
        second.close()


def test_pull_keeps_records_and_writes_the_fleets_keys(make_agent, app_client, tmp_path):
    agent = make_agent()
    other = new_key("kiosk-other")
    assert Signed(app_client, other).enrol(new_code(str(app_client.app.state.engine.url), "kiosk-other")
                                           ).status_code == 201
    with app_client.app.state.engine.begin() as conn:
        put(conn, "household", "h1", {"head": "张三"}, community="示范社区")
        put(conn, "household", "h2", {"head": "李四"}, community="另一社区")
        put(conn, "guide_item", "residence-proof", {"title": "居住证明"})
        revoke(conn, "kiosk-other")
    done = agent.run_once()
    assert state.records(agent.state, "household") == {"h1": {"head": "张三"}}
    assert state.records(agent.state, "guide_item") == {"residence-proof": {"title": "居住证明"}}
    keys = TrustedKeys.load(tmp_path / "trusted-keys.json")
    assert keys["kiosk-other"].revoked and keys[agent.key.device_id].public_key == agent.key.public_key
    cursor = int(state.get(agent.state, "cursor"))
    with app_client.app.state.engine.begin() as conn:
        put(conn, "guide_item", "residence-proof", {"title": "居住证明（新）"})
    assert agent.run_once().pulled == 1 and done.pulled > 1
    assert int(state.get(agent.state, "cursor")) > cursor
    assert state.records(agent.state, "guide_item")["residence-proof"]["title"] == "居住证明（新）"


def test_the_heartbeat_carries_peripheral_health_and_the_queue(make_agent, app_client):
    printer = Health("printer", "cups://kiosk", "down", "out of paper", "load paper")
    agent = make_agent(health=lambda: {"printer": PeripheralHealth.from_health(printer)})
    agent.run_once()
    with app_client.app.state.engine.connect() as conn:
        health = conn.execute(select(Device.health).where(Device.device_id == agent.key.device_id)).scalar_one()
    assert health["peripherals"]["printer"] == {"state": "down", "detail": "out of paper", "fix": "load paper",
                                                "data": {}}
    assert health["outbox_pending"] == 0 and health["free_disk_bytes"] > 0


def test_offline_it_backs_off_then_drains_ten_thousand_events_in_one_round(make_agent, store, app_client):
    offline = FailingAdapter(ASGIAdapter(app_client), rate=0)
    agent = make_agent(adapter=offline, batch_size=500)
    agent.run_once()  # enrolled while online
    ids = append_events(store, 10_000)
    offline.down = True
    delays = [agent.step() for _ in range(3)]
    assert agent.failures == 3 and "connection refused" in agent.last_error
    assert all(0 <= d <= agent.backoff.cap for d in delays)
    head = get_event(store, ids[0])
    assert head.attempts == 3 and "refused" in head.last_error and head.sent_at is None
    assert len(pending(store, 20_000)) == 10_000
    offline.down = False
    done = agent.run_once()
    assert done.pushed == 10_000 and pending(store) == []
    assert_exactly_once_in_order(app_client, ids)


def test_with_30_percent_of_requests_failing_every_event_arrives_once_in_order(make_agent, store, app_client):
    flaky = FailingAdapter(ASGIAdapter(app_client), rate=0.3, seed=11)
    agent = make_agent(adapter=flaky, batch_size=40)
    ids = append_events(store, 1000)
    for _ in range(1000):
        agent.step()
        if not pending(store) and agent.failures == 0:
            break
    assert pending(store) == []
    assert all(flaky.failed[mode] > 0 for mode in FailingAdapter.MODES), flaky.failed
    assert_exactly_once_in_order(app_client, ids)


def test_a_conflicting_event_is_held_back_and_the_rest_go_on(make_agent, store, app_client):
    agent = make_agent()
    agent.run_once()
    ids = append_events(store, 6)
    # the server already holds ids[2] with other content (a UUID reused elsewhere)
    squatter = Signed(app_client, new_key("kiosk-squat"))
    squatter.enrol(new_code(str(app_client.app.state.engine.url), "kiosk-squat"))
    assert squatter("POST", "/events", {"events": [event("elsewhere", "created", 1, event_id=ids[2])]}
                    ).status_code == 200
    done = agent.run_once()
    assert done.held_back == [ids[2]] and done.pushed == 5
    stuck = get_event(store, ids[2])
    assert stuck.sent_at is None and stuck.attempts == 1 and "409" in stuck.last_error
    assert [e.id for e in pending(store)] == [ids[2]]
    assert agent.run_once().pushed == 0  # held back, not sent again and again


def test_a_refused_transition_is_acknowledged_as_quarantined(make_agent, store, app_client):
    agent = make_agent()
    from sync.store import append_event
    with store.atomic() as db:
        append_event(db, aggregate_type="case", aggregate_id="c9", event_type="collected", payload={})
    done = agent.run_once()
    assert (done.pushed, done.quarantined) == (1, 1) and pending(store) == []
    assert server_events(app_client)[0].status == "quarantined"


def test_backoff_is_exponential_with_full_jitter_and_a_cap():
    backoff = Backoff(base=1.0, cap=10.0, rng=random.Random(3))
    for failures in range(1, 12):
        samples = [backoff.delay(failures) for _ in range(200)]
        bound = min(10.0, 2.0 ** failures)
        assert all(0 <= s <= bound for s in samples)
        assert max(samples) > bound * 0.8  # spread over the whole range, not clustered
    assert Backoff(cap=300).delay(1000) <= 300


def test_the_agent_runs_as_a_thread_and_wake_pushes_at_once(make_agent, store):
    agent = make_agent(interval_s=3600)  # without wake() it would sleep for an hour
    agent.start()
    try:
        append_events(store, 10)
        agent.wake()
        deadline = time.monotonic() + 30
        while pending(store) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pending(store) == []
    finally:
        agent.stop()
    assert agent._thread is None


def test_a_client_whose_clock_is_an_hour_off_learns_the_servers_clock(make_agent, store, app_client):
    agent = make_agent()
    agent.client.clock = lambda: time.time() - 3600
    append_events(store, 3)
    assert agent.run_once().pushed == 3
    assert 3590 < agent.client.clock_offset_s < 3610


def test_an_event_the_server_cannot_take_is_held_back_and_does_not_block_the_queue(make_agent, store, app_client):
    agent = make_agent()
    from sync.store import append_event
    ids = append_events(store, 4, case_prefix="before")
    with store.atomic() as db:
        bad = append_event(db, aggregate_type="case", aggregate_id="x" * 300, event_type="created", payload={})
    ids += append_events(store, 5, case_prefix="after")
    done = agent.run_once()
    assert done.held_back == [bad] and done.pushed == 9
    assert [e.id for e in pending(store)] == [bad]
    assert "aggregate_id: String should have at most 120 characters" in get_event(store, bad).last_error
    assert_exactly_once_in_order(app_client, ids)


class Strict422(ASGIAdapter):
    """A server of another version that refuses any batch holding a 'door' event (422)."""

    def send(self, request, **kwargs):
        if request.path_url.endswith("/events") and b'"door"' in (request.body or b""):
            response = requests.Response()
            response.status_code, response._content = 422, b'{"detail": "unknown aggregate_type door"}'
            response._content_consumed, response.request = True, request
            return response
        return super().send(request, **kwargs)


def test_a_batch_the_server_refuses_is_halved_until_the_culprit_is_alone(make_agent, store, app_client):
    agent = make_agent(adapter=Strict422(app_client), batch_size=16)
    from sync.store import append_event
    ids = append_events(store, 9, case_prefix="before")
    with store.atomic() as db:
        door = append_event(db, aggregate_type="door", aggregate_id="L1-7", event_type="opened", payload={})
    ids += append_events(store, 6, case_prefix="after")
    done = agent.run_once()
    assert done.held_back == [door] and done.pushed == 15
    assert "HTTP 422: unknown aggregate_type door" in get_event(store, door).last_error
    assert_exactly_once_in_order(app_client, ids)
