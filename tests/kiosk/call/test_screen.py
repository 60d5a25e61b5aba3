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

from appliance.keys import DeviceKey, encode_public_key
from tests.kiosk.conftest import write_config
from tests.sync.server.support import COMMUNITY, new_code
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

    app = make_app(enrolled_config(tmp_path, site))

    async def scenario() -> None:
        app.go("call")
        screen = app.navigator.current
        assert screen.name == "call"
        await until(lambda: screen.data["step"] == "choose", 15, "the departments")
        press(app, "call-dept-civil_affairs")
        await until(lambda: screen.call is not None and screen.call.state != CallState.IDLE, 15, "the call placed")
        await until(lambda: screen.call.state == CallState.IN_CALL and screen._video is not None
                    and not screen._video.pixmap().isNull(), 30, "the staff's picture on the kiosk")
        await until(lambda: staff.said("answered"), 30, "the console's picture")
        await until(lambda: screen.call.frames["audio"] > 10, 10, "the staff's sound")
        app.grab().save(str(artifacts / "kiosk-in-call.png"))
        press(app, "call-hang-up")
        await until(lambda: screen.data["step"] == "ended", 10, "the end of the call")
        await until(lambda: staff.said("after"), 20, "the console after the call")
        app.grab().save(str(artifacts / "kiosk-ended.png"))
        app.go("home")
        await asyncio.sleep(0.5)  # the session's call closes

    qasync_loop.run_until_complete(scenario())
    assert int(staff.said("answered").split()[1]) > 0
