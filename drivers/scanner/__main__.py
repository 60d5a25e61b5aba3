"""Scanner diagnostics::

    python -m drivers.scanner --url URL listen [--count N] [--timeout S] [--json]
    python -m drivers.scanner --url URL health [--json]

URL is a serial URL (``serial:///dev/ttyACM0``, ``sim://scanner?codes=A,B``) or a
camera URL (``camera://0``, ``synthetic://?pattern=qr&text=HELLO``). ``listen``
prints one code per line (line breaks inside a code shown as ``\\n``) or one
JSON object per line with ``--json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from drivers.errors import DriverError
from drivers.scanner.sim import unescape
from drivers.scanner.urls import health, open_scanner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drivers.scanner", description="QR/barcode scanner diagnostics")
    parser.add_argument("--url", default="sim://scanner", help="scanner URL, serial or camera (default sim://scanner)")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--prefix", default="", help=r"strip this before each code (escapes: \x02 \r \n \t)")
    parser.add_argument("--suffix", default="", help="strip this after each code")
    parser.add_argument("--max-length", type=int, default=4096)
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every byte")
    commands = parser.add_subparsers(dest="command", required=True)
    listen = commands.add_parser("listen", help="print codes as they are scanned")
    listen.add_argument("--count", type=int, default=0, help="stop after N codes (default: run until Ctrl-C)")
    listen.add_argument("--timeout", type=float, default=0.0,
                        help="give up after S seconds without a code (exit status 1)")
    listen.add_argument("--json", action="store_true")
    check = commands.add_parser("health", help="what doctor reports for this scanner")
    check.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    options = dict(prefix=unescape(args.prefix), suffix=unescape(args.suffix), max_length=args.max_length,
                   encoding=args.encoding)
    try:
        if args.command == "health":
            report = health(args.url, baudrate=args.baud)
            print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json
                  else f"{report.state}: {report.device} {report.url}: {report.detail}"
                  + (f" — {report.fix}" if report.fix else ""))
            return 0 if report.state == "ok" else 1
        return _listen(args, options)
    except DriverError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"fix: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _listen(args: argparse.Namespace, options: dict) -> int:
    scanner = open_scanner(args.url, baudrate=args.baud, **options)
    seen = 0
    with scanner:
        last = time.monotonic()
        while not args.count or seen < args.count:
            wait = args.timeout - (time.monotonic() - last) if args.timeout else 1.0
            if wait <= 0:
                print(f"no code within {args.timeout:g} s ({seen} read)", file=sys.stderr)
                return 1
            try:
                code = scanner.read_code(wait)
            except DriverError as exc:  # unplugged: say so, keep listening (it reconnects)
                print(f"warning: {exc}", file=sys.stderr)
                continue
            if code is None:
                continue
            seen, last = seen + 1, time.monotonic()
            if args.json:
                print(json.dumps(code.as_dict(), ensure_ascii=False), flush=True)
            else:
                print(code.text.replace("\r", "\\r").replace("\n", "\\n"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
