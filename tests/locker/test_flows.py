"""Every flow end to end: the daemon's API, the simulator on a pty, the store."""
from __future__ import annotations

from tests.locker.conftest import booking_code, door, is_open, unlocks, wait_for, worker_code


def test_dropoff_from_the_kiosk_deposits_the_case_in_that_door(api, sim):
    answer = api("dropoff", case="SF-0001", size="M", resident="张晓明", item="高龄补贴申领")
    assert answer["ok"], answer
    number = answer["door"]
    assert api.door(number)["size"] == "M"
    api.wait_opening(answer["opening"]["id"], "opened")
    assert is_open(sim, number)
    assert api.case("SF-0001")["state"] == "created"
    door(sim, number, "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    case = api.case("SF-0001")
    assert case["state"] == "materials_deposited" and case["door"] == number
    assert api.door(number)["use"] == "occupied"
    assert [e["to"] for e in api.outbox("materials_deposited")] == ["materials_deposited"]
    assert unlocks(sim) == 1


def test_the_whole_journey_dropoff_collect_return_pickup(api, sim, server_key):
    first = api("scan", code=booking_code(server_key, "SF-0002", "S"), source="scanner")
    assert first["ok"], first
    assert api.door(first["door"])["size"] == "S"
    api.wait_opening(first["opening"]["id"], "opened")
    door(sim, first["door"], "close")
    api.wait_opening(first["opening"]["id"], "closed")
    assert api.case("SF-0002")["state"] == "materials_deposited"

    collect = api("scan", code=worker_code(server_key), source="scanner")
    assert collect["ok"] and collect["door"] == first["door"], collect
    api.wait_opening(collect["opening"]["id"], "opened")
    door(sim, collect["door"], "close")
    api.wait_opening(collect["opening"]["id"], "closed")
    assert api.case("SF-0002")["state"] == "collected"
    assert api.door(first["door"])["use"] == "free"

    back = api("return", code=worker_code(server_key), case="SF-0002", size="M")
    assert back["ok"], back
    api.wait_opening(back["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(back["opening"]["id"], "closed")
    case = api.case("SF-0002")
    assert case["state"] == "result_deposited" and case["door"] == back["door"]
    issued = api.outbox("pickup_code_issued")
    assert len(issued) == 1 and len(issued[0]["short"]) == 8 and issued[0]["code"].startswith("LKR1.P.")
    assert not api.sql("SELECT 1 FROM audit WHERE detail LIKE ?", f"%{issued[0]['short']}%")  # not in the audit log

    pickup = api("pickup", code=issued[0]["short"])
    assert pickup["ok"] and pickup["door"] == back["door"], pickup
    api.wait_opening(pickup["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(pickup["opening"]["id"], "closed")
    assert api.case("SF-0002")["state"] == "picked_up"
    assert api.door(back["door"])["use"] == "free"
    again = api("pickup", code=issued[0]["code"])
    assert not again["ok"] and again["error"] == "replayed"
    assert unlocks(sim) == 4


def test_a_worker_collects_her_doors_one_after_another_or_one_by_choice(api, sim, server_key):
    numbers = []
    for i in range(3):
        answer = api("dropoff", case=f"SF-01{i}", size="M", worker="w-li" if i < 2 else "w-wang")
        api.wait_opening(answer["opening"]["id"], "opened")
        door(sim, answer["door"], "close")
        api.wait_opening(answer["opening"]["id"], "closed")
        numbers.append(answer["door"])
    chosen = api("collect", code=worker_code(server_key, "w-li"), door=numbers[1])
    assert chosen["ok"] and chosen["door"] == numbers[1] and chosen["queued"] == []
    api.wait_opening(chosen["opening"]["id"], "opened")
    door(sim, numbers[1], "close")
    api.wait_opening(chosen["opening"]["id"], "closed")

    code = worker_code(server_key, "w-li")
    mine = api("collect", code=code)
    assert mine["ok"] and mine["door"] == numbers[0] and mine["queued"] == [], mine  # not w-wang's
    api.wait_opening(mine["opening"]["id"], "opened")
    door(sim, numbers[0], "close")
    api.wait_opening(mine["opening"]["id"], "closed")
    assert api("collect", code=code)["error"] == "nothing_to_collect"

    wang = api("collect", code=worker_code(server_key, "w-wang"))
    assert wang["door"] == numbers[2]


def test_sequential_collect_opens_the_next_door_when_one_closes(api, sim, server_key):
    numbers = []
    for i in range(2):
        answer = api("dropoff", case=f"SF-02{i}", size="M")
        api.wait_opening(answer["opening"]["id"], "opened")
        door(sim, answer["door"], "close")
        api.wait_opening(answer["opening"]["id"], "closed")
        numbers.append(answer["door"])
    first = api("collect", code=worker_code(server_key))
    assert first["door"] == numbers[0] and first["queued"] == [numbers[1]]
    api.wait_opening(first["opening"]["id"], "opened")
    assert not is_open(sim, numbers[1])  # one after another
    door(sim, numbers[0], "close")
    wait_for(lambda: is_open(sim, numbers[1]), what="the next door to open")
    door(sim, numbers[1], "close")
    wait_for(lambda: api.case("SF-021")["state"] == "collected", what="the second case collected")
    assert api.case("SF-020")["state"] == "collected"


def test_a_pickup_not_made_in_time_goes_back_to_the_worker(api, daemon, sim, server_key):
    back = api("return", code=worker_code(server_key), case="SF-0300", size="M")
    api.wait_opening(back["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(back["opening"]["id"], "closed")
    short = api.outbox("pickup_code_issued")[0]["short"]
    real = daemon.locker.clock
    daemon.locker.clock = lambda: real() + 8 * 86400
    try:
        assert api("sweep")["expired"] == 1
        assert api.case("SF-0300")["state"] == "expired"
        assert [e["worker"] for e in api.outbox("pickup_expired")] == ["w-li"]
        refused = api("pickup", code=short)
        # no longer live, and she came late: told so, not that she typed it wrong
        assert refused["error"] == "pickup_expired" and "detail" not in refused, refused
        assert refused["message"].startswith("取件码已过期，材料已退回网格员，请联系网格员")
    finally:
        daemon.locker.clock = real
    retrieve = api("collect", code=worker_code(server_key))
    assert retrieve["door"] == back["door"]
    api.wait_opening(retrieve["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(retrieve["opening"]["id"], "closed")
    assert api.case("SF-0300")["state"] == "retrieved"
    assert api.door(back["door"])["use"] == "free"
    assert api("pickup", code=short)["error"] == "pickup_expired"  # taken back to the worker: the same words


def test_a_stale_short_code_says_what_became_of_it_and_counts_as_a_wrong_try(api, daemon, sim, server_key):
    back = api("return", code=worker_code(server_key), case="SF-0310", size="M")
    api.wait_opening(back["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(back["opening"]["id"], "closed")
    short = api.outbox("pickup_code_issued")[0]["short"]
    pickup = api("pickup", code=short)
    api.wait_opening(pickup["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(pickup["opening"]["id"], "closed")

    # Used: said so, with no word of the case or the door. Every such answer is a wrong
    # try all the same: a guesser's hits on old codes cost what her misses cost.
    answers = [api("pickup", code=short, source="keypad") for _ in range(6)]
    assert [a["error"] for a in answers] == ["picked_up"] * 5 + ["backing_off"], answers
    assert answers[0]["message"].startswith("已取件") and "detail" not in answers[0]
    assert [e["reason"] for e in api.events("code_refused")] == ["picked_up"] * 5 + ["backing_off"]

    with daemon.locker.store.atomic() as db:  # as a held pickup's code once a worker had it reissued
        db.execute("UPDATE pickup_codes SET state = 'superseded' WHERE short = ?", [short])
    assert api("pickup", code=short)["error"] == "pickup_replaced"

    from locker.flows import STALE_DAYS
    real = daemon.locker.clock
    daemon.locker.clock = lambda: real() + (STALE_DAYS + 8) * 86400  # long past its deadline
    try:
        assert api("pickup", code=short)["error"] == "wrong_short_code"  # as any other 8 digits
    finally:
        daemon.locker.clock = real
    assert unlocks(sim) == 2


def test_sizes_out_of_service_and_no_free_door(api, sim):
    assert api.door(16)["use"] == "out_of_service"  # configured
    large = api("dropoff", case="SF-0400", size="L")
    assert large["door"] == 8
    second = api("dropoff", case="SF-0401", size="L")
    assert second["ok"] is False and second["error"] == "no_free_door"
    assert second["message"].startswith("没有合适的空闲柜门")
    assert api.case("SF-0401") is None  # nothing half-made


def test_a_case_cannot_be_deposited_twice_or_while_its_door_is_opening(api, sim):
    first = api("dropoff", case="SF-0500", size="M")
    assert api("dropoff", case="SF-0500", size="M")["error"] == "busy"
    api.wait_opening(first["opening"]["id"], "opened")
    door(sim, first["door"], "close")
    api.wait_opening(first["opening"]["id"], "closed")
    assert api("dropoff", case="SF-0500", size="M")["error"] == "wrong_state"
    assert len(api.sql("SELECT 1 FROM cases WHERE id = 'SF-0500'")) == 1


def test_bad_requests_are_answered_not_crashed(api):
    assert api("nonsense")["error"] == "bad_request"
    assert api("dropoff", case="", size="M")["error"] == "bad_request"
    assert api("dropoff", case="SF-1", size="XL")["error"] == "bad_request"
    assert api("opening", id="x")["error"] == "bad_request"
    assert api("state")["ok"]


def test_the_kiosk_ops_dropoff_by_booking_qr_and_pickup_by_scanned_qr(api, sim, server_key):
    booked = api("dropoff", code=booking_code(server_key, "SF-K1", "L"))
    assert booked["ok"] and api.door(booked["door"])["size"] == "L", booked
    api.wait_opening(booked["opening"]["id"], "opened")
    door(sim, booked["door"], "close")
    api.wait_opening(booked["opening"]["id"], "closed")
    assert api.case("SF-K1")["state"] == "materials_deposited"
    assert api("dropoff", code=booking_code(server_key, "SF-K1", "L"))["error"] == "replayed"
    assert api("dropoff", code=worker_code(server_key))["error"] == "unreadable"  # not a booking code

    back = api("return", code=worker_code(server_key), case="SF-K2", size="M")
    api.wait_opening(back["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(back["opening"]["id"], "closed")
    qr = api.outbox("pickup_code_issued")[0]["code"]
    pickup = api("pickup", code=qr)  # the pickup QR scanned at the kiosk
    assert pickup["ok"] and pickup["door"] == back["door"], pickup
    api.wait_opening(pickup["opening"]["id"], "opened")
    door(sim, back["door"], "close")
    api.wait_opening(pickup["opening"]["id"], "closed")
    assert api.case("SF-K2")["state"] == "picked_up"
