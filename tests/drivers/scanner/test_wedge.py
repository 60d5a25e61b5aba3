"""The keyboard-wedge scanner against its simulator running as a separate process,
writing real input_event records on a pty; and, where /dev/uinput works, against a
real virtual keyboard of the kernel. Unplugging it is in test_reader, with the serial
scanner's."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from appliance.config import ConfigError as ApplianceConfigError, load
from drivers.scanner import open_scanner
from drivers.scanner.errors import ScannerConfigError, ScannerUnavailable
from drivers.scanner.urls import health
from drivers.scanner.wedge import WedgeScanner, parse_wedge_url
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
