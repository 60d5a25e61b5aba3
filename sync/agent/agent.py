"""The Agent: drains the outbox to the server, pulls what changed, sends a heartbeat.

One *round* (:meth:`Agent.run_once`) is:

1. enrol, if this appliance never has (with the one-time code from
   ``[sync] enrolment_code_file``);
2. push every pending outbox event, oldest first, ``batch_size`` at a time, and after
   each acknowledged batch ``mark_sent`` it: 10,000 events queued while the server
   was away go in one round. Events the server quarantined are acknowledged too
   (the server keeps them with their reason). Events the server holds with other
   content (409), or cannot take at all (422: the batch is halved until the culprit
   is alone), or that are not valid on the wire, are marked failed with the reason
   and held back; the events behind them are pushed all the same. A held-back event
   is retried on a timer (``hold_retry_s``, doubling up to ``hold_retry_max_s``; the
   loop wakes for it), ``hold_attempts`` refusals in all; then it stays in the outbox
   with its reason in ``last_error`` (the heartbeat's queue length counts it) until
   the agent restarts, which grants it a fresh series;
3. upload the attachments queued in the store (:mod:`sync.agent.attachments`), oldest
   first, in chunks of ``chunk_bytes``: each is created on the server (idempotent by
   its UUID), sent from the offset the server says it holds, and finished (the server
   checks the SHA-256); then its bytes leave the store. A dropped connection or a
   server restart costs at most one chunk: the next round resumes. One the server
   cannot take (another community's case, a header it refuses) or whose bytes were
   damaged on this disk is held back with the reason until the agent restarts;
4. pull changes after the cursor until there are no more, each page applied with its
   cursor in one transaction of the agent's own file; device keys and the server's
   own key (``server``: worker and booking codes), and the community's worker keys,
   are merged into ``DATA_DIR/trusted-keys.json`` for offline checks (:mod:`appliance.keys`);
   ``case`` changes (a case's state at the server) go into the appliance's store
   (:mod:`sync.store.server_cases`); a kind this release does not know is skipped
   with a log line, never fatal (a newer server may add kinds); ``config`` records
   stay in the agent's file, where every program of the box reads them
   (:mod:`appliance.server_config`);
5. send a heartbeat with peripheral health, free disk, queue length, version (and,
   once the server publishes configuration for the box, a ``config`` entry: which
   records apply, and any the box refused, as degraded), naming its ``source`` (the
   kiosk app's agent, the locker daemon's, the standalone one): the server keeps each
   source's latest beat, so the box's two agents do not overwrite each other.

:meth:`Agent.run` repeats rounds every ``interval_s``; after a failed round it waits
with exponential backoff and full jitter (a random wait between 0 and
min(backoff_max_s, 2^failures s)), so a fleet returning together does not hit the
server at the same moment. :meth:`Agent.wake` (a daemon calls it after appending an
event) starts a round now when the last round succeeded; while a backoff is in force
it changes nothing: the round after the backoff takes the new events along.

Ordering, honestly
------------------
- Per-device order holds for every event that goes through on its first try: a batch
  goes only after the one before it was acknowledged, oldest ``seq`` first; a batch
  whose answer was lost is pushed again and the server answers the duplicates as it
  did the first time (idempotent by UUID), so nothing is applied twice.
- Events the server *quarantines* (a transition the lifecycle refuses) keep their
  place: they are acknowledged in order and kept on the server with the reason.
- A *held-back* event (409, 422, not valid on the wire) does NOT keep its place:
  holding the whole queue behind one bad event would stop the appliance for days.
  The events behind it go on; if a retry later gets it through, it reaches the
  server after them, carrying its original ``seq`` (so the server and the console
  can see it is late). This is reported, never silent: the round lists it in
  :attr:`Round.held_back` and later :attr:`Round.late`, the log says so with the
  reason, and until it goes through the outbox row keeps the reason in
  ``last_error``.
"""
from __future__ import annotations

import base64
import importlib.metadata
import logging
import math
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from requests.adapters import HTTPAdapter

from appliance.config import Config
from appliance.errors import KeyFileError
from appliance.journal import log_context
from appliance.keys import DEVICE_ID, TRUSTED_KEYS_FILE, DeviceKey, TrustedKey, TrustedKeys
from sync.agent import attachments, state
from sync.errors import AgentError, EventConflict, NotEnrolled, ServerRefused, StoreError, UploadConflict
from sync.agent.client import ServerClient
from sync.store import OutboxEvent, Store, mark_failed, mark_sent, pending, server_cases
from sync.wire import (MAX_CHUNK_BYTES, AttachmentCreate, AttachmentStatus, Change, Event, Heartbeat, PeripheralHealth,
                       known)

