"""Diagnostic CLI for the SAM ID card reader::

    python -m drivers.idcard --port PORT [--baud B] [--timeout S] [-v] read [--json] [--show-id]
                                         [--fingerprint] [--wait S] [--decoder SPEC]
    python -m drivers.idcard --port PORT sam [--json]
    python -m drivers.idcard --port PORT health [--json]

Without ``--port`` the ``[idcard]`` section of the appliance config is used
(``--config PATH``). Output never holds the photo or fingerprint bytes (size and
SHA-256 instead), and the ID number is masked unless ``--show-id``.

Exit status: 0 ok · 1 other failure · 2 usage or config · 3 no card · 4 card moved ·
5 SAM error · 6 invalid ID number or unreadable record · 7 port or reader not
reachable · 8 photo decoder failure. A failure prints one line on stderr.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys

from appliance.privacy import setup_logging
from drivers.errors import ConfigError, DeviceTimeout, DriverError, TransportError
from drivers.idcard.device import IdCardReader
from drivers.idcard.errors import BadRecord, CardMoved, IdCardFrameError, NoCard, SamError, WltError
from drivers.idcard.wlt import image_kind, load_decoder

EXIT = ((NoCard, 3), (CardMoved, 4), (SamError, 5), (BadRecord, 6), (TransportError, 7),
        (DeviceTimeout, 7), (IdCardFrameError, 7), (WltError, 8), (ConfigError, 2))


class _Usage(Exception):
    """A configuration that cannot be used (its message is already one line)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m drivers.idcard",
                                     description="Resident ID card reader (SAM serial protocol): read a card, "
                                                 "query the SAM, check the reader.")
    parser.add_argument("--port", help="device URL or path: /dev/kiosk-idreader, serial:///dev/ttyUSB0, "
                                       "sim://idcard?card=1 (default: idcard.url from the config)")
    parser.add_argument("--baud", type=int, help="line speed (default 115200, or idcard.baud)")
    parser.add_argument("--timeout", type=float, help="seconds to wait for one reply (default 1.5)")
    parser.add_argument("--config", help="appliance config file, used when --port is not given")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="trace every frame on stderr (card data withheld, ID numbers masked)")
    sub = parser.add_subparsers(dest="command", required=True)
    read = sub.add_parser("read", help="read the card on the reader")
    read.add_argument("--json", action="store_true", help="machine-readable output")
    read.add_argument("--show-id", action="store_true", help="print the full ID number (masked by default)")
    read.add_argument("--fingerprint", action="store_true", help="also read the fingerprint block (size only shown)")
    read.add_argument("--wait", type=float, help="seconds to keep looking for a card (default 3)")
    read.add_argument("--decoder", help="decode the photo in memory: path of the vendor's .so, or sim[:CARDS.json]; "
                                        "shows the image's type, size and SHA-256")
    sam = sub.add_parser("sam", help="the SAM's status and id")
    sam.add_argument("--json", action="store_true")
    health = sub.add_parser("health", help="what doctor reports for this reader, with the fix")
    health.add_argument("--json", action="store_true")
    return parser


def _settings(args: argparse.Namespace) -> dict:
    if args.port:
        settings = {"url": args.port, "baudrate": 115200, "timeout": 1.5, "find_window": 3.0, "decoder": ""}
    else:
        # Only when no port is given: the driver itself never reads the config.
        from appliance.config import load
        from appliance.errors import ConfigError

        try:
            section = load(args.config, check_devices=False).idcard
        except ConfigError as exc:
            raise _Usage(str(exc)) from exc
        settings = {"url": section.url, "baudrate": section.baud, "timeout": section.timeout_ms / 1000,
                    "find_window": section.find_window_ms / 1000, "decoder": section.wlt_decoder}
    if args.baud:
        settings["baudrate"] = args.baud
    if args.timeout:
        settings["timeout"] = args.timeout
    if getattr(args, "wait", None) is not None:
        settings["find_window"] = args.wait
    if getattr(args, "decoder", None):
        settings["decoder"] = args.decoder
    return settings


def _digest(data: bytes) -> dict:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _read(reader: IdCardReader, args: argparse.Namespace) -> dict:
    record = reader.read(fingerprint=args.fingerprint)
    out = record.summary(show_id=args.show_id)
    if reader.decoder is not None:
        image = reader.photo_image(record)
        out["photo_image"] = {"format": image_kind(image) or "unknown", **_digest(image)}
    return out


_LABELS = (("name", "姓名 name"), ("sex", "性别 sex"), ("ethnicity", "民族 ethnicity"),
           ("birth_date", "出生 birth"), ("address", "住址 address"), ("id_number", "公民身份号码 ID number"),
           ("authority", "签发机关 authority"), ("valid_from", "有效期起 valid from"), ("valid_to", "有效期至 valid to"))


def _print_record(out: dict) -> None:
    for key, label in _LABELS:
        print(f"{label}: {out[key]}")
    photo = out["photo"]
    print(f"照片 photo: {photo['size']} bytes WLT, sha256 {photo['sha256']}")
    if "photo_image" in out:
        image = out["photo_image"]
        print(f"照片图像 photo image: {image['format']}, {image['size']} bytes, sha256 {image['sha256']}")
    if out["fingerprint"] is not None:
        print(f"指纹 fingerprint: {out['fingerprint']['size']} bytes")


def _run(reader: IdCardReader, args: argparse.Namespace) -> int:
    if args.command == "read":
        out = _read(reader, args)
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            _print_record(out)
        return 0
    if args.command == "sam":
        status = reader.sam_status()
        sam_id = str(reader.sam_id()) if status.ok else None
        if args.json:
            print(json.dumps({"status": {"ok": status.ok, "code": f"{status.code:02X}", "zh": status.zh,
                                         "en": status.en}, "sam_id": sam_id}, ensure_ascii=False))
        else:
            print(f"SAM status: {status}")
            if sam_id:
                print(f"SAM id: {sam_id}")
        return 0 if status.ok else 5
    health = reader.health()
    if args.json:
        print(json.dumps(health.as_dict(), ensure_ascii=False))
    else:
        print(f"{health.device} {health.url}: {health.state}: {health.detail}")
        if health.fix:
            print(f"fix: {health.fix}")
    return 0 if health.state == "ok" else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Failures are reported once, as the exit line; the driver's own warnings would repeat them.
    setup_logging("DEBUG" if args.verbose else "CRITICAL")
    try:
        settings = _settings(args)
    except _Usage as exc:
        print(f"idcard: {exc}", file=sys.stderr)
        return 2
    try:
        decoder = load_decoder(settings.pop("decoder"))
        # Opened lazily by the first command, so `health` can report a missing port itself.
        reader = IdCardReader(settings.pop("url"), decoder=decoder, **settings)
        try:
            return _run(reader, args)
        finally:
            reader.close()
    except DriverError as exc:
        print(f"idcard: {exc}", file=sys.stderr)
        return next((code for kind, code in EXIT if isinstance(exc, kind)), 1)


if __name__ == "__main__":
    sys.exit(main())
