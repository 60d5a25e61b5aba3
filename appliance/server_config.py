"""The configuration a program of the appliance runs with: the box's own TOML file
(:mod:`appliance.config`) with what the central server publishes for it merged over
it (``config`` records, the admin console's 终端配置 / Configuration page)::

    effective = the file
                <- the community's record (``community:C``), key by key
                <- this device's record (``device:<[appliance] id>``), key by key
                (a list of tables, such as [[lockboard]], is replaced whole)

The sync agents keep the records they pulled in ``<store>.sync.db`` (``synced_records``,
kind ``config``) beside each store of the box (``[store] path``, ``[locker] store``);
of each record the newest (highest change ``seq``) found in either file is used, so
the kiosk app, the locker daemon and ``python -m sync.agent`` run the same
configuration whichever agent pulled it first. Where those files are, and what names
the box, its files, its server or who may open doors (:data:`LOCAL_ONLY`), come from
the file alone.

A record is applied whole or not at all. One that would not load on this box (a key
or value this release does not know, a serial port that does not exist here, a key
the file alone may set) is never applied: its last good version (kept in
``DATA_DIR/server-config.json``) applies instead, or else the file's values; one log
line names the record, the key and the value; and the sync agent's heartbeat reports
it as the ``config`` peripheral (degraded), which the admin console's devices page
shows. Nothing the server sends can stop a program from starting: a fault on this
side falls back to the file.

A running program asks :meth:`Effective.changed` (``of(config)``) whether records
pulled since it started change what it runs; the locker daemon
(:mod:`locker.reconfigure`) and the kiosk app (:mod:`kiosk.reconfigure`) then run
themselves again at a safe moment (:mod:`appliance.restart`), ``python -m sync.agent``
between two rounds.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from appliance import config as config_module
from appliance.config import Config, check_urls, serial_ports
from appliance.errors import ConfigError
from appliance.tomlpos import dotted

log = logging.getLogger("appliance.config")
KIND = "config"
REMEMBERED_FILE = "server-config.json"
# what only the box's own file may say: its identity and files, its server (and whether
# it syncs at all: a server that could switch that off could never switch it on again),
# who may open doors. The server's admin console refuses these too.
LOCAL_ONLY = frozenset({
    "appliance.id", "appliance.community", "appliance.role", "appliance.data_dir", "store",
    "sync.enabled", "sync.server_url", "sync.enrolment_code_file", "locker.store", "locker.socket",
    "locker.admins", "forms.templates_dir", "forms.font", "forms.seal_image", "identity.models_dir",
    "idcard.wlt_decoder", "kiosk.audio_player"})
# the box's own wiring: for one device, never a whole community
DEVICE_ONLY = frozenset({"lockboard", "idcard.url", "idcard.baud", "pcsc.reader", "printer.url", "camera.url",
                         "scanner.url", "call.microphone"})
SECRET = frozenset({"kiosk.admin_pin", "kiosk.exit_pin", "kiosk.admin_cards"})  # never in a log line


def shown(key: str, value: Any) -> str:
    """A value for a log line: secrets hidden, long ones cut."""
    if any(key == s or key.startswith(s + "[") for s in SECRET):
        return "'…'"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


@dataclass(frozen=True)
class Record:
    """One ``config`` record as an agent pulled it (``sync/server/admin/appliance_config.py``)."""

    key: str  # community:C or device:D
    seq: int  # the server's change that brought it
    settings: Any  # {section: {key: value}} or [[tables]]; anything else is refused
    updated_by: str = ""
    updated_at: str = ""

    @classmethod
    def of(cls, key: str, seq: Any, data: Any) -> Record:
        data = data if isinstance(data, dict) else {}
        return cls(str(key), int(seq), data.get("settings"), str(data.get("updated_by") or ""),
                   str(data.get("updated_at") or ""))

    @property
    def scope(self) -> str:
        return "device" if self.key.startswith("device:") else "community"

    @property
    def label(self) -> str:
        return f"{self.key} (seq {self.seq})"

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "seq": self.seq, "settings": self.settings, "updated_by": self.updated_by,
                "updated_at": self.updated_at}


@dataclass(frozen=True)
class Refusal:
    """A record this box does not apply, and why."""

    record: Record
    key: str  # the dotted key at fault ("" for the record as a whole)
    value: Any
    message: str
    instead: Record | None = None  # its last good version, applied in its place

    def line(self) -> str:
        what = self.key or "the record"
        if self.key and self.value is not None:
            what += f" = {shown(self.key, self.value)}"
        after = (f"; its last good version, seq {self.instead.seq}, applies instead" if self.instead
                 else "; the file's values apply")
        return f"server config {self.record.label} not applied: {what}: {self.message}{after}"

    def as_json(self) -> dict[str, Any]:
        return {"record": self.record.key, "seq": self.record.seq, "key": self.key,
                "value": shown(self.key, self.value) if self.value is not None else None,
                "message": self.message, "instead": self.instead.seq if self.instead else None}


@dataclass(frozen=True)
class Composition:
    """The file with some records over it."""

    config: Config
    applied: tuple[Record, ...] = ()
    refused: tuple[Refusal, ...] = ()
    origin: dict[str, str] = field(default_factory=dict)  # "locker.wrong_tries" -> "device:locker-01"

    def same_as(self, other: Composition) -> bool:
        return self.config.model_dump() == other.config.model_dump()


class _NotApplied(Exception):
    def __init__(self, key: str, value: Any, message: str) -> None:
        self.key, self.value, self.message = key, value, message
        super().__init__(message)


# -- where the records are -------------------------------------------------------------
def sync_files(config: Config) -> list[Path]:
    """The agents' files of this box: ``<store>.sync.db`` beside the kiosk's store and
    the locker's (the naming of :func:`sync.agent.agent.state_path_for`)."""
    locker = Path(config.locker.store)
    stores = [config.store_path, locker if locker.is_absolute() else config.data_dir / locker]
    files: list[Path] = []
    for store in stores:
        path = store.with_name(f"{store.stem}.sync.db")
        if path not in files:
            files.append(path)
    return files


