"""The serial link as a lock bus uses it: :class:`drivers.link.SerialLink` plus the
one thing the bytes alone do not tell but the request does: how long a bcc "query
all" reply is (the framer needs it: a whole-board reply and a one-door reply both
start ``80 BB``).
"""
from __future__ import annotations

from drivers.framing import Scan
from drivers.link import Exchange, SerialLink
from drivers.lockboard.codec import Family

__all__ = ["Exchange", "ReplyFramer", "ReplyLink"]


class ReplyFramer:
    """The link's scanner: the family's reply framer plus what the bus now awaits."""

    def __init__(self, fam: Family) -> None:
        self.family = fam
        self.board_reply_length = 0  # a bcc whole-board reply's length, while one is awaited

    def __call__(self, buf: bytes) -> Scan:
        return self.family.scan_reply(buf, self.board_reply_length)


class ReplyLink(SerialLink):
    def __init__(self, url: str, fam: Family, *, name: str, baudrate: int | None = None,
                 gap: float = 0.005) -> None:
        self.framer = ReplyFramer(fam)
        super().__init__(url, self.framer, name=name, baudrate=baudrate, gap=gap)

    def exchange(self, request: bytes, *, board_reply_length: int = 0, **options) -> Exchange:  # type: ignore[override]
        """:meth:`SerialLink.exchange`, telling the framer the length of an awaited
        bcc whole-board reply (``board_reply_length``) for the time of it."""
        with self.lock:
            self.framer.board_reply_length = board_reply_length
            try:
                return super().exchange(request, **options)
            finally:
                self.framer.board_reply_length = 0
