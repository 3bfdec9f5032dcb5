"""Routing policy (pure): serving units, group conditions, overflow, priority, idle-longest, exclusions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from vkyc.domain.routing import (
    CallFacts,
    Candidate,
    GroupRule,
    choose,
    next_overflow_in,
    open_groups,
    rank,
    second_chance,
    serving_unit,
)

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SERVED_BY = {"4": "1", "6": "1", "7": "3", "1": None, "2": None}


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def agent(agent_id: str, *groups: str, since: datetime | None = T0) -> Candidate:
    return Candidate(agent_id, frozenset(groups), since, ref=f"item:{agent_id}")


def ids(rules: list[GroupRule]) -> list[str]:
    return [rule.group_id for rule in rules]


# --- serving unit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "expected"), [("4", "1"), ("6", "1"), ("7", "3"), ("1", "1"), ("3", "3")])
def test_unit_1_serves_4_and_6_and_unit_3_serves_7(unit, expected):
    assert serving_unit(unit, SERVED_BY) == expected


def test_a_unit_absent_from_the_map_or_served_by_none_serves_itself():
    assert serving_unit("9", SERVED_BY) == "9"
    assert serving_unit("2", SERVED_BY) == "2"
    assert serving_unit("5", {}) == "5"


def test_serving_is_one_hop_not_a_chain():
    assert serving_unit("6", {"6": "4", "4": "1"}) == "4"


# --- conditions -----------------------------------------------------------------------------------

KHDN_ONLY = GroupRule("khdn", 1, customer_types=frozenset({"KHDN"}))
ZP_OR_MC = GroupRule("zp-mc", 1, sub_types=frozenset({"ZP", "MC"}))
SHOPS = GroupRule("shops", 1, dealer_channels=frozenset({"DL"}))
ANYONE = GroupRule("any", 2)


def test_a_group_without_conditions_takes_any_call_even_with_unknown_facts():
    assert ANYONE.matches(CallFacts())
    assert ANYONE.matches(CallFacts("KHDN", "ZP", "DBH"))


@pytest.mark.parametrize(
    ("rule", "call", "expected"),
    [
        (KHDN_ONLY, CallFacts(customer_type="KHDN"), True),
        (KHDN_ONLY, CallFacts(customer_type="KHCN"), False),
        (KHDN_ONLY, CallFacts(), False),  # an unclassified call does not reach a restricted team
        (ZP_OR_MC, CallFacts(sub_type="MC"), True),
        (ZP_OR_MC, CallFacts(sub_type=" zp "), True),  # SUB_TYPE codes compare normalized
        (ZP_OR_MC, CallFacts(sub_type="ETK"), False),
        (SHOPS, CallFacts(dealer_channel="DL"), True),
        (SHOPS, CallFacts(dealer_channel="DBH"), False),
    ],
)
def test_a_condition_restricts_the_group_to_calls_whose_fact_is_listed(rule, call, expected):
    assert rule.matches(call) is expected


def test_every_condition_of_a_group_must_hold():
    rule = GroupRule("g", 1, customer_types=frozenset({"KHDN"}), sub_types=frozenset({"FCE"}))
    assert rule.matches(CallFacts("KHDN", "FCE"))
    assert not rule.matches(CallFacts("KHDN", "ZP"))
    assert not rule.matches(CallFacts("KHCN", "FCE"))


def test_open_groups_leave_out_groups_whose_conditions_fail():
    rules = [KHDN_ONLY, ANYONE]
    assert ids(open_groups(rules, CallFacts(customer_type="KHCN"))) == ["any"]
    assert ids(open_groups(rules, CallFacts(customer_type="KHDN"))) == ["khdn", "any"]


# --- overflow and priority ------------------------------------------------------------------------

FRONT = GroupRule("front", 1)
BACKUP = GroupRule("backup", 2, overflow_after_s=20)


def test_an_overflow_group_opens_once_the_call_has_waited_its_delay():
    rules = [FRONT, BACKUP]
    assert ids(open_groups(rules, CallFacts(waited_s=0))) == ["front"]
    assert ids(open_groups(rules, CallFacts(waited_s=19.9))) == ["front"]
    assert ids(open_groups(rules, CallFacts(waited_s=20))) == ["front", "backup"]
    assert ids(open_groups(rules, CallFacts(waited_s=90))) == ["front", "backup"]


def test_open_groups_are_ordered_by_priority_ties_in_given_order():
    rules = [GroupRule("c", 3), GroupRule("b1", 2), GroupRule("a", 1), GroupRule("b2", 2)]
    assert ids(open_groups(rules, CallFacts())) == ["a", "b1", "b2", "c"]


def test_a_queue_with_no_groups_has_nobody():
    assert open_groups([], CallFacts()) == []
    assert choose([agent("a1", "front")], [], CallFacts(), excluded=()) is None
    assert next_overflow_in([], CallFacts()) is None


def test_the_better_priority_group_is_offered_first_even_if_others_are_idle_longer():
    front, backup = agent("f1", "front", since=at(10)), agent("b1", "backup", since=at(0))
    assert choose([backup, front], [FRONT, BACKUP], CallFacts(waited_s=60), excluded=()) == front


def test_the_next_priority_is_used_when_the_better_one_has_nobody_available():
    rules = [FRONT, GroupRule("second", 2)]
    second = agent("s1", "second")
    assert choose([second], rules, CallFacts(), excluded=()) == second


def test_an_overflow_agent_gets_nothing_before_the_delay_then_gets_the_call():
    backup = agent("b1", "backup")
    rules = [FRONT, BACKUP]
    assert choose([backup], rules, CallFacts(waited_s=5), excluded=()) is None
    assert choose([backup], rules, CallFacts(waited_s=20), excluded=()) == backup


def test_groups_of_equal_priority_are_offered_together():
    rules = [GroupRule("a", 1), GroupRule("b", 1)]
    in_a, in_b = agent("x1", "a", since=at(5)), agent("x2", "b", since=at(1))
    assert choose([in_a, in_b], rules, CallFacts(), excluded=()) == in_b


def test_an_agent_outside_every_open_group_is_never_chosen():
    assert choose([agent("o1", "other"), agent("n1")], [FRONT], CallFacts(), excluded=()) is None


def test_conditions_route_an_enterprise_call_to_the_enterprise_team_first():
    rules = [KHDN_ONLY, ANYONE]
    khdn_agent, general = agent("k1", "khdn", since=at(9)), agent("g1", "any", since=at(0))
    assert choose([general, khdn_agent], rules, CallFacts("KHDN"), excluded=()) == khdn_agent
    assert choose([general, khdn_agent], rules, CallFacts("KHCN"), excluded=()) == general


# --- idle longest, exclusion, determinism ---------------------------------------------------------


def test_the_agent_idle_longest_is_chosen():
    agents = [
        agent("a", "front", since=at(3)),
        agent("b", "front", since=at(1)),
        agent("c", "front", since=at(2)),
    ]
    assert choose(agents, [FRONT], CallFacts(), excluded=()).agent_id == "b"


def test_an_unknown_available_since_counts_as_idle_longest():
    agents = [agent("a", "front", since=at(0)), agent("b", "front", since=None)]
    assert choose(agents, [FRONT], CallFacts(), excluded=()).agent_id == "b"


def test_agents_who_refused_or_missed_the_call_are_never_offered_it_again():
    agents = [
        agent("a", "front", since=at(0)),
        agent("b", "front", since=at(1)),
        agent("c", "front", since=at(2)),
    ]
    assert choose(agents, [FRONT], CallFacts(), excluded={"a"}).agent_id == "b"
    assert choose(agents, [FRONT], CallFacts(), excluded=["a", "b"]).agent_id == "c"
    assert choose(agents, [FRONT], CallFacts(), excluded={"a", "b", "c"}) is None


def test_excluding_the_last_front_agent_falls_through_to_an_open_overflow_group():
    agents = [agent("f", "front"), agent("b", "backup")]
    rules = [FRONT, BACKUP]
    assert choose(agents, rules, CallFacts(waited_s=30), excluded={"f"}).agent_id == "b"
    assert choose(agents, rules, CallFacts(waited_s=3), excluded={"f"}) is None


def test_ties_are_broken_by_agent_id_whatever_the_input_order():
    agents = [agent(name, "front", since=at(0)) for name in ("d", "b", "c", "a")]
    agents.append(agent("z", "front", since=at(1)))
    shuffled = list(agents)
    for seed in range(10):
        random.Random(seed).shuffle(shuffled)
        assert choose(shuffled, [FRONT], CallFacts(), excluded=()).agent_id == "a"
    unknown = [agent(name, "front", since=None) for name in ("n2", "n1")]
    assert choose(unknown + agents, [FRONT], CallFacts(), excluded=()).agent_id == "n1"


def test_the_chosen_candidate_carries_the_callers_item():
    chosen = choose([agent("a", "front")], [FRONT], CallFacts(), excluded=())
    assert chosen is not None and chosen.ref == "item:a"


def test_an_agent_in_several_groups_is_found_through_any_of_them():
    both = agent("m", "backup", "front", since=at(4))
    only_backup = agent("b", "backup", since=at(0))
    assert choose([only_backup, both], [FRONT, BACKUP], CallFacts(waited_s=60), excluded=()) == both


# --- next overflow --------------------------------------------------------------------------------


def test_next_overflow_in_counts_down_to_the_next_closed_overflow_group():
    rules = [FRONT, BACKUP, GroupRule("last", 3, overflow_after_s=45)]
    assert next_overflow_in(rules, CallFacts(waited_s=0)) == 20
    assert next_overflow_in(rules, CallFacts(waited_s=12.5)) == 7.5
    assert next_overflow_in(rules, CallFacts(waited_s=20)) == 25
    assert next_overflow_in(rules, CallFacts(waited_s=45)) is None


def test_next_overflow_in_is_none_without_overflow_groups():
    assert next_overflow_in([FRONT, ANYONE], CallFacts()) is None


def test_next_overflow_in_ignores_overflow_groups_that_would_never_take_the_call():
    rules = [FRONT, GroupRule("khdn-backup", 2, overflow_after_s=10, customer_types=frozenset({"KHDN"}))]
    assert next_overflow_in(rules, CallFacts("KHCN")) is None
    assert next_overflow_in(rules, CallFacts("KHDN")) == 10


# --- ranking --------------------------------------------------------------------------------------


def test_rank_lists_every_agent_who_may_take_the_call_best_first():
    rules = [FRONT, BACKUP, GroupRule("other", 3)]
    agents = [
        agent("b-old", "backup", since=at(0)),
        agent("f-new", "front", since=at(9)),
        agent("f-old", "front", since=at(1)),
        agent("both", "front", "backup", since=at(5)),
        agent("tried", "front", since=at(0)),
        agent("nowhere", "elsewhere", since=at(0)),
    ]
    early = rank(agents, rules, CallFacts(waited_s=0), excluded={"tried"})
    assert [c.agent_id for c in early] == ["f-old", "both", "f-new"]
    late = rank(agents, rules, CallFacts(waited_s=30), excluded={"tried"})
    assert [c.agent_id for c in late] == ["f-old", "both", "f-new", "b-old"]  # "both" only once
    assert choose(agents, rules, CallFacts(waited_s=30), excluded={"tried"}) == late[0]
    assert rank(agents, [], CallFacts()) == []


def test_a_rejecter_gets_a_second_chance_only_once_the_delay_has_passed():
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert second_chance({"a"}, now, now, 10) == frozenset()
    assert second_chance({"a"}, now - timedelta(seconds=9.5), now, 10) == frozenset()
    assert second_chance({"a", "b"}, now - timedelta(seconds=10), now, 10) == {"a", "b"}
    assert second_chance(set(), now - timedelta(seconds=60), now, 10) == frozenset()
    assert second_chance({"a"}, None, now, 10) == frozenset()
