"""Who is calling the locker's API, and whether they may maintain it.

The socket is ``0660``: whoever may connect may do what a resident does at the
kiosk (state, scan, drop-off, pickup, a worker's collect and return with her signed
code, openings, events). Maintenance — a door opened by a maintainer, taken out of
service or put back, a case moved between doors, a held pickup decided, a sweep — also changes what the
locker believes about paper nobody watched, so the daemon asks the kernel who is
on the other end (``SO_PEERCRED``: the peer's uid, gid and pid, which it cannot
fake) and allows those ops only to root and to the ``[locker] admins``: user
names or uids, and ``@GROUP`` (a group name or gid; members by the caller's
primary group, its supplementary groups as ``/proc/PID/status`` shows them, or
the group's member list).
"""
from __future__ import annotations

import grp
import pwd
import socket
import struct
from dataclasses import dataclass
from typing import Iterable

MAINTENANCE_OPS = frozenset({"open", "door", "move", "resolve", "sweep"})


@dataclass(frozen=True)
class Caller:
    pid: int
    uid: int
    gid: int

    @classmethod
    def of(cls, sock: socket.socket) -> "Caller":
        """The process at the other end of a Unix stream socket (Linux)."""
        pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                            struct.calcsize("3i")))
        return cls(pid, uid, gid)

    def groups(self) -> set[int]:
        """Primary and supplementary gids (the latter from /proc while the caller lives)."""
        found = {self.gid}
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("Groups:"):
                        found.update(int(g) for g in line.split()[1:])
                        break
        except (OSError, ValueError):
            pass
        return found

    def user_name(self) -> str | None:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return None

    def describe(self) -> str:
        return f"uid {self.uid} ({self.user_name() or '?'}), pid {self.pid}"


def may_maintain(caller: Caller | None, admins: Iterable[str]) -> bool:
    """Root, or a caller ``admins`` names (by user name, uid or ``@group``).
    ``None`` is a call from inside the daemon itself (no socket): allowed."""
    if caller is None or caller.uid == 0:
        return True
    name = caller.user_name()
    groups: set[int] | None = None
    for entry in admins:
        entry = str(entry).strip()
        if entry.startswith("@"):
            group = _group(entry[1:])
            if group is None:
                continue
            if groups is None:
                groups = caller.groups()
            if group.gr_gid in groups or (name is not None and name in group.gr_mem):
                return True
        elif entry == str(caller.uid) or (name is not None and entry == name):
            return True
    return False


def _group(text: str) -> grp.struct_group | None:
    try:
        return grp.getgrgid(int(text)) if text.isdigit() else grp.getgrnam(text)
    except KeyError:
        return None
