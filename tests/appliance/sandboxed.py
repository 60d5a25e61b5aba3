"""Run a program under a unit's system-call sandbox, as systemd would, without systemd.

    python -m tests.appliance.sandboxed --unit systemd/kiosk-ui.service --user nobody -- PROGRAM ARGS…

Reads the unit's ``SystemCallFilter=`` (allow lists of names and ``@groups``, expanded by
``systemd-analyze syscall-filter``), ``RestrictNamespaces=yes``,
``RestrictAddressFamilies=`` and ``SystemCallArchitectures=native``, builds the same
seccomp filter with libseccomp (a call outside the list kills the process with SIGSYS,
as systemd's default; a namespace is refused with EPERM, another address family with
EAFNOSUPPORT), drops to ``--user``, sets no-new-privileges, loads the filter and execs
the program, which inherits it with all its children.

``--filter @basic-io`` replaces the unit's list (the tests check a too-narrow list does
kill the program).
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import os
import pwd
import re
import socket
import subprocess
import sys
from pathlib import Path

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO = 0x00050000
SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ = 4, 7
# linux/sched.h: every CLONE_NEW* flag (cgroup, uts, ipc, user, pid, net, mount, time)
CLONE_NEW = (0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00020000, 0x00000080)


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for key, value in re.findall(r"(?m)^(SystemCallFilter|RestrictNamespaces|RestrictAddressFamilies|"
                                 r"SystemCallArchitectures)=(.*)$", text):
        settings.setdefault(key, []).extend(value.split())
    return settings


def expand(names: list[str], seen: set[str] | None = None) -> set[str]:
    """System call names of an allow list (``@groups`` expanded, recursively)."""
    seen = set() if seen is None else seen
    calls: set[str] = set()
    for name in names:
        if not name.startswith("@"):
            calls.add(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        listed = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                                check=True).stdout.splitlines()[1:]
        calls |= expand([w.strip() for w in listed if w.strip() and not w.strip().startswith("#")], seen)
    return calls


def address_families(names: list[str]) -> set[int]:
    return {int(getattr(socket, name)) for name in names}


def build(lib: ctypes.CDLL, allowed: set[str], namespaces: bool, families: set[int] | None) -> ctypes.c_void_p:
    ctx = lib.seccomp_init(SCMP_ACT_KILL_PROCESS)
    if not ctx:
        raise OSError("seccomp_init failed")

    def number(name: str) -> int:
        return lib.seccomp_syscall_resolve_name(name.encode())

    def rule(action: int, name: str, *compares: tuple[int, int, int, int]) -> None:
        nr = number(name)
        if nr < 0:  # not a system call of this architecture
            return
        array = (ArgCmp * max(1, len(compares)))(*[ArgCmp(*c) for c in compares])
        done = lib.seccomp_rule_add_array(ctx, action, nr, len(compares), array)
        if done != 0:
            raise OSError(-done, f"seccomp rule for {name}: {os.strerror(-done)}")

    special = ({"unshare", "setns", "clone", "clone3"} if namespaces else set()) | (
        {"socket"} if families is not None else set())
    for name in sorted(allowed - special):
        rule(SCMP_ACT_ALLOW, name)
    if namespaces:  # as systemd's RestrictNamespaces=yes
        for name in ("unshare", "setns"):
            rule(SCMP_ACT_ERRNO | errno.EPERM, name)
        if "clone" in allowed:
            every = sum(CLONE_NEW)
            rule(SCMP_ACT_ALLOW, "clone", (0, SCMP_CMP_MASKED_EQ, every, 0))
            for flag in CLONE_NEW:
                rule(SCMP_ACT_ERRNO | errno.EPERM, "clone", (0, SCMP_CMP_MASKED_EQ, flag, flag))
        if "clone3" in allowed:  # its flags are in memory, out of a filter's sight: glibc falls back to clone
            rule(SCMP_ACT_ERRNO | errno.ENOSYS, "clone3")
    if families is not None and "socket" in allowed:  # as RestrictAddressFamilies=
        for family in range(0, 64):
            action = SCMP_ACT_ALLOW if family in families else SCMP_ACT_ERRNO | errno.EAFNOSUPPORT
            rule(action, "socket", (0, SCMP_CMP_EQ, family, 0))
    return ctx


def load_library() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(ArgCmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    return lib


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.appliance.sandboxed", description=__doc__.splitlines()[0])
    parser.add_argument("--unit", required=True, help="the unit file whose sandbox to apply")
    parser.add_argument("--user", default="nobody", help="run as this user (cage refuses root)")
    parser.add_argument("--filter", nargs="*", help="this allow list instead of the unit's SystemCallFilter=")
    parser.add_argument("program", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    settings = unit_settings(Path(args.unit).read_text())
    names = args.filter if args.filter is not None else settings.get("SystemCallFilter", [])
    if not names or any(n.startswith("~") for n in names):
        print(f"{args.unit}: no allow-list SystemCallFilter=", file=sys.stderr)
        return 2
    assert settings.get("SystemCallArchitectures", ["native"]) == ["native"]  # libseccomp's default: native only
    families = settings.get("RestrictAddressFamilies")
    lib = load_library()
    ctx = build(lib, expand(names), settings.get("RestrictNamespaces") == ["yes"],
                address_families(families) if families else None)
    user = pwd.getpwnam(args.user)
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    done = lib.seccomp_load(ctx)  # sets no-new-privileges first (libseccomp's default)
    if done != 0:
        print(f"seccomp_load: {os.strerror(-done)}", file=sys.stderr)
        return 2
    os.execvp(program[0], program)
    return 127


if __name__ == "__main__":
    sys.exit(main())
