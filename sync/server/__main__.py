"""``python -m sync.server``: run the central server, migrate its database, make
enrolment codes, revoke devices, sign worker and booking codes.

    python -m sync.server [--host H] [--port P] [--database URL] [--workers N]   serve (migrates first)
    python -m sync.server migrate [--database URL]
    python -m sync.server enrol-code --community C --device-id D [--database URL]
    python -m sync.server revoke --device-id D [--database URL]
    python -m sync.server worker-code --worker W --lockers ID… [--minutes N] [--database URL]
    python -m sync.server booking-code --case C --size S|M|L [--locker ID] [--days N] [--database URL]
    python -m sync.server account add --username U --role admin|worker|staff --name N
                                      [--community C] [--grid G] [--department D] [--password-stdin]
    python -m sync.server account list [--community C]
    python -m sync.server account disable|enable --username U
    python -m sync.server account password --username U [--password-stdin]
    python -m sync.server notify [--once] [--database URL]          deliver residents' notifications
    python -m sync.server department add --key K --name N [--name-en E] [--answer-timeout S] [--recording]
    python -m sync.server department list|demo                      departments residents can video-call
    python -m sync.server revoke-certificate --serial S (--reason R | --withdraw)
    python -m sync.server config set|remove|list --community C [--device-id D] [--file F.toml]
    python -m sync.server worker-key add|revoke|list [--community C] [--key-id ID] [--public-key B64]

The server's signing key (worker and booking codes) is in the database, created at
first start under ``--server-key-id`` (default ``$SYNC_SERVER_KEY_ID`` or ``server``,
as the appliances' ``[locker] server_key_id``): see :mod:`sync.server.keys`.

Serving prints one line, ``listening on http://HOST:PORT``, once the socket is bound
(``--port 0`` takes a free port), then runs uvicorn on that socket.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

from sqlalchemy.engine import make_url

from appliance import systemd
from appliance.keys import DEVICE_ID
from appliance.privacy import setup_logging
from sync.server import db, keys, migrations

ENV_DATABASE = "SYNC_DATABASE_URL"


def _database(args: argparse.Namespace) -> str:
    return args.database or os.environ.get(ENV_DATABASE) or db.DEFAULT_URL


def _key_id(args: argparse.Namespace) -> str:
    from sync.server.keys import DEFAULT_KEY_ID, ENV_KEY_ID

    return args.server_key_id or os.environ.get(ENV_KEY_ID) or DEFAULT_KEY_ID


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sync.server.app import create_app
    from sync.server.keys import ServerKeyError
    from sync.server.notify.errors import NotifyConfigError
    from sync.server.video.errors import RecordingConfigError

    setup_logging(args.log_level)
    url = _database(args)
    workers = args.workers
    if workers < 1:
        print(f"--workers {workers}: at least 1", file=sys.stderr)
        return 2
    if workers > 1 and make_url(db.normalise_url(url)).get_backend_name() == "sqlite":
        print(f"--workers {workers} needs PostgreSQL (--database postgresql://…): SQLite has one writer, "
              f"so run one process on it", file=sys.stderr)
        return 2
    try:  # migrates the database and makes the signing key once, before any worker starts
        app = create_app(url, server_key_id=_key_id(args))
    except (ServerKeyError, NotifyConfigError, RecordingConfigError) as exc:
        print(exc, file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    watchdog = systemd.Watchdog(status=f"listening on http://{host}:{port}")  # READY=1 once it serves
    # log_config=None: uvicorn's own loggers (uvicorn.error, uvicorn.access) propagate to
    # the root handler of setup_logging (journald or stderr, ID numbers masked)
    options = {"log_level": args.log_level.lower(), "access_log": args.access_log, "log_config": None,
               "timeout_graceful_shutdown": 5}
    try:
        if workers == 1:
            config = uvicorn.Config(app, **options, **systemd.uvicorn_options(watchdog))
            uvicorn.Server(config).run(sockets=[sock])
        else:
            app.state.engine.dispose()  # each worker process makes its own app and engine
            os.environ[ENV_DATABASE] = url
            os.environ[keys.ENV_KEY_ID] = _key_id(args)
            os.environ[ENV_LOG_LEVEL] = args.log_level
            config = uvicorn.Config("sync.server.__main__:worker_app", factory=True, workers=workers, **options)
            _supervisor(config, [sock], watchdog).run()
    finally:
        watchdog.stop()
        sock.close()
    return 0


ENV_LOG_LEVEL = "SYNC_LOG_LEVEL"  # set for the worker processes of --workers N


def worker_app():
    """One worker process's app (``--workers N``: uvicorn's factory, in each process): the
    database is already migrated and the signing key made by the parent."""
    from sync.server.app import create_app

    setup_logging(os.environ.get(ENV_LOG_LEVEL, "INFO"))  # a spawned process starts with no handlers
    return create_app(os.environ[ENV_DATABASE], migrate=False, server_key_id=os.environ[keys.ENV_KEY_ID])


def _supervisor(config, sockets: list[socket.socket], watchdog: systemd.Watchdog):
    """uvicorn's supervisor of the worker processes (it replaces one that dies or stops
    answering), telling systemd READY=1 once every worker serves and WATCHDOG=1 while
    they all answer its pings: with NotifyAccess=main only this process may."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Workers(Multiprocess):
        def keep_subprocess_alive(self) -> None:
            super().keep_subprocess_alive()  # every 0.5 s: pings each worker, replaces a dead one
            if self.should_exit.is_set() or len(self.processes) < self.processes_num:
                return
            if all(p.is_ready(timeout=self.config.timeout_worker_healthcheck) for p in self.processes):
                watchdog.beat()  # the first beat is READY=1

    return Workers(config, sockets)


