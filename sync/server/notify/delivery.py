"""The delivery loop: send what is due, retry what failed with backoff.

Each server process runs it as a background task (``SYNC_NOTIFY_LOOP=1``, the
default), and ``python -m sync.server notify`` runs it alone (``--once``: one pass
over everything due). Any number of them may share one PostgreSQL database: rows are
claimed (:func:`sync.server.notify.outbox.claim`), never sent twice at once.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from sync.server.content import now as utc_now
from sync.server.notify import outbox
from sync.server.notify.adapters import Notifier
from sync.server.notify.errors import DeliveryFailed
from sync.server.notify.settings import NotifySettings

log = logging.getLogger(__name__)


@dataclass
class Round:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __iadd__(self, other: Round) -> Round:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        return self

    @property
    def tried(self) -> int:
        return self.sent + self.retrying + self.failed


def deliver_due(engine: Engine, notifier: Notifier, settings: NotifySettings, *, limit: int = 20,
                clock: Callable[[], datetime] = utc_now) -> Round:
    """Claim up to ``limit`` due notifications and try each once."""
    done = Round()
    for claimed in outbox.claim(engine, limit, clock()):
        message = claimed.message
        try:
            notifier.send(message)
        except DeliveryFailed as exc:
            give_up = claimed.attempts >= settings.max_attempts
            retry_at = clock() + timedelta(seconds=settings.backoff(claimed.attempts))
            outbox.record_failure(engine, message.id, str(exc), give_up=give_up, retry_at=retry_at)
            if give_up:
                done.failed += 1
                log.warning("notification %s failed for good after %d attempts: %s", message.id,
                            claimed.attempts, exc)
            else:
                done.retrying += 1
                log.info("notification %s attempt %d failed (%s); again at %s", message.id, claimed.attempts, exc,
                         retry_at.isoformat(timespec="seconds"))
        except Exception as exc:  # a bug in an adapter must not stop the loop or lose the row
            log.exception("notification %s: the %s adapter raised", message.id, notifier.name)
            outbox.record_failure(engine, message.id, f"{type(exc).__name__} in the {notifier.name} adapter",
                                  give_up=claimed.attempts >= settings.max_attempts,
                                  retry_at=clock() + timedelta(seconds=settings.backoff(claimed.attempts)))
            done.retrying += 1
        else:
            outbox.record_sent(engine, message.id, clock())
            done.sent += 1
    return done


def drain(engine: Engine, notifier: Notifier, settings: NotifySettings, *,
          clock: Callable[[], datetime] = utc_now) -> Round:
    """Everything due now, in batches, until a round finds nothing due."""
    total = Round()
    while True:
        done = deliver_due(engine, notifier, settings, clock=clock)
        total += done
        if done.tried == 0:
            return total


def run(engine: Engine, notifier: Notifier, settings: NotifySettings, stop: threading.Event) -> None:
    """Deliver every ``interval_s`` until ``stop`` is set; a failing database is
    logged and tried again next round."""
    while not stop.is_set():
        try:
            drain(engine, notifier, settings)
        except Exception:
            log.exception("notification delivery round failed; trying again in %s s", settings.interval_s)
        stop.wait(settings.interval_s)
