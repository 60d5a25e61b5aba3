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
    server.run_cli("department", "demo")
    server.run_cli("department", "add", "--key", "legal_aid", "--name", "法律援助", "--name-en", "Legal aid",
                   "--answer-timeout", str(answer_timeout))
    for username, department in staff.items():
        server.add_account(username, PASSWORD, "staff", name=f"{username.title()} 老师", department=department)
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
