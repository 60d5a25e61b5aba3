"""The agent's loop on a virtual clock: wake() never shortens a backoff, held-back
events are retried on a timer with bounded attempts. Deterministic: the clock moves
only when the agent waits, and nothing sleeps."""
from __future__ import annotations

import threading

from sync.agent import Backoff
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