def read_pulled(files: list[Path]) -> tuple[dict[str, Record], str, bool]:
    """The newest ``config`` record of each key in the agents' files, the community an
    agent enrolled in ("" unknown), and whether every file that exists could be read."""
    records: dict[str, Record] = {}
    community, readable = "", True
    for path in files:
        if not path.exists():
            continue
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                rows = conn.execute("SELECT key, data, seq FROM synced_records WHERE kind = ?", [KIND]).fetchall()
                found = conn.execute("SELECT value FROM agent_state WHERE key = 'community'").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            if "no such table" in str(exc):  # an agent's file before its first migration
                continue
            log.warning("cannot read the server's configuration from %s: %s", path, exc)
            readable = False
            continue
        community = community or (found[0] if found else "")
        for key, data, seq in rows:
            try:
                record = Record.of(key, seq, json.loads(data))
            except (TypeError, ValueError):
                continue
            if key not in records or record.seq > records[key].seq:
                records[key] = record
    return records, community, readable


def mine(records: dict[str, Record], config: Config, community: str = "") -> list[Record]:
    """This box's records, the community's first: the community its agent enrolled in
    (else the file's ``[appliance] community``, else the newest community record)."""
    chosen = records.get(f"community:{community}") if community else None
    chosen = chosen or records.get(f"community:{config.appliance.community}")
    if chosen is None:
        communities = [r for k, r in records.items() if k.startswith("community:")]
        chosen = max(communities, key=lambda r: r.seq, default=None)
    device = records.get(f"device:{config.appliance.id}")
    return [r for r in (chosen, device) if r is not None]


# -- the last good versions ------------------------------------------------------------
def remembered_path(config: Config) -> Path:
    return config.data_dir / REMEMBERED_FILE


def read_remembered(config: Config) -> dict[str, Record]:
    path = remembered_path(config)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(r["key"]): Record(str(r["key"]), int(r["seq"]), r.get("settings"), str(r.get("updated_by", "")),
                                      str(r.get("updated_at", ""))) for r in data["records"]}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: unreadable (%s): no last good server configuration", path, exc)
        return {}


def write_remembered(config: Config, records: tuple[Record, ...]) -> None:
    """Atomically (a reader sees the old or the new); quietly skipped where it cannot be written."""
    path = remembered_path(config)
    text = json.dumps({"records": [r.as_json() for r in records]}, ensure_ascii=False, indent=1, sort_keys=True)
    try:
        if not path.parent.is_dir() or (path.exists() and path.read_text(encoding="utf-8") == text):
            return
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        log.debug("%s not written: %s", path, exc)


