"""The signaling bus: messages between the kiosks and staff consoles connected to any
server process.

Every change of a call happens in a database transaction (:mod:`calls`) that also
writes the messages it causes as ``video_signals`` rows. On PostgreSQL the same
transaction NOTIFYs each row's id and target on channel ``video_signals``, so every
server process (each LISTENs on its own connection) learns of it at the commit and
hands it to the WebSockets it holds for that target. On SQLite (one process) the
messages go straight to this process's WebSockets after the commit.

A target is ``kiosk:<call>``, ``staff:<account>`` or ``dept:<department>``. Each process
also runs the :func:`calls.time_out` sweep every second and says every two seconds
which kiosks and consoles it holds (``seen``), so a process that dies takes its
connections' presence with it within seconds.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, text
from starlette.concurrency import run_in_threadpool

from sync.server import db
from sync.server.content import now
from sync.server.video import calls, presence
from sync.server.video.models import Signal

log = logging.getLogger(__name__)
SIGNALS = Signal.__table__
CHANNEL = "video_signals"
SWEEP_S = 1.0
SEEN_S = 2.0
KEEP_SIGNALS = timedelta(minutes=10)
T = TypeVar("T")


class Hub:
    """This process's end of the bus: local subscribers by target, the listener, the sweep."""

    def __init__(self, engine: Engine, server_id: str) -> None:
        self.engine = engine
        self.server_id = server_id
        self.postgresql = db.is_postgresql(engine)
        self.subscribers: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self.kiosks: dict[str, int] = defaultdict(int)  # call id -> open kiosk sockets here
        self.consoles: dict[int, int] = defaultdict(int)  # account id -> open consoles here
        self.staff_calls: dict[str, int] = defaultdict(int)  # call id -> consoles here in that call
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listening: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []

    # -- start --------------------------------------------------------------------
    async def start(self) -> None:
        """Once per process, on the first request that needs it (the app's lifespan
        belongs to app.py)."""
        if self.loop is not None:
            return
        self.loop = asyncio.get_running_loop()
        self.listening = asyncio.Event()
        if self.postgresql:
            self._tasks.append(asyncio.create_task(self._listen(), name="video-listen"))
            try:
                await asyncio.wait_for(self.listening.wait(), 10)
            except asyncio.TimeoutError:
                log.warning("video signaling: LISTEN not ready after 10 s; retrying in the background")
        else:
            self.listening.set()
        self._tasks.append(asyncio.create_task(self._chores(), name="video-chores"))

    # -- transactions ---------------------------------------------------------------
    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(tx, *args)`` in one transaction; its messages are sent at the commit.
        Blocking: call from a worker thread (or use :meth:`call`)."""
        with self.engine.begin() as conn:
            tx = calls.Tx(conn)
            result = fn(tx, *args, **kwargs)
            rows = []
            for target, body in tx.messages:
                signal_id = conn.execute(SIGNALS.insert().values(target=target, body=body, created_at=now())
                                         .returning(SIGNALS.c.id)).scalar_one()
                rows.append((signal_id, target, body))
                if self.postgresql:
                    conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": f"{signal_id} {target}"})
        if not self.postgresql and self.loop is not None:
            for _id, target, body in rows:
                self.loop.call_soon_threadsafe(self._deliver, target, body)
        for job in tx.after:
            try:
                job(self.engine, self.server_id)
            except Exception:  # the call's state is committed; its record can be made again
                log.exception("video: recording an event after a call change failed")
        return result

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        await self.start()
        return await run_in_threadpool(self.run, fn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on a connection, off the event loop."""
        def go() -> T:
            with self.engine.connect() as conn:
                return fn(conn, *args)
        return await run_in_threadpool(go)

    # -- local subscribers -------------------------------------------------------------
    def subscribe(self, queue: asyncio.Queue, *targets: str) -> None:
        for target in targets:
            self.subscribers[target].add(queue)

    def unsubscribe(self, queue: asyncio.Queue, *targets: str) -> None:
        for target in targets:
            self.subscribers[target].discard(queue)
            if not self.subscribers[target]:
                del self.subscribers[target]

    def _deliver(self, target: str, body: dict) -> None:
        for queue in list(self.subscribers.get(target, ())):
            queue.put_nowait(body)

    def deliver_everywhere(self, body: dict) -> None:
        for target in list(self.subscribers):
            self._deliver(target, body)

    # -- PostgreSQL LISTEN ---------------------------------------------------------------
    async def _listen(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if self.listening.is_set():  # a reconnection: messages may have been missed
                        self.deliver_everywhere({"type": "refresh"})
                    self.listening.set()
                    delay = 0.5
                    while True:
                        wanted: list[int] = []
                        async for note in conn.notifies(timeout=1.0, stop_after=200):
                            signal_id, _, target = note.payload.partition(" ")
                            if target in self.subscribers:
                                wanted.append(int(signal_id))
                        if wanted:
                            cursor = await conn.execute("SELECT target, body FROM video_signals WHERE id = ANY(%s) "
                                                        "ORDER BY id", (wanted,))
                            for target, body in await cursor.fetchall():
                                self._deliver(target, body if isinstance(body, dict) else json.loads(body))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("video signaling: LISTEN connection lost (%s); reconnecting in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    # -- chores -------------------------------------------------------------------------
    async def _chores(self) -> None:
        last_seen = 0.0
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await run_in_threadpool(self.run, calls.time_out)
                if self.loop.time() - last_seen >= SEEN_S:
                    last_seen = self.loop.time()
                    await run_in_threadpool(self._seen)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("video signaling: sweep failed; trying again in a second")

    def _seen(self) -> None:
        def chore(tx: calls.Tx) -> None:
            revived = presence.seen(tx.conn, [a for a, n in self.consoles.items() if n > 0])
            for department in revived:  # back online: their consoles read the queue again, and ring
                tx.send(f"dept:{department}", {"type": "refresh"})
            calls.side_seen(tx.conn, [c for c, n in self.kiosks.items() if n > 0], "kiosk")
            calls.side_seen(tx.conn, [c for c, n in self.staff_calls.items() if n > 0], "staff")
            tx.conn.execute(delete(SIGNALS).where(SIGNALS.c.created_at < now() - KEEP_SIGNALS))
        self.run(chore)
