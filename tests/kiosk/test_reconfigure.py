"""The kiosk app and the server's configuration (kiosk.reconfigure), against the real
server process: the app's own sync agent pulls a ``[kiosk]`` key published for this
kiosk; the app decides to run itself again only once nobody uses it (at home, no
session, ordinary mode, for a few quiet seconds); a record this box cannot load never
makes it restart, and its heartbeat reports it. The restart itself (``python -m
kiosk`` running itself again, appliance.restart) is replaced by a recorder here."""
from __future__ import annotations

import threading

from kiosk.session import EndReason
from tests.kiosk.conftest import on_server, wait_screen
from tests.locker.conftest import wait_for


def publish(live_server, tmp_path, device_id: str, fragment: str) -> None:
    path = tmp_path / "fragment.toml"
    path.write_text(fragment, encoding="utf-8")
    live_server.run_cli("config", "set", "--community", "示范社区", "--device-id", device_id, "--file", str(path))


def heartbeat_config(live_server, device_id: str) -> dict:
    from sqlalchemy import select

    from sync.server import db
    from sync.server.models import Device

    engine = db.create(live_server.database_url)
    try:
        with engine.connect() as conn:
            health = conn.execute(select(Device.health).where(Device.device_id == device_id)).scalar_one_or_none()
    finally:
        engine.dispose()
    return ((health or {}).get("peripherals") or {}).get("config") or {}


def test_a_published_kiosk_key_restarts_the_app_only_once_nobody_uses_it(make_app, kiosk_config, live_server,
                                                                           qtbot, tmp_path):
    from kiosk.screenshots import DEMO_RESIDENT

    app = make_app(on_server(kiosk_config, live_server, interval_s=1), sync=True)
    qtbot.waitUntil(lambda: app.devices.agent is not None and app.devices.agent.enrolled, timeout=30000)
    device_id = app.config.appliance.id
    follower = app.config_restart
    restarts: list[list[str]] = []
    follower.restart = lambda: restarts.append(list(follower.keys))
    follower.settle_s = 1.5
    rounds = threading.Semaphore(0)
    app.devices.synced.append(lambda _done: rounds.release())

    # an ID card reader port this box does not have: the server cannot know; the box refuses it and says so
    publish(live_server, tmp_path, device_id, '[idcard]\nurl = "serial:///dev/ttyUSB-nowhere"\n')
    report = wait_for(lambda: heartbeat_config(live_server, device_id).get("state") == "degraded"
                      and heartbeat_config(live_server, device_id), 30, "the refused record in the heartbeat")
    assert "idcard.url = 'serial:///dev/ttyUSB-nowhere': no such serial port on this box" in report["detail"]
    for _ in range(2):
        assert rounds.acquire(timeout=20)
    qtbot.wait(200)
    assert follower.pending is None and restarts == []

    # a resident is at the guide when the admin sets a longer idle time for this kiosk
    app.session.identify(DEMO_RESIDENT)
    app.go("guide")
    wait_screen(qtbot, app, "guide")
    publish(live_server, tmp_path, device_id, "[kiosk]\nidle_seconds = 90\n")
    qtbot.waitUntil(lambda: follower.pending is not None, timeout=20000)
    assert follower.keys == ["kiosk.idle_seconds"] and follower.pending.config.kiosk.idle_seconds == 90
    assert app.config.kiosk.idle_seconds == 60  # the app runs what it started with until it restarts
    qtbot.wait(2500)
    assert restarts == []

    # home, but she switched to the elderly mode there: she is about to start
    app.end_session(EndReason.HOME)
    wait_screen(qtbot, app, "home")
    app.set_elderly(True)
    qtbot.wait(2500)
    assert restarts == []

    app.set_elderly(False)  # gone: home, quiet, ordinary mode
    qtbot.waitUntil(lambda: restarts != [], timeout=10000)
    assert restarts == [["kiosk.idle_seconds"]]
    assert heartbeat_config(live_server, device_id)["data"]["keys"] == {"kiosk.idle_seconds": f"device:{device_id}"}
