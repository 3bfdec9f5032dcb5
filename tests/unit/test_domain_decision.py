"""The decision rule (``vkyc.domain.decision``): who may decide what through which call."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vkyc.domain.decision import (
    DECISION_NOT_ALLOWED,
    FACE_SNAPSHOT_REQUIRED,
    REASON_REQUIRED,
    DecisionFacts,
    DecisionRefused,
    check_decision,
)
from vkyc.domain.dossier import DossierState as D

SEEN = DecisionFacts(
    decision=D.APPROVED,
    reason="",
    held=True,
    answered=True,
    media_connected=True,
    unanswered_callback=False,
    snapshot_ids=frozenset({"s1", "s2"}),
    face_snapshot_ids=frozenset({"s1"}),
    snapshot_id=None,
    approve_requires_face=True,
)
"""A call the agent holds, answered, both sides' video up, one snapshot with a face."""


def refusal(facts: DecisionFacts) -> str | None:
    try:
        check_decision(facts)
    except DecisionRefused as exc:
        return exc.code
    return None


@pytest.mark.parametrize("decision", [D.APPROVED, D.REJECTED, D.POST_AUDIT, D.UNREACHABLE])
def test_every_decision_is_allowed_on_a_call_where_the_customer_was_seen(decision):
    assert refusal(replace(SEEN, decision=decision, reason="checked")) is None


@pytest.mark.parametrize("decision", [D.APPROVED, D.REJECTED, D.POST_AUDIT, D.UNREACHABLE])
def test_no_decision_through_a_call_the_agent_does_not_hold(decision):
    """The attack: a call that rang at the agent and was cancelled, decided from a later wrap-up."""
    assert refusal(replace(SEEN, decision=decision, reason="x", held=False)) == DECISION_NOT_ALLOWED


@pytest.mark.parametrize("decision", [D.REJECTED, D.POST_AUDIT, D.UNREACHABLE])
def test_r_c_and_d_need_a_reason(decision):
    assert refusal(replace(SEEN, decision=decision, reason="  ")) == REASON_REQUIRED


@pytest.mark.parametrize("decision", [D.APPROVED, D.POST_AUDIT])
def test_letting_the_subscriber_in_needs_the_video_of_both_sides(decision):
    answered_only = replace(SEEN, decision=decision, reason="x", media_connected=False)
    assert refusal(answered_only) == DECISION_NOT_ALLOWED
    assert refusal(replace(answered_only, answered=False)) == DECISION_NOT_ALLOWED


@pytest.mark.parametrize("decision", [D.APPROVED, D.POST_AUDIT, D.REJECTED])
def test_an_unanswered_call_back_allows_no_decision_but_d(decision):
    """The attack of the I call-back: approved without ever reaching the customer."""
    unanswered = replace(
        SEEN, decision=decision, reason="x", answered=False, media_connected=False, unanswered_callback=True
    )
    assert refusal(unanswered) == DECISION_NOT_ALLOWED
    assert refusal(replace(unanswered, decision=D.UNREACHABLE)) is None


def test_rejecting_needs_an_answered_call_but_not_its_video():
    answered = replace(SEEN, decision=D.REJECTED, reason="not the owner", media_connected=False)
    assert refusal(answered) is None
    assert refusal(replace(answered, answered=False)) == DECISION_NOT_ALLOWED


def test_unreachable_needs_an_answered_call_or_an_unanswered_call_back():
    unanswered_inbound = replace(
        SEEN, decision=D.UNREACHABLE, reason="x", answered=False, media_connected=False
    )
    assert refusal(unanswered_inbound) == DECISION_NOT_ALLOWED
    assert refusal(replace(unanswered_inbound, answered=True)) is None


def test_approval_needs_a_snapshot_with_a_face_when_the_setting_is_on():
    no_face = replace(SEEN, face_snapshot_ids=frozenset())
    assert refusal(no_face) == FACE_SNAPSHOT_REQUIRED
    assert refusal(replace(no_face, approve_requires_face=False)) is None
    assert refusal(replace(no_face, decision=D.POST_AUDIT, reason="blurred")) is None, "C needs no face"


def test_an_approval_naming_a_snapshot_rests_on_that_one():
    assert refusal(replace(SEEN, snapshot_id="s1")) is None
    assert refusal(replace(SEEN, snapshot_id="s2")) == FACE_SNAPSHOT_REQUIRED, "s2 shows no face"
    assert refusal(replace(SEEN, snapshot_id="s2", approve_requires_face=False)) is None


@pytest.mark.parametrize("decision", [D.APPROVED, D.REJECTED])
def test_a_named_snapshot_must_be_of_this_call(decision):
    assert refusal(replace(SEEN, decision=decision, reason="x", snapshot_id="other")) == (
        DECISION_NOT_ALLOWED
    )


def test_the_first_failing_check_is_the_answer():
    """Not held wins over a missing reason, which wins over the missing video."""
    worst = replace(SEEN, decision=D.POST_AUDIT, reason="", held=False, media_connected=False)
    assert refusal(worst) == DECISION_NOT_ALLOWED
    assert refusal(replace(worst, held=True)) == REASON_REQUIRED
    assert refusal(replace(worst, held=True, reason="x")) == DECISION_NOT_ALLOWED


@pytest.mark.parametrize("state", [D.NEW, D.WAITING])
def test_new_and_waiting_are_not_decisions(state):
    assert refusal(replace(SEEN, decision=state, reason="x")) == DECISION_NOT_ALLOWED
