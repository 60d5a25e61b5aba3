"""``python -m drivers doctor``: every configured device with its state and the fix
for the usual failure. Exit status 0 when nothing is down, 1 otherwise."""
from __future__ import annotations

import argparse
import json
import sys

from appliance.cli import add_config_argument, load_or_exit, main_guard
from drivers.health import DEGRADED, DOWN, OK

MARK = {OK: "OK  ", DEGRADED: "WARN", DOWN: "DOWN"}


@main_guard
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drivers", description=__doc__)
    add_config_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    doctor_parser = sub.add_parser("doctor", help="check every configured device and say how to fix what is wrong")
    doctor_parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)

    from appliance.privacy import setup_logging
    from drivers.doctor import doctor

    setup_logging("WARNING")
    config = load_or_exit(args.config, check_devices=False)
    report = doctor(config)
    if args.json:
        print(json.dumps({"config": config.source, "devices": [h.as_dict() for h in report]},
                         ensure_ascii=False, indent=2, default=str))
    else:
        print(f"config: {config.source}")
        width = max((len(h.device) for h in report), default=10)
        for h in report:
            print(f"{MARK.get(h.state, h.state)}  {h.device:<{width}}  {h.detail}")
            if h.state != OK and h.fix:
                print(f"      {'':<{width}}  → {h.fix}")
    return 1 if any(h.state == DOWN for h in report) else 0


if __name__ == "__main__":
    sys.exit(main())
