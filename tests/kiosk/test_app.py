"""The app's frame: screens registered, language and elderly switches, jobs off the
UI thread, idle countdown then home with the session dropped, screenshots."""
from __future__ import annotations

import threading
import time

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QAbstractButton

from kiosk.session import EndReason
from kiosk.screenshots import DEMO_RESIDENT
from tests.kiosk.conftest import resident_data, wait_screen, with_kiosk
from tests.kiosk.journeys import bus, locker, running_bus, server_key  # noqa: F401


def test_the_app_starts_at_home_with_the_community_and_a_cjk_font(kiosk_app):
    assert QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    assert kiosk_app.navigator.current.name == "home"
    assert kiosk_app.header.community.text() == "示范社区"
    assert {"home", "error"} <= set(kiosk_app.navigator.screens)


def test_every_button_is_at_least_15_mm(kiosk_app, qtbot):
    for elderly in (False, True):
        kiosk_app.set_elderly(elderly)
        qtbot.wait(10)
        touch = kiosk_app.theme.mm(15)
        for button in kiosk_app.findChildren(QAbstractButton):
            if button.isVisible():
                assert min(button.width(), button.height()) >= touch, (button.objectName(), button.size())


def test_the_language_switch_is_on_every_screen(kiosk_app, tap, qtbot):
    tap(kiosk_app, "header-language")
    assert kiosk_app.i18n.lang == "en"
    assert kiosk_app.header.language.text() == "中文"
    for name in kiosk_app.navigator.screens:
        kiosk_app.navigator.go(name)
        kiosk_app._retranslate_chrome()
        assert kiosk_app.header.language.isVisible(), name
    tap(kiosk_app, "header-language")
    assert kiosk_app.i18n.lang == "zh"


def test_elderly_mode_scales_text_and_slows_timeouts(kiosk_app, tap):
    normal_text, normal_idle = kiosk_app.theme.body, kiosk_app.timeouts().idle_s
    tap(kiosk_app, "header-elderly")
    assert kiosk_app.elderly
    assert kiosk_app.theme.body >= normal_text * 1.3
    assert kiosk_app.timeouts().idle_s == normal_idle * kiosk_app.settings.elderly_timeout_factor


def test_a_job_runs_off_the_ui_thread_and_reports_on_it(kiosk_app, qtbot):
    ui = threading.get_ident()
    seen = {}

    def work(report):
        seen["worker"] = threading.get_ident()
        report(0.5)
        time.sleep(0.05)
        return 42

    kiosk_app.jobs.run(work, progress=True, busy="…", on_progress=lambda v: seen.setdefault("progress", (v, threading.get_ident())),
                       on_done=lambda r: seen.setdefault("done", (r, threading.get_ident())))
    assert kiosk_app.busy.isVisible()
    qtbot.waitUntil(lambda: "done" in seen)
    assert seen["worker"] != ui
    assert seen["progress"] == (0.5, ui) and seen["done"] == (42, ui)
    qtbot.waitUntil(lambda: not kiosk_app.busy.isVisible())


def test_a_failed_job_shows_what_to_do_next(kiosk_app, qtbot):
    from drivers.printer.errors import PrinterError

    def fail():
        raise PrinterError("打印机缺纸 / The printer is out of paper", hint="add paper")

    kiosk_app.jobs.run(fail)
    wait_screen(qtbot, kiosk_app, "error")
    text = " ".join(w.text() for w in kiosk_app.navigator.current.findChildren(type(kiosk_app.header.clock)))
    assert "打印机缺纸" in text and "工作人员" in text


def test_a_job_of_an_ended_session_never_calls_back(kiosk_app, qtbot):
    called = []
    gate = threading.Event()
    kiosk_app.session.identify(DEMO_RESIDENT)
    kiosk_app.jobs.run(gate.wait, 5, on_done=called.append)
    kiosk_app.end_session(EndReason.HOME)
    gate.set()
    qtbot.wait(200)
    assert called == []


def test_idle_shows_a_countdown_then_goes_home_and_drops_the_session(make_app, kiosk_config, qtbot):
    app = make_app(with_kiosk(kiosk_config, idle_seconds=1, countdown_seconds=1))
    app.session.identify(DEMO_RESIDENT)
    app.session.scratch["residence"] = {"purpose": "school"}
    app.navigator.go("error")
    qtbot.waitUntil(app.countdown.isVisible, timeout=3000)
    assert app.countdown.seconds.text() == "1"
    qtbot.waitUntil(lambda: app.navigator.current.name == "home", timeout=3000)
    assert not app.countdown.isVisible()
    assert app.session.resident is None and app.session.scratch == {}
    qtbot.wait(50)
    assert resident_data(app) == []


