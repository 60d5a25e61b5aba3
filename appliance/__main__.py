"""``python -m appliance``: run the appliance in simulation, check its configuration,
and gather a support bundle for a maintainer."""
from __future__ import annotations

import argparse
import json
import sys

from appliance.cli import add_config_argument, load_or_exit, main_guard


@main_guard
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance", description=__doc__)
    add_config_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start the whole system in simulation (simulators, cupsd, server with "
                                            "demo data, locker daemon, kiosk app) and follow it live")
    run_parser.add_argument("--no-kiosk", action="store_true",
                            help="leave the kiosk app out: make run keeps the ID card reader and follows it itself")
    check = sub.add_parser("check-config", help="validate the configuration file and say where it came from, and "
                                                "which keys the server's configuration records set")
    check.add_argument("--json", action="store_true", help="print the effective configuration as JSON")
    bundle = sub.add_parser("bundle", help="one tar.gz for a maintainer: logs, configuration without secrets, "
                                           "versions, doctor")
    bundle.add_argument("--output", metavar="FILE", help="where to write it (default: ./kiosk-support-HOST-TIME.tar.gz)")
    bundle.add_argument("--since", default="-3d", help="journal entries since (journalctl --since; default -3d)")
    args = parser.parse_args(argv)

    if args.command == "bundle":
        from appliance.bundle import main as bundle_main
        return bundle_main(args)

    if args.command == "check-config":
        from appliance import server_config

        cfg = load_or_exit(args.config)
        effective = server_config.of(cfg).running
        if args.json:
            server = {"applied": [{"key": r.key, "seq": r.seq} for r in effective.applied],
                      "keys": effective.origin, "refused": [r.as_json() for r in effective.refused]}
            print(json.dumps({"source": cfg.source, **cfg.model_dump(), "server": server}, ensure_ascii=False,
                             indent=2))
        else:
            buses = ", ".join(f"{b.name} ({len(b.board)} boards)" for b in cfg.lockboard) or "none"
            print(f"{cfg.source}: OK — appliance {cfg.appliance.id} ({cfg.appliance.role}), lock buses: {buses}")
            for record in effective.applied:
                keys = sorted(k for k, by in effective.origin.items() if by == record.key)
                print(f"from the server, {record.label}: {', '.join(keys)}")
            for refusal in effective.refused:
                print(refusal.line())
        return 0
    from appliance.demo import run
    return run(load_or_exit(args.config), kiosk=not args.no_kiosk)


if __name__ == "__main__":
    sys.exit(main())
