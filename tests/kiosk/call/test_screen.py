"""The kiosk's call screen on the real app (offscreen), with Qt and asyncio on one
thread through qasync as in ``python -m kiosk``: a department tapped, the staff's
Chromium console (driven from its own thread) answers, the remote picture shows,
the big button hangs up."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from appliance.keys import DeviceKey, encode_public_key
from tests.kiosk.conftest import write_config
from tests.sync.server.support import COMMUNITY, new_code
from tests.sync.server.video.support import MEDIA_ARGS, PASSWORD, prepare


@pytest.fixture
def qasync_loop(qapp):
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)


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


class StaffThread(threading.Thread):
    """The staff's console in Chromium, in a thread of its own (Playwright's sync API
    cannot share the thread where the kiosk's asyncio loop runs): sign in, answer the
    first ringing call, then wait for its end."""

    def __init__(self, site) -> None:
        super().__init__(name="staff-console", daemon=True)
        self.site, self.ready, self.answered, self.done = site, threading.Event(), threading.Event(), threading.Event()
        self.video_frames = 0
        self.after_call = False
        self.error: BaseException | None = None

    def run(self) -> None:
        from playwright.sync_api import sync_playwright

        from tests.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS + MEDIA_ARGS)
                context = browser.new_context(locale="zh-CN")
                context.set_default_timeout(30_000)
                page = context.new_page()
                sign_in(page, self.site.server, "wang", PASSWORD)
                page.goto(f"{self.site.url}/staff")
                page.wait_for_function("document.getElementById('link').classList.contains('ok')")
                self.ready.set()
                page.locator("#queue li.ringing [data-action=take]").click()
                deadline = time.monotonic() + 30
                while self.video_frames == 0 and time.monotonic() < deadline:
                    stats = page.evaluate("window.videoConsole.stats()")
                    self.video_frames = stats["video_frames"] if stats else 0
                    time.sleep(0.1)
                self.answered.set()
                page.locator("#after").wait_for()
                self.after_call = True
                browser.close()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.ready.set()
            self.answered.set()
            self.done.set()


def press(app, name: str) -> None:
    from PySide6.QtWidgets import QAbstractButton

    buttons = [b for b in app.findChildren(QAbstractButton, name) if b.isVisible() and b.isEnabled()]
    assert buttons, f"no button {name!r} on the screen"
    buttons[-1].click()


def test_a_call_from_the_kiosk_screen(live_server, loopback_ice, qasync_loop, make_app, tmp_path, artifacts):
    from kiosk.call import CallState

    site = prepare(live_server, {"wang": "civil_affairs"})
    staff = StaffThread(site)
    staff.start()
    assert staff.ready.wait(60) and staff.error is None, staff.error
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
        await until(lambda: staff.answered.is_set(), 20, "the console's picture")
        await until(lambda: screen.call.frames["audio"] > 10, 10, "the staff's sound")
        app.grab().save(str(artifacts / "kiosk-in-call.png"))
        press(app, "call-hang-up")
        await until(lambda: screen.data["step"] == "ended", 10, "the end of the call")
        await until(lambda: staff.done.is_set(), 20, "the console after the call")
        app.grab().save(str(artifacts / "kiosk-ended.png"))
        app.go("home")
        await asyncio.sleep(0.5)  # the session's call closes

    qasync_loop.run_until_complete(scenario())
    staff.join(10)
    assert staff.error is None, staff.error
    assert staff.video_frames > 0 and staff.after_call
