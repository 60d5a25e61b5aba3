"""Keeping the kiosk's memory flat over thousands of residents a day (glibc only;
elsewhere both calls do nothing).

- :func:`limit_arenas`: glibc gives every thread that mallocs its own arena and
  keeps freed memory in them; the face check's frames pass through worker threads,
  and the arenas grow apart. Two arenas are plenty for one resident at a time.
- :func:`trim`: after a session, hand freed memory back to the system (the frames,
  the rehearsal's pictures), so the resident set shows what is really in use.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("kiosk.memory")
M_ARENA_MAX = -8  # mallopt() parameter, glibc's malloc.h

_libc = None


def _glibc():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim  # noqa: B018 (glibc has it; musl does not)
        except (OSError, AttributeError):
            _libc = False
    return _libc or None


def limit_arenas(count: int = 2) -> bool:
    libc = _glibc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, count))


def trim() -> bool:
    libc = _glibc()
    return bool(libc and libc.malloc_trim(0))
