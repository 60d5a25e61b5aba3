"""sync.lifecycle: the case state table of DESIGN.md, pure."""
import pytest

from sync import lifecycle
from sync.errors import TransitionRefused, UnknownCaseState
from sync.lifecycle import TRANSITIONS, CaseState as S

HAPPY = ["created", "materials_deposited", "collected", "in_review", "approved", "result_deposited",
         "picked_up", "evaluated", "closed"]


def test_the_happy_path_of_design_md_is_allowed_step_by_step():
    state = None
    for target in HAPPY:
        state = lifecycle.next_state(state, target)
    assert state is S.CLOSED


@pytest.mark.parametrize("path", [
    ["created", "closed"],  # a printed certificate
    ["created", "materials_deposited", "collected", "in_review", "returned_with_reasons", "result_deposited",
     "expired", "closed"],
    ["created", "materials_deposited", "expired", "closed"],
    # not picked up in time, taken back by the worker, put into a locker again
    ["created", "materials_deposited", "collected", "in_review", "approved", "result_deposited", "expired",
     "result_deposited", "picked_up"],
    ["created", "cancelled"],
    ["created", "materials_deposited", "collected", "quarantined", "closed"],
])
def test_side_exits(path):
    state = None
    for target in path:
        state = lifecycle.check(state, target)


@pytest.mark.parametrize("current, target", [
    (None, "materials_deposited"), ("created", "collected"), ("closed", "created"),
    ("cancelled", "closed"), ("picked_up", "result_deposited"), ("approved", "returned_with_reasons"),
])
def test_refused_transitions_name_the_current_state_and_the_way_on(current, target):
    assert not lifecycle.allowed(current, target)
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.check(current, target)
    assert refused.value.current == current and refused.value.target == target
    assert refused.value.allowed == sorted(s.value for s in TRANSITIONS[lifecycle.parse_state(current)])


def test_every_state_is_in_the_table_and_reachable():
    assert set(TRANSITIONS) - {None} == set(S)
    reachable, frontier = set(), [None]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(S)
    assert lifecycle.TERMINAL == {S.CLOSED, S.CANCELLED}


def test_an_unknown_state_is_its_own_error():
    with pytest.raises(UnknownCaseState):
        lifecycle.check("created", "teleported")


def test_a_report_goes_its_own_short_way():
    report = lifecycle.REPORT
    assert lifecycle.check(S.CREATED, S.IN_REVIEW, kind=report) is S.IN_REVIEW
    assert lifecycle.check(S.IN_REVIEW, S.CLOSED, kind=report) is S.CLOSED
    assert lifecycle.allowed(S.CREATED, S.CANCELLED, kind=report)
    for current, target in [(S.CREATED, S.CLOSED), (S.IN_REVIEW, S.APPROVED), (S.CLOSED, S.IN_REVIEW),
                            (S.CREATED, S.MATERIALS_DEPOSITED)]:
        with pytest.raises(TransitionRefused):
            lifecycle.check(current, target, kind=report)
    # an application may not skip to review from created, as before
    assert not lifecycle.allowed(S.CREATED, S.IN_REVIEW)
    assert not lifecycle.allowed(S.IN_REVIEW, S.CLOSED)


def test_only_a_result_on_a_collected_or_reviewed_case_implies_a_review():
    assert lifecycle.implies_review("collected", "result_deposited")
    assert lifecycle.implies_review("in_review", "result_deposited")
    for current in ("created", "materials_deposited", "approved", "picked_up", "result_deposited", None):
        assert not lifecycle.implies_review(current, "result_deposited")
    assert not lifecycle.implies_review("collected", "approved")
    # the table appliances share is unchanged: the locker still records only what it may
    assert not lifecycle.allowed(S.COLLECTED, S.RESULT_DEPOSITED)
