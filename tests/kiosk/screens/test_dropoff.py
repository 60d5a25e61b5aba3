"""The drop-off screen end to end: the identified resident chooses the item, ticks the
materials, the real locker daemon (on the lock-board simulator, its own process)
opens a door, the door is shut, and the receipt ends as a completed CUPS job."""
from __future__ import annotations

import pytest

from PySide6.QtWidgets import QFrame, QLabel, QPushButton

from drivers.printer import Printer
from drivers.printer.codec import JobState
from kiosk.flows.dropoff import Step
from kiosk.screenshots import DEMO_RESIDENT
from kiosk.store import cases
from sync.store import pending
from tests.kiosk.conftest import wait_screen
from tests.kiosk.journeys import (bus, locker_process, door, is_open, kiosk_config_on, running_bus,  # noqa: F401
                                  scanning_locker, server_key, texts, visible)
from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, warm_up
from tests.support import require



@pytest.fixture
def locker(locker_process):
    """The locker daemon as its own process, as on the appliance."""
    return locker_process

def qr_codes(pdf: bytes, folder) -> list[str]:
    import subprocess

    from tests.support import require_program

    (folder / "receipt.pdf").write_bytes(pdf)
    subprocess.run([require_program("poppler-utils", "pdftoppm"), "-r", "200", "-png", "-singlefile",
                    str(folder / "receipt.pdf"), str(folder / "receipt")], check=True)
    out = subprocess.run([require_program("zbar-tools", "zbarimg"), "-q", "--raw", str(folder / "receipt.png")],
                         capture_output=True, text=True).stdout
    return out.split()


def text_of(app, name: str) -> str:
    found = visible(app, QLabel, name)
    return found.text() if found is not None else ""


@pytest.mark.ui_stall
def test_a_drop_off_from_the_tile_to_the_printed_receipt(tmp_path, make_app, tap, qtbot, locker, bus, cupsd):
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    app = make_app(kiosk_config_on(tmp_path, locker, printer_url=cupsd.url(cupsd.pdf_queue)))
    warm_up(app, qtbot, "dropoff")
    app.session.identify(DEMO_RESIDENT)  # the identify journey is tested on its own
    tap(app, "tile-dropoff")
    wait_screen(qtbot, app, "dropoff")
    tap(app, "dropoff-item-senior-card", timeout=10)
    tap(app, "dropoff-material-0")
    qtbot.waitUntil(lambda: "还缺 1 项" in text_of(app, "dropoff-missing"))
    tap(app, "dropoff-material-1")
    qtbot.waitUntil(lambda: text_of(app, "dropoff-missing") == "材料已备齐")
    # the unlock, the wait for the door and the print run off the UI thread: measured from
    # the tap to the door, and from the door shut to the receipt (the test's own requests
    # to the simulator run on this thread, outside the measured spans)
    stall = Stalls().start()
    tap(app, "dropoff-open")
    qtbot.waitUntil(lambda: visible(app, QFrame, "door-panel") is not None, timeout=10000)
    flow = app.session.scratch["dropoff"]
    opening = (stall.own_worst_ms, stall.report())
    assert is_open(bus, flow.door)
    assert visible(app, QLabel, "door-panel-door").text() == f"{flow.door} 号柜门"
    door(bus, flow.door, "close")
    stall.reset()
    qtbot.waitUntil(lambda: visible(app, QFrame, "dropoff-done") is not None, timeout=20000)
    stall.stop()
    assert flow.step is Step.DONE and flow.receipt.printed, flow.receipt.as_dict()
    state, _, _ = Printer(cupsd.url(cupsd.pdf_queue)).job(flow.receipt.outcome.job_id)
    assert state is JobState.COMPLETED  # asked of cupsd itself
    assert visible(app, QLabel, "dropoff-case").text().startswith(f"办件编号 {flow.case_id}")
    # the receipt's progress QR opens the server's page of the case (read by zbar, not by our code)
    assert f"http://127.0.0.1:8000/phone/cases/{flow.case_id}" in qr_codes(flow.receipt.certificate.pdf, tmp_path)
    assert opening[0] < LIMIT_MS, opening[1]
    assert stall.own_worst_ms < LIMIT_MS, stall.report()

    store = app.devices.store
    mine = cases.get(store, flow.case_id)
    assert mine.state.value == "materials_deposited" and mine.item == "老年人优待证办理"
    assert mine.resident_key == cases.resident_key(DEMO_RESIDENT.id_number)
    assert [e.event_type for e in pending(store, 100) if e.aggregate_id == flow.case_id] == ["created"]
    assert locker.client.case(flow.case_id)["state"] == "materials_deposited"

    tap(app, "dropoff-progress")
    wait_screen(qtbot, app, "progress")


