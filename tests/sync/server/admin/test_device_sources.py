"""The devices page of a box whose two programs beat under one key (the kiosk app and
the locker daemon), in-process: both halves at once, each program's version when they
differ, and the locker daemon gone silent while the kiosk beats."""
from __future__ import annotations

import re
from datetime import timedelta

from sync.server.content import now
from sync.server.devices import heartbeat
from sync.wire import Heartbeat
from tests.sync.server.admin.conftest import BOTH
from tests.sync.server.test_heartbeat_sources import kiosk_beat, locker_beat


def row_of(page: str, device_id: str) -> str:
    """The device's table row, as text."""
    row = re.search(rf"<tr>\s*<td[^>]*><strong class=\"mono\">{device_id}</strong>.*?</tr>", page, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))


@BOTH
def test_both_halves_of_the_box_at_once_whoever_beat_last(console, enrol):
    device = enrol()
    device("POST", "/heartbeat", locker_beat(software_version="1.4.1"))
    device("POST", "/heartbeat", kiosk_beat())
    row = row_of(console.get("/admin/devices").text, device.key.device_id)
    assert "自助终端程序" in row and "柜机守护进程" in row
    assert "printer: 故障" in row and "lockboard bus0 board 1: 故障" in row
    assert "自助终端程序 · printer 故障：media-empty-error" in row
    assert "柜机守护进程 · lockboard bus0 board 1 故障：board 1 does not answer" in row
    assert "自助终端程序 1.4.0" in row and "柜机守护进程 1.4.1" in row and "15.0 GB" in row
    assert "未上报" not in row and "3 项故障" in row  # the printer, the bus, its board
    english = row_of(console.get("/admin/devices?lang=en").text, device.key.device_id)
    assert "kiosk app: printer down: media-empty-error" in english and "locker daemon 1.4.1" in english


def test_the_locker_daemon_silent_while_the_kiosk_beats(console, enrol, server):
    _client, engine = server
    device = enrol()
    with engine.begin() as conn:
        for minutes in (6, 5.5, 5):
            heartbeat(conn, device.key.device_id, Heartbeat.model_validate(locker_beat()),
                      now() - timedelta(minutes=minutes, seconds=10))
    device("POST", "/heartbeat", kiosk_beat("ok"))
    row = row_of(console.get("/admin/devices").text, device.key.device_id)
    assert "在线" in row and "未上报" in row
    assert "柜机守护进程 5 分钟未上报心跳" in row and "systemctl status kiosk-locker" in row
    assert "lockboard bus0 board 1 故障" in row  # its last report, still shown
