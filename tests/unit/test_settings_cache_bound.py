"""How long a setting changed by an admin takes to reach a running handler: at most 30 s, the bound the
admin API documents (``GET /admin/v1/settings``). Every per-container configuration cache is held to it."""

from __future__ import annotations

import pytest

from vkyc.domain.settings import LoginPolicy
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories import policy, routing, settings_cache
from vkyc.repositories.settings_cache import SETTINGS_CACHE, TtlCache
from vkyc.services.auth import refuse_login_elsewhere

BOUND_S = 30.0


def test_every_configuration_cache_keeps_a_value_at_most_30_s():
    assert settings_cache.CONFIG_TTL_S <= BOUND_S
    assert routing.CONFIG_TTL_S <= BOUND_S
    assert SETTINGS_CACHE.ttl_s <= BOUND_S
    assert policy.POLICY_CACHE.ttl_s <= BOUND_S


def test_a_changed_value_is_read_again_once_the_bound_has_passed():
    now = [1000.0]
    cache: TtlCache[str, int] = TtlCache(settings_cache.CONFIG_TTL_S, clock=lambda: now[0])
    stored = [60]
    assert cache.get("ring", lambda: stored[0]) == 60
    stored[0] = 7  # an admin changes the ring timeout
    now[0] += BOUND_S - 0.1
    assert cache.get("ring", lambda: stored[0]) == 60  # still the old one, within the bound
    now[0] += 0.1
    assert cache.get("ring", lambda: stored[0]) == 7


@pytest.mark.parametrize(
    ("policy_value", "busy", "live", "refused"),
    [
        (LoginPolicy.REFUSE, False, True, "LOGGED_IN_ELSEWHERE"),
        (LoginPolicy.REFUSE, True, True, "LOGGED_IN_ELSEWHERE"),
        (LoginPolicy.REFUSE, False, False, None),
        (LoginPolicy.REFUSE_IN_CALL_ELSE_TAKE_OVER, True, True, "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL"),
        (LoginPolicy.REFUSE_IN_CALL_ELSE_TAKE_OVER, False, True, None),
        (LoginPolicy.TAKE_OVER, True, True, None),
        (LoginPolicy.TAKE_OVER, False, True, None),
    ],
)
def test_the_three_login_policies_of_seed_001(policy_value, busy, live, refused):
    if refused is None:
        refuse_login_elsewhere(policy_value, busy=busy, live=lambda: live)
        return
    with pytest.raises(ProtocolError) as error:
        refuse_login_elsewhere(policy_value, busy=busy, live=lambda: live)
    assert error.value.code == refused