def test_no_free_door_is_said_plainly_and_nothing_is_left_half_made(tmp_path, make_app, tap, qtbot, locker, bus):
    app = make_app(kiosk_config_on(tmp_path, locker))
    app.session.identify(DEMO_RESIDENT)
    app.go("dropoff", item="low-income")  # size L: the bank's one L door
    for attempt in range(2):
        tap(app, "dropoff-open", timeout=10)
        if attempt == 0:
            qtbot.waitUntil(lambda: visible(app, QFrame, "door-panel") is not None, timeout=10000)
            flow = app.session.scratch["dropoff"]
            door(bus, flow.door, "close")
            qtbot.waitUntil(lambda: flow.step is Step.DONE, timeout=10000)
            app.go("dropoff", item="low-income")
    qtbot.waitUntil(lambda: visible(app, QFrame, "dropoff-failed") is not None, timeout=10000)
    shown = texts(visible(app, QFrame, "dropoff-failed"))
    assert any(t.startswith("暂时没有合适的空柜门") for t in shown), shown
    flow = app.session.scratch["dropoff"]
    assert cases.get(app.devices.store, flow.case_id).state.value == "cancelled"


@pytest.mark.ui_stall
def test_a_booking_qr_at_the_lockers_own_scanner_is_followed_to_the_printed_receipt(
        tmp_path, make_app, tap, qtbot, scanning_locker, bus, server_key, cupsd):
    from locker import codes

    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    config = kiosk_config_on(tmp_path, scanning_locker, printer_url=cupsd.url(cupsd.pdf_queue))
    # a box whose locker prints no receipts of its own ([locker] receipt = false): the kiosk prints it
    app = make_app(config.model_copy(update={"locker": config.locker.model_copy(update={"receipt": False})}))
    booking = codes.booking_code(server_key, "SQ20261205-BOOKED", "M")  # what the phone pages issued
    warm_up(app, qtbot, "dropoff")
    app.session.identify(DEMO_RESIDENT)
    tap(app, "tile-dropoff")
    wait_screen(qtbot, app, "dropoff")
    qtbot.waitUntil(lambda: visible(app, QPushButton, "dropoff-type-code") is not None, timeout=10000)
    qtbot.wait(700)  # the watch has taken its first look at the locker
    meter = Stalls().start()
    scanning_locker.scanner.request(cmd="scan", code=booking)  # her phone at the locker's scanner
    qtbot.waitUntil(lambda: visible(app, QFrame, "door-panel") is not None, timeout=15000)
    flow = app.session.scratch["dropoff"]
    assert flow.case_id == "SQ20261205-BOOKED" and is_open(bus, flow.door)
    assert visible(app, QLabel, "door-panel-door").text() == f"{flow.door} 号柜门"
    door(bus, flow.door, "close")
    qtbot.waitUntil(lambda: visible(app, QFrame, "dropoff-done") is not None, timeout=20000)
    meter.stop()
    assert flow.step is Step.DONE and flow.receipt.printed, flow.receipt.as_dict()
    state, _, _ = Printer(cupsd.url(cupsd.pdf_queue)).job(flow.receipt.outcome.job_id)
    assert state is JobState.COMPLETED
    assert "http://127.0.0.1:8000/phone/cases/SQ20261205-BOOKED" in qr_codes(flow.receipt.certificate.pdf, tmp_path)
    assert visible(app, QLabel, "dropoff-case").text().startswith("办件编号 SQ20261205-BOOKED")
    assert scanning_locker.client.case("SQ20261205-BOOKED")["state"] == "materials_deposited"
    mine = cases.get(app.devices.store, "SQ20261205-BOOKED")  # My progress at this kiosk shows it
    assert mine.state.value == "materials_deposited" and mine.item == "预约办件"
    assert [e for e in pending(app.devices.store, 100) if e.aggregate_id == "SQ20261205-BOOKED"] == []  # the server's case
    assert meter.own_worst_ms < LIMIT_MS, meter.report()


