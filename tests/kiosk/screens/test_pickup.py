"""The pickup screen end to end: the keypad on the real app (offscreen), the real
locker daemon on the lock-board simulator (its own process), the door opened and
shut, refusals shown in the resident's words; the UI thread never stalls."""
from __future__ import annotations

import pytest

from PySide6.QtWidgets import QFrame, QLabel, QPushButton

from kiosk.flows.pickup import Step
from tests.kiosk.conftest import wait_screen, with_kiosk
from tests.kiosk.journeys import (bus, locker_process, scanning_locker, door, is_open, kiosk_config_on,  # noqa: F401
                                  result_waiting, running_bus, server_key, texts, visible, wait_for)
from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, warm_up



@pytest.fixture
def locker(locker_process):
    """The locker daemon as its own process, as on the appliance."""
    return locker_process

def type_code(tap, app, digits: str) -> None:
    for d in digits:
        tap(app, f"pickup-key-{d}")


@pytest.mark.ui_stall
def test_typing_the_code_opens_the_door_and_shutting_it_finishes(tmp_path, make_app, tap, qtbot, locker, bus,
                                                                 server_key):
    issued = result_waiting(locker, bus, server_key, "SF-SCREEN-1")
    app = make_app(kiosk_config_on(tmp_path, locker))
    warm_up(app, qtbot, "pickup")
    stall, worst = Stalls().start(), {}
    tap(app, "tile-pickup")
    wait_screen(qtbot, app, "pickup")
    type_code(tap, app, issued["short"][:7] + "0")
    tap(app, "pickup-key-back")
    type_code(tap, app, issued["short"][7])
    qtbot.waitUntil(lambda: visible(app, QLabel, "code-digit-7") is not None
                    and visible(app, QLabel, "code-digit-7").text() == issued["short"][7])
    assert [visible(app, QLabel, f"code-digit-{i}").text() for i in range(8)] == list(issued["short"])
    # the locker's work (the unlock, the door seen open, then shut) runs off the UI thread:
    # measured from the tap to the end (the test's own calls to the simulator run on this
    # thread too, so they stay outside the measured spans)
    stall.reset()
    tap(app, "pickup-open")
    try:
        qtbot.waitUntil(lambda: visible(app, QFrame, "door-panel") is not None, timeout=10000)
    except Exception:
        flow = app.session.scratch.get("pickup")
        raise AssertionError(f"{flow and flow.step} {flow and flow.refusal} {app.navigator.current.name}")
    worst["open"] = (stall.own_worst_ms, stall.report())
    assert visible(app, QLabel, "door-panel-door").text() == f"{issued['door']} 号柜门"
    assert is_open(bus, issued["door"])
    door(bus, issued["door"], "close")
    stall.reset()
    qtbot.waitUntil(lambda: visible(app, QFrame, "pickup-done") is not None, timeout=10000)
    worst["done"] = (stall.own_worst_ms, stall.report())
    stall.stop()
    assert locker.client.case("SF-SCREEN-1")["state"] == "picked_up"
    # no device work on the UI thread: the unlock, the door seen open, then shut
    assert max(worst.values())[0] < LIMIT_MS, max(worst.values())[1]
    tap(app, "pickup-home")
    wait_screen(qtbot, app, "home")
    assert "pickup" not in app.session.scratch  # nothing of the code or the door stays


def refusal_texts(app) -> list[str]:
    return texts(visible(app, QFrame, "pickup-refusal"))


def test_a_wrong_code_is_explained_in_chinese_first_then_english(tmp_path, make_app, tap, qtbot, locker):
    app = make_app(kiosk_config_on(tmp_path, locker))
    app.go("pickup")
    type_code(tap, app, "00000000")
    tap(app, "pickup-open")
    qtbot.waitUntil(lambda: any(t.startswith("取件码不正确") for t in refusal_texts(app)), timeout=10000)
    tap(app, "header-language")
    qtbot.waitUntil(lambda: any(t.startswith("That pickup code is not right") for t in refusal_texts(app)))
    assert app.session.scratch["pickup"].step is Step.REFUSED


