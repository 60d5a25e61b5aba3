"""The locker daemon's local API: JSON over a Unix socket (``[locker] socket``).

One request per line, one JSON object; one answer per line. A connection may carry
many requests. Every answer has ``ok``; a refusal is ``{"ok": false, "error":
REASON, "message": "中文 · English", "detail"?, "retry_after"?}`` where REASON is one
of :data:`locker.errors.REASONS` (``forged``, ``expired``, ``replayed``,
``other_locker``, ``unknown_key``, ``revoked``, ``too_long``, ``wrong_short_code``,
``pickup_expired``, ``picked_up``, ``pickup_replaced`` (a typed short code that was real:
what became of it), ``backing_off``, ``no_free_door``, ``nothing_to_collect``, ``wrong_state``,
``busy``, ``unreadable``, ``bad_request``, ``bus_unavailable``, ``unknown_door``,
``door_not_free``, ``door_holds_case``, ``door_out_of_service``, ``pickup_held``, ``not_allowed``,
``stopping``) or ``internal``.

Who may ask what (:mod:`locker.callers`): anyone who can open the socket may use
the residents' and workers' ops; ``open``, ``door``, ``move``, ``resolve`` and ``sweep`` are
answered only to root and to ``[locker] admins``, checked with ``SO_PEERCRED``
(``not_allowed`` otherwise, audited as ``maintenance_refused``).

Requests (``op`` names the request; ``source`` optionally names the caller's input
device for rate limiting, default ``kiosk``):

=========================================================  =========================================
request                                                    answer
=========================================================  =========================================
``{"op": "state"}``                                        ``{"ok", "locker", "doors": [{"number",
                                                           "id", "size", "use", "case", "reason",
                                                           "seen"}], "cases": [{"id", "state",
                                                           "size", "worker", "deadline", "door"}],
                                                           "boards": [{"bus", "board", "online"}],
                                                           "alerts": [{"door", "kind"
                                                           (door_left_open, forced), "level"
                                                           (prompt, worker, alarm), "opening",
                                                           "case", "message", "voice"}], "scanner":
                                                           SCANNER}``: what the screen shows and
                                                           says now
``{"op": "scan", "code": TEXT}``                           what the scanner would do with TEXT:
                                                           booking QR → drop-off, pickup QR or 8
                                                           digits → pickup, worker QR → collect
``{"op": "dropoff", "case": ID, "size": "S|M|L",           ``{"ok", "door": N, "opening": OPENING}``
"worker"?: ID, "item"?: TEXT, "resident"?: NAME,           (a case made at this kiosk). ``announced``
"announced"?: BOOL}``                                      (default: true when ``source`` is
                                                           ``kiosk``, as the kiosk's requests say):
                                                           the caller sent the case's ``created``
                                                           and prints its receipt, so the locker
                                                           sends no ``created`` and prints none
``{"op": "dropoff", "code": BOOKING_QR}``                  the same, for a case booked on a phone
``{"op": "pickup", "code": QR_OR_8_DIGITS}``               ``{"ok", "door", "opening"}``
``{"op": "collect", "code": WORKER_QR, "door"?: N}``       ``{"ok", "door", "opening", "queued":
                                                           [N…]}``: her doors open one after
                                                           another as each closes, or just door N
``{"op": "return", "code": WORKER_QR, "case": ID,          ``{"ok", "door", "opening"}``; the pickup
"size": "S|M|L"}``                                         code is issued when the door closes
``{"op": "open", "door": N_OR_ID, "by"?: NAME,              ``{"ok", "door", "opening"}``: a maintainer
"reason"?: TEXT}``                                         opens a door (no case moves when it closes)
``{"op": "door", "door": N_OR_ID, "use":                   ``{"ok", "door": {"number", "id", "use",
"in_service|out_of_service", "reason"?: TEXT,              "case", "reason"}}``: a maintainer takes a
"by"?: NAME}``                                             door out of service or puts it back (free);
                                                           refused (``door_holds_case``) while a
                                                           case's paper is recorded in it, ``busy``
                                                           while an unlock of it is in flight
``{"op": "move", "case": ID, "door": N_OR_ID,              ``{"ok", "case", "door": N}``: the worker
"code"?: WORKER_QR, "by"?: NAME}``                         moved the case's paper by hand off a door
                                                           out of service or to be checked into free
                                                           door N (a held pickup gets a new code)
``{"op": "resolve", "case": ID, "outcome":                 ``{"ok", "case"}``: the worker's decision
"picked_up|still_there", "code"?, "by"?}``                 on a held pickup (its door may have opened
                                                           while nobody watched): the door is empty,
                                                           or the result is inside and the resident
                                                           gets a new code (the old one stays spent)
``{"op": "opening", "id": N}``                             ``{"ok", "opening": OPENING}``
``{"op": "events", "after": SEQ, "timeout": S}``           ``{"ok", "events": [{"seq", "at", "event",
                                                           "subject", "detail"}], "alerts": [...],
                                                           "scanner": SCANNER}``: audit entries
                                                           after SEQ, waiting up to S seconds (≤ 30)
                                                           for one (door_left_open, forced, jammed,
                                                           code_refused…), with the alerts and the
                                                           scanner as ``state`` has them now
``{"op": "sweep"}``                                        ``{"ok", "expired": N}``: expire overdue
                                                           pickups now (it also runs every minute)
=========================================================  =========================================

OPENING is ``{"id", "door", "purpose" (dropoff, collect, return, pickup, maintenance),
"case", "state" (commanded, opened, closed, jammed, not_opened, closed_in_flight),
"reply" (what the unlock's reply showed: open, closed, null), "outcome" (opened,
unknown), "commanded_at", "opened_at", "closed_at", "left_open_level" (0, 1 prompt,
2 worker told), "note"}``. SCANNER is what the screen beside the locker's own scanner
shows: ``{"refusal": null | {"at" (unix time), "source", "reason" (a REASON),
"zh", "en", "message" ("中文 · English")}, "backing_off": SECONDS (0: it may
scan)}``; a refusal shows for 30 s, or while the scanner backs off, and a code
accepted clears it (:mod:`locker.refusals`). The same table, with examples, is in
README.md.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any

from appliance import jsonline
from appliance.journal import log_context
from locker import audit
from locker.callers import MAINTENANCE_OPS, Caller, may_maintain
from locker.errors import Refused
from locker.flows import Locker

log = logging.getLogger("locker.api")
MAX_LINE = 64 * 1024


class Api:
    """Dispatches requests to the :class:`Locker`; waits for events."""

    def __init__(self, locker: Locker, admins: list[str] | tuple[str, ...] = ()) -> None:
        self.locker = locker
        self.admins = tuple(admins)
        self._changed = threading.Condition()
        self.closing = False
        locker.ledger.listeners.append(self._notify)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def close(self) -> None:
        """The daemon is stopping: requests are refused and waiting ``events`` return now."""
        with self._changed:
            self.closing = True
            self._changed.notify_all()

    def handle(self, request: Any, caller: Caller | None = None) -> dict[str, Any]:
        """``caller``: who is on the other end of the socket (None: this process)."""
        # every line logged while answering carries the case and the door the request
        # names (journalctl KIOSK_CASE=…); never its code, a bearer token
        named = request if isinstance(request, dict) else {}
        with log_context(case=_named(named.get("case")), door=_named(named.get("door"))):
            return self._answer(request, caller)

    def _answer(self, request: Any, caller: Caller | None) -> dict[str, Any]:
        try:
            if self.closing:
                raise Refused("stopping")
            if not isinstance(request, dict) or not isinstance(request.get("op"), str):
                raise Refused("bad_request", 'a request is a JSON object with "op"')
            handler = getattr(self, "op_" + request["op"], None)
            if handler is None:
                raise Refused("bad_request", f"unknown op {request['op']!r}")
            if request["op"] in MAINTENANCE_OPS and not may_maintain(caller, self.admins):
                self._refuse_maintenance(request["op"], caller)
            return handler(request)
        except Refused as exc:
            return exc.as_dict()
        except (KeyError, TypeError, ValueError) as exc:
            return Refused("bad_request", f"{type(exc).__name__}: {exc}").as_dict()
        except Exception as exc:  # the daemon keeps serving; the caller learns something broke
            log.exception("request %r failed", request.get("op") if isinstance(request, dict) else request)
            return {"ok": False, "error": "internal", "message": f"内部错误 · Internal error: {type(exc).__name__}"}

    def _refuse_maintenance(self, op: str, caller: Caller | None) -> None:
        who = caller.describe() if caller else "?"
        with self.locker.ledger.atomic() as db:
            self.locker.ledger.record(db, "maintenance_refused", "caller", str(caller.uid if caller else "?"),
                                      {"op": op, "caller": who}, outbox=False)
        raise Refused("not_allowed", f"{op} asked by {who}")

    @staticmethod
    def _source(request: dict) -> str:
        return str(request.get("source") or "kiosk")[:40]

    def op_state(self, request: dict) -> dict:
        return self.locker.state()

    def op_scan(self, request: dict) -> dict:
        return self.locker.scan(str(request["code"]), self._source(request))

    def op_dropoff(self, request: dict) -> dict:
        if "code" in request:  # a booking QR scanned at the kiosk
            return self.locker.dropoff_booking(str(request["code"]), self._source(request))
        announced = request.get("announced", request.get("source") == "kiosk")
        if not isinstance(announced, bool):
            raise Refused("bad_request", "announced is true or false")
        return self.locker.dropoff(str(request["case"]), str(request.get("size", "M")),
                                   worker=request.get("worker"), item=str(request.get("item", "")),
                                   resident=str(request.get("resident", "")), source=self._source(request),
                                   announced=announced)

    def op_pickup(self, request: dict) -> dict:
        return self.locker.pickup(str(request["code"]), self._source(request))

    def op_collect(self, request: dict) -> dict:
        door = request.get("door")
        return self.locker.collect(str(request["code"]), None if door is None else int(door), self._source(request))

    def op_return(self, request: dict) -> dict:
        return self.locker.return_result(str(request["code"]), str(request["case"]), str(request.get("size", "M")),
                                         self._source(request))

    def op_open(self, request: dict) -> dict:
        return self.locker.open_for_maintenance(request["door"], by=str(request.get("by", "")),
                                                reason=str(request.get("reason", "")))

    def op_door(self, request: dict) -> dict:
        use = request.get("use")
        if use not in ("in_service", "out_of_service"):
            raise Refused("bad_request", 'use is "in_service" or "out_of_service"')
        return self.locker.set_door_service(request["door"], use == "in_service", reason=str(request.get("reason", "")),
                                            by=str(request.get("by", "")))

    def op_move(self, request: dict) -> dict:
        return self.locker.move_case(str(request["case"]), request["door"], by=str(request.get("by", "")),
                                     code=request.get("code"), source=self._source(request))

    def op_resolve(self, request: dict) -> dict:
        return self.locker.resolve(str(request["case"]), str(request.get("outcome", "")),
                                   by=str(request.get("by", "")), code=request.get("code"),
                                   source=self._source(request))

    def op_opening(self, request: dict) -> dict:
        return {"ok": True, "opening": self.locker.opening(int(request["id"]))}

    def op_sweep(self, request: dict) -> dict:
        return {"ok": True, "expired": self.locker.sweep()}

    def op_events(self, request: dict) -> dict:
        after = int(request.get("after", 0))
        timeout = min(30.0, max(0.0, float(request.get("timeout", 0))))
        with self._changed:
            events = self._events(after)
            if not events and timeout:
                self._changed.wait_for(lambda: self.closing or bool(self._events(after, peek=True)), timeout)
                if self.closing:
                    raise Refused("stopping")
                events = self._events(after)
        # what a screen shows now rides along: it need not ask ``state`` to redraw its alerts
        return {"ok": True, "events": events, "alerts": self.locker.alerts(),
                "scanner": self.locker.refusals.screen("scanner")}

    def _events(self, after: int, *, peek: bool = False) -> list[dict]:
        with self.locker.store.reader() as db:
            if peek:
                return list(db.query("SELECT seq FROM audit WHERE seq > ? LIMIT 1", [after]))
            return list(audit.iter_since(db, after))


def _named(value: Any) -> str | int | None:
    """A case or door as a request names it, for the log's fields (a number or short text)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return value if isinstance(value, int) else value[:64] or None


