"""Each program's latest heartbeat of a device, and the device's merged picture.

A kiosk+locker box runs two sync agents under one device key, the kiosk app's
(printer, ID reader, PC/SC, camera) and the locker daemon's (lock boards, scanner);
``python -m sync.agent`` is a third kind. Each heartbeat names its ``source``
(:class:`sync.wire.Heartbeat`); one without (an older appliance) is the source
``appliance``. ``devices.health`` (JSON) keeps every source's latest beat and, beside
them, the merged picture a reader of one beat knew::

    {"sources": {"kiosk": {"at": "2026-…+00:00", "spacings": [30.0, 29.9], "beat": {…}},
                 "locker": {…}},
     "peripherals": {…every source's…}, "free_disk_bytes": the smaller, "outbox_pending": the sum,
     "software_version": the one version, or "kiosk 1.4.0 / locker 1.3.2" when they differ}

A peripheral two sources both report (``config``: each program applies the server's
configuration itself) is named with its source: ``config (kiosk)``, ``config (locker)``.

A source is expected again within 3 of its heartbeat intervals (:func:`expected_within`):
the appliance's ``[sync] interval_s`` is not known here, so the interval is the longest
spacing of that source's last few beats (a round a daemon wakes for early makes a short
one; a restart or a backoff a long one, forgotten a few beats later), and never less than
the shipped 30 s. A source silent for :data:`FORGET_AFTER` (a daemon removed from the
box) is dropped at the next beat, and the first beat naming a source drops ``appliance``
(the box was updated).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sync.wire import Heartbeat

LEGACY = "appliance"  # the source of a heartbeat that names none
INTERVAL_FLOOR = timedelta(seconds=30)  # the shipped [sync] interval_s
MISSED_BEATS = 3  # a source this many intervals late is reported silent
SPACINGS = 4  # spacings kept per source
FORGET_AFTER = timedelta(days=7)
MAX_SOURCES = 8  # a device naming more keeps the most recent


def last_beat(entry: dict[str, Any]) -> datetime | None:
    """When the server received the source's latest beat."""
    try:
        return datetime.fromisoformat(entry["at"])
    except (KeyError, TypeError, ValueError):
        return None


def sources_of(health: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The stored sources (empty for a row written before sources were kept)."""
    found = (health or {}).get("sources")
    return found if isinstance(found, dict) else {}


def record(health: dict[str, Any] | None, beat: Heartbeat, at: datetime) -> dict[str, Any]:
    """The device's health with ``beat`` (received ``at``) as its source's latest."""
    sources = dict(sources_of(health))
    name = beat.source or LEGACY
    if name != LEGACY:
        sources.pop(LEGACY, None)
    last = last_beat(sources.get(name) or {})
    spacings = [s for s in (sources.get(name) or {}).get("spacings") or [] if isinstance(s, (int, float))]
    if last is not None and at > last:
        spacings = [*spacings, round((at - last).total_seconds(), 3)][-SPACINGS:]
    sources[name] = {"at": at.isoformat(), "spacings": spacings,
                     "beat": beat.model_dump(mode="json", exclude={"source"})}
    kept = {key: entry for key, entry in sources.items()
            if key == name or ((seen := last_beat(entry)) is not None and at - seen <= FORGET_AFTER)}
    if len(kept) > MAX_SOURCES:
        newest = sorted(kept, key=lambda key: last_beat(kept[key]) or at, reverse=True)[:MAX_SOURCES]
        kept = {key: kept[key] for key in sorted(newest)}
    return {**merge(kept), "sources": dict(sorted(kept.items()))}


def merge(sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One picture of the device from its sources' latest beats."""
    beats = {name: entry.get("beat") or {} for name, entry in sorted(sources.items())}
    reported: dict[str, list[str]] = {}
    for name, beat in beats.items():
        for peripheral in beat.get("peripherals") or {}:
            reported.setdefault(peripheral, []).append(name)
    peripherals = {}
    for name, beat in beats.items():
        for peripheral, state in (beat.get("peripherals") or {}).items():
            peripherals[peripheral if len(reported[peripheral]) == 1 else f"{peripheral} ({name})"] = state
    disks = [b["free_disk_bytes"] for b in beats.values() if isinstance(b.get("free_disk_bytes"), int)]
    versions = {name: str(b.get("software_version", "")) for name, b in beats.items()}
    version = (next(iter(versions.values())) if len(set(versions.values())) <= 1
               else " / ".join(f"{name} {v}" for name, v in versions.items()))
    return {"software_version": version, "free_disk_bytes": min(disks, default=0),
            "outbox_pending": sum(b.get("outbox_pending") or 0 for b in beats.values()),
            "peripherals": dict(sorted(peripherals.items()))}


def expected_within(entry: dict[str, Any]) -> timedelta:
    """How long a source may stay silent: 3 of its intervals (its longest recent spacing)."""
    spacings = [s for s in entry.get("spacings") or [] if isinstance(s, (int, float))]
    interval = max([INTERVAL_FLOOR, *(timedelta(seconds=s) for s in spacings)])
    return MISSED_BEATS * interval
