"""Spoken prompts: every spoken key has its recording in both languages (made from
the current catalogue text), and elderly mode plays them through the player."""
from __future__ import annotations

import wave

from kiosk import speech
from kiosk.voice import audio_file
from tests.kiosk.conftest import with_kiosk


def test_every_spoken_prompt_is_recorded_from_its_current_text():
    assert speech.main(["--check"]) == 0
    for key in speech.SPOKEN:
        for lang in ("zh", "en"):
            with wave.open(str(audio_file(key, lang))) as recording:
                seconds = recording.getnframes() / recording.getframerate()
            assert 0.3 < seconds < 8, (key, lang, seconds)


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