log = logging.getLogger(__name__)
TRUSTED_KINDS = ("device_key", "worker_key")  # the change kinds that rewrite trusted-keys.json
HealthProbe = Callable[[], dict[str, PeripheralHealth]]


def state_path_for(store_path: str | os.PathLike) -> Path:
    """The agent's own file beside the store it drains: ``appliance.db`` -> ``appliance.sync.db``."""
    path = Path(store_path)
    return path.with_name(f"{path.stem}.sync.db")


def software_version() -> str:
    try:
        return importlib.metadata.version("community-kiosk")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class Round:
    """What one round did."""

    pushed: int = 0  # events acknowledged
    quarantined: int = 0  # of those, quarantined by the server
    held_back: list[str] = field(default_factory=list)  # event ids refused (409, 422, not valid) this round
    late: list[str] = field(default_factory=list)  # held-back events a retry got through, after later ones
    uploaded: int = 0  # attachments the server now holds, checked
    attachments_held: list[str] = field(default_factory=list)  # attachment ids held back this round
    pulled: int = 0  # changes applied
    heartbeat: bool = False


@dataclass
class Held:
    """An event held back in the outbox: why, how often it was refused, when to retry."""

    reason: str
    attempts: int = 0  # refusals so far
    retry_at: float = 0.0  # on Agent.clock; math.inf once the attempts are spent

    @property
    def given_up(self) -> bool:
        return math.isinf(self.retry_at)


class Backoff:
    """Full jitter: a random wait in [0, min(cap, base * 2**failures)]."""

    def __init__(self, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None) -> None:
        self.base, self.cap, self.rng = base, cap, rng or random.Random()

    def delay(self, failures: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** min(failures, 30)))


