"""Errors of the locker, and the reasons a code or a request is refused::

    LockerError                    anything locker/ raises on purpose
    ├── Refused                    a request the locker turns down, with a reason
    │                              a person can read (Chinese first) and a stable
    │                              ``reason`` id for the kiosk: a forged, expired,
    │                              replayed or other-locker code, no free door,
    │                              a scanner backing off …
    ├── TransitionError            a state change the state machine does not allow
    │                              (a bug, or a stale request): nothing was written
    └── AuditBroken                the audit log's hash chain does not hold; names
                                   the first broken entry

A refusal is not a failure of the daemon: it is recorded in the audit log and
answered to the caller as ``{"ok": false, "error": REASON, "message": …}``.
"""
from __future__ import annotations

# reason id: (Chinese, English). What the screen shows, Chinese first.
REASONS: dict[str, tuple[str, str]] = {
    "unreadable": ("无法识别的二维码", "This is not a locker code"),
    "forged": ("二维码签名无效（伪造或被篡改）", "The code's signature is invalid (forged or altered)"),
    "unknown_key": ("二维码的签发方不受信任", "The code was signed by an unknown key"),
    "revoked": ("二维码的签发密钥已被吊销", "The code's signing key has been revoked"),
    "expired": ("二维码已过期", "The code has expired"),
    "not_yet_valid": ("二维码尚未生效", "The code is not valid yet"),
    "replayed": ("二维码已使用过", "The code has already been used"),
    "other_locker": ("此二维码不属于本柜", "The code is for another locker"),
    "too_long": ("工作码有效期过长，已拒绝", "The worker code is valid for too long"),
    "wrong_short_code": ("取件码错误", "Wrong pickup code"),
    # a short code that was real but opens nothing any more (locker/flows.py STALE_REASONS)
    "pickup_expired": ("取件码已过期，材料已退回网格员，请联系网格员",
                       "The pickup code has expired: the papers went back to the grid worker; please contact her"),
    "picked_up": ("已取件", "Already picked up with this code"),
    "pickup_replaced": ("取件码已更换，请使用最新收到的取件码",
                        "This pickup code was replaced: please use the newest code you received"),
    "backing_off": ("尝试次数过多，请稍后再试", "Too many wrong tries; please wait"),
    "no_free_door": ("没有合适的空闲柜门", "No free door of that size"),
    "nothing_to_collect": ("本柜没有您要取的材料", "Nothing to collect for you at this locker"),
    "unknown_case": ("找不到该办件", "No such case at this locker"),
    "wrong_state": ("办件当前状态不允许此操作", "The case is not in a state that allows this"),
    "busy": ("该办件正在开门处理中", "A door is already being opened for this case"),
    "bad_request": ("请求无效", "Bad request"),
    "unknown_door": ("找不到该柜门", "No such door at this locker"),
    "door_not_free": ("目标柜门不空闲", "That door is not free"),
    "door_out_of_service": ("柜门暂停使用，请联系工作人员取件", "The door is out of service; please call staff"),
    "door_holds_case": ("该柜门仍存放着办件，请先把办件移到别的柜门再恢复使用",
                        "The door still holds a case; move the case to another door before putting it back in service"),
    "pickup_held": ("此柜门需工作人员核实后才能取件，请联系工作人员",
                    "This pickup waits for staff to check the door; please call staff"),
    "not_allowed": ("此操作仅限维护人员", "Only a maintainer may do this: run it as root or as a user [locker] "
                                          "admins names"),
    "stopping": ("云柜服务正在停止，请稍后再试", "The locker daemon is stopping; please try again shortly"),
    "bus_unavailable": ("柜门控制板无法连接，请联系工作人员", "The lock boards cannot be reached; please call staff"),
}


class LockerError(Exception):
    pass


class Refused(LockerError):
    def __init__(self, reason: str, detail: str = "", *, retry_after: float | None = None) -> None:
        zh, en = REASONS.get(reason, REASONS["bad_request"])
        self.reason, self.detail, self.retry_after = reason, detail, retry_after
        self.message = f"{zh} · {en}"
        super().__init__(self.message + (f" ({detail})" if detail else ""))

    def as_dict(self) -> dict:
        out = {"ok": False, "error": self.reason, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        if self.retry_after is not None:
            out["retry_after"] = round(self.retry_after, 1)
        return out


class TransitionError(LockerError):
    def __init__(self, what: str, ident: object, old: object, new: object) -> None:
        self.what, self.ident, self.old, self.new = what, ident, old, new
        super().__init__(f"{what} {ident}: {old} → {new} is not an allowed transition")


class AuditBroken(LockerError):
    def __init__(self, seq: int, problem: str) -> None:
        self.seq, self.problem = seq, problem
        super().__init__(f"audit entry {seq}: {problem}")
