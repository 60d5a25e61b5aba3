"""What a call tells the department about the resident: who she is on the record and
what she has going on, masked before it leaves the kiosk.

The server files each call as an event on the resident's record under ``resident``,
the keyed hash of the ID number the kiosk uses everywhere
(:func:`kiosk.store.cases.resident_key`, so the call lands beside her cases), and the
staff console shows the rest: her name and ID number masked, her newest open case
(the console looks up its state) and, as the topic, her open cases. The masking is
the server's own (``sync.server.video.calls.mask_context``), done here first so no
full ID number or name goes over the wire::

    context = resident_context(store, resident)    # blocking (reads the store): off the UI thread
    await call.start("civil_affairs", context)
"""
from __future__ import annotations

from typing import Any, Protocol

from appliance.privacy import mask_id_number, mask_text

FIELD_MAX = 200  # what the server keeps of each field
SHOWN_CASES = 3  # open cases named in the topic; more are counted


class Person(Protocol):
    name: str
    id_number: str


def mask_name(name: str) -> str:
    """``张晓明`` → ``张**``: the family name only, as the console shows it."""
    name = name.strip()
    if len(name) <= 1 or "*" in name:
        return name
    return name[0] + "*" * (len(name) - 1)


def resident_context(store: Any, resident: Person | None) -> dict[str, str]:
    """The context of a call placed by ``resident`` (None: nobody identified, an empty
    context). Blocking: it reads the resident's cases from the kiosk's store."""
    if resident is None or not getattr(resident, "id_number", ""):
        return {}
    from kiosk.store import cases

    context = {"resident": cases.resident_key(resident.id_number), "name": mask_name(resident.name or ""),
               "id_number": mask_id_number(resident.id_number)}
    open_cases = [c for c in cases.of_resident(store, context["resident"]) if not c.finished] if store else []
    if open_cases:
        newest = open_cases[0]  # of_resident: newest first
        context["case_id"] = newest.id
        named = [f"{c.item or c.item_id}（{c.id}）" for c in open_cases[:SHOWN_CASES]]
        more = len(open_cases) - SHOWN_CASES
        topic = "在办：" + "；".join(named) + (f"；另有 {more} 件" if more > 0 else "")
        context["topic"] = mask_text(topic)[:FIELD_MAX]
    return {key: value[:FIELD_MAX] for key, value in context.items()}
