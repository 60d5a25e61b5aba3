"""The agent's loop on a virtual clock: wake() never shortens a backoff, held-back
events are retried on a timer with bounded attempts. Deterministic: the clock moves
only when the agent waits, and nothing sleeps."""
from __future__ import annotations

import threading

import requests
from sqlalchemy import select

from sync.agent import Backoff
from sync.server.models import EventRow
from sync.store import append_event, get_event, pending
from tests.sync.agent.adapters import ASGIAdapter, FailingAdapter
from tests.sync.agent.conftest import append_events


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class VirtualWake(threading.Event):
    """An Event whose wait() lets virtual time pass instead of real time."""

    def __init__(self, clock: VirtualClock, horizon: float, stopping: threading.Event) -> None:
        super().__init__()
        self.clock, self.horizon, self.stopping = clock, horizon, stopping

    def wait(self, timeout: float | None = None) -> bool:
        if self.is_set():
            return True
        self.clock.now += timeout or 0.0
        if self.clock.now >= self.horizon:
            self.stopping.set()
        return False


class FixedBackoff(Backoff):
    def delay(self, failures: int) -> float:
        return 100.0


def virtual(agent, clock: VirtualClock, horizon: float) -> None:
    agent._wake = VirtualWake(clock, horizon, agent._stopping)


class CommitsWhileDown(FailingAdapter):
    """The server is down; every request it refuses comes while the locker commits
    five events, each waking the agent. Stops the agent after 50 requests (a storm)."""

    def __init__(self, inner, clock: VirtualClock) -> None:
        super().__init__(inner, rate=0)
        self.clock, self.agent, self.store, self.times = clock, None, None, []

    def send(self, request, **kwargs):
        if self.down:
            self.times.append(self.clock.now)
            for _ in range(5):
                append_events(self.store, 1, case_prefix=f"t{len(self.times)}")
                self.agent.wake()
            if len(self.times) >= 50:
                self.agent._stopping.set()
        return super().send(request, **kwargs)


def test_wake_does_not_shorten_a_backoff_in_force(make_agent, store, app_client):
    clock = VirtualClock()
    adapter = CommitsWhileDown(ASGIAdapter(app_client), clock)
    agent = make_agent(adapter=adapter, clock=clock, interval_s=30)
    adapter.agent, adapter.store = agent, store
    agent.run_once()  # enrolled while the server was up
    agent.backoff = FixedBackoff()
    adapter.down = True
    virtual(agent, clock, horizon=1000)
    agent.run()
    # one request per backoff of 100 s, however many wakes came in between
    assert len(adapter.times) <= 11, adapter.times[:12]
    assert all(b - a >= 100 for a, b in zip(adapter.times, adapter.times[1:])), adapter.times[:12]
    assert agent.failures >= 10


def test_wake_shortens_the_normal_interval_when_the_server_is_healthy(make_agent, store, app_client):
    clock = VirtualClock()
    rounds: list[float] = []

    class WakesOnce(ASGIAdapter):
        def send(self, request, **kwargs):
            if request.path_url.endswith("/heartbeat"):
                rounds.append(clock.now)
                if len(rounds) == 1:  # a commit during the first round
                    append_events(store, 1)
                    agent.wake()
                if len(rounds) == 3:
                    agent._stopping.set()
            return super().send(request, **kwargs)

    agent = make_agent(adapter=WakesOnce(app_client), clock=clock, interval_s=3600)
    virtual(agent, clock, horizon=10 ** 6)
    agent.run()
    assert rounds[:2] == [0.0, 0.0]  # woken: the next round at once
    assert 3600 * 0.9 <= rounds[2] <= 3600 * 1.1  # not woken: the interval
    assert agent.failures == 0


