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
from drivers.printer.sim import PDF_QUEUE

if TYPE_CHECKING:
    from drivers.printer.device import Printer

DEVICE = "printer"

# The shipped configuration's printer, cups://kiosk on the system's cupsd, is the PDF
# queue of the private cupsd `make run` starts (drivers.printer.sim, which rewrites the
# URL to its socket): on a checkout without that cupsd, doctor says so and how to get it.
DEMO_FIX = ("[printer] url = cups://kiosk is the shipped (simulated) printer: `make run` starts a private "
            "cupsd with that queue and points the kiosk at it (type `doctor` at its prompt); to check it alone, "
            "`python -m drivers.printer.sim` prints its socket: set url = \"cups://kiosk?server=SOCKET\"; "
            "on an appliance with a real printer, create the queue: `lpadmin -p kiosk -v DEVICE-URI -E`")


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
    # The system's cupsd asked for the simulator's queue name: the shipped default.
    shipped = printer.url.server is None and printer.url.queue == PDF_QUEUE
    try:
        status = printer.status()
    except CupsUnreachable as exc:
        return Health(DEVICE, url, DOWN, exc.message, DEMO_FIX if shipped else exc.hint,
                      {"server": exc.port, "error": "cupsd-unreachable", "shipped_default": shipped})
    except NoSuchQueue as exc:
        return Health(DEVICE, url, DOWN, exc.message,
                      DEMO_FIX if shipped else
                      f"create it: `lpadmin{printer.server_option()} -p QUEUE -v DEVICE-URI -E`, "
                      f"or set [printer] url to an existing queue",
                      {"server": exc.port, "error": "no-such-queue", "shipped_default": shipped})
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
