"""A simulated ID card reader: the SAM's side of the serial protocol, with cards
from a JSON file and fault modes.

Run it on a pty as its own process (prints the pty path, then the control socket)::

    python -m drivers.idcard.sim [--cards FILE] [--card N|none] [--sliding N]
                                 [--fault SPEC]… [--sam-id ID] [--link PATH]

or in-process through ``sim://idcard?cards=PATH&card=0&sliding=2&fault=SPEC,SPEC``.

Cards file (UTF-8 JSON; every card is FICTIONAL)::

    {"sam_id": "05.01-20200101-0000012345-1234567890",          (optional)
     "cards": [{"name": "李秀兰", "sex": "2", "ethnicity": "01",
                "birth": "19491231", "address": "…", "id_number": "11010519491231002X",
                "authority": "北京市公安局朝阳分局", "valid_from": "20100101",
                "valid_to": "长期",                          (or YYYYMMDD)
                "photo": "idcard-photos/li.jpg",              (optional: path relative to
                                                              the file, or data:image/jpeg;base64,…)
                "fingerprints": 0,                           (optional: 0, 1 or 2 × 512 bytes)
                "newest_address": null}]}                    (optional)

Cards are not validated: a reader that disagrees with itself is a test case.

Fault SPEC is ``KIND[:ARG][@COMMAND]``; COMMAND is a command name of the codec's
table or its prefix up to an underscore (``read`` = every read command):

* ``sam_error:CODE``    reply with SW3 = CODE (hex), e.g. ``sam_error:60@sam_status``
* ``bad_checksum``      the reply's CHK is wrong
* ``silent``            no reply at all
* ``truncate[:N]``      only the first N bytes of the reply (default half), then the
                        card is gone (pulled mid-read); default command ``read``
* ``pull_after_find``   the card is gone right after a successful find
* ``pull_after_select`` the card is gone right after a successful select

Faults from the command line and URL last for the whole run; from the control channel
they fire ``times`` times (default 1; 0 = until cleared).

Control requests (one JSON object a line on the control socket)::

    {"cmd": "insert", "card": N, "sliding": K}   place card N; find says "no card" K times first
    {"cmd": "remove"}                            take the card away
    {"cmd": "fault", "fault": SPEC, "times": 1}  arm a fault
    {"cmd": "clear"}                             disarm every fault, zero the command counts
    {"cmd": "add_card", "card": {...}}           append a card (schema above); returns its index
    {"cmd": "state"}                             card, sliding, faults, command counts
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from drivers.errors import ConfigError
from drivers.framing import Deframer
from drivers.idcard import codec
from drivers.idcard.record import check_character, encode_text_block
from drivers.idcard.wlt import sim_wlt

log = logging.getLogger("drivers.idcard.sim")

ROOT = Path(__file__).resolve().parents[2]
DEMO_CARDS = ROOT / "assets" / "demo" / "idcards.json"
PLACEHOLDER_PHOTO = ROOT / "assets" / "demo" / "idcard-photos" / "placeholder.jpg"
DEFAULT_SAM_ID = "05.01-20200101-0000012345-1234567890"


# -- cards -------------------------------------------------------------------------
@dataclass
class SimCard:
    name: str
    sex: str
    ethnicity: str
    birth: str
    address: str
    id_number: str
    authority: str
    valid_from: str
    valid_to: str
    photo_jpeg: bytes = field(repr=False, default=b"")
    fingerprints: int = 0
    newest_address: str | None = None

    def text_block(self) -> bytes:
        return encode_text_block({
            "name": self.name, "sex": self.sex, "ethnicity": self.ethnicity, "birth": self.birth,
            "address": self.address, "id_number": self.id_number, "authority": self.authority,
            "valid_from": self.valid_from, "valid_to": self.valid_to})

    def wlt(self) -> bytes:
        return sim_wlt(self.photo_jpeg, self.id_number)

    def fingerprint(self) -> bytes:
        # Fictional template bytes: deterministic, 512 per finger.
        seed = self.id_number.encode()
        return bytes((i * 31 + seed[i % len(seed)]) & 0xFF for i in range(512 * self.fingerprints))

    def to_json(self) -> dict:
        """The card as the cards file holds it, its photo inline."""
        return {"name": self.name, "sex": self.sex, "ethnicity": self.ethnicity, "birth": self.birth,
                "address": self.address, "id_number": self.id_number, "authority": self.authority,
                "valid_from": self.valid_from, "valid_to": self.valid_to,
                "photo": "data:image/jpeg;base64," + base64.b64encode(self.photo_jpeg).decode(),
                "fingerprints": self.fingerprints, "newest_address": self.newest_address}

    @classmethod
    def from_json(cls, item: dict, base: Path = ROOT) -> "SimCard":
        if not isinstance(item, dict):
            raise ValueError(f"a card is a JSON object, not {type(item).__name__}")
        try:
            card = cls(**{k: str(item[k]) for k in ("name", "sex", "ethnicity", "birth", "address",
                                                    "id_number", "authority", "valid_from", "valid_to")},
                       photo_jpeg=_photo(item.get("photo"), base),
                       fingerprints=int(item.get("fingerprints", 0)),
                       newest_address=item.get("newest_address"))
        except KeyError as exc:
            raise ValueError(f"card {item.get('name', '?')!r} lacks {exc.args[0]!r}") from None
        if card.fingerprints not in (0, 1, 2):
            raise ValueError(f"card {card.name!r}: fingerprints is 0, 1 or 2")
        card.text_block()  # every field fits its width
        return card


def _photo(value: object, base: Path) -> bytes:
    if value is None:
        return PLACEHOLDER_PHOTO.read_bytes()
    if not isinstance(value, str):
        raise ValueError("photo is a path or a data: URI")
    if value.startswith("data:"):
        try:
            return base64.b64decode(value.split(",", 1)[1], validate=True)
        except (IndexError, ValueError):
            raise ValueError("photo data: URI is not base64") from None
    return (base / value).read_bytes()


def load_cards(path: str | Path) -> list[SimCard]:
    return _load(path)[0]


def _load(path: str | Path) -> tuple[list[SimCard], str]:
    path = Path(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("cards"), list):
        raise ValueError(f"{path}: expected {{\"cards\": [...]}}")
    return [SimCard.from_json(c, path.parent) for c in doc["cards"]], str(doc.get("sam_id", DEFAULT_SAM_ID))


def fictional_card(*, name: str = "测试居民", sex: str = "2", ethnicity: str = "01",
                   birth: str = "19900101", area: str = "110105", sequence: int = 1,
                   address: str = "北京市朝阳区示范街道测试社区1号楼101室",
                   authority: str = "北京市公安局朝阳分局", valid_from: str = "20200101",
                   valid_to: str = "20400101", photo_jpeg: bytes | None = None,
                   fingerprints: int = 0, newest_address: str | None = None) -> SimCard:
    """A fresh fictional card whose ID number passes GB 11643 and agrees with ``birth``
    and ``sex``: the sequence's last digit is made odd for 男 ("1"), even otherwise."""
    seq = sequence * 2 + (1 if sex == "1" else 0)
    first17 = f"{area}{birth}{seq % 1000:03d}"
    return SimCard(name, sex, ethnicity, birth, address, first17 + check_character(first17), authority,
                   valid_from, valid_to, photo_jpeg if photo_jpeg is not None else PLACEHOLDER_PHOTO.read_bytes(),
                   fingerprints, newest_address)


