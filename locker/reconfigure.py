"""The locker daemon runs itself again when the server's configuration records change
what it runs (:mod:`appliance.server_config`), at a safe moment: no door operation in
flight.

:meth:`ConfigRestart.due` is called by the daemon's main loop every second. Every
``check_s`` it asks whether the records the agents pulled change the daemon's
configuration (one log line names the keys, never their values). A change waits while
a door operation is in flight: an unlock sent and not yet seen through, a door opened
for someone and not yet closed again, a worker's doors still to open one after the
other. Once none is, the daemon takes no more work (API requests are answered
``stopping``, codes its scanner reads are ignored with a log line; the request being
served is finished), waits up to ``quiesce_s`` for a door such a last request opened
to close, then stops as it always does and runs itself again
(:mod:`appliance.restart`: same PID, its doors reconciled with the boards at start as
after any start). A record the box refuses changes nothing, so it restarts nothing.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from appliance import restart, server_config

log = logging.getLogger("locker")


def in_flight(daemon: Any) -> str:
    """What holds a restart back, in a few words; "" when no door operation is in flight."""
    rows = daemon.store.query("SELECT d.number, o.state, o.purpose FROM openings o JOIN doors d ON d.id = o.door_id "
                              "WHERE o.state IN ('commanded', 'opened') ORDER BY o.id LIMIT 1")
    if rows:
        return f"door {rows[0]['number']} {rows[0]['state']} for a {rows[0]['purpose']}"
    if daemon.locker._queues:  # noqa: SLF001 - the locker's own package
        return "a worker's doors still to open"
    return ""


class ConfigRestart:
    CHECK_S = 2.0
    QUIESCE_S = 20.0  # within the unit's WatchdogSec (30 s): the API's thread has ended meanwhile

    def __init__(self, daemon: Any, *, check_s: float = CHECK_S, quiesce_s: float = QUIESCE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.daemon = daemon
        self.effective = server_config.of(daemon.config)
        self.effective.announce()
        self.check_s, self.quiesce_s, self.clock = check_s, quiesce_s, clock
        self.pending: server_config.Composition | None = None
        self.keys: list[str] = []
        self.waiting_for = ""
        self.quiescing_since: float | None = None
        self._next_check = 0.0

    def due(self) -> bool:
        """True once the daemon should stop and run again (:func:`appliance.restart.request` made)."""
        try:
            return self._due()
        except Exception:  # noqa: BLE001 - the daemon's loop must go on
            log.exception("checking the server's configuration failed")
            return False

    def _due(self) -> bool:
        now = self.clock()
        if self.quiescing_since is not None:
            busy = in_flight(self.daemon)
            if busy and now - self.quiescing_since < self.quiesce_s:
                return False
            if busy:
                log.warning("restarting although %s: waited %.0f s for it", busy, now - self.quiescing_since)
            return self._go()
        if now < self._next_check:
            return False
        self._next_check = now + self.check_s
        changed = self.effective.changed()
        if changed is None:
            if self.pending is not None:
                log.info("the server's configuration is back to what the locker runs: no restart")
            self.pending, self.keys, self.waiting_for = None, [], ""
            return False
        keys = server_config.differences(self.effective.config, changed.config)
        if keys != self.keys:
            log.info("the server's configuration changed %s: the locker runs again once no door operation is "
                     "in flight", ", ".join(keys))
        self.pending, self.keys = changed, keys
        busy = in_flight(self.daemon)
        if busy:
            if busy != self.waiting_for:
                log.info("the configuration's restart waits: %s", busy)
            self.waiting_for = busy
            return False
        self.daemon.quiesce()
        self.quiescing_since = now
        if in_flight(self.daemon):  # a request served just before the API closed opened a door
            return False
        return self._go()

    def _go(self) -> bool:
        log.warning("restarting the locker daemon to apply the server's configuration: %s", ", ".join(self.keys))
        restart.request(f"the server's configuration changed {', '.join(self.keys)}")
        return True
