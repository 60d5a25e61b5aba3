"""``python -m locker``: the locker daemon and its tools.

    python -m locker [--config PATH] serve            the daemon (prints its socket path once serving)
    python -m locker status [--json]                  doors, cases and boards, from the running daemon
    python -m locker screen [--once] [--width N]      the status screen of a locker without a kiosk
    python -m locker voice check|record|say N         the spoken prompts: recordings, the speaker
    python -m locker audit verify                     check the audit log's hash chain (exit 1: broken)
    python -m locker audit show [--last N]            the last audit entries
    python -m locker request JSON                     one API request (see locker.api)
    python -m locker sign worker|booking --key PEM …  sign a code with a server key (demo, tests)
    python -m locker door BUS/BOARD/DOOR in-service|out-of-service|open [--reason TEXT] [--by NAME]
    python -m locker case CASE move-to-door DOOR [--by NAME]     the worker moved its paper by hand
    python -m locker case CASE picked-up|still-there [--by NAME] decide a held pickup
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from appliance.cli import add_config_argument, load_or_exit, main_guard
from appliance.journal import process_fields
from appliance.privacy import setup_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m locker", description="The locker daemon (云柜) and its tools.")
    add_config_argument(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the daemon: reconcile with the boards, then serve the API and the scanner")
    status = sub.add_parser("status", help="doors, cases and boards, asked of the running daemon")
    status.add_argument("--json", action="store_true")
    screen = sub.add_parser("screen", help="the status screen (doors, alerts, the scanner's refusals), "
                                           "following the running daemon in this terminal")
    screen.add_argument("--once", action="store_true", help="draw one screen and exit (exit 2: no daemon)")
    screen.add_argument("--width", type=int, metavar="N", help="columns (default: the terminal's)")
    voice = sub.add_parser("voice", help="the spoken prompts (请关好N号柜门): check or make their recordings, "
                                         "or say one on [locker] speaker")
    voice.add_argument("action", choices=["check", "record", "say"],
                       help="check: list recordings missing or stale (exit 1); record: make them with espeak-ng; "
                            "say N: play door N's prompt on the configured speaker")
    voice.add_argument("door", nargs="?", type=int, help="say: the door's number")
    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="check the hash chain; name the first broken entry")
    show = audit_sub.add_parser("show", help="the last entries")
    show.add_argument("--last", type=int, default=20, metavar="N")
    req = sub.add_parser("request", help="send one JSON request to the daemon and print the answer")
    req.add_argument("message", help='e.g. \'{"op": "pickup", "code": "12345678"}\'')
    door = sub.add_parser("door", help="take a door out of service, put it back, or open it to look "
                                       "(through the running daemon; root or [locker] admins)")
    door.add_argument("door", help="BUS/BOARD/DOOR (e.g. bus0/0/3) or the number on the door")
    door.add_argument("use", choices=["in-service", "out-of-service", "open"])
    door.add_argument("--reason", default="", help="why (kept with the door and in the audit log)")
    door.add_argument("--by", default="", help="who (default: maintainer)")
    case = sub.add_parser("case", help="a worker's hand on a case: move it off a door that cannot open, or "
                                       "decide a held pickup (through the running daemon)")
    case.add_argument("case", help="the case id")
    case.add_argument("action", choices=["move-to-door", "picked-up", "still-there"],
                      help="move-to-door DOOR: its paper was moved by hand into free door DOOR; picked-up / "
                           "still-there: what the worker found behind a held pickup's door")
    case.add_argument("target", nargs="?", help="move-to-door: BUS/BOARD/DOOR or the door's number")
    case.add_argument("--by", default="", help="who (default: worker)")
    sign = sub.add_parser("sign", help="sign a worker or booking code with a server key (demo and tests)")
    sign.add_argument("kind", choices=["worker", "booking", "server-key"],
                      help="worker code, booking code, or make a new server key (prints its trusted-keys entry)")
    sign.add_argument("--key", required=True, metavar="PEM", help="the server's Ed25519 private key (PKCS#8 PEM)")
    sign.add_argument("--key-id", default="server", help="its entry in trusted-keys.json (default server)")
    sign.add_argument("--worker", help="worker code: the worker's id")
    sign.add_argument("--lockers", nargs="*", default=[], help="worker code: the lockers (appliance ids)")
    sign.add_argument("--minutes", type=int, default=15, help="worker code: valid minutes (default 15)")
    sign.add_argument("--case", help="booking code: the case id")
    sign.add_argument("--size", choices=["S", "M", "L"], default="M", help="booking code: door size")
    sign.add_argument("--locker", default="", help="booking code: the locker (default: any)")
    return parser


@main_guard
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging("DEBUG" if args.verbose else "WARNING")  # ID numbers masked; journald under systemd
    if args.command == "sign":
        return _sign(args)
    if args.command == "voice" and args.action != "say":
        return _voice(args)
    config = load_or_exit(args.config)
    from locker.daemon import serve, socket_path, store_path

    if args.command == "serve":
        logging.getLogger().setLevel(logging.DEBUG if args.verbose else config.appliance.log_level)
        process_fields(device=config.appliance.id)  # every line of the daemon: journalctl KIOSK_DEVICE=…
        return serve(config)
    if args.command == "screen":
        from locker.screen import main as screen_main

        return screen_main(socket_path(config), once=args.once, width=args.width)
    if args.command == "voice":
        return _say(config, args.door)
    if args.command == "audit":
        from locker import audit
        from locker.errors import AuditBroken

        path = store_path(config)
        if not path.exists():
            print(f"{path}: no locker store yet", file=sys.stderr)
            return 2
        if args.audit_command == "verify":
            try:
                count = audit.verify(path)
            except AuditBroken as exc:
                print(f"{path}: BROKEN at {exc}", file=sys.stderr)
                return 1
            print(f"{path}: {count} audit entries, hash chain intact")
            return 0
        for entry in audit.entries(path, last=args.last):
            print(json.dumps(entry, ensure_ascii=False))
        return 0
    from locker.api import request

    if args.command == "status":
        message = {"op": "state"}
    elif args.command == "door" and args.use == "open":
        message = {"op": "open", "door": args.door, "reason": args.reason, "by": args.by or "maintainer"}
    elif args.command == "door":
        message = {"op": "door", "door": args.door, "use": args.use.replace("-", "_"), "reason": args.reason,
                   "by": args.by or "maintainer"}
    elif args.command == "case":
        if args.action == "move-to-door":
            if not args.target:
                raise SystemExit("move-to-door needs the door: BUS/BOARD/DOOR or its number")
            message = {"op": "move", "case": args.case, "door": args.target, "by": args.by or "worker"}
        else:
            message = {"op": "resolve", "case": args.case, "outcome": args.action.replace("-", "_"),
                       "by": args.by or "worker"}
    else:
        message = _json(args.message)
    try:
        answer = request(socket_path(config), message)
    except OSError as exc:
        print(f"{socket_path(config)}: cannot reach the locker daemon ({exc}); is `python -m locker serve` running?",
              file=sys.stderr)
        return 2
    if args.command == "status" and not args.json and answer.get("ok"):
        for door in answer["doors"]:
            print(f"door {door['number']:>3} {door['size']} {door['use']:<15} {door['seen']:<8} "
                  f"{door['case'] or ''} {door['reason']}".rstrip())
        offline = [f"{b['bus']}/{b['board']}" for b in answer["boards"] if not b["online"]]
        print(f"{len(answer['cases'])} cases; boards offline: {', '.join(offline) or 'none'}")
        for alert in answer.get("alerts", []):
            print(f"alert: door {alert['door']} {alert['kind']} ({alert['level']}): {alert['message']}")
        scanner = answer.get("scanner") or {}
        if scanner.get("refusal"):
            print(f"scanner: refused {scanner['refusal']['reason']}: {scanner['refusal']['message']}")
        if scanner.get("backing_off"):
            print(f"scanner: backing off, {scanner['backing_off']:.0f} s left")
        return 0
    if not answer.get("ok") and args.command in ("door", "case"):
        print(f"{answer.get('message', answer.get('error'))} {answer.get('detail', '')}".rstrip(), file=sys.stderr)
        return 1
    print(json.dumps(answer, ensure_ascii=False, indent=None if args.command == "request" else 2))
    return 0 if answer.get("ok") else 1


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"not JSON: {exc}") from None
    return value


def _voice(args: argparse.Namespace) -> int:
    from locker import voice

    if args.action == "record":
        for piece in voice.record():
            print(f"{voice.recording(piece).relative_to(voice.ROOT)}  {voice.PIECES[piece]}")
        return 0
    missing = voice.stale()
    if missing:
        print("missing or stale (python -m locker voice record): " + ", ".join(missing))
        return 1
    print(f"{len(voice.PIECES)} recordings in {voice.AUDIO_DIR.relative_to(voice.ROOT)}, all current")
    return 0


def _say(config, door: int | None) -> int:
    from locker.voice import Speaker, door_prompt, text_of

    if door is None or door < 1:
        raise SystemExit("say needs the door's number, e.g. python -m locker voice say 3")
    if not config.locker.speaker.strip():
        print(f"{config.source}: [locker] speaker is empty: no speaker to play on (e.g. speaker = \"aplay -q\")",
              file=sys.stderr)
        return 2
    ok = Speaker(config.locker.speaker).say_door(door)
    print(f"{text_of(door_prompt(door))}: {'played' if ok else 'NOT played (see the log above)'}")
    return 0 if ok else 1


def _sign(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from appliance.keys import DeviceKey
    from locker import codes

    path = Path(args.key)
    if args.kind == "server-key":
        private = Ed25519PrivateKey.generate()
        path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        path.chmod(0o600)
        print(json.dumps(DeviceKey(args.key_id, private).trusted_entry()))
        return 0
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    key = DeviceKey(args.key_id, private)
    if args.kind == "worker":
        if not args.worker:
            raise SystemExit("a worker code needs --worker")
        print(codes.worker_code(key, args.worker, args.lockers, minutes=args.minutes))
    else:
        if not args.case:
            raise SystemExit("a booking code needs --case")
        print(codes.booking_code(key, args.case, args.size, locker=args.locker))
    return 0


if __name__ == "__main__":
    sys.exit(main())
