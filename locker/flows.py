"""The locker's flows: drop-off, collect, return, pickup, and pickups not made in time.

:class:`Locker` is what the daemon's API and its scanner call. Each entry point
checks the request (and its code: :mod:`locker.codes`, rate-limited by
:mod:`locker.throttle`), then asks :class:`~locker.doorkeeper.DoorKeeper` for ONE
unlock; the flow completes when the door is seen closed again:

=========  ============================  =========================================
flow       asked by                      when the door closes
=========  ============================  =========================================
drop-off   kiosk (case id) or booking    case → materials_deposited in that door;
           QR (server-signed)            a receipt is queued where one prints
collect    worker QR (server-signed)     case → collected (expired ones →
                                         retrieved), door free; her next door opens
return     worker QR + case id           case → result_deposited; a pickup code
                                         (signed by this locker, N days, single
                                         use, 8-digit short form) goes out in the
                                         outbox so the server can tell the resident
pickup     pickup QR or short code       case → picked_up, door free
=========  ============================  =========================================

A pickup not made within ``pickup_days`` is ``expired``: the case goes back to the
worker's list (an outbox event) and her next collect takes it out.

A typed short code that is no longer live says why (:data:`STALE_REASONS`): expired
(also once the worker took the papers back), already picked up, or replaced by a newer
code; any other 8 digits are ``wrong_short_code``. Each of these answers counts as a
wrong try against the source and the shared short-code budget (:mod:`locker.throttle`),
so the answers cost a guesser the same as before. What a stale answer tells is only
that these 8 digits were a pickup code at this locker lately, and what became of it:
no case, door, name or date; a stale code opens nothing, and live codes are drawn at
random, independent of old ones. It is said for :data:`STALE_DAYS` after the code's
deadline; an older number answers ``wrong_short_code`` like any other.

When a door cannot be trusted, people decide: a maintainer takes a door out of
service or puts it back (:meth:`Locker.set_door_service`; refused while a case's
paper is recorded in it), a worker records that she moved a case's paper by hand
off a jammed door (:meth:`Locker.move_case`), and decides a held pickup
(:meth:`Locker.resolve`). A pickup is held when its door may have opened with
nobody watching (the daemon killed after the unlock frame left, with no item sensor
to tell; or ``closed_in_flight``): its code stays spent on that door — no code opens
a door twice — and the door waits as ``check``.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from typing import Any, Callable

from appliance.keys import TrustedKeys
from drivers.lockboard import DoorStatus
from locker import codes
from locker.bank import SIZE_ORDER, Bank, DoorSpec
from locker.codes import Code, Signer
from locker.doorkeeper import DoorKeeper, FollowUp
from locker.errors import Refused
from locker.ledger import CASE, DOOR, Ledger
from locker.states import CaseState, DoorUse, Purpose
from locker.refusals import Refusals
from locker.throttle import Throttle
from sync.store import Store

log = logging.getLogger("locker")
C, D, P = CaseState, DoorUse, Purpose

# pickup_codes.state of a short code that opens nothing any more -> the refusal's reason
STALE_REASONS = {"expired": "pickup_expired", "used": "picked_up", "superseded": "pickup_replaced"}
STALE_DAYS = 30  # after its deadline, a stale short code is answered as wrong like any other


class Locker:
    def __init__(self, store: Store, bank: Bank, *, locker_id: str, signer: Signer,
                 keys: Callable[[], TrustedKeys], settings: Any, receipts: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.bank, self.locker_id = store, bank, locker_id
        self.signer, self.keys, self.settings, self.receipts, self.clock = signer, keys, settings, receipts, clock
        self.ledger = Ledger(store, locker_id)
        self.keeper = DoorKeeper(self.ledger, bank, jam_seconds=settings.jam_seconds,
                                 prompt_seconds=settings.door_open_prompt_seconds,
                                 alarm_seconds=settings.door_open_alarm_seconds, clock=clock)
        self.keeper.on_closed = self._closed
        self.keeper.on_failed = self._failed
        self.throttle = Throttle(settings.wrong_tries, settings.backoff_seconds)
        self.refusals = Refusals(self.throttle, clock=clock)  # the last one per source, for the screen
        self._queues: dict[str, list[str]] = {}  # worker code nonce -> doors still to open

    # -- start-up --------------------------------------------------------------------
    def install_doors(self) -> None:
        """Door rows for every configured door; configured out-of-service doors follow the config."""
        with self.ledger.atomic() as db:
            known = {row["id"]: row for row in db.query("SELECT id, use, number FROM doors")}
            for spec in self.bank.doors.values():
                row = known.get(spec.id)
                if row is None:
                    db.execute("DELETE FROM doors WHERE number = ?", [spec.number])  # renumbered config
                    use = D.OUT_OF_SERVICE if spec.out_of_service else D.FREE
                    self.ledger.set_state(db, DOOR, spec.id, use, event="door_installed", outbox=False,
                                          insert={"number": spec.number, "bus": spec.bus, "board": spec.board,
                                                  "door": spec.door, "size": spec.size},
                                          detail={"door": spec.number, "size": spec.size})
                elif spec.out_of_service and row["use"] == D.FREE:
                    self.ledger.set_state(db, DOOR, spec.id, D.OUT_OF_SERVICE, fields={"reason": "configured"})
                elif not spec.out_of_service and row["use"] == D.OUT_OF_SERVICE:
                    pass  # taken out at run time (jammed): stays out until a maintainer frees it

    # -- the entry points ----------------------------------------------------------------
    def scan(self, text: str, source: str = "scanner") -> dict[str, Any]:
        """Whatever was scanned or typed: booking → drop-off, pickup QR or 8 digits →
        pickup, worker QR → collect her doors."""
        text = text.strip()
        kind = codes.KINDS.get(text.split(".")[1] if text.count(".") == 3 else "", "")
        if codes.SHORT.match(text):
            answer = self.pickup(text, source)
        elif kind == "booking":
            answer = self.dropoff_booking(text, source)
        elif kind == "worker":
            answer = self.collect(text, source=source)
        else:
            answer = self.pickup(text, source)
        self.refusals.accepted(source)
        return answer

    def dropoff(self, case_id: str, size: str = "M", *, worker: str | None = None, item: str = "",
                resident: str = "", source: str = "kiosk", code: Code | None = None,
                announced: bool = False) -> dict[str, Any]:
        """``announced``: the caller made the case and announced it to the server (the
        kiosk on this box: its own ``created``, its own receipt with the progress QR), so
        the locker records the case without a ``created`` of its own and prints no receipt.
        A booking QR's case and one without a kiosk are the locker's to announce."""
        if not case_id or not isinstance(case_id, str) or size not in SIZE_ORDER:
            raise Refused("bad_request", "dropoff needs a case id and a size S, M or L")
        announced = announced and code is None

        def prepare(db: Any) -> None:
            case = self._case(case_id, db)
            if case is None:  # the server takes it as the same case when the kiosk or the phone made it too
                self.ledger.set_state(db, CASE, case_id, C.CREATED, fields={"size": size, "worker": worker},
                                      insert={"item": item, "resident": resident, "created_at": self.clock()},
                                      detail={"size": size, "source": source, **({"announced_by": source}
                                                                                 if announced else {})},
                                      outbox=not announced)
            elif case["state"] != C.CREATED:
                raise Refused("replayed" if code is not None else "wrong_state", f"case is {case['state']}")
        return self._deposit(P.DROPOFF, case_id, size, prepare, code=code, worker=worker, source=source)

    def dropoff_booking(self, text: str, source: str = "kiosk") -> dict[str, Any]:
        """A drop-off for a case made on a phone: its booking QR (server-signed) names
        the case and the size."""
        code = self._code(text.strip(), source, "booking")
        return self.dropoff(code.case, code.size, worker=code.worker or None, source=source, code=code)

    def return_result(self, text: str, case_id: str, size: str = "M", source: str = "kiosk") -> dict[str, Any]:
        code = self._code(text, source, "worker")
        if not case_id or not isinstance(case_id, str) or size not in SIZE_ORDER:
            raise Refused("bad_request", "return needs a case id and a size S, M or L")

        def prepare(db: Any) -> None:
            case = self._case(case_id, db)
            if case is not None and case["state"] not in (C.COLLECTED, C.PICKED_UP, C.RETRIEVED):
                raise Refused("wrong_state", f"case is {case['state']}")
        return self._deposit(P.RETURN, case_id, size, prepare, code=code, worker=code.worker, source=source)

    def pickup(self, text: str, source: str = "kiosk") -> dict[str, Any]:
        short = bool(codes.SHORT.match(text.strip()))
        if short:
            self._throttled(source, short=True)
            rows = self.store.query("SELECT * FROM pickup_codes WHERE short = ? AND state IN ('live', 'held') "
                                    "ORDER BY state = 'live' DESC", [text.strip()])
            if not rows:
                self._refuse(source, Refused(self._stale_short(text.strip())), short=True)
            nonce = rows[0]["nonce"]
            if rows[0]["expires_at"] < self.clock():  # not swept yet
                self._refuse(source, Refused("pickup_expired"), short=True)
        else:
            code = self._code(text, source, "pickup")
            nonce = code.nonce
        row = next(iter(self.store.query("SELECT * FROM pickup_codes WHERE nonce = ?", [nonce])), None)
        if row is None or row["state"] != "live":
            reason = {"expired": "expired", "used": "replayed", "held": "pickup_held"}.get(
                row["state"] if row else "", "replayed")
            self._refuse(source, Refused(reason))
        case = self._case(row["case_id"])
        if case is None or case["state"] != C.RESULT_DEPOSITED or not case["door_id"]:
            self._refuse(source, Refused("replayed", "nothing waits for this code"))
        door = self.bank.doors[case["door_id"]]

        def check(db: Any) -> DoorSpec:
            self._not_busy(case["id"], db)
            if next(db.query("SELECT use FROM doors WHERE id = ?", [door.id]))["use"] == D.OUT_OF_SERVICE:
                raise Refused("door_out_of_service", f"door {door.number}")  # jammed: a worker moves the case
            return door
        opening, _ = self.keeper.unlock(check, P.PICKUP, case["id"], nonce=nonce, kind="pickup", source=source)
        return self._answer(opening, door)

    def _stale_short(self, short: str) -> str:
        """The reason for 8 digits that are no live or held pickup code: what became of
        the latest code they were, within :data:`STALE_DAYS` of its deadline, else
        ``wrong_short_code``. Only the reason is told: no detail names the case or door."""
        rows = self.store.query(
            "SELECT state FROM pickup_codes WHERE short = ? AND state IN ('expired', 'used', 'superseded') "
            "AND expires_at >= ? ORDER BY expires_at DESC LIMIT 1", [short, self.clock() - STALE_DAYS * 86400])
        return STALE_REASONS[rows[0]["state"]] if rows else "wrong_short_code"

    def collect(self, text: str, door_number: int | None = None, source: str = "kiosk") -> dict[str, Any]:
        code = self._code(text, source, "worker")
        # A door she names is opened even on a board that does not answer: she stands
        # before it, and the unlock is sent once and recorded as unknown if unanswered.
        mine = [d for d in self._her_doors(code.worker, offline_too=door_number is not None)
                if not self._used(code.nonce, d)]
        if door_number is not None:
            mine = [d for d in mine if self.bank.doors[d].number == door_number]
        if not mine:
            raise Refused("nothing_to_collect")
        first, rest = mine[0], mine[1:]
        if door_number is None and rest:
            self._queues[code.nonce] = rest
        answer = self._open_for_worker(code, first, source)
        answer["queued"] = [self.bank.doors[d].number for d in rest] if door_number is None else []
        return answer

    # -- the flows' halves -----------------------------------------------------------------
    def _deposit(self, purpose: Purpose, case_id: str, size: str, prepare: Callable[[Any], None], *,
                 code: Code | None, worker: str | None, source: str) -> dict[str, Any]:
        def choose(db: Any) -> DoorSpec:  # in the command's transaction: no two deposits get one door
            self._not_busy(case_id, db)
            prepare(db)
            door = self._free_door(size, db)
            self.ledger.set_state(db, DOOR, door.id, D.RESERVED, fields={"case_id": case_id},
                                  detail={"door": door.number, "case": case_id, "purpose": str(purpose)})
            return door
        opening, door = self.keeper.unlock(choose, purpose, case_id, nonce=code.nonce if code else None,
                                           kind=code.kind if code else "", worker=worker, source=source)
        return self._answer(opening, door)

    def _open_for_worker(self, code: Code, door_id: str, source: str) -> dict[str, Any]:
        door = self.bank.doors[door_id]
        row = next(iter(self.store.query("SELECT case_id FROM doors WHERE id = ?", [door_id])))
        opening, _ = self.keeper.unlock(door, P.COLLECT, row["case_id"], nonce=code.nonce, kind="worker",
                                        worker=code.worker, source=source)
        return self._answer(opening, door)

    def _closed(self, db: Any, op: dict, seen: DoorStatus | None) -> FollowUp | None:
        purpose, case_id, spec = Purpose(op["purpose"]), op["case_id"], self.bank.doors[op["door_id"]]
        where = {"door": spec.number, "opening": op["id"]}
        if purpose is P.MAINTENANCE:  # a maintainer looked: what the door holds is as recorded
            return None
        if purpose is P.DROPOFF:
            if spec.item_sensor and seen is not None and seen.item is False:
                self.ledger.record(db, "dropoff_empty", "case", case_id, where)
                self.ledger.set_state(db, DOOR, spec.id, D.FREE, fields={"case_id": None}, detail=where)
                return None
            self.ledger.set_state(db, CASE, case_id, C.MATERIALS_DEPOSITED, fields={"door_id": spec.id},
                                  detail=where)
            self.ledger.set_state(db, DOOR, spec.id, D.OCCUPIED, detail={**where, "case": case_id})
            if self.receipts and self._announced_here(db, case_id):  # the kiosk prints its own (with the QR)
                case = self._case(case_id, db)
                data = {"case_number": case_id, "item": case["item"], "name": case["resident"],
                        "locker": self.locker_id, "door": spec.number,
                        "deposited_at": time.strftime("%Y-%m-%dT%H:%M", time.localtime(self.clock()))}
                db["receipts"].insert({"case_id": case_id, "opening_id": op["id"],
                                       "data": json.dumps(data, ensure_ascii=False)})
            return None
        if purpose is P.RETURN:
            self._result_deposited(db, op, spec)
            return None
        if purpose is P.PICKUP:
            self.ledger.set_state(db, CASE, case_id, C.PICKED_UP, fields={"door_id": None, "deadline": None},
                                  detail=where)
            db.execute("UPDATE pickup_codes SET state = 'used' WHERE nonce = ?", [op["nonce"]])
            self.ledger.set_state(db, DOOR, spec.id, D.FREE, fields={"case_id": None}, detail=where)
            return None
        # COLLECT
        case = self._case(case_id, db) if case_id else None
        if case is not None and case["state"] == C.RESULT_DEPOSITED:
            # a held pickup's door she looked into: what she found is hers to say (resolve)
            self.ledger.record(db, "held_pickup_looked_at", "case", case_id, {**where, "worker": op["worker"]})
            return self._next_for_worker(op)
        if case is not None and case["state"] == C.MATERIALS_DEPOSITED:
            self.ledger.set_state(db, CASE, case_id, C.COLLECTED, fields={"door_id": None, "worker": op["worker"]},
                                  detail={**where, "worker": op["worker"]})
        elif case is not None and case["state"] == C.EXPIRED:
            self.ledger.set_state(db, CASE, case_id, C.RETRIEVED, fields={"door_id": None},
                                  detail={**where, "worker": op["worker"]})
            db.execute("UPDATE pickup_codes SET state = 'expired' WHERE case_id = ? AND state = 'live'", [case_id])
        self.ledger.set_state(db, DOOR, spec.id, D.FREE, fields={"case_id": None, "reason": ""},
                              detail={**where, "checked_by": op["worker"]})
        return self._next_for_worker(op)

    def _result_deposited(self, db: Any, op: dict, spec: DoorSpec) -> None:
        case_id, now = op["case_id"], self.clock()
        deadline = now + self.settings.pickup_days * 86400
        where = {"door": spec.number, "opening": op["id"], "worker": op["worker"]}
        fields = {"door_id": spec.id, "deadline": deadline, "worker": op["worker"]}
        self.ledger.set_state(db, CASE, case_id, C.RESULT_DEPOSITED, fields=fields, detail=where,
                              insert={"created_at": now, "size": spec.size})
        self.ledger.set_state(db, DOOR, spec.id, D.OCCUPIED, detail={**where, "case": case_id})
        self._issue_pickup_code(db, case_id, spec, deadline, now)

    def _issue_pickup_code(self, db: Any, case_id: str, spec: DoorSpec, deadline: float, now: float) -> None:
        """A new pickup code for ``case_id`` (any earlier one superseded), out in the outbox."""
        db.execute("UPDATE pickup_codes SET state = 'superseded' WHERE case_id = ? AND state IN ('live', 'held')",
                   [case_id])
        days = max(1, round((deadline - now) / 86400)) if deadline > now else self.settings.pickup_days
        text = codes.pickup_code(self.signer, self.locker_id, case_id, days=days, now=now)
        nonce = codes.parse(text)[0].nonce
        for _ in range(20):
            short = codes.short_code()
            try:
                with db.atomic():
                    db["pickup_codes"].insert({"nonce": nonce, "case_id": case_id, "short": short, "code": text,
                                               "expires_at": deadline, "state": "live"})
                break
            except sqlite3.IntegrityError:
                continue  # that short code is live for another case: draw again
        self.ledger.record(db, "pickup_code_issued", "case", case_id,
                           {"door": spec.number, "expires_at": round(deadline)},
                           secret={"code": text, "short": short})

    def _failed(self, db: Any, op: dict, mode: str) -> FollowUp | None:
        purpose, spec = Purpose(op["purpose"]), self.bank.doors[op["door_id"]]
        unknown_why = ("unlock outcome unknown: its board was offline" if op.get("unwatched") == "offline"
                       else "unlock outcome unknown across a restart")
        if purpose is P.PICKUP and mode in ("restart", "closed_in_flight"):
            # It may have opened: the code stays spent on this door (no code opens a door
            # twice) and a worker decides whether the result is still there (resolve).
            self._hold_pickup(db, op, spec, unknown_why if mode == "restart"
                              else "the door was shut while its unlock was in flight")
            return None
        if purpose is P.PICKUP and mode == "restart_still_inside":
            # The item sensor shows the result still inside: the code stays spent (the
            # door may have opened), the resident gets a new one through the server.
            case = self._case(op["case_id"], db)
            if case is not None and case["state"] == C.RESULT_DEPOSITED:
                self.ledger.record(db, "pickup_not_made", "case", op["case_id"],
                                   {"door": spec.number, "opening": op["id"],
                                    "by": "item sensor after its board was offline"
                                    if op.get("unwatched") == "offline" else "item sensor at restart"})
                db.execute("UPDATE pickup_codes SET state = 'superseded' WHERE nonce = ?", [op["nonce"]])
                self._issue_pickup_code(db, op["case_id"], spec, case["deadline"] or self.clock(), self.clock())
            return None
        unknown = mode in ("restart", "closed_in_flight")  # it may have opened: the code stays spent there
        if op["nonce"] and not (purpose is P.COLLECT and unknown):  # it did not open that door: try again
            db.execute("DELETE FROM used_codes WHERE nonce = ? AND door_id = ?", [op["nonce"], spec.id])
        if purpose not in (P.DROPOFF, P.RETURN):
            return (self._next_for_worker(op) if purpose is P.COLLECT and mode in ("failed", "closed_in_flight")
                    else None)
        if mode in ("unsent", "restart_still_inside"):  # nothing went in
            self.ledger.set_state(db, DOOR, spec.id, D.FREE, fields={"case_id": None})
        elif mode in ("restart", "closed_in_flight"):  # it may have opened and shut: someone must look
            reason = unknown_why if mode == "restart" else "the door was shut while its unlock was in flight"
            self.ledger.set_state(db, DOOR, spec.id, D.CHECK, fields={"case_id": None, "reason": reason},
                                  detail={"door": spec.number, "reason": reason})
            return None
        if mode != "failed":
            return None

        def another_door() -> None:  # the failed door is out of service; the case gets another
            def choose(db2: Any) -> DoorSpec:
                case = self._case(op["case_id"], db2)
                door = self._free_door(case["size"] if case else spec.size, db2)
                self.ledger.set_state(db2, DOOR, door.id, D.RESERVED, fields={"case_id": op["case_id"]},
                                      detail={"door": door.number, "case": op["case_id"], "instead_of": spec.number})
                return door
            try:
                self.keeper.unlock(choose, purpose, op["case_id"], nonce=op["nonce"], kind="retry",
                                   worker=op["worker"], source=op["source"])
            except Refused as exc:
                with self.ledger.atomic() as db2:
                    self.ledger.record(db2, "no_other_door", "case", op["case_id"] or "?",
                                       {"door": spec.number, "reason": exc.reason})
        return another_door

    def _hold_pickup(self, db: Any, op: dict, spec: DoorSpec, reason: str) -> None:
        self.ledger.set_state(db, DOOR, spec.id, D.CHECK, fields={"reason": reason},
                              detail={"door": spec.number, "case": op["case_id"], "reason": reason})
        db.execute("UPDATE pickup_codes SET state = 'held' WHERE nonce = ? AND state = 'live'", [op["nonce"]])
        self.ledger.record(db, "pickup_held", "case", op["case_id"] or "?",
                           {"door": spec.number, "opening": op["id"], "reason": reason})

    def _next_for_worker(self, op: dict) -> FollowUp | None:
        queue = self._queues.get(op["nonce"] or "")
        if not queue:
            return None
        door_id = queue.pop(0)
        if not queue:
            self._queues.pop(op["nonce"], None)
        code = Code("worker", "", op["nonce"], 0, 0, {"w": op["worker"]})
        return lambda: self._open_for_worker(code, door_id, op["source"])

    # -- the maintainer's and the worker's hands ------------------------------------------
    def door_spec(self, door: Any) -> DoorSpec:
        """A door by its id (BUS/BOARD/DOOR) or its number."""
        text = str(door).strip()
        spec = self.bank.doors.get(text)
        if spec is None and text.isdigit():
            spec = self.bank.by_number.get(int(text))
        if spec is None:
            raise Refused("unknown_door", text)
        return spec

    def set_door_service(self, door: Any, in_service: bool, *, reason: str = "", by: str = "") -> dict[str, Any]:
        """A maintainer takes a door out of service, or puts it back. Back in service
        is refused while a case's paper is recorded in it (move the case first:
        :meth:`move_case`), or while an unlock for it is in flight."""
        spec = self.door_spec(door)
        by, reason = str(by or "maintainer")[:60], str(reason or "")[:200]
        where = {"door": spec.number, "by": by}
        with self.keeper.lock, self.ledger.atomic() as db:
            row = next(db.query("SELECT * FROM doors WHERE id = ?", [spec.id]))
            self._door_idle(spec, db)
            if not in_service:
                if row["use"] == D.OUT_OF_SERVICE:
                    raise Refused("wrong_state", f"door {spec.number} is already out of service")
                self.ledger.set_state(db, DOOR, spec.id, D.OUT_OF_SERVICE, event="door_out_of_service",
                                      fields={"reason": reason or f"taken out by {by}"},
                                      detail={**where, "reason": reason, "case": row["case_id"]})
            else:
                if row["use"] not in (D.OUT_OF_SERVICE, D.CHECK):
                    raise Refused("wrong_state", f"door {spec.number} is {row['use']}, not out of service")
                if spec.out_of_service:
                    raise Refused("wrong_state", f"door {spec.number} is out of service in the configuration")
                holding = list(db.query(  # paper recorded in it: it must not be handed out as free
                    "SELECT id, state FROM cases WHERE door_id = ? AND state IN ('materials_deposited', "
                    "'result_deposited', 'expired')", [spec.id]))
                if holding:
                    raise Refused("door_holds_case", f"door {spec.number} holds case {holding[0]['id']} "
                                                     f"({holding[0]['state']}): move it to another door first")
                self.ledger.set_state(db, DOOR, spec.id, D.FREE, event="door_in_service",
                                      fields={"case_id": None, "reason": ""},
                                      detail={**where, "reason": reason, "was": row["use"], "stale_case": row["case_id"]})
        return {"ok": True, "door": self._door_row(spec)}

    def open_for_maintenance(self, door: Any, *, by: str = "", reason: str = "") -> dict[str, Any]:
        """A maintainer opens a door (to look into it, clear a jam, test a repair): one
        unlock like any other — recorded, never resent, jammed takes it out of service —
        but no case moves when it closes. Refused (``busy``) while an unlock of it is in flight."""
        spec = self.door_spec(door)
        by = str(by or "maintainer")[:60]

        def check(db: Any) -> DoorSpec:
            self._door_idle(spec, db)
            row = next(db.query("SELECT case_id FROM doors WHERE id = ?", [spec.id]))
            self.ledger.record(db, "maintenance_open", "door", spec.id,
                               {"door": spec.number, "by": by, "reason": str(reason or "")[:200],
                                "case": row["case_id"]})
            return spec
        opening, _ = self.keeper.unlock(check, P.MAINTENANCE, None, worker=by, source="maintenance")
        return self._answer(opening, spec)

    def move_case(self, case_id: str, door: Any, *, by: str = "", code: str | None = None,
                  source: str = "kiosk") -> dict[str, Any]:
        """A worker moved a case's paper by hand from a door that cannot open (jammed,
        out of service, or waiting to be checked) into free door ``door``: the case
        now points there, that door holds it, the old one holds nothing. With a worker
        QR ``code`` the worker is the one it names."""
        if code:
            by = self._code(code, source, "worker").worker
        by = str(by or "worker")[:60]
        target = self.door_spec(door)
        with self.keeper.lock, self.ledger.atomic() as db:
            case = self._case(case_id, db)
            if case is None:
                raise Refused("unknown_case", case_id)
            if case["state"] not in (C.MATERIALS_DEPOSITED, C.RESULT_DEPOSITED, C.EXPIRED) or not case["door_id"]:
                raise Refused("wrong_state", f"case is {case['state']}, in no door")
            old = self.bank.doors.get(case["door_id"])
            old_row = next(iter(db.query("SELECT * FROM doors WHERE id = ?", [case["door_id"]])), None)
            if old_row is None or old_row["use"] not in (D.OUT_OF_SERVICE, D.CHECK):
                raise Refused("wrong_state", f"its door is {old_row['use'] if old_row else 'gone'}: "
                                             "a case is moved only off a door out of service or to be checked")
            self._not_busy(case_id, db)
            self._door_idle(target, db)
            row = next(db.query("SELECT use FROM doors WHERE id = ?", [target.id]))
            if row["use"] != D.FREE or target.id == case["door_id"]:
                raise Refused("door_not_free", f"door {target.number} is {row['use']}")
            number = old.number if old else None
            where = {"from": number, "to": target.number, "by": by}
            self.ledger.set_state(db, CASE, case_id, C(case["state"]), event="case_moved",
                                  fields={"door_id": target.id}, detail=where)
            self.ledger.set_state(db, DOOR, target.id, D.OCCUPIED, fields={"case_id": case_id},
                                  detail={**where, "case": case_id})
            self.ledger.set_state(db, DOOR, case["door_id"], D(old_row["use"]), event="door_emptied",
                                  fields={"case_id": None}, detail={**where, "case": case_id})
            # a pickup held on the old door: the result is in hand, a new code opens the new door once
            if case["state"] == C.RESULT_DEPOSITED and list(db.query(
                    "SELECT 1 FROM pickup_codes WHERE case_id = ? AND state = 'held'", [case_id])):
                self._issue_pickup_code(db, case_id, target, case["deadline"] or self.clock(), self.clock())
        return {"ok": True, "case": self._case(case_id), "door": target.number}

    def resolve(self, case_id: str, outcome: str, *, by: str = "", code: str | None = None,
                source: str = "kiosk") -> dict[str, Any]:
        """A worker's decision on a held pickup (its door opened or not while nobody
        watched): ``picked_up`` (the door is empty) or ``still_there`` (the result is
        inside: the resident gets a new code; the old one never opens the door again)."""
        if outcome not in ("picked_up", "still_there"):
            raise Refused("bad_request", "outcome is picked_up or still_there")
        if code:
            by = self._code(code, source, "worker").worker
        by = str(by or "worker")[:60]
        with self.keeper.lock, self.ledger.atomic() as db:
            case = self._case(case_id, db)
            if case is None:
                raise Refused("unknown_case", case_id)
            held = list(db.query("SELECT nonce FROM pickup_codes WHERE case_id = ? AND state = 'held'", [case_id]))
            if case["state"] != C.RESULT_DEPOSITED or not held or not case["door_id"]:
                raise Refused("wrong_state", f"case is {case['state']}, no pickup held")
            self._not_busy(case_id, db)
            spec = self.bank.doors[case["door_id"]]
            where = {"door": spec.number, "by": by, "decision": outcome}
            if outcome == "picked_up":
                self.ledger.set_state(db, CASE, case_id, C.PICKED_UP, fields={"door_id": None, "deadline": None},
                                      detail=where)
                db.execute("UPDATE pickup_codes SET state = 'used' WHERE case_id = ? AND state = 'held'", [case_id])
                self.ledger.set_state(db, DOOR, spec.id, D.FREE, fields={"case_id": None, "reason": ""},
                                      detail=where)
            else:
                self.ledger.record(db, "pickup_not_made", "case", case_id, where)
                self.ledger.set_state(db, DOOR, spec.id, D.OCCUPIED, fields={"reason": ""},
                                      detail={**where, "case": case_id})
                self._issue_pickup_code(db, case_id, spec, case["deadline"] or self.clock(), self.clock())
        return {"ok": True, "case": self._case(case_id)}

    def _door_idle(self, spec: DoorSpec, db: Any) -> None:
        if list(db.query("SELECT 1 FROM openings WHERE door_id = ? AND state IN ('commanded', 'opened')",
                         [spec.id])):
            raise Refused("busy", f"an unlock of door {spec.number} is in flight")

    def _door_row(self, spec: DoorSpec) -> dict[str, Any]:
        row = self.store.query("SELECT * FROM doors WHERE id = ?", [spec.id])[0]
        return {"number": row["number"], "id": row["id"], "use": row["use"], "case": row["case_id"],
                "reason": row["reason"]}

    def sweep(self) -> int:
        """Pickups not made in time: the case is expired, back on the worker's list."""
        now, count = self.clock(), 0
        with self.keeper.lock, self.ledger.atomic() as db:
            for case in list(db.query("SELECT * FROM cases WHERE state = 'result_deposited' AND deadline < ?",
                                      [now])):
                self.ledger.set_state(db, CASE, case["id"], C.EXPIRED, event="pickup_expired",
                                      detail={"worker": case["worker"], "door_id": case["door_id"]})
                db.execute("UPDATE pickup_codes SET state = 'expired' WHERE case_id = ? AND state = 'live'",
                           [case["id"]])
                count += 1
        return count

    # -- helpers -----------------------------------------------------------------------
    def _code(self, text: str, source: str, kind: str) -> Code:
        self._throttled(source)
        try:
            code = codes.check(text, self.keys(), locker_id=self.locker_id,
                               server_key_id=self.settings.server_key_id,
                               worker_max_minutes=self.settings.worker_code_max_minutes, now=self.clock())
        except Refused as exc:
            self._refuse(source, exc)
        if code.kind != kind:
            self._refuse(source, Refused("unreadable", f"a {code.kind} code where a {kind} code was expected"))
        if kind in ("booking", "pickup") and self.store.query("SELECT 1 FROM used_codes WHERE nonce = ?",
                                                              [code.nonce]):
            held = kind == "pickup" and self.store.query(
                "SELECT 1 FROM pickup_codes WHERE nonce = ? AND state = 'held'", [code.nonce])
            self._refuse(source, Refused("pickup_held" if held else "replayed"))
        return code

    def _refuse(self, source: str, exc: Refused, *, short: bool = False) -> None:
        self.throttle.wrong(source, short=short)
        self._refused(source, exc)
        raise exc

    def _throttled(self, source: str, *, short: bool = False) -> None:
        """Refuse while ``source`` backs off; that refusal is audited and shown too
        (it is no wrong try: waiting it out is all a person can do)."""
        try:
            self.throttle.check(source, short=short)
        except Refused as exc:
            self._refused(source, exc)
            raise

    def _refused(self, source: str, exc: Refused) -> None:
        """A refused code: its audit entry (the screen's event) and the screen's last refusal."""
        entry = self.refusals.note(source, exc)
        backing_off = round(self.throttle.backing_off(source), 1)
        with self.ledger.atomic() as db:
            self.ledger.record(db, "code_refused", "source", source,
                               {"reason": exc.reason, "detail": exc.detail, "message": entry["message"],
                                **({"backing_off": backing_off} if backing_off > 0 else {})}, outbox=False)

    @staticmethod
    def _announced_here(db: Any, case_id: str) -> bool:
        """This locker sent the case's ``created`` (a booking QR, a locker without a kiosk);
        not so for a case the kiosk made and announced."""
        return db.execute("SELECT 1 FROM outbox WHERE aggregate_type = ? AND aggregate_id = ? AND event_type = ? "
                          "LIMIT 1", [CASE.name, case_id, C.CREATED.value]).fetchone() is not None

    def _case(self, case_id: str, db: Any = None) -> dict | None:
        sql, args = "SELECT * FROM cases WHERE id = ?", [case_id]
        rows = list(db.query(sql, args)) if db is not None else self.store.query(sql, args)
        return rows[0] if rows else None

    def _not_busy(self, case_id: str, db: Any) -> None:
        if list(db.query("SELECT 1 FROM openings WHERE case_id = ? AND state IN ('commanded', 'opened')",
                         [case_id])):
            raise Refused("busy")

    def _used(self, nonce: str, door_id: str) -> bool:
        return bool(self.store.query("SELECT 1 FROM used_codes WHERE nonce = ? AND door_id = ?", [nonce, door_id]))

    def _free_door(self, size: str, db: Any) -> DoorSpec:
        rows = db.query("SELECT id FROM doors WHERE use = 'free' AND id NOT IN "
                                "(SELECT door_id FROM openings WHERE state IN ('commanded', 'opened'))")
        free = [self.bank.doors[r["id"]] for r in rows if r["id"] in self.bank.doors]
        fits = [d for d in free if SIZE_ORDER[d.size] >= SIZE_ORDER[size] and self.keeper.board_online(d)
                and d.id not in self.keeper.forced]
        if not fits:
            raise Refused("no_free_door", f"size {size}")
        return min(fits, key=lambda d: (SIZE_ORDER[d.size], d.number))

    def _her_doors(self, worker: str, *, offline_too: bool = False) -> list[str]:
        rows = self.store.query(
            "SELECT d.id FROM doors d LEFT JOIN cases c ON c.id = d.case_id "
            "WHERE (d.use = 'occupied' AND c.state IN ('materials_deposited', 'expired') "
            "       AND (c.worker IS NULL OR c.worker = ?)) OR d.use = 'check' ORDER BY d.number", [worker])
        return [r["id"] for r in rows if r["id"] in self.bank.doors
                and (offline_too or self.keeper.board_online(self.bank.doors[r["id"]]))]

    def _answer(self, opening: int, door: DoorSpec) -> dict[str, Any]:
        return {"ok": True, "opening": self.opening(opening), "door": door.number}

    # -- reading -------------------------------------------------------------------------
    def opening(self, opening: int) -> dict[str, Any]:
        rows = self.store.query("SELECT o.*, d.number FROM openings o JOIN doors d ON d.id = o.door_id "
                                "WHERE o.id = ?", [opening])
        if not rows:
            raise Refused("bad_request", f"no opening {opening}")
        row = rows[0]
        return {"id": row["id"], "door": row["number"], "purpose": row["purpose"], "case": row["case_id"],
                "state": row["state"], "reply": row["reply"], "outcome": row["outcome"],
                "commanded_at": row["commanded_at"], "opened_at": row["opened_at"], "closed_at": row["closed_at"],
                "left_open_level": row["left_open_level"], "note": row["note"]}

    def state(self) -> dict[str, Any]:
        # read first: whatever is recorded after it, ``events`` after this seq returns
        seq = self.store.query("SELECT coalesce(max(seq), 0) AS seq FROM audit")[0]["seq"]
        doors = []
        for row in self.store.query("SELECT * FROM doors ORDER BY number"):
            spec = self.bank.doors.get(row["id"])
            seen = self.keeper.seen.get(row["id"])
            online = spec is not None and self.keeper.board_online(spec)
            doors.append({"number": row["number"], "id": row["id"], "size": row["size"], "use": row["use"],
                          "case": row["case_id"], "reason": row["reason"],
                          "seen": "offline" if not online else (str(seen.state) if seen else "unknown")})
        cases = self.store.query("SELECT id, state, size, worker, deadline, "
                                 "(SELECT number FROM doors WHERE id = cases.door_id) AS door FROM cases "
                                 "ORDER BY updated_at")
        boards = [{"bus": bus, "board": board, "online": online} for (bus, board), online in
                  sorted(self.keeper.online.items())]
        return {"ok": True, "locker": self.locker_id, "seq": seq, "doors": doors, "cases": cases, "boards": boards,
                "alerts": self.alerts(), "scanner": self.refusals.screen("scanner")}

    def alerts(self) -> list[dict[str, Any]]:
        """What the screen shows and says now: doors standing open too long (level
        ``prompt``: ask on screen and by voice to shut it; ``worker``: her event is
        out too) and doors forced open. Gone once the door is seen shut."""
        out: list[dict[str, Any]] = []
        levels = {1: "prompt", 2: "worker"}
        rows = self.store.query("SELECT o.id, o.door_id, o.case_id, o.left_open_level FROM openings o "
                                "WHERE o.state IN ('commanded', 'opened') AND o.left_open_level > 0")
        standing = {r["door_id"]: (r["left_open_level"], r["id"], r["case_id"]) for r in rows}
        with self.keeper.lock:
            forced = set(self.keeper.forced)
        for door_id in sorted(set(standing) | forced, key=lambda d: self.bank.doors[d].number
                              if d in self.bank.doors else 0):
            spec, seen = self.bank.doors.get(door_id), self.keeper.seen.get(door_id)
            if spec is None or seen is None or str(seen.state) != "open":
                continue
            n = spec.number
            if door_id in standing:
                level, opening, case = standing[door_id]
                out.append({"door": n, "kind": "door_left_open", "level": levels[level], "opening": opening,
                            "case": case, "message": f"请关好{n}号柜门 · Please close door {n}",
                            "voice": f"请关好{n}号柜门，谢谢"})
                continue
            level = self.keeper.left_open_level(door_id)
            out.append({"door": n, "kind": "forced", "level": levels.get(level, "alarm"), "opening": None,
                        "case": None, "message": f"{n}号柜门未经开锁被打开，已通知工作人员 · Door {n} was opened "
                                                 "without an unlock; staff have been told",
                        "voice": f"请关好{n}号柜门，谢谢"})
        return out
