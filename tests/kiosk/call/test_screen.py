"""The kiosk's call screen on the real app (offscreen), with Qt and asyncio on one
thread through qasync as in ``python -m kiosk``: a department tapped, the staff's
Chromium console (a process of its own) answers, the remote picture shows,
the big button hangs up."""
from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
from PySide6.QtWidgets import QFrame, QLabel, QPushButton

from appliance.keys import DeviceKey, encode_public_key
from tests.kiosk.conftest import write_config
from tests.sync.server.support import COMMUNITY, new_code
from tests.kiosk.journeys import texts
from tests.sync.server.video.support import PASSWORD, prepare


@pytest.fixture
def qasync_loop(qapp):
    import qasync

    # Playwright's sync API (the session's browsers) marks its own loop as this thread's
    # running one between its calls: step it aside while the kiosk's loop runs, then
    # put it back, or the kiosk's tasks land on Playwright's loop
    running = asyncio._get_running_loop()
    previous = getattr(asyncio.get_event_loop_policy()._local, "_loop", None)
    asyncio._set_running_loop(None)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        # what the scenario left running (a screen's request) ends here, not in a later
        # test's garbage collection as "Task was destroyed but it is pending"
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(previous)
        asyncio._set_running_loop(running)


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def enrolled_config(tmp_path, site):
    import requests

    config = write_config(tmp_path)
    config = config.model_copy(update={"sync": config.sync.model_copy(update={"server_url": site.url})})
    key = DeviceKey.load_or_create(config.data_dir, config.appliance.id)
    code = new_code(site.server.database_url, key.device_id, COMMUNITY)
    answer = requests.post(f"{site.url}/api/v1/enrol", json={"code": code, "device_id": key.device_id,
                                                             "public_key": encode_public_key(key.public_key)},
                           timeout=10)
    assert answer.status_code == 201, answer.text
    return config


