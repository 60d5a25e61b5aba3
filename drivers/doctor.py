"""``python -m drivers doctor``: every configured device, its state, and the fix for
the usual failure (wrong port, no permission, CUPS queue stopped, no camera …).

Doctor opens each device itself, so run it while the appliance's daemons are
stopped (one process owns one device). It never raises: whatever goes wrong with a
device becomes a DOWN line naming it.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Iterator

from drivers.health import DOWN, Health

if TYPE_CHECKING:
    from appliance.config import Config

log = logging.getLogger("drivers.doctor")


def lock_buses(config: "Config"):
    """The configured lock buses as :class:`drivers.lockboard.device.LockBus` objects."""
    from drivers.lockboard.device import BoardSpec, LockBus

    for bus in config.lockboard:
        boards = [BoardSpec(b.address, b.doors, b.sensor_inverted, b.item_sensors, b.status_bytes) for b in bus.board]
        yield LockBus(bus.url, bus.protocol, boards, baudrate=bus.baudrate, timeout=bus.timeout_ms / 1000,
                      name=bus.name)


def id_card_reader(config: "Config"):
    from drivers.idcard.device import IdCardReader
    from drivers.idcard.wlt import load_decoder

    section = config.idcard
    return IdCardReader(section.url, baudrate=section.baud, timeout=section.timeout_ms / 1000,
                        find_window=section.find_window_ms / 1000, decoder=load_decoder(section.wlt_decoder))


def _lockboards(config: "Config") -> Iterator[Health]:
    from drivers.lockboard.doctor import health

    for bus in lock_buses(config):
        try:
            yield from health(bus)
        finally:
            bus.close()


def _idcard(config: "Config") -> Iterator[Health]:
    reader = id_card_reader(config)
    try:
        yield reader.health()
    finally:
        reader.close()


def _pcsc(config: "Config") -> Iterator[Health]:
    if config.pcsc.enabled:
        from drivers.idcard.pcsc import health

        yield health(config.pcsc.reader)


def _printer(config: "Config") -> Iterator[Health]:
    if config.printer.enabled:
        from drivers.printer.doctor import health

        yield health(config.printer.url)


def _camera(config: "Config") -> Iterator[Health]:
    if config.camera.enabled:
        from drivers.camera.probe import health

        yield health(config.camera.url)


def _scanner(config: "Config") -> Iterator[Health]:
    if config.scanner.enabled:
        from drivers.scanner.urls import health

        url = config.camera.url if config.scanner.url == "camera:" else config.scanner.url
        yield health(url)


CHECKS: list[tuple[str, str, Callable[["Config"], Iterator[Health]]]] = [
    # (device, the URL shown when the check itself fails, check)
    ("lockboard", "lockboard", _lockboards),
    ("idcard", "idcard.url", _idcard),
    ("pcsc", "pcsc.reader", _pcsc),
    ("printer", "printer.url", _printer),
    ("camera", "camera.url", _camera),
    ("scanner", "scanner.url", _scanner),
]


def doctor(config: "Config") -> list[Health]:
    """One :class:`Health` per device (a lock bus gives one per board too)."""
    report: list[Health] = []
    for device, key, check in CHECKS:
        try:
            report.extend(check(config))
        except Exception as exc:  # doctor reports; it never dies on a device
            log.debug("doctor: %s check failed", device, exc_info=True)
            hint = getattr(exc, "hint", "") or "run the device's own CLI with -v for details"
            report.append(Health(device, key, DOWN, f"{type(exc).__name__}: {getattr(exc, 'message', exc)}", hint))
    return report
