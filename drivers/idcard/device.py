"""The resident ID card reader a caller uses: :class:`IdCardReader` over a
:class:`~drivers.link.SerialLink` speaking the SAM protocol of :mod:`.codec`.

A read is find (repeated while the SAM says "no card": the card may be sliding in)
→ select → read text + photo (+ fingerprint) → :class:`IdCardRecord`. Anything that
goes wrong after the find (SW3 0x41/0x80/0x81, a reply cut short or garbled) is
:class:`CardMoved`: the caller never sees half a record. Only status queries and
find are repeated; nothing else is retried.

Frames are traced at DEBUG on the ``drivers.idcard`` logger like every driver's,
except that the bytes of a card read (text block with the ID number, photo,
fingerprint) are withheld from the trace: personal data never goes to a log.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from drivers.errors import DeviceGone, DeviceTimeout, DriverError, PortUnavailable
from drivers.health import DEGRADED, DOWN, OK, Health
from drivers.idcard import codec
from drivers.idcard.errors import (BadRecord, CardMoved, DecoderUnavailable, IdCardFrameError, NoCard,
                                   ReplyCut, SamError)
from drivers.idcard.record import IdCardRecord
from drivers.idcard.wlt import WltDecoder
from drivers.link import SerialLink

log = logging.getLogger("drivers.idcard.reader")

# After a successful find these mean the card left the field.
MOVED_CODES = (0x41, 0x80, 0x81)
READ_COMMANDS = ("read_text_photo", "read_text_photo_fp", "read_newest_address")


@dataclass(frozen=True)
class SamStatus:
    ok: bool
    code: int
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.code:02X} {self.zh} / {self.en}"


class IdCardReader:
    """A SAM ID card reader on one port.

    ``url`` is any transport URL (``serial:///dev/kiosk-idreader``, ``sim://idcard``,
    a bare path). ``timeout`` bounds each reply; ``find_window`` how long :meth:`read`
    keeps finding while a card slides in; ``byte_gap`` how long a reply may pause
    mid-frame before it counts as cut off; ``decoder`` turns the WLT photo into an
    image (:mod:`.wlt`), None when no vendor library is configured.
    """

    def __init__(self, url: str, *, baudrate: int = 115200, timeout: float = 1.5,
                 find_window: float = 3.0, find_interval: float = 0.1, byte_gap: float = 0.1,
                 decoder: WltDecoder | None = None, name: str = "idcard") -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.find_window = find_window
        self.find_interval = find_interval
        self.byte_gap = byte_gap
        self.decoder = decoder
        # No gap between transactions: the SAM takes the next command as soon as it replied.
        self._link = SerialLink(url, codec.scan, name=name, baudrate=baudrate, read_timeout=0.01, gap=0.0)

    # -- lifetime ------------------------------------------------------------------
    @property
    def port_name(self) -> str:
        return self._link.port_name

    def open(self) -> "IdCardReader":
        self._link.open()
        return self

    def close(self) -> None:
        self._link.close()

    def __enter__(self) -> "IdCardReader":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one command -----------------------------------------------------------------
    def _exchange(self, command: codec.Command, timeout: float) -> codec.Reply:
        """Send one command and return its reply frame, decoded.

        Raises :class:`ReplyCut` when a reply began but stopped short or arrived
        garbled (no valid frame ``byte_gap`` after the last byte), and
        :class:`DeviceTimeout` when nothing came at all."""
        link = self._link
        with link.lock:
            link.discard_input()
            link.write(codec.encode_command(command))
            deframer = link.deframer
            dropped_before = deframer.dropped
            started = time.monotonic()
            deadline = started + timeout
            seen, last_change = 0, started
            while (now := time.monotonic()) < deadline:
                frames = link.read_frames(min(deadline, now + 0.02), until=lambda frame: True)
                if frames:
                    return codec.decode_reply(frames[-1])
                progress = len(deframer.pending()) + deframer.dropped - dropped_before
                if progress != seen:
                    seen, last_change = progress, time.monotonic()
                elif seen and time.monotonic() - last_change >= self.byte_gap:
                    break
            if seen:
                raise ReplyCut(f"应答不完整或已损坏 / {command.doc}: reply cut short or garbled after "
                               f"{seen} bytes", hint="读卡时卡片离开，或波特率错误 / the card left, or the baud "
                                                     "rate is wrong", port=self.port_name)
            raise DeviceTimeout(f"读卡器无应答 / {self._link.name} on {self.port_name}: no reply to "
                                f"{command.doc} within {timeout * 1000:.0f} ms", hint=_NO_REPLY_HINT,
                                port=self.port_name)

    def _call(self, name: str, *, timeout: float | None = None) -> object:
        command = codec.BY_NAME[name]
        sensitive = name in READ_COMMANDS
        if sensitive:
            with self._link.withholding():
                reply = self._exchange(command, timeout or self.timeout)
        else:
            reply = self._exchange(command, timeout or self.timeout)
        try:
            return codec.parse_data(command, reply)
        except (SamError, IdCardFrameError) as exc:
            exc.port = exc.port or self.port_name
            raise

    def _query(self, name: str, *, timeout: float | None = None) -> object:
        """A command safe to repeat (status, SAM id): one more try after a garbled reply."""
        try:
            return self._call(name, timeout=timeout)
        except ReplyCut:
            log.debug("idcard: garbled reply to %s, asking again", name)
            return self._call(name, timeout=timeout)

    # -- the SAM ---------------------------------------------------------------------
    def sam_status(self, *, timeout: float | None = None) -> SamStatus:
        """The SAM's own status (SW3 0x90 is ok). A failure code is returned, not raised."""
        try:
            self._query("sam_status", timeout=timeout)
        except SamError as exc:
            zh, en, _ = codec.describe(exc.code)
            return SamStatus(False, exc.code, zh, en)
        return SamStatus(True, 0x90, *codec.describe(0x90)[:2])

    def sam_id(self, *, timeout: float | None = None) -> codec.SamId:
        return self._query("sam_id", timeout=timeout)  # type: ignore[return-value]

    def reset_sam(self) -> None:
        self._call("sam_reset")

    # -- the card ----------------------------------------------------------------------
    def find_card(self) -> bool:
        """One find: is a card on the reader now?"""
        try:
            self._call("find_card")
        except SamError as exc:
            if exc.code == 0x80:
                return False
            raise
        return True

    def _find(self, window: float) -> None:
        deadline = time.monotonic() + window
        while True:
            try:
                if self.find_card():
                    return
            except ReplyCut:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() + self.find_interval > deadline:
                raise NoCard(self.port_name, waited=window)
            time.sleep(self.find_interval)

    def _select_and(self, name: str) -> object:
        """select, then ``name``; anything that says the card left becomes CardMoved."""
        stage = "select_card"
        try:
            self._call(stage)
            stage = name
            return self._call(name)
        except SamError as exc:
            if exc.code in MOVED_CODES:
                raise CardMoved(self.port_name, stage=stage, code=exc.code) from exc
            raise
        except ReplyCut as exc:
            raise CardMoved(self.port_name, stage=stage) from exc

    def read(self, *, fingerprint: bool = False, find_window: float | None = None) -> IdCardRecord:
        """Find → select → read → a checked :class:`IdCardRecord`, or an error: :class:`NoCard`,
        :class:`CardMoved`, :class:`SamError`, :class:`BadRecord` / :class:`InvalidIdNumber`."""
        with self._link.lock:
            self._find(self.find_window if find_window is None else find_window)
            blocks = self._select_and("read_text_photo_fp" if fingerprint else "read_text_photo")
        try:
            record = IdCardRecord.from_blocks(blocks)  # type: ignore[arg-type]
        except BadRecord as exc:
            exc.port = self.port_name
            log.warning("idcard on %s: refused the card: %s", self.port_name, exc.message)
            raise
        log.info("idcard: read card %s", record.masked_id)
        return record

    def read_newest_address(self, *, find_window: float | None = None) -> str | None:
        """The newest address the card carries (追加住址), or None when it has none."""
        with self._link.lock:
            self._find(self.find_window if find_window is None else find_window)
            return self._select_and("read_newest_address")  # type: ignore[return-value]

    def photo_image(self, record: IdCardRecord) -> bytes:
        """The record's photo as BMP/JPEG bytes, in memory, through the configured decoder."""
        if self.decoder is None:
            raise DecoderUnavailable("未配置照片解码库 / no WLT photo decoder configured",
                                     hint="set idcard.wlt_decoder to the vendor's library; face checks "
                                          "can use the household record's photo instead", port=self.port_name)
        return self.decoder.decode(record.photo)

    # -- doctor ---------------------------------------------------------------------------
    def health(self, *, timeout: float = 0.5) -> Health:
        """Does the SAM answer on this port? With the fix for the usual failures."""
        device = "idcard reader (SAM)"
        data: dict = {"port": self.url, "baud": self.baudrate,
                      "wlt_decoder": type(self.decoder).__name__ if self.decoder else None}
        try:
            status = self.sam_status(timeout=timeout)
        except PortUnavailable as exc:
            return Health(device, self.url, DOWN, exc.message,
                          exc.hint + "; is idcard.url the reader's port? (udev name /dev/kiosk-idreader)", data)
        except DeviceGone as exc:
            return Health(device, self.url, DOWN, exc.message, exc.hint, data)
        except DeviceTimeout:
            return Health(device, self.url, DOWN, f"no reply from the SAM on {self.port_name} "
                                                  f"at {self.baudrate} baud", _NO_REPLY_HINT, data)
        except IdCardFrameError:
            return Health(device, self.url, DOWN,
                          f"bytes arrive on {self.port_name} but no valid SAM frame at {self.baudrate} baud",
                          "most likely a wrong baud rate: the SAM may be set to 115200, 57600, 38400, 19200 "
                          "or 9600 (idcard.baud); else another device is on this port", data)
        except DriverError as exc:
            return Health(device, self.url, DOWN, exc.message, exc.hint, data)
        if not status.ok:
            return Health(device, self.url, DOWN, f"SAM reports {status}",
                          codec.describe(status.code)[2], {**data, "sw3": status.code})
        try:
            data["sam_id"] = str(self.sam_id(timeout=timeout))
        except DriverError as exc:
            return Health(device, self.url, DEGRADED, f"SAM ok but its id is unreadable: {exc.message}",
                          exc.hint or "reset the reader (unplug and replug)", data)
        return Health(device, self.url, OK, f"SAM ok on {self.port_name}, id {data['sam_id']}", "", data)


_NO_REPLY_HINT = ("检查端口、波特率与电源 / check this is the ID reader's port (not another USB-serial device), "
                  "the baud rate (SAM default 115200; it may be set to 57600/38400/19200/9600), "
                  "and the reader's USB cable and power")
