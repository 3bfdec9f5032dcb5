"""The token endpoints behind attempt limits and the login audit trail.

``CredentialGuard`` wraps ``AuthService``'s three use cases (``login``, ``mobile_token``,
``node_token``) without changing them:

1. before anything is checked, the counters of the attempt are read (one BatchGetItem): a locked
   account or source is refused with ``TOO_MANY_ATTEMPTS`` (429, ``Retry-After``), even with the right
   password, and the password is not even verified;
2. the use case runs;
3. a wrong credential (``INVALID_CREDENTIALS``, ``API_KEY_INVALID``) counts one failure on each
   counter (an atomic ``ADD``); the ``n``-th failure past the allowance locks the counter for a time
   that doubles with ``n`` (``vkyc.domain.limits.Backoff``), and the lockout is audited;
4. a success is audited (``login_succeeded``, ``token_issued``), and a password login clears its
   account's counter (the person got in: the next typo starts from zero). The source's counter is not
   cleared by a success: one valid account must not buy an attacker fresh guesses at the others.

Counters: ``login`` per username and per source; ``node`` per node id and per source; ``mobile`` per
source (the API key is the secret: there is no account to count against). Figures are
``vkyc.services.limits``; ``docs/security.md`` states what an attacker gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from vkyc.domain.audit import AuthEventKind
from vkyc.domain.limits import Backoff
from vkyc.protocol.errors import ProtocolError, RetryLater
from vkyc.repositories import throttles
from vkyc.repositories.auth_events import record_auth_event
from vkyc.repositories.users import find_user
from vkyc.services.auth import AuthService, Grant, LoginRequest, MobileTokenRequest, NodeTokenRequest
from vkyc.services.limits import ACCOUNT_FAILURES, SOURCE_FAILURES, configured

WRONG_CREDENTIAL = frozenset({"INVALID_CREDENTIALS", "API_KEY_INVALID"})


@dataclass(frozen=True)
class _Counter:
    key: str
    what: str  # "account" or "address": said in the lockout's audit detail
    policy: Backoff


class CredentialGuard:
    def __init__(self, auth: AuthService, clock: Callable[[], float] = time.time) -> None:
        self.auth = auth
        self.clock = clock

    def login(self, request: LoginRequest, source: str) -> Grant:
        counters = self._counters("login", request.username, source)
        had_failures = self._refuse_if_locked(counters)
        try:
            grant = self.auth.login(request)
        except ProtocolError as exc:
            if exc.code in WRONG_CREDENTIAL:
                user = find_user(request.username)
                unit = (user.unit_id if user is not None else None) or None
                self._failed("login", counters, request.username, unit, source)
            raise
        if had_failures[0]:
            throttles.clear(counters[0].key)
        record_auth_event(
            AuthEventKind.LOGIN_SUCCEEDED,
            request.username,
            grant.unit_id,
            source,
            f"role {grant.role.value}",
            scope="login",
            at=self._at(),
        )
        return grant

    def mobile_token(self, api_key: str | None, request: MobileTokenRequest, source: str) -> Grant:
        counters = self._counters("mobile", None, source)
        self._refuse_if_locked(counters)
        try:
            grant = self.auth.mobile_token(api_key, request)
        except ProtocolError as exc:
            if exc.code in WRONG_CREDENTIAL:
                self._failed("mobile", counters, request.dealer_account, None, source)
            raise
        record_auth_event(
            AuthEventKind.TOKEN_ISSUED,
            request.dealer_account,
            grant.unit_id,
            source,
            f"mobile token for dossier {request.dossier_id}",
            scope="mobile",
            at=self._at(),
        )
        return grant

    def node_token(self, request: NodeTokenRequest, source: str) -> Grant:
        counters = self._counters("node", request.node_id, source)
        self._refuse_if_locked(counters)
        try:
            grant = self.auth.node_token(request)
        except ProtocolError as exc:
            if exc.code in WRONG_CREDENTIAL:
                self._failed("node", counters, request.node_id, None, source)
            raise
        record_auth_event(
            AuthEventKind.TOKEN_ISSUED,
            request.node_id,
            None,
            source,
            "media node token",
            scope="node",
            at=self._at(),
        )
        return grant

    def _at(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- the counters ------------------------------------------------------------------------------

    def _counters(self, scope: str, account: str | None, source: str) -> list[_Counter]:
        """The account's counter first (when there is an account), then the source's."""
        found = []
        if account is not None:
            policy = configured(ACCOUNT_FAILURES, Backoff.parse)
            found.append(_Counter(throttles.counter_key(scope, "account", account), "account", policy))
        policy = configured(SOURCE_FAILURES, Backoff.parse)
        found.append(_Counter(throttles.counter_key(scope, "source", source), "address", policy))
        return found

    def _refuse_if_locked(self, counters: list[_Counter]) -> list[bool]:
        """Raise ``TOO_MANY_ATTEMPTS`` while any counter is locked; else whether each had failures."""
        now = int(self.clock())
        read = throttles.read(
            [c.key for c in counters], now=now, window_s={c.key: c.policy.window_s for c in counters}
        )
        wait = max(read[c.key].locked_for(now) for c in counters)
        if wait:
            raise RetryLater("TOO_MANY_ATTEMPTS", wait)
        return [read[c.key].failures > 0 for c in counters]

    def _failed(
        self, scope: str, counters: list[_Counter], principal: str, unit_id: str | None, source: str
    ) -> None:
        now = int(self.clock())
        record_auth_event(AuthEventKind.FAILED, principal, unit_id, source, scope=scope, at=self._at())
        for counter in counters:
            failures = throttles.add_failure(counter.key, now=now, window_s=counter.policy.window_s)
            lock_s = counter.policy.lock_s(failures)
            if lock_s:
                throttles.lock(counter.key, until=now + lock_s)
                record_auth_event(
                    AuthEventKind.LOCKED_OUT,
                    principal,
                    unit_id,
                    source,
                    f"{counter.what} locked for {lock_s} s after {failures} failures",
                    scope=scope,
                    at=self._at(),
                )
