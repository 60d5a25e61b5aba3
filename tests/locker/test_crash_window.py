"""The crash window of a pickup: the daemon is SIGKILLed right after the unlock frame
left, and the door opens and shuts again before it restarts. No code may open a
door twice:

* a board with item sensors decides at the restart's reconcile: the door empty
  means the resident took the result (picked_up); the result still inside means
  not (the old code stays spent, the resident gets a new one);
* without sensors nobody knows: the pickup is held (the door is ``check``, the code
  stays spent) until a worker decides (``resolve``, or ``python -m locker case``).

The same holds when the door's board does not answer at the restart: the pickup
waits, unjudged, until the board answers, and is judged then by these rules.
"""
from __future__ import annotations

import pytest

from appliance.config import load
from appliance.keys import TrustedKeys
from locker import audit
from locker.daemon import socket_path, store_path
from tests.locker.conftest import CONFIG, DOORS, LOCKER, Client, DaemonProcess, door, is_open, unlocks, wait_for, \
    worker_code
from tests.locker.test_audit_cli import run
from tests.support import SimProcess


@pytest.fixture(scope="module")
def items_sim():
    sim = SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "2", "--doors", str(DOORS),
                     "--items").start()
    yield sim
    sim.stop()


@pytest.fixture
def bus(items_sim) -> SimProcess:
    if items_sim.proc.poll() is not None:
        pytest.fail("the lock-board simulator died")
    items_sim.request(cmd="reset")
    return items_sim


class Window:
    """The daemon as its own process, killed once in the pickup's crash window."""

    def __init__(self, tmp_path, bus, server_key, sensors: bool, monkeypatch) -> None:
        data = tmp_path / "data"
        data.mkdir()
        TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
        text = CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS, oos="8", prompt=60, alarm=120,
                             sync="false")
        if sensors:
            text = text.replace("address = 0\n", "address = 0\nitem_sensors = true\n", 1)
        path = tmp_path / "appliance.toml"
        path.write_text(text, encoding="utf-8")
        self.config, self.bus, self.key = load(path), bus, server_key
        self.arm = tmp_path / "armed"
        monkeypatch.setenv("LOCKER_CRASH_ARMED", str(self.arm))
        self.procs: list[DaemonProcess] = []
        self.api = self.start()

    def start(self) -> Client:
        proc = DaemonProcess(self.config.source, env={"LOCKER_CRASH_AT": "unlocked"})
        proc.start(timeout=30)
        self.procs.append(proc)
        client = Client(socket_path(self.config), store_path(self.config))
        client.proc = proc
        return client

    def result_in_a_door(self, case: str) -> tuple[int, dict]:
        back = self.api("return", code=worker_code(self.key), case=case, size="M")
        self.api.wait_opening(back["opening"]["id"], "opened")
        number = back["door"]
        self.bus.request(cmd="item", board=0, door=number, present=True)  # the certificate goes in
        door(self.bus, number, "close")
        self.api.wait_opening(back["opening"]["id"], "closed")
        return number, self.api.outbox("pickup_code_issued")[-1]

    def deposited(self, case: str) -> int:
        answer = self.api("dropoff", case=case, size="M")
        self.api.wait_opening(answer["opening"]["id"], "opened")
        self.bus.request(cmd="item", board=0, door=answer["door"], present=True)
        door(self.bus, answer["door"], "close")
        self.api.wait_opening(answer["opening"]["id"], "closed")
        return answer["door"]

    def pickup_killed_after_the_frame(self, code: str, number: int, *, taken: bool, offline: bool = False) -> None:
        self.killed_after_the_frame({"op": "pickup", "code": code}, number, taken=taken, offline=offline)

    def killed_after_the_frame(self, message: dict, number: int, *, taken: bool, offline: bool = False) -> None:
        """``offline``: the door's board does not answer when the daemon starts again."""
        self.arm.touch()
        with pytest.raises((ConnectionError, OSError)):
            self.api(**message)
        self.api.proc.proc.wait(20)  # dead, right after the unlock frame left
        assert is_open(self.bus, number)  # the frame reached the board: the door opened
        if taken:
            self.bus.request(cmd="item", board=0, door=number, present=False)
        door(self.bus, number, "close")  # and shut again, before the restart
        if offline:
            self.bus.request(cmd="fault", spec="offline:0")
        self.api.proc.stop()
        self.api = self.start()

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()


