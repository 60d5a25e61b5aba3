"""IPP attributes ⇄ typed printer and job states: the printer's "codec".

CUPS describes a printer with ``printer-state`` (3 idle, 4 processing, 5 stopped),
``printer-state-reasons`` (IPP keywords with an ``-error``, ``-warning`` or
``-report`` suffix) and ``printer-is-accepting-jobs``; a job with ``job-state``
(3 pending … 9 completed) and ``job-state-reasons``. This module turns those
attribute dicts into :class:`PrinterStatus` and :class:`JobOutcome`, through the data
tables below, and says in Chinese first and English second what a resident or a
maintainer should do. Pure functions: no pycups, no I/O.

Attributes that are not what IPP allows (a printer-state of 6 or "x", a job without
job-state, reasons that are not keywords, a count that is not a number) raise
:class:`~drivers.printer.errors.BadAttributes` and nothing else: a state is never
guessed from them.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, Mapping

from drivers.printer.errors import BadAttributes


@dataclass(frozen=True)
class Advice:
    """What to tell a person, Chinese first, then English."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


class PrinterState(Enum):
    IDLE = "idle"
    PRINTING = "printing"
    STOPPED = "stopped"


# IPP printer-state (RFC 8011 §5.4.12) -> our state.
PRINTER_STATES: dict[int, PrinterState] = {
    3: PrinterState.IDLE,
    4: PrinterState.PRINTING,
    5: PrinterState.STOPPED,
}


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    REPORT = "report"


# RFC 8011 §5.4.13: a keyword without a suffix is an error.
SUFFIXES: dict[str, Severity] = {
    "-error": Severity.ERROR,
    "-warning": Severity.WARNING,
    "-report": Severity.REPORT,
}


class Reason(Enum):
    MEDIA_EMPTY = "media-empty"
    MEDIA_JAM = "media-jam"
    TONER_LOW = "toner-low"
    OFFLINE = "offline"
    DOOR_OPEN = "door-open"
    OTHER = "other"


@dataclass(frozen=True)
class ReasonRow:
    reason: Reason
    advice: Advice
    # Severities at which the condition stops jobs from printing. Offline blocks even
    # as a "-report": CUPS backends say "offline-report" while they retry a dead link.
    blocks_at: frozenset[Severity] = frozenset({Severity.ERROR})


_ALL = frozenset(Severity)
_PAPER = Advice("打印机缺纸，请联系工作人员添纸",
                "The printer is out of paper: ask staff to refill it")
_JAM = Advice("打印机卡纸，请联系工作人员处理",
              "Paper is jammed in the printer: ask staff to clear it")
_TONER_LOW = Advice("打印机墨粉不足，仍可打印，请通知工作人员更换",
                    "Toner is low: printing continues; ask staff to replace it soon")
_TONER_EMPTY = Advice("打印机墨粉已用完，请联系工作人员更换",
                      "The toner is empty: ask staff to replace it")
_OFFLINE = Advice("打印机离线，请联系工作人员检查电源和连接线",
                  "The printer is offline: ask staff to check its power and cable")
_DOOR = Advice("打印机舱门未关好，请联系工作人员关闭",
               "A printer door or cover is open: ask staff to close it")

# printer-state-reasons keyword (suffix removed) -> what it means. Keywords not in
# this table become Reason.OTHER with a generic message naming the keyword.
REASONS: dict[str, ReasonRow] = {
    "media-empty": ReasonRow(Reason.MEDIA_EMPTY, _PAPER),
    "media-needed": ReasonRow(Reason.MEDIA_EMPTY, _PAPER),
    "media-jam": ReasonRow(Reason.MEDIA_JAM, _JAM),
    "toner-low": ReasonRow(Reason.TONER_LOW, _TONER_LOW),
    "marker-supply-low": ReasonRow(Reason.TONER_LOW, _TONER_LOW),
    "toner-empty": ReasonRow(Reason.OTHER, _TONER_EMPTY),
    "marker-supply-empty": ReasonRow(Reason.OTHER, _TONER_EMPTY),
    "offline": ReasonRow(Reason.OFFLINE, _OFFLINE, _ALL),
    "shutdown": ReasonRow(Reason.OFFLINE, _OFFLINE, _ALL),
    "timed-out": ReasonRow(Reason.OFFLINE, _OFFLINE, _ALL),
    "door-open": ReasonRow(Reason.DOOR_OPEN, _DOOR),
    "cover-open": ReasonRow(Reason.DOOR_OPEN, _DOOR),
    "interlock-open": ReasonRow(Reason.DOOR_OPEN, _DOOR),
}

# Keywords that are not conditions: "paused" is already the stopped state, and the
# others are normal while a job starts (a real backend's "connecting-to-device" has no
# suffix, so the RFC rule would call every print start an error).
IGNORED: frozenset[str] = frozenset({
    "none", "paused", "moving-to-paused", "connecting-to-device",
    "cups-waiting-for-job-completed", "cups-remote-pending", "cups-remote-pending-held",
})

STOPPED_ADVICE = Advice("打印机已暂停，请联系工作人员恢复",
                        "The printer is paused: ask staff to resume it")
