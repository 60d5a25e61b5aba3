"""What ``python -m drivers doctor`` reports for one device."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OK, DEGRADED, DOWN = "ok", "degraded", "down"


@dataclass(frozen=True)
class Health:
    device: str  # "lockboard bus0", "printer", "camera", ...
    url: str  # the configured URL, as the maintainer wrote it
    state: str  # OK | DEGRADED | DOWN
    detail: str  # what was seen, in one line
    fix: str = ""  # what to do next when not OK
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable extras for --json

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