@pytest.fixture
def window(tmp_path, bus, server_key, monkeypatch, request):
    w = Window(tmp_path, bus, server_key, request.param, monkeypatch)
    yield w
    w.stop()


@pytest.mark.parametrize("window", [True], indirect=True)
def test_with_sensors_an_empty_door_after_the_crash_is_picked_up(window, bus):
    number, issued = window.result_in_a_door("SF-W1")
    window.pickup_killed_after_the_frame(issued["short"], number, taken=True)
    api = window.api
    assert api.case("SF-W1")["state"] == "picked_up"
    assert api.door(number)["use"] == "free"
    closed = api.events("door_closed")[-1]
    assert closed["while"] == "daemon down" and closed["item"] == "empty"
    for code in (issued["short"], issued["code"]):
        assert api("pickup", code=code)["ok"] is False
    assert unlocks(bus) == 2  # the return and the one pickup: nothing opened twice
    assert audit.verify(api.store) > 0


@pytest.mark.parametrize("window", [True], indirect=True)
def test_with_sensors_a_door_still_holding_the_result_is_not_picked_up_and_the_old_code_stays_spent(window, bus):
    number, issued = window.result_in_a_door("SF-W2")
    window.pickup_killed_after_the_frame(issued["short"], number, taken=False)
    api = window.api
    assert api.case("SF-W2")["state"] == "result_deposited"
    assert api.door(number)["use"] == "occupied"
    assert api.events("pickup_not_made")[-1]["by"] == "item sensor at restart"
    assert api("pickup", code=issued["short"])["ok"] is False
    assert api("pickup", code=issued["code"])["error"] == "replayed"
    assert unlocks(bus) == 2  # the old code did not open the door a second time
    fresh = api.outbox("pickup_code_issued")
    assert len(fresh) == 2 and fresh[-1]["short"] != issued["short"]  # the server tells the resident
    pickup = api("pickup", code=fresh[-1]["short"])
    assert pickup["ok"] and pickup["door"] == number, pickup
    api.wait_opening(pickup["opening"]["id"], "opened")
    bus.request(cmd="item", board=0, door=number, present=False)
    door(bus, number, "close")
    api.wait_opening(pickup["opening"]["id"], "closed")
    assert api.case("SF-W2")["state"] == "picked_up"
    assert unlocks(bus) == 3


@pytest.mark.parametrize("window", [False], indirect=True)
def test_without_sensors_the_pickup_is_held_for_a_worker_and_its_code_never_opens_the_door_again(window, bus,
                                                                                                  server_key):
    number, issued = window.result_in_a_door("SF-W3")
    window.pickup_killed_after_the_frame(issued["short"], number, taken=True)
    api = window.api
    assert api.case("SF-W3")["state"] == "result_deposited"
    assert api.door(number)["use"] == "check"
    held = api.events("pickup_held")[-1]
    assert held["door"] == number
    for code in (issued["short"], issued["code"]):
        refused = api("pickup", code=code)
        assert refused["error"] == "pickup_held" and refused["message"].startswith("此柜门需工作人员核实"), refused
    assert unlocks(bus) == 2  # nothing opened a second time
    # a worker collecting does not free the door or lose the case
    looked = api("collect", code=worker_code(server_key), door=number)
    api.wait_opening(looked["opening"]["id"], "opened")
    door(bus, number, "close")
    api.wait_opening(looked["opening"]["id"], "closed")
    assert api.door(number)["use"] == "check" and api.case("SF-W3")["door"] == number
    # she found it empty: her decision closes the case
    decided = run("case", "SF-W3", "picked-up", "--by", "w-li", config=window.config)
    assert decided.returncode == 0, decided.stderr
    assert api.case("SF-W3")["state"] == "picked_up" and api.door(number)["use"] == "free"
    assert api("pickup", code=issued["short"])["ok"] is False
    again = run("case", "SF-W3", "still-there", config=window.config)
    assert again.returncode == 1 and again.stderr.startswith("办件当前状态不允许此操作")
    assert unlocks(bus) == 3
    wait_for(lambda: api.sql("SELECT count(*) FROM openings WHERE state IN ('commanded', 'opened')") == [(0,)],
             what="no unlock in flight")


