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
import tomllib
from pathlib import Path
from typing import Any, Callable

from appliance import jsonline
from drivers.printer import Advice

FINISHED = frozenset({"closed", "jammed", "not_opened", "closed_in_flight"})

CATALOGUE = Path(__file__).resolve().parents[2] / "assets" / "i18n" / "doors.toml"


def words() -> dict[str, tuple[str, str]]:
    """reason -> (Chinese, English): what happened and what to do next, for a resident.
    Reasons are locker.errors.REASONS and the kiosk's own (``unreachable``, ``jammed`` …);
    the text lives in the catalogue ``assets/i18n/doors.toml`` (the screens' ``doors.*``)."""
    if not _WORDS:
        data = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
        _WORDS.update({reason: (entry["zh"], entry["en"]) for reason, entry in data.items()})
    return _WORDS


_WORDS: dict[str, tuple[str, str]] = {}


def advice(reason: str, retry_after: float | None = None) -> Advice:
    table = words()
    zh, en = table.get(reason, table["internal"])
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
