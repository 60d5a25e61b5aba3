"""``python -m locker screen``: the status screen of a locker without a kiosk — what it
draws from a ``state`` answer, and the screen following a running daemon through its
API's events (a door left open comes and goes)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from locker.daemon import Daemon, store_path
from locker.screen import render
from tests.locker.conftest import Client, door, wait_for
from tests.support import ROOT

STATE = {
    "ok": True, "locker": "locker-test-01", "seq": 40,
    "doors": [{"number": 1, "use": "free", "seen": "closed"}, {"number": 2, "use": "occupied", "seen": "closed"},
              {"number": 3, "use": "reserved", "seen": "open"}, {"number": 4, "use": "out_of_service",
                                                                  "seen": "closed"},
              {"number": 5, "use": "check", "seen": "closed"}, {"number": 9, "use": "free", "seen": "offline"}],
    "boards": [{"bus": "bus0", "board": 0, "online": True}, {"bus": "bus0", "board": 1, "online": False}],
    "alerts": [{"door": 3, "kind": "door_left_open", "level": "prompt", "opening": 7, "case": "SF-1",
                "message": "请关好3号柜门 · Please close door 3", "voice": "请关好3号柜门，谢谢"},
               {"door": 6, "kind": "forced", "level": "alarm", "opening": None, "case": None,
                "message": "6号柜门未经开锁被打开，已通知工作人员 · Door 6 was opened without an unlock; "
                           "staff have been told", "voice": "请关好6号柜门，谢谢"}],
    "scanner": {"refusal": {"at": 1767600000.0, "source": "scanner", "reason": "expired", "zh": "二维码已过期",
                            "en": "The code has expired", "message": "二维码已过期 · The code has expired"},
                "backing_off": 41.2},
}


def test_the_screen_shows_doors_alerts_and_the_scanner_refusal_with_its_countdown():
    text = render(STATE, now=1767600005.0, width=80)
    lines = text.splitlines()
    assert lines[0].startswith("云柜 Locker locker-test-01")
    assert "    1 空   2 用   3*用   4 停   5 核   9?空" in lines
    assert "  空闲 free 2 · 使用中 in use 2 · 停用 out of service 1 · 待核实 to check 1" in lines
    assert "  控制板离线 Boards offline: bus0/1" in lines
    alerts = lines[lines.index("提醒 Alerts") + 1:lines.index("扫码 Scanner") - 1]
    assert alerts == ["  ! 请关好3号柜门 · Please close door 3",
                      "  ! 6号柜门未经开锁被打开，已通知工作人员 · Door 6 was opened without an unlock; staff have been told"]
    scanner = lines[lines.index("扫码 Scanner") + 1:]
    at = time.strftime("%H:%M:%S", time.localtime(1767600000.0))
    assert scanner == [f"  x 二维码已过期 · The code has expired  ({at})", "  请42秒后再扫码 · Scanning again in 42 s"]


def test_a_quiet_locker_reads_ready():
    quiet = {**STATE, "alerts": [], "boards": [], "scanner": {"refusal": None, "backing_off": 0}}
    lines = render(quiet, width=40).splitlines()
    assert lines[lines.index("提醒 Alerts") + 1] == "  无 · none"
    assert lines[-1] == "  请扫码 · Ready to scan"
    assert "    1 空   2 用   3*用   4 停   5 核" in lines  # five to a row in 40 columns
    assert not any("控制板离线" in line for line in lines)


class Screen:
    """``python -m locker screen`` as its own process, its output collected as it comes."""

    def __init__(self, config) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "locker", "--config", config.source, "screen",
                                      "--width", "80"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=ROOT)
        self.out = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out += line

    def frames(self) -> list[str]:
        return ["云柜 Locker" + f for f in self.out.split("云柜 Locker")[1:]]

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        finally:
            self._reader.join(5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
        return self.out


@pytest.fixture
def quick(make_config, sim, tmp_path):
    config = make_config(prompt=1, alarm=60, data=tmp_path / "screen")
    d = Daemon(config)
    client = Client(d.start(), store_path(config))
    client.config = config
    yield client
    d.stop()


def test_the_screen_follows_the_daemon_a_door_left_open_comes_and_goes(quick, sim):
    screen = Screen(quick.config)
    try:
        wait_for(lambda: "请扫码 · Ready to scan" in screen.out, 30, "the first screen")
        assert "  1 空   2 空   3 空" in screen.frames()[0]
        answer = quick("dropoff", case="SS-1", size="M")
        n = answer["door"]
        quick.wait_opening(answer["opening"]["id"], "opened")
        wait_for(lambda: f"  ! 请关好{n}号柜门 · Please close door {n}" in screen.out, 30, "the prompt on the screen")
        shown = next(f for f in screen.frames() if "请关好" in f)
        assert f"{n:>3}*用" in shown  # the door, open and in use
        door(sim, n, "close")
        quick.wait_opening(answer["opening"]["id"], "closed")
        wait_for(lambda: "提醒 Alerts\n  无 · none" in screen.frames()[-1] and f"{n:>3} 用" in screen.frames()[-1],
                 30, "the alert gone and the door in use, shut")
    finally:
        out = screen.stop()
    assert screen.proc.returncode in (0, -15), out


def test_the_screen_says_when_no_daemon_answers(make_config, tmp_path):
    config = make_config(data=tmp_path / "nobody")
    once = subprocess.run([sys.executable, "-m", "locker", "--config", config.source, "screen", "--once"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert once.returncode == 2
    assert "云柜服务未运行，正在重试 · The locker daemon is not answering; retrying" in once.stdout
