"""The service guide (办事指南) as the kiosk reads it: items, their categories, the
materials each needs, where to go and when.

The server publishes the guide as ``guide_item`` records; the sync agent keeps what it
pulled in its own file beside the kiosk's store (``appliance.sync.db``,
:mod:`sync.agent.state`), which this module reads on a read-only connection (the
agent is that file's writer). Before the first sync, or with sync off, the shipped
demo guide (``assets/demo/guide.json``) stands in, so a fresh kiosk is never empty::

    guide = Guide.load(config)
    guide.search("补贴")            # items whose name, keywords, department … contain it
    guide.item("elderly-subsidy").materials[0].material

Search is a plain substring match over a text prepared once per item (Chinese names
and keywords, English names, lower-cased): a few microseconds an item, no index to
keep, no pinyin.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo" / "guide.json"
FORMS = ("original", "copy", "both")
OTHER = "other"  # the category of items that name none the guide knows


class GuideError(ValueError):
    """The guide file or a record cannot be read: names it and says what is wrong."""


@dataclass(frozen=True)
class Material:
    material: str
    form: str = "copy"  # original, copy, both
    copies: int = 1
    note: str = ""

    def as_checklist_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"material": self.material, "form": self.form, "copies": self.copies}
        if self.note:
            row["note"] = self.note
        return row


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    name_en: str = ""


@dataclass(frozen=True)
class GuideItem:
    id: str
    name: str
    category: str = OTHER
    name_en: str = ""
    keywords: tuple[str, ...] = ()
    department: str = ""
    department_en: str = ""
    place: str = ""
    place_en: str = ""
    hours: str = ""
    hours_en: str = ""
    time_limit: str = ""
    time_limit_en: str = ""
    contact: str = ""
    materials: tuple[Material, ...] = ()
    dropoff: bool = False  # the materials may go into a locker
    size: str = "M"  # the locker door size they need
    haystack: str = field(default="", repr=False, compare=False)

    def text(self, name: str, lang: str) -> str:
        """A field in ``lang`` (``en`` falls back to Chinese where no English is given)."""
        if lang == "en":
            return getattr(self, f"{name}_en", "") or getattr(self, name)
        return getattr(self, name)

    def checklist(self) -> dict[str, Any]:
        """The data of the ``materials_checklist`` form (:mod:`forms`)."""
        data: dict[str, Any] = {"item": self.name, "department": self.department or "社区服务站",
                                "materials": [m.as_checklist_row() for m in self.materials]}
        if self.time_limit:
            data["time_limit"] = self.time_limit
        if self.contact:
            data["contact"] = self.contact
        return data


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise GuideError(f"{what}: expected text, got {type(value).__name__}")
    return str(value).strip()


def _material(value: Any, what: str) -> Material:
    if isinstance(value, str):  # the server's short form: just the name
        return Material(value.strip())
    if not isinstance(value, dict) or not value.get("material"):
        raise GuideError(f"{what}: a material is a name or {{\"material\": …}}")
    form = str(value.get("form") or "copy")
    if form not in FORMS:
        raise GuideError(f"{what}: form {form!r} is not one of {', '.join(FORMS)}")
    copies = value.get("copies", 1)
    if not isinstance(copies, int) or not 1 <= copies <= 20:
        raise GuideError(f"{what}: copies {copies!r} is not 1 to 20")
    return Material(_text(value["material"], what), form, copies, _text(value.get("note"), what))


def parse_item(key: str, data: dict[str, Any]) -> GuideItem:
    """One guide item from its record (the server's ``title`` is the name)."""
    if not isinstance(data, dict):
        raise GuideError(f"guide item {key}: not an object")
    name = _text(data.get("name") or data.get("title"), f"guide item {key}: name")
    if not name:
        raise GuideError(f"guide item {key}: no name")
    keywords = data.get("keywords") or []
    if isinstance(keywords, str):
        keywords = keywords.replace("，", ",").split(",")
    materials = tuple(_material(m, f"guide item {key}: material {i + 1}")
                      for i, m in enumerate(data.get("materials") or []))
    size = str(data.get("size") or "M")
    item = GuideItem(
        id=str(data.get("id") or key), name=name, category=_text(data.get("category"), key) or OTHER,
        name_en=_text(data.get("name_en") or data.get("title_en"), key),
        keywords=tuple(k.strip() for k in keywords if str(k).strip()),
        department=_text(data.get("department"), key), department_en=_text(data.get("department_en"), key),
        place=_text(data.get("place"), key), place_en=_text(data.get("place_en"), key),
        hours=_text(data.get("hours"), key), hours_en=_text(data.get("hours_en"), key),
        time_limit=_text(data.get("time_limit"), key), time_limit_en=_text(data.get("time_limit_en"), key),
        contact=_text(data.get("contact"), key), materials=materials, dropoff=bool(data.get("dropoff", False)),
        size=size if size in ("S", "M", "L") else "M")
    haystack = " ".join([item.name, item.name_en, *item.keywords, item.department, item.department_en,
                         *(m.material for m in item.materials)]).lower()
    return _with(item, haystack=haystack)


def _with(item: GuideItem, **changes: Any) -> GuideItem:
    from dataclasses import replace
    return replace(item, **changes)


def normalise(query: str) -> list[str]:
    """The words of a query: lower case, full-width spaces and punctuation as spaces."""
    table = str.maketrans({c: " " for c in "\u3000，。、；：,.;:!?！？·"})
    return [w for w in query.translate(table).lower().split() if w]


def _rank(item: GuideItem, whole: str) -> int:
    """Exact keyword, then the name, then the English name, then anything else."""
    if any(k.lower() == whole for k in item.keywords):
        return 0
    if whole in item.name.lower():
        return 1
    return 2 if whole in item.name_en.lower() else 3


class Guide:
    """The items of the guide, in display order, searchable."""

    def __init__(self, items: Iterable[GuideItem], categories: Iterable[Category] = (), *,
                 source: str = "") -> None:
        self.items = list(items)
        self._by_id = {item.id: item for item in self.items}
        known = list(categories)
        used = {item.category for item in self.items}
        seen = {c.id for c in known}
        self.categories = [c for c in known if c.id in used] + [
            Category(c, "其他事项" if c == OTHER else c, "Other" if c == OTHER else c)
            for c in sorted(used - seen)]
        self.source = source  # where it was read from, for admin mode and logs
        self.skipped: list[str] = []  # synced records that could not be read

    def __len__(self) -> int:
        return len(self.items)

    def item(self, item_id: str) -> GuideItem:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise GuideError(f"no guide item {item_id!r}") from None

    def in_category(self, category: str) -> list[GuideItem]:
        return [i for i in self.items if i.category == category]

    def droppable(self) -> list[GuideItem]:
        """Items whose materials may go into a locker (the drop-off journey's choice)."""
        return [i for i in self.items if i.dropoff]

    def search(self, query: str, *, limit: int | None = None) -> list[GuideItem]:
        """Items containing every word of ``query``; names that contain it rank first."""
        words = normalise(query)
        if not words:
            return self.items[:limit] if limit else list(self.items)
        hits = [i for i in self.items if all(w in i.haystack for w in words)]
        whole = "".join(words)
        hits.sort(key=lambda i: _rank(i, whole))
        return hits[:limit] if limit else hits

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path = DEMO) -> Guide:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GuideError(f"{path}: cannot read the guide ({exc})") from exc
        categories = [Category(str(c["id"]), str(c["name"]), str(c.get("name_en", "")))
                      for c in data.get("categories", [])]
        items = [parse_item(str(d.get("id", i)), d) for i, d in enumerate(data.get("items", []))]
        return cls(items, categories, source=str(path))

    @classmethod
    def from_synced(cls, sync_file: str | Path, fallback: Guide | None = None) -> Guide | None:
        """The guide the sync agent pulled (``guide_item`` records), categories from
        ``fallback``'s; None when nothing was pulled yet. A record that cannot be read
        is left out (and named in ``skipped``), never the whole guide."""
        path = Path(sync_file)
        if not path.exists():
            return None
        try:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                rows = conn.execute("SELECT key, data FROM synced_records WHERE kind = 'guide_item' "
                                    "ORDER BY key").fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            return None  # no agent file yet, or one without the table: the demo guide stands in
        if not rows:
            return None
        items, skipped = [], []
        for key, text in rows:
            try:
                items.append(parse_item(key, json.loads(text)))
            except (GuideError, ValueError):
                skipped.append(key)
        guide = cls(items, fallback.categories if fallback else (), source=str(path))
        guide.skipped = skipped
        return guide

    @classmethod
    def load(cls, config: Any) -> Guide:
        """The synced guide beside the kiosk's store, else the shipped demo guide."""
        demo = cls.from_file(DEMO)
        store = Path(config.store_path)
        synced = cls.from_synced(store.with_name(f"{store.stem}.sync.db"), demo)
        return synced if synced is not None else demo
