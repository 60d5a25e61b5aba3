"""The drop-off journey against a real locker daemon on the lock-board simulator (its
own process, on a pty), the kiosk's own store and outbox, and a private cupsd for the
receipt."""
from __future__ import annotations

import pytest

from drivers.printer import Printer
from forms.office import CertificateOffice
from kiosk.flows.dropoff import DropOffFlow, Step
from kiosk.flows.printing import CertificatePrinting
from kiosk.store import cases
from kiosk.store.guide import DEMO, Guide
from locker import codes
from sync.store import pending
from tests.kiosk.journeys import (LOCKER, bus, door, is_open, kiosk_store, locker, running_bus,  # noqa: F401
                                  server_key, wait_for)
from tests.support import require

RESIDENT = cases.Resident.of("110101198503120033", "张晓明")


@pytest.fixture(scope="module")
def guide() -> Guide:
    return Guide.from_file(DEMO)


def flow(locker, kiosk_store, guide, printing=None, resident=RESIDENT) -> DropOffFlow:
    return DropOffFlow(locker.doors, kiosk_store, guide, printing, resident=resident, locker_name="幸福里社区1号云柜",
                       progress_url="https://kiosk.example.org/progress/", open_timeout=10, close_timeout=15)


def printing_to(locker, kiosk_store, url: str) -> CertificatePrinting:
    return CertificatePrinting(CertificateOffice.from_config(locker.config, kiosk_store), Printer(url))


def events(store, event_type: str) -> list:
    return [e for e in pending(store, 1000) if e.event_type == event_type]


def test_a_drop_off_from_choice_to_receipt(locker, bus, kiosk_store, guide, cupsd, artifacts):
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    dropoff = flow(locker, kiosk_store, guide, printing_to(locker, kiosk_store, cupsd.url(cupsd.pdf_queue)))
    assert "residence-proof" not in {i.id for i in dropoff.items()}
    assert [i.id for i in dropoff.items("高龄")] == ["elderly-subsidy"]
    assert dropoff.choose("elderly-subsidy") is Step.CONFIRM
    assert not dropoff.tick(0) and dropoff.missing[0] == "户口簿（户主页及本人页）"
    for index in range(1, len(dropoff.item.materials)):
        dropoff.tick(index)
    assert dropoff.all_ticked and dropoff.missing == []

    assert dropoff.open_door() is Step.OPENING
    case_id = dropoff.case_id
    created = events(kiosk_store, "created")
    assert [e.aggregate_id for e in created] == [case_id]
    assert created[0].payload["item"] == "高龄补贴申领" and created[0].payload["resident"] == RESIDENT.key
    assert "110101198503120033" not in str(created[0].payload)  # the resident is a keyed hash

    assert dropoff.wait_open() is Step.OPEN and is_open(bus, dropoff.door)
    door(bus, dropoff.door, "close")
    assert dropoff.wait_deposited() is Step.DEPOSITED
    assert locker.client.case(case_id)["state"] == "materials_deposited"
    mine = cases.get(kiosk_store, case_id)
    assert mine.state.value == "materials_deposited" and mine.door == dropoff.door
    assert [e.event_type for e in pending(kiosk_store, 1000)] == ["created"]  # the locker pushes the deposit

    assert dropoff.print_receipt() is Step.DONE
    assert dropoff.receipt.printed, dropoff.receipt.as_dict()
    assert dropoff.receipt.outcome.ok and cupsd.pdf_output(dropoff.receipt.outcome.job_id).exists()
    data = dropoff.receipt_data()
    assert data["progress_code"] == f"https://kiosk.example.org/progress/{case_id}" and data["door"] == dropoff.door
    (artifacts / "receipt.pdf").write_bytes(dropoff.receipt.certificate.pdf)


