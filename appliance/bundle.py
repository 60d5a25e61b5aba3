"""``python -m appliance bundle [--output FILE]``: one tar.gz a maintainer can read.

What goes in (every text with ID numbers masked, every secret removed):

    MANIFEST.json      what was collected, when, on which host, and what could not be
    versions.txt       this version (installed VERSION file, or git describe), Python,
                       the Python packages, the Debian packages the project uses
    config/            the appliance's TOML file and the server's env file, secrets removed
    logs/journal.txt   journalctl of the appliance's units (kiosk-*, community-kiosk.target)
    logs/*.log         when there is no journal: the log files of data_dir/logs and var/demo/logs
    doctor.txt         ``python -m drivers doctor``
    systemd.txt        ``systemctl status`` of the units, when systemd runs

Never in it: the stores (residents' data), the device's private key, enrolment codes,
trusted-keys files, printed certificates.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from appliance.cli import load_or_exit
from appliance.config import ROOT, find_config
from appliance.privacy import mask_text

UNITS = ("kiosk-locker.service", "kiosk-sync-agent.service", "kiosk-server.service", "kiosk-ui.service",
         "community-kiosk.target")
REMOVED = "<removed>"
# keys whose values are secrets, in TOML (key = "…") and env files (KEY=…)
_SECRET_KEY = re.compile(r"(?i)(secret|password|passwd|passphrase|token|private|credential|api_?key|seed)")
_TOML_LINE = re.compile(r'^(\s*([A-Za-z0-9_.-]+)\s*=\s*)(.+?)(\s*(#.*)?)$')
_ENV_LINE = re.compile(r"^(\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=)(.*)$")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@\"']+):[^\s@/\"']+@")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)


def scrub(text: str) -> str:
    """Secrets out of a configuration or log text, ID numbers masked."""
    text = _PEM.sub(REMOVED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REMOVED}@", text)
    lines = []
    for line in text.splitlines():
        m = _TOML_LINE.match(line) or None
        if m and _SECRET_KEY.search(m.group(2)):
            line = f'{m.group(1)}"{REMOVED}"{m.group(4) or ""}'
        else:
            e = _ENV_LINE.match(line)
            if e and _SECRET_KEY.search(e.group(2)):
                line = f"{e.group(1)}{REMOVED}"
        lines.append(line)
    return mask_text("\n".join(lines) + ("\n" if text.endswith("\n") else ""))


def _run(argv: list[str], timeout: float = 60, env: dict | None = None) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env={**os.environ, **(env or {})})
    except FileNotFoundError:
        return 127, f"{argv[0]}: not installed\n"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(argv)}: no answer within {timeout:.0f} s\n"
    return proc.returncode, proc.stdout + (("\n--- stderr ---\n" + proc.stderr) if proc.stderr.strip() else "")


class Bundle:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self.files: dict[str, str] = {}
        self.problems: list[str] = []

    def add(self, name: str, text: str) -> None:
        self.files[name] = scrub(text)

    # -- parts -------------------------------------------------------------------------
    def versions(self) -> None:
        lines = [f"version: {version()}", f"python: {sys.version.split()[0]} ({sys.executable})",
                 f"platform: {platform.platform()}"]
        from importlib import metadata

        packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"])
        lines += ["", "python packages:", *[f"  {p}" for p in packages]]
        names = debian_package_names()
        if names and shutil.which("dpkg-query"):
            code, out = _run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\\n", *names])
            lines += ["", "debian packages:", *[f"  {l}" for l in out.splitlines()]]
        self.add("versions.txt", "\n".join(lines) + "\n")

    def configuration(self) -> None:
        path = find_config(self.config_path)
        for file in (path, path.with_name("server.env")):
            try:
                self.add(f"config/{file.name}", f"# {file}\n" + file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                if file == path:
                    self.problems.append(f"{file}: no configuration file")
            except OSError as exc:
                self.problems.append(f"{file}: {exc.strerror}")

    def logs(self, since: str) -> None:
        journal = ""
        if shutil.which("journalctl"):
            argv = ["journalctl", "--no-pager", "-o", "short-iso", "--since", since]
            for unit in UNITS:
                argv += ["-u", unit]
            code, out = _run(argv, timeout=120)
            if code == 0 and out.strip() and "-- No entries --" not in out and "No journal files" not in out:
                journal = out
            else:
                self.problems.append(f"journalctl: {out.strip().splitlines()[0] if out.strip() else f'exit {code}'}")
        if journal:
            self.add("logs/journal.txt", journal)
            return
        found = False
        for folder in self.log_folders():
            for file in sorted(folder.glob("*.log")):
                found = True
                data = file.read_bytes()[-5_000_000:]  # the last 5 MB of each
                self.add(f"logs/{folder.parent.name}-{file.name}", data.decode("utf-8", "replace"))
        if not found:
            self.problems.append("no journal entries and no log files found")

    def log_folders(self) -> list[Path]:
        folders = [ROOT / "var" / "demo" / "logs"]
        try:
            config = load_or_exit(self.config_path, check_devices=False)
            folders.insert(0, config.data_dir / "logs")
        except SystemExit:
            pass
        return [f for f in dict.fromkeys(folders) if f.is_dir()]

    def doctor(self) -> None:
        argv = [sys.executable, "-m", "drivers", "doctor"]
        env = {"KIOSK_CONFIG": str(find_config(self.config_path))}
        code, out = _run(argv, timeout=90, env=env)
        self.add("doctor.txt", f"$ python -m drivers doctor  (exit {code})\n{out}")

    def systemd(self) -> None:
        if not Path("/run/systemd/system").is_dir():
            return
        code, out = _run(["systemctl", "status", "--no-pager", "--lines=0", *UNITS])
        self.add("systemd.txt", out)

    # -- the file ----------------------------------------------------------------------
    def collect(self, since: str) -> None:
        for part in (self.versions, self.configuration, lambda: self.logs(since), self.doctor, self.systemd):
            try:
                part()
            except Exception as exc:  # one part failing must not lose the others
                self.problems.append(f"{getattr(part, '__name__', 'logs')}: {type(exc).__name__}: {exc}")

    def write(self, output: Path) -> Path:
        manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
                    "version": version(), "files": sorted(self.files), "problems": [mask_text(p) for p in self.problems]}
        self.files["MANIFEST.json"] = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
        output.parent.mkdir(parents=True, exist_ok=True)
        top = output.name.removesuffix(".tar.gz")
        tmp = output.with_name(output.name + ".partial")
        with tarfile.open(tmp, "w:gz") as tar:
            for name, text in sorted(self.files.items()):
                data = text.encode("utf-8")
                info = tarfile.TarInfo(f"{top}/{name}")
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o640
                tar.addfile(info, io.BytesIO(data))
        os.chmod(tmp, 0o600)  # logs are for the maintainer, not for every user of the box
        os.replace(tmp, output)
        return output


def version() -> str:
    installed = ROOT.parent / "VERSION"  # scripts/install.py writes it next to app/
    if installed.is_file():
        return installed.read_text().strip()
    if (ROOT / ".git").exists() and shutil.which("git"):
        code, out = _run(["git", "-C", str(ROOT), "describe", "--tags", "--always", "--dirty"])
        if code == 0:
            return out.strip().splitlines()[0]
    from importlib import metadata

    try:
        return metadata.version("community-kiosk")
    except metadata.PackageNotFoundError:
        return "unknown"


def debian_package_names() -> list[str]:
    script = ROOT / "scripts" / "debian-packages"
    if not script.exists():
        return []
    code, out = _run(["bash", str(script), "--list"])
    return out.split() if code == 0 else []


def main(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else Path.cwd() / (
        f"kiosk-support-{socket.gethostname()}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz")
    bundle = Bundle(args.config)
    bundle.collect(args.since)
    try:
        path = bundle.write(output)
    except OSError as exc:
        print(f"无法写入支持包 / cannot write the support bundle {output}: {exc.strerror}; "
              f"choose another place with --output", file=sys.stderr)
        return 1
    print(f"{path}: {len(bundle.files)} files for the maintainer (ID numbers masked, secrets removed)")
    for problem in bundle.problems:
        print(f"  note: {mask_text(problem)}")
    return 0
