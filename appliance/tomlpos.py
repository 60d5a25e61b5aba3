"""Where a key sits in a TOML file, so an error can name its line.

``tomllib`` gives values, not positions. :func:`find_line` follows ``[table]`` and
``[[array]]`` headers (nested arrays of tables too) and skips multi-line strings:
enough for the configuration and template files this project writes. Used by the
appliance configuration and by certificate templates.
"""
from __future__ import annotations

import re
from typing import Any

def dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"]+)\s*=")


def find_line(text: str, loc: tuple) -> int | None:
    """The line of ``loc`` (a key path such as ``("fields", 2, "type")``) in TOML text.

    Tracks ``[table]`` and ``[[array]]`` headers (nested arrays of tables too) and
    skips multi-line strings. When the key itself is absent (a missing key), the
    line of the table that should hold it; else the closest enclosing key's line."""
    counters: dict[tuple, int] = {}
    table: tuple = ()
    best: tuple[int, int] | None = None  # (length of the matched prefix, line)
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if line.count('"""') % 2 == 1:
                in_string = False
            continue
        header = _HEADER.match(line)
        if header:
            names = [p.strip().strip('"') for p in header.group(2).split(".")]
            resolved: list[Any] = []
            for i, part in enumerate(names):
                resolved.append(part)
                if i < len(names) - 1 and tuple(resolved) in counters:
                    resolved.append(counters[tuple(resolved)])
            key = tuple(resolved)
            if header.group(1) == "[[":
                counters[key] = counters.get(key, -1) + 1
                table = key + (counters[key],)
            else:
                table = key
            if loc and table[: len(loc)] == loc:
                return number  # the table (or the first table of the array) loc names
            best = _closer(best, table, loc, number)
            continue
        match = _KEY.match(line)
        if match:
            full = table + (match.group(1).strip('"'),)
            if full == loc:
                return number
            best = _closer(best, full, loc, number)
            if line.count('"""') % 2 == 1:
                in_string = True
    return best[1] if best else None


def _closer(best: tuple[int, int] | None, path: tuple, loc: tuple, number: int) -> tuple[int, int] | None:
    if path and loc[: len(path)] == path and (best is None or len(path) > best[0]):
        return (len(path), number)
    return best
