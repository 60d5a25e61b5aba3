"""A case the kiosk on the same box made is announced once and gets one receipt: the
kiosk's (with the progress QR). The locker sends no ``created`` of its own and prints
no receipt for it; for a booking QR's case and a drop-off without a kiosk it does both."""
from __future__ import annotations

from locker.daemon import Daemon, store_path
from tests.locker.conftest import Client, booking_code, door, wait_for


def deposit(api: Client, sim, answer: dict) -> None:
    assert answer["ok"], answer
    api.wait_opening(answer["opening"]["id"], "opened")
    door(sim, answer["door"], "close")
    api.wait_opening(answer["opening"]["id"], "closed")


def created_in_outbox(api: Client, case_id: str) -> int:
    return api.sql("SELECT COUNT(*) FROM outbox WHERE aggregate_id = ? AND event_type = 'created'", case_id)[0][0]


def test_the_kiosks_case_is_announced_and_receipted_by_the_kiosk_alone(config, sim, server_key):
    printed: list[dict] = []
    d = Daemon(config, print_receipt=printed.append)
    try:
        api = Client(d.start(), store_path(config))
        # the kiosk's request (kiosk.flows.doors.LockerDoors names its source)
        deposit(api, sim, api("dropoff", case="DO-261122-KIOSK", size="M", item="高龄补贴申领", resident="张晓明",
                              source="kiosk"))
        assert api.case("DO-261122-KIOSK")["state"] == "materials_deposited"
        assert created_in_outbox(api, "DO-261122-KIOSK") == 0
        assert [e["door"] for e in api.outbox("materials_deposited")] == [api.case("DO-261122-KIOSK")["door"]]
        assert [e.get("announced_by") for e in api.events("created")] == ["kiosk"]  # the audit still has it

        # a booking QR (the phone made the case): the locker announces it and prints the receipt
        deposit(api, sim, api("scan", code=booking_code(server_key, "PH-261122-BOOK", "S"), source="scanner"))
        assert created_in_outbox(api, "PH-261122-BOOK") == 1
        # a tool or a locker without a kiosk (no source): as before, both
        deposit(api, sim, api("dropoff", case="SF-261122-ALONE", size="M", item="材料", resident="李桂兰"))
        assert created_in_outbox(api, "SF-261122-ALONE") == 1
        wait_for(lambda: len(api.events("receipt_printed")) == 2, what="two receipts")
        assert sorted(p["case_number"] for p in printed) == ["PH-261122-BOOK", "SF-261122-ALONE"]
        assert api.sql("SELECT case_id FROM receipts WHERE case_id = 'DO-261122-KIOSK'") == []
    finally:
        d.stop()


def test_announced_is_said_explicitly_or_refused(api):
    assert api("dropoff", case="SF-1", size="M", announced="yes")["error"] == "bad_request"
    answer = api("dropoff", case="SF-2", size="M", source="kiosk", announced=False)  # a kiosk that did not
    assert answer["ok"] and created_in_outbox(api, "SF-2") == 1
