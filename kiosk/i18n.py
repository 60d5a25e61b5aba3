"""Every string a resident reads: catalogues in ``assets/i18n/<domain>.toml``,
Chinese first, English second, each entry with a note for the translator.

One file per journey (``home.toml``, ``identify.toml``, ``guide.toml`` …): an
engineer adding a journey adds a file and edits nobody else's. A key is
``<domain>.<entry>``, the file's name and the table in it::

    # assets/i18n/home.toml
    [title]
    zh = "社区事务一体机"
    en = "Community self-service"
    note = "the home screen's heading; at most 10 characters, read from a step back"

    t("home.title")                     # the current language's text
    t("identify.welcome", name="张晓明")  # str.format placeholders, the same in zh and en

An entry is complete when it has ``zh``, ``en`` and ``note``, the Chinese text has
a Chinese character whenever it has Latin letters outside its placeholders (or
``zh_is_en = true`` for a brand name) and
both texts use the same placeholders; :meth:`Catalogue.problems` lists what is not
(``tests/kiosk/test_i18n.py`` loads every file and fails on any).
"""
from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
I18N_DIR = ROOT / "assets" / "i18n"
LANGUAGES = ("zh", "en")
_CJK = re.compile(r"[\u3400-\u9fff]")
_DOMAIN = re.compile(r"^[a-z][a-z0-9_]*$")
_LATIN = re.compile(r"[A-Za-z]")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class CatalogueError(Exception):
    """A catalogue file that cannot be used (bad TOML, a duplicate or malformed key)."""


@dataclass(frozen=True)
class Entry:
    key: str
    zh: str
    en: str
    note: str
    file: str
    zh_is_en: bool = False


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Catalogue:
    """All entries of a folder of catalogue files, and the current language."""

    def __init__(self, folder: Path = I18N_DIR, lang: str = "zh") -> None:
        self.folder = Path(folder)
        self.entries: dict[str, Entry] = {}
        self.lang = lang
        self._listeners: list[Callable[[str], None]] = []
        self.load()

    def load(self) -> None:
        entries: dict[str, Entry] = {}
        for path in sorted(self.folder.glob("*.toml")):
            domain = path.stem
            if not _DOMAIN.match(domain):
                raise CatalogueError(f"{path}: the file name must be a lower-case domain (home.toml)")
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise CatalogueError(f"{path}: {exc}") from exc
            for name, value in data.items():
                if not isinstance(value, dict):
                    raise CatalogueError(f"{path}: {name} must be a table with zh, en and note")
                key = f"{domain}.{name}"
                entries[key] = Entry(key, str(value.get("zh", "")), str(value.get("en", "")),
                                     str(value.get("note", "")), path.name, bool(value.get("zh_is_en", False)))
        self.entries = entries

    # -- language ------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r}: use one of {', '.join(LANGUAGES)}")
        if lang != self.lang:
            self.lang = lang
            for listener in list(self._listeners):
                listener(lang)

    def on_language(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    # -- lookup ----------------------------------------------------------------------
    def t(self, key: str, lang: str | None = None, **values: object) -> str:
        """The text of ``key`` in ``lang`` (default: the current language).

        A missing key shows as the key itself in brackets, never an exception on a
        resident's screen; the catalogue test catches it before it ships."""
        entry = self.entries.get(key)
        if entry is None:
            return f"[{key}]"
        text = entry.zh if (lang or self.lang) == "zh" else entry.en
        if values:
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    def both(self, key: str, **values: object) -> tuple[str, str]:
        return self.t(key, "zh", **values), self.t(key, "en", **values)

    # -- checks ----------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every incomplete entry, one line each: ``file: key: what is wrong``."""
        out: list[str] = []
        for entry in self.entries.values():
            where = f"{entry.file}: {entry.key}"
            if not entry.zh.strip():
                out.append(f"{where}: no zh text (untranslated)")
            elif not entry.zh_is_en and not _CJK.search(entry.zh) and _LATIN.search(_PLACEHOLDER.sub("", entry.zh)):
                out.append(f"{where}: zh text {entry.zh!r} has no Chinese (untranslated?)")
            if not entry.en.strip():
                out.append(f"{where}: no en text")
            if not entry.note.strip():
                out.append(f"{where}: no translator note")
            if _fields(entry.zh) != _fields(entry.en):
                out.append(f"{where}: placeholders differ: zh {sorted(_fields(entry.zh))}, "
                           f"en {sorted(_fields(entry.en))}")
        return out


_catalogue: Catalogue | None = None


def catalogue() -> Catalogue:
    """The process's catalogue (loaded on first use)."""
    global _catalogue
    if _catalogue is None:
        _catalogue = Catalogue()
    return _catalogue


def t(key: str, **values: object) -> str:
    """Shorthand for ``catalogue().t(key, **values)``: what screens call."""
    return catalogue().t(key, **values)
