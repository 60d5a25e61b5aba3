"""Spoken prompts: every spoken key has its recording in both languages (made from
the current catalogue text), every key the code gives voice.say is one of them, and
elderly mode plays them through the player."""
from __future__ import annotations

import re
import wave

from kiosk import speech
from kiosk.voice import audio_file
from tests.kiosk.conftest import with_kiosk
from tests.support import ROOT


def test_every_spoken_prompt_is_recorded_from_its_current_text():
    assert speech.main(["--check"]) == 0
    for key in speech.SPOKEN:
        for lang in ("zh", "en"):
            with wave.open(str(audio_file(key, lang))) as recording:
                seconds = recording.getnframes() / recording.getframerate()
            longest = 20 if key.startswith("doors.") else 8  # a refusal explains what to do next
            assert 0.3 < seconds < longest, (key, lang, seconds)


SAY = re.compile(r"""voice\.say\((f?)(["'])(.+?)\2""")


def said_in_the_code() -> dict[str, str]:
    """Every key given to voice.say anywhere in kiosk/ (where), an f-string's fixed
    start standing for every catalogue key that begins with it."""
    from kiosk.i18n import Catalogue, _fields

    entries = Catalogue().entries
    found: dict[str, str] = {}
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for f, _quote, text in SAY.findall(line):
                where = f"{path.relative_to(ROOT)}:{number}"
                if not f:
                    found[text] = where
                    continue
                start = text.split("{", 1)[0]
                assert "." in start, f"{where}: say a key of a known domain ({text})"
                keys = [k for k, e in entries.items() if k.startswith(start) and not _fields(e.zh + e.en)]
                assert keys, f"{where}: no catalogue key starts with {start!r}"
                found.update({k: where for k in keys})
    return found


def test_every_key_the_code_says_has_a_recording():
    said = said_in_the_code()
    assert {"pickup.door_open", "dropoff.done_title", "report.sent_title", "doors.jammed"} <= set(said)
    missing = {key: where for key, where in said.items() if key not in speech.SPOKEN}
    assert not missing, f"said without a recording (add them to kiosk.speech.SAID, run python -m kiosk.speech): " \
                        f"{missing}"
    for key in said:
        assert audio_file(key, "zh").exists() and audio_file(key, "en").exists(), key


def test_a_key_without_a_recording_is_said_in_the_log(make_app, kiosk_config, caplog):
    app = make_app(with_kiosk(kiosk_config, spoken_prompts="always", audio_player="true"))
    assert not app.voice.say("home.title")
    assert "no recording for the spoken prompt home.title" in caplog.text
    assert not app.voice.say("doors.backing_off")  # its seconds change: shown, not said


def test_elderly_mode_speaks_and_the_ordinary_mode_does_not(make_app, kiosk_config, tap, tmp_path):
    played = tmp_path / "played"
    player = tmp_path / "player.sh"
    player.write_text(f"#!/bin/sh\necho \"$1\" >> {played}\n")
    player.chmod(0o755)
    app = make_app(with_kiosk(kiosk_config, audio_player=str(player)))
    assert not app.voice.say("identify.place_card")
    tap(app, "header-elderly")
    assert app.voice.spoken == ["common.elderly_spoken"]
    assert app.voice.say("identify.place_card")
    app.voice._process.wait(5)
    assert played.read_text().splitlines()[-1].endswith("zh/identify.place_card.wav")