# -- held-back events: retried on a timer, bounded, reported --------------------------
class RefusesDoors(ASGIAdapter):
    """A server of another version: a batch holding a 'door' event is a 422, until
    ``upgraded``. Counts the pushes that carried the door event."""

    def __init__(self, client) -> None:
        super().__init__(client)
        self.upgraded, self.door_pushes = False, 0

    def send(self, request, **kwargs):
        if request.path_url.endswith("/events") and b'"door"' in (request.body or b""):
            self.door_pushes += 1
            if not self.upgraded:
                response = requests.Response()
                response.status_code, response._content = 422, b'{"detail": "unknown aggregate_type door"}'
                response._content_consumed, response.request = True, request
                return response
        return super().send(request, **kwargs)


def door_event(store) -> str:
    with store.atomic() as db:
        return append_event(db, aggregate_type="door", aggregate_id="L1-7", event_type="opened", payload={})


def test_a_held_back_event_is_retried_with_backoff_then_given_up_with_its_reason(make_agent, store, app_client):
    clock = VirtualClock()
    adapter = RefusesDoors(app_client)
    agent = make_agent(adapter=adapter, clock=clock, hold_retry_s=10, hold_attempts=3)
    append_events(store, 2, case_prefix="before")
    door = door_event(store)
    append_events(store, 2, case_prefix="after")
    assert agent.run_once().held_back == [door]
    first = adapter.door_pushes
    clock.now = 9.9
    assert agent.run_once().held_back == [] and adapter.door_pushes == first  # not due yet
    assert agent.next_hold_retry() == 10
    clock.now = 10
    assert agent.run_once().held_back == [door] and adapter.door_pushes == first + 1  # retry 1
    assert agent.next_hold_retry() == 30  # then 20 s: doubling
    clock.now = 29
    agent.run_once()
    assert adapter.door_pushes == first + 1
    clock.now = 30
    assert agent.run_once().held_back == [door] and adapter.door_pushes == first + 2  # retry 2: the last
    assert agent.next_hold_retry() is None and agent.held_back[door].given_up
    clock.now = 10 ** 6
    agent.run_once()
    assert adapter.door_pushes == first + 2  # bounded
    stuck = get_event(store, door)
    assert stuck.sent_at is None and "HTTP 422: unknown aggregate_type door" in stuck.last_error
    assert "refused 3 times" in stuck.last_error
    assert [e.id for e in pending(store)] == [door]


def test_a_retry_that_gets_through_is_reported_late_not_silently_reordered(make_agent, store, app_client, caplog):
    clock = VirtualClock()
    adapter = RefusesDoors(app_client)
    agent = make_agent(adapter=adapter, clock=clock, hold_retry_s=10)
    ids = append_events(store, 2, case_prefix="before")
    door = door_event(store)
    ids += append_events(store, 2, case_prefix="after")
    assert agent.run_once().held_back == [door]
    adapter.upgraded = True  # the server learnt about doors
    clock.now = 10
    done = agent.run_once()
    assert done.late == [door] and done.pushed == 1 and pending(store) == []
    assert door not in agent.held_back
    assert "after the events behind it" in caplog.text and "HTTP 422" in caplog.text
    # it reached the server last, with its own seq: late, and visibly so
    with app_client.app.state.engine.connect() as conn:
        rows = conn.execute(select(EventRow.id, EventRow.device_seq).order_by(EventRow.server_seq)).all()
    assert [r.id for r in rows] == ids + [door]
    assert rows[-1].device_seq < rows[-2].device_seq


def test_the_loop_wakes_for_a_held_back_retry_before_the_interval(make_agent, store, app_client):
    clock = VirtualClock()
    adapter = RefusesDoors(app_client)
    agent = make_agent(adapter=adapter, clock=clock, interval_s=3600, hold_retry_s=10, hold_attempts=3)
    door = door_event(store)
    pushes_at: list[float] = []
    send = adapter.send

    def timed(request, **kwargs):
        if request.path_url.endswith("/events"):
            pushes_at.append(clock.now)
        return send(request, **kwargs)

    adapter.send = timed
    virtual(agent, clock, horizon=3000)
    agent.run()  # without the timer the retries would wait for the hourly round
    assert pushes_at == [0, 10, 30] and agent.held_back[door].given_up
