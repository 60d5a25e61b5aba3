"""The locker daemon as the kiosk's journeys see it: one request over its Unix socket
(:mod:`locker.api`, :mod:`appliance.jsonline`), a refusal in a resident's words with
what to do next, and following a door until it is shut again.

The daemon alone owns the lock boards (DESIGN.md): the kiosk asks, and reads back
what happened. Blocking calls; the screens run them off the UI thread::

    doors = LockerDoors(socket_path(config))
    try:
        answer = doors.request("pickup", code="12345678")
    except DoorRefused as refusal:
        show(refusal.advice.zh)        # 取件码错误。请核对短信中的8位取件码后重新输入
    doors.follow(answer["opening"]["id"], until=lambda o: o["state"] in FINISHED)
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from appliance import jsonline
from drivers.printer import Advice

FINISHED = frozenset({"closed", "jammed", "not_opened", "closed_in_flight"})

# reason -> (Chinese, English): what happened and what to do next, for a resident.
# Reasons are locker.errors.REASONS, plus "unreachable" (the daemon does not answer).
WORDS: dict[str, tuple[str, str]] = {
    "expired": ("取件码已过期。材料已退回网格员，请拨打回执上的电话或到社区服务站领取",
                "This code has expired. The result went back to the grid worker: call the number on "
                "your receipt or ask at the community service counter"),
    "replayed": ("此码已经使用过，柜门不会再次打开。如未取到材料，请联系工作人员",
                 "This code has already been used and will not open the door again. If you did not get "
                 "your papers, please ask staff"),
    "wrong_short_code": ("取件码不正确。请核对短信中的8位数字后重新输入",
                         "That pickup code is not right. Check the 8 digits in your text message and try again"),
    "backing_off": ("输错次数过多，请稍等 {wait} 秒后再试", "Too many wrong tries: please wait {wait} seconds and try again"),
    "unreadable": ("无法识别此二维码。请扫描短信或回执上的云柜二维码，或输入8位取件码",
                   "This is not a locker code. Scan the QR code from your text message or receipt, "
                   "or type the 8-digit code"),
    "forged": ("此二维码无法验证。请使用短信中的原始二维码，或联系工作人员",
               "This code cannot be verified. Use the original code from your text message, or ask staff"),
    "unknown_key": ("此二维码无法验证。请使用短信中的原始二维码，或联系工作人员",
                    "This code cannot be verified. Use the original code from your text message, or ask staff"),
    "revoked": ("此二维码已失效。请联系工作人员重新发送", "This code is no longer valid. Ask staff to send a new one"),
    "not_yet_valid": ("此二维码尚未生效，请稍后再试", "This code is not valid yet: please try again later"),
    "other_locker": ("此码属于另一个云柜，请到短信中写明的云柜取件",
                     "This code is for another locker: go to the locker named in your text message"),
    "pickup_held": ("此柜门需工作人员核实后才能取件，请联系工作人员",
                    "Staff must check this door before it opens: please ask staff"),
    "door_out_of_service": ("柜门暂停使用，请联系工作人员帮您取件", "The door is out of service: staff will get your papers for you"),
    "no_free_door": ("暂时没有合适的空柜门。请稍后再试，或把材料交到社区服务站窗口",
                     "No free door of the right size right now. Try again later, or hand the papers in "
                     "at the community service counter"),
    "replayed_booking": ("此预约码已经使用过。如需再次投递，请在手机上重新预约",
                         "This booking code has been used. Book again on your phone to drop off more"),
    "wrong_state": ("此办件当前不能投递或取件，请联系工作人员", "This case cannot be dropped off or picked up now: please ask staff"),
    "busy": ("柜门正在打开，请稍候", "A door is already opening for this: please wait a moment"),
    "bus_unavailable": ("柜门控制板无法连接，请联系工作人员", "The locker doors cannot be reached: please ask staff"),
    "stopping": ("云柜正在重启，请稍后再试", "The locker is restarting: please try again in a moment"),
    "unreachable": ("云柜暂时无法使用，请联系工作人员", "The locker is not available right now: please ask staff"),
    "jammed": ("柜门没有打开。请联系工作人员，您的码不会作废", "The door did not open. Please ask staff; your code stays valid"),
    "internal": ("云柜出现故障，请联系工作人员", "The locker had a fault: please ask staff"),
}


def advice(reason: str, retry_after: float | None = None) -> Advice:
    zh, en = WORDS.get(reason, WORDS["internal"])
    wait = str(max(1, round(retry_after or 60)))
    return Advice(zh.format(wait=wait), en.format(wait=wait))


class DoorRefused(Exception):
    """The locker said no (or cannot be reached): ``reason`` as in :mod:`locker.errors`
    (or ``unreachable``), ``advice`` for the resident."""

    def __init__(self, reason: str, message: str = "", *, retry_after: float | None = None) -> None:
        self.reason, self.message, self.retry_after = reason, message, retry_after
        self.advice = advice(reason, retry_after)
        super().__init__(f"{reason}: {message or self.advice.en}")


class LockerDoors:
    """The daemon's API at ``path``; ``source`` names this kiosk's input for the
    daemon's rate limiting (the keypad's wrong tries count against it)."""

    def __init__(self, path: str | Path, *, source: str = "kiosk", timeout: float = 10.0,
                 poll: float = 0.05) -> None:
        self.path, self.source, self.timeout, self.poll = Path(path), source, timeout, poll

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        try:
            answer = jsonline.request(self.path, {"op": op, "source": self.source, **fields},
                                      timeout=self.timeout, peer="the locker daemon")
        except (OSError, ConnectionError, ValueError) as exc:
            raise DoorRefused("unreachable", f"{self.path}: {exc}") from exc
        if not answer.get("ok"):
            raise DoorRefused(str(answer.get("error") or "internal"), str(answer.get("message", "")),
                              retry_after=answer.get("retry_after"))
        return answer

    def opening(self, ident: int) -> dict[str, Any]:
        return self.request("opening", id=ident)["opening"]

    def state(self) -> dict[str, Any]:
        return self.request("state")

    def case(self, case_id: str) -> dict[str, Any] | None:
        """The case as the locker holds it (state, door), or None."""
        return next((c for c in self.state()["cases"] if c["id"] == case_id), None)

    def follow(self, check: Callable[[], Any], *, timeout: float, stop: Callable[[], bool] | None = None) -> Any:
        """Call ``check`` every ``poll`` seconds until it returns something true; that
        value. None after ``timeout`` or once ``stop()`` says so (the session ended)."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline or (stop is not None and stop()):
                return None
            time.sleep(self.poll)

    def wait_opening(self, ident: int, states: set[str] | frozenset[str], *, timeout: float,
                     stop: Callable[[], bool] | None = None) -> dict[str, Any] | None:
        """The opening once its state is one of ``states`` or finished (closed, jammed …);
        None after ``timeout``."""
        wanted = set(states) | FINISHED
        return self.follow(lambda: (o := self.opening(ident))["state"] in wanted and o, timeout=timeout, stop=stop)
