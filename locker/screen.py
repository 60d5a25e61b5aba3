"""``python -m locker screen``: the small status screen of a locker without a kiosk.

A text display for the terminal (a small monitor on the locker's console, or an
installer's ssh session): every door (free, in use, to be checked, out of
service; seen open; on a board that does not answer), the alerts the locker shows
and says now (请关好3号柜门 · Please close door 3; a door forced open), and the last
code refused at the locker's scanner with its reason and, while the scanner backs
off, the seconds left. Chinese first, English second.

It asks the daemon's API (:mod:`locker.api`): ``state`` to draw, then waits on
``events`` for the next change (a second at most while something counts down, an
alert shows or a refusal is on show) and draws again. :func:`render` is a pure
function of a ``state`` answer; :func:`follow` is the loop. Plain Python: no Qt.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from locker.api import request

# door use -> (symbol on the grid, Chinese, English)
USES = {
    "free": ("空", "空闲", "free"),
    "reserved": ("用", "使用中", "in use"),
    "occupied": ("用", "使用中", "in use"),
    "check": ("核", "待核实", "to check"),
    "out_of_service": ("停", "停用", "out of service"),
}
PER_ROW = 8
WAIT_QUIET = 15.0  # seconds to wait on events when nothing on screen counts down
WAIT_TICKING = 1.0
HOME_AND_CLEAR = "\x1b[H\x1b[2J"


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def ticking(state: dict[str, Any]) -> bool:
    """Something on screen changes with time alone (a countdown, an alert, a refusal on show)."""
    scanner = state.get("scanner") or {}
    return bool(state.get("alerts") or scanner.get("refusal") or scanner.get("backing_off"))


def render(state: dict[str, Any], *, now: float | None = None, width: int = 80) -> str:
    """The screen for one ``state`` answer of the API."""
    now = time.time() if now is None else now
    lines = [f"云柜 Locker {state.get('locker', '?')}    {_clock(now)}", ""]
    doors = state.get("doors", [])
    counts: dict[str, int] = {}
    cells = []
    for door in doors:
        symbol, zh, en = USES.get(door["use"], ("？", door["use"], door["use"]))
        counts[zh + " " + en] = counts.get(zh + " " + en, 0) + 1
        mark = {"open": "*", "offline": "?"}.get(door.get("seen", ""), " ")
        cells.append(f"{door['number']:>3}{mark}{symbol}")
    per_row = max(1, min(PER_ROW, width // 7))
    lines.append("柜门 Doors")
    for i in range(0, len(cells), per_row):
        lines.append("  " + " ".join(cells[i:i + per_row]))
    lines.append("  " + " · ".join(f"{label} {n}" for label, n in counts.items()) if counts else "  无柜门 · no doors")
    lines.append("  空 free  用 in use  核 to check  停 out of service  * 门开 open  ? 离线 offline")
    offline = [f"{b['bus']}/{b['board']}" for b in state.get("boards", []) if not b.get("online", True)]
    if offline:
        lines.append(f"  控制板离线 Boards offline: {', '.join(offline)}")
    lines += ["", "提醒 Alerts"]
    alerts = state.get("alerts", [])
    for alert in alerts:
        told = "（已通知工作人员 · staff told）" if alert.get("level") == "worker" and alert["kind"] != "forced" else ""
        lines.append(f"  ! {alert['message']}{told}")
    if not alerts:
        lines.append("  无 · none")
    lines += ["", "扫码 Scanner"]
    scanner = state.get("scanner") or {}
    refusal, wait = scanner.get("refusal"), scanner.get("backing_off") or 0
    if refusal:
        lines.append(f"  x {refusal['zh']} · {refusal['en']}  ({_clock(refusal['at'])})")
    if wait > 0:
        seconds = int(wait + 0.999)
        lines.append(f"  请{seconds}秒后再扫码 · Scanning again in {seconds} s")
    if not refusal and wait <= 0:
        lines.append("  请扫码 · Ready to scan")
    return "\n".join(lines) + "\n"


def render_unreachable(path: Path, why: str, *, now: float | None = None) -> str:
    now = time.time() if now is None else now
    return (f"云柜 Locker    {_clock(now)}\n\n云柜服务未运行，正在重试 · The locker daemon is not answering; "
            f"retrying\n  {path}: {why}\n")


def follow(path: Path, out: TextIO, *, once: bool = False, clear: bool | None = None, width: int | None = None,
           frames: int | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Draw, wait for the next change, draw again … (``once``: draw one screen and
    return; ``frames``: stop after that many, for tests). Exit status: 0, or 2 when
    ``once`` could not reach the daemon."""
    clear = out.isatty() if clear is None else clear
    drawn = 0
    while frames is None or drawn < frames:
        cols = width or shutil.get_terminal_size((80, 24)).columns
        try:
            state = request(path, {"op": "state"}, timeout=15)
            if not state.get("ok"):
                raise OSError(state.get("message", state.get("error")))
        except (OSError, ValueError) as exc:
            out.write((HOME_AND_CLEAR if clear else "") + render_unreachable(path, str(exc)) + ("" if clear else "\n"))
            out.flush()
            drawn += 1
            if once:
                return 2
            sleep(2.0)
            continue
        out.write((HOME_AND_CLEAR if clear else "") + render(state, width=cols) + ("" if clear else "\n"))
        out.flush()
        drawn += 1
        if once:
            return 0
        wait = WAIT_TICKING if ticking(state) else WAIT_QUIET
        try:  # the next change, or the next tick of a countdown
            answer = request(path, {"op": "events", "after": state.get("seq", 0), "timeout": wait},
                             timeout=wait + 15)
        except (OSError, ValueError):
            answer = {"ok": False}
        if not answer.get("ok"):
            sleep(1.0)  # stopping, or gone: the next state says so
    return 0


def main(path: Path, *, once: bool = False, width: int | None = None) -> int:
    try:
        return follow(path, sys.stdout, once=once, width=width)
    except KeyboardInterrupt:
        return 0
