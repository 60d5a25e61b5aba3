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
