"""Diagnostic CLI for the printer driver.

    python -m drivers.printer [--url cups://QUEUE?server=SOCKET] status [--json]
    python -m drivers.printer [--url …] queues [--json]
    python -m drivers.printer [--url …] print FILE [--copies N] [--title T] [--wait]
                                                   [--timeout S] [--json]

Without ``--url`` it uses the system's default queue on the system's cupsd.
Exit status: 0 ok (a printer that only warns, e.g. toner low, is ok); 1 printer not
usable (stopped, rejecting, blocked) or job not completed (stopped, aborted,
canceled) or refused (queue rejecting jobs, not a PDF); 2 usage or configuration
error (bad URL, no such queue); 3 cupsd not reachable; 4 the job did not finish
within the timeout.
Errors are one line on stderr (and a JSON object on stdout with ``--json``).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from drivers.errors import ConfigError, DriverError
from drivers.health import DOWN
from drivers.printer.device import Printer
from drivers.printer.errors import CupsUnreachable, JobRejected, JobTimeout

EXIT_OK, EXIT_NOT_USABLE, EXIT_CONFIG, EXIT_UNREACHABLE, EXIT_TIMEOUT = 0, 1, 2, 3, 4

# Most specific first: the first matching class decides the exit status.
ERROR_EXITS: list[tuple[type[DriverError], int]] = [
    (CupsUnreachable, EXIT_UNREACHABLE),
    (JobTimeout, EXIT_TIMEOUT),
    (JobRejected, EXIT_NOT_USABLE),
    (ConfigError, EXIT_CONFIG),
    (DriverError, EXIT_NOT_USABLE),
]


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload, ensure_ascii=False) if args.json else text)


def cmd_status(printer: Printer, args: argparse.Namespace) -> int:
    health = printer.health()
    lines = [f"{health.state.upper()}: {health.detail}"]
    advice = health.data.get("status", {}).get("advice")
    if advice:
        lines.append(f"  {advice['zh']} / {advice['en']}")
    if health.fix:
        lines.append(f"  fix: {health.fix}")
    _emit(args, health.as_dict(), "\n".join(lines))
    if health.data.get("error") == "cupsd-unreachable":
        return EXIT_UNREACHABLE
    if health.data.get("error") == "no-such-queue":
        return EXIT_CONFIG
    return EXIT_NOT_USABLE if health.state == DOWN else EXIT_OK


def cmd_queues(printer: Printer, args: argparse.Namespace) -> int:
    queues = printer.queues()
    rows = [f"{'*' if q.is_default else ' '} {q.name:<20} {q.status.state.value:<9} "
            f"{'accepting' if q.status.accepting else 'rejecting':<10} "
            f"{','.join(c.keyword for c in q.status.conditions) or '-':<24} {q.device_uri}"
            for q in queues]
    text = "\n".join(rows) if rows else f"no queues on {printer.server}"
    _emit(args, {"server": printer.server, "queues": [q.as_dict() for q in queues]}, text)
    return EXIT_OK


def cmd_print(printer: Printer, args: argparse.Namespace) -> int:
    job_id = printer.submit(args.file, title=args.title or args.file, copies=args.copies)
    if not args.wait:
        _emit(args, {"job_id": job_id, "queue": printer.queue, "outcome": None},
              f"job {job_id} queued on {printer.queue}")
        return EXIT_OK
    outcome = printer.wait(job_id, args.timeout)
    advice = outcome.advice()
    text = (f"job {job_id} on {outcome.queue} {outcome.outcome.value} "
            f"after {outcome.elapsed:.2f} s" + (f": {advice}" if advice else ""))
    _emit(args, outcome.as_dict(), text)
    return EXIT_OK if outcome.ok else EXIT_NOT_USABLE


COMMANDS = {"status": cmd_status, "queues": cmd_queues, "print": cmd_print}


def build_parser() -> argparse.ArgumentParser:
    # --url and --json are accepted before or after the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help="printer URL, cups://QUEUE?server=SOCKET (default cups://: the "
                             "system's default queue)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")
    parser = argparse.ArgumentParser(prog="python -m drivers.printer", parents=[common],
                                     description="Check and use a CUPS printer queue.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", parents=[common], help="queue state and what to do about it")
    sub.add_parser("queues", parents=[common], help="every queue on the cupsd")
    p = sub.add_parser("print", parents=[common], help="print a PDF file")
    p.add_argument("file", help="a PDF file")
    p.add_argument("--copies", type=int, default=1)
    p.add_argument("--title", default="", help="job title (default: the file name)")
    p.add_argument("--wait", action="store_true", help="follow the job until it ends or stops")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds to follow the job (default: the URL's timeout=, else 60)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.url = getattr(args, "url", "cups://")
    args.json = getattr(args, "json", False)
    try:
        return COMMANDS[args.command](Printer(args.url), args)
    except DriverError as exc:
        code = next(c for kind, c in ERROR_EXITS if isinstance(exc, kind))
        if args.json:
            print(json.dumps({"error": {"type": type(exc).__name__, "message": exc.message,
                                        "hint": exc.hint, "server": exc.port}},
                             ensure_ascii=False))
        print(f"error: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
