"""The serial link as a lock bus uses it: one transaction, knowing the reply it awaits.

:class:`ReplyLink` is :class:`drivers.link.SerialLink` (port lifetime, lock, gap,
hex tracing, a vanished port turned into DeviceGone naming it) plus
:meth:`ReplyLink.exchange`, which runs a whole transaction in one hold of the lock
and knows two things the bytes alone do not tell, but the request does:

* how long a bcc "query all" reply is (the framer needs it: a whole-board reply
  and a one-door reply both start ``80 BB``);
* how many bytes to ask the port for when none are waiting yet. ``read_frames``
  asks for one, so a reply costs two wake-ups (its first byte, then the rest);
  asking for the whole reply costs one.

Both, and doing the steps of ``transact`` without re-entering the lock and
re-checking the port at each, are most of the difference to bare pyserial in
``bench/bench_lockboard.py`` (an unlock path runs cold: the CPU has idled since
the last one).

It uses SerialLink's internals (``_gap``, ``_last_end``, ``_ready``, ``_gone``):
should the shared link grow such an ``exchange`` (or an ``expect`` argument to
``transact``), this module shrinks to the framer.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import serial

from drivers.errors import DeviceGone
from drivers.framing import Scan
from drivers.link import Accept, SerialLink
from drivers.lockboard.codec import Family


class ReplyFramer:
    """The link's scanner: the family's reply framer plus what the bus now awaits."""

    def __init__(self, fam: Family) -> None:
        self.family = fam
        self.board_reply_length = 0  # a bcc whole-board reply's length, while one is awaited

    def __call__(self, buf: bytes) -> Scan:
        return self.family.scan_reply(buf, self.board_reply_length)


@dataclass
class Exchange:
    """What one transaction saw."""

    frames: list[bytes]  # validated frames, the accepted one last
    garbage: int  # bytes that arrived and failed validation
    sent_at: float  # wall clock when the request went out
    gone: DeviceGone | None = None  # the port vanished *after* the request went out


class ReplyLink(SerialLink):
    def __init__(self, url: str, fam: Family, *, name: str, baudrate: int | None = None,
                 gap: float = 0.005) -> None:
        self.framer = ReplyFramer(fam)
        super().__init__(url, self.framer, name=name, baudrate=baudrate, gap=gap)

    def exchange(self, request: bytes, *, timeout: float, until: Accept | None = None,
                 silence: float | None = None, expect: int = 1, board_reply_length: int = 0) -> Exchange:
        """Drop stale input, keep the gap, send ``request``, then read frames until
        ``until`` accepts one, ``silence`` follows a frame, or ``timeout`` passes.

        ``expect`` is the awaited reply's length. Raises DeviceGone or
        PortUnavailable when the request could not be sent; a port that vanishes
        after it was sent is reported in :attr:`Exchange.gone` instead, because the
        request may have acted (an unlock must then be "unknown", not an error)."""
        with self.lock:
            port = self.open()
            deframer = self.deframer
            try:
                stale = port.in_waiting
                if stale:  # a late reply to an earlier request, or line noise
                    deframer.feed(port.read(stale))
                    self.log.debug("%s: discarded %d stale bytes", self.name, stale)
                deframer.clear()
                self._ready.clear()  # frames a read_frames() kept for later: stale too
                before = deframer.dropped
                wait = self._gap - (time.monotonic() - self._last_end)
                if wait > 0:
                    time.sleep(wait)
                port.write(request)
                port.flush()
            except (serial.SerialException, OSError) as exc:
                raise self._gone(exc) from exc
            sent_at = time.time()
            trace = self.log.isEnabledFor(logging.DEBUG)
            if trace:
                self.log.debug("%s TX %s", self.name, request.hex(" "))
            self.framer.board_reply_length = board_reply_length
            frames: list[bytes] = []
            gone = None
            last_byte = time.monotonic()
            deadline = last_byte + timeout
            # pyserial's read(n) returns early only once n bytes are in: ask for the
            # whole awaited reply, not one byte, so that it costs a single wake-up
            want = expect
            try:
                while True:
                    now = time.monotonic()
                    if now >= deadline or (silence is not None and frames and now - last_byte >= silence):
                        break
                    chunk = port.read(want)
                    if chunk:
                        last_byte = time.monotonic()
                        if trace:
                            self.log.debug("%s RX %s", self.name, chunk.hex(" "))
                        if self._take(deframer.feed(chunk), frames, until):
                            break
                    want = port.in_waiting or max(1, expect - len(deframer.pending()))
            except (serial.SerialException, OSError) as exc:
                gone = self._gone(exc)
            finally:
                self.framer.board_reply_length = 0
                self._last_end = time.monotonic()
            garbage = deframer.dropped - before + len(deframer.pending())
        return Exchange(frames, garbage, sent_at, gone)

    @staticmethod
    def _take(new: list[bytes], frames: list[bytes], until: Accept | None) -> bool:
        """Append ``new`` frames up to the one ``until`` accepts; True once accepted."""
        for frame in new:
            frames.append(frame)
            if until is not None and until(frame):
                return True
        return False
