"""The locker on a bus of bcc boards (8A/80 frames, XOR checksum; addresses from 1):
a drop-off, the worker's collect and a door forced open, end to end against the
simulator on a pty. A bcc board has no "status of every board": each poll is one
"query all" transaction per board."""
from __future__ import annotations

import pytest

from tests.locker.conftest import LockBank, door, is_open, wait_for, worker_code
from tests.locker.test_safety import event


@pytest.fixture(scope="module")
def running_sim():
    """The conftest's bank on bcc boards 1 and 2: doors 1–8 on board 1, 9–16 on board 2."""
    sim = LockBank("bcc").start()
    yield sim
    sim.stop()


def test_a_drop_off_and_its_collect_on_a_bcc_bus(api, sim, server_key):
    assert [b for b in api("state")["boards"]] == [{"bus": "bus0", "board": 1, "online": True},
                                                   {"bus": "bus0", "board": 2, "online": True}]
    answer = api("dropoff", case="BC-1", size="M")
    assert answer["ok"] and answer["door"] == 3, answer  # doors 1 and 2 are S
    assert answer["opening"]["reply"] == "open"  # the bcc unlock reply shows the door's state
    assert is_open(sim, 3)
    api.wait_opening(answer["opening"]["id"], "opened")
    door(sim, 3, "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    assert api.case("BC-1")["state"] == "materials_deposited" and api.door(3)["use"] == "occupied"

    collect = api("collect", code=worker_code(server_key))
    assert collect["door"] == 3 and collect["queued"] == []
    api.wait_opening(collect["opening"]["id"], "opened")
    door(sim, 3, "close")
    api.wait_opening(collect["opening"]["id"], "closed")
    assert api.case("BC-1")["state"] == "collected" and api.door(3)["use"] == "free"

    received = sim.request(cmd="state")["received"]
    assert received["unlock"] == 2  # never resent
    # polled board by board (one "query all" each); bcc has no "status of every board"
    assert received["status_board"] >= 4 and "status_all" not in received, received


def test_a_door_forced_open_on_a_bcc_bus_raises_the_alarm(api, sim):
    sim.request(cmd="fault", spec="forced:2/4")  # door 12: board 2, door 4
    forced = event(api, "forced", door=12)
    assert forced["alarm"] is True
    wait_for(lambda: [a["door"] for a in api("state")["alerts"]] == [12], what="the alert for door 12")
    door(sim, 12, "close")
    wait_for(lambda: api("state")["alerts"] == [], what="the alert to clear")
    assert sim.request(cmd="state")["received"].get("unlock", 0) == 0
