"""``python -m drivers.lockboard``: talk to lock boards by hand (install, repair).

    python -m drivers.lockboard --port PORT --protocol kerong|bcc [--baud B] [--status-bytes N] scan [ADDRESS ...]
    python -m drivers.lockboard --port PORT --protocol kerong|bcc status BOARD [DOOR]
    python -m drivers.lockboard --port PORT --protocol kerong|bcc open BOARD DOOR
    python -m drivers.lockboard --port PORT detect [ADDRESS ...]

Board addresses and door numbers are as printed on the boards and door labels.
``--json`` prints one JSON object. Exit status: 0 done; 1 the door's state is
unknown, a board is offline or nothing answered; 2 a usage or configuration
mistake; 3 the port cannot be used. ``open`` sends one unlock and never repeats it.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from drivers.errors import ConfigError, DriverError, TransportError
from drivers.lockboard.codec import FAMILIES, family as family_named
from drivers.lockboard.device import BoardSpec, LockBus
from drivers.lockboard.doctor import detect
from drivers.lockboard.errors import LockboardConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PORT = 0, 1, 2, 3


def _options() -> argparse.ArgumentParser:
    """Options accepted before or after the command (defaults filled in later)."""
    p = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    p.add_argument("--port", help="the bus: /dev/ttyUSB0, serial:///dev/kiosk-lockbus0?baud=9600, "
                                  "socket://HOST:PORT or sim://lockboard?protocol=kerong")
    p.add_argument("--protocol", choices=sorted(FAMILIES), metavar="kerong|bcc",
                   help="the frame family (detect tells which)")
    p.add_argument("--baud", type=int, metavar="B", help="line speed (default 19200 for kerong, 9600 for bcc)")
    p.add_argument("--status-bytes", type=int, choices=[3, 4, 6], metavar="N",
                   help="bcc: query-all reply length, 3, 4 or 6 (default 4)")
    p.add_argument("--doors", type=int, metavar="N",
                   help="doors on the board (default 16 kerong, 8 × status bytes bcc)")
    p.add_argument("--inverted", action="store_true", help="the board's door switch reads the other way round")
    p.add_argument("--items", action="store_true", help="the board has item sensors (kerong)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="seconds to wait for one reply (default 0.15; scan probes 0.1)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="log every frame in hex (stderr)")
    return p


DEFAULTS: dict[str, Any] = {"port": None, "protocol": None, "baud": None, "status_bytes": 4, "doors": None,
                            "inverted": False, "items": False, "timeout": None, "json": False,
                            "verbose": False}


def parser() -> argparse.ArgumentParser:
    common = _options()
    p = argparse.ArgumentParser(prog="python -m drivers.lockboard", parents=[common],
                                description="Talk to lock-control boards on an RS-485 bus.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exit status: 0 done, 1 unknown/offline/nothing answered, "
                                       "2 usage or configuration, 3 port unusable")
    sub = p.add_subparsers(dest="command", required=True, metavar="{scan,status,open,detect}")
    scan = sub.add_parser("scan", parents=[common], help="list the board addresses that answer")
    scan.add_argument("addresses", nargs="*", type=int, help="probe only these (default: every address)")
    status = sub.add_parser("status", parents=[common], help="door states of one board (or one door)")
    status.add_argument("board", type=int)
    status.add_argument("door", type=int, nargs="?")
    unlock = sub.add_parser("open", parents=[common], help="unlock one door, once; then check its state")
    unlock.add_argument("board", type=int)
    unlock.add_argument("door", type=int)
    found = sub.add_parser("detect", parents=[common], help="try both protocols and say which one answers")
    found.add_argument("addresses", nargs="*", type=int, help="also probe these addresses one by one")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for key, value in DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    # The command prints its own one-line verdict; the driver's log is for -v.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        if not args.port:
            raise LockboardConfigError("no port given", hint="add --port /dev/ttyUSB0 (or the bus's URL)")
        if args.command == "detect":
            return _detect(args)
        if not args.protocol:
            raise LockboardConfigError("no protocol given",
                                       hint=f"add --protocol kerong or bcc; `python -m drivers.lockboard "
                                            f"--port {args.port} detect` tells which one answers")
        return {"scan": _scan, "status": _status, "open": _open}[args.command](args)
    except DriverError as exc:
        return _fail(args, exc)
    except KeyboardInterrupt:
        return 130


def _bus(args: argparse.Namespace, *boards: int) -> LockBus:
    fam = family_named(args.protocol)
    doors = args.doors or (16 if fam.name == "kerong" else 8 * args.status_bytes)
    specs = [BoardSpec(b, doors, args.inverted, args.items, args.status_bytes) for b in boards]
    return LockBus(args.port, fam, specs, baudrate=args.baud, timeout=args.timeout or 0.15, name="cli")


def _scan(args: argparse.Namespace) -> int:
    with _bus(args) as bus:
        result = bus.scan(args.addresses or None, probe_timeout=args.timeout or 0.1)
        port = bus.port
    if args.json:
        _print_json({"port": port, **result.as_dict()})
    elif result.found:
        print(f"{result.protocol} at {result.baudrate} baud on {port}: board(s) "
              f"{', '.join(map(str, result.found))} answer" + _garbage_note(result.garbage))
    else:
        print(f"no {result.protocol} board answers on {port} at {result.baudrate} baud"
              + _garbage_note(result.garbage)
              + f" — check power and A/B wiring; `python -m drivers.lockboard --port {args.port} detect` "
                "tries both protocols", file=sys.stderr)
    return EXIT_OK if result.found else EXIT_FAILED


def _status(args: argparse.Namespace) -> int:
    with _bus(args, args.board) as bus:
        status = bus.board_status(args.board) if args.door is None else bus.door_status(args.board, args.door)
        port = bus.port
    if args.door is not None:
        online = status.state != "offline"
        if args.json:
            _print_json({"port": port, **status.as_dict()})
        else:
            item = "" if status.item is None else (", item inside" if status.item else ", empty")
            print(f"board {args.board} door {args.door}: {status.state}{item}")
    else:
        online = status.online
        if args.json:
            _print_json({"port": port, **status.as_dict()})
        elif online:
            closed = [d.door for d in status.doors if d.state == "closed"]
            print(f"board {args.board} on {port}: online")
            print(f"  open:   {_ranges(status.open_doors) or 'none'}")
            print(f"  closed: {_ranges(closed) or 'none'}")
            if args.items:
                print(f"  items:  {_ranges(status.occupied_doors) or 'none'}")
    if not online and not args.json:
        print(f"lockboard: board {args.board} on {port} is offline — check its DIP-switch address, power "
              f"and A/B wiring; `python -m drivers.lockboard --port {args.port} --protocol {args.protocol} scan` "
              "lists who answers", file=sys.stderr)
    return EXIT_OK if online else EXIT_FAILED


def _open(args: argparse.Namespace) -> int:
    with _bus(args, args.board) as bus:
        result = bus.unlock(args.board, args.door, verify=True)
        port = bus.port
    if args.json:
        _print_json({"port": port, **result.as_dict()})
    elif result.opened:
        print(f"board {args.board} door {args.door}: opened ({result.reason})")
    else:
        print(f"lockboard: board {args.board} door {args.door} on {port}: outcome UNKNOWN — {result.reason}. "
              "The unlock was sent once and not repeated: look at the door before trying again", file=sys.stderr)
    return EXIT_OK if result.opened else EXIT_FAILED


def _detect(args: argparse.Namespace) -> int:
    protocols = [args.protocol] if args.protocol else list(FAMILIES)
    results = detect(args.port, protocols=protocols, addresses=args.addresses or None,
                     baudrates=[args.baud] if args.baud else None, timeout=args.timeout or 0.1)
    answering = [r for r in results if r.found]
    if args.json:
        _print_json({"port": args.port, "protocol": answering[0].protocol if answering else None,
                     "baudrate": answering[0].baudrate if answering else None,
                     "results": [r.as_dict() for r in results]})
    else:
        for r in results:
            found = f"board(s) {', '.join(map(str, r.found))} answer" if r.found else "no answer"
            print(f"{r.protocol} at {r.baudrate} baud: {found}{_garbage_note(r.garbage)}")
        if answering:
            print(f"protocol = \"{answering[0].protocol}\"")
        else:
            print(f"lockboard: nothing answers on {args.port} — check power and the A/B wires (swap them), or give "
                  "the board addresses to probe: detect ADDRESS ...", file=sys.stderr)
    return EXIT_OK if answering else EXIT_FAILED


def _fail(args: argparse.Namespace, exc: DriverError) -> int:
    where = f" [{exc.port}]" if exc.port and exc.port not in exc.message else ""
    print(f"lockboard: {exc.message}{where}" + (f" — {exc.hint}" if exc.hint else ""), file=sys.stderr)
    if args.json:
        _print_json({"error": exc.message, "hint": exc.hint, "port": exc.port or args.port,
                     "kind": type(exc).__name__})
    if isinstance(exc, TransportError):
        return EXIT_PORT
    return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED


def _garbage_note(garbage: int) -> str:
    return f" ({garbage} bytes failed validation: wrong baud rate, protocol, or colliding boards)" if garbage else ""


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str))


if __name__ == "__main__":
    sys.exit(main())
