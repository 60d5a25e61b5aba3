"""The home screen's announcements strip: synced ``announcement`` records (the
admin console publishes them), and the older single ``config``/``announcement``
entry. A record is ``{"text": 中文, "text_en"?: English, "starts"?: ISO date,
"ends"?: ISO date, "order"?: int}``; out-of-date ones are not shown."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kiosk.store.content import SyncedContent


@dataclass(frozen=True)
class Announcement:
    key: str
    zh: str
    en: str
    order: int = 0

    def text(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.zh


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def _from(key: str, data: dict[str, Any], today: date) -> Announcement | None:
    text = str(data.get("text") or data.get("zh") or "").strip()
    if not text:
        return None
    starts, ends = _day(data.get("starts")), _day(data.get("ends"))
    if (starts and today < starts) or (ends and today > ends):
        return None
    community = data.get("community")
    return Announcement(key, text, str(data.get("text_en") or data.get("en") or ""), int(data.get("order") or 0)) \
        if community in (None, "", "*") or isinstance(community, str) else None


def current_announcements(content: SyncedContent, community: str, today: date | None = None) -> list[Announcement]:
    today = today or date.today()
    found: list[Announcement] = []
    records = dict(content.records("announcement"))
    single = content.record("config", "announcement")
    if single:
        records.setdefault("config:announcement", single)
    for key, data in records.items():
        if data.get("community") not in (None, "", "*", community):
            continue
        item = _from(key, data, today)
        if item is not None:
            found.append(item)
    return sorted(found, key=lambda a: (a.order, a.key))
