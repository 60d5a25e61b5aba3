"""The kiosk under systemd's watchdog: READY=1 once the Qt loop turns, WATCHDOG=1 while
it keeps beating, none while it is frozen, STOPPING=1 at the end; on a real datagram
socket, as systemd reads it."""
from __future__ import annotations

import time

from kiosk.app import start_watchdog
from tests.appliance.test_systemd_notify import WATCHDOG_USEC, NotifySocket


def test_the_event_loop_beats_the_watchdog_and_a_frozen_loop_stops_the_pings(qapp, qtbot, tmp_path):
    sock = NotifySocket(str(tmp_path / "notify"))
    env = {"NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": WATCHDOG_USEC}
    watchdog, timer = start_watchdog(qapp, env=env, period_ms=200)
    try:
        qtbot.waitUntil(lambda: watchdog.pings >= 2, timeout=5000)  # the loop runs: ready, then pings
        assert any("READY=1" in m.splitlines() and "STATUS=kiosk shown" in m.splitlines() for m in sock.messages
                   + sock.drain(0.1))
        frozen_at = watchdog.pings
        time.sleep(float(WATCHDOG_USEC) / 1e6 + 1.5)  # the UI thread blocked: no beats
        # within the watchdog interval the pinger notices and stops (one ping may still be in flight)
        assert watchdog.pings <= frozen_at + 4
        stalled = watchdog.pings
        time.sleep(1.0)
        assert watchdog.pings == stalled, "pings went on while the event loop was frozen"
        qtbot.waitUntil(lambda: watchdog.pings > stalled, timeout=5000)  # the loop beats again
    finally:
        timer.stop()
        watchdog.stop()
        stopping = sock.drain(0.5)
        sock.close()
    assert "STOPPING=1" in "\n".join(stopping)