def test_where_the_locker_prints_its_own_receipt_the_kiosk_prints_none(tmp_path, make_app, tap, qtbot, bus, server_key,
                                                                       cupsd):
    """One box, one printer: the locker daemon prints the receipt of a booking shown to
    its scanner ([locker] receipt = true), so the kiosk following it prints no second
    one and tells the resident where hers came out."""
    from locker import codes
    from tests.kiosk.journeys import locker_with_scanner

    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    url = cupsd.url(cupsd.pdf_queue)
    with locker_with_scanner(tmp_path, bus, server_key, receipts_to=url) as printing_locker:
        app = make_app(kiosk_config_on(tmp_path, printing_locker, printer_url=url))
        assert app.config.locker.receipt and app.config.printer.enabled  # the shipped default, as on the box
        app.session.identify(DEMO_RESIDENT)
        tap(app, "tile-dropoff")
        wait_screen(qtbot, app, "dropoff")
        qtbot.waitUntil(lambda: visible(app, QPushButton, "dropoff-type-code") is not None, timeout=10000)
        qtbot.wait(700)  # the watch has taken its first look at the locker
        printing_locker.scanner.request(cmd="scan", code=codes.booking_code(server_key, "SQ20261205-LOCKER", "M"))
        qtbot.waitUntil(lambda: visible(app, QFrame, "door-panel") is not None, timeout=15000)
        flow = app.session.scratch["dropoff"]
        door(bus, flow.door, "close")
        qtbot.waitUntil(lambda: visible(app, QFrame, "dropoff-done") is not None, timeout=20000)
        assert flow.receipt is None and flow.receipt_by_locker
        shown = texts(visible(app, QFrame, "dropoff-done"))
        assert any("云柜的打印口" in t for t in shown), shown
        def receipts() -> list[str]:
            return [state for (state,) in printing_locker.client.sql(
                "SELECT state FROM receipts WHERE case_id = ?", "SQ20261205-LOCKER")]
        qtbot.waitUntil(lambda: receipts() == ["printed"], timeout=30000)  # the locker's own, the only one
        assert flow.receipt is None  # and none from the kiosk


def test_a_door_opened_for_someone_else_before_the_screen_showed_is_not_followed(
        tmp_path, make_app, tap, qtbot, scanning_locker, bus, server_key):
    from locker import codes

    app = make_app(kiosk_config_on(tmp_path, scanning_locker))
    scanning_locker.scanner.request(cmd="scan", code=codes.booking_code(server_key, "SQ-EARLIER", "M"))
    wait_for_open = scanning_locker.client.case
    qtbot.waitUntil(lambda: (wait_for_open("SQ-EARLIER") or {}).get("door") is not None
                    or any(is_open(bus, n) for n in range(1, 9)), timeout=10000)
    app.session.identify(DEMO_RESIDENT)
    app.go("dropoff")
    qtbot.wait(1500)  # the watch has looked several times
    assert app.session.scratch["dropoff"].step is Step.CHOOSE  # not this resident's door
