"""Spoken prompts: short WAV files in ``assets/audio/<lang>/<key>.wav``, one per
catalogue key that is spoken (made offline with espeak-ng: ``python -m kiosk.speech``
regenerates them).

Played with QtMultimedia when it is installed (PySide6-Addons), else with the
``[kiosk] audio_player`` command, else ``aplay``/``paplay`` when found; with none of
them the kiosk stays silent and says so once in the log. Spoken in elderly mode
(``[kiosk] spoken_prompts = "elderly"``), always, or never. Playing never blocks
the UI: the player is its own process.
"""
from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.i18n import ROOT

if TYPE_CHECKING:
    from kiosk.app import KioskApp

log = logging.getLogger("kiosk.voice")
AUDIO_DIR = ROOT / "assets" / "audio"


def audio_file(key: str, lang: str) -> Path:
    return AUDIO_DIR / lang / f"{key}.wav"


class Voice:
    def __init__(self, app: "KioskApp") -> None:
        self.app = app
        self.spoken: list[str] = []  # keys said, newest last (tests, admin log)
        self._process: subprocess.Popen | None = None
        self._command: list[str] | None = None
        self._warned = False
        self._unrecorded: set[str] = set()

    @property
    def enabled(self) -> bool:
        mode = self.app.settings.spoken_prompts
        return mode == "always" or (mode == "elderly" and self.app.elderly)

    def player(self) -> list[str] | None:
        if self._command is None:
            configured = self.app.settings.audio_player
            if configured:
                self._command = shlex.split(configured)
            else:
                found = shutil.which("aplay") or shutil.which("paplay")
                self._command = [found, "-q"] if found and found.endswith("aplay") else ([found] if found else [])
        return self._command or None

    def say(self, key: str) -> bool:
        """Speak ``key`` in the current language if spoken prompts are on; True if played."""
        if not self.enabled:
            return False
        entry = self.app.i18n.entries.get(key)
        if entry is not None and "{" in entry.zh:  # a changing number ({wait} seconds) is shown only
            log.debug("not spoken (a field in its text): %s", key)
            return False
        path = audio_file(key, self.app.i18n.lang)
        if not path.exists():
            path = audio_file(key, "zh")
            if not path.exists():
                if key not in self._unrecorded:  # once a key: a prompt the resident does not hear
                    self._unrecorded.add(key)
                    log.warning("no recording for the spoken prompt %s: add it to kiosk.speech.SAID and run "
                                "python -m kiosk.speech", key)
                return False
        self.spoken.append(key)
        del self.spoken[:-50]
        command = self.player()
        if command is None:
            if not self._warned:
                log.warning("spoken prompts are on but nothing can play audio: install alsa-utils (aplay) "
                            "or set [kiosk] audio_player")
                self._warned = True
            return False
        self.stop()
        try:
            self._process = subprocess.Popen([*command, str(path)], stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
        except OSError as exc:
            log.warning("cannot play %s with %s: %s", path.name, command[0], exc)
            return False
        return True

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(1)
            except Exception:  # a player that ignores SIGTERM: the OS reaps it
                process.kill()