# -- merging ---------------------------------------------------------------------------
def merged(base: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` over ``base`` key by key within a section; a list is replaced."""
    out = {section: dict(values) if isinstance(values, dict) else values for section, values in base.items()}
    for section, values in settings.items():
        if isinstance(values, dict) and isinstance(out.get(section), dict):
            out[section].update(values)
        else:
            out[section] = values
    return out


def apply(base: Config, record: Record) -> Config:
    """``record`` over ``base``, checked as the file is (and its serial ports must exist
    here); raises :class:`_NotApplied` naming the key and value."""
    settings = record.settings
    if not isinstance(settings, dict) or not settings:
        raise _NotApplied("", None, "not a configuration record this release understands")
    for section, values in settings.items():
        if not isinstance(values, (dict, list)):
            raise _NotApplied(section, values, "a section is a table")
        names = [(section, values)] + ([(f"{section}.{k}", v) for k, v in values.items()]
                                       if isinstance(values, dict) else [])
        for name, value in names:
            if name in LOCAL_ONLY:
                raise _NotApplied(name, value, "set in the box's own file only")
            if name in DEVICE_ONLY and record.scope != "device":
                raise _NotApplied(name, value, "one box's wiring: set per device, not for a community")
    raw = merged(base.model_dump(), settings)
    try:
        config = Config.model_validate(raw).model_copy(update={"source": base.source})
        check_urls(config)
    except ValidationError as exc:
        error = config_module._translate("", "", raw, exc)
        raise _NotApplied(error.key, error.value, error.message) from None
    except ConfigError as exc:
        raise _NotApplied(exc.key, exc.value, exc.message) from None
    before = {loc: url for loc, url, _path in serial_ports(base)}
    for loc, url, path in serial_ports(config):
        if before.get(loc) != url and not os.path.exists(path):
            raise _NotApplied(dotted(loc), url, "no such serial port on this box")
    return config


def compose(file: Config, records: list[Record], remembered: dict[str, Record]) -> Composition:
    config, applied, refused = file, [], []
    for record in records:
        try:
            config = apply(config, record)
            applied.append(record)
            continue
        except _NotApplied as exc:
            problem = exc
        instead = remembered.get(record.key)
        if instead is not None and instead.seq != record.seq:
            try:
                config = apply(config, instead)
                applied.append(instead)
            except _NotApplied:
                instead = None
        else:
            instead = None
        refused.append(Refusal(record, problem.key, problem.value, problem.message, instead))
    origin: dict[str, str] = {}
    for record in applied:
        for section, values in record.settings.items():
            for name in ([f"{section}.{k}" for k in values] if isinstance(values, dict) else [section]):
                origin[name] = record.key
    return Composition(config, tuple(applied), tuple(refused), origin)


def differences(before: Config, after: Config) -> list[str]:
    """The dotted keys whose values differ (a list of tables by its name)."""
    a, b = before.model_dump(), after.model_dump()
    found: list[str] = []
    for section in sorted(set(a) | set(b)):
        x, y = a.get(section), b.get(section)
        if isinstance(x, dict) and isinstance(y, dict):
            found += [f"{section}.{k}" for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
        elif x != y:
            found.append(section)
    return found


# -- what a program runs ---------------------------------------------------------------
class Effective:
    """One program's configuration: its file, what it runs (:attr:`running`), and what
    the records pulled so far say it should run (:meth:`current`). Thread-safe: the
    sync agent's heartbeat and the program's own loop both ask."""

    def __init__(self, file: Config, *, remember: bool = True) -> None:
        self.file = file
        self.remember = remember
        self.running = Composition(file)
        self._now = self.running
        self._fingerprint: tuple | None = None
        self._lock = threading.RLock()
        self._logged: set[tuple[str, int]] = set()
        self._announced = False

    @classmethod
    def start(cls, file: Config, *, remember: bool = True) -> Effective:
        effective = cls(file, remember=remember)
        effective.running = effective.current()
        return effective

    @property
    def config(self) -> Config:
        return self.running.config

    def current(self) -> Composition:
        """The file with the records pulled by now; never raises (a fault keeps the last answer)."""
        with self._lock:
            try:
                records, community, readable = read_pulled(sync_files(self.file))
                fingerprint = (tuple(sorted((k, r.seq) for k, r in records.items())), community, readable)
                if fingerprint == self._fingerprint:
                    return self._now
                remembered = read_remembered(self.file)
                chosen = (mine(records, self.file, community) if readable
                          else sorted(remembered.values(), key=lambda r: r.scope == "device"))
                self._now = compose(self.file, chosen, remembered)
                self._fingerprint = fingerprint
                if readable and self.remember:
                    write_remembered(self.file, self._now.applied)
                if self._announced:
                    self._log_refusals(self._now)
            except Exception:  # noqa: BLE001 - nothing the server sent may stop the program
                log.exception("the server's configuration could not be applied; %s stays as it was",
                              self.file.source or "the configuration")
            return self._now

    def changed(self) -> Composition | None:
        """What the program should run now, if records pulled since it started change it."""
        now = self.current()
        return None if now.same_as(self.running) else now

    def announce(self) -> None:
        """Log, once, what the program runs from the server and what it refused (after
        the program set its logging up)."""
        with self._lock:
            if self._announced:
                return
            self._announced = True
            if self.running.applied:
                log.info("configuration: %s with the server's %s (%s)", self.file.source or "the file",
                         ", ".join(r.label for r in self.running.applied), ", ".join(sorted(self.running.origin)))
            self._log_refusals(self.running)
            self._log_refusals(self._now)

    def _log_refusals(self, composition: Composition) -> None:
        for refusal in composition.refused:
            mark = (refusal.record.key, refusal.record.seq)
            if mark not in self._logged:
                self._logged.add(mark)
                log.warning("%s", refusal.line())

    def report(self) -> dict[str, Any] | None:
        """The ``config`` entry of the heartbeat's peripherals (as ``sync.wire.PeripheralHealth``
        fields), or None while the server publishes nothing for this box."""
        now = self.current()
        if not now.applied and not now.refused:
            return None
        pending = not now.same_as(self.running)
        data = {"applied": [{"key": r.key, "seq": r.seq} for r in now.applied], "keys": dict(now.origin),
                "refused": [r.as_json() for r in now.refused], "restart_pending": pending}
        waiting = "; this program applies it at its next safe moment" if pending else ""
        if now.refused:
            return {"state": "degraded", "detail": "; ".join(r.line() for r in now.refused) + waiting,
                    "fix": "在管理台“终端配置”改正或删除这条配置 / correct or remove the record on the admin "
                           "console's Configuration page", "data": data}
        return {"state": "ok", "detail": f"server config {', '.join(r.label for r in now.applied)} applied to "
                                         f"{len(now.origin)} key(s){waiting}", "data": data}


_LOADED: dict[int, Effective] = {}  # id(running config) -> its Effective (which keeps the config alive)
_LOADED_LOCK = threading.Lock()


def _register(effective: Effective) -> None:
    with _LOADED_LOCK:
        _LOADED[id(effective.config)] = effective
        while len(_LOADED) > 32:
            _LOADED.pop(next(iter(_LOADED)))


def of(config: Config) -> Effective:
    """The :class:`Effective` :func:`load` made ``config`` with; for a configuration made
    otherwise (tests), one that takes it as the file and as what runs."""
    with _LOADED_LOCK:
        found = _LOADED.get(id(config))
    if found is not None and found.config is config:
        return found
    effective = Effective(config)
    _register(effective)
    return effective


def load(path: str | os.PathLike | None = None, *, check_devices: bool = True, remember: bool = True) -> Config:
    """The file (:func:`appliance.config.load`: its own mistakes stop the program as
    always) with this box's server records over it."""
    file = config_module.load(path, check_devices=check_devices)
    try:
        effective = Effective.start(file, remember=remember)
    except Exception:  # noqa: BLE001 - nothing the server sent may stop the program
        log.exception("the server's configuration could not be read; running on %s alone", file.source)
        effective = Effective(file, remember=False)
    _register(effective)
    return effective.config


__all__ = ["DEVICE_ONLY", "LOCAL_ONLY", "Composition", "Effective", "Record", "Refusal", "differences", "load",
           "of"]
