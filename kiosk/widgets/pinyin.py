"""Pinyin for the on-screen keyboard: letters typed → Chinese candidates, most used
first. Plain Python, no Qt.

::

    words = Pinyin.load()                 # assets/pinyin.tsv, once per process
    words.candidates("ludeng")            # ["路灯", "路", "陆", …]
    words.candidates("jzz")               # initials: ["居住证", …]
    words.consumed("ludeng", "路")        # 2: a character takes its syllable's letters

The table ``assets/pinyin.tsv`` (about 20 000 words and the 6 763 characters of GB 2312,
each with its readings without tones, ``ü`` typed as ``v``) is made offline from two
MIT-licensed packages, ``pypinyin`` (readings) and ``jieba``'s dictionary (how often a
word is used): ``pip install pypinyin jieba`` then ``python -m kiosk.widgets.pinyin``.
Nothing is looked up at run time but the table.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kiosk.i18n import ROOT

TABLE = ROOT / "assets" / "pinyin.tsv"
WORDS = 20000  # the most used words of two to four characters kept in the table
LIMIT = 40  # candidates offered at once (the bar pages through them)


@dataclass
class Pinyin:
    chars: dict[str, list[str]] = field(default_factory=dict)  # syllable -> characters, most used first
    words: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (word, syllables), most used first

    order: str = ""  # every character, most used first

    def __post_init__(self) -> None:
        self.syllables = set(self.chars)
        self._rank = {c: i for i, c in enumerate(self.order)}
        self._prefixes = {s[:i] for s in self.syllables for i in range(1, len(s) + 1)}
        self._by_first: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for word, sounds in self.words:
            self._by_first.setdefault(sounds[0][0], []).append((word, sounds))

    @classmethod
    def load(cls, path: Path = TABLE) -> "Pinyin":
        return _load(str(path))

    # -- splitting letters into syllables ---------------------------------------------------
    def split(self, letters: str) -> list[str]:
        """``"ludeng"`` → ``["lu", "deng"]``; the last piece may be the start of a
        syllable (``"lud"`` → ``["lu", "d"]``). The fewest pieces win; [] if none fits."""
        best: dict[int, list[str]] = {0: []}
        for start in range(len(letters)):
            if start not in best:
                continue
            for end in range(start + 1, len(letters) + 1):
                piece = letters[start:end]
                whole = piece in self.syllables
                if not whole and not (end == len(letters) and piece in self._prefixes):
                    if piece not in self._prefixes:
                        break
                    continue
                path = best[start] + [piece]
                if end not in best or len(path) < len(best[end]):
                    best[end] = path
        return best.get(len(letters), [])

    def _fits(self, sounds: tuple[str, ...], pieces: list[str]) -> bool:
        if len(sounds) != len(pieces):
            return False
        return all(s == p for s, p in zip(sounds[:-1], pieces[:-1])) and sounds[-1].startswith(pieces[-1])

    # -- candidates -----------------------------------------------------------------------------
    def candidates(self, letters: str, limit: int = LIMIT) -> list[str]:
        letters = letters.lower()
        if not letters:
            return []
        pieces = self.split(letters)
        found: list[str] = []
        words = self._by_first.get(letters[0], [])
        if len(pieces) > 1:
            found += [w for w, sounds in words if self._fits(sounds, pieces)]
        if len(letters) > 1:  # initials: jzz → 居住证
            found += [w for w, sounds in words if len(sounds) == len(letters)
                      and all(s.startswith(c) for s, c in zip(sounds, letters))]
        if pieces:
            first = pieces[0]
            if len(pieces) == 1 and first not in self.syllables:  # a syllable being typed
                matching = {c for s in self.syllables if s.startswith(first) for c in self.chars[s]}
                found += sorted(matching, key=lambda c: self._rank.get(c, len(self._rank)))
            else:
                found += self.chars.get(first, [])
        seen: set[str] = set()
        out = []
        for candidate in found:
            if candidate not in seen:
                seen.add(candidate)
                out.append(candidate)
                if len(out) >= limit:
                    break
        return out

    def consumed(self, letters: str, chosen: str) -> int:
        """How many of ``letters`` a chosen candidate stands for: a word all of them, a
        single character the first syllable's (the rest stays to be chosen)."""
        pieces = self.split(letters.lower())
        if len(chosen) > 1 or len(pieces) <= 1:
            return len(letters)
        return len(pieces[0])


