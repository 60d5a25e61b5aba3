"""The locker against the lock-board simulator running as its own process on a
pty (real serial I/O), with the daemon in this process (fast) or as its own
process (to SIGKILL it), driven over its Unix socket API."""
from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from appliance.config import load
from appliance.keys import DeviceKey, TrustedKeys
from appliance.processes import Child
from drivers.lockboard.codec import family
from locker import codes
from locker.api import request
from locker.daemon import Daemon, socket_path, store_path
from tests.support import SimProcess

LOCKER = "locker-test-01"
DOORS = 8  # per board; two boards: doors 1–8 on board 0, 9–16 on board 1


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Event-driven enough: polls quickly, but gives a loaded machine plenty of time."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class LockBank(SimProcess):
    """The lock-board simulator: two boards of DOORS doors on one bus, at the first two
    addresses of ``protocol`` (kerong 0 and 1, bcc 1 and 2)."""

    def __init__(self, protocol: str = "kerong") -> None:
        super().__init__("drivers.lockboard.sim", "--protocol", protocol, "--boards", "2", "--doors", str(DOORS))
        self.protocol = protocol
        self.first_board = family(protocol).boards[0]


@pytest.fixture(scope="session")
def running_sim():
    """A kerong bank for the session. A test module overrides this fixture to run on another
    protocol's bank (test_bcc); ``sim``, ``config``, ``daemon`` and ``api`` follow it."""
    sim = LockBank("kerong").start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(running_sim) -> SimProcess:
    if running_sim.proc.poll() is not None:
        pytest.fail("the lock-board simulator died")
    running_sim.request(cmd="reset")
    return running_sim


def where(sim: SimProcess, number: int) -> tuple[int, int]:
    """Bank-wide door ``number`` -> (board address, door on it)."""
    board, n = divmod(number - 1, DOORS)
    first = sim.first_board if isinstance(sim, LockBank) else 0  # else a module's own kerong simulator
    return first + board, n + 1


def door(sim: SimProcess, number: int, cmd: str) -> dict:
    """Open or close door ``number`` (bank-wide) by hand, as a person does."""
    board, n = where(sim, number)
    return sim.request(cmd=cmd, board=board, door=n)


def is_open(sim: SimProcess, number: int) -> bool:
    board, n = where(sim, number)
    return n in sim.request(cmd="state")["boards"][str(board)]["open"]


def unlocks(sim: SimProcess) -> int:
    return sim.request(cmd="state")["received"].get("unlock", 0)


@pytest.fixture
def server_key() -> DeviceKey:
    return DeviceKey.from_seed("server", bytes(range(32)))


CONFIG = """
[appliance]
id = "{locker}"
data_dir = "{data}"
role = "locker"

[[lockboard]]
name = "bus0"
url = "{port}"
protocol = "kerong"
timeout_ms = 100
poll_interval_ms = 60

[[lockboard.board]]
address = 0
doors = {doors}
sizes = {{ S = [1, 2], L = [8] }}

[[lockboard.board]]
address = 1
doors = {doors}
out_of_service = [{oos}]

[printer]
enabled = false

[camera]
enabled = false

[scanner]
enabled = false

[sync]
enabled = {sync}

[locker]
pickup_days = 7
worker_code_max_minutes = 30
jam_seconds = 1
door_open_prompt_seconds = {prompt}
door_open_alarm_seconds = {alarm}
wrong_tries = 5
backoff_seconds = 60
receipt = false
"""


@pytest.fixture
def make_config(tmp_path, sim, server_key):
    def make(prompt: int = 30, alarm: int = 60, oos: str = "8", data: Path | None = None, sync: bool = False,
             jam: int = 1, speaker: str = ""):
        data = data or tmp_path / "data"
        data.mkdir(parents=True, exist_ok=True)
        keys = TrustedKeys().with_key("server", server_key.public_key)
        keys.save(data / "trusted-keys.json")
        path = tmp_path / "appliance.toml"
        text = CONFIG.format(locker=LOCKER, data=data, port=sim.path, doors=DOORS, oos=oos,
                             prompt=prompt, alarm=alarm, sync=str(sync).lower())
        text = text.replace("jam_seconds = 1\n", f"jam_seconds = {jam}\nspeaker = {json.dumps(speaker)}\n")
        if isinstance(sim, LockBank):  # CONFIG is written for kerong boards 0 and 1
            text = text.replace('protocol = "kerong"', f'protocol = "{sim.protocol}"')
            text = re.sub(r"^address = (\d+)$", lambda m: f"address = {sim.first_board + int(m[1])}", text,
                          flags=re.M)
        path.write_text(text, encoding="utf-8")
        return load(path)
    return make


@pytest.fixture
def config(make_config):
    return make_config()


class Client:
    """The kiosk's side of the API."""

    def __init__(self, path: Path, store: Path) -> None:
        self.path, self.store = path, store

    def __call__(self, op: str, **fields: Any) -> dict:
        return request(self.path, {"op": op, **fields})

    def opening(self, ident: int) -> dict:
        return self("opening", id=ident)["opening"]

    def wait_opening(self, ident: int, state: str, timeout: float = 15.0) -> dict:
        return wait_for(lambda: (o := self.opening(ident))["state"] == state and o, timeout,
                        f"opening {ident} to be {state}")

    def case(self, case_id: str) -> dict | None:
        return next((c for c in self("state")["cases"] if c["id"] == case_id), None)

    def door(self, number: int) -> dict:
        return next(d for d in self("state")["doors"] if d["number"] == number)

    def sql(self, query: str, *args: Any) -> list[tuple]:
        conn = sqlite3.connect(self.store.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            return conn.execute(query, args).fetchall()
        finally:
            conn.close()

    def outbox(self, event_type: str) -> list[dict]:
        return [json.loads(p) for (p,) in self.sql("SELECT payload FROM outbox WHERE event_type = ? ORDER BY seq",
                                                    event_type)]

    def events(self, name: str) -> list[dict]:
        return [json.loads(d) for (d,) in self.sql("SELECT detail FROM audit WHERE event = ? ORDER BY seq", name)]


@pytest.fixture
def daemon(config):
    """The daemon in this process, serving its socket."""
    d = Daemon(config)
    path = d.start()
    d.client = Client(path, store_path(config))
    yield d
    d.stop()


@pytest.fixture
def api(daemon) -> Client:
    return daemon.client


class DaemonProcess(Child):
    def __init__(self, config_path: str, env: dict | None = None) -> None:
        super().__init__("locker", "--config", config_path, "serve", header_lines=1, env=env)


@pytest.fixture
def spawn(config):
    """``spawn(crash_at=STEP)``: the daemon as its own process; it SIGKILLs itself at STEP."""
    started: list[DaemonProcess] = []

    def start(crash_at: str = "") -> Client:
        proc = DaemonProcess(config.source, env={"LOCKER_CRASH_AT": crash_at} if crash_at else {"LOCKER_CRASH_AT": ""})
        proc.start(timeout=30)
        started.append(proc)
        client = Client(socket_path(config), store_path(config))
        client.proc = proc
        return client
    yield start
    for proc in started:
        proc.stop()


def worker_code(key: DeviceKey, worker: str = "w-li", lockers=(LOCKER,), minutes: int = 15, **kw) -> str:
    return codes.worker_code(key, worker, list(lockers), minutes=minutes, **kw)


def booking_code(key: DeviceKey, case: str, size: str = "M", locker: str = LOCKER, **kw) -> str:
    return codes.booking_code(key, case, size, locker=locker, **kw)
