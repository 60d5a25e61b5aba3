"""The locker on a bus of bcc boards (8A/80 frames, XOR checksum; addresses from 1):
a drop-off, the worker's collect and a door forced open, end to end against the
simulator on a pty. A bcc board has no "status of every board": each poll is one
"query all" transaction per board."""
from __future__ import annotations

import pytest

from appliance.config import load
from appliance.keys import TrustedKeys
from locker.daemon import Daemon, store_path
from tests.locker.conftest import LOCKER, Client, wait_for, worker_code
from tests.locker.test_safety import event
from tests.support import SimProcess

DOORS = 8  # per board: doors 1–8 on board 1, 9–16 on board 2

CONFIG = """
[appliance]
id = "{locker}"
data_dir = "{data}"
role = "locker"

[[lockboard]]
name = "rs485"
url = "{port}"
protocol = "bcc"
timeout_ms = 100
poll_interval_ms = 60

[[lockboard.board]]
address = 1
doors = {doors}
sizes = {{ S = [1, 2] }}

[[lockboard.board]]
address = 2
doors = {doors}

[printer]
enabled = false

[camera]
enabled = false

[scanner]
enabled = false

[sync]
enabled = false

[locker]
jam_seconds = 1
receipt = false
"""


@pytest.fixture(scope="module")
def bcc_sim():
    sim = SimProcess("drivers.lockboard.sim", "--protocol", "bcc", "--boards", "2", "--doors", str(DOORS)).start()
    yield sim
    sim.stop()


@pytest.fixture
def bus(bcc_sim) -> SimProcess:
    if bcc_sim.proc.poll() is not None:
        pytest.fail("the lock-board simulator died")
    bcc_sim.request(cmd="reset")
    return bcc_sim


def where(number: int) -> tuple[int, int]:
    """Bank-wide door number -> (bcc board address, door on it)."""
    board, n = divmod(number - 1, DOORS)
    return board + 1, n + 1


def is_open(bus: SimProcess, number: int) -> bool:
    board, n = where(number)
    return n in bus.request(cmd="state")["boards"][str(board)]["open"]


def hand(bus: SimProcess, number: int, cmd: str) -> None:
    board, n = where(number)
    bus.request(cmd=cmd, board=board, door=n)


@pytest.fixture
def api(bus, tmp_path, server_key):
    data = tmp_path / "data"
    data.mkdir()
    TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
    path = tmp_path / "appliance.toml"
    path.write_text(CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS), encoding="utf-8")
    config = load(path)
    daemon = Daemon(config)
    client = Client(daemon.start(), store_path(config))
    yield client
    daemon.stop()


def test_a_drop_off_and_its_collect_on_a_bcc_bus(api, bus, server_key):
    assert [b for b in api("state")["boards"]] == [{"bus": "rs485", "board": 1, "online": True},
                                                   {"bus": "rs485", "board": 2, "online": True}]
    answer = api("dropoff", case="BC-1", size="M")
    assert answer["ok"] and answer["door"] == 3, answer  # doors 1 and 2 are S
    assert answer["opening"]["reply"] == "open"  # the bcc unlock reply shows the door's state
    assert is_open(bus, 3)
    api.wait_opening(answer["opening"]["id"], "opened")
    hand(bus, 3, "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    assert api.case("BC-1")["state"] == "materials_deposited" and api.door(3)["use"] == "occupied"

    collect = api("collect", code=worker_code(server_key))
    assert collect["door"] == 3 and collect["queued"] == []
    api.wait_opening(collect["opening"]["id"], "opened")
    hand(bus, 3, "close")
    api.wait_opening(collect["opening"]["id"], "closed")
    assert api.case("BC-1")["state"] == "collected" and api.door(3)["use"] == "free"

    received = bus.request(cmd="state")["received"]
    assert received["unlock"] == 2  # never resent
    # polled board by board (one "query all" each); bcc has no "status of every board"
    assert received["status_board"] >= 4 and "status_all" not in received, received


def test_a_door_forced_open_on_a_bcc_bus_raises_the_alarm(api, bus):
    bus.request(cmd="fault", spec="forced:2/4")  # door 12: board 2, door 4
    forced = event(api, "forced", door=12)
    assert forced["alarm"] is True
    wait_for(lambda: [a["door"] for a in api("state")["alerts"]] == [12], what="the alert for door 12")
    hand(bus, 12, "close")
    wait_for(lambda: api("state")["alerts"] == [], what="the alert to clear")
    assert bus.request(cmd="state")["received"].get("unlock", 0) == 0