def test_too_many_wrong_codes_lock_the_keypad_with_a_countdown(tmp_path, make_app, tap, qtbot, locker):
    app = make_app(kiosk_config_on(tmp_path, locker))
    app.go("pickup")
    for tries in range(6):
        type_code(tap, app, "11111111")
        tap(app, "pickup-open")
        qtbot.waitUntil(lambda: app.session.scratch["pickup"].step is Step.REFUSED and bool(refusal_texts(app))
                        and visible(app, QLabel, "code-digit-0").text() == "", timeout=10000)
    flow = app.session.scratch["pickup"]
    assert flow.refusal.reason == "backing_off" and flow.wait_seconds() > 30
    assert not visible(app, QPushButton, "pickup-key-1").isEnabled()
    assert not visible(app, QPushButton, "pickup-open").isEnabled()
    assert any("秒后再试" in t for t in refusal_texts(app)), refusal_texts(app)


@pytest.mark.ui_stall
def test_a_code_already_picked_up_is_said_so_not_called_wrong(tmp_path, make_app, tap, qtbot, locker, bus,
                                                             server_key):
    issued = result_waiting(locker, bus, server_key, "SF-SCREEN-USED")
    taken = locker.client("pickup", code=issued["short"])  # she took the papers out earlier
    locker.client.wait_opening(taken["opening"]["id"], "opened")
    door(bus, issued["door"], "close")
    wait_for(lambda: locker.client.case("SF-SCREEN-USED")["state"] == "picked_up", what="picked up")
    app = make_app(with_kiosk(kiosk_config_on(tmp_path, locker), spoken_prompts="always", audio_player="true"))
    app.go("pickup")
    type_code(tap, app, issued["short"])
    tap(app, "pickup-open")
    qtbot.waitUntil(lambda: any(t.startswith("已取件") for t in refusal_texts(app)), timeout=10000)
    assert not any("不正确" in t for t in refusal_texts(app))
    assert app.session.scratch["pickup"].refusal.reason == "picked_up"
    assert visible(app, QLabel, "code-digit-0").text() == ""  # a spent code is not kept on the screen
    assert app.voice.spoken[-1] == "doors.picked_up"  # said aloud too (its recording exists)
    tap(app, "header-language")
    qtbot.waitUntil(lambda: any(t.startswith("Already picked up") for t in refusal_texts(app)))
    assert not is_open(bus, issued["door"])


@pytest.mark.parametrize("state, words", [
    ("short-code-expired", "取件码已过期，材料已退回网格员，请联系网格员"),
    ("short-code-used", "已取件"), ("short-code-replaced", "此取件码已更换")])
def test_each_stale_code_has_its_own_words_on_the_screen(kiosk_app, qtbot, state, words):
    app = kiosk_app
    app.go("pickup")
    screen = app.navigator.current
    {s.name: s for s in screen.states()}[state].setup(screen)
    qtbot.waitUntil(lambda: any(t.startswith(words) for t in refusal_texts(app)))


@pytest.mark.ui_stall
def test_a_qr_shown_to_the_lockers_scanner_shows_its_door_here(tmp_path, make_app, tap, qtbot, scanning_locker,
                                                                bus, server_key):
    issued = result_waiting(scanning_locker, bus, server_key, "SF-SCANNED-1")
    app = make_app(kiosk_config_on(tmp_path, scanning_locker))
    warm_up(app, qtbot, "pickup")
    tap(app, "tile-pickup")
    wait_screen(qtbot, app, "pickup")
    qtbot.wait(300)  # the watch has taken its first look
    scanning_locker.scanner.request(cmd="scan", code=issued["code"])  # the resident's phone at the scanner
    meter = Stalls().start()  # the watch polls the locker off the UI thread
    qtbot.waitUntil(lambda: visible(app, QFrame, "door-panel") is not None, timeout=15000)
    meter.stop()
    assert meter.own_worst_ms < LIMIT_MS, meter.report()
    assert visible(app, QLabel, "door-panel-door").text() == f"{issued['door']} 号柜门"
    door(bus, issued["door"], "close")
    qtbot.waitUntil(lambda: visible(app, QFrame, "pickup-done") is not None, timeout=15000)
    assert scanning_locker.client.case("SF-SCANNED-1")["state"] == "picked_up"
