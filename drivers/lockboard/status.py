"""Door and board states: what a decoded reply means under a board's configuration.

Owns the typed results callers see (:class:`DoorStatus`, :class:`BoardStatus`) and
the pure functions between them and the wire's bits, both ways: ``read_*`` for the
driver, ``*_bits``/``status_byte`` for the simulator. Polarity lives only here:
kerong reports a *set* switch bit for a closed door, bcc for an open one, and a
board with ``sensor_inverted`` reports the opposite of its family's default.

An offline board's doors are :attr:`DoorState.OFFLINE`, never "closed".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Mapping, Sequence

from drivers.lockboard.codec import BCC_CLEAR, BCC_SET, DoorReply, Family, SwitchReply
from drivers.lockboard.errors import LockboardFrameError


class DoorState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    OFFLINE = "offline"  # the board did not answer: the door's state is not known


@dataclass(frozen=True, slots=True)
class DoorStatus:
    board: int  # as printed on the board
    door: int  # as on the door label
    state: DoorState
    item: bool | None = None  # something inside; None: no item sensor, or not known
    at: float = 0.0  # wall-clock time of the observation (time.time())
    commanded_at: float | None = None  # when this bus last sent an unlock for this door

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": str(self.state)}


@dataclass(frozen=True, slots=True)
class BoardStatus:
    board: int
    online: bool
    doors: tuple[DoorStatus, ...] = ()
    at: float = 0.0
    reason: str = ""  # why the board counts as offline (no reply, replies failed validation…)

    def door(self, number: int) -> DoorStatus:
        for status in self.doors:
            if status.door == number:
                return status
        raise KeyError(f"board {self.board} has no door {number}")

    @property
    def open_doors(self) -> list[int]:
        return [d.door for d in self.doors if d.state is DoorState.OPEN]

    @property
    def occupied_doors(self) -> list[int]:
        return [d.door for d in self.doors if d.item]

    def as_dict(self) -> dict[str, Any]:
        return {"board": self.board, "online": self.online, "at": self.at, "reason": self.reason,
                "open_doors": self.open_doors, "doors": [d.as_dict() for d in self.doors]}


_OPEN, _CLOSED = DoorState.OPEN, DoorState.CLOSED  # Enum attribute access is slow in 3.11


def _open(bit_set: bool, family: Family, inverted: bool) -> DoorState:
    return _OPEN if (bit_set == family.set_bit_open) != inverted else _CLOSED


def read_board(family: Family, reply: SwitchReply, *, doors: int, inverted: bool = False,
               item_sensors: bool = False, at: float = 0.0,
               commanded: Mapping[int, float] | None = None) -> BoardStatus:
    """A whole-board reply as the states of doors 1…``doors``; ``commanded`` maps
    door numbers to when an unlock was last sent for them."""
    if doors > reply.width:
        raise LockboardFrameError(f"board {reply.board} reported {reply.width} doors, {doors} are configured")
    items = reply.items if item_sensors else None
    sent = commanded or {}
    states = tuple(
        DoorStatus(reply.board, n, _open(bool(reply.switches >> (n - 1) & 1), family, inverted),
                   None if items is None else bool(items >> (n - 1) & 1), at, sent.get(n))
        for n in range(1, doors + 1))
    return BoardStatus(reply.board, True, states, at)


def door_state(family: Family, reply: DoorReply | SwitchReply, door: int, *, inverted: bool = False) -> DoorState:
    """Whether ``door`` is open, from a one-door or a whole-board reply."""
    if isinstance(reply, DoorReply):
        if reply.status not in (BCC_SET, BCC_CLEAR) or reply.door != door:
            raise LockboardFrameError(f"reply {reply!r} does not tell the state of door {door}")
        return _open(reply.status == BCC_SET, family, inverted)
    if not 1 <= door <= reply.width:
        raise LockboardFrameError(f"board {reply.board} reported {reply.width} doors, not door {door}")
    return _open(bool(reply.switches >> (door - 1) & 1), family, inverted)


def read_door(family: Family, reply: DoorReply | SwitchReply, door: int, *, inverted: bool = False,
              item_sensors: bool = False, at: float = 0.0, commanded_at: float | None = None) -> DoorStatus:
    """One door's status from a one-door or a whole-board reply."""
    state = door_state(family, reply, door, inverted=inverted)
    items = reply.items if item_sensors and isinstance(reply, SwitchReply) else None
    item = None if items is None else bool(items >> (door - 1) & 1)
    return DoorStatus(reply.board, door, state, item, at, commanded_at)


def offline_board(board: int, doors: int, *, at: float = 0.0, reason: str = "") -> BoardStatus:
    return BoardStatus(board, False, tuple(DoorStatus(board, n, DoorState.OFFLINE, None, at)
                                           for n in range(1, doors + 1)), at, reason)


# -- the other way round, for the simulator and round-trip tests ---------------------
def switch_bits(family: Family, opened: Sequence[bool], width: int, *, inverted: bool = False) -> int:
    """The switch bitmap of a board whose doors 1… are ``opened``; channels with no
    door read as closed, as real boards report unwired channels."""
    bits = 0
    for n in range(width):
        is_open = n < len(opened) and opened[n]
        if (is_open != inverted) == family.set_bit_open:
            bits |= 1 << n
    return bits


def item_bits(present: Sequence[bool]) -> int:
    return sum(1 << n for n, here in enumerate(present) if here)


def status_byte(is_open: bool, *, inverted: bool = False) -> int:
    """The bcc one-door status byte for a door that is (or is not) open."""
    return BCC_SET if is_open != inverted else BCC_CLEAR
