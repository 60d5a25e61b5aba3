"""Malformed CUPS attributes never raise anything but the printer's own error, and
nothing that did not validate becomes a state; well-formed ones always parse."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from drivers.printer.codec import (PRINTER_STATES, Condition, JobState, PrinterState, PrinterStatus,
                                   parse_job_state, parse_reason, parse_status)
from drivers.printer.errors import BadAttributes, PrinterError

KEYWORDS = st.sampled_from(["none", "paused", "media-empty-error", "toner-low-warning", "offline-report",
                            "media-jam", "fuser-over-temp-error", "connecting-to-device"]) | st.text(max_size=30)
ANYTHING = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 20), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=20), st.binary(max_size=8), KEYWORDS,
    st.lists(st.one_of(KEYWORDS, st.integers(), st.none(), st.binary(max_size=4)), max_size=4),
    st.tuples(KEYWORDS), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.frozensets(st.integers(), max_size=2),
)
PRINTER_KEYS = ["printer-state", "printer-state-reasons", "printer-is-accepting-jobs", "printer-state-message",
                "queued-job-count"]
JOB_KEYS = ["job-state", "job-state-reasons"]


def attributes(keys):
    known = st.dictionaries(st.sampled_from(keys), ANYTHING, max_size=len(keys))
    extra = st.dictionaries(st.text(max_size=12), ANYTHING, max_size=2)
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


VALID_PRINTER = st.fixed_dictionaries({}, optional={
    "printer-state": st.sampled_from(sorted(PRINTER_STATES)),
    "printer-state-reasons": KEYWORDS | st.lists(KEYWORDS, max_size=4) | st.none(),
    "printer-is-accepting-jobs": st.booleans() | st.sampled_from([0, 1]),
    "printer-state-message": st.text(max_size=40) | st.none(),
    "queued-job-count": st.integers(0, 10_000) | st.none(),
})


@settings(max_examples=400, deadline=None)
@given(attributes(PRINTER_KEYS))
def test_printer_attributes_raise_only_bad_attributes(attrs):
    try:
        status = parse_status("q", attrs)
    except BadAttributes as exc:
        assert exc.message.startswith("无法识别") and exc.hint  # Chinese first, and what to do
        return
    # Whatever passed is fully typed: nothing downstream meets a stray value.
    assert isinstance(status, PrinterStatus) and isinstance(status.state, PrinterState)
    assert isinstance(status.accepting, bool) and isinstance(status.message, str)
    assert isinstance(status.queued_jobs, int) and not isinstance(status.queued_jobs, bool)
    assert status.queued_jobs >= 0
    assert all(isinstance(c, Condition) for c in status.conditions)
    assert attrs.get("printer-state", 3) in PRINTER_STATES and type(attrs.get("printer-state", 3)) is int
    status.as_dict(), status.advice()


@settings(max_examples=300, deadline=None)
@given(VALID_PRINTER)
def test_well_formed_printer_attributes_always_parse(attrs):
    status = parse_status("q", attrs)
    assert status.state is PRINTER_STATES[attrs.get("printer-state", 3)]
    assert status.accepting is bool(attrs.get("printer-is-accepting-jobs", True))
    assert status.queued_jobs == (attrs.get("queued-job-count") or 0)


@settings(max_examples=400, deadline=None)
@given(attributes(JOB_KEYS))
def test_job_attributes_raise_only_bad_attributes(attrs):
    try:
        state, reasons = parse_job_state(attrs)
    except BadAttributes:
        return
    assert isinstance(state, JobState) and type(attrs["job-state"]) is int and attrs["job-state"] == state
    assert all(isinstance(r, str) for r in reasons)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(JobState)), KEYWORDS | st.lists(KEYWORDS, max_size=4) | st.none())
def test_well_formed_job_attributes_always_parse(state, reasons):
    parsed, parsed_reasons = parse_job_state({"job-state": int(state), "job-state-reasons": reasons})
    assert parsed is state
    assert parsed_reasons == (() if reasons is None else (reasons,) if isinstance(reasons, str) else tuple(reasons))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_reason_keyword_is_a_condition_or_none(keyword):
    condition = parse_reason(keyword)
    assert condition is None or (condition.keyword == keyword and condition.advice.zh and condition.advice.en)


@settings(max_examples=100, deadline=None)
@given(ANYTHING.filter(lambda v: not isinstance(v, str)))
def test_a_reason_that_is_not_text_is_bad_attributes(value):
    with pytest.raises(BadAttributes):
        parse_reason(value)


@pytest.mark.parametrize("parse,attrs,key", [
    (lambda a: parse_status("q", a), {"printer-state": "x"}, "printer-state"),
    (lambda a: parse_status("q", a), {"printer-state": 6}, "printer-state"),
    (lambda a: parse_status("q", a), {"printer-state": True}, "printer-state"),  # int(True) is no IPP state
    (lambda a: parse_status("q", a), {"printer-state-reasons": 5}, "printer-state-reasons"),
    (lambda a: parse_status("q", a), {"printer-state-reasons": ["paused", 5]}, "printer-state-reasons"),
    (lambda a: parse_status("q", a), {"printer-is-accepting-jobs": "false"}, "printer-is-accepting-jobs"),
    (lambda a: parse_status("q", a), {"queued-job-count": -1}, "queued-job-count"),
    (lambda a: parse_status("q", a), None, "printer attributes"),
    (parse_job_state, {"job-state": 42}, "job-state"),
    (parse_job_state, {"job-state": "9"}, "job-state"),
    (parse_job_state, {}, "no job-state"),
    (parse_job_state, {"job-state": 9, "job-state-reasons": 5}, "job-state-reasons"),
    (parse_job_state, [("job-state", 9)], "job attributes"),
])
def test_malformed_attributes_name_the_attribute(parse, attrs, key):
    with pytest.raises(BadAttributes) as info:
        parse(attrs)
    assert key in info.value.message and isinstance(info.value, PrinterError)
