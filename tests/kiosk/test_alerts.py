"""The locker's alerts over any kiosk screen: the real locker daemon on the lock-board
simulator (its own process); a door left open (请关好3号柜门) shows over whatever screen
is up, is said in elderly mode, and goes when the door is shut; a code refused at the
locker's own scanner (the scanner simulator) shows in the resident's words and can be
dismissed."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from appliance.config import load
from appliance.keys import TrustedKeys
from kiosk.flows.doors import LockerDoors
from locker.daemon import socket_path, store_path
from tests.kiosk.conftest import with_kiosk
from tests.kiosk.journeys import bus, kiosk_config_on, running_bus, scanning_locker, server_key, texts  # noqa: F401
from tests.locker.conftest import CONFIG, DOORS, LOCKER, Client, door


@pytest.fixture
def hasty_locker(tmp_path, bus, server_key):
    """The locker daemon (its own process) asking for a door left open after 1 s."""
    from tests.locker.conftest import DaemonProcess

    data = tmp_path / "locker"
    data.mkdir()
    TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
    path = tmp_path / "locker.toml"
    path.write_text(CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS, oos="8", prompt=1,
                                  alarm=120, sync="false"), encoding="utf-8")
    config = load(path)
    with DaemonProcess(str(path)) as process:
        yield SimpleNamespace(process=process, config=config, client=Client(socket_path(config), store_path(config)),
                              doors=LockerDoors(socket_path(config), poll=0.02))


def banner_text(app) -> str:
    return " ".join(texts(app.alerts))


def speaking_app(make_app, config, tmp_path):
    played = tmp_path / "played"
    player = tmp_path / "player.sh"
    player.write_text(f"#!/bin/sh\necho \"$1\" >> {played}\n")
    player.chmod(0o755)
    app = make_app(with_kiosk(config, audio_player=str(player)))
    return app, played


def test_a_door_left_open_shows_over_any_screen_is_said_and_goes_when_shut(make_app, tmp_path, qtbot, tap, bus,
                                                                          hasty_locker, artifacts):
    app, played = speaking_app(make_app, kiosk_config_on(tmp_path, hasty_locker), tmp_path)
    tap(app, "header-elderly")
    tap(app, "tile-guide")  # a resident reading the service guide meanwhile
    app.start_locker_watch(poll=0.2)
    assert not app.alerts.isVisible()

    answer = hasty_locker.client("open", door=3, by="test")  # a maintainer opens door 3 and walks off
    hasty_locker.client.wait_opening(answer["opening"]["id"], "opened")
    qtbot.waitUntil(app.alerts.isVisible, timeout=10000)
    assert "请关好3号柜门" in banner_text(app)
    app.grab().save(str(artifacts / "door-left-open-elderly.png"))
    assert app.navigator.current.name == "guide"  # over the screen, which stays
    assert app.alerts.geometry().intersects(app.navigator.current.geometry())
    qtbot.waitUntil(lambda: played.exists() and "alerts.close_door_spoken.wav" in played.read_text(), timeout=5000)

    tap(app, "header-language")  # the banner speaks the screen's language
    qtbot.waitUntil(lambda: "Please close door 3" in banner_text(app), timeout=5000)

    door(bus, 3, "close")
    qtbot.waitUntil(lambda: not app.alerts.isVisible(), timeout=10000)
    assert app.alerts.rows == []
    assert played.read_text().count("alerts.close_door_spoken.wav") == 1  # said once


def test_a_code_refused_at_the_locker_s_scanner_shows_in_the_resident_s_words(make_app, tmp_path, qtbot, tap,
                                                                             scanning_locker, artifacts):
    app = make_app(kiosk_config_on(tmp_path, scanning_locker))
    if "scanner" not in scanning_locker.client("state"):
        pytest.skip("this locker daemon does not report its scanner's refusals (locker/api.py SCANNER)")
    app.start_locker_watch(poll=0.2)
    tap(app, "tile-pickup")  # the resident types at the kiosk, then tries the locker's scanner instead
    scanning_locker.scanner.request(cmd="scan", code="https://example.org/not-a-locker-code")
    qtbot.waitUntil(app.alerts.isVisible, timeout=10000)
    text = banner_text(app)
    assert "柜机扫码未通过" in text and "无法识别此二维码" in text, text
    app.grab().save(str(artifacts / "scanner-refusal.png"))
    tap(app, "alert-dismiss-refusal")
    assert not app.alerts.isVisible()
    app.start_locker_watch()  # already watching: no second watch
    qtbot.wait(600)
    assert not app.alerts.isVisible(), "a dismissed refusal stays dismissed"
