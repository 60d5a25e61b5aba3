"""``make run`` as a person uses it: start ``python -m appliance run``, type
commands, see the devices answer over real ptys and a real cupsd."""
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

import pytest

from tests.support import ROOT, require


class Session:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "appliance", "run"], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env={**os.environ, "KIOSK_CONFIG": str(ROOT / "assets" / "appliance.toml")})
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        pytest.fail(f"never saw {text!r}; output so far:\n" + "\n".join(self.seen))

    def type(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        self.proc.stdin.close()
        self.proc.stdout.close()


@pytest.fixture
def session():
    require("cupsd", shutil.which("cupsd") is not None or os.path.exists("/usr/sbin/cupsd"),
            "make run prints through a private cupsd")
    s = Session()
    yield s
    s.close()


def test_make_run_follows_every_device(session):
    for device in ("lockboard bus0 board 0", "idcard", "printer", "camera", "scanner"):
        assert session.expect(device).lstrip().startswith("OK"), session.seen[-1]
    session.expect("following devices live")

    session.type("open 0 3")
    assert "opened" in session.expect("unlock bus0 board 0 door 3")
    session.expect("door opened: bus0 board 0 door 3")
    session.type("close 0 3")
    session.expect("door closed: bus0 board 0 door 3")

    session.type("card 1")  # 李秀兰, 11010519491231002X in assets/demo/idcards.json
    line = session.expect("ID card read")
    assert "李秀兰" in line and "1101**********002X" in line
    session.type("remove")
    session.expect("ID card taken away")

    session.type("scan BOOKING-42")
    session.expect("code scanned: BOOKING-42")

    session.type("print")
    assert "completed" in session.expect("printed job", timeout=30)

    session.type("open 0 17")
    session.expect("✗")
    session.type("quit")
    session.expect("stopping")
    assert session.proc.wait(20) == 0
    assert "11010519491231002X" not in "\n".join(session.seen)  # never in clear
