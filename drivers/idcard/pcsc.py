"""PC/SC smart-card readers through pcscd (pyscard): staff cards, social security
cards, NFC tags. The resident ID card is *not* read here (its SAM reader is serial:
see shared/protocols/idcard.md).

This module owns: choosing a reader by part of its name, waiting for a card to
arrive or leave, the ATR, the UID (PC/SC Part 3 ``FF CA 00 00 00``), APDU exchange
with status words checked and mapped to typed errors (:mod:`drivers.idcard.pcsc_errors`),
the ``doctor`` health check, and the diagnostic CLI::

    python -m drivers.idcard.pcsc list                      [--reader TEXT] [--json]
    python -m drivers.idcard.pcsc wait [--timeout S] [--removed]
    python -m drivers.idcard.pcsc uid
    python -m drivers.idcard.pcsc apdu "00 A4 04 00 07 F0 4B 49 4F 53 4B 01"
    python -m drivers.idcard.pcsc health

Exit status: 0 ok · 1 pcscd or reader problem · 2 usage (bad hex) · 3 no card, timeout or card
taken away · 4 the card answered an error status word.

Configuration ``[pcsc] reader = "ACS"`` → ``PcscReader("ACS")``; ``""`` means the
first reader, real readers before virtual ones ("Virtual PCD …" from vsmartcard's
vpcd). Which pcscd is used: libpcsclite's ``PCSCLITE_CSOCK_NAME`` (read once per
process) or ``/run/pcscd/pcscd.comm``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from smartcard import scard

from drivers.errors import ConfigError, DriverError
from drivers.health import DEGRADED, DOWN, OK, Health
from drivers.idcard import pcsc_errors as E
from drivers.idcard.pcscd import DEFAULT_SOCKET, SOCKET_ENV

log = logging.getLogger("drivers.idcard.pcsc")

GET_UID = bytes.fromhex("FFCA000000")
VIRTUAL_READERS = ("Virtual PCD",)  # vsmartcard's vpcd: tests and demo only
_PROTOCOLS = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
_CONTEXT_LOST = (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE)
_READER_LOST = scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_IGNORE

_FIX_SERVICE = ("start pcscd: `systemctl enable --now pcscd.socket` (Debian package pcscd); "
                f"if {SOCKET_ENV} is set it must name that daemon's socket")
_FIX_NO_READER = ("plug the reader in and check `lsusb`; USB CCID readers need the libccid "
                  "package; restart pcscd after installing a driver")
_FIX_NO_CARD = "请把卡片放在读卡区 (place the card on the reader)"

# SCARD_* code → (error class, Chinese, English, hint). Data, not a ladder of ifs.
_SCARD_ERRORS: dict[int, tuple[type[E.PcscError], str, str, str]] = {
    scard.SCARD_E_NO_SERVICE: (E.PcscServiceUnavailable, "读卡服务未运行", "pcscd is not running", _FIX_SERVICE),
    scard.SCARD_E_SERVICE_STOPPED: (E.PcscServiceUnavailable, "读卡服务已停止", "pcscd stopped", _FIX_SERVICE),
    scard.SCARD_E_NO_READERS_AVAILABLE: (E.ReaderNotFound, "没有读卡器", "no reader", _FIX_NO_READER),
    scard.SCARD_E_UNKNOWN_READER: (E.ReaderNotFound, "找不到读卡器", "unknown reader", _FIX_NO_READER),
    scard.SCARD_E_READER_UNAVAILABLE: (E.ReaderGone, "读卡器已断开", "reader unavailable", _FIX_NO_READER),
    scard.SCARD_E_SHARING_VIOLATION: (E.ReaderBusy, "读卡器被其他程序占用", "card held exclusively by another program",
                                      "find it with `fuser /run/pcscd/pcscd.comm`; stop it"),
    scard.SCARD_E_NO_SMARTCARD: (E.NoCard, "读卡器上没有卡片", "no card", _FIX_NO_CARD),
    scard.SCARD_W_REMOVED_CARD: (E.CardRemoved, "卡片已移开", "card removed", _FIX_NO_CARD),
    scard.SCARD_W_RESET_CARD: (E.CardRemoved, "卡片被其他程序复位", "card reset by another program",
                               "read the card again"),
    scard.SCARD_W_UNRESPONSIVE_CARD: (E.CardUnresponsive, "卡片无响应", "card does not answer",
                                      "turn the card over or try another; the card type may be unsupported"),
    scard.SCARD_W_UNPOWERED_CARD: (E.CardUnresponsive, "卡片未上电", "card not powered", "place the card again"),
    scard.SCARD_E_TIMEOUT: (E.CardTimeout, "等待超时", "timed out", ""),
    scard.SCARD_E_CANCELLED: (E.CardTimeout, "等待已取消", "wait cancelled", ""),
}

# Status word → (error class, Chinese, English). Anything else ≠ 90 00 is ApduError.
_STATUS_WORDS: dict[int, tuple[type[E.ApduError], str, str]] = {
    0x6700: (E.WrongLength, "指令长度错误", "wrong length"),
    0x6982: (E.SecurityNotSatisfied, "卡片拒绝访问", "security status not satisfied"),
    0x6986: (E.CommandNotAllowed, "未选择文件", "command not allowed (no file selected)"),
    0x6A82: (E.FileNotFound, "卡片上没有该应用或文件", "file or application not found"),
    0x6A86: (E.WrongParameters, "指令参数错误", "wrong P1 P2"),
    0x6B00: (E.WrongParameters, "读取位置超出文件", "offset outside the file"),
    0x6D00: (E.InstructionNotSupported, "卡片不支持该指令", "instruction not supported"),
    0x6E00: (E.ClassNotSupported, "卡片不支持该指令类别", "class not supported"),
}


def scard_error(code: int, action: str, reader: str = "") -> E.PcscError:
    """The typed error for a failed SCard call (``action`` says what was tried)."""
    cls, zh, en, hint = _SCARD_ERRORS.get(code, (E.PcscFailure, "读卡器错误", "", ""))
    where = f" on {reader!r}" if reader else ""
    en = en or scard.SCardGetErrorMessage(code).rstrip(".")
    message = f"{zh} ({en}: {action}{where}; 0x{code & 0xFFFFFFFF:08X})"
    if cls is E.PcscFailure:
        return E.PcscFailure(message, code=code, hint="see pcscd's log: `journalctl -u pcscd`",
                             port=reader)
    return cls(message, hint=hint, port=reader)


def parse_hex(text: str) -> bytes:
    """``"FF CA 00 00 00"``, ``"ff:ca:00:00:00"`` or ``"FFCA000000"`` → bytes."""
    try:
        value = bytes.fromhex(text.replace(":", " ").replace("-", " "))
    except ValueError:
        raise ConfigError(f"not hex: {text!r}", hint='write the APDU as hex, e.g. "FF CA 00 00 00"') from None
    if len(value) < 4:
        raise ConfigError(f"an APDU has at least 4 bytes, got {len(value)}",
                          hint="CLA INS P1 P2 [Lc data] [Le]")
    return value


def is_virtual(reader: str) -> bool:
    return any(reader.startswith(prefix) for prefix in VIRTUAL_READERS)


@dataclass(frozen=True)
class Response:
    """A response APDU: ``data`` then SW1 SW2."""

    data: bytes
    sw1: int
    sw2: int

    @property
    def sw(self) -> int:
        return self.sw1 << 8 | self.sw2

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000

    def error(self, reader: str = "") -> E.ApduError:
        cls, zh, en = _STATUS_WORDS.get(self.sw, (E.ApduError, "卡片返回错误", "error status word"))
        return cls(f"{zh} ({en}: SW {self.sw:04X} from {reader or 'the card'})", sw=self.sw,
                   data=self.data, hint="see ISO 7816-4 status words; the card or the APDU "
                                        "does not fit this command", port=reader)


@dataclass(frozen=True)
class CardEvent:
    """A card seen on a reader."""

    reader: str
    atr: bytes


class Card:
    """A connected card (shared mode): use as a context manager, then it is released."""

    def __init__(self, context: int, reader: str) -> None:
        self.reader = reader
        hr, self._handle, self.protocol = scard.SCardConnect(context, reader, scard.SCARD_SHARE_SHARED,
                                                             _PROTOCOLS)
        if hr != scard.SCARD_S_SUCCESS:
            raise scard_error(hr, "connect", reader)
        hr, _name, _state, _proto, atr = scard.SCardStatus(self._handle)
        if hr != scard.SCARD_S_SUCCESS:
            self.close()
            raise scard_error(hr, "status", reader)
        self.atr = bytes(atr)

    def transmit(self, apdu: bytes, *, check: bool = True) -> Response:
        """Send one command APDU; follow 61 xx (GET RESPONSE) and 6C xx (resend with
        the right Le). With ``check``, a status word other than 90 00 raises."""
        if len(apdu) < 4:
            raise ConfigError(f"an APDU has at least 4 bytes, got {apdu.hex(' ') or 'none'}",
                              hint="CLA INS P1 P2 [Lc data] [Le]", port=self.reader)
        response = self._exchange(apdu)
        has_short_le = len(apdu) == 5 or (len(apdu) > 5 and len(apdu) == 6 + apdu[4])
        if response.sw1 == 0x6C and has_short_le:  # "wrong Le, use SW2": safe, nothing was done
            response = self._exchange(apdu[:-1] + bytes([response.sw2]))
        data = response.data
        get_response_cla = 0x00 if apdu[0] == 0xFF else apdu[0] & 0x03
        for _ in range(64):  # a card that never stops saying "more" is broken, not endless
            if response.sw1 != 0x61:
                break
            response = self._exchange(bytes([get_response_cla, 0xC0, 0, 0, response.sw2]))
            data += response.data
        response = Response(data, response.sw1, response.sw2)
        if check and not response.ok:
            raise response.error(self.reader)
        return response

    def uid(self) -> bytes:
        """The card's UID (PC/SC Part 3 GET DATA). Contact cards have none: 6A 81/6D 00."""
        return self.transmit(GET_UID).data

    def _exchange(self, apdu: bytes) -> Response:
        hr, raw = scard.SCardTransmit(self._handle, self.protocol, list(apdu))
        if hr != scard.SCARD_S_SUCCESS:
            raise scard_error(hr, f"transmit {apdu[:4].hex(' ')}", self.reader)
        raw = bytes(raw)
        log.debug("%s > %s < %s", self.reader, apdu.hex(" "), raw.hex(" "))
        if len(raw) < 2:
            raise E.PcscFailure(f"卡片应答不完整 (response of {len(raw)} bytes from {self.reader})",
                                hint="the card or reader is faulty; place the card again", port=self.reader)
        return Response(raw[:-2], raw[-2], raw[-1])

    def close(self) -> None:
        if self._handle:
            scard.SCardDisconnect(self._handle, scard.SCARD_LEAVE_CARD)
            self._handle = 0

    def __enter__(self) -> "Card":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PcscReader:
    """One configured reader: ``reader`` is part of its name ("" = the first one).

    Thread use: one thread waits/reads; another may call :meth:`cancel`.
    """

    def __init__(self, reader: str = "") -> None:
        self.wanted = reader
        self._context = 0
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> "PcscReader":
        """``pcsc://`` (first reader) or ``pcsc://ACS%20ACR122U`` (part of the name)."""
        parts = urlsplit(url)
        if parts.scheme != "pcsc":
            raise ConfigError(f"not a pcsc:// URL: {url!r}", hint="write pcsc://PART-OF-NAME or pcsc://")
        return cls(unquote(parts.netloc + parts.path).strip("/"))

    @property
    def url(self) -> str:
        return f"pcsc://{self.wanted}"

    # -- context ---------------------------------------------------------------------
    def _ctx(self) -> int:
        with self._lock:
            if not self._context:
                hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
                if hr != scard.SCARD_S_SUCCESS:
                    raise scard_error(hr, f"connect to pcscd at {os.environ.get(SOCKET_ENV, DEFAULT_SOCKET)}")
                self._context = context
            return self._context

    def _forget_if_gone(self, error: E.PcscError) -> E.PcscError:
        # A stopped pcscd invalidates the context: drop it so the next call makes a new one.
        if isinstance(error, E.PcscServiceUnavailable):
            self.close()
        return error

    def close(self) -> None:
        with self._lock:
            if self._context:
                scard.SCardReleaseContext(self._context)
                self._context = 0

    def cancel(self) -> None:
        """Make a wait in another thread end now with :class:`CardTimeout`."""
        if self._context:
            scard.SCardCancel(self._context)

    def __enter__(self) -> "PcscReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- readers ---------------------------------------------------------------------
    def readers(self) -> list[str]:
        """Every reader pcscd sees (empty list when none). Every operation starts here,
        so this is where a restarted pcscd is noticed and a new context made."""
        had_context = bool(self._context)
        hr, names = scard.SCardListReaders(self._ctx(), [])
        if hr in _CONTEXT_LOST and had_context:
            self.close()
            hr, names = scard.SCardListReaders(self._ctx(), [])
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hr != scard.SCARD_S_SUCCESS:
            raise self._forget_if_gone(scard_error(hr, "list readers"))
        return list(names)

    def candidates(self) -> list[str]:
        """Readers matching the configured name, real before virtual; never empty."""
        names = self.readers()
        matching = [n for n in names if self.wanted.casefold() in n.casefold()]
        if not matching:
            seen = ", ".join(names) or "none"
            what = (f"找不到名称含 {self.wanted!r} 的读卡器 (no reader matches {self.wanted!r}; "
                    f"readers: {seen})" if self.wanted else "没有读卡器 (pcscd sees no reader)")
            raise E.ReaderNotFound(
                what,
                hint=(f"set [pcsc] reader to part of one of: {seen}, or empty for the first"
                      if names else _FIX_NO_READER), port=self.url)
        return sorted(matching, key=is_virtual)  # stable: keeps pcscd's order otherwise

    def resolve(self) -> str:
        """The reader to use."""
        return self.candidates()[0]

    # -- cards -----------------------------------------------------------------------
    def _watch(self, readers: list[str], timeout: float, done: Callable[[int], int],
               removal: bool = False) -> CardEvent:
        """Follow reader states until ``done(state)`` holds for one of them."""
        states = [(name, scard.SCARD_STATE_UNAWARE) for name in readers]
        deadline = time.monotonic() + timeout
        while True:
            wait_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hr, result = scard.SCardGetStatusChange(self._ctx(), wait_ms, states)
            if hr == scard.SCARD_E_TIMEOUT:
                on = ", ".join(readers)
                raise (E.CardTimeout(f"卡片仍在读卡器上 (card still on {on} after {timeout:g} s)",
                                     hint="请取走卡片 (take the card away)", port=self.url) if removal
                       else E.CardTimeout(f"等待超时 (no card on {on} within {timeout:g} s)",
                                          hint=_FIX_NO_CARD, port=self.url))
            if hr != scard.SCARD_S_SUCCESS:
                raise self._forget_if_gone(scard_error(hr, "wait for a card", ", ".join(readers)))
            for name, event, atr in result:
                if event & _READER_LOST:
                    raise E.ReaderGone(f"读卡器已断开 (reader {name!r} went away)",
                                       hint=_FIX_NO_READER, port=name)
                if done(event):
                    if event & scard.SCARD_STATE_MUTE:
                        raise scard_error(scard.SCARD_W_UNRESPONSIVE_CARD, "read the ATR", name)
                    return CardEvent(name, bytes(atr))
            states = [(name, event & ~scard.SCARD_STATE_CHANGED) for name, event, _ in result]

    def card_present(self) -> CardEvent | None:
        """The first candidate reader holding a card, now, or None."""
        try:
            return self._watch(self.candidates(), 0, lambda s: s & scard.SCARD_STATE_PRESENT)
        except E.CardTimeout:
            return None

    def wait_for_card(self, timeout: float) -> CardEvent:
        """Return as soon as a card is on a candidate reader (at once if one is)."""
        return self._watch(self.candidates(), timeout, lambda s: s & scard.SCARD_STATE_PRESENT)

    def wait_for_removal(self, timeout: float, reader: str = "") -> None:
        """Return when ``reader`` (default: every candidate) holds no card."""
        deadline = time.monotonic() + timeout
        for name in [reader] if reader else self.candidates():
            self._watch([name], max(0.0, deadline - time.monotonic()),
                        lambda s: s & scard.SCARD_STATE_EMPTY, removal=True)

    def connect(self) -> Card:
        """Connect to the card on the first candidate reader that holds one."""
        present = self.card_present()
        if present is None:
            readers = ", ".join(self.candidates())
            raise E.NoCard(f"读卡器上没有卡片 (no card on {readers})", hint=_FIX_NO_CARD, port=self.url)
        try:
            return Card(self._ctx(), present.reader)
        except E.PcscError as exc:
            raise self._forget_if_gone(exc)

    def atr(self) -> bytes:
        with self.connect() as card:
            return card.atr

    def uid(self) -> bytes:
        with self.connect() as card:
            return card.uid()

    def transmit(self, apdu: bytes, *, check: bool = True) -> Response:
        with self.connect() as card:
            return card.transmit(apdu, check=check)

    # -- doctor ----------------------------------------------------------------------
    def health(self) -> Health:
        return health(self.wanted, reader=self)