class Agent:
    """Syncs one appliance. Give it the appliance store (the caller owns it), the
    device key, the server URL and the agent's own state file; run it in a thread::

        agent = Agent(store, key, "https://server", data_dir / "sync.db", data_dir=data_dir)
        agent.start()        # a daemon thread running rounds
        ...
        agent.stop()         # returns once the thread has finished its step
    """

    def __init__(self, store: Store, key: DeviceKey, server_url: str, state_path: str | os.PathLike, *,
                 data_dir: str | os.PathLike | None = None, enrolment_code_file: str | os.PathLike | None = None,
                 batch_size: int = 500, interval_s: float = 30.0, backoff_max_s: float = 300.0,
                 timeout_s: float = 30.0, adapter: HTTPAdapter | None = None, health: HealthProbe | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic,
                 hold_retry_s: float = 60.0, hold_retry_max_s: float = 3600.0, hold_attempts: int = 5,
                 chunk_bytes: int = 256 * 1024, source: str | None = None) -> None:
        self.store = store
        # which program beats (sync.wire.Heartbeat.source): two agents share a key on a
        # kiosk+locker box, and the server keeps each one's beat
        self.source = source
        self.clock = clock  # monotonic seconds: backoff and held-back retries are timed on it
        self.key = key
        self.data_dir = Path(data_dir) if data_dir else Path(state_path).parent
        self.code_file = Path(enrolment_code_file) if enrolment_code_file else None
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.backoff = Backoff(cap=backoff_max_s, rng=rng)
        self.health = health or (lambda: {})
        # the server's config records as this box applies them (appliance.server_config):
        # the heartbeat's "config" entry; set by from_config
        self.config_report: Callable[[], dict | None] | None = None
        self.client = ServerClient(server_url, key, adapter=adapter, timeout=timeout_s)
        self.state = state.open_state(os.fspath(state_path))
        # refused events (409, 422, not valid on the wire): kept in the outbox with their
        # reason, retried after hold_retry_s, doubling up to hold_retry_max_s, hold_attempts
        # refusals in all; then left alone until the agent restarts
        self.held_back: dict[str, Held] = {}
        self.hold_retry_s, self.hold_retry_max_s, self.hold_attempts = hold_retry_s, hold_retry_max_s, hold_attempts
        self.chunk_bytes = max(1, min(chunk_bytes, MAX_CHUNK_BYTES))
        attachments.ensure(store)
        # attachments held back (id -> reason) until the agent restarts; ids whose local
        # bytes were checked against their SHA-256 since it started
        self.attachments_held: dict[str, str] = {}
        self._verified: set[str] = set()
        self.failures = 0
        self.last_error: str = ""
        self.enrol_refusal = ""
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round -----------------------------------------------------------------
    def run_once(self) -> Round:
        """One round; raises :class:`AgentError` when the server is away or refuses."""
        with log_context(device=self.key.device_id):  # every line of the round: journalctl KIOSK_DEVICE=…
            return self._round()

    def _round(self) -> Round:
        done = Round()
        self.ensure_enrolled()
        try:
            self.push_all(done)
            self.upload_all(done)
            self.pull_all(done)
            self.send_heartbeat()
        except ServerRefused as exc:
            raise self._unknown_device(exc) from exc
        self._mark_enrolled()
        done.heartbeat = True
        return done

    @classmethod
    def from_config(cls, store: Store, config: Config, *, key: DeviceKey | None = None,
                    adapter: HTTPAdapter | None = None, health: HealthProbe | None = None,
                    source: str | None = None) -> Agent:
        """The agent for ``store`` as ``[sync]`` says; its own file is ``<store>.sync.db``;
        ``source`` names the program in its heartbeats (kiosk, locker, agent)."""
        key = key or DeviceKey.load_or_create(config.data_dir, config.appliance.id)
        code = Path(config.sync.enrolment_code_file)
        agent = cls(store, key, config.sync.server_url, state_path_for(store.path), data_dir=config.data_dir,
                    enrolment_code_file=code if code.is_absolute() else config.data_dir / code,
                    batch_size=config.sync.batch_size, interval_s=config.sync.interval_s,
                    backoff_max_s=config.sync.backoff_max_s, timeout_s=config.sync.timeout_s,
                    adapter=adapter, health=health, source=source)
        from appliance import server_config

        effective = server_config.of(config)
        effective.announce()
        agent.config_report = effective.report
        return agent

    @property
    def enrolled(self) -> bool:
        return state.get(self.state, "device_id") == self.key.device_id

    def ensure_enrolled(self) -> None:
        """Enrol with the code file if there is one. Without one, carry on: another
        agent of this appliance (the other daemon) may have enrolled the same key,
        and a signed request that the server refuses as unknown says otherwise."""
        if self.enrolled:
            return
        code = self.code_file.read_text(encoding="utf-8").strip() if self.code_file and self.code_file.exists() else ""
        if not code:
            return
        try:
            answer = self.client.enrol(code)
        except ServerRefused as exc:
            self.enrol_refusal = str(exc)  # e.g. the other agent used the code first
            log.warning("enrolment refused: %s", exc)
            return
        with self.state.atomic() as db:
            state.put(db, "device_id", answer.device_id)
            state.put(db, "community", answer.community)
        log.info("enrolled %s in %s (key %s)", answer.device_id, answer.community, answer.fingerprint)
        if self.code_file:
            self.code_file.unlink(missing_ok=True)  # one-time: no use keeping it

    def _unknown_device(self, exc: ServerRefused) -> AgentError:
        if exc.status == 401 and "unknown device" in str(exc.detail):
            return NotEnrolled(f"{self.key.device_id} is not enrolled with the server"
                               + (f" ({self.enrol_refusal})" if self.enrol_refusal else ""),
                               hint=f"ask the admin for a code (python -m sync.server enrol-code "
                                    f"--device-id {self.key.device_id} …) and write it to {self.code_file}")
        return exc

    def _mark_enrolled(self) -> None:
        if not self.enrolled:
            with self.state.atomic() as db:
                state.put(db, "device_id", self.key.device_id)

    def push_all(self, done: Round) -> None:
        while True:
            batch = [e for e in pending(self.store, self.batch_size + len(self.held_back))
                     if not self._waiting(e.id)][: self.batch_size]
            if not batch:
                return
            self._push(batch, done)

    def _waiting(self, event_id: str) -> bool:
        """Held back, and its retry is not due (or it was refused too often)."""
        held = self.held_back.get(event_id)
        return held is not None and held.retry_at > self.clock()

    def next_hold_retry(self) -> float | None:
        """When the next held-back event is due for a retry (on ``clock``), if any is."""
        due = [h.retry_at for h in self.held_back.values() if not h.given_up]
        return min(due) if due else None

    def _push(self, batch: list[OutboxEvent], done: Round) -> None:
        events, invalid = [], set()
        for e in batch:
            try:
                events.append(Event(id=e.id, seq=e.seq, aggregate_type=e.aggregate_type,
                                    aggregate_id=e.aggregate_id, event_type=e.event_type, payload=e.payload,
                                    created_at=e.created_at))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(map(str, first["loc"]))
                self._hold_back([e.id], f"not valid on the wire: {where}: {first['msg']}", done)
                invalid.add(e.id)
        if not events:
            return
        batch = [e for e in batch if e.id not in invalid]
        try:
            answer = self.client.push(events)
        except EventConflict as exc:
            self._hold_back(exc.event_ids, f"409 conflict: {exc.detail}", done)
            return
        except ServerRefused as exc:
            if exc.status not in (413, 422):
                self._failed(batch[0].id, exc)
                raise
            # The server cannot take something in this batch (a field too long, a body
            # too large): halve until the culprit is alone, hold it back, push the rest.
            if len(batch) > 1:
                half = len(batch) // 2
                self._push(batch[:half], done)
                self._push(batch[half:], done)
            else:
                self._hold_back([batch[0].id], f"refused by the server: HTTP {exc.status}: {exc.detail}", done)
            return
        except AgentError as exc:
            # the head of the queue carries the reason (doctor shows it); one write, not 500
            self._failed(batch[0].id, exc)
            raise
        acknowledged = [str(r.id) for r in answer.results]
        mark_sent(self.store, acknowledged)
        done.pushed += len(answer.results)
        done.quarantined += sum(r.status == "quarantined" for r in answer.results)
        for event_id in acknowledged:
            held = self.held_back.pop(event_id, None)
            if held is not None:
                done.late.append(event_id)
                log.warning("held-back event %s got through on retry %d, after the events behind it "
                            "(held back for: %s)", event_id, held.attempts, held.reason)

    def _failed(self, event_id: str, exc: AgentError) -> None:
        held = self.held_back.get(event_id)
        reason = f"{exc} (held back before: {held.reason})" if held else str(exc)
        mark_failed(self.store, event_id, reason)

    def _hold_back(self, event_ids: list[str], reason: str, done: Round) -> None:
        """Keep these events in the outbox with the reason, and push the ones behind them:
        one bad event must not stop the appliance's queue. Each is retried on a timer
        (``hold_retry_s``, doubling) until it was refused ``hold_attempts`` times; then
        it stays in the outbox with its reason, for a person (or a restart) to look at."""
        now, given_up = self.clock(), []
        for event_id in event_ids:
            held = self.held_back.setdefault(event_id, Held(reason))
            held.reason, held.attempts = reason, held.attempts + 1
            if held.attempts >= self.hold_attempts:
                held.retry_at = math.inf
                given_up.append(event_id)
                mark_failed(self.store, event_id, f"{reason} (refused {held.attempts} times: not retried "
                                                  f"until the agent restarts)")
            else:
                held.retry_at = now + min(self.hold_retry_max_s, self.hold_retry_s * 2 ** (held.attempts - 1))
                mark_failed(self.store, event_id, reason)
            done.held_back.append(event_id)
        log.error("%d event(s) held back in the outbox (%s): %s", len(event_ids), reason.split(":")[0],
                  ", ".join(event_ids))
        if given_up:
            log.error("gave up retrying %s after %d refusals; they stay in the outbox with the reason",
                      ", ".join(given_up), self.hold_attempts)

    def upload_all(self, done: Round) -> None:
        """Upload every queued attachment, oldest first, each resumed where the server stands."""
        while True:
            queue = [a for a in attachments.pending_attachments(self.store, 20 + len(self.attachments_held))
                     if a.id not in self.attachments_held][:20]
            if not queue:
                return
            for attachment in queue:
                self._upload(attachment, done)

    def _upload(self, attachment: attachments.QueuedAttachment, done: Round) -> None:
        if attachment.id not in self._verified:
            if attachments.local_digest(self.store, attachment) != attachment.sha256:
                self._hold_attachment(attachment, "the queued file changed on this appliance's disk (its SHA-256 "
                                                  "no longer matches): scan the document again", done)
                return
            self._verified.add(attachment.id)
        try:
            header = AttachmentCreate(id=attachment.id, case_id=attachment.case_id, name=attachment.name,
                                      content_type=attachment.content_type, size=attachment.size,
                                      sha256=attachment.sha256)
        except ValidationError as exc:
            first = exc.errors()[0]
            self._hold_attachment(attachment, f"not valid on the wire: {'.'.join(map(str, first['loc']))}: "
                                              f"{first['msg']}", done)
            return
        try:
            status = self.client.create_upload(header)
            for _ in range(2):  # once more if the server found the file damaged and discarded it
                status = self._send_chunks(attachment, status)
                try:
                    status = self.client.finish_upload(attachment.id)
                    break
                except ServerRefused as exc:
                    if exc.status != 422:
                        raise
                    log.warning("attachment %s failed the server's SHA-256 check; sending it again: %s",
                                attachment.id, exc.detail)
                    status = status.model_copy(update={"received": 0})
        except ServerRefused as exc:
            if exc.status == 401 or "revoked" in str(exc.detail):
                raise  # about this device, not this file
            self._hold_attachment(attachment, str(exc), done)
            return
        except AgentError as exc:
            attachments.mark_failed(self.store, attachment.id, str(exc))
            raise
        if not status.complete:
            self._hold_attachment(attachment, "the server found the file's SHA-256 wrong twice", done)
            return
        attachments.mark_uploaded(self.store, attachment.id)
        done.uploaded += 1

    def _send_chunks(self, attachment: attachments.QueuedAttachment, status: AttachmentStatus) -> AttachmentStatus:
        """Send from what the server holds to the end; a 409 says where it stands: go on from there."""
        offset, conflicts = status.received, 0
        while offset < attachment.size:
            data = attachments.read_range(self.store, attachment.id, offset, self.chunk_bytes)
            try:
                status = self.client.put_chunk(attachment.id, offset, data)
            except UploadConflict as exc:
                conflicts += 1
                if conflicts > 3:
                    raise
                offset = exc.received
                continue
            offset = status.received
        return status

    def _hold_attachment(self, attachment: attachments.QueuedAttachment, reason: str, done: Round) -> None:
        self.attachments_held[attachment.id] = reason
        attachments.mark_failed(self.store, attachment.id, f"{reason} (not retried until the agent restarts)")
        done.attachments_held.append(attachment.id)
        log.error("attachment %s of case %s held back in the store: %s", attachment.id, attachment.case_id, reason)

    def pull_all(self, done: Round) -> None:
        cursor = int(state.get(self.state, "cursor", "0") or 0)
        keys_changed = False
        while True:
            page = self.client.pull(cursor)
            changes = self._understood(page.changes)
            self._apply_cases([c for c in changes if c.kind == "case"])  # before the cursor moves past them
            state.apply_changes(self.state, [c for c in changes if c.kind != "case"], page.cursor)
            done.pulled += len(changes)
            keys_changed |= any(c.kind in TRUSTED_KINDS for c in page.changes)
            cursor = page.cursor
            if not page.more:
                break
        if keys_changed or not (self.data_dir / TRUSTED_KEYS_FILE).exists():
            self.write_trusted_keys()

    @staticmethod
    def _understood(changes: list[Change]) -> list[Change]:
        """The changes of kinds this release knows; a kind a newer server added is skipped
        with a log line (its cursor is passed all the same: the release that knows it
        starts from 0 again only if its state file is new)."""
        unknown = sorted({c.kind for c in changes if not known(c)})
        if unknown:
            log.warning("skipped %d change(s) of kind(s) this release does not know: %s (upgrade the appliance "
                        "to use them)", sum(not known(c) for c in changes), ", ".join(unknown))
        return [c for c in changes if known(c)]

    def _apply_cases(self, changes: list[Change]) -> None:
        """The server's case states into the appliance's store (:mod:`sync.store.server_cases`),
        where the kiosk's progress and the locker read them beside their own tables."""
        if not changes:
            return
        with self.store.atomic() as db:
            for change in changes:
                if change.data is None:
                    server_cases.forget(db, change.key)
                elif not server_cases.put(db, change.data, key=change.key, seq=change.seq):
                    log.debug("case change %s for %s not newer than what is kept", change.seq, change.key)

    def write_trusted_keys(self) -> None:
        """Merge the keys pulled (the fleet's devices and the server's own, ``server``;
        then the community's worker keys, which lockers accept worker and booking codes
        from when their ``[locker] server_key_id`` names one: a device key of the same id
        wins) into ``DATA_DIR/trusted-keys.json``: what the server published wins, entries
        it does not know are kept, this appliance's own key is added if missing. Written
        atomically (a temporary file renamed over it): a reader sees the old or the new."""
        path = self.data_dir / TRUSTED_KEYS_FILE
        try:
            current = TrustedKeys.load(path) if path.exists() else TrustedKeys(source=str(path))
        except KeyFileError as exc:
            log.warning("%s; rewriting it from the keys the server published", exc)
            current = TrustedKeys(source=str(path))
        pulled: dict[str, TrustedKey] = {}
        for kind in ("worker_key", "device_key"):  # the later wins an id both have
            for key_id, data in state.records(self.state, kind).items():
                try:
                    raw = base64.b64decode(str(data.get("public_key")), validate=True)
                except ValueError:
                    raw = b""
                if len(raw) != 32 or not DEVICE_ID.match(key_id):
                    log.warning("the server published an unusable %s for %r: left out", kind.replace("_", " "), key_id)
                    continue
                pulled[key_id] = TrustedKey(key_id, raw, bool(data.get("revoked")))
        keys = current.merged(pulled)
        if self.key.device_id not in keys:
            keys = keys.with_key(self.key.device_id, self.key.public_key)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        keys.save(path)

    def send_heartbeat(self) -> None:
        with self.store.reader() as db:
            queued = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        try:
            free = shutil.disk_usage(self.data_dir).free
        except OSError:
            free = 0
        self.client.heartbeat(Heartbeat(software_version=software_version(), source=self.source,
                                        free_disk_bytes=free, outbox_pending=queued,
                                        peripherals=self.peripherals()))

    def peripherals(self) -> dict[str, PeripheralHealth]:
        """The health probe's answer; a probe that fails is itself reported (as down), so
        the heartbeat still goes and the console shows what broke."""
        try:
            found = dict(self.health())
        except Exception as exc:  # noqa: BLE001 - a probe's bug must not stop the sync
            log.exception("the health probe failed")
            found = {"health probe": PeripheralHealth(state="down", detail=f"{type(exc).__name__}: {exc}"[:200],
                                                      fix="see the appliance's log (python -m drivers doctor)")}
        try:
            report = self.config_report() if self.config_report is not None else None
            if report is not None:
                found["config"] = PeripheralHealth(**report)
        except Exception:  # noqa: BLE001 - nor may the configuration's report
            log.exception("the server configuration's report failed")
        return found

    # -- the loop --------------------------------------------------------------------
    def step(self) -> float:
        """Run a round; return how long to wait before the next one."""
        with log_context(device=self.key.device_id):  # its failure and its backoff too
            return self._step()

    def _step(self) -> float:
        try:
            done = self.run_once()
        except (AgentError, StoreError) as exc:  # StoreError: the disk full (say), the round again later
            # (an acknowledgement not recorded is pushed again: the server answers it by id, applied once)
            if isinstance(exc, StoreError):  # the server still hears of it: the heartbeat carries the free disk
                try:
                    self.send_heartbeat()
                except (AgentError, StoreError, OSError):
                    pass
            self.failures += 1
            self.last_error = str(exc)
            delay = self.backoff.delay(self.failures)
            log.warning("sync round failed (%d in a row), next try in %.1f s: %s", self.failures, delay, exc)
            return delay
        self.failures, self.last_error = 0, ""
        if done.pushed or done.pulled:
            log.info("synced: %d event(s) pushed (%d quarantined), %d change(s) pulled",
                     done.pushed, done.quarantined, done.pulled)
        delay = self.interval_s * self.backoff.rng.uniform(0.9, 1.1)
        retry = self.next_hold_retry()
        if retry is not None:  # a held-back event's retry comes due before the next round
            delay = min(delay, max(0.0, retry - self.clock()))
        return delay

    def run(self) -> None:
        """Rounds until :meth:`stop`; for a thread, or the foreground of ``python -m sync.agent``."""
        while not self._stopping.is_set():
            delay = self.step()
            self.pause(delay, backing_off=self.failures > 0)

    def pause(self, delay: float, *, backing_off: bool) -> None:
        """Wait ``delay`` seconds before the next round, or until :meth:`stop`.

        :meth:`wake` cuts a normal interval short (the server is healthy: push now),
        never a backoff: while the server is away, every locker commit waking the agent
        would otherwise turn the backoff into a retry storm."""
        until = self.clock() + delay
        while not self._stopping.is_set():
            left = until - self.clock()
            if left <= 0:
                break
            if self._wake.wait(left):
                self._wake.clear()
                if not backing_off:
                    break
        # a wake during the backoff is answered by the round that follows it
        self._wake.clear()

    def wake(self) -> None:
        """Push soon: at once when the server is healthy; after the backoff when it is not."""
        self._wake.set()

    def start(self) -> Agent:
        self._thread = threading.Thread(target=self.run, name="sync-agent", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Stop, and close the client and the agent's own file (not the appliance store)."""
        self.stop()
        self.client.close()
        self.state.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
