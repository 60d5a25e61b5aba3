"""The health of a community's appliances, from their heartbeats (sync.wire.Heartbeat):
online when the last heartbeat is recent, troubled when a peripheral is degraded or
down, the disk is nearly full or the outbox is backing up."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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


def problems(health: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What needs a person, (zh, en) each: peripherals not ok, low disk, a backlog."""
    if not health:
        return []
    found: list[tuple[str, str]] = []
    for name, peripheral in sorted((health.get("peripherals") or {}).items()):
        state = peripheral.get("state")
        if state in ("degraded", "down"):
            detail = peripheral.get("detail") or ""
            fix = peripheral.get("fix") or ""
            word = {"degraded": ("异常", "degraded"), "down": ("故障", "down")}[state]
            found.append((f"{name} {word[0]}：{detail} {fix}".strip(), f"{name} {word[1]}: {detail} {fix}".strip()))
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
                 troubled=sum(bool(problems(r.health)) for r in rows))