def health(wanted: str = "", *, reader: PcscReader | None = None) -> Health:
    """What ``doctor`` shows for the PC/SC reader configured as ``[pcsc] reader``."""
    device = reader or PcscReader(wanted)
    try:
        return _health(device)
    finally:
        if reader is None:
            device.close()


def _health(device: PcscReader) -> Health:
    url, socket_path = device.url, os.environ.get(SOCKET_ENV, DEFAULT_SOCKET)
    try:
        names = device.readers()
        if not names:
            return Health("pcsc reader", url, DOWN, f"pcscd runs ({socket_path}) but sees no reader",
                          fix=_FIX_NO_READER, data={"readers": [], "socket": socket_path})
        chosen = device.resolve()
        present = device.card_present()
    except E.PcscServiceUnavailable as exc:
        return Health("pcsc reader", url, DOWN, f"pcscd is not running (no answer on {socket_path})",
                      fix=exc.hint, data={"socket": socket_path})
    except DriverError as exc:
        return Health("pcsc reader", url, DOWN, exc.message, fix=exc.hint, data={"socket": socket_path})
    virtual = [n for n in names if is_virtual(n)]
    data = {"readers": names, "reader": chosen, "card": bool(present), "socket": socket_path,
            "atr": present.atr.hex().upper() if present else "", "virtual_readers": virtual}
    card = f"card present (ATR {present.atr.hex(' ').upper()})" if present else "no card"
    if virtual and len(virtual) < len(names):
        return Health("pcsc reader", url, DEGRADED, f"reader {chosen!r} ready, {card}; virtual "
                      f"readers also present: {', '.join(virtual)}",
                      fix="remove /etc/reader.conf.d/vpcd (package vsmartcard-vpcd) on a production "
                          "kiosk: vpcd accepts virtual cards from the network on TCP 35963", data=data)
    note = " (virtual reader: tests and demo only)" if is_virtual(chosen) else ""
    return Health("pcsc reader", url, OK, f"reader {chosen!r} ready{note}, {card}", data=data)


