"""Attempt limits of the token endpoints and the login audit trail (``CredentialGuard``), on moto, with a
clock the tests move: lockouts, their exponential backoff, per-account and per-source counters, what a
locked attempt costs, and the events a supervisor reads."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from vkyc.domain.audit import AuthEventKind
from vkyc.domain.roles import UserRole
from vkyc.protocol.errors import ProtocolError, RetryLater
from vkyc.repositories.auth_events import events_of, record_auth_event
from vkyc.repositories.users import put_user
from vkyc.security.node_keys import node_key
from vkyc.security.passwords import hash_password
from vkyc.services.auth import AuthService, LoginRequest, MobileTokenRequest, NodeTokenRequest
from vkyc.services.credentials import CredentialGuard

PASSWORD = "the-right-password"
START = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _tables_and_secret(tables, monkeypatch):
    monkeypatch.setenv("VKYC_TOKEN_SECRET", "functional-tests-secret-" + "y" * 32)
    monkeypatch.setenv("VKYC_MEDIA_NODE_MASTER_KEY", "node-key-master-of-the-functional-tests")
    for name in ("VKYC_LIMIT_ACCOUNT_FAILURES", "VKYC_LIMIT_SOURCE_FAILURES"):
        monkeypatch.delenv(name, raising=False)  # the shipped defaults


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock: Clock) -> CredentialGuard:
    return CredentialGuard(AuthService(), clock=clock)


@pytest.fixture
def supervisor() -> str:
    """A supervisor of unit 1, one per test (an agent login would need an agent item too)."""
    username = f"sup.{uuid.uuid4().hex[:6]}"
    put_user(
        username,
        role=UserRole.SUPERVISOR,
        unit_id="1",
        display_name="Lockout test",
        password_hash=hash_password(PASSWORD),
    )
    return username


def source() -> str:
    """A source address of its own per test: the per-source counters of one test stay out of the next."""
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:4]}"


def attempt(guard: CredentialGuard, username: str, password: str, where: str) -> str:
    """The code the attempt answers (``OK`` for a token)."""
    try:
        guard.login(LoginRequest(username=username, password=password), where)
    except ProtocolError as exc:
        return exc.code
    return "OK"


def kinds(unit_id: str, principal: str) -> Counter[str]:
    """How many events of each kind the unit's trail holds for ``principal`` (events of one instant
    have no order among themselves, and the tests' clock stands still)."""
    day = datetime.fromtimestamp(START, UTC)
    found, _ = events_of(unit_id, day - timedelta(days=1), day + timedelta(days=2), 1000)
    return Counter(e.kind.value for e in found if e.principal == principal)


# -- the lockout ------------------------------------------------------------------------------------


def test_200_wrong_passwords_lock_the_account_and_the_right_one_is_refused_until_the_lock_ends(
    guard, clock, supervisor
):
    where = source()
    codes = [attempt(guard, supervisor, "wrong", where) for _ in range(200)]
    assert codes[:5] == ["INVALID_CREDENTIALS"] * 5
    assert set(codes[5:]) == {"TOO_MANY_ATTEMPTS"}, "after 5 failures every attempt waits"

    with pytest.raises(RetryLater) as locked:
        guard.login(LoginRequest(username=supervisor, password=PASSWORD), where)
    assert locked.value.code == "TOO_MANY_ATTEMPTS" and locked.value.retry_after_s == 1
    assert "Retry after 1 s." in locked.value.message

    clock.now += 1  # the lock ends
    assert attempt(guard, supervisor, PASSWORD, where) == "OK"
    # The person got in: the next typo starts from zero, it does not lock.
    assert attempt(guard, supervisor, "typo", where) == "INVALID_CREDENTIALS"
    assert attempt(guard, supervisor, PASSWORD, where) == "OK"

    assert kinds("1", supervisor) == {"failed": 6, "locked_out": 1, "login_succeeded": 2}


def test_each_further_failure_doubles_the_lock_up_to_15_minutes(guard, clock, supervisor):
    where = source()
    failures, locks = 0, []
    while failures < 16:
        try:
            guard.login(LoginRequest(username=supervisor, password="wrong"), where)
        except RetryLater as exc:
            locks.append(exc.retry_after_s)
            clock.now += exc.retry_after_s  # wait the lock out, as told
        except ProtocolError as exc:
            assert exc.code == "INVALID_CREDENTIALS"
            failures += 1
    assert locks == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
    assert attempt(guard, supervisor, PASSWORD, where) == "TOO_MANY_ATTEMPTS", "the 16th: 900 s more"
    clock.now += 900
    assert attempt(guard, supervisor, PASSWORD, where) == "OK"


