"""Report a problem (报事): what (a category), where in the community, and a short
description typed or picked from common phrases. It becomes a case for the grid
worker: a ``created`` event through the outbox, and the resident follows it in My
progress.

Plain Python, no Qt::

    flow = ReportFlow(store, resident, places)
    flow.choose_category("street_lamp")
    flow.choose_place("building-3")
    flow.pick_phrase(0)                  # or flow.type_text("路灯一闪一闪")
    case = flow.submit()                 # flow.problems() lists what is still missing

Categories and their phrases are catalogue entries (``assets/i18n/report.toml``:
``report.category_<id>``, ``report.phrase_<id>_<n>``); the community's places are
data (``assets/demo/places.json`` until the server publishes them). The case records
the Chinese words, as the grid worker reads them.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kiosk.store import cases
from kiosk.store.cases import Case, Resident
from sync.store import Store

ROOT = Path(__file__).resolve().parents[2]
PLACES = ROOT / "assets" / "demo" / "places.json"
CATALOGUE = ROOT / "assets" / "i18n" / "report.toml"
# category -> how many common phrases it has in the catalogue
CATEGORIES: dict[str, int] = {"street_lamp": 3, "manhole_cover": 3, "litter": 3, "noise": 3, "facilities": 3,
                              "greenery": 3, "parking": 3, "water": 3, "other": 0}
MAX_TEXT = 120
MIN_TEXT = 4


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    name_en: str = ""


def load_places(path: Path = PLACES) -> list[Place]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Place(str(p["id"]), str(p["name"]), str(p.get("name_en", ""))) for p in data["places"]]


def chinese(key: str, _cache: dict = {}) -> str:  # noqa: B006 - a module-lifetime cache on purpose
    """The Chinese text of a ``report.*`` key (what the grid worker reads)."""
    if not _cache:
        _cache.update({f"report.{k}": v["zh"] for k, v in tomllib.loads(CATALOGUE.read_text("utf-8")).items()})
    return _cache.get(key, key)


def phrase_keys(category: str) -> list[str]:
    return [f"report.phrase_{category}_{n}" for n in range(1, CATEGORIES.get(category, 0) + 1)]


class ReportFlow:
    def __init__(self, store: Store, resident: Resident | None, places: list[Place] | None = None, *,
                 words: Callable[[str], str] = chinese) -> None:
        self.store, self.resident = store, resident
        self.places = places if places is not None else load_places()
        self.words = words
        self.reset()

    def reset(self) -> None:
        self.category: str | None = None
        self.place: Place | None = None
        self.place_detail = ""  # e.g. "3单元门口": typed, optional
        self.phrases: list[str] = []  # keys picked, in order
        self.text = ""
        self.case: Case | None = None

    def end_session(self) -> None:
        self.reset()
        self.resident = None

    def choose_category(self, category: str) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"category {category!r}: one of {', '.join(CATEGORIES)}")
        if category != self.category:
            self.phrases = []
        self.category = category

    def choose_place(self, place_id: str, detail: str = "") -> None:
        self.place = next((p for p in self.places if p.id == place_id), None)
        if self.place is None:
            raise ValueError(f"no place {place_id!r} in this community")
        self.place_detail = detail.strip()[:30]

    def pick_phrase(self, index: int) -> list[str]:
        """Pick (or drop) common phrase ``index`` of the category."""
        keys = phrase_keys(self.category or "")
        key = keys[index]
        self.phrases = [p for p in self.phrases if p != key] if key in self.phrases else [*self.phrases, key]
        return self.phrases

    def type_text(self, text: str) -> None:
        self.text = text.strip()[:MAX_TEXT]

    @property
    def description(self) -> str:
        """What the grid worker reads: the phrases picked, then the text typed."""
        parts = [self.words(k) for k in self.phrases] + ([self.text] if self.text else [])
        return "；".join(parts)[:MAX_TEXT + 60]

    def problems(self) -> list[str]:
        """Catalogue keys of what is still missing (empty: ready to send)."""
        missing = []
        if self.resident is None:
            missing.append("report.need_identify")
        if self.category is None:
            missing.append("report.need_category")
        if self.place is None:
            missing.append("report.need_place")
        if len(self.description) < MIN_TEXT:
            missing.append("report.need_description")
        return missing

    def submit(self) -> Case:
        problems = self.problems()
        if problems:
            raise ValueError(f"the report is not complete: {', '.join(problems)}")
        assert self.resident is not None and self.category is not None and self.place is not None
        where = self.place.name + (f" {self.place_detail}" if self.place_detail else "")
        self.case = cases.create(self.store, kind="report", item_id=self.category,
                                 item=self.words(f"report.category_{self.category}"), resident=self.resident,
                                 detail={"category": self.category, "place": self.place.id, "where": where,
                                         "description": self.description},
                                 payload={"for": "grid_worker"})
        return self.case
