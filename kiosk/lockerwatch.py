"""Watching the locker daemon's alerts on a thread of its own, for the banner the
kiosk shows over any screen (:class:`kiosk.widgets.alerts.AlertBanner`): a door left
open (请关好N号柜门), a door forced, and the last code refused at the locker's own
scanner (nobody at the kiosk asked: the resident stands at the locker).

It asks the daemon's ``state`` (locker/api.py: ``alerts`` and ``scanner``) every
``poll`` seconds and reports each change once, on the UI thread (``post``), as a
:class:`LockerAlerts`; what the locker no longer reports is resolved and leaves the
banner. A daemon that cannot be reached is said once in the log and reads as no
alerts until it answers again. Plain Python, no Qt.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("kiosk.lockerwatch")


@dataclass(frozen=True)
class DoorAlert:
    door: int
    kind: str  # door_left_open | forced
    level: str  # prompt | worker | alarm


@dataclass(frozen=True)
class ScannerRefusal:
    at: float  # the locker's unix time: a new refusal has a new one
    reason: str  # a locker REASON (locker/errors.py), worded for residents in assets/i18n/doors.toml
    message: str  # the locker's own "中文 · English", for a reason the kiosk has no words for
    backing_off: int = 0  # seconds the scanner still refuses every code


@dataclass(frozen=True)
class LockerAlerts:
    doors: tuple[DoorAlert, ...] = ()
    refusal: ScannerRefusal | None = None

    @property
    def empty(self) -> bool:
        return not self.doors and self.refusal is None

    @classmethod
    def of(cls, state: dict[str, Any]) -> "LockerAlerts":
        """From the daemon's ``state`` (or ``events``) answer."""
        doors = tuple(DoorAlert(int(a["door"]), str(a.get("kind", "")), str(a.get("level", "")))
                      for a in state.get("alerts") or [] if a.get("door") is not None)
        scanner = state.get("scanner") or {}
        refused = scanner.get("refusal")
        refusal = None
        if refused:
            refusal = ScannerRefusal(float(refused.get("at") or 0), str(refused.get("reason") or "internal"),
                                     str(refused.get("message") or ""), int(scanner.get("backing_off") or 0))
        return cls(doors, refusal)


class LockerWatch:
    def __init__(self, socket: str | Path, *, post: Callable[[Callable[[], None]], None],
                 on_change: Callable[[LockerAlerts], None], poll: float = 1.0, timeout: float = 3.0) -> None:
        self.socket = Path(socket)
        self.post, self.on_change = post, on_change
        self.poll, self.timeout = poll, timeout
        self.alerts = LockerAlerts()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-lockerwatch", daemon=True)

    def start(self) -> "LockerWatch":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _ask(self) -> dict[str, Any]:
        from appliance import jsonline

        return jsonline.request(self.socket, {"op": "state"}, timeout=self.timeout, peer="the locker daemon")

    def _run(self) -> None:
        away = False
        while not self._stop.is_set():
            try:
                now = LockerAlerts.of(self._ask())
                if away:
                    log.info("the locker daemon answers again")
                away = False
            except Exception as exc:  # the daemon restarting, or not installed: no alerts to show
                if not away:
                    log.warning("locker alerts: the daemon does not answer (%s); trying every %.0f s",
                                getattr(exc, "message", exc), self.poll)
                away = True
                now = LockerAlerts()
            if now != self.alerts:
                self.alerts = now
                self.post(lambda now=now: self.on_change(now))
            self._stop.wait(self.poll)
