"""Doors: unlocking each exactly once, and what the boards then show.

The rules of the road (shared/protocols/lockboard.md), as the locker keeps them:

* ``commanded`` is written (with the code's nonce marked used) BEFORE the unlock
  frame goes out; the frame is sent once and never resent. What the unlock's reply
  showed and what later status polls showed are recorded apart.
* No reply is ``unlock_unknown``, not a failure: polls decide. A door seen open is
  ``door_opened``; closed again, the opening is ``closed`` and its flow completes.
* Acknowledged but not seen open within ``jam_seconds``: ``jammed`` — the door goes
  out of service and the flow gets another door. Never acknowledged and never
  seen open: ``not_opened`` — out of service too.
* Open with no unlock in flight: ``forced`` (an alarm; ``after: jammed`` when the
  door had been given up as jammed and pops open late). Left open after use — or
  already standing open when the unlock was sent, counted from the command —:
  ``door_left_open``, first a prompt (screen and voice), then an event for the worker.
* Standing open when the unlock was sent (forced, or left open), then seen shut — by
  the unlock's reply or a poll — before the unlock was seen to work, and still shut
  ``jam_seconds`` later (the unlock did not pop it open again): ``closed_in_flight``. Not jammed (the door stays in service) and not a completed
  opening: nobody knows whether the unlock did anything, so the flow decides (a
  pickup is held for a worker, a deposit's door is checked).
* At a restart, a door found shut with an unlock still in flight: where the door has
  an item sensor, it decides — the opening's purpose done (a pickup's or a collect's
  door empty, a deposit's door holding something) completes the flow as if it had
  been watched; not done is ``not_opened`` with mode ``restart_still_inside``.
  Without a sensor, mode ``restart``: nobody knows.
* A board that does not answer is ``board_offline`` (its doors are not "closed");
  ``board_online`` when it answers again. An unlock in flight on it, not yet seen
  open, went unwatched (``opening_unwatched``; the opening's ``unwatched`` column,
  so a restart keeps it): the door may have opened and shut while nobody could see
  it. When the board answers again and the door is shut, the opening is judged by
  the restart rules above (the item sensor, else nobody knows), never as a jam —
  a drop-off long gone must not get another door, a pickup's code must not be
  given back. ``start-up``: the board was offline at the daemon's start (judged
  at its first look as a restart would); ``offline``: it went offline after the
  command (the door still gets ``jam_seconds`` from the command to be seen open).
* Polls never hold up an unlock: the bus lets unlocks go first, and nothing here
  holds the bus while writing the store. So a poll answered before an unlock's reply
  may be written after it: a shut door it saw is older than the opening and is
  ignored (each observation carries when it was answered).

Flows (:mod:`locker.flows`) hook in through ``on_closed`` and ``on_failed``, which
run inside the transaction that finishes the opening and may return a follow-up
(another unlock) to run after it commits.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import threading
import time
from typing import Any, Callable

from appliance.journal import log_context
from drivers.lockboard import BoardStatus, DoorState, DoorStatus, LockBusGone, LockBusUnavailable
from locker.bank import Bank, DoorSpec, door_id
from locker.errors import Refused
from locker.ledger import DOOR, OPENING, Ledger
from locker.states import DoorUse, OpeningState, Purpose

log = logging.getLogger("locker")

FollowUp = Callable[[], Any]
CRASH_ENV = "LOCKER_CRASH_AT"  # tests: SIGKILL this process at a named step …
CRASH_ARM = "LOCKER_CRASH_ARMED"  # … once this file exists (it is removed first: one shot)
# openings.unwatched: its board was offline at the daemon's start, or went offline after the command
AT_START, OFFLINE = "start-up", "offline"


def crashpoint(step: str) -> None:
    """Die here, as a power cut would, when ``LOCKER_CRASH_AT`` names ``step``
    (and the file ``LOCKER_CRASH_ARMED`` names exists, if that is set)."""
    if os.environ.get(CRASH_ENV) != step:
        return
    armed = os.environ.get(CRASH_ARM)
    if armed:
        try:
            os.unlink(armed)
        except FileNotFoundError:
            return
    os.kill(os.getpid(), signal.SIGKILL)


class DoorKeeper:
    def __init__(self, ledger: Ledger, bank: Bank, *, jam_seconds: float = 3.0, prompt_seconds: float = 60.0,
                 alarm_seconds: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self.ledger, self.bank = ledger, bank
        self.jam_seconds, self.prompt_seconds, self.alarm_seconds = jam_seconds, prompt_seconds, alarm_seconds
        self.clock = clock
        self.lock = threading.RLock()
        self.on_closed: Callable[[Any, dict, DoorStatus | None], FollowUp | None] = lambda db, op, st: None
        # on_failed's mode: "failed" (jammed or not opened: the door is now out of service),
        # "restart" (found closed after a restart, or after its board was offline: nobody knows;
        # the opening's ``unwatched`` says which), "restart_still_inside" (found closed so; the
        # item sensor says the purpose was not done), "unsent" (the
        # frame never went out), "closed_in_flight" (open at the command, shut before it was seen to work)
        self.on_failed: Callable[[Any, dict, str], FollowUp | None] = lambda db, op, mode: None
        self.online: dict[tuple[str, int], bool] = {}
        self.seen: dict[str, DoorStatus] = {}  # door id -> last observation
        self.forced: set[str] = set()  # doors open without a command, alarm raised
        self._forced_open: dict[str, list] = {}  # door id -> [seen open since, left-open level]
        # openings whose door stood open at the command and has been seen shut since: (when, seen by)
        self._shut_in_flight: dict[int, tuple[float, str]] = {}

    # -- unlocking ---------------------------------------------------------------------
    def unlock(self, door: DoorSpec | Callable[[Any], DoorSpec], purpose: Purpose, case_id: str | None, *,
               nonce: str | None = None, kind: str = "", worker: str | None = None,
               source: str = "") -> tuple[int, DoorSpec]:
        """Record the command, send ONE unlock, record what the reply showed; the
        opening's id and door. ``door`` may be a function of the transaction that
        checks, chooses and reserves the door in the same transaction as the command.
        Raises Refused("replayed") when ``nonce`` already opened this door."""
        # every line logged from the command to its verdict carries the door and the case
        # (contextvars: nothing more on the unlock path); a door chosen in the transaction
        # joins once chosen
        with contextlib.ExitStack() as fields:
            fields.enter_context(log_context(case=case_id, door=None if callable(door) else door.number))
            with self.lock, self.ledger.atomic() as db:
                if callable(door):
                    door = door(db)
                    fields.enter_context(log_context(door=door.number))
                now = self.clock()
                last = self.seen.get(door.id)
                open_now = door.id in self.forced or (last is not None and last.state is DoorState.OPEN)
                opening = self.ledger.set_state(
                    db, OPENING, None, OpeningState.COMMANDED, event="unlock_commanded",
                    insert={"door_id": door.id, "case_id": case_id, "purpose": str(purpose), "nonce": nonce,
                            "worker": worker, "source": source, "commanded_at": now, "open_at_command": int(open_now)},
                    detail={"door": door.number, "at": door.id, "purpose": str(purpose), "case": case_id,
                            "source": source, **({"open_at_command": True} if open_now else {})})
                if nonce:
                    try:
                        db.execute("INSERT INTO used_codes (nonce, door_id, kind, opening_id, used_at) "
                                   "VALUES (?, ?, ?, ?, ?)", [nonce, door.id, kind, opening, now])
                    except sqlite3.IntegrityError:
                        raise Refused("replayed") from None
            crashpoint("commanded")
            bus = self.bank.bus_of(door)
            try:
                result = bus.unlock(door.board, door.door)
            except (LockBusGone, LockBusUnavailable) as exc:
                # Not sent: the driver raises only when the request could not go out.
                self._finish_failed(opening, f"the unlock could not be sent: {exc.message}")
                raise Refused("bus_unavailable", exc.message) from exc
            crashpoint("unlocked")
            observed = None if result.observed is None else str(result.observed)
            with self.lock, self.ledger.atomic() as db:
                db["openings"].update(opening, {"reply": observed, "outcome": str(result.outcome)})
                self.ledger.record(db, "unlock_result", "opening", str(opening),
                                   {"door": door.number, "commanded": "open", "observed": observed,
                                    "outcome": str(result.outcome), "reason": result.reason})
                op = self._row(db, opening)
                state = OpeningState(op["state"])
                if result.opened and state is OpeningState.COMMANDED and not op["open_at_command"]:
                    self.ledger.set_state(db, OPENING, opening, OpeningState.OPENED, event="door_opened",
                                          fields={"opened_at": result.replied_at or self.clock()},
                                          detail={"door": door.number, "by": "unlock reply"})
                elif (observed == str(DoorState.CLOSED) and state is OpeningState.COMMANDED
                      and op["open_at_command"]):
                    # shut since the last poll; the unlock may still pop it open: polls decide. The reply
                    # is the first to show it shut, even when a poll's observation was written first
                    at = result.replied_at or self.clock()
                    known = self._shut_in_flight.get(opening)
                    if known is None or known[0] >= at:
                        self._shut_in_flight[opening] = (at, "unlock reply")
                elif observed is None:
                    self.ledger.record(db, "unlock_unknown", "door", door.id,
                                       {"door": door.number, "opening": opening, "reason": result.reason})
            crashpoint("recorded")
            return opening, door

    def _closed_in_flight(self, db: Any, spec: DoorSpec, op: dict, by: str, at: float | None) -> FollowUp | None:
        """The door stood open when the unlock went out and is now seen shut, the
        unlock never seen to work: its own event, the door stays in service."""
        note = "open when the unlock was sent, shut before the unlock was seen to work"
        self.ledger.set_state(db, OPENING, op["id"], OpeningState.CLOSED_IN_FLIGHT, event="closed_in_flight",
                              fields={"note": note, "closed_at": at or self.clock()},
                              detail={"door": spec.number, "by": by, "purpose": op["purpose"], "case": op["case_id"],
                                      "note": note})
        return self.on_failed(db, self._row(db, op["id"]), "closed_in_flight")

    def _finish_failed(self, opening: int, note: str) -> None:
        follow: FollowUp | None = None
        with self.lock, self.ledger.atomic() as db:
            op = self._row(db, opening)
            if op["state"] == OpeningState.COMMANDED:
                self.ledger.set_state(db, OPENING, opening, OpeningState.NOT_OPENED, fields={"note": note},
                                      detail={"door": self.bank.doors[op["door_id"]].number, "note": note})
                follow = self.on_failed(db, self._row(db, opening), "unsent")
        if follow is not None:
            follow()

    # -- observing -----------------------------------------------------------------------
    def observe(self, bus: str, statuses: dict[int, BoardStatus], *, restarting: bool = False) -> None:
        """What one poll of ``bus`` saw; moves openings along. ``restarting``: the
        first look after a start, when closed doors cannot have been waited for."""
        follow_ups: list[tuple[dict, FollowUp]] = []
        with self.lock, self.ledger.atomic() as db:
            unfinished = {row["door_id"]: row for row in db.query(
                "SELECT * FROM openings WHERE state IN ('commanded', 'opened')")}
            for board, status in statuses.items():
                self._board(db, bus, status)
                if not status.online:
                    self._unwatched(db, bus, board, unfinished, restarting)
                    continue
                for door_status in status.doors:
                    spec = self.bank.doors.get(door_id(bus, board, door_status.door))
                    if spec is None:
                        continue
                    op = unfinished.get(spec.id)
                    fields = {"door": spec.number, "case": op["case_id"] if op else None}
                    if op is None and door_status.state is not DoorState.OPEN and spec.id not in self.forced:
                        follow = self._door(db, spec, door_status, op, restarting)  # a shut door: nothing to log
                    else:  # what is logged about this door (and its opening's case) carries them
                        with log_context(**fields):
                            follow = self._door(db, spec, door_status, op, restarting)
                    self.seen[spec.id] = door_status
                    if follow is not None:
                        follow_ups.append((fields, follow))
        for fields, follow in follow_ups:
            with log_context(**fields):
                try:
                    follow()
                except Refused as exc:
                    log.warning("follow-up refused: %s", exc)

    def bus_failed(self, bus: str, message: str, *, restarting: bool = False) -> None:
        """The bus's port is gone or cannot be opened: every board on it is offline."""
        boards = {d.board for d in self.bank.doors.values() if d.bus == bus}
        self.observe(bus, {b: BoardStatus(b, False, (), self.clock(), message) for b in sorted(boards)},
                     restarting=restarting)

    def _unwatched(self, db: Any, bus: str, board: int, unfinished: dict[str, dict], restarting: bool) -> None:
        """Unlocks in flight on an offline board, not yet seen open: nobody can see
        whether their door opens and shuts. Kept in the store (a restart meanwhile
        must not forget it); judged when the board answers again."""
        why = AT_START if restarting else OFFLINE
        for door, op in unfinished.items():
            spec = self.bank.doors.get(door)
            if (spec is None or spec.bus != bus or spec.board != board or op["state"] != OpeningState.COMMANDED
                    or op["unwatched"] == why or (op["unwatched"] and not restarting)):
                continue
            db.execute("UPDATE openings SET unwatched = ? WHERE id = ?", [why, op["id"]])
            op["unwatched"] = why
            self.ledger.record(db, "opening_unwatched", "opening", str(op["id"]),
                               {"door": spec.number, "case": op["case_id"], "purpose": op["purpose"],
                                "why": why}, outbox=False)

    def _board(self, db: Any, bus: str, status: BoardStatus) -> None:
        key = (bus, status.board)
        was = self.online.get(key)
        if status.online == was:
            return
        self.online[key] = status.online
        if not status.online:
            self.ledger.record(db, "board_offline", "board", f"{bus}/{status.board}", {"reason": status.reason})
        elif was is False:
            self.ledger.record(db, "board_online", "board", f"{bus}/{status.board}")

    def _door(self, db: Any, spec: DoorSpec, seen: DoorStatus, op: dict | None,
              restarting: bool) -> FollowUp | None:
        is_open = seen.state is DoorState.OPEN
        if op is None:
            if is_open and spec.id not in self.forced:
                self.forced.add(spec.id)
                self._forced_open[spec.id] = [self.clock(), 0]
                last = next(db.query("SELECT state FROM openings WHERE door_id = ? ORDER BY id DESC LIMIT 1",
                                     [spec.id]), None)
                given_up = ("jammed", "not_opened", "closed_in_flight")  # no unlock of it in flight any more
                after = {"after": last["state"]} if last and last["state"] in given_up else {}
                self.ledger.record(db, "forced", "door", spec.id, {"door": spec.number, "alarm": True, **after})
            elif is_open:  # a forced door left standing open escalates like any other
                since, level = self._forced_open.setdefault(spec.id, [self.clock(), 0])
                self._forced_open[spec.id][1] = self._escalate(db, spec, self.clock() - since, level, None, None)
            else:
                self.forced.discard(spec.id)
                self._forced_open.pop(spec.id, None)
            return None
        self.forced.discard(spec.id)
        self._forced_open.pop(spec.id, None)
        if seen.at and seen.at < op["commanded_at"] and not restarting:
            return None  # polled before the unlock went out
        now = self.clock()
        state = OpeningState(op["state"])
        unwatched = op["unwatched"]
        # judged as at a restart: its first look after one (now, or when its board answers again)
        first_look = restarting or unwatched == AT_START
        if state is OpeningState.COMMANDED:
            was_open = bool(op["open_at_command"]) and not first_look
            if is_open:
                if was_open and op["id"] not in self._shut_in_flight:
                    # open since before the command: no sign yet that the unlock did anything,
                    # but a door standing open escalates all the same, from the command on
                    self._left_open(db, spec, op, now, since=op["commanded_at"])
                    return None
                self._shut_in_flight.pop(op["id"], None)  # shut, then open again: the unlock worked
                self.ledger.set_state(db, OPENING, op["id"], OpeningState.OPENED, event="door_opened",
                                      fields={"opened_at": seen.at or now},
                                      detail={"door": spec.number, "by": "status poll"})
                return None
            if was_open:  # shut in flight: once it stays shut as long as a jam would, it is closed_in_flight
                shut_at, by = self._shut_in_flight.setdefault(op["id"], (seen.at or now, "status poll"))
                if now - shut_at < self.jam_seconds:
                    return None
                del self._shut_in_flight[op["id"]]
                return self._closed_in_flight(db, spec, op, by, shut_at)
            if not restarting and now - op["commanded_at"] < self.jam_seconds:
                return None  # it may still open (a slow latch)
            unseen = restarting or unwatched is not None  # it may have opened and shut with nobody seeing
            done = self._sensor_says_done(spec, seen, op) if unseen else None
            while_ = "daemon down" if first_look else "board offline"
            if done:  # the item sensor shows it happened while nobody could see
                self.ledger.set_state(db, OPENING, op["id"], OpeningState.OPENED, event="door_opened",
                                      detail={"door": spec.number, "by": "item sensor at restart" if first_look
                                              else "item sensor after its board was offline"})
                self.ledger.set_state(db, OPENING, op["id"], OpeningState.CLOSED, event="door_closed",
                                      fields={"closed_at": seen.at or now},
                                      detail={"door": spec.number, "while": while_,
                                              "item": "inside" if seen.item else "empty"})
                return self.on_closed(db, self._row(db, op["id"]), seen)
            if unseen:
                note = ("found closed after a restart, never seen open" if first_look
                        else "found closed after its board was offline, never seen open")
                if done is False:
                    note += f"; the item sensor shows it {'inside' if seen.item else 'empty'}"
            else:
                note = "acknowledged, never seen open" if op["reply"] else "no reply, never seen open"
            jammed = op["reply"] is not None and not unseen
            new = OpeningState.JAMMED if jammed else OpeningState.NOT_OPENED
            self.ledger.set_state(db, OPENING, op["id"], new, event="jammed" if jammed else "not_opened",
                                  fields={"note": note},
                                  detail={"door": spec.number, "note": note,
                                          **({"unwatched": unwatched} if unwatched and not restarting else {})})
            if not unseen:
                self.ledger.set_state(db, DOOR, spec.id, DoorUse.OUT_OF_SERVICE, fields={"reason": note},
                                      detail={"door": spec.number, "reason": note})
            mode = "failed" if not unseen else "restart_still_inside" if done is False else "restart"
            return self.on_failed(db, self._row(db, op["id"]), mode)
        # OPENED
        if not is_open:
            if seen.at and op["opened_at"] and seen.at < op["opened_at"]:
                # answered before the unlock's reply (polls wait behind unlocks on the bus, not
                # behind the store): the door shut then is the door before it opened
                return None
            self.ledger.set_state(db, OPENING, op["id"], OpeningState.CLOSED, event="door_closed",
                                  fields={"closed_at": seen.at or now},
                                  detail={"door": spec.number, **({"while": "daemon down"} if restarting else {})})
            follow = self.on_closed(db, self._row(db, op["id"]), seen)
            crashpoint("closing")  # everything written, nothing committed
            return follow
        self._left_open(db, spec, op, now)
        return None

    @staticmethod
    def _sensor_says_done(spec: DoorSpec, seen: DoorStatus, op: dict) -> bool | None:
        """Whether the item sensor shows the opening's purpose done: a pickup's or a
        collect's door empty, a deposit's door holding something. None: no sensor."""
        if not spec.item_sensor or seen.item is None or op["purpose"] == str(Purpose.MAINTENANCE):
            return None
        taking = op["purpose"] in (str(Purpose.PICKUP), str(Purpose.COLLECT))
        return (not seen.item) if taking else seen.item

    def _left_open(self, db: Any, spec: DoorSpec, op: dict, now: float, *, since: float | None = None) -> None:
        """``since``: when the door counts as standing open from (default: when the
        opening was seen open; a door already open at the command: the command)."""
        start = since if since is not None else (op["opened_at"] or now)
        level = self._escalate(db, spec, now - start, op["left_open_level"], op["id"], op["case_id"])
        if level != op["left_open_level"]:
            db["openings"].update(op["id"], {"left_open_level": level})

    def _escalate(self, db: Any, spec: DoorSpec, open_for: float, level: int, opening: int | None,
                  case: str | None) -> int:
        """door_left_open: first a prompt (screen and voice: the API's events), then
        an event for the worker (the outbox too)."""
        for wanted, after, who, outbox in ((1, self.prompt_seconds, "prompt", False),
                                           (2, self.alarm_seconds, "worker", True)):
            if level < wanted and open_for >= after:
                level = wanted
                self.ledger.record(db, "door_left_open", "door", spec.id,
                                   {"door": spec.number, "level": who, "seconds": round(open_for),
                                    "opening": opening, "case": case}, outbox=outbox)
        return level

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def _row(db: Any, opening: int) -> dict:
        return next(db.query("SELECT * FROM openings WHERE id = ?", [opening]))

    def _state(self, db: Any, opening: int) -> OpeningState:
        return OpeningState(self._row(db, opening)["state"])

    def left_open_level(self, door: str) -> int:
        """How far a forced door standing open has escalated (0: not yet)."""
        entry = self._forced_open.get(door)
        return entry[1] if entry else 0

    def board_online(self, spec: DoorSpec) -> bool:
        return self.online.get((spec.bus, spec.board), True)