# -- faults ------------------------------------------------------------------------
KINDS = {"sam_error": "", "bad_checksum": "", "silent": "", "truncate": "read",
         "pull_after_find": "find_card", "pull_after_select": "select_card"}


@dataclass
class Fault:
    kind: str
    arg: int | None = None
    command: str = ""  # "" = any command
    times: int = 0  # 0 = until cleared

    @classmethod
    def parse(cls, spec: str, times: int = 0) -> "Fault":
        body, _, command = spec.strip().partition("@")
        kind, _, arg = body.partition(":")
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
        command = command or KINDS[kind]
        if command and not any(_matches(command, c.name) for c in codec.COMMANDS):
            raise ValueError(f"fault {spec!r}: no command named {command!r}")
        value = None
        if kind == "sam_error":
            if not arg:
                raise ValueError("sam_error needs a code: sam_error:60")
            value = int(arg, 16)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"SW3 {arg} is not one byte")
        elif kind == "truncate" and arg:
            value = int(arg)
        return cls(kind, value, command, times)

    def __str__(self) -> str:
        arg = "" if self.arg is None else (f":{self.arg:02X}" if self.kind == "sam_error" else f":{self.arg}")
        return f"{self.kind}{arg}" + (f"@{self.command}" if self.command else "")


def _matches(target: str, name: str) -> bool:
    return name == target or name.startswith(target + "_")


