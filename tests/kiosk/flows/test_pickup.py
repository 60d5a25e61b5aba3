"""The pickup journey against a real locker daemon on the lock-board simulator (its
own process, on a pty): the code typed on the keypad or scanned opens the door; every
refusal tells the resident, Chinese first, what to do next."""
from __future__ import annotations

import time

from kiosk.flows.doors import LockerDoors
from kiosk.flows.pickup import PickupFlow, Step
from kiosk.store import cases
from tests.kiosk.journeys import (bus, door, is_open, kiosk_store, locker, result_waiting,  # noqa: F401
                                  running_bus, server_key, wait_for)


def flow(locker, store=None) -> PickupFlow:
    return PickupFlow(locker.doors, store, open_timeout=10, close_timeout=15)


def type_code(pickup: PickupFlow, digits: str) -> None:
    for d in digits:
        pickup.press(d)


def test_the_short_code_typed_on_the_keypad_opens_the_door(locker, bus, server_key, kiosk_store):
    mine = cases.create(kiosk_store, kind="dropoff", item_id="elderly-subsidy", item="高龄补贴申领",
                        resident=cases.Resident.of("110101198503120033", "张晓明"))
    cases.observe(kiosk_store, mine.id, "materials_deposited")
    issued = result_waiting(locker, bus, server_key, mine.id)
    pickup = flow(locker, kiosk_store)
    type_code(pickup, issued["short"][:7])
    assert not pickup.complete and pickup.press("back") == issued["short"][:6]
    type_code(pickup, issued["short"][6:] + "9")  # a ninth digit is ignored
    assert pickup.digits == issued["short"] and pickup.complete

    assert pickup.submit() is Step.OPENING and pickup.door == issued["door"]
    assert pickup.digits == ""  # the bearer code is not kept
    assert pickup.wait_open() is Step.OPEN and is_open(bus, issued["door"])
    door(bus, issued["door"], "close")
    assert pickup.wait_closed() is Step.DONE
    assert locker.client.case(mine.id)["state"] == "picked_up"
    assert cases.get(kiosk_store, mine.id).state.value == "picked_up"  # My progress sees it
    assert cases.get(kiosk_store, mine.id).rateable


def test_a_scanned_pickup_qr_opens_the_door_once(locker, bus, server_key):
    issued = result_waiting(locker, bus, server_key, "SF-PICKUP-QR")
    pickup = flow(locker)
    assert pickup.submit(issued["code"]) is Step.OPENING
    assert pickup.wait_open() is Step.OPEN
    door(bus, issued["door"], "close")
    assert pickup.wait_closed() is Step.DONE

    again = flow(locker)
    assert again.submit(issued["code"]) is Step.REFUSED
    assert again.refusal.reason == "replayed"
    assert again.refusal.advice.zh.startswith("此码已经使用过") and "staff" in again.refusal.advice.en
    type_code(again, issued["short"])
    assert again.step is Step.ENTER  # typing again leaves the refusal
    assert again.submit() is Step.REFUSED and again.refusal.reason == "picked_up"  # used: said so, not "wrong"
    assert again.refusal.advice.zh.startswith("已取件") and again.digits == ""
    assert not is_open(bus, issued["door"])


def test_wrong_codes_then_the_keypad_backs_off_with_the_seconds_to_wait(locker):
    pickup = flow(locker)
    for _ in range(5):
        type_code(pickup, "00000000")
        assert pickup.submit() is Step.REFUSED
        assert pickup.refusal.reason == "wrong_short_code", pickup.refusal
        assert pickup.refusal.advice.zh.startswith("取件码不正确") and pickup.digits == ""
    type_code(pickup, "00000001")
    assert pickup.submit() is Step.REFUSED and pickup.refusal.reason == "backing_off"
    assert pickup.wait_seconds() > 30
    assert f"{pickup.wait_seconds()} 秒" in pickup.refusal.advice.zh or "秒后再试" in pickup.refusal.advice.zh
    assert pickup.refusal.advice.zh.startswith("输错次数过多")


def test_an_expired_code_sends_the_resident_to_the_counter(locker, bus, server_key):
    issued = result_waiting(locker, bus, server_key, "SF-PICKUP-OLD")
    locker.locker.clock = lambda: time.time() + 8 * 86400  # the locker's days went by
    pickup = flow(locker)
    type_code(pickup, issued["short"])
    assert pickup.submit() is Step.REFUSED and pickup.refusal.reason == "pickup_expired"
    assert pickup.refusal.advice.zh == "取件码已过期，材料已退回网格员，请联系网格员"
    assert not is_open(bus, issued["door"])
    assert pickup.submit(issued["code"]) is Step.REFUSED and pickup.refusal.reason == "expired"
    assert "社区服务站" in pickup.refusal.advice.zh


def test_a_short_code_the_sweep_expired_is_not_called_wrong(locker, bus, server_key):
    issued = result_waiting(locker, bus, server_key, "SF-PICKUP-LATE")
    real = locker.locker.clock
    locker.locker.clock = lambda: real() + 8 * 86400
    assert locker.client("sweep")["expired"] == 1  # back on the worker's list
    pickup = flow(locker)
    type_code(pickup, issued["short"])
    assert pickup.submit() is Step.REFUSED and pickup.refusal.reason == "pickup_expired"
    assert pickup.refusal.advice.zh.startswith("取件码已过期") and "grid worker" in pickup.refusal.advice.en
    assert pickup.digits == "" and not is_open(bus, issued["door"])


def test_a_locker_that_does_not_answer_is_said_plainly(tmp_path):
    pickup = PickupFlow(LockerDoors(tmp_path / "nobody.sock"))
    type_code(pickup, "12345678")
    assert pickup.submit() is Step.REFUSED and pickup.refusal.reason == "unreachable"
    assert pickup.refusal.advice.zh == "云柜暂时无法使用，请联系工作人员"


def test_a_door_that_does_not_open_is_a_failure_not_a_wait(locker, bus, server_key):
    issued = result_waiting(locker, bus, server_key, "SF-PICKUP-JAM")
    board, number = divmod(issued["door"] - 1, 8)
    bus.request(cmd="fault", name="jammed", board=board, door=number + 1)
    pickup = flow(locker)
    assert pickup.submit(issued["short"]) is Step.OPENING
    assert pickup.wait_open() is Step.FAILED
    assert pickup.refusal.reason == "jammed" and pickup.refusal.advice.zh.startswith("柜门没有打开")


def test_the_journey_refuses_a_step_it_does_not_have(tmp_path):
    pickup = PickupFlow(LockerDoors(tmp_path / "nobody.sock"))
    import pytest
    with pytest.raises(ValueError, match="enter → done"):
        pickup.set_state(Step.DONE)
    assert pickup.step is Step.ENTER