# -- CLI ------------------------------------------------------------------------------

def _exit_status(exc: DriverError) -> int:
    if isinstance(exc, ConfigError):
        return 2
    if isinstance(exc, E.ApduError):
        return 4
    if isinstance(exc, (E.NoCard, E.CardTimeout, E.CardRemoved, E.CardUnresponsive)):
        return 3
    return 1


def _run(args: argparse.Namespace, reader: PcscReader) -> tuple[dict[str, Any], str, int]:
    """Do the command: (JSON result, text line, exit status)."""
    if args.command == "list":
        names = reader.readers()
        chosen = reader.resolve()  # raises with the list when nothing matches
        return {"readers": names, "reader": chosen}, "\n".join(names), 0
    if args.command == "wait":
        start = time.monotonic()
        if args.removed:
            reader.wait_for_removal(args.timeout)
            took = time.monotonic() - start
            return {"removed": True, "seconds": round(took, 3)}, f"card removed ({took:.2f} s)", 0
        event = reader.wait_for_card(args.timeout)
        took = time.monotonic() - start
        return ({"reader": event.reader, "atr": event.atr.hex().upper(), "seconds": round(took, 3)},
                f"card on {event.reader!r}: ATR {event.atr.hex(' ').upper()} ({took:.2f} s)", 0)
    if args.command == "uid":
        with reader.connect() as card:
            uid = card.uid()
            return {"reader": card.reader, "uid": uid.hex().upper()}, uid.hex().upper(), 0
    if args.command == "apdu":
        command = parse_hex(args.hex)
        with reader.connect() as card:
            response = card.transmit(command, check=True)
            return ({"reader": card.reader, "data": response.data.hex().upper(), "sw": f"{response.sw:04X}"},
                    f"{response.data.hex(' ').upper()} {response.sw1:02X} {response.sw2:02X}".strip(), 0)
    result = reader.health()  # "health"
    text = f"{result.state}: {result.detail}" + (f" — {result.fix}" if result.fix else "")
    return result.as_dict(), text, 1 if result.state == DOWN else 0


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--reader", default="", help="part of the reader's name (default: the first)")
    common.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser = argparse.ArgumentParser(prog="python -m drivers.idcard.pcsc",
                                     description="PC/SC reader diagnostics (pcscd + pyscard).")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", parents=[common], help="list readers")
    wait = sub.add_parser("wait", parents=[common], help="wait for a card (or its removal)")
    wait.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    wait.add_argument("--removed", action="store_true", help="wait until the card is taken away")
    sub.add_parser("uid", parents=[common], help="read the card's UID (FF CA 00 00 00)")
    apdu = sub.add_parser("apdu", parents=[common], help="send one command APDU")
    apdu.add_argument("hex", help='the APDU in hex, e.g. "00 A4 04 00 07 F0 4B 49 4F 53 4B 01"')
    sub.add_parser("health", parents=[common], help="what doctor reports")
    args = parser.parse_args(argv)
    reader = PcscReader(args.reader)
    try:
        result, text, status = _run(args, reader)
    except DriverError as exc:
        status = _exit_status(exc)
        if args.json:
            print(json.dumps({"error": type(exc).__name__, "message": exc.message, "hint": exc.hint,
                              **({"sw": f"{exc.sw:04X}"} if isinstance(exc, E.ApduError) else {})},
                             ensure_ascii=False))
        print(f"error: {exc}", file=sys.stderr)
        return status
    finally:
        reader.close()
    print(json.dumps(result, ensure_ascii=False) if args.json else text)
    return status


if __name__ == "__main__":
    sys.exit(main())
