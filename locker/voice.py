"""Spoken prompts at the locker: 请关好3号柜门，谢谢 when a door is left open.

The prompt is put together from short recordings in ``assets/audio/locker/zh/``
(made offline with espeak-ng by ``python -m locker voice record``; nothing is
synthesised at run time): "请关好", the door's number read in Chinese (一 … 九, 十,
百, 零: 3 → 三, 12 → 十二, 105 → 一百零五), and "号柜门，谢谢". The pieces are joined
in memory and piped to the ``[locker] speaker`` command (``aplay -q``, or ``aplay -q
-D plughw:1,0`` for a given card) on its standard input: no file is written. With
no speaker configured the locker stays silent.

The daemon's voice thread (:class:`Announcer`) speaks each ``door_left_open`` of the
audit log (the prompt, then again when the worker is told), as the screen shows it.
"""
from __future__ import annotations

import io
import json
import logging
import shlex
import subprocess
import wave
from pathlib import Path
from typing import Callable

from appliance.speech import digest

log = logging.getLogger("locker.voice")
ROOT = Path(__file__).resolve().parent.parent
AUDIO_DIR = ROOT / "assets" / "audio" / "locker" / "zh"
MANIFEST = AUDIO_DIR.parent / "manifest.json"  # piece -> digest of the text and speed it was recorded from
GAP_MS = 60  # silence between the pieces
SPEED = "170"  # words a minute (espeak's Mandarin is slow at its default)

# piece -> what it says
PIECES: dict[str, str] = {
    "before": "请关好",
    "after": "号柜门，谢谢",
    **{f"d{n}": ch for n, ch in enumerate("零一二三四五六七八九")},
    "ten": "十",
    "hundred": "百",
}


def number_pieces(n: int) -> list[str]:
    """The pieces that read ``n`` in Chinese: 3 → 三, 10 → 十, 12 → 十二, 20 → 二十,
    105 → 一百零五, 110 → 一百一十. From 1000 on, digit by digit."""
    if n < 0:
        raise ValueError(f"no door number {n}")
    if n >= 1000:
        return [f"d{c}" for c in str(n)]
    if n < 10:
        return [f"d{n}"]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ([] if tens == 1 else [f"d{tens}"]) + ["ten"] + ([f"d{ones}"] if ones else [])
    hundreds, rest = divmod(n, 100)
    out = [f"d{hundreds}", "hundred"]
    if rest == 0:
        return out
    if rest < 10:
        return out + ["d0", f"d{rest}"]
    tens, ones = divmod(rest, 10)
    return out + [f"d{tens}", "ten"] + ([f"d{ones}"] if ones else [])


def door_prompt(number: int) -> list[str]:
    """请关好N号柜门，谢谢, as pieces."""
    return ["before", *number_pieces(number), "after"]


def text_of(pieces: list[str]) -> str:
    return "".join(PIECES[p] for p in pieces)


def recording(piece: str) -> Path:
    return AUDIO_DIR / f"{piece}.wav"


def join(pieces: list[str]) -> bytes:
    """One WAV (mono, 16 bit) of the recordings of ``pieces``, a short gap between them."""
    frames, rate = [], None
    for piece in pieces:
        with wave.open(str(recording(piece))) as part:
            if part.getnchannels() != 1 or part.getsampwidth() != 2:
                raise ValueError(f"{recording(piece)}: not mono 16-bit")
            if rate is not None and part.getframerate() != rate:
                raise ValueError(f"{recording(piece)}: {part.getframerate()} Hz, the others {rate} Hz")
            rate = part.getframerate()
            frames.append(part.readframes(part.getnframes()))
    assert rate is not None
    gap = b"\0\0" * (rate * GAP_MS // 1000)
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(rate)
        target.writeframes(gap.join(frames))
    return out.getvalue()


class Speaker:
    """The locker's speaker: ``command`` plays a WAV given on its standard input."""

    def __init__(self, command: str, *, timeout: float = 30.0) -> None:
        self.command = shlex.split(command)
        self.timeout = timeout
        self.said: list[int] = []  # door numbers spoken, newest last (tests, the log)
        self._process: subprocess.Popen | None = None

    def say_door(self, number: int) -> bool:
        """Ask for door ``number`` to be closed; True once the player took it all."""
        try:
            data = join(door_prompt(number))
        except (OSError, ValueError) as exc:
            log.warning("no recording for the prompt of door %s: %s (python -m locker voice record)", number, exc)
            return False
        try:
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
        except OSError as exc:
            log.warning("cannot play the prompt of door %s with %s: %s", number, self.command[0], exc)
            return False
        self._process = process
        try:
            _, err = process.communicate(data, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            log.warning("the speaker (%s) took longer than %.0f s: stopped", self.command[0], self.timeout)
            return False
        finally:
            self._process = None
        if process.returncode != 0:
            log.warning("the speaker (%s) failed (exit %s): %s", self.command[0], process.returncode,
                        (err or b"").decode(errors="replace").strip()[:200])
            return False
        self.said.append(number)
        del self.said[:-50]
        return True

    def stop(self) -> None:
        """Silence a prompt being played (the daemon is stopping)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()


class Announcer:
    """Speaks the audit log's ``door_left_open`` entries as they come (the daemon's voice thread)."""

    def __init__(self, speaker: Speaker, entries: Callable[[int], list[dict]], after: int) -> None:
        self.speaker, self.entries, self.after = speaker, entries, after

    def catch_up(self) -> int:
        """Speak what came since the last call; how many prompts were spoken."""
        spoken = 0
        for entry in self.entries(self.after):
            self.after = entry["seq"]
            door = entry["detail"].get("door")
            if entry["event"] == "door_left_open" and isinstance(door, int):
                spoken += self.speaker.say_door(door)
        return spoken


# -- making the recordings (python -m locker voice record) ---------------------------------
def stale() -> list[str]:
    """Pieces whose recording is missing or was made from another text."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
    return [p for p, text in PIECES.items() if not recording(p).exists() or manifest.get(p) != digest(text + SPEED)]


def record(pieces: list[str] | None = None) -> list[str]:
    """Record ``pieces`` (default: the stale ones) with espeak-ng's Mandarin voice."""
    from appliance.speech import synthesise

    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
    done = []
    for piece in stale() if pieces is None else pieces:
        AUDIO_DIR.mkdir(parents=True, exist_ok=True)
        recording(piece).write_bytes(synthesise(PIECES[piece], "cmn", SPEED, trim=True))
        manifest[piece] = digest(PIECES[piece] + SPEED)
        done.append(piece)
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return done