@lru_cache(maxsize=2)
def _load(path: str) -> Pinyin:
    chars: dict[str, list[str]] = {}
    words: list[tuple[str, tuple[str, ...]]] = []
    order = ""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        kind, key, value = line.split("\t")
        if kind == "s":
            chars[key] = list(value)
        elif kind == "w":
            words.append((key, tuple(value.split())))
        elif kind == "o":
            order = value
    return Pinyin(chars, words, order)


# -- making the table (offline) ------------------------------------------------------------------
def build(path: Path = TABLE, words: int = WORDS) -> tuple[int, int]:
    """Write the table from pypinyin and jieba's dictionary; (syllables, words) written."""
    import os

    try:
        import jieba
        from pypinyin import Style, lazy_pinyin, pinyin
    except ImportError as exc:
        raise SystemExit(f"making the pinyin table needs pypinyin and jieba ({exc}): pip install pypinyin jieba")
    dictionary = Path(os.path.dirname(jieba.__file__)) / "dict.txt"
    frequency: dict[str, int] = {}
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            frequency[parts[0]] = int(parts[1])
    hanzi = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xF8) for lo in range(0xA1, 0xFF)
             if not (hi == 0xD7 and lo > 0xF9)]
    used: dict[str, float] = {c: float(frequency.get(c, 0)) for c in hanzi}
    for word, count in frequency.items():
        if 1 < len(word) <= 4:
            for c in set(word):
                if c in used:
                    used[c] += count / 10
    weighted: dict[str, list[tuple[float, str]]] = {}
    for c in hanzi:
        readings = [r for r in pinyin(c, style=Style.NORMAL, heteronym=True)[0] if r.isascii() and r.isalpha()]
        for n, reading in enumerate(readings):  # the first reading is the usual one
            weighted.setdefault(reading, []).append((used[c] / (1 if n == 0 else 50), c))
    by_sound = {sound: [c for _, c in sorted(pairs, key=lambda p: -p[0])] for sound, pairs in weighted.items()}
    common = sorted((w for w, n in frequency.items() if 2 <= len(w) <= 4 and all(c in used for c in w)),
                    key=lambda w: -frequency[w])[:words]
    # the kiosk's own words first (its screens, the service guide, the places): what residents type here
    own: list[str] = []
    for text in _own_texts():
        for word in jieba.cut(text):
            if 2 <= len(word) <= 4 and all(c in used for c in word) and word not in own:
                own.append(word)
    common = own + [w for w in common if w not in set(own)]
    lines = ["# The on-screen keyboard's pinyin (kiosk/widgets/pinyin.py): s SYLLABLE CHARACTERS (most used",
             "# first), w WORD SYLLABLES. Made by python -m kiosk.widgets.pinyin from pypinyin (readings) and",
             "# jieba's dict.txt (frequencies), both MIT-licensed. Do not edit by hand."]
    lines += [f"s\t{sound}\t{''.join(cs)}" for sound, cs in sorted(by_sound.items())]
    lines.append(f"o\tall\t{''.join(sorted(hanzi, key=lambda c: -used[c]))}")
    for word in common:
        sounds = lazy_pinyin(word, style=Style.NORMAL)
        if all(s.isascii() and s.isalpha() for s in sounds):
            lines.append(f"w\t{word}\t{' '.join(sounds)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _load.cache_clear()
    return len(by_sound), len(lines) - len(by_sound) - 4


def _own_texts() -> list[str]:
    """The Chinese of the kiosk's catalogues and of its demo guide and places."""
    import json
    import tomllib

    texts: list[str] = []
    for path in sorted((ROOT / "assets" / "i18n").glob("*.toml")):
        for entry in tomllib.loads(path.read_text(encoding="utf-8")).values():
            if isinstance(entry, dict):
                texts.append(str(entry.get("zh", "")))
    for path in (ROOT / "assets" / "demo").glob("*.json"):
        texts.append(json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False))
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.widgets.pinyin", description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=WORDS, help=f"most used words kept (default {WORDS})")
    args = parser.parse_args(argv)
    sounds, kept = build(words=args.words)
    print(f"{TABLE}: {sounds} syllables, {kept} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