def test_a_booking_qr_opens_a_door_once(locker, bus, kiosk_store, guide, server_key):
    booking = codes.booking_code(server_key, "SF-BOOKED-1", "S", locker=LOCKER)
    dropoff = flow(locker, kiosk_store, guide)
    assert dropoff.scan(booking) is Step.OPENING and dropoff.case_id == "SF-BOOKED-1"
    assert dropoff.wait_open() is Step.OPEN
    door(bus, dropoff.door, "close")
    assert dropoff.wait_deposited() is Step.DEPOSITED
    assert cases.get(kiosk_store, "SF-BOOKED-1").state.value == "materials_deposited"
    assert events(kiosk_store, "created") == []  # the server made this case

    again = flow(locker, kiosk_store, guide)
    assert again.scan(booking) is Step.REFUSED and again.refusal.reason == "replayed_booking"
    assert again.refusal.advice.zh.startswith("此预约码已经使用过")


@pytest.mark.parametrize("text, reason", [("12345678", "pickup_here"), ("hello", "not_booking"),
                                          ("LKR1.B.e30.AAAA", "not_booking")])
def test_what_is_no_booking_code_is_said_plainly(locker, kiosk_store, guide, text, reason):
    dropoff = flow(locker, kiosk_store, guide)
    assert dropoff.scan(text) is Step.REFUSED and dropoff.refusal.reason == reason
    assert dropoff.refusal.advice.zh and dropoff.refusal.advice.en


def test_a_forged_booking_is_refused_by_the_locker(locker, kiosk_store, guide):
    from appliance.keys import DeviceKey
    forged = codes.booking_code(DeviceKey.from_seed("server", bytes(32)), "SF-FORGED", "M", locker=LOCKER)
    dropoff = flow(locker, kiosk_store, guide)
    assert dropoff.scan(forged) is Step.REFUSED and dropoff.refusal.reason == "forged"


def test_no_free_door_cancels_the_case_made_here(locker, bus, kiosk_store, guide):
    first = flow(locker, kiosk_store, guide)
    first.choose("low-income")  # size L: the bank has one L door in service
    first.confirm_all()
    assert first.open_door() is Step.OPENING and first.wait_open() is Step.OPEN
    door(bus, first.door, "close")
    assert first.wait_deposited() is Step.DEPOSITED

    second = flow(locker, kiosk_store, guide)
    second.choose("low-income")
    second.confirm_all()
    assert second.open_door() is Step.REFUSED and second.refusal.reason == "no_free_door"
    assert "社区服务站" in second.refusal.advice.zh
    assert cases.get(kiosk_store, second.case_id).state.value == "cancelled"
    assert [e.event_type for e in pending(kiosk_store, 1000) if e.aggregate_id == second.case_id] == \
        ["created", "cancelled"]


def test_a_jammed_door_is_replaced_by_another(locker, bus, kiosk_store, guide):
    bus.request(cmd="fault", name="jammed", board=0, door=3)  # the first M door
    dropoff = flow(locker, kiosk_store, guide)
    dropoff.choose("residence-permit")
    dropoff.confirm_all()
    assert dropoff.open_door() is Step.OPENING and dropoff.door == 3
    assert dropoff.wait_open() is Step.OPEN and dropoff.door != 3
    assert is_open(bus, dropoff.door)
    door(bus, dropoff.door, "close")
    assert dropoff.wait_deposited() is Step.DEPOSITED
    assert locker.client.door(3)["use"] == "out_of_service"


def test_a_printer_fault_leaves_the_drop_off_standing(locker, bus, kiosk_store, guide, cupsd, fault_queue):
    cupsd.set_fault("paper", fault_queue)
    dropoff = flow(locker, kiosk_store, guide, printing_to(locker, kiosk_store, cupsd.url(fault_queue)))
    dropoff.choose("senior-card")
    dropoff.confirm_all()
    dropoff.open_door()
    dropoff.wait_open()
    door(bus, dropoff.door, "close")
    assert dropoff.wait_deposited() is Step.DEPOSITED
    assert dropoff.print_receipt() is Step.DONE and not dropoff.receipt.printed
    assert dropoff.receipt.advice.zh == "打印机缺纸，请联系工作人员添纸"
    assert cases.get(kiosk_store, dropoff.case_id).state.value == "materials_deposited"


