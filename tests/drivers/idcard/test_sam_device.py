"""The reader against the simulator running as a separate process on a pty."""
import logging
import time

import pytest

from drivers.errors import DeviceGone, DeviceTimeout, PortUnavailable
from drivers.health import DOWN, OK
from drivers.idcard.device import IdCardReader
from drivers.idcard.errors import CardMoved, DecoderUnavailable, InvalidIdNumber, NoCard, SamError
from drivers.idcard.sim import DEMO_CARDS, fictional_card, load_cards
from drivers.idcard.wlt import load_decoder
from tests.support import SimProcess

DEMO = load_cards(DEMO_CARDS)


@pytest.fixture(scope="module")
def sim_process():
    with SimProcess("drivers.idcard.sim") as sim:
        yield sim


@pytest.fixture
def sim(sim_process):
    sim_process.request(cmd="clear")
    sim_process.request(cmd="insert", card=1)
    return sim_process


@pytest.fixture
def reader(sim):
    # Generous reply timeout (a loaded CI machine); faults that time out pass their own.
    reader = IdCardReader(sim.path, timeout=2.0, find_window=0.3, find_interval=0.02, byte_gap=0.05,
                          decoder=load_decoder("sim"))
    yield reader
    reader.close()


def test_a_full_read(reader, sim):
    record = reader.read()
    card = DEMO[1]
    assert (record.name, record.sex, record.ethnicity, record.id_number) == ("李秀兰", "女", "汉", "11010519491231002X")
    assert (record.address, record.authority, record.valid_to_text) == (card.address, card.authority, "长期")
    assert record.fingerprint is None and len(record.photo) == 1024
    assert reader.photo_image(record) == card.photo_jpeg  # through the plug-in interface
    assert sim.request(cmd="state")["counts"] == {"find_card": 1, "select_card": 1, "read_text_photo": 1}


def test_read_with_fingerprints(reader):
    record = reader.read(fingerprint=True)
    assert len(record.fingerprint) == 1024 and "fingerprint=1024 bytes" in repr(record)


def test_no_card(reader, sim):
    sim.request(cmd="remove")
    started = time.monotonic()
    with pytest.raises(NoCard) as info:
        reader.read()
    assert time.monotonic() - started < 1.0
    assert "未检测到身份证" in str(info.value) and info.value.port == sim.path
    assert not reader.find_card()


def test_card_sliding_in(reader, sim):
    sim.request(cmd="insert", card=0, sliding=3)
    assert reader.read().name == "张晓明"
    assert sim.request(cmd="state")["counts"]["find_card"] == 4


@pytest.mark.parametrize("fault,stage", [
    ("pull_after_find", "select_card"),
    ("pull_after_select", "read_text_photo"),
    ("truncate:600", "read_text_photo"),
    ("truncate:9@read", "read_text_photo"),
    ("bad_checksum@read", "read_text_photo"),
    ("bad_checksum@select", "select_card"),
    ("sam_error:41@read", "read_text_photo"),
])
def test_card_pulled_mid_read_is_card_moved(reader, sim, fault, stage):
    sim.request(cmd="fault", fault=fault)
    with pytest.raises(CardMoved) as info:
        reader.read()
    assert info.value.stage == stage and "card moved, place it again" in str(info.value)
    if not fault.startswith(("bad_checksum", "sam_error")):
        with pytest.raises(NoCard):  # the card really left
            reader.read(find_window=0)


def test_a_card_placed_again_reads(reader, sim):
    sim.request(cmd="fault", fault="truncate")
    with pytest.raises(CardMoved):
        reader.read()
    sim.request(cmd="insert", card=1)
    assert reader.read().id_number == "11010519491231002X"


@pytest.mark.parametrize("fault,code,words", [
    ("sam_error:60@find_card", 0x60, ("SAM自检失败", "SAM self-test failed")),
    ("sam_error:33@read", 0x33, ("信息验证错误", "verification error")),
    ("sam_error:40@select", 0x40, ("无法识别的卡类型", "wrong card type")),
])
def test_sam_errors(reader, sim, fault, code, words):
    sim.request(cmd="fault", fault=fault)
    with pytest.raises(SamError) as info:
        reader.read()
    assert info.value.code == code and all(w in str(info.value) for w in words) and info.value.hint


