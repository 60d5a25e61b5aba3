"""The PC/SC driver against a real pcscd with vpcd's virtual readers and our own
virtual card (drivers.idcard.vcard), in-process and as separate processes.

The daemon is private (drivers.idcard.pcscd): its own socket, its own vpcd ports.
libpcsclite reads PCSCLITE_CSOCK_NAME once per process, at the first PC/SC call, so
the fixture sets it before anything here talks to PC/SC; it checks that it worked.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from drivers.errors import DeviceFault, DeviceGone, DeviceTimeout, DriverError, PortUnavailable
from drivers.health import DOWN, OK
from drivers.idcard import pcsc_errors as E
from drivers.idcard.pcsc import PcscReader, Response, health
from drivers.idcard.pcscd import SOCKET_ENV, PcscdStartError, PrivatePcscd, missing_requirements
from drivers.idcard.vcard import DEFAULT_ATR, InsertedCard, VirtualCard
from tests.support import ROOT, require

UID = bytes.fromhex("04A1B2C3D4E5F6")
AID = bytes.fromhex("A000000527210101")
CONTENT = "工作证 staff card 0042".encode()
SELECT = bytes.fromhex("00A4040008") + AID
DETECT = 3.0  # seconds: insert/remove is seen in ~0.4 s (pcscd polls vpcd)


# -- fixtures ---------------------------------------------------------------------------

def _start_daemon(**options) -> PrivatePcscd:
    why = missing_requirements()
    require("pcscd", not why, why)
    daemon = PrivatePcscd(**options)
    try:
        return daemon.start()
    except PcscdStartError as exc:
        daemon.stop()
        require("pcscd", False, str(exc))
        raise


@pytest.fixture(scope="module")
def pcscd():
    daemon = _start_daemon()
    previous = os.environ.get(SOCKET_ENV)
    os.environ[SOCKET_ENV] = daemon.socket_path
    try:
        with PcscReader() as probe:
            try:
                probe.readers()
            except E.PcscServiceUnavailable:
                pytest.fail(f"pcscd runs at {daemon.socket_path} but this process cannot reach it: "
                            f"something in the test process used PC/SC before {SOCKET_ENV} was set, "
                            f"and libpcsclite keeps the first socket path", pytrace=False)
        yield daemon
    finally:
        if previous is None:
            os.environ.pop(SOCKET_ENV, None)
        else:
            os.environ[SOCKET_ENV] = previous
        daemon.stop()


@pytest.fixture
def reader(pcscd):
    with PcscReader() as device:
        yield device


def make_card(pcscd: PrivatePcscd, slot: int = 0) -> InsertedCard:
    card = VirtualCard(uid=UID, files={AID: CONTENT})
    return InsertedCard(card, port=pcscd.vpcd_port + slot)


@pytest.fixture
def card(pcscd, reader):
    """A card on slot 00 00, seen by pcscd; taken away (and seen gone) afterwards."""
    inserted = make_card(pcscd).insert()
    try:
        reader.wait_for_card(DETECT)
        yield inserted
    finally:
        inserted.remove()
        reader.wait_for_removal(DETECT)


def cli(pcscd: PrivatePcscd | None, *args: str, socket_path: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, SOCKET_ENV: socket_path or (pcscd.socket_path if pcscd else "")}
    return subprocess.run([sys.executable, "-m", "drivers.idcard.pcsc", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)


# -- readers ----------------------------------------------------------------------------

def test_readers_listed(pcscd, reader):
    names = reader.readers()
    assert names == ["Virtual PCD 00 00", "Virtual PCD 00 01"] == pcscd.readers
    assert reader.resolve() == "Virtual PCD 00 00"
    assert PcscReader("00 01").resolve() == "Virtual PCD 00 01"


def test_configured_reader_missing_lists_what_is_there(pcscd):
    with pytest.raises(E.ReaderNotFound) as info:
        PcscReader("ACS ACR122U").resolve()
    error = info.value
    assert isinstance(error, PortUnavailable)
    assert "ACS ACR122U" in str(error) and "Virtual PCD 00 00" in error.hint


@pytest.mark.parametrize("url,wanted", [
    ("pcsc://", ""), ("pcsc://Virtual%20PCD%2000%2001", "Virtual PCD 00 01"), ("pcsc:///ACS", "ACS")])
def test_reader_from_url(url, wanted):
    assert PcscReader.from_url(url).wanted == wanted


def test_reader_from_bad_url():
    with pytest.raises(DriverError):
        PcscReader.from_url("serial:///dev/ttyUSB0")


# -- cards --------------------------------------------------------------------------------

def test_insert_detected_within_timeout_and_atr_matches(pcscd, reader):
    with pytest.raises(E.CardTimeout) as info:
        reader.wait_for_card(0.2)
    assert isinstance(info.value, DeviceTimeout) and "等待超时" in str(info.value)
    inserted = make_card(pcscd)
    start = time.monotonic()
    with inserted.insert():
        event = reader.wait_for_card(DETECT)
        took = time.monotonic() - start
        assert event.reader == "Virtual PCD 00 00" and event.atr == DEFAULT_ATR
        assert took < 1.5, f"insert seen after {took:.2f} s"
        assert reader.atr() == DEFAULT_ATR
        assert reader.card_present() == event
    reader.wait_for_removal(DETECT)


def test_uid_read(card, reader):
    assert reader.uid() == UID
    assert card.card.history[-1] == (bytes.fromhex("FFCA000000"), UID + b"\x90\x00")


def test_apdu_exchange(card, reader):
    with reader.connect() as session:
        assert session.atr == DEFAULT_ATR
        assert session.transmit(SELECT) == Response(b"", 0x90, 0x00)
        start = time.monotonic()
        response = session.transmit(bytes.fromhex("00B0000000"))
        assert response.ok and response.data == CONTENT
        # Le too short for the UID: the driver follows 6C 07 and asks again.
        assert session.transmit(bytes.fromhex("FFCA000002")).data == UID
        assert time.monotonic() - start < 1.0
    with pytest.raises(E.CardTimeout) as info:  # the card stays where it is
        reader.wait_for_removal(0.2)
    assert "请取走卡片" in info.value.hint


ERRORS = [  # command, error, status word: one card for all (each insertion costs ~0.8 s)
    ("00B0000000", E.CommandNotAllowed, 0x6986),  # nothing selected yet
    ("00A4040002AABB", E.FileNotFound, 0x6A82),
    ("0012000000", E.InstructionNotSupported, 0x6D00),
    ("FFCA010000", E.WrongParameters, 0x6A86),
]


def test_error_status_words_are_typed(card, reader):
    for apdu, error, sw in ERRORS:
        with pytest.raises(error) as info:
            reader.transmit(bytes.fromhex(apdu))
        assert isinstance(info.value, (E.ApduError, DeviceFault)) and info.value.sw == sw
        assert f"{sw:04X}" in str(info.value) and "Virtual PCD 00 00" in str(info.value)
        unchecked = reader.transmit(bytes.fromhex(apdu), check=False)
        assert unchecked.sw == sw and not unchecked.ok


def test_a_wait_can_be_cancelled_from_another_thread(reader):
    timer = threading.Timer(0.2, reader.cancel)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(E.CardTimeout) as info:
            reader.wait_for_card(10)
    finally:
        timer.join()
    assert time.monotonic() - start < 2 and "已取消" in str(info.value)


def test_second_slot_by_configured_name(pcscd):
    with make_card(pcscd, slot=1).insert(), PcscReader("00 01") as slot1:
        assert slot1.wait_for_card(DETECT).reader == "Virtual PCD 00 01"
        assert slot1.uid() == UID
        with pytest.raises(E.NoCard):
            PcscReader("00 00").uid()
    slot1.wait_for_removal(DETECT)


def test_removal_detected_then_no_card_is_a_clear_error(pcscd, reader):
    inserted = make_card(pcscd).insert()
    reader.wait_for_card(DETECT)
    session = reader.connect()
    try:
        inserted.remove()
        start = time.monotonic()
        reader.wait_for_removal(DETECT)
        assert time.monotonic() - start < 1.5
        with pytest.raises(E.CardRemoved) as gone:  # the session outlived its card
            session.transmit(bytes.fromhex("FFCA000000"))
        assert isinstance(gone.value, DeviceGone)
    finally:
        session.close()
    with pytest.raises(E.NoCard) as info:
        reader.uid()
    assert str(info.value).startswith("读卡器上没有卡片") and "Virtual PCD 00 00" in str(info.value)
    assert "请把卡片放在读卡区" in info.value.hint
    with pytest.raises(E.CardTimeout):
        reader.wait_for_card(0.1)



# -- health ----------------------------------------------------------------------------------

def test_health_with_a_reader(pcscd, card):
    result = health()
    assert result.state == OK and "Virtual PCD 00 00" in result.detail
    assert result.data["card"] and result.data["atr"] == DEFAULT_ATR.hex().upper()
    assert PcscReader("nope").health().state == DOWN


def test_health_pcscd_not_running(tmp_path):
    run = cli(None, "health", "--json", socket_path=str(tmp_path / "no.comm"))
    assert run.returncode == 1, run.stderr
    result = json.loads(run.stdout)
    assert result["state"] == DOWN and "pcscd is not running" in result["detail"]
    assert "systemctl" in result["fix"]


def test_health_no_reader(pcscd):
    bare = _start_daemon(virtual_readers=False)
    try:
        run = cli(bare, "health", "--json")
    finally:
        bare.stop()
    result = json.loads(run.stdout)
    assert run.returncode == 1 and result["state"] == DOWN
    assert "no reader" in result["detail"] and "lsusb" in result["fix"]


# -- the CLI and the virtual card as separate processes --------------------------------------------

def test_cli_list(pcscd):
    run = cli(pcscd, "list")
    assert run.returncode == 0 and run.stdout.split("\n")[:2] == pcscd.readers
    run = cli(pcscd, "list", "--reader", "nope")
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "nope" in run.stderr


def test_cli_without_card(pcscd):
    run = cli(pcscd, "uid")
    assert run.returncode == 3 and run.stdout == ""
    assert re.fullmatch(r"error: 读卡器上没有卡片 \(no card on .*\) — .*\n", run.stderr)
    run = cli(pcscd, "wait", "--timeout", "0.2", "--json")
    assert run.returncode == 3 and json.loads(run.stdout)["error"] == "CardTimeout"
    assert cli(pcscd, "apdu", "zz").returncode == 2


def test_virtual_card_process_and_cli(pcscd):
    process = subprocess.Popen(
        [sys.executable, "-m", "drivers.idcard.vcard", "--uid", UID.hex(), "--port", str(pcscd.vpcd_port),
         "--file", f"{AID.hex()}={CONTENT.hex()}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"inserted uid={UID.hex().upper()}"), line or process.stderr.read()
        run = cli(pcscd, "wait", "--timeout", str(DETECT), "--json")
        assert run.returncode == 0 and json.loads(run.stdout)["atr"] == DEFAULT_ATR.hex().upper()
        run = cli(pcscd, "uid", "--json")
        assert json.loads(run.stdout) == {"reader": "Virtual PCD 00 00", "uid": UID.hex().upper()}
        run = cli(pcscd, "apdu", SELECT.hex(" "))
        assert (run.returncode, run.stdout) == (0, "90 00\n")
        run = cli(pcscd, "apdu", "00 A4 04 00 02 AA BB", "--json")
        assert run.returncode == 4 and json.loads(run.stdout)["sw"] == "6A82"
        assert "卡片上没有该应用或文件" in run.stderr
    finally:
        process.terminate()
        assert process.wait(5) == 0
        process.stdout.close()
        process.stderr.close()
    run = cli(pcscd, "wait", "--removed", "--timeout", str(DETECT))
    assert run.returncode == 0 and "card removed" in run.stdout


def test_pcscd_restart_is_survived(pcscd, reader):
    """pcscd restarts (USB replug, upgrade, crash): a long-lived reader object recovers."""
    assert reader.readers() == pcscd.readers
    pcscd.kill()
    try:
        with pytest.raises(E.PcscServiceUnavailable) as info:
            reader.readers()
        assert "读卡服务" in str(info.value) and pcscd.socket_path in str(info.value)
        assert health(reader=reader).state == DOWN
    finally:
        pcscd.restart()
    assert reader.readers() == pcscd.readers
    reader.readers()
    pcscd.restart()  # while the reader holds a context: noticed and replaced on the next call
    assert reader.readers() == pcscd.readers
    with make_card(pcscd).insert():
        assert reader.wait_for_card(DETECT).atr == DEFAULT_ATR
        assert reader.uid() == UID
    reader.wait_for_removal(DETECT)


# -- boundaries ---------------------------------------------------------------------------------------

def test_vcard_does_not_need_pyscard():
    # The virtual card runs on machines (and in processes) without pyscard.
    for module in ("vcard", "pcsc_errors", "pcscd"):
        source = (ROOT / "drivers" / "idcard" / f"{module}.py").read_text()
        assert not re.search(r"^\s*(import smartcard|from smartcard)", source, re.M), module
