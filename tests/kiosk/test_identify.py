"""Identify end to end: the ID card simulator on a pty, the card read by the app's
card watch, the face check on the synthetic camera's rehearsal resident, welcome
by name; the fallbacks; the card pulled ends the session."""
from __future__ import annotations

import gc

import pytest
from PySide6.QtWidgets import QAbstractButton

from kiosk.flows.identify import Step
from tests.kiosk.conftest import resident_data, wait_screen

ZHANG, LI = 0, 1  # cards of assets/demo/idcards.json


def identify_screen(app):
    return app.navigator.screens["identify"]


@pytest.mark.ui_stall
def test_a_card_placed_at_home_leads_to_the_face_check_and_welcome_by_name(card_app, idreader, qtbot):
    from kiosk.stall import StallMeter

    meter = StallMeter().start()
    idreader.request(cmd="insert", card=ZHANG)
    wait_screen(qtbot, card_app, "identify")
    screen = identify_screen(card_app)
    qtbot.waitUntil(lambda: screen.flow.step is Step.WELCOME, timeout=15000)
    meter.stop()
    assert card_app.session.resident.name == "张晓明"
    assert card_app.session.resident.verified_by == "face"
    welcome = card_app.findChild(type(card_app.header.clock), "identify-welcome")
    assert "张晓明" in welcome.text()
    assert meter.worst_ms < 100, f"the UI thread stalled {meter.worst_ms:.0f} ms"


def test_pulling_the_card_away_ends_the_session(card_app, idreader, qtbot):
    idreader.request(cmd="insert", card=LI)
    screen = identify_screen(card_app)
    qtbot.waitUntil(lambda: screen.flow.step is Step.WELCOME, timeout=15000)
    idreader.request(cmd="remove")
    qtbot.waitUntil(lambda: card_app.session.resident is None, timeout=5000)
    assert card_app.navigator.current.name == "home"
    qtbot.wait(50)
    gc.collect()
    assert resident_data(card_app) == []


def test_an_unreadable_card_says_what_to_try(card_app, idreader, qtbot):
    idreader.request(cmd="fault", fault="pull_after_select")
    idreader.request(cmd="insert", card=ZHANG)
    wait_screen(qtbot, card_app, "identify")
    screen = identify_screen(card_app)
    qtbot.waitUntil(lambda: screen.flow.step is Step.UNREADABLE, timeout=10000)
    qtbot.waitUntil(lambda: "平放" in " ".join(
        w.text() for w in screen.findChildren(type(card_app.header.clock))), timeout=10000)
    assert card_app.session.resident is None


def test_a_tile_asks_for_the_card_then_continues_to_its_journey(card_app, idreader, qtbot, tap):
    if "residence" not in card_app.navigator.screens:
        pytest.skip("the residence journey is not registered")
    tap(card_app, "tile-residence")
    wait_screen(qtbot, card_app, "identify")
    assert identify_screen(card_app).flow.step is Step.WAITING
    idreader.request(cmd="insert", card=ZHANG)
    wait_screen(qtbot, card_app, "residence", timeout=15)
    assert card_app.session.resident.name == "张晓明"


def test_no_camera_means_staff_assisted_with_the_pin(make_app, card_config, idreader, qtbot, tap):
    config = card_config.model_copy(update={"camera": card_config.camera.model_copy(update={"enabled": False})})
    app = make_app(config, watch_cards=True)
    idreader.request(cmd="insert", card=LI)
    wait_screen(qtbot, app, "identify")
    screen = identify_screen(app)
    qtbot.waitUntil(lambda: screen.flow.step is Step.STAFF, timeout=10000)
    for key in "1111":
        tap(app, f"key-{key}")
    tap(app, "key-ok")
    assert screen.flow.step is Step.STAFF and app.session.resident is None
    for key in "2468":
        tap(app, f"key-{key}")
    tap(app, "key-ok")
    assert screen.flow.step is Step.WELCOME
    assert app.session.resident.verified_by == "staff"


def test_a_stranger_fails_three_times_and_is_offered_staff_help(make_app, card_config, idreader, qtbot, tap):
    """The card is Li Xiulan's; in front of the camera stands someone else (the
    astronaut of scikit-image's sample data, turning her head as asked)."""
    import cv2

    from kiosk.identity.sim import RehearsalFace
    from tests.kiosk.identity.conftest import _skimage_data

    app = make_app(card_config, watch_cards=True)
    devices = app.devices
    stranger = cv2.cvtColor(_skimage_data().astronaut(), cv2.COLOR_RGB2BGR)
    devices.face_feed = lambda record: RehearsalFace(devices.engine, stranger, degrees=25)
    idreader.request(cmd="insert", card=LI)
    screen = identify_screen(app)
    qtbot.waitUntil(lambda: screen.flow.step in (Step.FAILED, Step.STAFF, Step.WELCOME), timeout=20000)
    assert screen.flow.step is Step.FAILED, (screen.flow.step, screen.flow.failure)
    assert [a.verdict.value for a in screen.flow.decision.attempts] == ["no_match"] * 3
    assert app.session.resident is None
    tap(app, "identify-staff")
    assert screen.flow.step is Step.STAFF


