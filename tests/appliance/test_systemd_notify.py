"""sd_notify on a real datagram socket: the Watchdog in this process (it stops pinging
when its loop stops beating or a step hangs), and READY=1 / WATCHDOG=1 from each
daemon started as its own process, as systemd would start it."""
from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from appliance import systemd
from tests.support import ROOT

WATCHDOG_USEC = "2000000"  # 2 s: pings every 0.5 s


class NotifySocket:
    """What systemd does: bind a datagram socket and read what the service sends."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(systemd.notify_address({"NOTIFY_SOCKET": address}))
        # As systemd does: the kernel tells who sent each datagram (NotifyAccess=main checks the pid)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.address = address
        self.messages: list[str] = []
        self.senders: list[int] = []

    def _recv(self) -> str:
        data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("iII")))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                self.senders.append(struct.unpack("iII", payload[:12])[0])
        return data.decode()

    def receive(self, until: str, timeout: float, count: int = 1) -> list[str]:
        deadline = time.monotonic() + timeout
        while sum(until in m.splitlines() for m in self.messages) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {until} x{count} within {timeout} s; got {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.append(self._recv())
            except socket.timeout:
                continue
        return self.messages

    def drain(self, seconds: float) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                got.append(self._recv())
            except socket.timeout:
                break
        return got

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request, tmp_path):
    address = str(tmp_path / "notify.sock") if request.param == "path" else f"@kiosk-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = NotifySocket(address)
    yield sock
    sock.close()


def test_notify_sends_one_datagram(notify_socket):
    assert systemd.notify("READY=1", "STATUS=ok", env={"NOTIFY_SOCKET": notify_socket.address})
    assert notify_socket.receive("READY=1", 2)[0].splitlines() == ["READY=1", "STATUS=ok"]


def test_outside_systemd_nothing_is_sent():
    assert systemd.notify("READY=1", env={}) is False
    assert systemd.watchdog_seconds({}) is None
    assert systemd.watchdog_seconds({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}) is None  # not us
    assert systemd.watchdog_seconds({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}) == 3.0


def test_pings_stop_when_the_loop_stops_beating(notify_socket):
    env = {"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "400000"}  # 0.4 s: a ping every 0.1 s
    watchdog = systemd.Watchdog(status="test", env=env)
    try:
        for _ in range(8):  # the loop beats for 0.8 s
            watchdog.beat()
            time.sleep(0.1)
        messages = notify_socket.receive("WATCHDOG=1", 2, count=3)
        assert messages[0].startswith("READY=1")
        notify_socket.drain(0.5)  # pings sent just before the loop stopped
        assert notify_socket.drain(1.0) == [], "a loop that stopped beating must not be reported alive"
        watchdog.beat()  # it comes back
        notify_socket.receive("WATCHDOG=1", 2)
    finally:
        watchdog.stop()
    assert any("STOPPING=1" in m for m in notify_socket.drain(0.5))


def test_pings_stop_while_a_step_hangs(notify_socket):
    env = {"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "400000"}
    watchdog = systemd.Watchdog(env=env, stuck_after=0.5)
    step = watchdog.watched(lambda seconds: time.sleep(seconds))
    watchdog.ready()
    try:
        notify_socket.receive("WATCHDOG=1", 2, count=2)  # idle between steps: alive
        step(0.2)  # a short step: still alive
        hung = threading.Thread(target=step, args=(2.5,), daemon=True)
        hung.start()
        time.sleep(0.7)
        notify_socket.drain(0.1)
        assert notify_socket.drain(1.2) == [], "a step stuck beyond stuck_after must stop the pings"
        hung.join()
        notify_socket.messages.clear()
        notify_socket.receive("WATCHDOG=1", 2)  # the step ended: alive again
    finally:
        watchdog.stop()


def test_a_failing_check_stops_the_pings(notify_socket):
    alive = [True]
    watchdog = systemd.Watchdog(env={"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "400000"},
                                check=lambda: alive[0])
    watchdog.ready()
    try:
        notify_socket.receive("WATCHDOG=1", 2)
        alive[0] = False
        notify_socket.drain(0.2)
        assert notify_socket.drain(0.6) == []
    finally:
        watchdog.stop()


# -- the daemons, each as its own process ------------------------------------------------
LOCKER_CONFIG = """
[appliance]
id = "locker-notify-01"
data_dir = "{data}"
role = "locker"