def test_a_drop_off_for_an_item_needs_the_resident(locker, kiosk_store, guide):
    dropoff = flow(locker, kiosk_store, guide, resident=None)
    dropoff.choose("senior-card")
    with pytest.raises(RuntimeError, match="identified"):
        dropoff.open_door()
    with pytest.raises(ValueError, match="not taken by the locker"):
        dropoff.choose("residence-proof")


@pytest.fixture
def sensing_locker(tmp_path, server_key):
    """A locker whose first board has item sensors (the simulator with --items)."""
    from appliance.config import load
    from appliance.keys import TrustedKeys
    from kiosk.flows.doors import LockerDoors
    from locker.daemon import Daemon, socket_path, store_path
    from tests.locker.conftest import CONFIG, DOORS, Client
    from tests.support import SimProcess

    with SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "2", "--doors", str(DOORS),
                    "--items") as sim:
        data = tmp_path / "sensing"
        data.mkdir()
        TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
        text = CONFIG.format(locker=LOCKER, data=data, port=sim.path, doors=DOORS, oos="8", prompt=60, alarm=120,
                             sync="false").replace("address = 0\n", "address = 0\nitem_sensors = true\n")
        path = tmp_path / "sensing.toml"
        path.write_text(text, encoding="utf-8")
        config = load(path)
        daemon = Daemon(config)
        daemon.start()
        daemon.client = Client(socket_path(config), store_path(config))
        daemon.doors = LockerDoors(socket_path(config), poll=0.02)
        try:
            yield daemon, sim
        finally:
            daemon.stop()


def test_a_door_shut_with_nothing_inside_is_opened_again(sensing_locker, kiosk_store, guide):
    locker, sim = sensing_locker
    dropoff = flow(locker, kiosk_store, guide)
    dropoff.choose("senior-card")  # size S: doors 1 and 2, on the board with item sensors
    dropoff.confirm_all()
    assert dropoff.open_door() is Step.OPENING and dropoff.wait_open() is Step.OPEN
    first = dropoff.door
    door(sim, first, "close")  # shut with nothing put in
    assert dropoff.wait_deposited() is Step.EMPTY
    assert dropoff.refusal.reason == "dropoff_empty" and dropoff.refusal.advice.zh.startswith("柜门内没有检测到材料")
    assert cases.get(kiosk_store, dropoff.case_id).state.value == "created"  # the same case, still to deposit

    case_id = dropoff.case_id
    assert dropoff.open_door() is Step.OPENING and dropoff.case_id == case_id
    assert dropoff.wait_open() is Step.OPEN
    sim.request(cmd="item", board=0, door=dropoff.door, present=True)
    door(sim, dropoff.door, "close")
    assert dropoff.wait_deposited() is Step.DEPOSITED
    assert locker.client.case(case_id)["state"] == "materials_deposited"
    assert [e.event_type for e in pending(kiosk_store, 100) if e.aggregate_id == case_id] == ["created"]


# -- the booking's short code on the keypad, and the locker's own scanner -----------------------
def test_the_keypad_takes_only_the_booking_alphabet_and_says_when_no_server_can_be_asked(locker, bus, kiosk_store,
                                                                                         guide):
    dropoff = flow(locker, kiosk_store, guide)  # no desk: [sync] has no server
    assert dropoff.type_code() is Step.CODE
    for key in ("0", "1", "I", "l", "O", "7", "k", "Q", "3", "back", "3", "P", "9", "X", "M", "Z", "Z"):
        dropoff.press(key)
    assert dropoff.typed == "7KQ3P9XM" and dropoff.code_complete  # no 0 1 I L O; capitals; eight at most
    assert dropoff.submit_code() is Step.CODE
    assert dropoff.refusal.reason == "booking_unreachable" and "扫码窗口" in dropoff.refusal.advice.zh
    assert dropoff.typed == "7KQ3P9XM"  # not the resident's fault: what she typed stays
    assert doors_open(bus) == [] and pending(kiosk_store, 10) == []
    assert dropoff.back_to_choice() is Step.CHOOSE and dropoff.typed == ""


