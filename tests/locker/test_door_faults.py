"""Door replies the simulator makes wire-true (``late``, ``unwired``, ``jammed``, a door
forced open, a board going offline) and what the locker does with each, end to end:
the daemon's real serial I/O on the simulator's pty, driven through its API. The
test config's ``jam_seconds`` is 1."""
from __future__ import annotations

import pytest

from locker.daemon import Daemon, store_path
from tests.locker.conftest import Client, door, is_open, unlocks, wait_for, worker_code
from tests.locker.test_safety import deposit, event


def test_a_late_latch_within_the_jam_time_is_a_normal_opening(api, sim):
    sim.request(cmd="fault", spec="late:0/3@0.4")
    answer = api("dropoff", case="DF-L1", size="M")
    assert answer["door"] == 3
    assert answer["opening"]["reply"] == "closed" and answer["opening"]["state"] == "commanded"
    opened = api.wait_opening(answer["opening"]["id"], "opened")
    assert opened["reply"] == "closed"  # what the reply showed stays recorded apart
    door(sim, 3, "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    assert api.case("DF-L1")["state"] == "materials_deposited" and api.case("DF-L1")["door"] == 3
    assert api.events("jammed") == [] and api.events("forced") == [] and api.events("not_opened") == []
    assert api.door(3)["use"] == "occupied" and unlocks(sim) == 1


def test_a_door_that_pops_open_after_it_was_given_up_as_jammed_is_forced(api, sim):
    sim.request(cmd="fault", spec="late:0/3@2.5")
    answer = api("dropoff", case="DF-L2", size="M")
    assert answer["door"] == 3
    jam = event(api, "jammed", door=3)
    assert jam["note"] == "acknowledged, never seen open"
    assert api.door(3)["use"] == "out_of_service"
    wait_for(lambda: is_open(sim, 4), what="the case's other door")  # the case gets another door
    forced = event(api, "forced", door=3)  # door 3 pops open with no unlock in flight any more
    assert forced["alarm"] is True and forced["after"] == "jammed"
    assert [e["door"] for e in api.outbox("forced")] == [3]
    door(sim, 4, "close")
    wait_for(lambda: (api.case("DF-L2") or {}).get("state") == "materials_deposited", what="the deposit")
    assert api.case("DF-L2")["door"] == 4 and api.door(3)["use"] == "out_of_service"
    alerts = api("state")["alerts"]
    assert [(a["door"], a["kind"]) for a in alerts] == [(3, "forced")], alerts
    assert alerts[0]["message"].startswith("3号柜门未经开锁被打开")
    door(sim, 3, "close")
    wait_for(lambda: api("state")["alerts"] == [], what="the alert to clear once door 3 is shut")
    assert unlocks(sim) == 2  # never resent


def test_a_door_standing_open_pushed_shut_as_the_unlock_goes_then_popping_open_is_a_normal_opening(api, sim,
                                                                                                 server_key):
    number = deposit(api, sim, "DF-P1")
    door(sim, number, "open")  # standing open with the paper inside
    event(api, "forced", door=number)
    wait_for(lambda: api.door(number)["seen"] == "open", what=f"door {number} seen open")
    sim.request(cmd="fault", spec=f"late:0/{number}@0.4")  # pushed shut: the reply shows it shut …
    answer = api("collect", code=worker_code(server_key), door=number)
    assert answer["opening"]["reply"] == "closed", answer
    api.wait_opening(answer["opening"]["id"], "opened")  # … then the unlock pops it open
    door(sim, number, "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    assert api.case("DF-P1")["state"] == "collected" and api.door(number)["use"] == "free"
    assert api.events("closed_in_flight") == [] and api.events("jammed") == []
    assert len(api.events("forced")) == 1  # the one before the command, not the pop
    assert unlocks(sim) == 2


def test_a_door_standing_open_the_unlock_reply_shows_shut_and_staying_shut_is_closed_in_flight_then_forced(
        api, sim, server_key):
    number = deposit(api, sim, "DF-C2")
    door(sim, number, "open")  # standing open with the paper inside
    event(api, "forced", door=number)
    wait_for(lambda: api.door(number)["seen"] == "open", what=f"door {number} seen open")
    # pushed shut as the unlock goes: the reply shows it shut, and the latch pops only 4 s later
    sim.request(cmd="fault", spec=f"late:0/{number}@4")
    answer = api("collect", code=worker_code(server_key), door=number)
    opening = answer["opening"]
    assert opening["reply"] == "closed" and opening["state"] == "commanded", answer
    shut = event(api, "closed_in_flight", door=number)  # still shut jam_seconds after the reply
    assert shut["by"] == "unlock reply" and shut["case"] == "DF-C2" and shut["purpose"] == "collect"
    assert api.opening(opening["id"])["state"] == "closed_in_flight"
    assert api.events("jammed") == [] and api.events("not_opened") == []
    assert api.door(number)["use"] == "occupied" and api.case("DF-C2")["state"] == "materials_deposited"
    # then the latch pops open: no unlock of it is in flight any more, so it is forced, after closed_in_flight
    late = wait_for(lambda: api.events("forced")[1:], 20, "the door popping open to be forced")[0]
    assert late == {"locker": late["locker"], "door": number, "alarm": True, "after": "closed_in_flight"}
    assert [e["door"] for e in api.outbox("forced")] == [number, number]
    alerts = api("state")["alerts"]
    assert [(a["door"], a["kind"]) for a in alerts] == [(number, "forced")], alerts
    door(sim, number, "close")
    wait_for(lambda: api("state")["alerts"] == [], what="the alert to clear")
    assert unlocks(sim) == 2  # the deposit's and the collect's: never resent


def test_an_unwired_door_looks_jammed_goes_out_of_service_and_the_case_gets_another(api, sim):
    sim.request(cmd="fault", spec="unwired:0/3")
    answer = api("dropoff", case="DF-U1", size="M")
    assert answer["door"] == 3
    assert is_open(sim, 3)  # it did open: its switch cannot say so
    event(api, "jammed", door=3)
    assert api.door(3)["use"] == "out_of_service"
    wait_for(lambda: is_open(sim, 4), what="the case's other door")
    door(sim, 4, "close")
    wait_for(lambda: (api.case("DF-U1") or {}).get("state") == "materials_deposited", what="the deposit")
    assert api.case("DF-U1")["door"] == 4
    door(sim, 3, "close")
    assert api("dropoff", case="DF-U2", size="M")["door"] == 5  # door 3 is not handed out again


def test_a_board_that_goes_offline_mid_opening_is_offline_not_closed_then_finishes(api, sim):
    answer = api("dropoff", case="DF-O1", size="M")
    api.wait_opening(answer["opening"]["id"], "opened")
    sim.request(cmd="fault", spec="offline:0")
    event(api, "board_offline")
    state = api("state")
    assert {d["seen"] for d in state["doors"] if d["number"] <= 8} == {"offline"}
    assert [b for b in state["boards"] if b["board"] == 0] == [{"bus": "bus0", "board": 0, "online": False}]
    door(sim, answer["door"], "close")  # shut while nobody can see it
    assert api.opening(answer["opening"]["id"])["state"] == "opened"  # not "closed": not seen
    assert api.case("DF-O1")["state"] == "created"
    other = api("dropoff", case="DF-O2", size="M")
    assert other["ok"] and other["door"] > 8, other  # no door of the offline board is handed out
    sim.request(cmd="clear", name="offline")
    event(api, "board_online")
    api.wait_opening(answer["opening"]["id"], "closed")
    assert api.case("DF-O1")["state"] == "materials_deposited"
    assert api.events("jammed") == [] and api.events("forced") == []


@pytest.fixture
def quick(make_config, sim, tmp_path):
    config = make_config(prompt=1, alarm=2, data=tmp_path / "quick")
    d = Daemon(config)
    path = d.start()
    yield Client(path, store_path(config))
    d.stop()


def test_left_open_escalation_shows_on_the_status_for_the_screen_then_tells_the_worker(quick, sim):
    answer = quick("dropoff", case="DF-E1", size="M")
    quick.wait_opening(answer["opening"]["id"], "opened")
    n = answer["door"]
    prompt = wait_for(lambda: next((a for a in quick("state")["alerts"] if a["level"] == "prompt"), None),
                      what="the prompt on the status")
    assert prompt == {"door": n, "kind": "door_left_open", "level": "prompt", "opening": answer["opening"]["id"],
                      "case": "DF-E1", "message": f"请关好{n}号柜门 · Please close door {n}",
                      "voice": f"请关好{n}号柜门，谢谢"}
    assert quick.outbox("door_left_open") == []  # the prompt is the screen's, not the worker's yet
    worker = event(quick, "door_left_open", level="worker")
    assert worker["case"] == "DF-E1" and worker["opening"] == answer["opening"]["id"]
    assert [e["level"] for e in quick.outbox("door_left_open")] == ["worker"]
    assert [a["level"] for a in quick("state")["alerts"]] == ["worker"]
    door(sim, n, "close")
    quick.wait_opening(answer["opening"]["id"], "closed")
    wait_for(lambda: quick("state")["alerts"] == [], what="the alert to clear")


def test_a_door_already_open_when_the_unlock_came_escalates_from_the_command(quick, sim, server_key):
    number = deposit(quick, sim, "DF-E2")
    door(sim, number, "open")
    event(quick, "forced", door=number)
    wait_for(lambda: quick.door(number)["seen"] == "open", what=f"door {number} seen open")
    answer = quick("collect", code=worker_code(server_key), door=number)
    assert answer["ok"], answer
    opening = answer["opening"]["id"]
    # the unlock never shows it did anything (the door never shut), yet it stands open: escalate
    prompt = event(quick, "door_left_open", level="prompt", opening=opening)
    worker = event(quick, "door_left_open", level="worker", opening=opening)
    assert prompt["case"] == worker["case"] == "DF-E2" and worker["door"] == number
    assert [e["opening"] for e in quick.outbox("door_left_open") if e["opening"] == opening] == [opening]
    alerts = quick("state")["alerts"]
    assert [(a["door"], a["kind"], a["level"], a["opening"]) for a in alerts] == \
        [(number, "door_left_open", "worker", opening)]
    assert quick.opening(opening)["state"] == "commanded" and quick.opening(opening)["left_open_level"] == 2
    door(sim, number, "close")
    event(quick, "closed_in_flight", door=number)
    wait_for(lambda: quick("state")["alerts"] == [], what="the alert to clear")
