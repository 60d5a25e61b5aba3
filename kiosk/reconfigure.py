"""The kiosk app runs itself again when the server's configuration records change what
it runs (:mod:`appliance.server_config`), at a safe moment: when nobody uses it.

After each round of the app's sync agent (on the agent's thread) :meth:`ConfigRestart.pulled`
asks whether the records pulled change the app's configuration. A change waits (one
log line with the key names, never values) until the kiosk is at home with no
session, no admin mode, no job a resident waits for, no idle countdown, in the
configured language and the ordinary mode (a resident who just switched to 长者模式
or English at home is about to start), and has stayed so for ``settle_s`` seconds;
then :attr:`ConfigRestart.restart` runs. By default that quits the event loop and
``python -m kiosk`` runs itself again in the same process (:mod:`appliance.restart`):
under systemd the unit does not restart, cage keeps its client, and the home screen
is back within seconds. A record the box refuses changes nothing here, so it never
restarts the app (the heartbeat reports it).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from appliance import restart, server_config

log = logging.getLogger("kiosk.reconfigure")
HOME = "home"


class ConfigRestart(QObject):
    SETTLE_S = 10.0  # at home and untouched this long before the screen goes dark for a restart

    def __init__(self, app: Any, *, settle_s: float = SETTLE_S, tick_ms: int = 1000) -> None:
        super().__init__(app)
        self.app = app
        self.effective = server_config.of(app.config)
        self.settle_s = settle_s
        self.pending: server_config.Composition | None = None  # what the app should run
        self.keys: list[str] = []  # the keys that differ from what it runs
        self.requested = False
        self.restart: Callable[[], None] = self.run_again
        self._safe_since: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        app.devices.synced.append(self.pulled)

    # -- on the agent's thread -------------------------------------------------------------
    def pulled(self, _done: Any = None) -> None:
        """After a sync round: compare what the records say with what runs (a file read
        and a validation: here, off the UI thread)."""
        if self.requested:
            return
        changed = self.effective.changed()
        self.app.jobs.call_soon(lambda: self._decide(changed))

    # -- on the UI thread -------------------------------------------------------------------
    def _decide(self, changed: server_config.Composition | None) -> None:
        if changed is None:
            if self.pending is not None:
                log.info("the server's configuration is back to what the kiosk runs: no restart")
            self.pending, self.keys = None, []
            self._timer.stop()
            return
        keys = server_config.differences(self.effective.config, changed.config)
        if keys != self.keys:
            log.info("the server's configuration changed %s: the kiosk runs again once nobody uses it",
                     ", ".join(keys))
        self.pending, self.keys = changed, keys
        if not self._timer.isActive():
            self._safe_since = None
            self._timer.start()
        self.tick()

    def safe(self) -> bool:
        """Nobody is using the kiosk: home, no session, nothing a resident waits for."""
        app = self.app
        current = app.navigator.current
        return (current is not None and current.name == HOME and not app.session.active
                and not app.session.identified and not app.admin and not app.jobs.working
                and not app.countdown.isVisible() and not app.holds_session() and not app.elderly
                and app.i18n.lang == app.settings.language)

    def tick(self) -> None:
        if self.pending is None or self.requested:
            self._timer.stop()
            return
        if not self.safe():
            self._safe_since = None
            return
        now = time.monotonic()
        if self._safe_since is None:
            self._safe_since = now
        if now - self._safe_since < self.settle_s:
            return
        self._timer.stop()
        self.requested = True
        log.warning("restarting the kiosk to apply the server's configuration: %s", ", ".join(self.keys))
        self.restart()

    def run_again(self) -> None:
        """Quit the event loop; ``python -m kiosk`` shuts down and runs itself again."""
        restart.request(f"the server's configuration changed {', '.join(self.keys)}")
        QApplication.instance().quit()

    def stop(self) -> None:
        self._timer.stop()
        if self.pulled in self.app.devices.synced:
            self.app.devices.synced.remove(self.pulled)
