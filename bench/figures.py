"""One benchmark figure, and how the runner prints them."""
from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Figure:
    name: str  # what was measured
    value: float
    unit: str  # "ms", "frames/s", "MiB" ...
    target: str = ""  # the target, as text: "<= 5 ms"
    ok: bool | None = None  # did it meet the target (None: no target)
    baseline: float | None = None  # the bare baseline measured in the same run
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def line(self) -> str:
        verdict = {True: "OK  ", False: "MISS", None: "    "}[self.ok]
        base = "" if self.baseline is None else f"  baseline {self.baseline:.3f} {self.unit}"
        ratio = "" if self.ratio is None else f"  ratio {self.ratio:.2f}"
        target = f"  (target {self.target})" if self.target else ""
        note = f"  [{self.note}]" if self.note else ""
        return f"{verdict} {self.name}: {self.value:.3f} {self.unit}{base}{ratio}{target}{note}"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def p50(samples: list[float]) -> float:
    return statistics.median(samples)
