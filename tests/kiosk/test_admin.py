"""Admin mode: the PIN (never a hidden tap), a lock-out after wrong PINs, device
status, a test print through the private cupsd, logs with ID numbers masked, and
leaving fullscreen only with the second factor; a door opened through the locker
daemon (sync now: tests/kiosk/test_sync.py, against the real server)."""
from __future__ import annotations

import logging

from kiosk.flows.admin import MAX_WRONG, AdminGate
from tests.kiosk.conftest import wait_screen, with_kiosk, write_config
from tests.kiosk.journeys import bus, locker, running_bus, server_key  # noqa: F401
from tests.support import require


def enter(tap, app, digits: str) -> None:
    for key in digits:
        tap(app, f"key-{key}")
    tap(app, "key-ok")


def test_the_gate_locks_after_wrong_pins():
    now = [0.0]
    gate = AdminGate("2468", ["04A1B2C3"], "1357", clock=lambda: now[0])
    for _ in range(MAX_WRONG):
        assert not gate.by_pin("0000")
    assert gate.locked and not gate.by_pin("2468")
    now[0] += 301
    assert gate.by_pin("2468")
    assert gate.by_card("04a1b2c3") and not gate.by_card("DEADBEEF")
    assert not gate.may_leave_fullscreen("2468") and gate.may_leave_fullscreen("1357")
    assert not AdminGate("", [], "").by_pin("")  # nothing configured: nobody gets in


def test_admin_mode_with_the_pin_shows_devices_prints_a_test_page_and_logs(make_app, tmp_path, cupsd, qtbot, tap):
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    config = with_kiosk(write_config(tmp_path, printer_url=cupsd.url(cupsd.pdf_queue)), admin_pin="2468",
                        exit_pin="1357")
    app = make_app(config)
    tap(app, "home-admin")
    wait_screen(qtbot, app, "admin")
    enter(tap, app, "1111")
    assert not app.admin
    enter(tap, app, "2468")
    assert app.admin
    screen = app.navigator.screens["admin"]
    qtbot.waitUntil(lambda: isinstance(screen.result, list), timeout=30000)
    assert any(row.device.startswith("printer") and row.state == "OK" for row in screen.result), screen.result
    assert not any(row.device.startswith("lockboard") for row in screen.result)  # the daemon's

    tap(app, "admin-print")
    tap(app, "admin-test-print")
    qtbot.waitUntil(lambda: screen.result is not None, timeout=30000)
    assert screen.result.ok

    logging.getLogger("kiosk.test").info("card 11010519491231002X seen")
    tap(app, "admin-logs")
    logs = "\n".join(screen.result)
    assert "1101**********002X" in logs and "11010519491231002X" not in logs

    tap(app, "admin-fullscreen")
    enter(tap, app, "2468")  # the admin PIN is not the second factor
    assert not app.fullscreen_left
    enter(tap, app, "1357")
    assert app.fullscreen_left

    tap(app, "admin-logout")
    assert not app.admin and app.navigator.current.name == "home"


def test_admin_opens_a_door_through_the_locker_daemon(make_app, tmp_path, qtbot, tap, locker, bus):
    """The locker daemon (on the lock-board simulator) opens the door staff type; the
    board sees the unlock and the door stands open; a door that does not exist is
    refused in the locker's words, and nothing opens."""
    from tests.kiosk.journeys import doors_of, is_open, kiosk_config_on
    from tests.locker.conftest import door, wait_for

    app = make_app(with_kiosk(kiosk_config_on(tmp_path, locker), admin_pin="2468"))
    tap(app, "home-admin")
    enter(tap, app, "2468")
    screen = app.navigator.screens["admin"]
    tap(app, "admin-door")
    assert not is_open(bus, 3)
    enter(tap, app, "3")
    qtbot.waitUntil(lambda: isinstance(screen.result, dict), timeout=15000)
    assert screen.result["door"] == 3
    wait_for(lambda: is_open(bus, 3), what="door 3 to open")
    # the result is the worker's; the screen says it once the UI thread has taken it
    qtbot.waitUntil(lambda: "3 号门已打开" in " ".join(
        w.text() for w in screen.findChildren(type(app.header.clock)) if w.isVisible()), timeout=10000)
    opening = locker.client("opening", id=screen.result["opening"]["id"])["opening"]
    assert opening["purpose"] == "maintenance"
    door(bus, 3, "close")
    locker.client.wait_opening(opening["id"], "closed")

    enter(tap, app, "99")
    qtbot.waitUntil(lambda: bool(screen.message), timeout=15000)
    assert screen.result is None and "找不到该柜门" in screen.message, screen.message
    assert doors_of(bus) == []
