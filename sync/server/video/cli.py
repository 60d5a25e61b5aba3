"""``python -m sync.server department add|list|demo``: the departments kiosks can call."""
from __future__ import annotations

import argparse
import sys


def department_parser(commands, common: argparse.ArgumentParser) -> None:
    dept = commands.add_parser("department", parents=[common],
                               help="departments residents can video-call: add, list, demo")
    actions = dept.add_subparsers(dest="action", required=True, metavar="{add,list,demo}")
    add = actions.add_parser("add", parents=[common], help="add a department (or change the one with this key)")
    add.add_argument("--key", required=True, help="short key staff accounts name in --department (civil_affairs)")
    add.add_argument("--name", required=True, help="the name residents read (民政)")
    add.add_argument("--name-en", default="", help="the English name (default: the name)")
    add.add_argument("--answer-timeout", type=int, default=60,
                     help="seconds a call rings before the kiosk offers a call-back (default 60)")
    add.add_argument("--recording", action="store_true",
                     help="record this department's calls (the kiosk says so before the call); default off")
    actions.add_parser("list", parents=[common], help="every department (tab-separated)")
    actions.add_parser("demo", parents=[common], help="add the demo's five departments (民政, 社保, 计生, 退役军人, 法律援助)")
    dept.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from sync.server import db, migrations
    from sync.server.__main__ import _database
    from sync.server.video import departments
    from sync.server.video.errors import VideoError

    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            if args.action == "add":
                found = [departments.add(conn, args.key, args.name, args.name_en,
                                         answer_timeout_s=args.answer_timeout, recording=args.recording)]
            elif args.action == "demo":
                found = departments.add_demo(conn)
            else:
                found = departments.all_departments(conn)
        for d in found:
            print(f"{d.key}\t{d.name}\t{d.name_en}\tanswer in {d.answer_timeout_s} s\t"
                  f"{'recorded' if d.recording else 'not recorded'}")
        return 0
    except VideoError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    finally:
        engine.dispose()
