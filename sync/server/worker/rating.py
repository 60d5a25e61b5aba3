"""Residents rate the service after pickup: 1–5 and a comment, once per case.

From a link in the pickup message (no login): the link's token is 128 random bits;
only its SHA-256 is stored, with an expiry (``SYNC_RATING_DAYS``), and it works
once. Or at the kiosk: the appliance pushes an ``evaluated`` case event with
``rating`` (or ``score``) and ``comment`` in its payload (:mod:`.ingested` stores the rating).
A rating through the link records the same ``evaluated`` event (device ``web:rating``),
so both roads look alike to the timeline and the statistics.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sync import lifecycle
from sync.server.content import aware, now
from sync.server.models import Case
from sync.server.worker import actions
from sync.server.worker.models import Rating, RatingLink

LINKS = RatingLink.__table__
RATINGS = Rating.__table__
CASES = Case.__table__
BY_LINK = "web:rating"
MAX_COMMENT = 500


class RatingRefused(Exception):
    """The link cannot be used (``reason``: unknown, used, expired, rated) or the rating is not valid."""

    def __init__(self, reason: str, zh: str, en: str) -> None:
        self.reason, self.zh, self.en = reason, zh, en
        super().__init__(en)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_link(conn: Connection, case_id: str, days: int) -> str:
    token = secrets.token_urlsafe(16)
    conn.execute(LINKS.insert().values(token_hash=_hash(token), case_id=case_id, created_at=now(),
                                       expires_at=now() + timedelta(days=days), used_at=None))
    return token


def link_case(conn: Connection, token: str) -> str:
    """The case a usable link is for, or RatingRefused saying why not."""
    row = conn.execute(select(LINKS).where(LINKS.c.token_hash == _hash(token))).first()
    if row is None:
        raise RatingRefused("unknown", "评价链接无效，请核对短信中的链接。",
                            "This rating link is not valid: check the link in the message.")
    if row.used_at is not None:
        raise RatingRefused("used", "这个评价链接已经用过了，感谢您的评价。",
                            "This link was already used. Thank you for your rating.")
    if aware(row.expires_at) < now():
        raise RatingRefused("expired", "评价链接已过期。如需反馈，请联系网格员或在一体机上评价。",
                            "This link has expired. Tell your grid worker, or rate at the kiosk.")
    if conn.execute(select(RATINGS.c.case_id).where(RATINGS.c.case_id == row.case_id)).first() is not None:
        raise RatingRefused("rated", "本次服务已经评价过了，感谢您的评价。",
                            "This service was already rated. Thank you.")
    return row.case_id


def check_score(score: object, comment: object) -> tuple[int, str]:
    try:
        value = int(str(score))
    except ValueError:
        value = 0
    if not 1 <= value <= 5:
        raise RatingRefused("score", "请选择 1 到 5 颗星。", "Choose 1 to 5 stars.")
    text = str(comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise RatingRefused("comment", f"留言最多 {MAX_COMMENT} 字。", f"A comment has at most {MAX_COMMENT} characters.")
    return value, text


def _store(conn: Connection, case_id: str, community: str, score: int, comment: str, source: str) -> bool:
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(RATINGS)
    return conn.execute(insert.values(case_id=case_id, community=community, score=score, comment=comment,
                                      source=source, rated_at=now()).on_conflict_do_nothing()
                        .returning(RATINGS.c.case_id)).first() is not None


def rate_by_link(conn: Connection, token: str, score: object, comment: object) -> str:
    """Record the rating (and the case's ``evaluated`` event) and spend the link; the case id."""
    value, text = check_score(score, comment)
    case_id = link_case(conn, token)
    spent = conn.execute(update(LINKS).where(LINKS.c.token_hash == _hash(token), LINKS.c.used_at.is_(None))
                         .values(used_at=now())).rowcount
    if not spent:  # another tab won the race
        raise RatingRefused("used", "这个评价链接已经用过了，感谢您的评价。",
                            "This link was already used. Thank you for your rating.")
    case = actions.lock_case(conn, case_id)
    if lifecycle.allowed(case.state, lifecycle.CaseState.EVALUATED):
        actions.transition(conn, case_id, lifecycle.CaseState.EVALUATED, by=BY_LINK,
                           payload={"score": value, "comment": text, "source": "link"})
    _store(conn, case_id, case.community, value, text, "link")
    return case_id


def rate_from_kiosk(conn: Connection, case_id: str, payload: dict, community: str) -> bool:
    """An applied ``evaluated`` event from an appliance: store its rating (first one wins)."""
    try:
        value, text = check_score(payload.get("rating", payload.get("score")), payload.get("comment", ""))
    except RatingRefused:
        return False
    return _store(conn, case_id, community, value, text, "kiosk")
