"""``python -m sync.server.phone purge [--database URL]``: delete photos past their
retention, old sign-in attempts and expired sessions once (the server also does it
hourly), and say how many of each."""
from __future__ import annotations

import argparse
import os
import sys

from sync.server import db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.server.phone",
                                     description="Residents' phone pages: maintenance.")
    sub = parser.add_subparsers(dest="command", required=True)
    purge = sub.add_parser("purge", help="delete photos past their retention, old attempts, expired sessions")
    purge.add_argument("--database", default=os.environ.get("SYNC_DATABASE_URL", db.DEFAULT_URL),
                       help="the server's database URL (default: SYNC_DATABASE_URL)")
    args = parser.parse_args(argv)
    from sync.server.phone import purge_once

    engine = db.create(args.database)
    try:
        gone = purge_once(engine)
    except Exception as exc:  # noqa: BLE001
        print(f"purge failed: {exc}. Check --database (or SYNC_DATABASE_URL) and that the server's "
              "migrations ran (python -m sync.server migrate).", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"deleted {gone['photos']} photo(s), {gone['attempts']} attempt(s), {gone['sessions']} session(s)/code(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