REJECTING_ADVICE = Advice("打印机暂不接受打印任务，请联系工作人员",
                          "The printer refuses new jobs: ask staff to accept jobs again")


def _other_advice(keyword: str) -> Advice:
    return Advice(f"打印机报告故障（{keyword}），请联系工作人员检查",
                  f"The printer reports a problem ({keyword}): ask staff to check it")


@dataclass(frozen=True)
class Condition:
    """One entry of printer-state-reasons, typed."""

    keyword: str  # as CUPS sent it, e.g. "media-empty-error"
    reason: Reason
    severity: Severity
    advice: Advice
    blocking: bool  # jobs cannot print while it lasts


def parse_reason(keyword: str) -> Condition | None:
    """One printer-state-reasons keyword -> a :class:`Condition` (None: not a condition)."""
    if not isinstance(keyword, str):
        raise _bad("printer-state-reasons", keyword, "a keyword (text)")
    base, severity = keyword, Severity.ERROR
    for suffix, sev in SUFFIXES.items():
        if keyword.endswith(suffix):
            base, severity = keyword[: -len(suffix)], sev
            break
    if base in IGNORED:
        return None
    row = REASONS.get(base) or ReasonRow(Reason.OTHER, _other_advice(base))
    return Condition(keyword, row.reason, severity, row.advice, severity in row.blocks_at)


_CHECK = ("CUPS 与 pycups 版本可能不匹配，请联系维护人员 / check what cupsd reports "
          "(`lpstat -l -p QUEUE`, `lpstat -l -o`) and the cupsd and pycups versions")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(key: str, value: Any, wanted: str) -> BadAttributes:
    return BadAttributes(f"无法识别打印机的应答 / CUPS attribute {key} = {_show(value)} is not {wanted}",
                         hint=_CHECK)


def _strings(key: str, value: Any) -> tuple[str, ...]:
    # pycups gives a 1setOf keyword as a list, but a single value as a bare string.
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _bad(key, value, "a keyword or a list of keywords")


def _enum(key: str, value: Any, known: Mapping[int, Any] | type[IntEnum]) -> Any:
    """An IPP enum: an int (never a bool, whose int() would pass) that ``known`` has."""
    codes = list(known) if isinstance(known, Mapping) else [int(m) for m in known]
    if isinstance(value, bool) or not isinstance(value, int) or value not in codes:
        raise _bad(key, value, f"one of {', '.join(map(str, codes))}")
    return known[value] if isinstance(known, Mapping) else known(value)


def _attributes(what: str, attrs: Any) -> Mapping[str, Any]:
    if not isinstance(attrs, Mapping):
        raise BadAttributes(f"无法识别打印机的应答 / CUPS {what} attributes are {_show(attrs)}, not a mapping",
                            hint=_CHECK)
    return attrs


@dataclass(frozen=True)
class PrinterStatus:
    """A queue as a resident and a maintainer see it."""

    queue: str
    state: PrinterState
    accepting: bool
    conditions: tuple[Condition, ...] = ()
    message: str = ""  # printer-state-message, as the backend wrote it
    queued_jobs: int = 0

    @property
    def blocked(self) -> bool:
        """Queued jobs cannot print until a person acts."""
        return self.state is PrinterState.STOPPED or any(c.blocking for c in self.conditions)

    @property
    def usable(self) -> bool:
        """A new job would be accepted and printed."""
        return self.accepting and not self.blocked

    @property
    def errors(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.blocking)

    @property
    def warnings(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if not c.blocking)

    def advice(self) -> Advice | None:
        """The most important thing to tell a person, or None when all is well."""
        if self.errors:
            return self.errors[0].advice
        if self.state is PrinterState.STOPPED:
            return STOPPED_ADVICE
        if not self.accepting:
            return REJECTING_ADVICE
        if self.warnings:
            return self.warnings[0].advice
        return None

    def as_dict(self) -> dict[str, Any]:
        advice = self.advice()
        return {
            "queue": self.queue, "state": self.state.value, "accepting": self.accepting,
            "blocked": self.blocked, "message": self.message, "queued_jobs": self.queued_jobs,
            "conditions": [{"keyword": c.keyword, "reason": c.reason.value,
                            "severity": c.severity.value, "blocking": c.blocking,
                            "zh": c.advice.zh, "en": c.advice.en} for c in self.conditions],
            "advice": None if advice is None else {"zh": advice.zh, "en": advice.en},
        }


