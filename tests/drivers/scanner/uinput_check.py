"""The keyboard-wedge driver on a real input device, where the kernel has uinput:
``python -m tests.drivers.scanner.uinput_check`` (as root, or in the input group with
udev's uinput rule) makes a virtual keyboard, types a code on it and reads it through
``evdev://`` — grabbed, so a second reader is refused. Exit 0: it worked; 1: it did
not; 2: not checked (no /dev/uinput: containers and many VMs have none).

Not in the test suite: whether a machine has uinput is its kernel's and container's
business, and under ``CI=true`` a test may not skip. The suite's wedge tests
(test_wedge.py) feed the same input_event records through a pty simulator.
"""
from __future__ import annotations

import fcntl
import os
import struct
import sys
import time
from pathlib import Path

from drivers.scanner.errors import ScannerUnavailable
from drivers.scanner.wedge import WedgeScanner
from drivers.scanner.wedge_codec import EVENT, EV_KEY, EV_SYN, KEY_ENTER, KEY_LEFTSHIFT, US_LAYOUT


class Unavailable(Exception):
    """uinput is not there (or makes no event node): nothing checked."""


UINPUT = "/dev/uinput"
UI_SET_EVBIT, UI_SET_KEYBIT, UI_DEV_CREATE, UI_DEV_DESTROY = 0x40045564, 0x40045565, 0x5501, 0x5502
BUS_USB = 0x03


class VirtualKeyboard:
    """A keyboard made by the kernel through /dev/uinput (the legacy uinput_user_dev setup,
    which every kernel with uinput takes): its event node is a real /dev/input/event*."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fd = os.open(UINPUT, os.O_WRONLY | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, UI_SET_EVBIT, EV_KEY)
        fcntl.ioctl(self.fd, UI_SET_EVBIT, EV_SYN)
        for code in [*US_LAYOUT, KEY_ENTER, KEY_LEFTSHIFT]:
            fcntl.ioctl(self.fd, UI_SET_KEYBIT, code)
        # struct uinput_user_dev: name[80], input_id (4 × u16), ff_effects_max, absmax/min/fuzz/flat[64]
        os.write(self.fd, struct.pack("80sHHHHi", name.encode(), BUS_USB, 0x1234, 0x5678, 1, 0) + bytes(4 * 64 * 4))
        fcntl.ioctl(self.fd, UI_DEV_CREATE)
        self.node = self._node()

    def _node(self) -> str:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for device in Path("/sys/class/input").glob("input*"):
                if (device / "name").is_file() and (device / "name").read_text().strip() == self.name:
                    for event in device.glob("event*"):
                        node = Path("/dev/input") / event.name
                        if node.exists():
                            return str(node)
            time.sleep(0.05)
        self.close()
        raise Unavailable(f"uinput made {self.name!r} but no /dev/input/event* node appeared (no devtmpfs/udev here)")

    def type(self, text: str) -> None:
        from drivers.scanner.wedge_codec import keystrokes

        for _, _, kind, code, value in EVENT.iter_unpack(keystrokes(text, scan_codes=False)):
            os.write(self.fd, EVENT.pack(0, 0, kind, code, value))

    def close(self) -> None:
        if self.fd >= 0:
            fcntl.ioctl(self.fd, UI_DEV_DESTROY)
            os.close(self.fd)
            self.fd = -1


def uinput_reason() -> str:
    if not os.path.exists(UINPUT):
        return (f"{UINPUT} does not exist (no uinput module: containers and many VMs lack it); "
                "the suite's simulator tests cover the same bytes")
    if not os.access(UINPUT, os.W_OK):
        return f"{UINPUT} is not writable here (root, or the input group with udev's uinput rule)"
    return ""


def check() -> str:
    """Make a virtual keyboard, read a code typed on it through the driver (grabbed:
    a second reader is refused); the driver's health line, or AssertionError."""
    reason = uinput_reason()
    if reason:
        raise Unavailable(reason)
    keyboard = VirtualKeyboard(f"kiosk-test-scanner-{os.getpid()}")
    try:
        with WedgeScanner(f"evdev://{keyboard.node}") as scanner:
            assert scanner.grabbed and scanner.input_device
            try:
                WedgeScanner(f"evdev://{keyboard.node}").open()
            except ScannerUnavailable as exc:
                assert "another program" in str(exc), exc  # grabbed: one reader only
            else:
                raise AssertionError("a second reader opened a grabbed keyboard")
            time.sleep(0.1)
            keyboard.type("K1.Real-Keys_42")
            got = []
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:
                code = scanner.read_code(0.5)
                if code is not None:
                    got.append(code.text)
            assert got == ["K1.Real-Keys_42"], got
            health = scanner.health()
            assert health.state == "ok" and "grabbed" in health.detail, health
            return health.detail
    finally:
        keyboard.close()


def main() -> int:
    try:
        detail = check()
    except Unavailable as exc:
        print(f"not checked: {exc}", file=sys.stderr)
        return 2
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"ok: a code typed on a uinput keyboard was read through evdev:// ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
