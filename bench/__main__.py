"""Run the benchmarks: ``python -m bench [NAME…]`` (NAME as in bench/bench_NAME.py).

Each ``bench/bench_*.py`` has ``run() -> list[Figure]``. Exit status 1 when a
figure misses its target, so a regression is visible, but nothing here runs in
``make test``: these machines are shared and noisy.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(bench.__path__)
                   if m.name.startswith("bench_"))
    chosen = argv or names
    unknown = set(chosen) - set(names)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    missed = 0
    for name in chosen:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}: {(module.__doc__ or '').strip().splitlines()[0] if module.__doc__ else ''}", flush=True)
        started = time.monotonic()
        for figure in module.run():
            print("  " + figure.line(), flush=True)
            missed += figure.ok is False
        print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
    print(f"{missed} figure(s) missed their target" if missed else "all figures met their targets")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
