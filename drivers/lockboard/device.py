"""The lock-board bus: the class the locker daemon (and the CLI) calls.

Owns the rules of the road of shared/protocols/lockboard.md on top of
:class:`drivers.link.SerialLink` (which serialises transactions, keeps the ~5 ms
gap, traces frames and reports a vanished port), as extended by
:mod:`drivers.lockboard.buslink`:

* every reply is decoded and checked against the address (and door) asked;
  anything else is skipped, never acted on;
* an unlock is sent exactly once: no reply, or a reply not showing the door open,
  is :attr:`Outcome.UNKNOWN` with what was commanded and what was observed kept
  apart; status queries, being safe, are retried;
* a board that does not answer is offline, never "closed";
* unlocks overtake polling (:mod:`drivers.lockboard.turns`).
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Callable, Iterable

from drivers.errors import DeviceGone, PortUnavailable
from drivers.lockboard.buslink import Exchange, ReplyLink
from drivers.lockboard.codec import AddressReply, DoorReply, Family, Reply, SwitchReply
from drivers.lockboard.codec import family as family_named
from drivers.lockboard.errors import LockboardConfigError, LockboardFrameError, LockBusGone, LockBusUnavailable
from drivers.lockboard.status import (BoardStatus, DoorState, DoorStatus, door_state, offline_board, read_board,
                                      read_door)
from drivers.lockboard.turns import BusTurns

log = logging.getLogger("drivers.lockboard")

_SHOWS_OPEN = "the reply shows the door open"
_SHOWS_CLOSED = "the reply shows the door still closed (jammed, blocked, or already pushed shut)"


@dataclass(frozen=True)
class BoardSpec:
    """One board on a bus, as configured (``[[lockboard.board]]``)."""

    address: int  # DIP-switch address as printed: kerong 0–15, bcc 1–64
    doors: int  # doors wired to it, numbered 1… as on the labels
    sensor_inverted: bool = False  # the door switch reads the other way round
    item_sensors: bool = False  # the board reports item (infrared) sensors
    status_bytes: int = 4  # bcc: length of the "query all" reply (3, 4 or 6 by model)

    def checked(self, fam: Family) -> "BoardSpec":
        """This spec, or :class:`LockboardConfigError` saying why it cannot work on ``fam``."""
        fam.check_board(self.address)
        where = f"{fam.name} board {self.address}"
        if not isinstance(self.doors, int) or not 1 <= self.doors <= fam.doors[-1]:
            raise LockboardConfigError(f"{where}: doors = {self.doors!r}",
                                       hint=f"{fam.name} boards drive 1–{fam.doors[-1]} doors")
        if self.item_sensors and not fam.item_sensors:
            raise LockboardConfigError(f"{where}: item_sensors = true, but {fam.name} frames carry no item sensors",
                                       hint="set item_sensors = false for this board")
        if fam.name == "bcc":
            if self.status_bytes not in (3, 4, 6):
                raise LockboardConfigError(f"{where}: status_bytes = {self.status_bytes!r}",
                                           hint="known board models reply with 3, 4 or 6 status bytes")
            if self.doors > 8 * self.status_bytes:
                raise LockboardConfigError(
                    f"{where}: {self.doors} doors, but status_bytes = {self.status_bytes} reports "
                    f"{8 * self.status_bytes} channels", hint="a 48-door board has status_bytes = 6; check the model")
        return self


class Outcome(StrEnum):
    OPENED = "opened"  # a reply, or a status query after it, showed the door open
    UNKNOWN = "unknown"  # no such evidence: query status before acting on it; never resend blindly


@dataclass(frozen=True)
class UnlockResult:
    """What one unlock asked for and what was seen, kept apart for the audit log."""

    board: int
    door: int
    outcome: Outcome
    commanded_at: float  # wall clock when the unlock frame went out
    observed: DoorState | None  # what the unlock's own reply showed; None: no valid reply
    replied_at: float | None = None
    verified: DoorStatus | None = None  # a status query after it (unlock(..., verify=True))
    reason: str = ""
    garbage: int = 0  # bytes that arrived but failed validation
    commanded: str = "open"

    @property
    def opened(self) -> bool:
        return self.outcome is Outcome.OPENED

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(outcome=str(self.outcome), observed=None if self.observed is None else str(self.observed),
                    verified=None if self.verified is None else self.verified.as_dict())
        return data


@dataclass(frozen=True)
class ScanResult:
    """Which addresses answered one family at one baud rate."""

    protocol: str
    baudrate: int
    found: tuple[int, ...]
    garbage: int = 0  # bytes that arrived but were no valid reply (wrong baud? collisions?)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "found": list(self.found)}


# Enum members as plain names: on the unlock path, where every microsecond counts
# (attribute access on an Enum class is slow in Python 3.11).
_OPEN = DoorState.OPEN
_OPENED, _UNKNOWN = Outcome.OPENED, Outcome.UNKNOWN


class _Wanted:
    """Accepts the reply of one board (and door), keeping it decoded for the caller."""

    __slots__ = ("bus", "kind", "board", "door", "frame", "reply")

    def __init__(self, bus: "LockBus", kind: type, board: int, door: int | None) -> None:
        self.bus, self.kind, self.board, self.door = bus, kind, board, door
        self.frame: bytes | None = None
        self.reply: Reply | None = None

    def __call__(self, frame: bytes) -> bool:
        try:
            reply = self.bus.family.decode_reply(frame)
        except LockboardFrameError as exc:
            log.debug("%s: ignored frame: %s", self.bus.name, exc)
            return False
        if (isinstance(reply, self.kind) and reply.board == self.board
                and (not isinstance(reply, DoorReply) or reply.door == self.door)):
            self.frame, self.reply = frame, reply
            return True
        return False


class LockBus:
    """The boards on one RS-485 bus, all speaking ``protocol`` ("kerong" or "bcc").

    ``timeout`` is how long to wait for one reply (seconds); ``retries`` how many
    more times a status query (never an unlock) is sent when none comes.
    """

    def __init__(self, url: str, protocol: str | Family, boards: Iterable[BoardSpec] = (),
                 baudrate: int | None = None, timeout: float = 0.15, *, retries: int = 2,
                 unlock_timeout: float | None = None, silence: float = 0.025, gap: float = 0.005,
                 name: str = "bus") -> None:
        self.family = family_named(protocol)
        self.url = url
        self.name = name
        self.baudrate = baudrate or self.family.baudrate
        self.timeout = timeout
        self.unlock_timeout = unlock_timeout or timeout
        self.retries = max(0, retries)
        self.silence = silence
        self._boards: dict[int, BoardSpec] = {}
        for spec in boards:
            if spec.address in self._boards:
                raise LockboardConfigError(f"two boards on bus {name} share address {spec.address}",
                                           hint="every board on a bus needs its own DIP-switch address")
            self._boards[spec.address] = spec.checked(self.family)
        self._link = ReplyLink(url, self.family, name=f"lockboard {name}", baudrate=self.baudrate, gap=gap)
        self._turns = BusTurns()
        self._unlock_reply = DoorReply if self.family.command("status").door else SwitchReply
        self._commanded: dict[int, dict[int, float]] = {}  # board -> door -> last unlock sent
        self.garbage = 0  # bytes that failed validation since start, for doctor

    # -- configuration and lifetime ----------------------------------------------------
    @property
    def boards(self) -> tuple[BoardSpec, ...]:
        return tuple(self._boards.values())

    @property
    def port(self) -> str:
        return self._link.port_name

    def spec(self, board: int) -> BoardSpec:
        try:
            return self._boards[board]
        except (KeyError, TypeError):
            raise LockboardConfigError(f"board {board!r} is not configured on lock bus {self.name}",
                                       hint=f"configured: {', '.join(map(str, self._boards)) or 'none'}; "
                                            "add a [[lockboard.board]] entry") from None

    def _door(self, spec: BoardSpec, door: int) -> int:
        if not isinstance(door, int) or not 1 <= door <= spec.doors:
            raise LockboardConfigError(f"board {spec.address} has no door {door!r}",
                                       hint=f"its doors are 1–{spec.doors}, as on the door labels")
        return door

    def open(self) -> "LockBus":
        try:
            self._link.open()
        except PortUnavailable as exc:
            raise self._unavailable(exc) from exc
        return self

    def close(self) -> None:
        self._link.close()

    def __enter__(self) -> "LockBus":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LockBus {self.name} {self.family.name} {self.url} boards={list(self._boards)}>"

    # -- unlock: once, first, and never guessed ----------------------------------------
    def unlock(self, board: int, door: int, *, verify: bool = False) -> UnlockResult:
        """Send one unlock and report what was seen. Never resent: when the outcome
        is ``unknown``, query status (``verify=True`` does it once, right away)."""
        spec = self.spec(board)
        self._door(spec, door)
        request = self.family.encode("unlock", board, door)
        wanted = _Wanted(self, self._unlock_reply, board, door)
        with self._turns.turn(urgent=True):
            ex = self._exchange(request, wanted, timeout=self.unlock_timeout)
            self._commanded.setdefault(board, {})[door] = ex.sent_at
        reply = self._pick(ex.frames, wanted)
        observed = replied_at = verified = None
        if reply is not None:
            replied_at = time.time()
            observed = door_state(self.family, reply, door, inverted=spec.sensor_inverted)
            reason = _SHOWS_OPEN if observed is _OPEN else _SHOWS_CLOSED
        else:
            reason = self._no_reply(ex, board, self.unlock_timeout)
        if observed is not _OPEN:
            if verify and ex.gone is None:
                verified = self._door_status(spec, door, urgent=True)
                reason += f"; a status query then showed it {verified.state}"
            else:
                reason += "; query status before acting on it"
        opened = observed is _OPEN or (verified is not None and verified.state is _OPEN)
        result = UnlockResult(board, door, _OPENED if opened else _UNKNOWN, ex.sent_at, observed, replied_at,
                              verified, reason, ex.garbage)
        if opened:
            log.info("%s: unlock board %d door %d: opened (%s)", self.name, board, door, reason)
        else:
            log.warning("%s: unlock board %d door %d: UNKNOWN (%s)", self.name, board, door, reason)
        return result

    # -- status: safe to repeat ----------------------------------------------------------
    def door_status(self, board: int, door: int) -> DoorStatus:
        """One door's state; :attr:`DoorState.OFFLINE` when its board does not answer."""
        spec = self.spec(board)
        return self._door_status(spec, self._door(spec, door))

    def board_status(self, board: int) -> BoardStatus:
        """Every door of one board; ``online`` false (and ``reason``) when it does not answer."""
        return self._board_status(self.spec(board))

    def status_all(self) -> dict[int, BoardStatus]:
        """Every configured board. Kerong asks all at once (replies collected until the
        line falls silent) and then asks the missing boards one by one."""
        result: dict[int, BoardStatus] = {}
        if self.family.name == "kerong" and self._boards:
            with self._turns.turn():
                ex = self._exchange(self.family.encode("status_all"), None, timeout=self.timeout, collect=True)
            if ex.gone is not None:
                raise ex.gone
            now = time.time()
            for reply in filter(None, map(self._decoded, ex.frames)):
                spec = self._boards.get(reply.board) if isinstance(reply, SwitchReply) else None
                if spec is not None and spec.address not in result:
                    result[spec.address] = self._read_board(spec, reply, now)
        for address, spec in self._boards.items():
            if address not in result:
                result[address] = self._board_status(spec)
        return dict(sorted(result.items()))

    def scan(self, addresses: Iterable[int] | None = None, *, broadcast: bool = True,
             probe_timeout: float | None = None) -> ScanResult:
        """Which addresses answer: the family's broadcast (kerong "status of every
        board", bcc "find the only board"), then one probe per address in
        ``addresses`` not yet found (default: every address the family has)."""
        probes = list(self.family.boards if addresses is None else addresses)
        for address in probes:
            self.family.check_board(address)
        found: set[int] = set()
        garbage = 0
        timeout = probe_timeout or self.timeout
        if broadcast:
            cmd = self.family.command(self.family.broadcast)
            with self._turns.turn():
                ex = self._exchange(self.family.encode(cmd.name), None, timeout=timeout, collect=True)
            if ex.gone is not None:
                raise ex.gone
            garbage += ex.garbage
            for reply in filter(None, map(self._decoded, ex.frames)):
                if isinstance(reply, (SwitchReply, AddressReply)):
                    found.add(reply.board)
        door = 1 if self.family.command("status").door else None
        for address in probes:
            if address in found:
                continue
            wanted = _Wanted(self, SwitchReply if door is None else DoorReply, address, door)
            with self._turns.turn():
                ex = self._exchange(self.family.encode("status", address, door), wanted, timeout=timeout)
            if ex.gone is not None:
                raise ex.gone
            garbage += ex.garbage
            if self._pick(ex.frames, wanted) is not None:
                found.add(address)
        return ScanResult(self.family.name, self.baudrate, tuple(sorted(found)), garbage)

    # -- internals -----------------------------------------------------------------------
    def _door_status(self, spec: BoardSpec, door: int, *, urgent: bool = False) -> DoorStatus:
        if self.family.command("status").door:  # bcc: ask the one door
            reply, reason = self._query(spec, "status", door, urgent=urgent)
            if reply is None:
                return offline_board(spec.address, spec.doors, at=time.time(), reason=reason).door(door)
            return self._read_door(spec, reply, door, time.time())
        return self._board_status(spec, urgent=urgent).door(door)

    def _board_status(self, spec: BoardSpec, *, urgent: bool = False) -> BoardStatus:
        command = "status" if self.family.name == "kerong" else "status_board"
        reply, reason = self._query(spec, command, urgent=urgent)
        if reply is None:
            log.warning("%s: board %d offline: %s", self.name, spec.address, reason)
            return offline_board(spec.address, spec.doors, at=time.time(), reason=reason)
        return self._read_board(spec, reply, time.time())

    def _query(self, spec: BoardSpec, command: str, door: int | None = None, *,
               urgent: bool = False) -> tuple[Reply | None, str]:
        """A safe query, sent up to 1 + retries times; each try is its own turn so an
        unlock can get in between."""
        request = self.family.encode(command, spec.address, door)
        length = self.family.board_reply_length(spec.status_bytes) if command == "status_board" else 0
        wanted = _Wanted(self, DoorReply if door is not None else SwitchReply, spec.address, door)
        last: Exchange | None = None
        for _ in range(1 + self.retries):
            with self._turns.turn(urgent=urgent):
                last = self._exchange(request, wanted, timeout=self.timeout, board_reply_length=length)
            if last.gone is not None:
                raise last.gone
            reply = self._pick(last.frames, wanted)
            if reply is not None:
                return reply, ""
        assert last is not None
        return None, self._no_reply(last, spec.address, self.timeout, tries=1 + self.retries)

    def _exchange(self, request: bytes, accept: Callable[[bytes], bool] | None, *, timeout: float,
                  board_reply_length: int = 0, collect: bool = False) -> Exchange:
        """One transaction: read until the wanted frame or, with ``collect``, until
        the line falls silent; translate the link's errors into this package's."""
        try:
            ex = self._link.exchange(request, timeout=timeout, until=None if collect else accept,
                                     silence=self.silence if collect else None,
                                     expect=board_reply_length or self.family.reply_length,
                                     board_reply_length=board_reply_length)
        except PortUnavailable as exc:
            raise self._unavailable(exc) from exc
        except DeviceGone as exc:
            raise self._gone(exc) from exc
        if ex.gone is not None:
            ex.gone = self._gone(ex.gone)
        self.garbage += ex.garbage
        return ex

    def _decoded(self, frame: bytes) -> Reply | None:
        try:
            return self.family.decode_reply(frame)
        except LockboardFrameError as exc:
            log.debug("%s: ignored frame: %s", self.name, exc)
            return None

    def _pick(self, frames: list[bytes], accept: _Wanted) -> Reply | None:
        """The reply ``accept`` took (the link stops at it, so it is the last frame)."""
        if frames and frames[-1] is accept.frame:
            return accept.reply
        for frame in reversed(frames):
            if accept(frame):
                return accept.reply
        return None

    def _read_board(self, spec: BoardSpec, reply: SwitchReply, at: float) -> BoardStatus:
        return read_board(self.family, reply, doors=spec.doors, inverted=spec.sensor_inverted,
                          item_sensors=spec.item_sensors, at=at, commanded=self._commanded.get(spec.address))

    def _read_door(self, spec: BoardSpec, reply: Reply, door: int, at: float) -> DoorStatus:
        assert isinstance(reply, (DoorReply, SwitchReply))
        return read_door(self.family, reply, door, inverted=spec.sensor_inverted, item_sensors=spec.item_sensors,
                         at=at, commanded_at=self._commanded.get(spec.address, {}).get(door))

    def _no_reply(self, ex: Exchange, board: int, timeout: float, *, tries: int = 1) -> str:
        if ex.gone is not None:
            return f"the port vanished after the request was sent ({ex.gone.message})"
        within = f"within {timeout * 1000:.0f} ms" + (f", {tries} tries" if tries > 1 else "")
        if ex.garbage:
            return (f"no valid reply from board {board} {within}: {ex.garbage} bytes failed validation "
                    f"(noise, wrong baud rate, or the other protocol)")
        others = [r.board for r in filter(None, map(self._decoded, ex.frames)) if hasattr(r, "board")]
        if others:
            return f"no reply from board {board} {within} (boards {sorted(set(others))} answered instead)"
        return f"no reply from board {board} {within}"

    def _unavailable(self, exc: PortUnavailable) -> LockBusUnavailable:
        return LockBusUnavailable(exc.message, hint=exc.hint, port=exc.port or self.url)

    def _gone(self, exc: DeviceGone) -> LockBusGone:
        return LockBusGone(exc.message, hint=exc.hint, port=exc.port)
