"""Diagnosing a lock bus: which protocol answers (``detect``) and what ``doctor``
shows for a configured bus (``health``), with the fix a maintainer can act on.

The usual faults, in the order they are checked: the port cannot be opened; no
board answers at all (A/B swapped, no power, wrong protocol or baud rate — the
other protocol and baud rate are tried to say which); bytes arrive but never
validate (wrong baud rate or protocol); one board is silent while others answer
(its DIP-switch address, power or cable).
"""
from __future__ import annotations

from typing import Iterable

from drivers.health import DEGRADED, DOWN, OK, Health
from drivers.lockboard.codec import FAMILIES, family as family_named
from drivers.lockboard.device import LockBus, ScanResult
from drivers.lockboard.errors import LockBusGone, LockBusUnavailable

# Addresses probed one by one when detecting, besides each family's broadcast: kerong's
# "status of every board" reaches all boards; bcc's "find the only board" only a lone one.
DETECT_PROBES = {"kerong": range(0, 0), "bcc": range(1, 9)}


def detect(url: str, *, protocols: Iterable[str] = ("kerong", "bcc"), addresses: Iterable[int] | None = None,
           baudrates: Iterable[int] | None = None, timeout: float = 0.1) -> list[ScanResult]:
    """Try each protocol (at its usual baud rate, or each of ``baudrates``) and say
    which addresses answered; one :class:`ScanResult` per attempt, in order."""
    wanted = None if addresses is None else list(addresses)
    results = []
    for name in protocols:
        fam = family_named(name)
        probes = DETECT_PROBES[fam.name] if wanted is None else [a for a in wanted if a in fam.boards]
        for baud in (list(baudrates) if baudrates else [fam.baudrate]):
            bus = LockBus(url, fam, [], baudrate=baud, timeout=timeout, name=f"detect-{fam.name}")
            try:
                results.append(bus.scan(probes))
            finally:
                bus.close()
    return results


def health(bus: LockBus, *, diagnose: bool = True) -> list[Health]:
    """The bus first, then one entry per configured board. With ``diagnose``, a bus
    where nothing answers is probed with the other protocol and baud rate (the port
    is closed for that and reopens on the next call)."""
    device = f"lockboard {bus.name}"
    proto = bus.family.name
    base = {"protocol": proto, "baudrate": bus.baudrate}
    try:
        statuses = bus.status_all()
    except (LockBusUnavailable, LockBusGone) as exc:
        return [Health(device, bus.url, DOWN, exc.message, exc.hint, {**base, "port": exc.port})]
    cli = f"python -m drivers.lockboard --port {bus.port} --protocol {proto}"
    if not statuses:
        return [Health(device, bus.url, DEGRADED, "no boards configured on this bus",
                       f"add [[lockboard.board]] entries; `{cli} scan` lists the addresses that answer", base)]
    online = [s for s in statuses.values() if s.online]
    offline = [s for s in statuses.values() if not s.online]
    fix_all = ""
    stray: tuple[int, ...] = ()
    if not online:
        fix_all = _nothing_answers(bus, cli) if diagnose else _generic_fix(bus, cli)
    elif offline and diagnose:
        stray = tuple(a for a in bus.scan([], broadcast=True).found if a not in statuses)
    state = OK if not offline else (DEGRADED if online else DOWN)
    detail = (f"{len(online)} of {len(statuses)} boards answer ({proto}, {bus.baudrate} baud)"
              + (f"; unconfigured addresses answering: {list(stray)}" if stray else ""))
    entries = [Health(device, bus.url, state, detail, fix_all if not online else "",
                      {**base, "online": [s.board for s in online], "offline": [s.board for s in offline],
                       "unconfigured": list(stray), "garbage": bus.garbage})]
    for status in statuses.values():
        name = f"{device} board {status.board}"
        data = {**base, "address": status.board, "online": status.online, "open_doors": status.open_doors}
        if status.online:
            opened = ", ".join(map(str, status.open_doors)) or "none"
            entries.append(Health(name, bus.url, OK, f"online; open doors: {opened}", "", data))
            continue
        if not online:
            fix = fix_all
        else:
            fix = (f"board {status.board} is silent while others answer: check its address DIP switches "
                   f"(they must read {status.board}), its power and its cable")
            if stray:
                fix += (f"; address(es) {', '.join(map(str, stray))} answer but are not configured — "
                        "a DIP switch set wrong?")
        entries.append(Health(name, bus.url, DOWN, f"offline: {status.reason}", fix, data))
    return entries


def _generic_fix(bus: LockBus, cli: str) -> str:
    if bus.garbage:
        return (f"bytes arrive but none is a valid {bus.family.name} reply: check the baud rate "
                f"(now {bus.baudrate}) and the protocol; `{cli} detect` tries both")
    return (f"no board answers on {bus.port}: check the boards' power, swap the RS-485 A/B wires (the most "
            f"common fault), and check protocol and baud rate; `{cli} detect` tries both protocols")


def _nothing_answers(bus: LockBus, cli: str) -> str:
    """Find out whether another protocol or baud rate answers on this port."""
    addresses = [spec.address for spec in bus.boards]
    bus.close()  # the port is exclusive: free it for the probes
    tries = [(name, fam.baudrate) for name, fam in FAMILIES.items() if name != bus.family.name]
    tries += [(bus.family.name, baud) for baud in sorted({f.baudrate for f in FAMILIES.values()})
              if baud != bus.baudrate]
    for name, baud in tries:
        try:
            result = detect(bus.url, protocols=[name], addresses=addresses, baudrates=[baud], timeout=bus.timeout)[0]
        except (LockBusUnavailable, LockBusGone):
            break
        if result.found:
            if name != bus.family.name:
                return (f"the boards answer the {name} protocol at {baud} baud (addresses "
                        f"{', '.join(map(str, result.found))}): set protocol = \"{name}\" for this bus")
            return f"the boards answer at {baud} baud: set baud = {baud} for this bus"
    return _generic_fix(bus, cli)