def test_a_keypad_backing_off_asks_nobody(locker, bus, kiosk_store, guide):
    from kiosk.flows.bookings import BookingDesk
    from locker.throttle import Throttle

    throttle = Throttle(tries=5, backoff=60)
    for _ in range(5):
        throttle.wrong("keypad", short=True)  # the last resident's guesses
    desk = BookingDesk("http://127.0.0.1:9", locker_key())  # nothing listens there: were it asked, it would say so
    dropoff = DropOffFlow(locker.doors, kiosk_store, guide, resident=RESIDENT, desk=desk, throttle=throttle)
    dropoff.type_code()
    for key in "7KQ3P9XM":
        dropoff.press(key)
    assert dropoff.submit_code() is Step.CODE
    assert dropoff.refusal.reason == "backing_off" and 55 < dropoff.wait_seconds() <= 60
    assert "60 秒" in dropoff.refusal.advice.zh or "59 秒" in dropoff.refusal.advice.zh
    desk.close()


def locker_key():
    from appliance.keys import DeviceKey
    return DeviceKey.from_seed("kiosk-test", bytes(range(1, 33)))


def doors_open(bus) -> list[int]:
    return [n for n in range(1, 9) if is_open(bus, n)]


def test_a_booking_qr_at_the_lockers_scanner_is_followed(locker, bus, kiosk_store, guide, server_key):
    dropoff = flow(locker, kiosk_store, guide)
    booking = codes.booking_code(server_key, "SQ-SCANNED-1", "M")
    answers: list = []
    stop = {"now": False}
    import threading

    watch = threading.Thread(target=lambda: answers.append(dropoff.watch_scanner(lambda: stop["now"], interval=0.05)))
    watch.start()
    wait_for(lambda: True, what="the watch's first look")
    import time
    time.sleep(0.3)
    scanned = locker.client("scan", code=booking, source="scanner")  # what the locker's scanner does
    watch.join(10)
    assert answers == [(scanned["door"], "SQ-SCANNED-1", "M")]
    assert dropoff.scanned(*answers[0]) is Step.OPEN and dropoff.door == scanned["door"]
    locker.client.wait_opening(scanned["opening"]["id"], "opened")
    door(bus, dropoff.door, "close")
    assert dropoff.wait_deposited() is Step.DEPOSITED
    mine = cases.get(kiosk_store, "SQ-SCANNED-1")
    assert mine.state.value == "materials_deposited" and mine.resident_key == RESIDENT.key
    assert events(kiosk_store, "created") == []  # the server made it; the locker announced the deposit
    assert dropoff.print_receipt() is Step.DONE and dropoff.receipt_data()["case_number"] == "SQ-SCANNED-1"


def test_the_watch_ignores_doors_open_before_it_began_and_stops_when_told(locker, bus, kiosk_store, guide,
                                                                       server_key):
    earlier = locker.client("scan", code=codes.booking_code(server_key, "SQ-EARLIER-1", "M"), source="scanner")
    locker.client.wait_opening(earlier["opening"]["id"], "opened")
    dropoff = flow(locker, kiosk_store, guide)
    looks = {"n": 0}

    def stop() -> bool:
        looks["n"] += 1
        return looks["n"] > 5
    assert dropoff.watch_scanner(stop, interval=0.02) is None  # that door was someone else's
    assert dropoff.step is Step.CHOOSE


def test_a_door_the_scanner_opened_and_shut_empty_is_said_plainly(sensing_locker, kiosk_store, guide, server_key):
    locker, sim = sensing_locker
    dropoff = flow(locker, kiosk_store, guide)
    scanned = locker.client("scan", code=codes.booking_code(server_key, "SQ-EMPTY-1", "S"), source="scanner")
    locker.client.wait_opening(scanned["opening"]["id"], "opened")
    assert dropoff.scanned(scanned["door"], "SQ-EMPTY-1", "S") is Step.OPEN
    door(sim, scanned["door"], "close")  # nothing put in
    assert dropoff.wait_deposited() is Step.EMPTY and dropoff.refusal.reason == "dropoff_empty"
