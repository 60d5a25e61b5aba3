"""The window's input watch: a finger on the window reaches the idle watch and the
keyboard's hook; the events Qt sends between widgets while a screen is rebuilt do
not call into Python at all; the watch follows the window when Qt makes it again."""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt

from kiosk.screenshots import DEMO_RESIDENT
from tests.kiosk.conftest import finger


def test_a_screen_rebuilt_calls_the_watch_only_for_what_a_person_did(kiosk_app, qtbot):
    seen: list[QEvent.Type] = []
    kiosk_app.input.listeners.append(lambda event: seen.append(event.type()))
    kiosk_app.session.identify(DEMO_RESIDENT)
    screen = kiosk_app.navigator.screens["progress"]
    kiosk_app.navigator.go("progress")
    qtbot.wait(50)
    seen.clear()
    for _ in range(3):
        screen.refresh()
        kiosk_app.repaint()
        qtbot.wait(10)
    # an application-wide filter saw about 2,000 events for each of these refreshes
    assert len(seen) < 30, sorted({kind.name for kind in seen})
    finger(qtbot, kiosk_app.header.language)
    assert QEvent.Type.MouseButtonPress in seen and QEvent.Type.MouseButtonRelease in seen


def test_a_finger_on_the_window_keeps_the_idle_watch_waiting(kiosk_app, qtbot):
    kiosk_app.idle.last_touch -= 30
    before = kiosk_app.idle.last_touch
    finger(qtbot, kiosk_app.header.language)
    assert kiosk_app.idle.last_touch > before + 29


def test_the_watch_follows_the_window_when_qt_makes_it_again(kiosk_app, qtbot):
    first = kiosk_app.windowHandle()
    kiosk_app.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)  # as show_kiosk does
    kiosk_app.show()
    qtbot.waitExposed(kiosk_app)
    seen: list[QEvent.Type] = []
    kiosk_app.input.listeners.append(lambda event: seen.append(event.type()))
    finger(qtbot, kiosk_app.header.language)
    assert QEvent.Type.MouseButtonPress in seen, f"the window was made again: {first is not kiosk_app.windowHandle()}"
