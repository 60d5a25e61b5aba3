"""A booking made on the phone, dropped off at the kiosk by a resident without her phone:
the 8-character short code typed on the drop-off keypad, looked up at the real server
(``python -m sync.server``, the booking made by the phone pages' own code), its QR
checked by the real locker daemon (its own process, on the lock-board simulator,
trusting the server's key), the door, the deposit, the receipt through the private
cupsd with its progress QR; wrong codes back the keypad off."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFrame, QLabel, QPushButton
from sqlalchemy import select

from appliance.keys import DeviceKey, encode_public_key
from drivers.printer import Printer
from drivers.printer.codec import JobState
from kiosk.flows.dropoff import Step
from kiosk.screenshots import DEMO_RESIDENT
from kiosk.store import cases
from sync.server import db, keys
from sync.server.models import Case
from tests.kiosk.conftest import wait_screen
from tests.kiosk.journeys import (bus, door, is_open, kiosk_config_on, locker_process, running_bus,  # noqa: F401
                                  texts, visible)
from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, warm_up
from tests.kiosk.screens.test_dropoff import qr_codes, text_of
from tests.support import require
from tests.sync.server.phone.conftest import ITEM, ZHANG
from tests.sync.server.phone.support import seed
from tests.sync.server.support import COMMUNITY, new_code


@pytest.fixture
def server(live_server):
    """The server with the phone pages' household, guide item and Zhang's number linked."""
    seed(live_server.database_url, live_server.url, lockers=())
    return live_server


@pytest.fixture
def server_key(server) -> DeviceKey:
    """The server's own signing key: the locker trusts it for booking codes."""
    engine = db.create(server.database_url)
    try:
        with engine.begin() as conn:
            return keys.ensure(conn)
    finally:
        engine.dispose()


@pytest.fixture
def locker(locker_process):
    return locker_process


def book(server) -> tuple[str, str]:
    """Zhang applies on his phone: (case id, the short code the page showed him)."""
    from sync.server.phone import cases as phone_cases, guide, links
    from sync.server.phone.signin import Resident
    from sync.server.phone.throttle import Policy

    engine = db.create(server.database_url)
    try:
        with engine.begin() as conn:
            member = links.linked(conn, COMMUNITY, ZHANG["phone"])
            item = guide.item(conn, COMMUNITY, ITEM)
            return phone_cases.apply(conn, Resident(ZHANG["phone"], COMMUNITY, ""), member, item, {}, [],
                                     entry=None, policy=Policy())
    finally:
        engine.dispose()


def kiosk_on(tmp_path, locker, server, printer_url: str | None = None):
    """The kiosk's configuration asking ``locker``, enrolled with ``server`` in the community."""
    import requests

    config = kiosk_config_on(tmp_path, locker, printer_url=printer_url)
    config = config.model_copy(update={"sync": config.sync.model_copy(update={"server_url": server.url})})
    key = DeviceKey.load_or_create(config.data_dir, config.appliance.id)
    answer = requests.post(f"{server.url}/api/v1/enrol", json={
        "code": new_code(server.database_url, key.device_id, COMMUNITY), "device_id": key.device_id,
        "public_key": encode_public_key(key.public_key)}, timeout=10)
    assert answer.status_code == 201, answer.text
    return config


def type_code(tap, app, code: str) -> None:
    for char in code:
        tap(app, f"dropoff-key-{char}")


