"""One appliance, several programs beating under its key (a kiosk+locker box: the kiosk
app's agent and the locker daemon's), in-process on SQLite and on PostgreSQL: the server
keeps each source's latest beat and merges them, a source gone silent while another
beats is a problem, and two beats at once lose neither."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select, text

from sync.server import db, migrations
from sync.server.admin.fleet import problems, sources
from sync.server.content import now
from sync.server.devices import heartbeat
from sync.server.models import Device
from sync.wire import Heartbeat

GB = 1024 ** 3
BOARD_DOWN = {"state": "down", "detail": "board 1 does not answer", "fix": "check its power and the RS-485 cable"}


def kiosk_beat(printer: str = "down", **more) -> dict:
    return {"source": "kiosk", "software_version": "1.4.0", "free_disk_bytes": 20 * GB, "outbox_pending": 3,
            "peripherals": {"printer": {"state": printer, "detail": "media-empty-error" if printer != "ok" else "",
                                        "fix": "load paper, then cupsenable kiosk" if printer != "ok" else ""},
                            "idcard reader (SAM)": {"state": "ok"}, "config": {"state": "ok"}}, **more}


def locker_beat(**more) -> dict:
    return {"source": "locker", "software_version": "1.4.0", "free_disk_bytes": 15 * GB, "outbox_pending": 2,
            "peripherals": {"lockboard bus0": {"state": "degraded", "detail": "board 1 offline"},
                            "lockboard bus0 board 1": BOARD_DOWN, "config": {"state": "ok"}}, **more}


def health_of(client, device_id: str) -> dict:
    with client.app.state.engine.connect() as conn:
        return conn.execute(select(Device.health).where(Device.device_id == device_id)).scalar_one()


def test_each_source_keeps_its_own_half_and_the_picture_is_merged(client, enrol):
    device = enrol()
    assert device("POST", "/heartbeat", kiosk_beat()).status_code == 200
    assert device("POST", "/heartbeat", locker_beat()).status_code == 200
    assert device("POST", "/heartbeat", kiosk_beat()).status_code == 200  # the kiosk again: the locker's half stays
    health = health_of(client, device.key.device_id)
    assert set(health["sources"]) == {"kiosk", "locker"}
    assert set(health["peripherals"]) == {"printer", "idcard reader (SAM)", "lockboard bus0", "lockboard bus0 board 1",
                                          "config (kiosk)", "config (locker)"}  # both report config: named
    assert health["free_disk_bytes"] == 15 * GB and health["outbox_pending"] == 5
    assert health["software_version"] == "1.4.0"
    assert health["sources"]["kiosk"]["spacings"] and "source" not in health["sources"]["kiosk"]["beat"]
    found = [zh for zh, _en in problems(health)]
    assert any(p.startswith("自助终端程序 · printer 故障：media-empty-error") for p in found), found
    assert any(p.startswith("柜机守护进程 · lockboard bus0 board 1 故障") for p in found), found
    assert not any("未上报" in p for p in found)
    assert next(en for _zh, en in problems(health)).startswith("kiosk app: ")

    # the kiosk's printer gets paper: its problem goes, the locker's stays
    assert device("POST", "/heartbeat", kiosk_beat("ok")).status_code == 200
    found = [zh for zh, _en in problems(health_of(client, device.key.device_id))]
    assert not any("printer" in p for p in found) and any("lockboard bus0 board 1 故障" in p for p in found)

    # the locker daemon updated first: each version shown
    assert device("POST", "/heartbeat", locker_beat(software_version="1.4.1")).status_code == 200
    health = health_of(client, device.key.device_id)
    assert health["software_version"] == "kiosk 1.4.0 / locker 1.4.1"
    assert [(s.key, s.version) for s in sources(health)] == [("kiosk", "1.4.0"), ("locker", "1.4.1")]


def test_a_beat_without_a_source_is_the_appliance_as_before(client, enrol):
    device = enrol()
    legacy = {k: v for k, v in kiosk_beat().items() if k != "source"}
    assert device("POST", "/heartbeat", legacy).status_code == 200
    health = health_of(client, device.key.device_id)
    assert set(health["sources"]) == {"appliance"}
    assert health["peripherals"]["printer"]["state"] == "down" and health["outbox_pending"] == 3
    assert problems(health)[0][0].startswith("printer 故障：")  # one source: named as before
    assert device("POST", "/heartbeat", {**legacy, "source": "Kiosk!"}).status_code == 422
    # the box updated: its programs name themselves, the old picture is not kept silent forever
    assert device("POST", "/heartbeat", locker_beat()).status_code == 200
    assert set(health_of(client, device.key.device_id)["sources"]) == {"locker"}


def test_a_source_silent_for_three_intervals_is_a_problem_while_the_other_beats(client, enrol):
    device = enrol()
    device_id = device.key.device_id
    engine = client.app.state.engine
    started = now()
    with engine.begin() as conn:  # the locker daemon beat every 30 s, until 6 minutes ago
        for minutes in (7, 6.5, 6):
            heartbeat(conn, device_id, Heartbeat.model_validate(locker_beat()), started - timedelta(minutes=minutes))
    assert device("POST", "/heartbeat", kiosk_beat()).status_code == 200  # the kiosk app beats now
    health = health_of(client, device_id)
    locker = next(s for s in sources(health) if s.key == "locker")
    assert locker.silent_for is not None and locker.silent_for >= timedelta(minutes=6)
    silent = [(zh, en) for zh, en in problems(health) if "未上报" in zh]
    assert len(silent) == 1 and silent[0][0].startswith("柜机守护进程 6 分钟未上报")
    assert "systemctl status kiosk-locker" in silent[0][0] and silent[0][1].startswith("locker daemon silent for 6 min")
    assert any("lockboard bus0 board 1 故障" in zh for zh, _en in problems(health))  # its last report still shown

    # 6 minutes is within 3 intervals of a daemon that beats every 150 s
    slow = enrol()
    with engine.begin() as conn:
        for minutes in (11, 8.5, 6):
            heartbeat(conn, slow.key.device_id, Heartbeat.model_validate(locker_beat()),
                      started - timedelta(minutes=minutes))
    assert slow("POST", "/heartbeat", kiosk_beat()).status_code == 200
    assert not [zh for zh, _en in problems(health_of(client, slow.key.device_id)) if "未上报" in zh]

    # every source silent: the device is offline (the page says so once), no source is singled out
    later = now() + timedelta(minutes=30)
    assert all(s.silent_for is None for s in sources(health, later))
    assert not [zh for zh, _en in problems(health, later) if "未上报" in zh]


def test_a_source_silent_for_a_week_is_forgotten(client, enrol):
    device = enrol()
    with client.app.state.engine.begin() as conn:
        heartbeat(conn, device.key.device_id, Heartbeat.model_validate(locker_beat()), now() - timedelta(days=8))
    assert device("POST", "/heartbeat", kiosk_beat()).status_code == 200
    assert set(health_of(client, device.key.device_id)["sources"]) == {"kiosk"}


def waiting_on_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND wait_event_type = 'Lock'")).scalar_one())


def test_two_beats_at_once_lose_neither(database_url, enrol):
    """The kiosk's beat holds the device's row while the locker's arrives at another
    server process: the locker's waits (PostgreSQL: the row lock; SQLite: the one
    writer), then merges over the kiosk's, never over what was there before."""
    device_id = enrol().key.device_id
    engine = db.create(database_url)
    migrations.upgrade(engine)
    try:
        first = engine.connect()
        transaction = first.begin()
        heartbeat(first, device_id, Heartbeat.model_validate(kiosk_beat()))
        failed: list[BaseException] = []

        def other_process() -> None:
            try:
                with engine.begin() as conn:
                    heartbeat(conn, device_id, Heartbeat.model_validate(locker_beat()))
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                failed.append(exc)

        second = threading.Thread(target=other_process)
        second.start()
        if db.is_postgresql(engine):  # the second beat is really waiting before the first commits
            deadline = time.monotonic() + 30
            while not waiting_on_a_lock(engine):
                assert time.monotonic() < deadline, "the second beat never waited for the row"
                time.sleep(0.02)
        transaction.commit()
        first.close()
        second.join(60)
        assert not second.is_alive() and not failed, failed
        with engine.connect() as conn:
            health = conn.execute(select(Device.health).where(Device.device_id == device_id)).scalar_one()
    finally:
        engine.dispose()
    assert set(health["sources"]) == {"kiosk", "locker"}
    assert {"printer", "lockboard bus0 board 1"} <= set(health["peripherals"])
