"""The simulator itself, in-process: its cards file, faults and control requests."""
import json

import pytest

from drivers.errors import ConfigError
from drivers.framing import Deframer
from drivers.idcard import codec
from drivers.idcard.sim import DEMO_CARDS, Fault, SamSimulator, build, fictional_card, from_params, load_cards
from drivers.idcard.record import is_valid_id_number
from drivers.idcard.wlt import SimDecoder


def ask(sim: SamSimulator, *names: str) -> list[codec.Reply]:
    out = sim.receive(b"".join(codec.encode_command(n) for n in names))
    return [codec.decode_reply(f) for f in Deframer(codec.scan).feed(out)]


def test_demo_cards_are_fictional_but_valid():
    cards = load_cards(DEMO_CARDS)
    assert 3 <= len(cards) <= 4
    assert all(is_valid_id_number(c.id_number) for c in cards)
    assert "11010519491231002X" in {c.id_number for c in cards}
    assert all(c.photo_jpeg.startswith(b"\xff\xd8\xff") for c in cards)


def test_a_read_sequence():
    replies = ask(build(card="1"), "find_card", "select_card", "read_text_photo")
    assert [r.sw3 for r in replies] == [0x9F, 0x90, 0x90] and len(replies[2].data) == 4 + 256 + 1024


def test_read_before_select_fails_and_unknown_commands_are_21():
    sim = build()
    assert [r.sw3 for r in ask(sim, "read_text_photo", "select_card")] == [0x41, 0x81]
    unknown = codec.Command("unknown", 0x77, 0x01, 0x90, ("fixed", 0), "not in the table")
    assert codec.decode_reply(sim.receive(codec.encode_command(unknown))).sw3 == 0x21


def test_garbage_is_ignored_and_split_commands_are_reassembled():
    sim = build()
    frame = codec.encode_command("sam_status")
    assert sim.receive(b"\x00\xff" + frame[:4]) == b""
    assert codec.decode_reply(sim.receive(frame[4:])).sw3 == 0x90


@pytest.mark.parametrize("spec,text", [
    ("sam_error:60", "sam_error:60"), ("truncate", "truncate@read"), ("truncate:9@read_text_photo", "truncate:9@read_text_photo"),
    ("pull_after_find", "pull_after_find@find_card"), ("bad_checksum@sam", "bad_checksum@sam"),
])
def test_fault_specs(spec, text):
    assert str(Fault.parse(spec)) == text


@pytest.mark.parametrize("spec", ["melt", "sam_error", "sam_error:zz", "sam_error:100", "silent@open_door"])
def test_bad_fault_specs(spec):
    with pytest.raises(ValueError):
        Fault.parse(spec)


def test_one_shot_faults_and_state():
    sim = build()
    sim.control({"cmd": "fault", "fault": "sam_error:60@sam_status", "times": 2})
    assert [r.sw3 for r in ask(sim, "sam_status", "sam_status", "sam_status")] == [0x60, 0x60, 0x90]
    state = sim.control({"cmd": "state"})
    assert state["faults"] == [] and state["counts"] == {"sam_status": 3} and state["card"] == 0
    with pytest.raises(ValueError):
        sim.control({"cmd": "explode"})
    with pytest.raises(ValueError):
        sim.control({"cmd": "insert", "card": 99})


def test_from_params_and_added_cards(tmp_path):
    card = fictional_card(name="赵六", sex="1", birth="20000229")
    path = tmp_path / "cards.json"
    path.write_text(json.dumps({"sam_id": "05.02-20240101-0000000001-0000000002", "cards": [card.to_json()]}),
                    encoding="utf-8")
    sim = from_params({"cards": str(path), "card": "none", "fault": "silent@find,bad_checksum@select"})
    assert sim.state()["card"] is None and len(sim.faults) == 2
    assert str(codec.parse_data(codec.BY_NAME["sam_id"], ask(sim, "sam_id")[0])) == "05.02-20240101-0000000001-0000000002"
    assert SimDecoder.from_cards_file(path).decode(card.wlt()) == card.photo_jpeg
    index = sim.control({"cmd": "add_card", "card": fictional_card(name="钱七").to_json()})["index"]
    assert index == 1


@pytest.mark.parametrize("doc", [[], {"cards": [{"name": "x"}]}, {"cards": [fictional_card(name="名" * 16).to_json()]}])
def test_bad_cards_files_are_value_errors(tmp_path, doc):
    path = tmp_path / "cards.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError):
        load_cards(path)


@pytest.mark.parametrize("params", [{"cards": "/nonexistent/cards.json"}, {"card": "7"}, {"fault": "melt"},
                                    {"sliding": "many"}])
def test_bad_sim_urls_are_config_errors(params):
    with pytest.raises(ConfigError) as info:
        from_params(params)
    assert "sim://idcard" in str(info.value)