def migrate(args: argparse.Namespace) -> int:
    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        print(f"database at revision {migrations.current(engine)}")
    finally:
        engine.dispose()
    return 0


def enrol_code(args: argparse.Namespace) -> int:
    from sync.server.devices import create_code

    if not DEVICE_ID.match(args.device_id):
        print(f"device id {args.device_id!r}: lower-case letters, digits and '-'", file=sys.stderr)
        return 2
    from sync.server.admin.trust import is_worker_key_id

    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            if is_worker_key_id(conn, args.device_id):
                print(f"{args.device_id} is a lockers' worker key id (python -m sync.server worker-key list): "
                      f"enrol the device under another id", file=sys.stderr)
                return 2
            code = create_code(conn, args.community, args.device_id)
    finally:
        engine.dispose()
    print(code)
    return 0


def revoke(args: argparse.Namespace) -> int:
    from sync.server.devices import revoke as revoke_device

    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            found = revoke_device(conn, args.device_id)
    finally:
        engine.dispose()
    if not found:
        print(f"no device {args.device_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.device_id}")
    return 0


def _sign_code(args: argparse.Namespace, issue) -> int:
    from sync.server.keys import ServerKeyError

    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            text = issue(conn)
    except (ValueError, ServerKeyError) as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(text)
    return 0


def worker_code(args: argparse.Namespace) -> int:
    from sync.server.codes import issue_worker_code

    return _sign_code(args, lambda conn: issue_worker_code(conn, args.worker, args.lockers, args.minutes,
                                                           key_id=_key_id(args)))


def booking_code(args: argparse.Namespace) -> int:
    from sync.server.codes import issue_booking_code

    return _sign_code(args, lambda conn: issue_booking_code(conn, args.case, args.size, args.locker,
                                                            days=args.days, key_id=_key_id(args)))