def parse_status(queue: str, attrs: Mapping[str, Any]) -> PrinterStatus:
    """IPP printer attributes (as pycups returns them) -> :class:`PrinterStatus`.

    Raises :class:`BadAttributes` for anything IPP does not allow; an attribute CUPS
    did not send at all takes the value it means by its absence."""
    attrs = _attributes("printer", attrs)
    state = _enum("printer-state", attrs.get("printer-state", 3), PRINTER_STATES)
    keywords = _strings("printer-state-reasons", attrs.get("printer-state-reasons"))
    conditions = tuple(c for c in map(parse_reason, keywords) if c is not None)
    # Absent means CUPS did not say; a queue accepts jobs unless told otherwise.
    accepting = attrs.get("printer-is-accepting-jobs", True)
    if accepting not in (True, False):  # a bool, or the 0/1 some IPP stacks give
        raise _bad("printer-is-accepting-jobs", accepting, "true or false")
    message = attrs.get("printer-state-message")
    if message is not None and not isinstance(message, str):
        raise _bad("printer-state-message", message, "text")
    queued = attrs.get("queued-job-count")
    if queued is not None and (isinstance(queued, bool) or not isinstance(queued, int) or queued < 0):
        raise _bad("queued-job-count", queued, "a count")
    return PrinterStatus(queue=queue, state=state, accepting=bool(accepting), conditions=conditions,
                         message=message or "", queued_jobs=queued or 0)


class JobState(IntEnum):
    """IPP job-state (RFC 8011 §5.3.7)."""

    PENDING = 3
    HELD = 4
    PROCESSING = 5
    STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9


class Outcome(Enum):
    COMPLETED = "completed"
    ABORTED = "aborted"
    CANCELED = "canceled"
    STOPPED = "stopped"  # not finished, and will not progress until a person acts


# job-state -> outcome when the job state alone decides it; None: still on its way,
# unless the printer is blocked (see outcome_for).
JOB_OUTCOMES: dict[JobState, Outcome | None] = {
    JobState.PENDING: None,
    JobState.HELD: Outcome.STOPPED,
    JobState.PROCESSING: None,
    JobState.STOPPED: Outcome.STOPPED,
    JobState.CANCELED: Outcome.CANCELED,
    JobState.ABORTED: Outcome.ABORTED,
    JobState.COMPLETED: Outcome.COMPLETED,
}

# job-state-reasons that say more than the outcome, when the printer itself says
# nothing (a backend that exits "retry later" leaves no printer-state-reasons).
JOB_REASONS: dict[str, Advice] = {
    "resources-are-not-ready": _OFFLINE,
    "printer-stopped": STOPPED_ADVICE,
}

JOB_ADVICE: dict[Outcome, Advice] = {
    Outcome.ABORTED: Advice("打印失败，请联系工作人员", "Printing failed: ask staff for help"),
    Outcome.CANCELED: Advice("打印任务已取消", "The print job was canceled"),
    Outcome.STOPPED: Advice("打印暂停，请联系工作人员", "Printing is on hold: ask staff for help"),
}


def outcome_for(state: JobState, printer: PrinterStatus | None, *, stalled_for: float = 0.0,
                patience: float = 0.0) -> Outcome | None:
    """Where a job stands: an :class:`Outcome`, or None while it may still print.

    A stopped queue stops its jobs at once. A blocking condition on a queue that is
    not stopped must have lasted ``patience`` seconds (``stalled_for``): right after a
    resume the old reason stays until the backend runs again and clears it.
    """
    outcome = JOB_OUTCOMES[state]
    if outcome is not None or printer is None:
        return outcome
    if printer.state is PrinterState.STOPPED:
        return Outcome.STOPPED
    if printer.blocked and stalled_for >= patience:
        return Outcome.STOPPED
    return None


def parse_job_state(attrs: Mapping[str, Any]) -> tuple[JobState, tuple[str, ...]]:
    """IPP job attributes -> (job state, job-state-reasons); :class:`BadAttributes`
    when job-state is missing or not an IPP job state, or the reasons are not keywords."""
    attrs = _attributes("job", attrs)
    if "job-state" not in attrs:
        raise BadAttributes("无法识别打印任务的状态 / CUPS sent no job-state for the job", hint=_CHECK)
    return (_enum("job-state", attrs["job-state"], JobState),
            _strings("job-state-reasons", attrs.get("job-state-reasons")))


@dataclass(frozen=True)
class JobOutcome:
    """How a followed job ended (or where it stopped)."""

    job_id: int
    queue: str
    outcome: Outcome
    job_state: JobState
    reasons: tuple[str, ...] = ()  # job-state-reasons
    printer: PrinterStatus | None = None  # the queue when the job ended or stopped
    elapsed: float = 0.0  # seconds from the start of the wait to the outcome

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.COMPLETED

    def advice(self) -> Advice | None:
        """What to tell the person at the kiosk, or None when the job completed."""
        if self.ok:
            return None
        if self.outcome is Outcome.STOPPED:
            printer_advice = self.printer.advice() if self.printer else None
            if printer_advice:
                return printer_advice
            known = [JOB_REASONS[r] for r in self.reasons if r in JOB_REASONS]
            if known:
                return known[0]
        return JOB_ADVICE[self.outcome]

    def as_dict(self) -> dict[str, Any]:
        advice = self.advice()
        return {
            "job_id": self.job_id, "queue": self.queue, "outcome": self.outcome.value,
            "job_state": self.job_state.name.lower(), "reasons": list(self.reasons),
            "elapsed": round(self.elapsed, 3),
            "printer": None if self.printer is None else self.printer.as_dict(),
            "advice": None if advice is None else {"zh": advice.zh, "en": advice.en},
        }