class _Handler(socketserver.StreamRequestHandler):
    server: "ApiServer"

    def handle(self) -> None:
        try:
            caller: Caller | None = Caller.of(self.connection)
        except OSError:  # not a Unix socket of this kernel: nobody is trusted with maintenance
            caller = Caller(0, -1, -1)
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if not line:
                return
            try:
                request = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                answer = Refused("bad_request", "not one JSON object per line").as_dict()
            else:
                answer = self.server.api.handle(request, caller)
            try:
                self.wfile.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return


class ApiServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """One thread per connection. :meth:`stop` ends them all and joins them: the
    daemon closes its store only once no request can touch it any more."""
    daemon_threads = False
    block_on_close = True  # server_close() joins every connection's thread

    def __init__(self, path: str | Path, api: Api) -> None:
        self.api = api
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()  # a socket left by a killed daemon; the store's writer lock says we own this locker
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o660)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._live_lock:
            self._live.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._live_lock:
            self._live.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        """Accept nothing more; end every connection after the request it is serving
        (its reading side is shut: the handler reads EOF, its answer still goes out);
        join their threads. Call :meth:`Api.close` first so waiting ``events`` return."""
        self.shutdown()
        with self._live_lock:
            live = list(self._live)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # already gone
        self.server_close()


def request(path: str | Path, message: dict[str, Any], *, timeout: float = 40.0) -> dict[str, Any]:
    """Send one request to the daemon at ``path``; its answer."""
    return jsonline.request(path, message, timeout=timeout, peer="the locker daemon")
