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

Counters: ``login`` per username and per source; ``node`` per node id and per source; ``mobile`` and
``integrator`` (the ``/v1`` API, ``api_key``) per source (the API key is the secret: there is no account
to count against). ``api_key`` audits failures and lockouts only: every ``/v1`` request is a success.
Figures are ``vkyc.services.limits``; ``docs/security.md`` states what an attacker gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from vkyc.domain.audit import AuthEventKind
from vkyc.domain.limits import Backoff
from vkyc.protocol.errors import ProtocolError, RetryLater
from vkyc.repositories import throttles
from vkyc.repositories.auth_events import record_auth_event
from vkyc.repositories.users import find_user
from vkyc.services.auth import AuthService, Grant, LoginRequest, MobileTokenRequest, NodeTokenRequest
from vkyc.services.limits import ACCOUNT_FAILURES, SOURCE_FAILURES, configured

WRONG_CREDENTIAL = frozenset({"INVALID_CREDENTIALS", "API_KEY_INVALID"})
T = TypeVar("T")


@dataclass(frozen=True)
class _Attempt:
    scope: str  # login | mobile | node: the counters' and the audit's name of the endpoint
    principal: str  # the username, dealer account or node id given
    source: str
    unit_of: Callable[[], str | None] = lambda: None  # the unit whose trail a failure goes to


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
        def unit_of_user() -> str | None:
            user = find_user(request.username)
            return user.unit_id if user is not None else None

        attempt = _Attempt("login", request.username, source, unit_of_user)
        counters = self._counters(attempt, account=request.username)
        grant, had_failures = self._guarded(attempt, counters, lambda: self.auth.login(request))
        if had_failures[0]:
            throttles.clear(counters[0].key)
        self._audit(AuthEventKind.LOGIN_SUCCEEDED, attempt, grant.unit_id, f"role {grant.role.value}")
        return grant

    def mobile_token(self, api_key: str | None, request: MobileTokenRequest, source: str) -> Grant:
        attempt = _Attempt("mobile", request.dealer_account, source)
        counters = self._counters(attempt, account=None)
        grant, _ = self._guarded(attempt, counters, lambda: self.auth.mobile_token(api_key, request))
        detail = f"mobile token for dossier {request.dossier_id}"
        self._audit(AuthEventKind.TOKEN_ISSUED, attempt, grant.unit_id, detail)
        return grant

    def node_token(self, request: NodeTokenRequest, source: str) -> Grant:
        attempt = _Attempt("node", request.node_id, source)
        counters = self._counters(attempt, account=request.node_id)
        grant, _ = self._guarded(attempt, counters, lambda: self.auth.node_token(request))
        self._audit(AuthEventKind.TOKEN_ISSUED, attempt, None, "media node token")
        return grant

    def api_key(self, check: Callable[[], T], source: str) -> T:
        """The integrator API's key check (``check`` raises ``API_KEY_INVALID`` for a wrong key) behind
        the per-address counter of wrong keys: refused while locked, a wrong key counted."""
        attempt = _Attempt("integrator", "api-key", source)
        result, _ = self._guarded(attempt, self._counters(attempt, account=None), check)
        return result

    def _guarded(
        self, attempt: _Attempt, counters: list[_Counter], use_case: Callable[[], T]
    ) -> tuple[T, list[bool]]:
        """Refuse while locked, run ``use_case``, count a wrong credential; the grant, and whether
        each counter had failures before."""
        had_failures = self._refuse_if_locked(counters)
        try:
            return use_case(), had_failures
        except ProtocolError as exc:
            if exc.code in WRONG_CREDENTIAL:
                self._failed(attempt, counters)
            raise

    def _audit(self, kind: AuthEventKind, attempt: _Attempt, unit_id: str | None, detail: str | None) -> None:
        at = self._at()
        record_auth_event(
            kind, attempt.principal, unit_id, attempt.source, detail, scope=attempt.scope, at=at
        )

    def _at(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- the counters ------------------------------------------------------------------------------

    def _counters(self, attempt: _Attempt, account: str | None) -> list[_Counter]:
        """The account's counter first (when there is an account), then the source's."""
        found = []
        if account is not None:
            policy = configured(ACCOUNT_FAILURES, Backoff.parse)
            key = throttles.counter_key(attempt.scope, "account", account)
            found.append(_Counter(key, "account", policy))
        policy = configured(SOURCE_FAILURES, Backoff.parse)
        found.append(
            _Counter(throttles.counter_key(attempt.scope, "source", attempt.source), "address", policy)
        )
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

    def _failed(self, attempt: _Attempt, counters: list[_Counter]) -> None:
        now = int(self.clock())
        unit_id = attempt.unit_of()
        self._audit(AuthEventKind.FAILED, attempt, unit_id, None)
        for counter in counters:
            failures = throttles.add_failure(counter.key, now=now, window_s=counter.policy.window_s)
            lock_s = counter.policy.lock_s(failures)
            if lock_s:
                throttles.lock(counter.key, until=now + lock_s)
                detail = f"{counter.what} locked for {lock_s} s after {failures} failures"
                self._audit(AuthEventKind.LOCKED_OUT, attempt, unit_id, detail)
