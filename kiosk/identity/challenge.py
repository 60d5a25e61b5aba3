"""The liveness challenge: what the resident is asked to do, drawn at random.

YuNet's five landmarks carry head yaw (see :attr:`Face.yaw`): the head turns. A
blink is seen in the eye regions around the landmarks (:mod:`kiosk.identity.eyes`).
Which challenge, and in which order when an attempt asks for more than one, is
drawn from the operating system's random source for every attempt among the
configured ``[identity] challenges``: a video recorded beforehand does the wrong
thing most of the time, and a wrong turn fails.

Directions are the resident's own: "turn left" is their left. The camera's picture
is not mirrored (the driver delivers it as the sensor sees it), so their left is
the picture's right and the nose moves to larger x.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Iterable


class ChallengeKind(str, Enum):
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    BLINK = "blink"


# +1: the nose moves to larger x in the picture.
DIRECTION = {ChallengeKind.TURN_LEFT: +1, ChallengeKind.TURN_RIGHT: -1}


@dataclass(frozen=True)
class Prompt:
    """What the screen (and the voice) tells the resident now."""
    kind: str  # a ChallengeKind value, or "look_ahead" / "look_back" / "hold_still"
    zh: str  # translator's note: short, spoken aloud too
    en: str
    attempt: int
    step: int = 0  # 1, 2 … for challenges


TEXTS = {
    "look_ahead": ("请正对屏幕，保持不动", "Look at the screen and hold still"),
    ChallengeKind.TURN_LEFT.value: ("请向左转头", "Turn your head to your left"),
    ChallengeKind.TURN_RIGHT.value: ("请向右转头", "Turn your head to your right"),
    ChallengeKind.BLINK.value: ("请眨眨眼", "Please blink"),
    "look_back": ("请转回来，正对屏幕", "Now look back at the screen"),
    "hold_still": ("请保持不动", "Hold still"),  # after a blink, instead of look_back
}


def prompt(kind: str, attempt: int, step: int = 0) -> Prompt:
    zh, en = TEXTS[kind]
    return Prompt(kind, zh, en, attempt, step)


def draw(kinds: Iterable[str], count: int, rng: random.Random | None = None) -> list[ChallengeKind]:
    """``count`` challenges from the configured ``kinds``, at random, never the same
    one twice in a row when there is a choice."""
    choices = [ChallengeKind(kind) for kind in dict.fromkeys(kinds)]
    pick = (rng or secrets.SystemRandom()).choice
    drawn: list[ChallengeKind] = []
    for _ in range(count):
        options = [kind for kind in choices if not drawn or kind is not drawn[-1]] or choices
        drawn.append(pick(options))
    return drawn