@pytest.mark.ui_stall
def test_the_booking_code_typed_at_the_kiosk_opens_a_door_and_the_receipt_prints(
        tmp_path, make_app, tap, qtbot, server, locker, bus, cupsd):
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    case_id, short = book(server)
    app = make_app(kiosk_on(tmp_path, locker, server, printer_url=cupsd.url(cupsd.pdf_queue)))
    warm_up(app, qtbot, "dropoff")
    app.session.identify(DEMO_RESIDENT)
    tap(app, "tile-dropoff")
    wait_screen(qtbot, app, "dropoff")
    meter = Stalls().start()  # each key, the look-up, the unlock, the door, the print: off the UI thread
    tap(app, "dropoff-type-code", timeout=10)
    type_code(tap, app, short[:5] + "2")  # a slip of the finger, put right
    tap(app, "dropoff-key-back")
    type_code(tap, app, short[5:])
    qtbot.waitUntil(lambda: [text_of(app, f"code-digit-{i}") for i in range(8)] == list(short))
    tap(app, "dropoff-code-open")
    qtbot.waitUntil(lambda: visible(app, QFrame, "door-panel") is not None, timeout=15000)
    flow = app.session.scratch["dropoff"]
    assert flow.case_id == case_id and is_open(bus, flow.door)
    assert visible(app, QLabel, "door-panel-door").text() == f"{flow.door} 号柜门"
    opening = (meter.own_worst_ms, meter.report())
    door(bus, flow.door, "close")  # the test's own request to the simulator: outside the measure
    meter.reset()
    qtbot.waitUntil(lambda: visible(app, QFrame, "dropoff-done") is not None, timeout=20000)
    meter.stop()
    assert opening[0] < LIMIT_MS, opening[1]
    assert flow.step is Step.DONE and flow.receipt.printed, flow.receipt.as_dict()
    state, _, _ = Printer(cupsd.url(cupsd.pdf_queue)).job(flow.receipt.outcome.job_id)
    assert state is JobState.COMPLETED
    assert f"{server.url}/phone/cases/{case_id}" in qr_codes(flow.receipt.certificate.pdf, tmp_path)
    assert locker.client.case(case_id)["state"] == "materials_deposited"
    mine = cases.get(app.devices.store, case_id)  # My progress at this kiosk follows it
    assert mine is not None and mine.state.value == "materials_deposited"
    assert mine.resident_key == cases.resident_key(DEMO_RESIDENT.id_number)
    assert flow.typed == ""  # the code is not kept once used
    assert meter.own_worst_ms < LIMIT_MS, meter.report()

    # the same code again: the server (which hears of the deposit from the locker's own agent,
    # not running here) still names the booking, and the locker refuses its QR as used
    engine = db.create(server.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one() == "created"
    finally:
        engine.dispose()
    app.go("dropoff")
    tap(app, "dropoff-type-code", timeout=10)
    type_code(tap, app, short)
    tap(app, "dropoff-code-open")
    qtbot.waitUntil(lambda: visible(app, QFrame, "dropoff-failed") is not None, timeout=15000)
    shown = texts(visible(app, QFrame, "dropoff-failed"))
    assert any(t.startswith("此预约码已经使用过") for t in shown), shown
    assert not any(is_open(bus, n) for n in range(1, 9) if n != flow.door)


def test_wrong_booking_codes_back_the_keypad_off_and_a_new_session_does_not_reset_it(
        tmp_path, make_app, tap, qtbot, server, locker):
    from sync.server.phone import kiosk as booking_api, throttle

    app = make_app(kiosk_on(tmp_path, locker, server))
    app.session.identify(DEMO_RESIDENT)
    app.go("dropoff")
    tap(app, "dropoff-type-code", timeout=10)
    tries = app.config.locker.wrong_tries
    for attempt in range(tries):
        type_code(tap, app, "22222222")
        tap(app, "dropoff-code-open")
        qtbot.waitUntil(lambda: visible(app, QFrame, "dropoff-code-refusal") is not None
                        and text_of(app, "code-digit-0") == "", timeout=15000)
        shown = texts(visible(app, QFrame, "dropoff-code-refusal"))
        if attempt < tries - 1:
            assert any(t.startswith("预约码不正确") for t in shown), shown
    flow = app.session.scratch["dropoff"]
    assert flow.refusal.reason == "backing_off" and flow.wait_seconds() > 30
    assert any("秒后再试" in t for t in shown), shown
    assert not visible(app, QPushButton, "dropoff-key-2").isEnabled()
    assert not visible(app, QPushButton, "dropoff-code-open").isEnabled()
    key = DeviceKey.load_or_create(app.config.data_dir, app.config.appliance.id)
    engine = db.create(server.database_url)
    try:
        with engine.connect() as conn:  # each wrong try counted at the server too
            assert throttle.used(conn, booking_api.WRONG_PER_DEVICE, f"device:{key.device_id}") == tries
    finally:
        engine.dispose()
    # a new resident, the same back-off: the keypad's count is the kiosk's, not the session's
    app.home()
    app.session.identify(DEMO_RESIDENT)
    app.go("dropoff")
    tap(app, "dropoff-type-code", timeout=10)
    assert app.session.scratch["dropoff"].wait_seconds() > 30
    qtbot.waitUntil(lambda: visible(app, QPushButton, "dropoff-key-2") is not None)
    assert not visible(app, QPushButton, "dropoff-key-2").isEnabled()
