"""Admin mode: who may enter (a staff card listed in ``[kiosk] admin_cards`` or the
PIN ``[kiosk] admin_pin``; never a hidden tap alone), and what staff do there:
device status (``doctor``), a test print, a door opened through the locker daemon,
a sync round now, the recent logs; leaving fullscreen takes a second factor
(``[kiosk] exit_pin``). Plain Python, blocking calls for worker threads.

Wrong PINs are counted: after ``MAX_WRONG`` in a row the gate stays shut for
``LOCKOUT_S`` seconds (a PIN of four digits must not be guessed at a public kiosk).
"""
from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger("kiosk.admin")

MAX_WRONG = 5
LOCKOUT_S = 300.0


class AdminGate:
    def __init__(self, pin: str, cards: list[str], exit_pin: str, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.pin, self.exit_pin = pin, exit_pin
        self.cards = {c.upper() for c in cards}
        self.clock = clock
        self.wrong = 0
        self.locked_until = 0.0

    @property
    def locked(self) -> bool:
        return self.clock() < self.locked_until

    def _check(self, given: str, secret: str) -> bool:
        if self.locked or not secret:
            return False
        if hmac.compare_digest(given.encode(), secret.encode()):
            self.wrong = 0
            return True
        self.wrong += 1
        if self.wrong >= MAX_WRONG:
            self.locked_until = self.clock() + LOCKOUT_S
            self.wrong = 0
            log.warning("admin: %d wrong PINs: locked for %d s", MAX_WRONG, LOCKOUT_S)
        return False

    def by_pin(self, pin: str) -> bool:
        ok = self._check(pin, self.pin)
        log.info("admin: PIN %s", "accepted" if ok else "refused")
        return ok

    def by_card(self, uid: str) -> bool:
        ok = uid.upper() in self.cards
        log.info("admin: staff card %s", "accepted" if ok else "refused")
        return ok

    def may_leave_fullscreen(self, pin: str) -> bool:
        """The second factor, asked again inside admin mode."""
        ok = self._check(pin, self.exit_pin)
        log.warning("admin: leaving fullscreen %s", "allowed" if ok else "refused")
        return ok


@dataclass(frozen=True)
class DeviceRow:
    device: str
    state: str
    detail: str
    fix: str


def device_status(config: Any, doors: Any = None) -> list[DeviceRow]:
    """``python -m drivers doctor`` for this kiosk's devices, and the locker daemon's
    own view of its boards (it owns the lock buses and the scanner: asking them here
    would fight it for the ports). Blocking, seconds."""
    from drivers.doctor import doctor
    own = config.model_copy(update={"lockboard": [],
                                    "scanner": config.scanner.model_copy(update={"enabled": False})})
    rows = [DeviceRow(h.device, h.state.upper(), h.detail, h.fix) for h in doctor(own)]
    if doors is not None and config.lockboard:
        try:
            state = doors.state()
        except Exception as exc:  # the daemon down is a row of the report, not a failure of it
            rows.append(DeviceRow("locker daemon", "DOWN", str(getattr(exc, "message", "") or exc),
                                  "systemctl status kiosk-locker; its log says why"))
        else:
            boards = state.get("boards", [])
            online = sum(1 for b in boards if b.get("online"))
            rows.append(DeviceRow("locker daemon", "OK" if online == len(boards) else "DEGRADED",
                                  f"{online} of {len(boards)} boards online, {len(state.get('doors', []))} doors",
                                  "" if online == len(boards) else "python -m locker status"))
    return rows


def test_print(config: Any) -> Any:
    """A test page on the configured printer; the job's outcome (blocking)."""
    from appliance.demo import test_page
    from drivers.printer import Printer
    return Printer(config.printer.url).print_pdf(test_page(config), title="kiosk admin test page", timeout=60)


def open_door(doors: Any, door: int) -> dict[str, Any]:
    """Ask the locker daemon to open door ``door`` for maintenance (blocking)."""
    return doors.request("open", door=door, by="kiosk admin")