[[lockboard]]
name = "bus0"
url = "sim://lockboard?protocol=kerong&boards=1&doors=4"
protocol = "kerong"

[[lockboard.board]]
address = 0
doors = 4

[printer]
enabled = false

[camera]
enabled = false

[scanner]
enabled = false

[sync]
enabled = {sync}
server_url = "http://127.0.0.1:{port}"
interval_s = 1
timeout_s = 2

[locker]
receipt = false
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _daemon(argv: list[str], notify_socket: NotifySocket, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "NOTIFY_SOCKET": notify_socket.address,
                                 "WATCHDOG_USEC": WATCHDOG_USEC, **env})


def _expect_ready_and_pings(proc: subprocess.Popen, notify_socket: NotifySocket, stopping: bool = True) -> list[str]:
    try:
        messages = notify_socket.receive("READY=1", 30)
        notify_socket.receive("WATCHDOG=1", 10, count=2)
        assert set(notify_socket.senders) == {proc.pid}, "every message must come from the main process"
        proc.terminate()
        # 0, or death by the SIGTERM itself (uvicorn re-raises it): systemd counts both as clean
        assert proc.wait(30) in (0, -15), proc.stderr.read() if proc.stderr else ""
        if stopping:
            assert any("STOPPING=1" in m for m in notify_socket.messages + notify_socket.drain(0.5))
        return messages
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
def daemon_socket(tmp_path):
    """One kind of socket per daemon keeps the suite quick: path names are what systemd
    uses (/run/systemd/notify), abstract ones are covered by the tests above."""
    sock = NotifySocket(str(tmp_path / "notify.sock"))
    yield sock
    sock.close()


def test_locker_daemon_notifies(daemon_socket, tmp_path):
    notify_socket = daemon_socket
    config = tmp_path / "appliance.toml"
    config.write_text(LOCKER_CONFIG.format(data=tmp_path / "data", sync="false", port=1), encoding="utf-8")
    proc = _daemon(["locker", "--config", str(config), "serve"], notify_socket)
    messages = _expect_ready_and_pings(proc, notify_socket)
    assert any("STATUS=serving" in m for m in messages)


def test_sync_server_notifies(daemon_socket, tmp_path):
    notify_socket = daemon_socket
    proc = _daemon(["sync.server", "--port", "0", "--database", f"sqlite:///{tmp_path / 'server.db'}"],
                   notify_socket)
    # uvicorn re-raises the SIGTERM after its graceful shutdown: no STOPPING=1 (systemd sent the signal)
    messages = _expect_ready_and_pings(proc, notify_socket, stopping=False)
    assert any("STATUS=listening on http://127.0.0.1:" in m for m in messages)


def test_sync_agent_notifies(daemon_socket, tmp_path):
    notify_socket = daemon_socket
    # The server is away (nothing listens on the port): the agent backs off, and lives.
    config = tmp_path / "appliance.toml"
    config.write_text(LOCKER_CONFIG.format(data=tmp_path / "data", sync="true", port=_free_port()),
                      encoding="utf-8")
    proc = _daemon(["sync.agent", "--config", str(config)], notify_socket)
    messages = _expect_ready_and_pings(proc, notify_socket)
    assert any("STATUS=syncing with http://127.0.0.1:" in m for m in messages)


def test_notify_socket_path_is_what_systemd_gives():
    """A path name and an abstract name are told apart as systemd writes them."""
    assert systemd.notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert systemd.notify_address({"NOTIFY_SOCKET": "@abc"}) == "\0abc"
    assert systemd.notify_address({"NOTIFY_SOCKET": "vsock:2:1234"}) is None