def test_sam_status_and_id(reader, sim):
    assert reader.sam_status().ok
    assert str(reader.sam_id()) == "05.01-20200101-0000012345-1234567890"
    sim.request(cmd="fault", fault="sam_error:60@sam_status")
    status = reader.sam_status()
    assert not status.ok and status.code == 0x60 and "self-test" in str(status)


def test_a_garbled_status_reply_is_asked_again(reader, sim):
    sim.request(cmd="fault", fault="bad_checksum@sam_status", times=1)
    assert reader.sam_status().ok
    assert sim.request(cmd="state")["counts"]["sam_status"] == 2


@pytest.mark.parametrize("change", [{"birth": "19491230"}, {"sex": "1"}, {"id_number": "110105194912310021"}])
def test_an_inconsistent_reader_is_refused(reader, sim, change):
    card = fictional_card(name="测试", birth="19491231", sequence=1).to_json() | change
    index = sim.request(cmd="add_card", card=card)["index"]
    sim.request(cmd="insert", card=index)
    with pytest.raises(InvalidIdNumber) as info:
        reader.read()
    assert "11010519491231002X" not in str(info.value) and "110105194912310021" not in str(info.value)


def test_newest_address(reader, sim):
    assert reader.read_newest_address() is None
    sim.request(cmd="insert", card=3)
    assert reader.read_newest_address() == DEMO[3].newest_address


def test_no_reply_is_a_timeout_naming_the_port(reader, sim):
    sim.request(cmd="fault", fault="silent", times=0)
    with pytest.raises(DeviceTimeout) as info:
        reader.sam_status(timeout=0.2)
    assert sim.path in str(info.value) and "baud" in info.value.hint


def test_health(reader, sim):
    health = reader.health()
    assert health.state == OK and health.data["sam_id"].startswith("05.01-")
    sim.request(cmd="fault", fault="silent", times=0)
    health = reader.health(timeout=0.1)
    assert health.state == DOWN and "baud" in health.fix and "port" in health.fix
    sim.request(cmd="clear")
    sim.request(cmd="fault", fault="sam_error:66@sam_status")
    health = reader.health()
    assert health.state == DOWN and "66" in health.detail and health.fix


def test_missing_port_health_names_the_fix():
    health = IdCardReader("/dev/ttyNOPE-idcard").health()
    assert health.state == DOWN and "/dev/ttyNOPE-idcard" in health.detail and "ls /dev/ttyUSB" in health.fix


def test_photo_needs_a_decoder(sim):
    with IdCardReader(sim.path, find_window=0.3) as reader:
        with pytest.raises(DecoderUnavailable):
            reader.photo_image(reader.read())


def test_the_trace_never_holds_personal_data(reader, caplog):
    with caplog.at_level(logging.DEBUG, logger="drivers"):
        record = reader.read(fingerprint=True)
    text = caplog.text
    assert "TX aa aa aa 96 69 00 03 30 10 23" in text and "withheld" in text
    assert record.id_number not in text and "11010519491231002X".encode("utf-16-le").hex(" ") not in text
    assert record.photo[:16].hex(" ") not in text and record.masked_id in text


def test_vanished_port_is_device_gone_naming_it_then_reconnects(tmp_path):
    link = str(tmp_path / "kiosk-idreader")
    reader = IdCardReader(link, timeout=2.0, find_window=0.2)
    try:
        with SimProcess("drivers.idcard.sim", "--link", link) as sim:
            assert reader.read().name == "张晓明"
            sim.kill()
            with pytest.raises(DeviceGone) as info:
                reader.read()
            assert link in str(info.value) and info.value.hint
        with pytest.raises(PortUnavailable) as missing:  # still unplugged: cannot reopen
            reader.read()
        assert link in str(missing.value)
        assert reader.health().state == DOWN
        with SimProcess("drivers.idcard.sim", "--link", link, "--card", "1"):  # plugged back in, new pty
            record = reader.read()  # the same reader object: it reopens the port by itself
            assert record.id_number == "11010519491231002X"
            assert reader.health().state == OK
    finally:
        reader.close()