def test_a_touch_during_the_countdown_keeps_the_session(make_app, kiosk_config, qtbot, tap):
    app = make_app(with_kiosk(kiosk_config, idle_seconds=1, countdown_seconds=3))
    app.session.identify(DEMO_RESIDENT)
    app.navigator.go("error")
    qtbot.waitUntil(app.countdown.isVisible, timeout=3000)
    tap(app, "idle-stay")
    assert not app.countdown.isVisible()
    assert app.session.resident is DEMO_RESIDENT


def test_screenshots_render_every_state_in_three_variants(kiosk_app, tmp_path):
    from PySide6.QtGui import QImage

    from kiosk.screenshots import render_all

    written = render_all(kiosk_app, tmp_path, only="home")
    assert [p.name for p in written] == ["home-tiles-zh.png", "home-tiles-en.png", "home-tiles-zh-elderly.png"]
    image = QImage(str(written[0]))
    assert (image.width(), image.height()) == (1920, 1080)


def test_the_strip_shows_the_synced_announcements_of_this_community(make_app, kiosk_config, qtbot, tap):
    from tests.kiosk.conftest import sync_records

    sync_records(kiosk_config,
                 ("announcement", "示范社区/a1", {"text": "周五下午停水", "text_en": "No water on Friday afternoon",
                                                "community": "示范社区", "order": 1}),
                 ("announcement", "另一社区/a2", {"text": "别处的通知", "community": "另一社区"}),
                 ("announcement", "示范社区/old", {"text": "过期通知", "ends": "2020-01-01"}))
    app = make_app(kiosk_config)
    qtbot.waitUntil(lambda: app.strip.items == ["周五下午停水"], timeout=5000)
    assert app.strip.isVisible()
    tap(app, "header-language")
    qtbot.waitUntil(lambda: app.strip.items == ["No water on Friday afternoon"], timeout=5000)


def test_idle_on_the_pickup_keypad_with_digits_typed_goes_home_and_forgets_them(make_app, tmp_path, qtbot, tap,
                                                                                 locker):
    """The pickup screen watches the locker's scanner for as long as its keypad waits
    (a job): the watch does not hold the idle countdown; the session's end stops it."""
    from PySide6.QtWidgets import QLabel

    from tests.kiosk.journeys import kiosk_config_on

    app = make_app(with_kiosk(kiosk_config_on(tmp_path, locker), idle_seconds=1, countdown_seconds=1))
    tap(app, "tile-pickup")
    wait_screen(qtbot, app, "pickup")
    for digit in "3725":
        tap(app, f"pickup-key-{digit}")
    assert app.session.scratch["pickup"].digits == "3725"
    assert any(job.watch for job in app.jobs.running.values()), "the scanner watch runs"
    qtbot.waitUntil(app.countdown.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: app.navigator.current.name == "home", timeout=5000)
    assert "pickup" not in app.session.scratch
    assert not [job for job in app.jobs.running.values() if job.watch]
    digits = [w.text() for w in app.findChildren(QLabel) if w.objectName().startswith("code-digit")]
    assert not any(digits), digits


def test_idle_waits_while_a_video_call_is_queued_or_live(make_app, kiosk_config, qtbot):
    app = make_app(with_kiosk(kiosk_config, idle_seconds=1, countdown_seconds=1))
    screen = app.navigator.screens["call"]
    states = {state.name: state for state in type(screen).states()}
    app.session.identify(DEMO_RESIDENT)
    app.navigator.go("call")
    for step in ("queued", "in_call"):
        states[step].setup(screen)
        assert app.holds_session()
        qtbot.wait(3500)  # past the idle time and the countdown
        assert not app.countdown.isVisible() and app.navigator.current.name == "call", step
        assert app.session.resident is DEMO_RESIDENT
    states["ended"].setup(screen)  # the call is over: nobody touching the screen is idle again
    assert not app.holds_session()
    qtbot.waitUntil(app.countdown.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: app.navigator.current.name == "home", timeout=5000)
    assert app.session.resident is None


def test_a_disposed_window_is_deleted_at_once_with_everything_on_it(kiosk_config, qapp):
    from shiboken6 import Shiboken

    from kiosk.app import KioskApp

    app = KioskApp(kiosk_config)
    app.show()
    screen = app.navigator.screens["home"]
    app.dispose()
    # gone before the interpreter's exit clean-up could get to it
    assert not Shiboken.isValid(app)
    assert not Shiboken.isValid(screen)
