"""The locker's spoken prompt (请关好N号柜门，谢谢): the door's number read in Chinese,
recordings made from the current text, the WAV aplay takes, and the daemon speaking
it on its speaker when a door is left open."""
from __future__ import annotations

import io
import subprocess
import sys
import wave

import pytest

from locker import voice
from locker.daemon import Daemon, store_path
from tests.locker.conftest import Client, door, wait_for
from tests.support import ROOT, require_program


@pytest.mark.parametrize("number, text", [
    (1, "一"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (48, "四十八"), (99, "九十九"),
    (100, "一百"), (105, "一百零五"), (110, "一百一十"), (999, "九百九十九"), (1024, "一零二四"),
])
def test_a_door_number_is_read_in_chinese(number, text):
    assert voice.text_of(voice.number_pieces(number)) == text
    assert voice.text_of(voice.door_prompt(number)) == f"请关好{text}号柜门，谢谢"


def seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getnframes() / w.getframerate()


def test_every_piece_is_recorded_from_its_current_text_and_joins_into_one_wav():
    assert voice.stale() == []  # python -m locker voice record after changing a text
    lengths = {}
    for piece in voice.PIECES:
        with wave.open(str(voice.recording(piece))) as w:
            lengths[piece] = w.getnframes() / w.getframerate()
        assert 0.1 < lengths[piece] < 4, (piece, lengths[piece])
    pieces = voice.door_prompt(12)
    gaps = (len(pieces) - 1) * voice.GAP_MS / 1000
    assert seconds(voice.join(pieces)) == pytest.approx(sum(lengths[p] for p in pieces) + gaps, abs=0.01)


def test_aplay_takes_the_prompt_on_its_standard_input():
    aplay = require_program("aplay", "aplay")
    speaker = voice.Speaker(f"{aplay} -q -D null")
    assert speaker.say_door(7) and speaker.said == [7]
    broken = voice.Speaker(f"{aplay} -q -D no-such-device")
    assert not broken.say_door(7) and broken.said == []  # a failing player is noticed, not counted


def test_a_door_left_open_is_asked_for_on_the_speaker(make_config, sim, tmp_path):
    said = tmp_path / "said"
    said.mkdir()
    # a real player's place: each prompt's WAV, from its standard input, into a file of its own
    config = make_config(prompt=1, alarm=2, data=tmp_path / "spoken", speaker=f"sh -c 'cat > {said}/$$.wav'")
    d = Daemon(config)
    try:
        api = Client(d.start(), store_path(config))
        answer = api("dropoff", case="SV-1", size="M")
        api.wait_opening(answer["opening"]["id"], "opened")
        n = answer["door"]
        wait_for(lambda: d.speaker.said == [n, n], 20, "the prompt, then again when the worker is told")
        assert len(list(said.iterdir())) == 2
        expected = voice.join(voice.door_prompt(n))
        assert all(f.read_bytes() == expected for f in said.iterdir())
        door(sim, n, "close")
        api.wait_opening(answer["opening"]["id"], "closed")
    finally:
        d.stop()
    assert len(list(said.iterdir())) == 2  # nothing said again once the door was shut


def run(*args: str, config) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "locker", "--config", config.source, "voice", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_the_voice_cli_checks_the_recordings_and_says_a_door_on_the_speaker(make_config, tmp_path):
    aplay = require_program("aplay", "aplay")
    quiet = make_config(data=tmp_path / "quiet")
    check = run("check", config=quiet)
    assert check.returncode == 0 and "all current" in check.stdout, check.stdout + check.stderr
    silent = run("say", "3", config=quiet)
    assert silent.returncode == 2 and "[locker] speaker is empty" in silent.stderr
    loud = make_config(data=tmp_path / "loud", speaker=f"{aplay} -q -D null")
    said = run("say", "15", config=loud)
    assert said.returncode == 0 and said.stdout.strip() == "请关好十五号柜门，谢谢: played", said.stderr
