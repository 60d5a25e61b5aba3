"""cups-pdf's per-queue settings file, for the launcher's PDF printer.

cups-pdf reads ``/etc/cups/cups-pdf-NAME.conf`` for a device URI ``cups-pdf:/NAME``;
the directory is compiled in, so the one file a launcher must write outside its own
directory is this one. Each file names the launcher's directory and cupsd pid, so a
later launcher can sweep the files of one that was killed before it cleaned up.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

CONF_DIR = Path("/etc/cups")  # compiled into cups-pdf; not configurable
PPD = "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd"  # as lpadmin -m names it
PREFIX = "kiosksim-"  # every URI name a launcher makes starts so


def conf_path(uri_name: str) -> Path:
    return CONF_DIR / f"cups-pdf-{uri_name}.conf"


def write_conf(uri_name: str, *, root: Path, cupsd_pid: int, out: Path) -> Path:
    """Write the settings of ``cups-pdf:/URI_NAME``: output to ``out``, logs under root."""
    conf = conf_path(uri_name)
    # Written aside and renamed: another launcher's sweep must never read it half done.
    partial = CONF_DIR / f".{conf.name}.partial"
    partial.write_text(f"""\
# Written by drivers.printer.sim for the private cupsd in {root}; removed when
# it stops, or by the next launcher once that cupsd is gone.
# sim-root {root}
# sim-pid {cupsd_pid}
Out {out}
AnonDirName {out}
Spool {root}/pdf-spool
Log {root}/log
Label 2
UserUMask 0022
AnonUMask 0022
""")
    partial.replace(conf)
    return conf


def sweep_stale() -> None:
    """Remove the files of launchers whose cupsd is gone."""
    for conf in CONF_DIR.glob(f"cups-pdf-{PREFIX}*.conf"):
        try:
            text = conf.read_text()
        except OSError:
            continue
        root = re.search(r"^# sim-root (.+)$", text, re.M)
        pid = re.search(r"^# sim-pid (\d+)$", text, re.M)
        alive = bool(root and pid and Path(root.group(1)).is_dir()
                     and _is_cupsd(int(pid.group(1))))
        if not alive:
            log.info("removing stale %s", conf)
            conf.unlink(missing_ok=True)


def _is_cupsd(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "cupsd"
    except OSError:
        return False
