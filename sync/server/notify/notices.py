"""What residents are told, and when: each notice is stored (outbox.enqueue) in the
same transaction as the fact it tells of, so it is sent exactly when that fact is
committed. Texts are Chinese: they go to residents' phones as SMS."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection

from sync.server.notify import outbox, residents
from sync.server.notify.settings import NotifySettings

SIGNATURE = "【社区事务】"


def _day(expires_at: Any) -> str:
    try:
        moment = datetime.fromtimestamp(float(expires_at), timezone.utc).astimezone()
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return f"{moment.month}月{moment.day}日"


def pickup_ready(conn: Connection, *, event_id: str, case_id: str, community: str | None, locker: str,
                 payload: dict[str, Any]) -> int | None:
    """The result of ``case_id`` waits in a locker: the short pickup code and where."""
    who = residents.of_case(conn, case_id)
    short, door, until = payload.get("short", ""), payload.get("door", ""), _day(payload.get("expires_at"))
    text = (f"{SIGNATURE}您的办理结果（{who.item or '案件 ' + case_id}）已放入云柜 {locker}"
            f"{f' {door} 号门' if door not in ('', None) else ''}，取件码 {short}"
            f"{f'，请于{until}前' if until else '，请尽快'}到柜前输入取件码领取。")
    return outbox.enqueue(conn, dedupe=f"pickup:{event_id}", kind="pickup_ready", phone=who.phone, text=text,
                          case_id=case_id, community=community,
                          data={"locker": locker, "door": door, "short": short})


def rate_service(conn: Connection, *, event_id: str, case_id: str, community: str | None, link: str,
                 settings: NotifySettings) -> int | None:
    """After pickup: a link to rate the service."""
    who = residents.of_case(conn, case_id)
    text = (f"{SIGNATURE}您已领取办理结果，感谢使用。请为本次服务评分：{link}"
            f"（{settings.rating_days}天内有效，仅可评价一次）")
    return outbox.enqueue(conn, dedupe=f"rate:{event_id}", kind="rate_service", phone=who.phone, text=text,
                          case_id=case_id, community=community, data={"link": link})


def contact(conn: Connection, *, case_id: str, community: str | None, worker_name: str, username: str,
            message: str, dedupe: str) -> int | None:
    """A grid worker's own message to the resident of ``case_id``."""
    who = residents.of_case(conn, case_id)
    text = f"{SIGNATURE}网格员{worker_name}：{message.strip()}"
    return outbox.enqueue(conn, dedupe=dedupe, kind="contact", phone=who.phone, text=text, case_id=case_id,
                          community=community, created_by=username, data={})
