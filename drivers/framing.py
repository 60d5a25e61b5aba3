"""The incremental framer contract every codec implements.

A codec's ``scan(buf)`` looks at the start of a byte buffer and answers one of:

* ``Scan.need()``       – not enough bytes yet to decide;
* ``Scan.drop(n)``      – the first ``n`` bytes are garbage: drop them and resync;
* ``Scan.frame(n)``     – the first ``n`` bytes are one complete, *validated* frame.

``scan`` never blocks, never raises, and never trusts a length or checksum it has
not checked. :class:`Deframer` turns a stream of chunks into frames with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass(frozen=True, slots=True)
class Scan:
    kind: str  # "need" | "drop" | "frame"
    length: int = 0

    @staticmethod
    def need() -> "Scan":
        return _NEED

    @staticmethod
    def drop(n: int) -> "Scan":
        if n <= 0:
            raise ValueError("drop needs a positive length")
        return Scan("drop", n)

    @staticmethod
    def frame(n: int) -> "Scan":
        if n <= 0:
            raise ValueError("a frame has a positive length")
        return Scan("frame", n)


_NEED = Scan("need", 0)

Scanner = Callable[[bytes], Scan]


class Deframer:
    """Accumulates bytes and yields validated frames; counts dropped garbage."""

    def __init__(self, scan: Scanner, *, max_buffer: int = 64 * 1024) -> None:
        self._scan = scan
        self._buf = bytearray()
        self._max = max_buffer
        self.dropped = 0  # garbage bytes discarded since creation
        self.frames = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        return list(self._drain())

    def _drain(self) -> Iterator[bytes]:
        while self._buf:
            result = self._scan(bytes(self._buf))
            if result.kind == "need":
                if len(self._buf) > self._max:  # a "need" that never ends is garbage
                    self.dropped += 1
                    del self._buf[:1]
                    continue
                return
            n = min(result.length, len(self._buf))
            if result.kind == "drop":
                self.dropped += n
                del self._buf[:n]
            else:
                frame = bytes(self._buf[:n])
                del self._buf[:n]
                self.frames += 1
                yield frame

    def pending(self) -> bytes:
        """Bytes held back waiting for more (for diagnostics)."""
        return bytes(self._buf)

    def clear(self) -> None:
        self.dropped += len(self._buf)
        self._buf.clear()
