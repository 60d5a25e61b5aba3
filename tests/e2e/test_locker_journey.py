"""A case's paper through the locker with every part its own process: the lock-board
simulator and the scanner simulator on ptys, the locker daemon, and this test as the
resident, the grid worker and the kiosk (over the daemon's socket)."""
from __future__ import annotations

import pytest

from appliance.config import load
from appliance.keys import DeviceKey, TrustedKeys
from locker import audit, codes
from locker.daemon import socket_path, store_path
from tests.locker.conftest import CONFIG, DOORS, LOCKER, Client, DaemonProcess, door, is_open, wait_for
from tests.support import SimProcess


@pytest.fixture
def processes(tmp_path):
    with SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "2", "--doors", str(DOORS)) as bus, \
            SimProcess("drivers.scanner.sim") as scanner:
        server = DeviceKey.generate("server")
        data = tmp_path / "data"
        data.mkdir()
        TrustedKeys().with_key("server", server.public_key).save(data / "trusted-keys.json")
        text = CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS, oos="8", prompt=60, alarm=120,
                             sync="false").replace('[scanner]\nenabled = false', f'[scanner]\nenabled = true\nurl = "{scanner.path}"')
        path = tmp_path / "appliance.toml"
        path.write_text(text, encoding="utf-8")
        config = load(path)
        with DaemonProcess(str(path)) as daemon:
            assert daemon.header[0] == str(socket_path(config))
            yield bus, scanner, server, Client(socket_path(config), store_path(config))


def test_drop_off_collect_return_and_pick_up_with_the_scanner(processes):
    bus, scanner, server, kiosk = processes

    def through(code: str, case: str, state: str) -> int:
        scanner.request(cmd="scan", code=code)
        number = wait_for(lambda: next((n for n in range(1, 2 * DOORS + 1) if is_open(bus, n)), None),
                          what="a door to open")
        door(bus, number, "close")
        wait_for(lambda: (kiosk.case(case) or {}).get("state") == state, what=f"{case} {state}")
        return number

    deposited = through(codes.booking_code(server, "SF-E2E", "M", locker=LOCKER), "SF-E2E", "materials_deposited")
    assert through(codes.worker_code(server, "w-li", [LOCKER], minutes=10), "SF-E2E", "collected") == deposited

    answer = kiosk("return", code=codes.worker_code(server, "w-li", [LOCKER], minutes=10), case="SF-E2E", size="M")
    kiosk.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    kiosk.wait_opening(answer["opening"]["id"], "closed")
    issued = kiosk.outbox("pickup_code_issued")[0]

    assert through(issued["code"], "SF-E2E", "picked_up") == answer["door"]
    scanner.request(cmd="scan", code=issued["code"])  # again: refused, nothing opens
    wait_for(lambda: any(e["reason"] == "replayed" for e in kiosk.events("code_refused")), what="the refusal")
    assert bus.request(cmd="state")["received"]["unlock"] == 4
    assert audit.verify(kiosk.store) > 10