def test_a_locked_attempt_costs_one_read_and_no_password_check(
    guard, supervisor, dynamodb_calls, monkeypatch
):
    where = source()
    for _ in range(5):
        attempt(guard, supervisor, "wrong", where)
    checked: list[str] = []
    monkeypatch.setattr("vkyc.services.auth.verify", lambda password, encoded: checked.append(password))
    dynamodb_calls.clear()
    assert attempt(guard, supervisor, PASSWORD, where) == "TOO_MANY_ATTEMPTS"
    assert dynamodb_calls == ["BatchGetItem"] and not checked


def test_a_failure_count_older_than_its_window_starts_again(guard, clock, supervisor):
    where = source()
    for _ in range(4):
        assert attempt(guard, supervisor, "wrong", where) == "INVALID_CREDENTIALS"
    clock.now += 86_400 + 1  # the account's window is a day
    for _ in range(4):
        assert attempt(guard, supervisor, "wrong", where) == "INVALID_CREDENTIALS"
    assert attempt(guard, supervisor, PASSWORD, where) == "OK", "4 + 4 failures a day apart lock nothing"


def test_an_address_that_fails_on_30_accounts_is_locked_for_every_account(guard, clock, supervisor):
    where, elsewhere = source(), source()
    for i in range(30):
        assert attempt(guard, f"nobody-{i}-{uuid.uuid4().hex[:4]}", "guess", where) == "INVALID_CREDENTIALS"
    assert attempt(guard, supervisor, PASSWORD, where) == "TOO_MANY_ATTEMPTS"
    assert attempt(guard, supervisor, PASSWORD, elsewhere) == "OK", "another address is not locked"
    clock.now += 1
    assert attempt(guard, supervisor, PASSWORD, where) == "OK", "a success does not clear the address"
    assert attempt(guard, "nobody-again", "guess", where) == "INVALID_CREDENTIALS"
    assert attempt(guard, supervisor, PASSWORD, where) == "TOO_MANY_ATTEMPTS", "the 31st failure: 2 s"


def test_limits_come_from_the_environment(guard, supervisor, monkeypatch):
    monkeypatch.setenv("VKYC_LIMIT_ACCOUNT_FAILURES", "2,60,600,3600")
    where = source()
    assert [attempt(guard, supervisor, "wrong", where) for _ in range(3)] == [
        "INVALID_CREDENTIALS",
        "INVALID_CREDENTIALS",
        "TOO_MANY_ATTEMPTS",
    ]
    with pytest.raises(RetryLater) as locked:
        guard.login(LoginRequest(username=supervisor, password=PASSWORD), where)
    assert locked.value.retry_after_s == 60


def test_unknown_usernames_and_wrong_passwords_are_counted_alike(guard):
    where = source()
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"
    codes = [attempt(guard, ghost, "guess", where) for _ in range(6)]
    assert codes == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]
    assert kinds("*", ghost) == {"failed": 5, "locked_out": 1}, "no unit known: the admins' trail"


# -- the other credential endpoints ------------------------------------------------------------------


def test_wrong_api_keys_lock_the_address(guard):
    where = source()
    request = MobileTokenRequest(dealer_account="dl-guess", dossier_id="HS-NONE")
    codes = []
    for i in range(31):
        try:
            guard.mobile_token(f"vkyc_guess_{i}", request, where)
        except ProtocolError as exc:
            codes.append(exc.code)
    assert codes == ["API_KEY_INVALID"] * 30 + ["TOO_MANY_ATTEMPTS"]
    with pytest.raises(ProtocolError) as missing:
        guard.mobile_token(None, request, source())
    assert missing.value.code == "AUTH_REQUIRED", "no key is not a guess: nothing counted"


def test_wrong_node_keys_lock_the_node_id_and_a_right_key_gets_a_token_after(guard, clock):
    where = source()
    node = f"media-{uuid.uuid4().hex[:6]}"
    codes = []
    for _ in range(6):
        try:
            guard.node_token(NodeTokenRequest(node_id=node, node_key="guess"), where)
        except ProtocolError as exc:
            codes.append(exc.code)
    assert codes == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]
    clock.now += 1
    grant = guard.node_token(NodeTokenRequest(node_id=node, node_key=node_key(node)), where)
    assert grant.role.value == "media"
    assert kinds("*", node) == {"failed": 5, "locked_out": 1, "token_issued": 1}


# -- the trail -----------------------------------------------------------------------------------------


def test_the_trail_of_a_unit_is_newest_first_and_says_when_it_was_cut():
    unit = f"u{uuid.uuid4().hex[:6]}"
    at = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    for i in range(5):
        record_auth_event(
            AuthEventKind.FAILED, f"user-{i}", unit, "203.0.113.9", at=at + timedelta(minutes=i)
        )
    found, more = events_of(unit, at, at + timedelta(hours=1), 3)
    assert [e.principal for e in found] == ["user-4", "user-3", "user-2"] and more
    found, more = events_of(unit, at, at + timedelta(hours=1), 10)
    assert len(found) == 5 and not more
    assert found[0].source == "203.0.113.9" and found[0].scope == "login"
