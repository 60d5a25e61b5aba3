"""The fault printer's CUPS backend: its modes (a data table) and its script.

A CUPS backend is the program cupsd runs to send a job to the device. Ours is a
small ``sh`` script, generated from :data:`FAULTS`, that reads the current mode of its
queue from ``FAULTS_DIR/<queue>`` (cupsd sets ``$PRINTER``) on every job, and then
behaves like a real printer in that state: it reports printer-state-reasons on
stderr (``STATE: +media-empty-error``), a message (``ERROR: Out of paper``), and exits
with the status a real backend would (4 stop the printer, 5 cancel the job, 6 retry
later). Every run first clears the reasons other modes set (``STATE: -…``): CUPS
keeps reasons until a backend removes them. Documents that "print" are copied to
``OUT_DIR/<queue>-job_<id>.pdf``, with the job's user, title, copies and options in
``OUT_DIR/<queue>-job_<id>.txt``.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

SCHEME = "kiosk-fault"  # the device URI scheme, and the backend's file name


@dataclass(frozen=True)
class Fault:
    sets: str = ""  # printer-state-reason the backend adds
    message: str = ""  # ERROR:/WARNING: line: becomes printer-state-message
    exit_code: int = 0  # CUPS backend exit status (see EXIT_MEANING)
    prints: bool = False  # the document is copied to the output dir
    delay: float = 0.0  # seconds before finishing: a slow printer, to cancel or time out


EXIT_MEANING = {0: "ok", 1: "failed (queue's error policy)", 4: "stop the printer",
                5: "cancel the job", 6: "retry the job later"}

FAULTS: dict[str, Fault] = {
    "ok": Fault(prints=True),
    "paper": Fault("media-empty-error", "ERROR: Out of paper", 4),
    "jam": Fault("media-jam-error", "ERROR: Paper jam", 4),
    "door": Fault("door-open-error", "ERROR: Cover open", 4),
    "toner": Fault("toner-low-warning", "WARNING: Toner low", 0, prints=True),
    "offline": Fault("offline-report", "ERROR: Printer not responding", 6),
    "cancel": Fault("", "ERROR: Job refused by the printer", 5),
    # Fault queues use printer-error-policy=abort-job, so a failure aborts the job.
    "fail": Fault("", "ERROR: Printer failure", 1),
    "slow": Fault(prints=True, delay=30.0),
}

_ALL_REASONS = sorted({f.sets for f in FAULTS.values() if f.sets})


def _branch(mode: str, fault: Fault) -> str:
    lines = []
    others = [r for r in _ALL_REASONS if r != fault.sets]
    lines.append(f"echo {shlex.quote('STATE: -' + ','.join(others))} >&2")
    if fault.sets:
        lines.append(f"echo {shlex.quote('STATE: +' + fault.sets)} >&2")
    if fault.message:
        lines.append(f"echo {shlex.quote(fault.message)} >&2")
    if fault.delay:
        # In the background, so that cupsd's SIGTERM (cancel) ends the wait at once.
        lines.append(f"sleep {fault.delay:g} & child=$!; wait $child")
    if fault.prints:
        lines.append('cat -- "$doc" > "$out/$PRINTER-job_$1.pdf" || exit 1')
        # What a real printer would act on: tests check copies and title here.
        lines.append("printf 'user=%s\\ntitle=%s\\ncopies=%s\\noptions=%s\\n' "
                     '"$2" "$3" "$4" "$5" > "$out/$PRINTER-job_$1.txt"')
    lines.append(f"exit {fault.exit_code}")
    return f"  {mode})\n    " + "\n    ".join(lines) + "\n    ;;"


def backend_script(faults_dir: str, out_dir: str) -> str:
    """The backend for one private cupsd (its directories written in)."""
    branches = "\n".join(_branch(mode, fault) for mode, fault in FAULTS.items())
    return f"""#!/bin/sh
# CUPS backend written by drivers.printer.sim: a printer whose faults are switched at
# run time by writing a mode to {faults_dir}/QUEUE.
# Modes: {', '.join(FAULTS)}.
# No arguments: cupsd asks which devices this backend finds; it finds none.
[ $# -eq 0 ] && exit 0
faults={shlex.quote(faults_dir)}
out={shlex.quote(out_dir)}
mode=$(cat "$faults/$PRINTER" 2>/dev/null) || mode=ok
doc=${{6:--}}
child=
trap '[ -n "$child" ] && kill $child 2>/dev/null; exit 0' TERM
case "$mode" in
{branches}
  *)
    echo "ERROR: unknown fault mode $mode" >&2
    exit 1
    ;;
esac
"""
