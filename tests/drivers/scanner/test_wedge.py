"""The keyboard-wedge scanner against its simulator running as a separate process,
writing real input_event records on a pty; and, where /dev/uinput works, against a
real virtual keyboard of the kernel. Unplugging it is in test_reader, with the serial
scanner's."""
from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.config import ConfigError as ApplianceConfigError, load
from drivers.scanner import open_scanner
from drivers.scanner.errors import ScannerConfigError, ScannerUnavailable
from drivers.scanner.urls import health
from drivers.scanner.wedge import WedgeScanner, parse_wedge_url
from drivers.scanner.wedge_codec import EVENT, EV_KEY, EV_SYN, KEY_ENTER, KEY_LEFTSHIFT, SYN_REPORT, US_LAYOUT
from tests.drivers.scanner.conftest import read_all
from tests.support import ROOT, SimProcess


@pytest.fixture
def link(tmp_path) -> str:
    return str(tmp_path / "usb-scanner-event-kbd")


@pytest.fixture
def sim(link):
    with SimProcess("drivers.scanner.wedge_sim", "--link", link) as proc:
        yield proc


def test_codes_arrive_in_order_one_per_enter(sim, link):
    with WedgeScanner(f"evdev://{link}") as scanner:
        sim.request(cmd="scan", codes=[f"K1.code-{i}_ABC" for i in range(15)])
        sim.request(cmd="scan", code="SLOW:one|key{at}a~time", gap=0.005)  # over many reads
        sim.request(cmd="scan", code="GS1\x1d0123")
        got = read_all(scanner, 17)
        assert got == [f"K1.code-{i}_ABC" for i in range(15)] + ["SLOW:one|key{at}a~time", "GS1\x1d0123"]
        assert scanner.read_code(0.05) is None  # nothing more: a timeout is None, not an error
        health = scanner.health()
        assert health.state == "ok" and "nothing to grab" in health.detail and health.data["codes"] == 17


def test_start_codes_through_open_scanner(link):
    with SimProcess("drivers.scanner.wedge_sim", "--link", link, "--codes", "A-1", "b-2", "--delay", "0.8",
                    "--interval", "0.05"):
        scanner = open_scanner(f"evdev://{link}")
        assert isinstance(scanner, WedgeScanner)
        with scanner:
            code = scanner.read_code(5.0)
            assert code is not None and (code.text, code.source, code.extra["port"]) == ("A-1", "keyboard", link)
            assert read_all(scanner, 1) == ["b-2"]


def test_bad_codes_are_dropped_and_counted(sim, link):
    with WedgeScanner(f"evdev://{link}?line_timeout=0.3&max_length=20") as scanner:
        sim.request(cmd="scan", code="BEFORE")
        sim.request(cmd="unmapped", code="HALF-AND-HALF")
        sim.request(cmd="dropped", code="LOST-SOME")
        sim.request(cmd="scan", code="X" * 30)
        sim.request(cmd="scan", code="AFTER")
        assert read_all(scanner, 2) == ["BEFORE", "AFTER"]
        assert scanner.errors == {"unmapped_key": 1, "dropped_events": 1, "overlong": 1}
        refused = sim.request(cmd="scan", code="居民")  # no key of a US keyboard types it
        assert refused["ok"] is False and "cannot be typed on a US keyboard" in refused["error"]


def test_an_unterminated_code_is_dropped_then_the_next_reads(sim, link):
    with WedgeScanner(f"evdev://{link}?line_timeout=0.2") as scanner:
        sim.request(cmd="unterminated", code="CUT-OF")
        assert scanner.read_code(0.6) is None
        assert scanner.errors["unterminated"] == 1 and scanner.health().state == "degraded"
        sim.request(cmd="scan", code="WHOLE")
        assert read_all(scanner, 1) == ["WHOLE"] and scanner.health().state == "ok"


def test_the_cli_listens_on_an_evdev_url(sim, link):
    proc = subprocess.Popen([sys.executable, "-m", "drivers.scanner", "--url", f"evdev://{link}", "listen",
                             "--count", "1", "--timeout", "20", "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            sim.request(cmd="scan", code="CLI-1")  # until the CLI has the device open
            time.sleep(0.3)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[0]) == {"text": "CLI-1", "source": "keyboard"}


def test_missing_device_and_bad_urls():
    with pytest.raises(ScannerUnavailable) as info:
        WedgeScanner("evdev:///dev/input/by-id/usb-NOPE-event-kbd").open()
    assert "usb-NOPE" in str(info.value) and "ls -l /dev/input/by-id/" in info.value.hint
    report = health("evdev:///dev/input/by-id/usb-NOPE-event-kbd")
    assert report.state == "down" and "no such device" in report.detail and report.fix
    for url in ("evdev://dev/input/event3", "evdev:///dev/input/event3?grab=maybe",
                "evdev:///dev/input/event3?colour=red", "evdev:///dev/input/event3?line_timeout=0"):
        with pytest.raises(ScannerConfigError):
            parse_wedge_url(url)
    assert parse_wedge_url("evdev:///dev/input/event3?grab=0&max_length=64").grab is False


def test_the_config_takes_an_evdev_scanner_url(tmp_path, sim, link):
    config = tmp_path / "appliance.toml"
    config.write_text(f'[scanner]\nurl = "evdev://{link}"\n', encoding="utf-8")
    assert load(config, check_devices=True).scanner.url == f"evdev://{link}"
    config.write_text('[scanner]\nurl = "evdev:///dev/input/by-id/usb-NOPE-event-kbd"\n', encoding="utf-8")
    with pytest.raises(ApplianceConfigError) as missing:  # a port that does not exist stops start-up
        load(config, check_devices=True)
    assert "scanner.url" in str(missing.value)
    config.write_text(f'[scanner]\nurl = "evdev://{link}?grab=maybe"\n', encoding="utf-8")
    with pytest.raises(ApplianceConfigError) as bad:
        load(config)
    assert "scanner.url" in str(bad.value) and "grab" in str(bad.value)


# -- a real input device: the kernel's uinput -------------------------------------------------
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
        pytest.skip(f"uinput made {self.name!r} but no /dev/input/event* node appeared (no devtmpfs/udev here)")

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
                "the simulator tests above cover the same bytes")
    if not os.access(UINPUT, os.W_OK):
        return f"{UINPUT} is not writable here (root, or the input group with udev's uinput rule)"
    return ""


def test_a_real_virtual_keyboard_is_grabbed_and_read():
    # Optional even under CI=true: whether a machine has /dev/uinput is its kernel's and
    # container's business, not the project's (README, scanner section).
    reason = uinput_reason()
    if reason:
        pytest.skip(reason)
    keyboard = VirtualKeyboard(f"kiosk-test-scanner-{os.getpid()}")
    try:
        with WedgeScanner(f"evdev://{keyboard.node}") as scanner:
            assert scanner.grabbed and scanner.input_device
            with pytest.raises(ScannerUnavailable, match="another program"):  # grabbed: one reader only
                WedgeScanner(f"evdev://{keyboard.node}").open()
            time.sleep(0.1)
            keyboard.type("K1.Real-Keys_42")
            assert read_all(scanner, 1) == ["K1.Real-Keys_42"]
            assert scanner.health().state == "ok" and "grabbed" in scanner.health().detail
    finally:
        keyboard.close()