def test_after_an_idle_timeout_mid_journey_no_resident_data_is_left(make_app, card_config, idreader, qtbot, tap):
    from tests.kiosk.conftest import HOUSEHOLDS, sync_records, with_kiosk

    sync_records(card_config, *HOUSEHOLDS)
    app = make_app(with_kiosk(card_config, idle_seconds=2, countdown_seconds=1), watch_cards=True)
    tap(app, "tile-residence")
    idreader.request(cmd="insert", card=ZHANG)
    wait_screen(qtbot, app, "residence", timeout=20)
    screen = app.navigator.screens["residence"]
    qtbot.waitUntil(lambda: screen.proof is not None)
    tap(app, "purpose-school")
    assert resident_data(app)  # the walk sees what is there while the session runs
    qtbot.waitUntil(app.countdown.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: app.navigator.current.name == "home", timeout=5000)
    qtbot.wait(50)
    gc.collect()
    assert app.session.resident is None
    assert resident_data(app) == []


def with_identity(config, **changes):
    return config.model_copy(update={"identity": config.identity.model_copy(update=changes)})


@pytest.mark.parametrize("fallback", ["staff", "video", "none"])
def test_no_reference_photo_offers_what_the_fallback_says(make_app, card_config, idreader, qtbot, tap, fallback):
    """Li Xiulan has no household photo and the card's photo is not a source: no reference."""
    config = with_identity(card_config, reference_sources=["household"], fallback=fallback)
    app = make_app(config, watch_cards=True)
    idreader.request(cmd="insert", card=LI)
    screen = identify_screen(app)
    def shown() -> str:
        return " ".join(w.text() for w in screen.findChildren(type(app.header.clock)) if w.isVisible())

    qtbot.waitUntil(lambda: screen.flow.step in (Step.FAILED, Step.STAFF, Step.WELCOME), timeout=45000)
    assert screen.flow.why_staff == "no_reference"
    # the step is the worker's; the screen shows it when the UI thread takes the result
    qtbot.waitUntil(lambda: "没有可以比对的照片" in shown(), timeout=10000)
    texts = shown()
    buttons = {b.objectName() for b in screen.findChildren(QAbstractButton) if b.isVisible()}
    if fallback == "staff":
        assert screen.flow.step is Step.STAFF and "key-ok" in buttons and "identify-video" not in buttons
    elif fallback == "video":
        assert screen.flow.step is Step.FAILED
        assert "identify-video" in buttons and "identify-staff" not in buttons and "key-ok" not in buttons
        assert "视频" in texts
        tap(app, "identify-video")
        wait_screen(qtbot, app, "call")
    else:
        assert screen.flow.step is Step.FAILED
        assert not buttons & {"identify-video", "identify-staff", "key-ok"}
        assert "请到服务窗口办理" in texts
    assert app.session.resident is None


def test_attempts_used_up_with_the_video_fallback_offer_only_video(make_app, card_config, idreader, qtbot):
    import cv2

    from kiosk.identity.sim import RehearsalFace
    from tests.kiosk.identity.conftest import _skimage_data

    app = make_app(with_identity(card_config, fallback="video", attempts=1), watch_cards=True)
    devices = app.devices
    stranger = cv2.cvtColor(_skimage_data().astronaut(), cv2.COLOR_RGB2BGR)
    devices.face_feed = lambda record: RehearsalFace(devices.engine, stranger, degrees=25)
    idreader.request(cmd="insert", card=LI)
    screen = identify_screen(app)
    qtbot.waitUntil(lambda: screen.flow.step in (Step.FAILED, Step.STAFF, Step.WELCOME), timeout=45000)
    assert screen.flow.step is Step.FAILED and screen.flow.why_staff == "failed"

    def shown() -> set[str]:
        return {b.objectName() for b in screen.findChildren(QAbstractButton) if b.isVisible()}
    # the new body's buttons are shown at the event loop's next turn (Qt shows a new child
    # of a shown widget later): read right after the step changed, none is visible yet
    qtbot.waitUntil(lambda: "identify-video" in shown(), timeout=3000)
    assert "identify-staff" not in shown()  # a PIN is set, but not asked for


def test_the_card_picture_speaks_the_screen_s_language(kiosk_app, tap, qtbot):
    kiosk_app.go("identify")
    screen = identify_screen(kiosk_app)
    shown = lambda: " ".join(w.text() for w in screen.findChildren(type(kiosk_app.header.clock))  # noqa: E731
                             if w.isVisible())
    assert "居民身份证" in shown()
    tap(kiosk_app, "header-language")
    qtbot.waitUntil(lambda: "ID card" in shown())
    assert "居民身份证" not in shown()
