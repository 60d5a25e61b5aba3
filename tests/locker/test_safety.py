"""Door safety: each simulator fault mode produces its named event, and an unlock
is never resent."""
from __future__ import annotations

import pytest

from locker.daemon import Daemon, store_path
from tests.locker.conftest import Client, door, is_open, unlocks, wait_for, worker_code


def deposit(api, sim, case: str) -> int:
    answer = api("dropoff", case=case, size="M")
    api.wait_opening(answer["opening"]["id"], "opened")
    door(sim, answer["door"], "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    return answer["door"]


def event(api, name: str, timeout: float = 15.0, **match) -> dict:
    return wait_for(lambda: next((e for e in api.events(name) if all(e.get(k) == v for k, v in match.items())),
                                 None), timeout, f"event {name} {match}")


def test_jammed_door_goes_out_of_service_and_the_case_gets_another(api, sim):
    sim.request(cmd="fault", spec="jammed:0/3")  # the first M door
    answer = api("dropoff", case="SF-J1", size="M")
    assert answer["door"] == 3
    jam = event(api, "jammed", door=3)
    assert jam["note"] == "acknowledged, never seen open"
    assert api.door(3)["use"] == "out_of_service"
    opening = api.opening(answer["opening"]["id"])
    assert opening["state"] == "jammed" and opening["reply"] == "closed" and opening["outcome"] == "unknown"
    wait_for(lambda: is_open(sim, 4), what="another door to open")
    door(sim, 4, "close")
    wait_for(lambda: (api.case("SF-J1") or {}).get("state") == "materials_deposited", what="the deposit")
    assert api.case("SF-J1")["door"] == 4
    assert [e["to"] for e in api.outbox("jammed")] == ["jammed"]
    counts = sim.request(cmd="state")["received"]
    assert counts["unlock"] == 2  # door 3 once (never resent), then door 4


def test_no_reply_and_never_open_is_not_opened_and_never_resent(api, sim, daemon):
    sim.request(cmd="fault", spec="jammed:0/3")
    sim.request(cmd="fault", spec="silent_unlock:0/3")
    answer = api("dropoff", case="SF-J2", size="M")
    event(api, "unlock_unknown", door=3)
    event(api, "not_opened", door=3)
    assert api.door(3)["use"] == "out_of_service"
    wait_for(lambda: is_open(sim, 4), what="another door to open")
    assert sim.request(cmd="state")["received"]["unlock"] == 2
    assert api.opening(answer["opening"]["id"])["reply"] is None


def test_forced_door_raises_an_alarm(api, sim):
    sim.request(cmd="fault", spec="forced:1/2")
    forced = event(api, "forced", door=10)
    assert forced["alarm"] is True
    assert [e["door"] for e in api.outbox("forced")] == [10]
    assert api("dropoff", case="SF-F1", size="M")["door"] == 3
    # still open on the next polls: one alarm, not one per poll
    wait_for(lambda: api.door(10)["seen"] == "open", what="door 10 seen open")
    assert len(api.events("forced")) == 1


def test_silent_unlock_is_unknown_until_a_poll_sees_it_open(api, sim, server_key):
    number = deposit(api, sim, "SF-S1")
    sim.request(cmd="fault", spec=f"silent_unlock:0/{number}")
    answer = api("scan", code=worker_code(server_key))
    opening = answer["opening"]
    assert opening["reply"] is None and opening["outcome"] == "unknown"
    event(api, "unlock_unknown", door=number)
    api.wait_opening(opening["id"], "opened")
    door(sim, number, "close")
    api.wait_opening(opening["id"], "closed")
    assert api.case("SF-S1")["state"] == "collected"
    assert unlocks(sim) == 2


@pytest.mark.parametrize("fault", ["offline", "no_reply", "bad_checksum", "wrong_address"])
def test_a_board_that_does_not_answer_is_offline_not_closed(api, sim, fault):
    sim.request(cmd="fault", spec=f"{fault}:1")
    event(api, "board_offline")
    wait_for(lambda: any(b["board"] == 1 and not b["online"] for b in api("state")["boards"]), what="offline")
    assert {d["seen"] for d in api("state")["doors"] if d["number"] > 8} == {"offline"}
    answers = [api("dropoff", case=f"SF-O{i}", size="M") for i in range(5)]
    assert all(a["door"] <= 8 for a in answers if a["ok"])  # no door of an offline board is handed out
    sim.request(cmd="clear", name=fault)
    event(api, "board_online")


def test_garbage_on_the_line_is_dropped_and_the_flow_goes_on(api, sim):
    sim.request(cmd="fault", spec="garbage")
    number = deposit(api, sim, "SF-G1")
    assert api.case("SF-G1")["state"] == "materials_deposited" and number == 3
    assert api.events("unlock_unknown") == [] and api.events("board_offline") == []


def test_an_unlock_to_a_board_not_answering_is_unknown_then_resolved(api, sim, server_key):
    number = deposit(api, sim, "SF-N1")
    sim.request(cmd="fault", spec="no_reply:0")  # standing: the board acts but its replies are lost
    event(api, "board_offline")
    code = worker_code(server_key)
    answer = api("collect", code=code, door=number)  # a door she names opens even on a silent board
    assert answer["opening"]["outcome"] == "unknown"
    event(api, "unlock_unknown", door=number)
    assert api.opening(answer["opening"]["id"])["state"] == "commanded"  # not "closed": unknown
    sim.request(cmd="clear", name="no_reply")
    api.wait_opening(answer["opening"]["id"], "opened")
    door(sim, number, "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    assert unlocks(sim) == 2


@pytest.fixture
def quick(make_config, sim, tmp_path):
    config = make_config(prompt=1, alarm=2, data=tmp_path / "quick")
    d = Daemon(config)
    path = d.start()
    yield Client(path, store_path(config))
    d.stop()


def test_a_door_left_open_escalates_prompt_then_worker(quick, sim):
    answer = quick("dropoff", case="SF-L1", size="M")
    quick.wait_opening(answer["opening"]["id"], "opened")
    prompt = event(quick, "door_left_open", level="prompt")
    worker = event(quick, "door_left_open", level="worker")
    assert prompt["door"] == worker["door"] == answer["door"] and worker["case"] == "SF-L1"
    assert [e["level"] for e in quick.outbox("door_left_open")] == ["worker"]  # the prompt is the screen's
    events = quick("events", after=0, timeout=0)["events"]
    assert [e["detail"]["level"] for e in events if e["event"] == "door_left_open"] == ["prompt", "worker"]
    assert quick.opening(answer["opening"]["id"])["left_open_level"] == 2
    door(sim, answer["door"], "close")
    quick.wait_opening(answer["opening"]["id"], "closed")
    assert len(quick.events("door_left_open")) == 2


def test_events_wait_for_the_next_entry(api, sim):
    last = api("events", after=0, timeout=0)["events"][-1]["seq"]
    sim.request(cmd="fault", spec="forced:0/6")
    got = api("events", after=last, timeout=15)["events"]
    assert got and got[0]["seq"] == last + 1



def test_a_forced_door_left_open_escalates_too(quick, sim):
    sim.request(cmd="fault", spec="forced:0/7")
    event(quick, "forced", door=7)
    assert event(quick, "door_left_open", level="worker")["door"] == 7
    assert [e["level"] for e in quick.events("door_left_open")] == ["prompt", "worker"]


def test_a_door_shut_while_its_unlock_was_in_flight_is_closed_in_flight(api, sim, server_key):
    number = deposit(api, sim, "SF-C1")
    door(sim, number, "open")  # forced open, holding SF-C1's paper
    event(api, "forced", door=number)
    wait_for(lambda: api.door(number)["seen"] == "open", what=f"door {number} seen open")
    sim.request(cmd="fault", spec=f"silent_unlock:0/{number}")  # the unlock goes out, no reply comes back
    answer = api("collect", code=worker_code(server_key), door=number)
    opening = answer["opening"]
    assert answer["ok"] and opening["state"] == "commanded" and opening["reply"] is None, answer
    # It stood open when the unlock went out: polls seeing it open prove nothing …
    assert api.opening(opening["id"])["state"] == "commanded"
    door(sim, number, "close")  # … and it is shut before the unlock was ever seen to work
    shut = event(api, "closed_in_flight", door=number)
    assert shut["by"] == "status poll" and shut["case"] == "SF-C1" and shut["purpose"] == "collect"
    assert api.opening(opening["id"])["state"] == "closed_in_flight"
    assert [e["door"] for e in api.outbox("closed_in_flight")] == [number]
    # not a jam, not "not opened": the door stays in service, still holding the case
    assert api.events("jammed") == [] and api.events("not_opened") == []
    assert api.door(number)["use"] == "occupied" and api.case("SF-C1")["state"] == "materials_deposited"
    sim.request(cmd="clear", name="silent_unlock")
    again = api("collect", code=worker_code(server_key), door=number)  # watched this time
    api.wait_opening(again["opening"]["id"], "opened")
    door(sim, number, "close")
    api.wait_opening(again["opening"]["id"], "closed")
    assert api.case("SF-C1")["state"] == "collected"
    assert unlocks(sim) == 3


def test_a_poll_answered_before_the_unlock_reply_does_not_shut_the_opening(daemon, api, sim):
    """Polls wait behind unlocks on the bus, not behind the store: a poll answered just
    before the unlock's reply can be written just after it. The shut door it saw is the
    door before it opened, not a door closed again."""
    from drivers.lockboard import BoardStatus, DoorState, DoorStatus

    answer = api("dropoff", case="SF-P1", size="M")
    opened = api.wait_opening(answer["opening"]["id"], "opened")
    assert opened["opened_at"] is not None
    spec = daemon.locker.bank.by_number[answer["door"]]
    before = opened["opened_at"] - 0.01  # answered 10 ms before the unlock's reply
    stale = BoardStatus(spec.board, True, (DoorStatus(spec.board, spec.door, DoorState.CLOSED, at=before),), at=before)
    daemon.locker.keeper.observe(spec.bus, {spec.board: stale})
    assert api.opening(answer["opening"]["id"])["state"] == "opened"
    assert api.case("SF-P1")["state"] != "materials_deposited"
    door(sim, answer["door"], "close")  # shut for real: the next poll says so
    api.wait_opening(answer["opening"]["id"], "closed")
    assert api.case("SF-P1")["state"] == "materials_deposited"
