"""The health of a community's appliances, from their heartbeats (sync.wire.Heartbeat):
online when the last heartbeat is recent, troubled when a peripheral is degraded or
down, the disk is nearly full, the outbox is backing up, or one of the box's programs
(its sources: the kiosk app, the locker daemon …, sync.server.heartbeats) has gone
silent while another still beats."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.server import heartbeats
from sync.server.content import aware, now

ONLINE_WITHIN = timedelta(minutes=2)  # heartbeats come every 30 s
LOW_DISK = 1024 ** 3  # bytes
OUTBOX_BACKLOG = 500  # events waiting on the appliance


@dataclass(frozen=True)
class Fleet:
    total: int
    online: int
    troubled: int


def is_online(last: datetime | None, at: datetime | None = None) -> bool:
    return last is not None and aware(last) > (at or now()) - ONLINE_WITHIN


# what each source is, (zh, en): the page and the problems name it so
SOURCE_NAMES = {"kiosk": ("自助终端程序", "kiosk app"), "locker": ("柜机守护进程", "locker daemon"),
                "agent": ("同步程序", "sync agent"), heartbeats.LEGACY: ("终端", "appliance")}
# the systemd unit to look at when a source is silent (systemd/)
SOURCE_UNITS = {"kiosk": "kiosk-ui", "locker": "kiosk-locker", "agent": "kiosk-sync-agent"}


@dataclass(frozen=True)
class Source:
    """One program of a device, as its latest heartbeat says."""

    key: str  # kiosk, locker, agent, appliance …
    name: tuple[str, str]  # (zh, en)
    at: datetime | None  # its latest beat
    version: str
    peripherals: dict[str, Any] = field(default_factory=dict)
    silent_for: timedelta | None = None  # late by more than 3 of its intervals while another beats


def sources(health: dict[str, Any] | None, at: datetime | None = None) -> list[Source]:
    """The device's sources, by key; a source is silent only while another is heard from
    (all silent: the device is offline, which the page says once)."""
    at = at or now()
    stored = heartbeats.sources_of(health)
    late: dict[str, timedelta] = {}
    for key, entry in stored.items():
        seen = heartbeats.last_beat(entry)
        if seen is not None and at - seen > heartbeats.expected_within(entry):
            late[key] = at - seen
    found = []
    for key, entry in sorted(stored.items()):
        beat = entry.get("beat") or {}
        found.append(Source(key, SOURCE_NAMES.get(key, (key, key)), heartbeats.last_beat(entry),
                            str(beat.get("software_version") or ""), dict(beat.get("peripherals") or {}),
                            late.get(key) if len(late) < len(stored) else None))
    return found


def _duration(span: timedelta) -> tuple[str, str]:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} 分钟", f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时", f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} 天", f"{minutes // (24 * 60)} days"


def _peripheral_problems(peripherals: dict[str, Any], prefix: tuple[str, str] = ("", "")) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, peripheral in sorted(peripherals.items()):
        state = peripheral.get("state")
        if state in ("degraded", "down"):
            detail = peripheral.get("detail") or ""
            fix = peripheral.get("fix") or ""
            word = {"degraded": ("异常", "degraded"), "down": ("故障", "down")}[state]
            found.append((f"{prefix[0]}{name} {word[0]}：{detail} {fix}".strip(),
                          f"{prefix[1]}{name} {word[1]}: {detail} {fix}".strip()))
    return found


def problems(health: dict[str, Any] | None, at: datetime | None = None) -> list[tuple[str, str]]:
    """What needs a person, (zh, en) each: peripherals not ok (named with their program
    when the device has several), a program gone silent, low disk, a backlog."""
    if not health:
        return []
    found: list[tuple[str, str]] = []
    several = sources(health, at)
    if len(several) > 1:
        for source in several:
            found += _peripheral_problems(source.peripherals, (f"{source.name[0]} · ", f"{source.name[1]}: "))
        for source in several:
            if source.silent_for is not None:
                zh, en = _duration(source.silent_for)
                unit = SOURCE_UNITS.get(source.key)
                fix = ((f"请在终端上查看：systemctl status {unit}", f"check it on the box: systemctl status {unit}")
                       if unit else ("请检查终端上的这个程序", "check that program on the box"))
                found.append((f"{source.name[0]} {zh}未上报心跳，显示的是它最后一次的情况。{fix[0]}",
                              f"{source.name[1]} silent for {en}: what is shown is its last report. {fix[1]}"))
    else:
        found += _peripheral_problems(health.get("peripherals") or {})
    free = health.get("free_disk_bytes")
    if isinstance(free, int) and free < LOW_DISK:
        found.append((f"磁盘空间不足（剩余 {free / 1024 ** 2:.0f} MB）", f"low disk space ({free / 1024 ** 2:.0f} MB free)"))
    pending = health.get("outbox_pending")
    if isinstance(pending, int) and pending >= OUTBOX_BACKLOG:
        found.append((f"有 {pending} 个事件尚未上传", f"{pending} events not yet uploaded"))
    return found


def summarise(rows: list[Any]) -> Fleet:
    """From (last_heartbeat_at, health) rows of the devices that are not revoked."""
    at = now()
    return Fleet(total=len(rows), online=sum(is_online(r.last_heartbeat_at, at) for r in rows),
                 troubled=sum(bool(problems(r.health, at)) for r in rows))
