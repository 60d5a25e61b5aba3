"""Helpers for the video tests: a server with departments, staff and an enrolled kiosk;
the kiosk's asyncio loop in its own thread (Playwright's sync API owns the test's);
Chromium with a fake camera and microphone."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field

import requests

from appliance.keys import DeviceKey, encode_public_key
from sync.wire import API
from tests.sync.server.support import COMMUNITY, new_code

PASSWORD = "staff-pass-2026"
CONTEXT = {"resident": "household-0042", "name": "张三丰", "id_number": "110105194912310021", "topic": "低保申请"}


def open_console(staff_page, site, username):
    from tests.browser import sign_in

    page = staff_page()
    sign_in(page, site.server, username, PASSWORD)
    page.goto(f"{site.url}/staff")
    page.wait_for_function("document.getElementById('link').classList.contains('ok')")
    # the server's first state (presence set, the queue read): until then a call would
    # ring a console the server does not count as online yet
    page.wait_for_function("document.getElementById('console').dataset.state !== 'offline'")
    return page



MEDIA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"]


class KioskLoop:
    """An asyncio loop in a thread: ``run(coro)`` waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kiosk-loop", daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            self.run(drain(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@dataclass
class Site:
    """A running server with the demo departments, staff accounts and one enrolled kiosk."""
    server: object
    key: DeviceKey
    staff: dict[str, str] = field(default_factory=dict)  # username -> department

    @property
    def url(self) -> str:
        return self.server.url


def enrol(server, device_id: str | None = None) -> DeviceKey:
    key = DeviceKey.generate(device_id or f"kiosk-{uuid.uuid4().hex[:8]}")
    code = new_code(server.database_url, key.device_id, COMMUNITY)
    answer = requests.post(f"{server.url}{API}/enrol", json={
        "code": code, "device_id": key.device_id, "public_key": encode_public_key(key.public_key)}, timeout=10)
    assert answer.status_code == 201, answer.text
    return key


def prepare(server, staff: dict[str, str], *, answer_timeout: int = 60) -> Site:
    """The demo departments (legal aid rings ``answer_timeout`` s) and staff accounts,
    written straight into the server's database (a CLI process per account costs
    seconds on a busy machine; test_cli.py runs the commands themselves)."""
    from sync.server import db
    from sync.server.accounts import create_account
    from sync.server.video import departments

    engine = db.create(server.database_url)
    try:
        with engine.begin() as conn:
            departments.add_demo(conn)
            departments.add(conn, "legal_aid", "法律援助", "Legal aid", answer_timeout_s=answer_timeout)
            for username, department in staff.items():
                create_account(conn, username=username, password=PASSWORD, name=f"{username.title()} 老师",
                               role="staff", department=department)
    finally:
        engine.dispose()
    return Site(server, enrol(server), dict(staff))


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class FreezableProxy:
    """A TCP proxy on 127.0.0.1 (run on an asyncio loop) between the kiosk and the
    server: ``freeze()`` stops forwarding without closing anything (a network that
    went silent), ``thaw()`` forwards again and refuses nothing; ``cut()`` closes
    every connection (a network that dropped)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.frozen = False
        self.port = 0
        self._server = None
        self._writers: set = set()

    async def start(self) -> "FreezableProxy":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src, dst) -> None:
            try:
                while data := await src.read(65536):
                    while self.frozen:
                        await asyncio.sleep(0.05)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def freeze(self) -> None:
        self.frozen = True

    def thaw(self) -> None:
        self.frozen = False

    def cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
