"""A door out of service and back, and a case stuck on a jammed door moved by a
worker: through the API and ``python -m locker door|case``, each one transaction
with its outbox event and audit entry."""
from __future__ import annotations

from tests.locker.conftest import door, is_open, unlocks, wait_for, worker_code
from tests.locker.test_audit_cli import run
from tests.locker.test_safety import deposit, event


def test_a_jammed_pickup_door_its_case_moved_then_the_door_back_in_service(api, sim, server_key, config):
    back = api("return", code=worker_code(server_key), case="SF-M1", size="M")
    api.wait_opening(back["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(back["opening"]["id"], "closed")
    number = back["door"]
    short = api.outbox("pickup_code_issued")[0]["short"]

    sim.request(cmd="fault", spec=f"jammed:0/{number}")
    jammed = api("pickup", code=short)
    event(api, "jammed", door=number)
    assert api.door(number)["use"] == "out_of_service" and api.case("SF-M1")["door"] == number
    assert api.opening(jammed["opening"]["id"])["state"] == "jammed"
    again = api("pickup", code=short)  # no second unlock of a jammed door
    assert again["error"] == "door_out_of_service" and again["message"].startswith("柜门暂停使用"), again
    assert unlocks(sim) == 2

    refused = run("door", f"bus0/0/{number}", "in-service", config=config)  # the result is still recorded inside
    assert refused.returncode == 1 and refused.stderr.startswith("该柜门仍存放着办件"), refused.stderr
    assert api("door", door=number, use="in_service")["error"] == "door_holds_case"
    assert api.door(number)["use"] == "out_of_service"

    # the worker opens it with her key and puts the result into door 5
    moved = run("case", "SF-M1", "move-to-door", "5", "--by", "w-li", config=config)
    assert moved.returncode == 0, moved.stderr
    assert api.case("SF-M1")["door"] == 5 and api.case("SF-M1")["state"] == "result_deposited"
    assert api.door(5)["use"] == "occupied" and api.door(5)["case"] == "SF-M1"
    assert api.door(number)["case"] is None and api.door(number)["use"] == "out_of_service"
    assert [(e["from"], e["to"], e["by"]) for e in api.outbox("case_moved")] == [(number, 5, "w-li")]
    assert api.events("door_emptied")[0]["case"] == "SF-M1"

    sim.request(cmd="clear", name="jammed")
    fixed = run("door", f"bus0/0/{number}", "in-service", "--reason", "latch replaced", config=config)
    assert fixed.returncode == 0, fixed.stderr
    assert api.door(number)["use"] == "free" and api.door(number)["reason"] == ""
    assert [e["reason"] for e in api.outbox("door_in_service")] == ["latch replaced"]

    # the resident's code (never seen to open anything) now opens the new door, once
    pickup = api("pickup", code=short)
    assert pickup["ok"] and pickup["door"] == 5, pickup
    api.wait_opening(pickup["opening"]["id"], "opened")
    door(sim, 5, "close")
    api.wait_opening(pickup["opening"]["id"], "closed")
    assert api.case("SF-M1")["state"] == "picked_up" and api.door(5)["use"] == "free"
    assert api("pickup", code=short)["ok"] is False
    assert unlocks(sim) == 3


def test_a_jammed_collect_door_moved_by_the_worker_console_with_her_code(api, sim, server_key):
    number = deposit(api, sim, "SF-M2")
    sim.request(cmd="fault", spec=f"jammed:0/{number}")
    first = api("collect", code=worker_code(server_key))
    event(api, "jammed", door=number)
    assert api.opening(first["opening"]["id"])["state"] == "jammed"
    sim.request(cmd="clear", name="jammed")
    assert api("collect", code=worker_code(server_key))["error"] == "nothing_to_collect"  # stuck on that door

    bad = api("move", case="SF-M2", door=4, code="LKR1.W.forged.x")
    assert bad["ok"] is False and bad["error"] in ("unreadable", "forged")
    assert api("move", case="SF-M2", door=16, code=worker_code(server_key))["error"] == "door_not_free"
    assert api("move", case="SF-NONE", door=4, code=worker_code(server_key))["error"] == "unknown_case"
    moved = api("move", case="SF-M2", door="bus0/0/4", code=worker_code(server_key, "w-wang"))
    assert moved["ok"] and moved["door"] == 4, moved
    assert api.events("case_moved")[-1]["by"] == "w-wang"
    collect = api("collect", code=worker_code(server_key))
    assert collect["door"] == 4
    api.wait_opening(collect["opening"]["id"], "opened")
    door(sim, 4, "close")
    api.wait_opening(collect["opening"]["id"], "closed")
    assert api.case("SF-M2")["state"] == "collected"
    assert api("door", door=number, use="in_service", by="tech-1")["ok"]
    assert api.door(number)["use"] == "free"


def test_a_maintainer_takes_a_door_out_and_puts_it_back(api, sim, config):
    out = run("door", "bus0/0/3", "out-of-service", "--reason", "hinge loose", config=config)
    assert out.returncode == 0, out.stderr
    assert api.door(3)["use"] == "out_of_service" and api.door(3)["reason"] == "hinge loose"
    assert [e["reason"] for e in api.outbox("door_out_of_service")] == ["hinge loose"]
    assert api("dropoff", case="SF-M3", size="M")["door"] == 4  # door 3 is not handed out
    assert api("door", door=3, use="out_of_service")["error"] == "wrong_state"
    assert api("door", door=99, use="in_service")["error"] == "unknown_door"
    assert api("door", door=16, use="in_service")["error"] == "wrong_state"  # out of service in the config
    assert api("door", door=4, use="out_of_service")["error"] == "busy"  # its unlock is in flight
    back = run("door", "3", "in-service", config=config)
    assert back.returncode == 0 and api.door(3)["use"] == "free"
    wait_for(lambda: is_open(sim, 4), what="door 4 open")
    audit = api.sql("SELECT event, subject FROM audit WHERE event IN ('door_out_of_service', 'door_in_service')")
    assert audit == [("door_out_of_service", "door:bus0/0/3"), ("door_in_service", "door:bus0/0/3")]


def test_a_maintainer_opens_a_door_and_nothing_moves_when_it_closes(api, sim, server_key):
    number = deposit(api, sim, "SF-MO1")
    opened = api("open", door=number, by="tech-2", reason="check the latch")
    assert opened["ok"] and opened["door"] == number and opened["opening"]["purpose"] == "maintenance", opened
    api.wait_opening(opened["opening"]["id"], "opened")
    assert api("open", door=number)["error"] == "busy"  # its unlock is in flight: not twice
    door(sim, number, "close")
    api.wait_opening(opened["opening"]["id"], "closed")
    assert api.case("SF-MO1")["state"] == "materials_deposited" and api.door(number)["use"] == "occupied"
    (looked,) = api.events("maintenance_open")
    assert looked == {"locker": looked["locker"], "door": number, "by": "tech-2", "reason": "check the latch",
                      "case": "SF-MO1"}
    assert api("open", door=99)["error"] == "unknown_door"

    sim.request(cmd="fault", spec="jammed:0/5")  # a jam found by a maintainer's open: out of service too
    jam = api("open", door=5)
    event(api, "jammed", door=5)
    assert api.opening(jam["opening"]["id"])["state"] == "jammed" and api.door(5)["use"] == "out_of_service"
    assert unlocks(sim) == 3


def test_the_cli_opens_a_door_and_status_shows_the_alerts(api, sim, config):
    opened = run("door", "6", "open", "--reason", "look inside", config=config)
    assert opened.returncode == 0, opened.stderr
    wait_for(lambda: is_open(sim, 6), what="door 6 to open")
    door(sim, 6, "close")
    wait_for(lambda: api.events("door_closed"), what="door 6 seen shut")
    door(sim, 7, "open")  # forced
    event(api, "forced", door=7)
    shown = run("status", config=config)
    assert "alert: door 7 forced (alarm): 7号柜门未经开锁被打开" in shown.stdout, shown.stdout
    door(sim, 7, "close")
