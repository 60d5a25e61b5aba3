"""Appliance configuration published from the server: ``config`` records, one for the
whole community and one per device, each a fragment of the appliance's TOML file
(``/etc/kiosk/appliance.toml``: README, "Configuration reference") checked against the
same schema the appliance loads it with (:mod:`appliance.config`: strict types,
limits, device URLs each parsed by its driver). A fragment that would stop an
appliance is refused with its line, key and value; nothing of it is stored.

Keys: ``community:<community>`` and ``device:<device id>``, published to the
community's appliances only (their agents keep them in ``<store>.sync.db``,
``synced_records`` kind ``config``; each program of the box applies them over its file
at start and runs itself again when they change: :mod:`appliance.server_config`). Data::

    {"scope": "community" | "device", "community", "device_id": "" | the device,
     "toml": the fragment as written, "settings": {section: {key: value}} (the fragment parsed),
     "updated_by", "updated_at": ISO 8601}

The device's record overrides the community's key by key; both are checked on their
own and merged. What names the box itself, its files, its way to the server or who
may open doors (``LOCAL_ONLY``) stays in the file on the box; its own wiring
(``DEVICE_ONLY``: lock buses, device URLs) may only be set for one device.
"""
from __future__ import annotations

import tomllib
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select

from appliance.config import Config, _translate, check_urls
from appliance.server_config import DEVICE_ONLY, LOCAL_ONLY
from appliance.errors import ConfigError
from sync.server import content
from sync.server.admin.catalogue import Invalid
from sync.server.models import ConfigEntry, Device

CONFIGS, DEVICES = ConfigEntry.__table__, Device.__table__
SECTIONS = tuple(name for name, field in Config.model_fields.items() if not field.exclude)
MAX_TEXT = 20_000
# LOCAL_ONLY: what only the box's own file may say (its identity and files, its server, whether
# it syncs, who may open doors); DEVICE_ONLY: the box's own wiring, for one device, never a
# community. The appliance applies records by the same sets (appliance/server_config.py).


def key_of(community: str, device_id: str = "") -> str:
    return f"device:{device_id}" if device_id else f"community:{community}"


def _one_line(exc: ConfigError) -> tuple[str, str]:
    """(zh, en) from a ConfigError of the fragment: its line, key, value and message."""
    where = f"{exc.file}:{exc.line}" if exc.line else exc.file
    what = f"{exc.key} = {exc.value!r}: " if exc.key and exc.value is not None else (f"{exc.key}: " if exc.key else "")
    message = str(exc)[len(f"{where}: {what}"):]
    value = f" = {exc.value!r}" if exc.key and exc.value is not None else ""
    line_zh, line_en = (f"第 {exc.line} 行 ", f"line {exc.line}: ") if exc.line else ("", "")
    return (f"{line_zh}{exc.key or '配置'}{value}：{message}", f"{line_en}{exc.key or 'configuration'}{value}: {message}")


def parse(text: str, *, device: bool) -> dict[str, Any]:
    """The fragment's settings, checked; Invalid naming every problem found."""
    if len(text) > MAX_TEXT:
        raise Invalid([(f"配置片段不能超过 {MAX_TEXT} 字", f"the fragment is at most {MAX_TEXT} characters")])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid([(f"不是有效的 TOML：{exc}", f"not valid TOML: {exc}")]) from None
    if not raw:
        raise Invalid([("配置片段是空的：写上要改的小节和键，如 [kiosk] idle_seconds = 90",
                        "the fragment is empty: write the sections and keys to set, e.g. [kiosk] idle_seconds = 90")])
    problems: list[tuple[str, str]] = []
    for section, values in raw.items():
        if section not in SECTIONS:
            problems.append((f"没有 [{section}] 这一节（见 README 的配置说明）",
                             f"there is no [{section}] section (see README's configuration reference)"))
            continue
        names = [section] + ([f"{section}.{key}" for key in values] if isinstance(values, dict) else [])
        for name in names:
            if name in LOCAL_ONLY:
                problems.append((f"{name} 只能在终端本机的配置文件里设置", f"{name} is set in the box's own file only"))
            elif name in DEVICE_ONLY and not device:
                problems.append((f"{name} 是单台终端的接线，只能按终端设置",
                                 f"{name} is one box's wiring: set it for one device, not the community"))
    if problems:
        raise Invalid(problems)
    check(text, raw)
    return raw


def check(text: str, raw: dict[str, Any]) -> Config:
    """Raw settings through the appliance's own schema and URL parsers."""
    try:
        config = Config.model_validate(raw)
        check_urls(config, text)
    except ValidationError as exc:
        raise Invalid([_one_line(_translate("", text, raw, exc))]) from None
    except ConfigError as exc:
        raise Invalid([_one_line(exc)]) from None
    return config


def merged(community_settings: dict[str, Any], device_settings: dict[str, Any]) -> dict[str, Any]:
    """The device's keys over the community's (a list, such as [[lockboard]], is replaced)."""
    out = {section: dict(values) if isinstance(values, dict) else values
           for section, values in community_settings.items()}
    for section, values in device_settings.items():
        if isinstance(values, dict) and isinstance(out.get(section), dict):
            out[section].update(values)
        else:
            out[section] = values
    return out


def record(conn: Connection, community: str, device_id: str = "") -> dict[str, Any] | None:
    return conn.execute(select(CONFIGS.c.data).where(CONFIGS.c.key == key_of(community, device_id),
                                                     CONFIGS.c.community == community)).scalar_one_or_none()


def records(conn: Connection, community: str) -> list[dict[str, Any]]:
    """The community's record first, then each device's."""
    rows = conn.execute(select(CONFIGS.c.key, CONFIGS.c.data).where(CONFIGS.c.community == community)).all()
    found = [{**row.data, "key": row.key} for row in rows
             if isinstance(row.data, dict) and row.data.get("scope") in ("community", "device")]
    return sorted(found, key=lambda r: (r["scope"] != "community", r.get("device_id") or ""))


def _device_of(conn: Connection, community: str, device_id: str) -> None:
    found = conn.execute(select(DEVICES.c.community).where(DEVICES.c.device_id == device_id)).scalar_one_or_none()
    if found != community:
        raise Invalid([(f"本社区没有注册的终端 {device_id}", f"this community has no enrolled device {device_id}")])


def save(conn: Connection, community: str, text: str, by: str, device_id: str = "") -> str:
    """Check the fragment and publish it for the community (or one of its devices)."""
    device_id = device_id.strip()
    if device_id:
        _device_of(conn, community, device_id)
    settings = parse(text, device=bool(device_id))
    # the device's fragment over the community's (or the community's under each device's) must still load
    shared = settings if not device_id else (record(conn, community) or {}).get("settings") or {}
    for mine in ([settings] if device_id else
                 [r.get("settings") or {} for r in records(conn, community) if r["scope"] == "device"]):
        combined = merged(shared, mine)
        check(text, combined)
    key = key_of(community, device_id)
    content.put(conn, "config", key, {"scope": "device" if device_id else "community", "community": community,
                                      "device_id": device_id, "toml": text, "settings": settings,
                                      "updated_by": by, "updated_at": datetime.now(timezone.utc)
                                      .isoformat(timespec="seconds")}, community)
    return key


def remove(conn: Connection, community: str, device_id: str = "") -> bool:
    if record(conn, community, device_id) is None:
        return False
    return content.remove(conn, "config", key_of(community, device_id))
