"""The reading loop both port scanners share (drivers.scanner.reader), on the serial
scanner and the keyboard-wedge scanner alike, each against its simulator running as a
separate process on a pty: a port that vanishes, stays away, and comes back."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import pytest

from drivers.scanner import SerialScanner, WedgeScanner
from drivers.scanner.errors import ScannerGone, ScannerUnavailable
from drivers.scanner.reader import CodeReader
from tests.drivers.scanner.conftest import read_all, reconnected
from tests.support import SimProcess


@dataclass(frozen=True)
class Kind:
    sim: str  # the simulator's module
    link: str  # the name its pty is linked at
    scanner: Callable[..., CodeReader]  # the link's path -> the scanner reading it
    missing_hint: str  # a word of the hint while the port is away


KINDS = {
    "serial": Kind("drivers.scanner.sim", "scanner0", SerialScanner, ""),
    "wedge": Kind("drivers.scanner.wedge_sim", "usb-scanner-event-kbd",
                  lambda link, **options: WedgeScanner(f"evdev://{link}", **options), "by-id"),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request) -> Kind:
    return KINDS[request.param]


@pytest.fixture
def link(tmp_path, kind) -> str:
    return str(tmp_path / kind.link)


@pytest.fixture
def sim(kind, link):
    with SimProcess(kind.sim, "--link", link) as proc:
        yield proc


def test_vanished_port_is_gone_naming_it_then_reconnects(kind, sim, link):
    scanner = kind.scanner(link, backoff=(0.05, 0.2)).open()
    try:
        sim.request(cmd="scan", code="ONE")
        assert read_all(scanner, 1) == ["ONE"]
        sim.request(cmd="vanish")  # USB pulled
        with pytest.raises(ScannerGone) as gone:
            scanner.read_code(2.0)
        assert link in str(gone.value) and gone.value.hint
        assert scanner.health().state == "down"
        sim.stop()
        with pytest.raises(ScannerUnavailable) as missing:  # still unplugged for the whole timeout
            scanner.read_code(0.3)
        assert link in str(missing.value) and kind.missing_hint in missing.value.hint
        with SimProcess(kind.sim, "--link", link) as again:  # plugged back in
            reconnected(scanner)  # what a scanner sends before the port is open is lost
            again.request(cmd="scan", code="TWO")
            assert read_all(scanner, 1) == ["TWO"]
            assert scanner.reconnects == 1 and scanner.health().state == "ok"
    finally:
        scanner.close()


def test_iterating_rides_over_an_unplug(kind, sim, link):
    scanner = kind.scanner(link, backoff=(0.05, 0.2)).open()
    codes = iter(scanner)
    try:
        sim.request(cmd="scan", code="ONE")
        assert next(codes).text == "ONE"
        sim.request(cmd="vanish")
        time.sleep(0.3)
        sim.stop()
        with SimProcess(kind.sim, "--link", link, "--codes", "TWO", "--delay", "1.0"):
            assert next(codes).text == "TWO"
    finally:
        scanner.close()