def _published(args: argparse.Namespace, change) -> int:
    """Run ``change(conn)`` in one transaction of the database; print what it returns.
    A record the admin console would refuse is refused the same way (exit 2)."""
    from sync.server.admin.catalogue import Invalid

    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            said = change(conn)
    except Invalid as exc:
        for zh, en in exc.problems:
            print(f"{zh} / {en}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if said is None:
        return 1
    print(said)
    return 0


def revoke_certificate(args: argparse.Namespace) -> int:
    from sync.server.admin import trust

    if not args.withdraw and not args.reason.strip():
        print("give the reason: --reason TEXT (published with the revocation: nothing personal)", file=sys.stderr)
        return 2

    def change(conn):
        if args.withdraw:
            return (f"revocation of {args.serial} withdrawn: valid again" if
                    trust.withdraw_revocation(conn, args.serial, community=None) else _none(f"{args.serial} is not revoked"))
        serial = trust.revoke_certificate(conn, args.serial, args.reason, args.by, community=None)
        return f"certificate {serial} revoked: the verify page says so from now on"
    return _published(args, change)


def _none(message: str) -> None:
    print(message, file=sys.stderr)
    return None


def appliance_config(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sync.server.admin import appliance_config as records

    device_id = getattr(args, "device_id", "")

    def change(conn):
        target = f"device {device_id}" if device_id else f"community {args.community}"
        if args.action == "list":
            found = records.records(conn, args.community)
            return "\n".join(f"# {r['key']} ({r['updated_by']}, {r['updated_at']})\n{r['toml'].rstrip()}"
                              for r in found) or f"no configuration published for {args.community}"
        if args.action == "remove":
            return (f"configuration of {target} removed" if records.remove(conn, args.community, device_id)
                    else _none(f"no configuration published for {target}"))
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return _none(f"{args.file}: cannot read it ({exc})")
        key = records.save(conn, args.community, text, args.by, device_id)
        return f"published {key} for {target}: it arrives at the next sync"
    return _published(args, change)


def worker_key(args: argparse.Namespace) -> int:
    from sync.server.admin import trust

    def change(conn):
        if args.action == "list":
            found = trust.worker_keys(conn, args.community)
            return "\n".join(f"{k['key_id']}\t{k['community']}\t{k['fingerprint']}\t"
                              f"{'revoked' if k.get('revoked') else 'trusted'}\t{k.get('note') or ''}"
                              for k in found) or "no worker keys published"
        if args.action == "revoke":
            return (f"worker key {args.key_id} revoked: lockers refuse its codes after their next sync"
                    if trust.revoke_worker_key(conn, args.key_id, args.by, community=None)
                    else _none(f"no trusted worker key {args.key_id}"))
        new = trust.publish_worker_key(conn, args.community, args.key_id, args.public_key, args.by, args.note)
        return (f"worker key {args.key_id} published for {args.community}" if new
                else f"worker key {args.key_id} was published already")
    return _published(args, change)


def _new_password(args: argparse.Namespace) -> str:
    """From stdin (one line) with --password-stdin, else asked twice at the prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再输一次 / again: ") != first:
        raise ValueError("两次输入的密码不一致 / the two passwords differ: run the command again")
    return first


def account(args: argparse.Namespace) -> int:
    from sync.server import accounts

    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        if args.action == "list":
            with engine.connect() as conn:
                found = accounts.list_accounts(conn, args.community)
            for record in found:
                a = record.account
                scope = " ".join(f"{k}={v}" for k, v in (("community", a.community), ("grid", a.grid),
                                                         ("department", a.department)) if v)
                print(f"{a.username}\t{a.role}\t{a.name}\t{scope}\t{'disabled' if record.disabled else 'active'}")
            return 0
        password = _new_password(args) if args.action in ("add", "password") else ""
        with engine.begin() as conn:
            if args.action == "add":
                accounts.create_account(conn, username=args.username, password=password, name=args.name,
                                        role=args.role, community=args.community, grid=args.grid,
                                        department=args.department)
                print(f"account {args.username.strip().lower()} added ({args.role})")
                return 0
            found = accounts.find_account(conn, args.username).account
            if args.action == "password":
                accounts.set_password(conn, found.id, password)
                print(f"password of {found.username} changed; its sessions ended")
            else:
                accounts.set_disabled(conn, found.id, args.action == "disable")
                print(f"{found.username} {args.action}d")
        return 0
    except (accounts.AccountError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1 if isinstance(exc, accounts.UnknownAccount) else 2
    finally:
        engine.dispose()


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", default=argparse.SUPPRESS,
                        help=f"SQLAlchemy URL, sqlite:///… or postgresql://… (default ${ENV_DATABASE} or "
                             f"{db.DEFAULT_URL})")
    common.add_argument("--server-key-id", default=argparse.SUPPRESS,
                        help="the id of the server's signing key, as the appliances' [locker] server_key_id "
                             "(default $SYNC_SERVER_KEY_ID or server)")
    main = argparse.ArgumentParser(prog="python -m sync.server", parents=[common],
                                   description="The central sync server.")
    main.add_argument("--host", default="127.0.0.1")
    main.add_argument("--port", type=int, default=8000, help="0 takes a free port")
    main.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    main.add_argument("--access-log", action="store_true", help="log every request")
    main.add_argument("--workers", type=int, default=1, metavar="N",
                      help="serve from N processes (PostgreSQL only; default 1)")
    main.set_defaults(run=serve)
    commands = main.add_subparsers(metavar="{migrate,enrol-code,revoke,worker-code,booking-code,account,notify,"
                                           "department,revoke-certificate,config,worker-key}")
    commands.add_parser("migrate", parents=[common], help="bring the database schema up to date"
                        ).set_defaults(run=migrate)
    code = commands.add_parser("enrol-code", parents=[common], help="print a one-time enrolment code")
    code.add_argument("--community", required=True)
    code.add_argument("--device-id", required=True)
    code.set_defaults(run=enrol_code)
    rev = commands.add_parser("revoke", parents=[common], help="refuse a device from now on")
    rev.add_argument("--device-id", required=True)
    rev.set_defaults(run=revoke)
    worker = commands.add_parser("worker-code", parents=[common],
                                 help="print a worker code for lockers, signed with the server's key")
    worker.add_argument("--worker", required=True, help="the worker's id")
    worker.add_argument("--lockers", nargs="+", required=True, metavar="ID", help="the lockers it opens")
    worker.add_argument("--minutes", type=int, default=15,
                        help="valid for (default 15; lockers refuse more than [locker] worker_code_max_minutes)")
    worker.set_defaults(run=worker_code)
    booking = commands.add_parser("booking-code", parents=[common],
                                  help="print a booking code for a deposit, signed with the server's key")
    booking.add_argument("--case", required=True)
    booking.add_argument("--size", required=True, choices=["S", "M", "L"])
    booking.add_argument("--locker", default="", help="the locker id (default: any)")
    booking.add_argument("--days", type=int, default=14, help="valid for (default 14)")
    booking.set_defaults(run=booking_code)
    _account_parser(commands, common)
    _notify_parser(commands, common)
    _trust_parsers(commands, common)
    from sync.server.video.cli import department_parser

    department_parser(commands, common)
    return main


def _trust_parsers(commands, common: argparse.ArgumentParser) -> None:
    """What the admin console's revocations, configuration and lockers' keys pages do."""
    cert = commands.add_parser("revoke-certificate", parents=[common],
                               help="revoke a certificate by its serial: the verify page says 已作废 / revoked")
    cert.add_argument("--serial", required=True, help="DEVICE-NNNNNN as printed, or the QR's text")
    cert.add_argument("--reason", default="", help="why (published with the revocation: nothing personal)")
    cert.add_argument("--withdraw", action="store_true", help="take the revocation back: valid again")
    cert.add_argument("--by", default="cli", help="who (kept with the revocation; default cli)")
    cert.set_defaults(run=revoke_certificate)

    config = commands.add_parser("config", parents=[common],
                                 help="appliance configuration published to a community or one of its devices")
    actions = config.add_subparsers(dest="action", required=True, metavar="{set,remove,list}")
    for action, text in (("set", "publish a TOML fragment of appliance.toml, checked by the appliance's rules"),
                         ("remove", "remove the community's (or the device's) record"),
                         ("list", "the community's records")):
        one = actions.add_parser(action, parents=[common], help=text)
        one.add_argument("--community", required=True)
        if action != "list":
            one.add_argument("--device-id", default="", help="one device of the community (default: all of them)")
        if action == "set":
            one.add_argument("--file", required=True, help="the TOML fragment, e.g. [kiosk] idle_seconds = 90")
            one.add_argument("--by", default="cli", help="who (default cli)")
    config.set_defaults(run=appliance_config)

    keys_ = commands.add_parser("worker-key", parents=[common],
                                help="keys lockers accept worker and booking codes from: add, revoke, list")
    actions = keys_.add_subparsers(dest="action", required=True, metavar="{add,revoke,list}")
    add = actions.add_parser("add", parents=[common], help="publish a key for a community's lockers")
    add.add_argument("--community", required=True)
    add.add_argument("--key-id", default="", help="as the lockers' [locker] server_key_id (or in the pasted entry)")
    add.add_argument("--public-key", required=True,
                     help="base64 of the 32-byte Ed25519 key, or the entry python -m locker sign server-key prints")
    add.add_argument("--note", default="")
    add.add_argument("--by", default="cli", help="who (default cli)")
    revoke_ = actions.add_parser("revoke", parents=[common], help="lockers refuse the key's codes from their next sync")
    revoke_.add_argument("--key-id", required=True)
    revoke_.add_argument("--by", default="cli", help="who (default cli)")
    listing = actions.add_parser("list", parents=[common], help="every worker key (tab-separated)")
    listing.add_argument("--community", default=None)
    keys_.set_defaults(run=worker_key)


def _account_parser(commands, common: argparse.ArgumentParser) -> None:
    staff = commands.add_parser("account", parents=[common],
                                help="staff accounts of the consoles: add, list, disable, enable, password")
    actions = staff.add_subparsers(dest="action", required=True, metavar="{add,list,disable,enable,password}")
    add = actions.add_parser("add", parents=[common], help="a new account (password asked twice, or one line "
                                                           "on stdin with --password-stdin)")
    add.add_argument("--username", required=True, help="2-64 lower-case letters, digits, . _ -")
    add.add_argument("--role", required=True, choices=["admin", "worker", "staff"],
                     help="admin: community admin; worker: grid worker; staff: department staff")
    add.add_argument("--name", required=True, help="the display name")
    add.add_argument("--community", help="admin and worker: their community")
    add.add_argument("--grid", help="worker: her grid")
    add.add_argument("--department", help="staff: their department")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    listing = actions.add_parser("list", parents=[common], help="every account (tab-separated)")
    listing.add_argument("--community", help="only this community's accounts")
    for action, text in (("disable", "refuse sign-in from now on and end its sessions"),
                         ("enable", "allow sign-in again")):
        one = actions.add_parser(action, parents=[common], help=text)
        one.add_argument("--username", required=True)
    password = actions.add_parser("password", parents=[common], help="set a new password; ends its sessions")
    password.add_argument("--username", required=True)
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    staff.set_defaults(run=account)


def notify(args: argparse.Namespace) -> int:
    """Deliver stored notifications (sync.server.notify): every due one once with
    --once, else in a loop until SIGTERM/Ctrl-C. Settings: the SYNC_NOTIFY_* variables."""
    import signal
    import threading

    from sync.server.notify.adapters import notifier_for
    from sync.server.notify.delivery import drain, run
    from sync.server.notify.errors import NotifyConfigError
    from sync.server.notify.settings import from_env

    setup_logging(args.log_level)
    try:
        settings = from_env()
    except NotifyConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    engine = db.create(_database(args))
    try:
        migrations.upgrade(engine)
        notifier = notifier_for(settings)
        if args.once:
            done = drain(engine, notifier, settings)
            print(f"sent {done.sent}, to retry {done.retrying}, failed {done.failed}")
            return 0
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        print(f"delivering notifications every {settings.interval_s:g} s through the {notifier.name} adapter",
              flush=True)
        run(engine, notifier, settings, stop)
        return 0
    finally:
        engine.dispose()


def _notify_parser(commands, common: argparse.ArgumentParser) -> None:
    deliver = commands.add_parser("notify", parents=[common],
                                  help="deliver residents' notifications (SMS gateway or log), retrying with backoff")
    deliver.add_argument("--once", action="store_true", help="send everything due once, then exit")
    deliver.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    deliver.set_defaults(run=notify)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not hasattr(args, "database"):
        args.database = None
    if not hasattr(args, "server_key_id"):
        args.server_key_id = None
    logging.captureWarnings(True)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
