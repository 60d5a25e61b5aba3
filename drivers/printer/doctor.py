"""What ``python -m drivers doctor`` says about the printer: a :class:`Health`.

DOWN when cupsd cannot be reached, the queue is missing, stopped, rejecting jobs, or
has a condition that blocks printing; DEGRADED when it prints but warns (toner low);
OK otherwise. ``fix`` is the command or action that clears it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.errors import ConfigError
from drivers.health import DEGRADED, DOWN, OK, Health
from drivers.printer.codec import PrinterState, PrinterStatus
from drivers.printer.errors import CupsUnreachable, NoSuchQueue, PrinterError

if TYPE_CHECKING:
    from drivers.printer.device import Printer

DEVICE = "printer"


def health(url: str) -> Health:
    """The Health of the printer configured by ``url`` (``[printer] url``); never raises."""
    from drivers.printer.device import Printer
    try:
        printer = Printer(url)
    except ConfigError as exc:
        return Health(DEVICE, str(url), DOWN, exc.message, exc.hint or "fix [printer] url",
                      {"error": "bad-url"})
    return printer_health(printer)


def printer_health(printer: "Printer") -> Health:
    url = printer.url.raw
    try:
        status = printer.status()
    except CupsUnreachable as exc:
        return Health(DEVICE, url, DOWN, exc.message, exc.hint,
                      {"server": exc.port, "error": "cupsd-unreachable"})
    except NoSuchQueue as exc:
        return Health(DEVICE, url, DOWN, exc.message,
                      f"create it: `lpadmin{printer.server_option()} -p QUEUE -v DEVICE-URI -E`, "
                      f"or set [printer] url to an existing queue",
                      {"server": exc.port, "error": "no-such-queue"})
    except PrinterError as exc:
        return Health(DEVICE, url, DOWN, exc.message, exc.hint,
                      {"server": exc.port, "error": "cups-error"})
    return status_health(status, url, printer.server_option())


def status_health(status: PrinterStatus, url: str, h: str = "") -> Health:
    """A reachable queue's status -> Health (``h``: the `` -h SERVER`` option, if any)."""
    data = {"status": status.as_dict()}
    advice = status.advice()
    reasons = ", ".join(c.keyword for c in status.conditions) or "no reasons"
    seen = (f"{status.queue}: {status.state.value}, "
            f"{'accepting' if status.accepting else 'rejecting'} jobs, "
            f"{status.queued_jobs} queued, {reasons}"
            + (f" ({status.message})" if status.message else ""))
    fixes = [advice.en] if advice else []
    if status.state is PrinterState.STOPPED:
        fixes.append(f"then `cupsenable{h} {status.queue}`")
    if not status.accepting:
        fixes.append(f"`cupsaccept{h} {status.queue}`")
    if not status.usable:
        return Health(DEVICE, url, DOWN, seen, "; ".join(fixes), data)
    if status.conditions:
        return Health(DEVICE, url, DEGRADED, seen, "; ".join(fixes), data)
    return Health(DEVICE, url, OK, seen, "", data)
