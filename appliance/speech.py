"""Spoken prompts recorded with espeak-ng (kiosk/speech.py for the kiosk's screens,
locker/voice.py for the locker's door prompts): the text in, a small mono WAV out.
Only recording needs espeak-ng; the appliances play the WAV files with aplay."""
from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import wave

RATE = 11025  # enough for speech; a quarter of espeak's own rate, so a quarter the bytes


def digest(text: str) -> str:
    """What a recording's manifest keeps of its text, to find stale recordings."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def synthesise(text: str, voice: str, speed: str = "150", *, trim: bool = False) -> bytes:
    """``text`` spoken by espeak-ng's ``voice`` as a 16-bit mono WAV at about
    :data:`RATE`; ``trim`` cuts the silence espeak puts round a phrase (for pieces
    joined into one prompt). SystemExit naming the package when espeak-ng is missing."""
    import numpy as np

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng); only recording needs it")
    raw = subprocess.run([espeak, "-v", voice, "-s", speed, "--stdout", text], capture_output=True,
                         check=True).stdout
    with wave.open(io.BytesIO(raw)) as source:
        rate, frames = source.getframerate(), source.readframes(source.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32)
    step = max(1, round(rate / RATE))
    samples = samples[: len(samples) // step * step].reshape(-1, step).mean(axis=1)  # average, then decimate
    if trim:
        loud = np.flatnonzero(np.abs(samples) > 300)
        if loud.size:
            margin = rate // step // 50
            samples = samples[max(0, loud[0] - margin): loud[-1] + margin]
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(rate // step)
        target.writeframes(samples.clip(-32768, 32767).astype("<i2").tobytes())
    return out.getvalue()
