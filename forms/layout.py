"""Breaking text into lines for a certificate: Chinese, English, and both mixed.

Chinese breaks between any two characters, except that a closing mark (，。、）」…)
never starts a line and an opening mark (（「《…) never ends one (the rules called
kinsoku). Latin words and numbers break only at spaces; a word longer than the line
is cut by characters as a last resort. Greedy filling is right for documents of a
few paragraphs: nobody needs Knuth-Plass on a residence proof.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache

GLUE = "\u2060"  # WORD JOINER: no break on either side; never drawn (see unglued)
CLOSING = frozenset("，。、；：？！）》」』”’〉】〕…·,.;:?!)]}%")
OPENING = frozenset("（《「『“‘〈【〔([{")


@lru_cache(maxsize=4096)
def is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def atoms(text: str) -> list[str]:
    """The unbreakable pieces of ``text``: single spaces, wide characters (with their
    kinsoku neighbours glued on) and runs of narrow non-space characters (words)."""
    raw: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == " " or is_wide(ch):
            raw.append(ch)
            i += 1
            continue
        j = i
        while j < n and text[j] != " " and not is_wide(text[j]):
            j += 1
        raw.append(text[i:j])
        i = j
    glued: list[str] = []
    for atom in raw:
        if glued and atom != " " and glued[-1] != " " and (
                atom[0] in CLOSING or atom[0] == GLUE or glued[-1][-1] in OPENING or glued[-1][-1] == GLUE):
            glued[-1] += atom
        else:
            glued.append(atom)
    return glued


def unbreakable(text: str) -> str:
    """``text`` joined so that it is never broken across lines (short values: a date,
    a name). Spaces stay break opportunities only when ``text`` has no wide characters."""
    if " " in text or len(text) < 2:
        return text
    return GLUE.join(text)


def unglued(text: str) -> str:
    return text.replace(GLUE, "")


def wrap(text: str, width: float, measure: Callable[[str], float], first_indent: float = 0.0) -> list[str]:
    """Lines of ``text`` no wider than ``width`` (the first one ``first_indent`` narrower).

    ``measure`` gets text without glue; the lines returned are without glue too."""
    plain = measure
    measure = lambda s: plain(unglued(s))  # noqa: E731
    lines: list[str] = []
    line = ""
    room = width - first_indent
    for atom in atoms(text):
        if atom == " ":
            if line:
                line += " "
            continue
        candidate = line + atom
        if measure(candidate.rstrip()) <= room:
            line = candidate
            continue
        if line.strip():
            lines.append(unglued(line.rstrip()))
            room = width
        line = ""
        # an atom wider than a whole line: cut it by characters
        while measure(atom) > room:
            cut = _longest_prefix(atom, room, measure)
            lines.append(unglued(atom[:cut]))
            atom = atom[cut:]
            room = width
        line = atom
    if line.strip() or not lines:
        lines.append(unglued(line.rstrip()))
    return lines


def _longest_prefix(text: str, room: float, measure: Callable[[str], float]) -> int:
    cut = 1
    while cut < len(text) and measure(text[: cut + 1]) <= room:
        cut += 1
    return cut