class StaffConsole:
    """tests/kiosk/call/staff_console.py as a process; its lines as they come."""

    def __init__(self, site) -> None:
        import subprocess
        import sys

        from tests.support import ROOT

        self.lines: list[str] = []
        self.process = subprocess.Popen([sys.executable, "-m", "tests.kiosk.call.staff_console", site.url, "wang",
                                         PASSWORD], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def said(self, word: str) -> str | None:
        for line in self.lines:
            if line.startswith("error"):
                raise AssertionError(f"staff console: {line}")
            if line.startswith(word):
                return line
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.process.stdout.close()


def press(app, name: str) -> None:
    from PySide6.QtWidgets import QAbstractButton

    buttons = [b for b in app.findChildren(QAbstractButton, name) if b.isVisible() and b.isEnabled()]
    assert buttons, f"no button {name!r} on the screen"
    buttons[-1].click()


@pytest.mark.ui_stall
def test_a_call_from_the_kiosk_screen(live_server, loopback_ice, qasync_loop, make_app, tmp_path, artifacts):
    from tests.browser import CHROMIUM
    from tests.support import require

    require("chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} not found; run scripts/debian-packages as root")
    site = prepare(live_server, {"wang": "civil_affairs"})
    staff = StaffConsole(site)
    try:
        deadline = time.monotonic() + 60
        while not staff.said("ready"):
            assert time.monotonic() < deadline, "the staff console did not open"
            time.sleep(0.1)
        run_call(site, staff, qasync_loop, make_app, tmp_path, artifacts)
    finally:
        staff.stop()


def run_call(site, staff, qasync_loop, make_app, tmp_path, artifacts) -> None:
    from kiosk.call import CallState

    from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, freeze_like_the_app

    app = make_app(enrolled_config(tmp_path, site))
    freeze_like_the_app()
    meter = Stalls()

    async def scenario() -> None:
        app.go("call")
        screen = app.navigator.current
        assert screen.name == "call"
        await until(lambda: screen.data["step"] == "choose", 15, "the departments")
        meter.start()  # from the tap to the staff's picture and sound: the call's work is off the UI thread
        press(app, "call-dept-civil_affairs")
        await until(lambda: screen.call is not None and screen.call.state != CallState.IDLE, 15, "the call placed")
        await until(lambda: screen.call.state == CallState.IN_CALL and screen._video is not None
                    and not screen._video.pixmap().isNull(), 30, "the staff's picture on the kiosk")
        await until(lambda: staff.said("answered"), 30, "the console's picture")
        await until(lambda: screen.call.frames["audio"] > 10, 10, "the staff's sound")
        meter.stop()
        app.grab().save(str(artifacts / "kiosk-in-call.png"))
        press(app, "call-hang-up")
        await until(lambda: screen.data["step"] == "ended", 10, "the end of the call")
        await until(lambda: staff.said("after"), 20, "the console after the call")
        app.grab().save(str(artifacts / "kiosk-ended.png"))
        app.go("home")
        await asyncio.sleep(0.5)  # the session's call closes

    qasync_loop.run_until_complete(scenario())
    assert int(staff.said("answered").split()[1]) > 0
    assert meter.own_worst_ms < LIMIT_MS, meter.report()


# -- the resident's record, the camera, the recording notice, the call-back keypad ----------
async def tap(app, name: str, timeout: float = 10) -> None:
    """Press the button ``name`` once it shows (a body built by refresh() shows on the next turn of the loop)."""
    from PySide6.QtWidgets import QAbstractButton

    await until(lambda: any(b.isVisible() and b.isEnabled() for b in app.findChildren(QAbstractButton, name)),
                timeout, f"the button {name}")
    press(app, name)


def server_engine(site):
    from sync.server import db

    return db.create(site.server.database_url)


def calls_at(site) -> list:
    from sqlalchemy import select

    from sync.server.video.models import VideoCall

    engine = server_engine(site)
    try:
        with engine.connect() as conn:
            return conn.execute(select(VideoCall.__table__).order_by(VideoCall.created_at)).all()
    finally:
        engine.dispose()


def events_at(site, aggregate_type: str, aggregate_id: str) -> list:
    from sqlalchemy import select

    from sync.server.models import EventRow

    engine = server_engine(site)
    try:
        with engine.connect() as conn:
            return conn.execute(select(EventRow.event_type, EventRow.payload, EventRow.status).where(
                EventRow.aggregate_type == aggregate_type, EventRow.aggregate_id == aggregate_id)).all()
    finally:
        engine.dispose()


def grabbers() -> list[str]:
    """The threads of cameras a call opened itself (drivers.camera names them)."""
    return [t.name for t in threading.enumerate() if t.name.startswith("call camera")]


@pytest.mark.ui_stall
def test_the_call_lands_on_the_residents_record_with_her_open_cases(live_server, loopback_ice, qasync_loop,
                                                                     make_app, tmp_path):
    from kiosk.call import CallState
    from kiosk.screenshots import DEMO_RESIDENT
    from kiosk.store import cases
    from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, freeze_like_the_app

    site = prepare(live_server, {})  # nobody online: the call waits in the queue
    app = make_app(enrolled_config(tmp_path, site))
    resident = cases.Resident.of(DEMO_RESIDENT.id_number, DEMO_RESIDENT.name)
    store = app.devices.store
    done = cases.create(store, kind="report", item_id="noise", item="噪音扰民", resident=resident)
    cases.move(store, done.id, "closed")
    lamp = cases.create(store, kind="report", item_id="street_lamp", item="路灯不亮", resident=resident)
    subsidy = cases.create(store, kind="dropoff", item_id="elderly-subsidy", item="高龄补贴申领", resident=resident)
    app.devices.sync_now()  # her cases are at the server: the console shows the newest one's state
    app.session.identify(DEMO_RESIDENT)
    freeze_like_the_app()
    meter = Stalls()

    async def scenario() -> None:
        app.go("call")
        screen = app.navigator.current
        await until(lambda: screen.data["step"] == "choose", 15, "the departments")
        meter.start()
        await tap(app, "call-dept-civil_affairs")
        await until(lambda: screen.call is not None and screen.call.state == CallState.QUEUED, 15, "the queue")
        await asyncio.sleep(0.5)  # the offer goes out while she waits
        meter.stop()
        await tap(app, "call-hang-up")
        await until(lambda: screen.data["step"] == "ended", 10, "the end of the call")
        await until(lambda: events_at(site, "resident", resident.key), 10, "the call on her record")
        app.home()
        await asyncio.sleep(0.3)

    qasync_loop.run_until_complete(scenario())
    [call] = calls_at(site)
    context = call.context
    assert context["resident"] == resident.key
    assert context["case_id"] == subsidy.id  # her newest open case; the closed one is not named
    assert "高龄补贴申领" in context["topic"] and "路灯不亮" in context["topic"] and "噪音扰民" not in context["topic"]
    assert context["name"] == "李**" and context["id_number"] == "1101**********002X"
    assert DEMO_RESIDENT.id_number not in str(call) and DEMO_RESIDENT.name not in str(call)
    [(event_type, payload, status)] = events_at(site, "resident", resident.key)
    assert (event_type, status) == ("video_call", "applied")
    assert payload["department"] == "civil_affairs" and payload["outcome"] == "ended"
    assert events_at(site, "resident", f"kiosk:{call.device_id}") == []  # not the kiosk's catch-all
    assert {e.event_type for e in [*events_at(site, "case", lamp.id), *events_at(site, "case", subsidy.id)]} \
        == {"created"}  # her cases and her call, under the one key
    from sync.server.video import calls as server_calls
    assert server_calls.mask_context(context) == context  # masked at the kiosk exactly as the server masks
    assert meter.own_worst_ms < LIMIT_MS, meter.report()  # placing the call: all of it off the UI thread


def test_two_calls_in_a_row_each_open_and_release_the_camera(live_server, loopback_ice, qasync_loop, make_app,
                                                              tmp_path):
    from kiosk.call import CallState

    site = prepare(live_server, {})
    config = enrolled_config(tmp_path, site)
    # the call opens the camera itself (no kiosk camera kept open for the face check)
    config = config.model_copy(update={"camera": config.camera.model_copy(update={"enabled": False})})
    app = make_app(config)
    seen: list[list[str]] = []

    async def one_call(screen, first: bool) -> None:
        if first:
            app.go("call")
        else:
            await tap(app, "call-again")
        await until(lambda: screen.data["step"] == "choose", 15, "the departments")
        await tap(app, "call-dept-civil_affairs")
        await until(lambda: screen.call is not None and screen.call.state == CallState.QUEUED,
                    15, "the call in the queue")
        seen.append(grabbers())
        await tap(app, "call-hang-up")
        await until(lambda: screen.data["step"] == "ended", 10, "the end of the call")
        await until(lambda: not grabbers(), 10, "the camera released")

    async def scenario() -> None:
        app.go("home")
        screen = app.navigator.screens["call"]
        await one_call(screen, True)
        await one_call(screen, False)
        app.home()
        await asyncio.sleep(0.3)

    assert not grabbers()
    qasync_loop.run_until_complete(scenario())
    assert seen == [["call camera-grabber"], ["call camera-grabber"]]  # opened for each, one at a time
    assert [c.state for c in calls_at(site)] == ["ended", "ended"]


def test_a_recorded_department_asks_first_and_calls_only_once_she_agrees(live_server, loopback_ice, qasync_loop,
                                                                         make_app, tmp_path, artifacts):
    from kiosk.call import CallState
    from sync.server.video import departments

    site = prepare(live_server, {})
    engine = server_engine(site)
    try:
        with engine.begin() as conn:
            departments.add(conn, "legal_aid", "法律援助", "Legal aid", recording=True)
    finally:
        engine.dispose()
    app = make_app(enrolled_config(tmp_path, site))

    async def scenario() -> None:
        app.go("call")
        screen = app.navigator.current
        await until(lambda: screen.data["step"] == "choose", 15, "the departments")
        await tap(app, "call-dept-legal_aid")
        await until(lambda: screen.data["step"] == "recording", 5, "the recording notice")
        await asyncio.sleep(1.0)  # time enough for a call to reach the server, were one placed
        assert calls_at(site) == [] and screen.call is None
        assert "本次通话将被录音录像" in texts(app)
        app.grab().save(str(artifacts / "kiosk-recording-notice.png"))
        await tap(app, "call-back")  # she would rather not: back to the list, still nothing placed
        await until(lambda: screen.data["step"] == "choose", 15, "the departments again")
        assert calls_at(site) == []
        await tap(app, "call-dept-legal_aid")
        await until(lambda: screen.data["step"] == "recording", 5, "the recording notice again")
        await tap(app, "call-agree")
        await until(lambda: screen.call is not None and screen.call.state == CallState.QUEUED, 15, "the queue")
        assert screen.call.recording
        await tap(app, "call-hang-up")
        await until(lambda: screen.data["step"] == "ended", 10, "the end of the call")
        app.home()
        await asyncio.sleep(0.3)

    qasync_loop.run_until_complete(scenario())
    [call] = calls_at(site)
    assert call.department == "legal_aid" and call.recording


def test_nobody_answers_and_the_number_typed_on_the_keypad_becomes_a_case(live_server, loopback_ice, qasync_loop,
                                                                          make_app, tmp_path, artifacts):
    from sqlalchemy import select

    from kiosk.screenshots import DEMO_RESIDENT
    from sync.server.models import Case

    site = prepare(live_server, {}, answer_timeout=5)  # legal aid rings 5 s, and nobody is online
    app = make_app(enrolled_config(tmp_path, site))
    app.session.identify(DEMO_RESIDENT)
    phone = "13912345678"

    async def scenario() -> None:
        app.go("call")
        screen = app.navigator.current
        await until(lambda: screen.data["step"] == "choose", 15, "the departments")
        await tap(app, "call-dept-legal_aid")
        await until(lambda: screen.data["step"] == "unanswered", 30, "nobody answering")
        await tap(app, "call-leave-number")
        await until(lambda: screen.data["step"] == "callback_form", 5, "the keypad")
        for digit in phone[:6]:
            await tap(app, f"call-key-{digit}")
        await asyncio.sleep(0.05)
        assert not [b for b in app.findChildren(QPushButton, "call-send-number") if b.isVisible()][-1].isEnabled()
        for digit in phone[6:]:
            await tap(app, f"call-key-{digit}")
        await asyncio.sleep(0.05)
        assert [w.text() for w in app.findChildren(QLabel) if w.objectName().startswith("code-digit-")
                and w.isVisible()][:11] == list(phone)
        app.grab().save(str(artifacts / "kiosk-callback-number.png"))
        await tap(app, "call-send-number")
        await until(lambda: screen.data["step"] == "callback_sent", 15, "the call-back case")
        app.grab().save(str(artifacts / "kiosk-callback-sent.png"))
        app.home()
        await asyncio.sleep(0.3)

    qasync_loop.run_until_complete(scenario())
    [call] = calls_at(site)
    assert call.state == "callback" and call.case_id.startswith("VC-")
    engine = server_engine(site)
    try:
        with engine.connect() as conn:
            state = conn.execute(select(Case.state).where(Case.id == call.case_id)).scalar_one()
    finally:
        engine.dispose()
    assert state == "created"
    [(event_type, payload, _)] = events_at(site, "case", call.case_id)
    assert event_type == "created" and payload["phone"] == phone and payload["department"] == "legal_aid"
    assert payload["context"]["resident"] == call.context["resident"]  # the call-back names her record too


def test_switched_off_the_screen_says_so_and_asks_no_server(make_app, tmp_path, qasync_loop):
    from types import SimpleNamespace

    from kiosk.screens.call import CallScreen

    config = write_config(tmp_path)
    off = config.model_copy(update={"call": config.call.model_copy(update={"enabled": False}),
                                    "sync": config.sync.model_copy(update={"server_url": "http://127.0.0.1:9"})})
    app = make_app(off)
    assert CallScreen.available(app) is False
    assert CallScreen.available(SimpleNamespace(config=config)) is True  # the shipped configuration offers it
    home = app.navigator.screens["home"]
    assert CallScreen not in home.tiles() and len(home.tiles()) > 3  # home has no video tile, the rest stay

    async def scenario() -> None:
        app.go("call")
        await asyncio.sleep(0.5)

    qasync_loop.run_until_complete(scenario())
    screen = app.navigator.current
    assert screen.data["step"] == "unavailable" and screen.call is None
    panel = [w for w in app.findChildren(QFrame, "call-unavailable") if w.isVisible()]
    assert panel and "本机暂不提供视频咨询" in [w.text() for w in panel[0].findChildren(QLabel)]