@pytest.mark.parametrize("window", [True, False], indirect=True, ids=["sensors", "no sensors"])
def test_a_collect_killed_in_the_window_never_opens_the_door_twice_with_one_code(window, bus, server_key):
    number = window.deposited("SF-W4")
    code = worker_code(server_key)
    window.killed_after_the_frame({"op": "collect", "code": code}, number, taken=True)
    api = window.api
    sensors = window.config.lockboard[0].board[0].item_sensors
    if sensors:  # the door is empty: she took the paper while the daemon was down
        assert api.case("SF-W4")["state"] == "collected" and api.door(number)["use"] == "free"
        assert unlocks(bus) == 2
        return
    assert api.case("SF-W4")["state"] == "materials_deposited" and api.door(number)["use"] == "occupied"
    assert api("collect", code=code)["error"] == "nothing_to_collect"  # that code is spent on that door
    assert unlocks(bus) == 2
    fresh = api("collect", code=worker_code(server_key))
    assert fresh["door"] == number
    api.wait_opening(fresh["opening"]["id"], "opened")
    door(bus, number, "close")
    api.wait_opening(fresh["opening"]["id"], "closed")
    assert api.case("SF-W4")["state"] == "collected" and unlocks(bus) == 3


@pytest.mark.parametrize("window", [True, False], indirect=True, ids=["sensors", "no sensors"])
def test_a_pickup_killed_in_the_window_is_judged_by_these_rules_when_its_board_offline_at_the_restart_answers(
        window, bus):
    number, issued = window.result_in_a_door("SF-W5")
    window.pickup_killed_after_the_frame(issued["short"], number, taken=True, offline=True)
    api = window.api
    assert api.sql("SELECT state, unwatched FROM openings WHERE purpose = 'pickup'") == [("commanded", "start-up")]
    assert api.case("SF-W5")["state"] == "result_deposited" and api.door(number)["seen"] == "offline"
    assert api("pickup", code=issued["short"])["ok"] is False  # its unlock is still in flight: not twice
    bus.request(cmd="clear", name="offline")
    sensors = window.config.lockboard[0].board[0].item_sensors
    if sensors:  # the door is empty: she took her result while nobody could see
        wait_for(lambda: api.case("SF-W5")["state"] == "picked_up", what="the pickup judged by the sensor")
        closed = api.events("door_closed")[-1]
        assert closed["while"] == "daemon down" and closed["item"] == "empty"
        assert api.door(number)["use"] == "free"
    else:  # nobody knows: held for a worker, its code spent on that door (not given back)
        held = wait_for(lambda: api.events("pickup_held"), what="the pickup held")[-1]
        assert held["door"] == number and held["reason"] == "unlock outcome unknown across a restart"
        assert api.door(number)["use"] == "check" and api.case("SF-W5")["state"] == "result_deposited"
        assert api.sql("SELECT count(*) FROM used_codes WHERE kind = 'pickup'") == [(1,)]
        assert api("pickup", code=issued["short"])["error"] == "pickup_held"
    assert api.events("jammed") == []
    assert unlocks(bus) == 2  # the return and the one pickup
