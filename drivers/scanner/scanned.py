"""What every scanner yields: one decoded code, whichever way it was read."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Corners = tuple[tuple[float, float], ...]  # a code's four corners in the frame, in pixels


@dataclass(frozen=True)
class ScannedCode:
    text: str
    source: str  # "serial", "keyboard" (a keyboard-wedge scanner) or "camera"
    at: float  # time.monotonic() when read
    corners: Corners | None = None  # where it was in the picture (camera only)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "source": self.source}
        if self.corners is not None:
            out["corners"] = [list(point) for point in self.corners]
        return out