# -- the SAM -----------------------------------------------------------------------
class SamSimulator:
    """The reader's side of the wire. ``receive`` takes host bytes, returns the reply."""

    def __init__(self, cards: list[SimCard], *, card: int | None = 0, sliding: int = 0,
                 faults: list[Fault] | None = None, sam_id: str = DEFAULT_SAM_ID) -> None:
        self.cards = list(cards)
        self.sam_id = codec.SamId.parse(sam_id)
        self.faults = list(faults or [])
        self.counts: Counter[str] = Counter()
        self.present: int | None = None
        self.insert(card, sliding)
        self._deframer = Deframer(codec.scan)

    # -- the card slot -----------------------------------------------------------
    def insert(self, card: int | None, sliding: int = 0) -> None:
        if card is not None and not 0 <= card < len(self.cards):
            raise ValueError(f"no card {card}: the file has {len(self.cards)}")
        self.present, self.sliding = card, max(0, sliding)
        self.found = self.selected = False

    def remove(self) -> None:
        self.insert(None)

    # -- the wire ------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        return b"".join(self.answer(frame) for frame in self._deframer.feed(data))

    def answer(self, frame: bytes) -> bytes:
        request = codec.decode_command(frame)
        command = request.command
        if command is None:
            return codec.encode_reply(0x21)
        self.counts[command.name] += 1
        faults = [f for f in self.faults if not f.command or _matches(f.command, command.name)]
        by_kind = {f.kind: f for f in faults}
        if "silent" in by_kind:
            self._spend(by_kind["silent"])
            return b""
        if "sam_error" in by_kind:
            reply = codec.encode_reply(self._spend(by_kind["sam_error"]).arg or 0)
        else:
            reply = self._normal(command.name)
        ok = codec.decode_reply(reply).sw3 == command.ok
        if ok and command.name == "find_card" and "pull_after_find" in by_kind:
            self._spend(by_kind["pull_after_find"])
            self.remove()
        if ok and command.name == "select_card" and "pull_after_select" in by_kind:
            self._spend(by_kind["pull_after_select"])
            self.remove()
        if "bad_checksum" in by_kind:
            self._spend(by_kind["bad_checksum"])
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        if "truncate" in by_kind:
            fault = self._spend(by_kind["truncate"])
            reply = reply[:fault.arg if fault.arg is not None else len(reply) // 2]
            self.remove()
        log.debug("sim %s → %d bytes", command.name, len(reply))
        return reply

    def _spend(self, fault: Fault) -> Fault:
        if fault.times:
            fault.times -= 1
            if not fault.times:
                self.faults.remove(fault)
        return fault

    def _normal(self, name: str) -> bytes:
        card = None if self.present is None else self.cards[self.present]
        if name == "sam_status":
            return codec.encode_reply(0x90)
        if name == "sam_reset":
            self.found = self.selected = False
            return codec.encode_reply(0x90)
        if name == "sam_id":
            return codec.encode_reply(0x90, self.sam_id.raw)
        if name == "find_card":
            if card is None or self.sliding:
                self.sliding = max(0, self.sliding - 1)
                return codec.encode_reply(0x80)
            self.found, self.selected = True, False
            return codec.encode_reply(0x9F, bytes(4))
        if name == "select_card":
            if card is None or not self.found:
                return codec.encode_reply(0x81)
            self.selected = True
            return codec.encode_reply(0x90, bytes(8))
        if card is None or not self.selected:
            return codec.encode_reply(0x41)
        if name == "read_newest_address":
            if not card.newest_address:
                return codec.encode_reply(0x91)
            return codec.encode_reply(0x90, card.newest_address[:35].ljust(35).encode("utf-16-le"))
        blocks = [card.text_block(), card.wlt()]
        if name == "read_text_photo_fp":
            blocks.append(card.fingerprint())
        return codec.encode_reply(0x90, codec.encode_blocks(*blocks))

    # -- control channel -----------------------------------------------------------
    def control(self, request: dict) -> dict:
        cmd = request.get("cmd")
        if cmd == "insert":
            card = request.get("card", 0)
            self.insert(None if card is None else int(card), int(request.get("sliding", 0)))
        elif cmd == "remove":
            self.remove()
        elif cmd == "fault":
            self.faults.append(Fault.parse(str(request.get("fault", "")), int(request.get("times", 1))))
        elif cmd == "clear":
            self.faults.clear()
            self.counts.clear()
        elif cmd == "add_card":
            self.cards.append(SimCard.from_json(request.get("card")))
            return {"index": len(self.cards) - 1, **self.state()}
        elif cmd != "state":
            raise ValueError(f"unknown control command {cmd!r}; known: insert, remove, fault, clear, "
                             f"add_card, state")
        return self.state()

    def state(self) -> dict:
        return {"card": self.present, "cards": len(self.cards), "sliding": self.sliding,
                "faults": [str(f) for f in self.faults], "counts": dict(self.counts)}


# -- building one ------------------------------------------------------------------
def _card_arg(value: str | None) -> int | None:
    if value is None or value == "":
        return 0
    return None if value.lower() == "none" else int(value)


def build(cards: str | None = None, card: str | None = None, sliding: int = 0,
          faults: list[str] | None = None, sam_id: str | None = None) -> SamSimulator:
    loaded, file_sam_id = _load(cards or DEMO_CARDS)
    return SamSimulator(loaded, card=_card_arg(card), sliding=sliding,
                        faults=[Fault.parse(s) for s in faults or [] if s.strip()],
                        sam_id=sam_id or file_sam_id)


def from_params(params: dict[str, str]) -> SamSimulator:
    """``sim://idcard?cards=PATH&card=N|none&sliding=N&fault=SPEC,SPEC&sam_id=ID``."""
    try:
        return build(params.get("cards"), params.get("card"), int(params.get("sliding", 0) or 0),
                     params.get("fault", "").split(","), params.get("sam_id"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"sim://idcard: {exc}", hint="see python -m drivers.idcard.sim --help for the "
                                                       "parameters and the cards file schema",
                          port="sim://idcard") from exc


def main(argv: list[str] | None = None) -> int:
    from drivers.simserve import serve_main

    parser = argparse.ArgumentParser(prog="python -m drivers.idcard.sim",
                                     description="Simulated resident ID card reader (SAM serial protocol) on a pty.")
    parser.add_argument("--cards", help=f"cards JSON file (default {DEMO_CARDS.relative_to(ROOT)})")
    parser.add_argument("--card", default="0", help="card on the reader at start: an index, or none")
    parser.add_argument("--sliding", type=int, default=0, help="find answers 'no card' this many times first")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="KIND[:ARG][@COMMAND], repeatable: sam_error:60, bad_checksum@find_card, "
                             "silent, truncate:600@read, pull_after_find, pull_after_select")
    parser.add_argument("--sam-id", help="the SAM id to report (05.01-20200101-0000012345-1234567890)")

    def make(args: argparse.Namespace) -> SamSimulator:
        try:
            return build(args.cards, args.card, args.sliding, args.fault, args.sam_id)
        except (OSError, ValueError) as exc:
            parser.error(str(exc))  # one line and exit status 2

    return serve_main(make, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
