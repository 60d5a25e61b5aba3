"""The IPP attribute -> typed state tables, without a cupsd."""
from __future__ import annotations

import pytest

from drivers.health import DEGRADED, DOWN, OK
from drivers.printer.codec import (REASONS, JobOutcome, JobState, Outcome, PrinterState,
                                   Reason, Severity, outcome_for, parse_job_state, parse_reason,
                                   parse_status)
from drivers.printer.doctor import status_health


@pytest.mark.parametrize("keyword,reason,severity,blocking", [
    ("media-empty-error", Reason.MEDIA_EMPTY, Severity.ERROR, True),
    ("media-empty-warning", Reason.MEDIA_EMPTY, Severity.WARNING, False),
    ("media-empty", Reason.MEDIA_EMPTY, Severity.ERROR, True),  # no suffix: an error
    ("media-needed-error", Reason.MEDIA_EMPTY, Severity.ERROR, True),
    ("media-jam-error", Reason.MEDIA_JAM, Severity.ERROR, True),
    ("toner-low-warning", Reason.TONER_LOW, Severity.WARNING, False),
    ("toner-low-report", Reason.TONER_LOW, Severity.REPORT, False),
    ("marker-supply-low-warning", Reason.TONER_LOW, Severity.WARNING, False),
    ("toner-empty-error", Reason.OTHER, Severity.ERROR, True),
    ("offline-report", Reason.OFFLINE, Severity.REPORT, True),  # offline blocks at any level
    ("offline-error", Reason.OFFLINE, Severity.ERROR, True),
    ("shutdown", Reason.OFFLINE, Severity.ERROR, True),
    ("door-open-error", Reason.DOOR_OPEN, Severity.ERROR, True),
    ("cover-open-warning", Reason.DOOR_OPEN, Severity.WARNING, False),
    ("interlock-open-error", Reason.DOOR_OPEN, Severity.ERROR, True),
    ("fuser-over-temp-error", Reason.OTHER, Severity.ERROR, True),
    ("cups-missing-filter-warning", Reason.OTHER, Severity.WARNING, False),
    ("other-report", Reason.OTHER, Severity.REPORT, False),
])
def test_reason_keywords_map_to_typed_conditions(keyword, reason, severity, blocking):
    condition = parse_reason(keyword)
    assert condition is not None
    assert (condition.reason, condition.severity, condition.blocking) == \
        (reason, severity, blocking)
    assert condition.keyword == keyword
    assert condition.advice.zh and condition.advice.en


@pytest.mark.parametrize("keyword", ["none", "paused", "moving-to-paused",
                                     "connecting-to-device", "connecting-to-device-report"])
def test_keywords_that_are_not_conditions(keyword):
    assert parse_reason(keyword) is None


def test_unknown_keyword_names_itself_in_both_languages():
    advice = parse_reason("fuser-over-temp-error").advice
    assert "fuser-over-temp" in advice.zh and "fuser-over-temp" in advice.en


def test_out_of_paper_message_is_chinese_first():
    advice = REASONS["media-empty"].advice
    assert advice.zh == "打印机缺纸，请联系工作人员添纸"
    assert str(advice) == "打印机缺纸，请联系工作人员添纸 / The printer is out of paper: ask staff to refill it"


@pytest.mark.parametrize("code,state", [(3, PrinterState.IDLE), (4, PrinterState.PRINTING),
                                        (5, PrinterState.STOPPED)])
def test_printer_states(code, state):
    assert parse_status("q", {"printer-state": code}).state is state


@pytest.mark.parametrize("attrs,usable,blocked,level,advice_en", [
    ({"printer-state": 3, "printer-state-reasons": ["none"]}, True, False, OK, None),
    ({"printer-state": 3, "printer-state-reasons": "toner-low-warning"},  # a bare string
     True, False, DEGRADED, "Toner is low"),
    ({"printer-state": 5, "printer-state-reasons": ["media-empty-error", "paused"]},
     False, True, DOWN, "out of paper"),
    ({"printer-state": 5, "printer-state-reasons": ["paused"]}, False, True, DOWN, "paused"),
    ({"printer-state": 3, "printer-is-accepting-jobs": False}, False, False, DOWN, "refuses"),
    ({"printer-state": 4, "printer-state-reasons": ["offline-report"]}, False, True, DOWN,
     "offline"),
    ({"printer-state": 5, "printer-state-reasons": ["toner-low-warning", "media-jam-error"]},
     False, True, DOWN, "jammed"),  # the blocking condition speaks first
])
def test_status_and_health_levels(attrs, usable, blocked, level, advice_en):
    status = parse_status("q", attrs)
    assert (status.usable, status.blocked) == (usable, blocked)
    advice = status.advice()
    assert (advice is None) == (advice_en is None)
    if advice_en:
        assert advice_en in advice.en
    assert status_health(status, "cups://q").state == level


def test_stopped_health_names_cupsenable_and_rejecting_names_cupsaccept():
    stopped = parse_status("q", {"printer-state": 5, "printer-state-reasons": ["paused"],
                                 "printer-is-accepting-jobs": False})
    fix = status_health(stopped, "cups://q", " -h /s.sock").fix
    assert "`cupsenable -h /s.sock q`" in fix and "`cupsaccept -h /s.sock q`" in fix


_IDLE = parse_status("q", {"printer-state": 3})
_STOPPED = parse_status("q", {"printer-state": 5, "printer-state-reasons": ["media-empty-error"]})
_STALE = parse_status("q", {"printer-state": 4, "printer-state-reasons": ["media-empty-error"]})


@pytest.mark.parametrize("state,printer,stalled,outcome", [
    (JobState.COMPLETED, _IDLE, 0, Outcome.COMPLETED),
    (JobState.ABORTED, _IDLE, 0, Outcome.ABORTED),
    (JobState.CANCELED, _IDLE, 0, Outcome.CANCELED),
    (JobState.STOPPED, _IDLE, 0, Outcome.STOPPED),
    (JobState.HELD, _IDLE, 0, Outcome.STOPPED),
    (JobState.PENDING, _IDLE, 0, None),
    (JobState.PROCESSING, _IDLE, 0, None),
    (JobState.PENDING, _STOPPED, 0, Outcome.STOPPED),  # out of paper: at once
    (JobState.PROCESSING, _STALE, 0.1, None),  # just resumed: the reason may be stale
    (JobState.PROCESSING, _STALE, 2.0, Outcome.STOPPED),  # ... but not for long
    (JobState.PENDING, None, 0, None),
])
def test_job_outcomes(state, printer, stalled, outcome):
    assert outcome_for(state, printer, stalled_for=stalled, patience=1.5) is outcome


def test_job_attributes_parse_and_outcome_advice():
    state, reasons = parse_job_state({"job-state": 4,
                                      "job-state-reasons": "resources-are-not-ready"})
    assert (state, reasons) == (JobState.HELD, ("resources-are-not-ready",))
    held = JobOutcome(7, "q", Outcome.STOPPED, state, reasons, _IDLE)
    assert "offline" in held.advice().en  # the printer says nothing; the job reason does
    stopped = JobOutcome(7, "q", Outcome.STOPPED, JobState.PENDING, (), _STOPPED)
    assert stopped.advice().zh == "打印机缺纸，请联系工作人员添纸"
    done = JobOutcome(7, "q", Outcome.COMPLETED, JobState.COMPLETED, (), _IDLE)
    assert done.ok and done.advice() is None and done.as_dict()["outcome"] == "completed"
