"""The locker bank as configured: its doors (where each is wired, its size, its
bank-wide number) and the lock buses that drive them.

Doors are numbered 1… across the bank in configuration order (bus, board, door),
the number a person sees on the door. Sizes come from ``[[lockboard.board]]
sizes``; doors not listed there are M.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from appliance.config import Config
    from drivers.lockboard.device import LockBus

SIZE_ORDER = {"S": 0, "M": 1, "L": 2}


@dataclass(frozen=True)
class DoorSpec:
    id: str  # BUS/BOARD/DOOR
    number: int
    bus: str
    board: int
    door: int
    size: str
    out_of_service: bool = False
    item_sensor: bool = False


def door_id(bus: str, board: int, door: int) -> str:
    return f"{bus}/{board}/{door}"


def doors_of(config: "Config") -> list[DoorSpec]:
    specs: list[DoorSpec] = []
    for bus in config.lockboard:
        for board in bus.board:
            for n in range(1, board.doors + 1):
                size = "S" if n in board.sizes.S else "L" if n in board.sizes.L else "M"
                specs.append(DoorSpec(door_id(bus.name, board.address, n), len(specs) + 1, bus.name,
                                      board.address, n, size, n in board.out_of_service, board.item_sensors))
    return specs


class Bank:
    """Doors by id and number, and the bus each is on."""

    def __init__(self, doors: Iterable[DoorSpec], buses: Iterable["LockBus"]) -> None:
        self.doors = {d.id: d for d in doors}
        self.by_number = {d.number: d for d in self.doors.values()}
        self.buses = {bus.name: bus for bus in buses}

    @classmethod
    def from_config(cls, config: "Config") -> "Bank":
        from drivers.doctor import lock_buses

        return cls(doors_of(config), lock_buses(config))

    def bus_of(self, door: DoorSpec) -> "LockBus":
        return self.buses[door.bus]

    def close(self) -> None:
        for bus in self.buses.values():
            bus.close()
