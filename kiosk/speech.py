"""Make the spoken prompts: ``python -m kiosk.speech [--check]`` speaks every key
in :data:`SPOKEN` with espeak-ng (Debian package ``espeak-ng``; voices ``cmn`` for
Mandarin and ``en``) into ``assets/audio/<lang>/<key>.wav`` (mono, 11025 Hz, 16 bit:
small enough to commit). Run it after changing one of those catalogue texts;
``--check`` only lists keys whose recording is missing or older than its text.
The kiosk plays them with :mod:`kiosk.voice`; nothing is synthesised at run time.
"""
from __future__ import annotations

import argparse
import json
import sys


from appliance.speech import digest, synthesise
from kiosk.i18n import Catalogue
from kiosk.voice import AUDIO_DIR

SAID = ("common.idle_question", "common.elderly_spoken", "identify.place_card", "identify.prompt_look_ahead",
        "identify.prompt_turn_left", "identify.prompt_turn_right", "identify.prompt_blink",
        "identify.prompt_look_back", "identify.prompt_hold_still", "identify.welcome_spoken",
        "residence.printed_spoken", "subsidy.certified_title", "dropoff.door_open", "dropoff.done_title",
        "pickup.door_open", "pickup.done_title", "report.sent_title", "alerts.close_door_spoken",
        "alerts.refused_spoken")
# Every domain whose keys are said by a reason the locker gives (``doors.{reason}``): all
# of its keys are recorded, but those with a field ({wait}): a changing number is shown only.
SAID_DOMAINS = ("doors",)


def spoken_keys(catalogue: Catalogue | None = None) -> tuple[str, ...]:
    """The keys with a recording: :data:`SAID` and the keys of :data:`SAID_DOMAINS`."""
    from kiosk.i18n import _fields

    catalogue = catalogue or Catalogue()
    domains = tuple(sorted(key for key, entry in catalogue.entries.items()
                           if key.split(".", 1)[0] in SAID_DOMAINS and not _fields(entry.zh + entry.en)))
    return SAID + tuple(k for k in domains if k not in SAID)


SPOKEN = spoken_keys()
VOICES = {"zh": "cmn", "en": "en"}
SPEED = {"zh": "170", "en": "150"}  # words a minute; espeak's Mandarin is slow at its default
MANIFEST = AUDIO_DIR / "manifest.json"  # key/lang -> SHA-256 of the text spoken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.speech", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list recordings that are missing or stale")
    args = parser.parse_args(argv)
    catalogue = Catalogue()
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    stale = []
    for key in SPOKEN:
        for lang, voice in VOICES.items():
            text = catalogue.t(key, lang)
            path = AUDIO_DIR / lang / f"{key}.wav"
            if path.exists() and manifest.get(f"{lang}/{key}") == digest(text + SPEED[lang]):
                continue
            stale.append(f"{lang}/{key}")
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(synthesise(text, voice, SPEED[lang]))
                manifest[f"{lang}/{key}"] = digest(text + SPEED[lang])
                print(f"{path.relative_to(AUDIO_DIR.parent.parent)}  {text}")
    if not args.check:
        MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    elif stale:
        print("missing or stale: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
