"""The kiosk's peripherals for the sync agent's heartbeat (``Agent(health=…)``): the
printer (CUPS state, paper), the ID card reader (the SAM answers), the staff card's
PC/SC reader, the camera, each in the words of ``python -m drivers doctor``. Free disk
and the software version the agent adds itself.

Blocking (a CUPS query, a SAM status): the agent calls it on its own thread. The card
watch leaves the ID reader alone while it is asked (:meth:`CardWatch.pause`)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from drivers.health import DOWN, Health

if TYPE_CHECKING:
    from kiosk.devices import Devices
    from sync.wire import PeripheralHealth

log = logging.getLogger("kiosk.health")


def peripherals(devices: Devices) -> dict[str, PeripheralHealth]:
    from sync.wire import PeripheralHealth

    config = devices.config
    found: list[Health] = []
    if config.printer.enabled:
        from drivers.printer.doctor import printer_health
        found.append(printer_health(devices.printing.printer))
    found.append(_id_reader(devices))
    if config.pcsc.enabled:
        from drivers.idcard.pcsc import health
        found.append(health(config.pcsc.reader))
    if config.camera.enabled:
        found.append(_camera(devices))
    return {h.device: PeripheralHealth.from_health(h) for h in found}


def _id_reader(devices: Devices) -> Health:
    from drivers.errors import DriverError

    watch = devices.card_watch
    if watch is not None:
        watch.pause()
    try:
        return devices.reader.health()
    except DriverError as exc:  # the port could not even be opened
        return Health("idcard reader (SAM)", devices.config.idcard.url, DOWN, exc.message,
                      exc.hint or "check idcard.url and the reader's cable")
    finally:
        if watch is not None:
            watch.resume()


def _camera(devices: Devices) -> Health:
    camera = devices.open_camera  # the running camera: what its grabber saw, no I/O
    if camera is not None:
        return camera.health()
    from drivers.camera.probe import health
    return health(devices.config.camera.url)
