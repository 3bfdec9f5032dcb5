"""The configuration and credential repositories on moto: users, API keys, queues, settings, and the
dossier's customer data and image keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from vkyc.domain.roles import UserRole
from vkyc.domain.settings import CallSettings
from vkyc.repositories import api_keys, queues, settings, users
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import NotFound
from vkyc.repositories.tables import ApiKey, CustomerInfo, DossierImages, Queue, QueueGroup, User
from vkyc.security.passwords import api_key_digest, hash_password, verify

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def rid(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:12]


# --- users --------------------------------------------------------------------------------------------


def test_put_user_creates_then_upserts_keeping_the_creation_time(tables):
    name = rid("u.")
    first = users.put_user(
        name,
        role=UserRole.AGENT,
        unit_id="1",
        display_name="Lan",
        password_hash=hash_password("first-password"),
        agent_id=name,
        at=T0,
    )
    assert (first.role, first.unit_id, first.agent_id, first.disabled, first.created_at) == (
        "agent",
        "1",
        name,
        False,
        T0,
    )
    users.put_user(
        name,
        role=UserRole.AGENT,
        unit_id="3",
        display_name="Lan (KV3)",
        password_hash=hash_password("second-password"),
        agent_id=name,
        disabled=True,
        at=T1,
    )
    stored = users.get_user(name)
    assert (stored.unit_id, stored.display_name, stored.disabled, stored.created_at) == (
        "3",
        "Lan (KV3)",
        True,
        T0,
    )
    assert verify("second-password", stored.password_hash)


def test_put_user_twice_leaves_the_same_item(tables):
    name = rid("u.")
    fields = {
        "role": UserRole.SUPERVISOR,
        "unit_id": "2",
        "display_name": "GS",
        "password_hash": hash_password("same-password"),
    }
    users.put_user(name, **fields)
    first = users.get_user(name).serialize()
    users.put_user(name, **fields)  # at a later "now": created_at must not move
    assert users.get_user(name).serialize() == first


def test_changing_a_role_drops_the_fields_that_no_longer_apply(tables):
    name = rid("u.")
    password_hash = hash_password("a-password")
    users.put_user(
        name, role=UserRole.AGENT, unit_id="1", display_name="A", password_hash=password_hash, agent_id=name
    )
    users.put_user(name, role=UserRole.ADMIN, unit_id=None, display_name="A", password_hash=password_hash)
    stored = users.get_user(name)
    assert (stored.role, stored.unit_id, stored.agent_id) == ("admin", None, None)


@pytest.mark.parametrize(
    ("role", "unit_id", "agent_id", "password_hash"),
    [
        (UserRole.AGENT, "1", None, "h"),  # an agent without its state item
        (UserRole.AGENT, None, "a", "h"),  # an agent without a unit
        (UserRole.SUPERVISOR, None, None, "h"),  # a supervisor without a unit
        (UserRole.SUPERVISOR, "1", "a", "h"),  # only agents have agent items
        (UserRole.ADMIN, None, "a", "h"),
        (UserRole.ADMIN, None, None, ""),  # no credential at all
    ],
)
def test_put_user_refuses_an_incoherent_account_and_writes_nothing(
    tables, role, unit_id, agent_id, password_hash
):
    name = rid("bad.")
    with pytest.raises(ValueError):
        users.put_user(
            name,
            role=role,
            unit_id=unit_id,
            display_name="X",
            password_hash=password_hash,
            agent_id=agent_id,
        )
    assert users.find_user(name) is None


def test_get_of_a_missing_user_raises_not_found(tables):
    with pytest.raises(NotFound) as raised:
        users.get_user("nobody-" + rid())
    assert raised.value.kind == "user"
    assert users.find_user("nobody") is None


def test_set_password_hash_only_replaces_the_hash_it_was_computed_from(tables):
    name = rid("u.")
    old = hash_password("old-password")
    users.put_user(name, role=UserRole.ADMIN, unit_id=None, display_name="Admin", password_hash=old)
    new = hash_password("old-password")
    assert users.set_password_hash(name, new, expected_hash="scrypt$stale") is False
    assert users.get_user(name).password_hash == old
    assert users.set_password_hash(name, new, expected_hash=old) is True
    assert users.get_user(name).password_hash == new
    missing = rid("ghost.")
    assert users.set_password_hash(missing, new, expected_hash=old) is False
    assert users.find_user(missing) is None  # the conditional update did not create an item


def test_users_of_a_unit_by_role_without_their_hashes(tables):
    unit = rid("unit-")
    password_hash = hash_password("a-password")
    for i in range(2):
        users.put_user(
            f"a{i}.{unit}",
            role=UserRole.AGENT,
            unit_id=unit,
            display_name=f"Agent {i}",
            password_hash=password_hash,
            agent_id=f"a{i}.{unit}",
        )
    users.put_user(
        f"gs.{unit}", role=UserRole.SUPERVISOR, unit_id=unit, display_name="GS", password_hash=password_hash
    )
    users.put_user(
        f"root.{unit}", role=UserRole.ADMIN, unit_id=None, display_name="R", password_hash=password_hash
    )
    everyone = users.users_of_unit(unit)
    assert {u.username for u in everyone} == {f"a0.{unit}", f"a1.{unit}", f"gs.{unit}"}  # no unit-less admin
    assert all(u.password_hash is None for u in everyone)
    assert {u.display_name for u in everyone} == {"Agent 0", "Agent 1", "GS"}
    assert [u.username for u in users.users_of_unit(unit, UserRole.SUPERVISOR)] == [f"gs.{unit}"]
    assert {u.agent_id for u in users.users_of_unit(unit, UserRole.AGENT)} == {f"a0.{unit}", f"a1.{unit}"}


# --- API keys -----------------------------------------------------------------------------------------


def test_an_api_key_is_found_by_its_digest_only(tables):
    key = "vkyc_test_" + uuid.uuid4().hex
    digest = api_key_digest(key)
    api_keys.put_api_key(digest, unit_id="4", name="mSale Core KV4", at=T0)
    stored = api_keys.find_api_key(digest)
    assert stored is not None
    assert (stored.digest, stored.unit_id, stored.name, stored.created_at, stored.revoked_at) == (
        digest,
        "4",
        "mSale Core KV4",
        T0,
        None,
    )
    assert key not in str(ApiKey.get(digest).serialize())
    assert api_keys.find_api_key(api_key_digest(key + "x")) is None


def test_revoking_a_key_keeps_the_first_time_and_a_put_restores_it(tables):
    digest = api_key_digest("vkyc_test_" + uuid.uuid4().hex)
    api_keys.put_api_key(digest, unit_id="1", name="old name", at=T0)
    assert api_keys.revoke_api_key(digest, at=T1).revoked_at == T1
    assert api_keys.revoke_api_key(digest, at=T1 + timedelta(days=1)).revoked_at == T1
    stored = api_keys.find_api_key(digest)
    assert stored is not None and stored.revoked_at == T1
    api_keys.put_api_key(digest, unit_id="2", name="new name", at=T1)
    stored = api_keys.find_api_key(digest)
    assert stored is not None
    assert (stored.unit_id, stored.name, stored.created_at, stored.revoked_at) == ("2", "new name", T0, None)


def test_revoking_a_missing_key_raises_not_found_and_creates_nothing(tables):
    digest = api_key_digest("vkyc_test_" + uuid.uuid4().hex)
    with pytest.raises(NotFound):
        api_keys.revoke_api_key(digest)
    assert api_keys.find_api_key(digest) is None


# --- queues -------------------------------------------------------------------------------------------


def test_a_queue_keeps_its_groups_in_offering_order_with_their_overflow(tables):
    queue_id = rid("q-")
    queues.put_queue(
        queue_id,
        unit_id="1",
        name="Q",
        groups=[
            QueueGroup(group_id="backup", priority=2, overflow_after_s=20),
            QueueGroup(group_id="front-a", priority=1),
            QueueGroup(group_id="late", priority=3, overflow_after_s=60),
            QueueGroup(group_id="front-b", priority=1),
        ],
        auto_ticket=True,
    )
    stored = queues.find_queue(queue_id)
    assert stored is not None
    assert [(g.group_id, g.priority, g.overflow_after_s) for g in stored.groups] == [
        ("front-a", 1, None),
        ("front-b", 1, None),  # equal priority: the given order is kept
        ("backup", 2, 20),
        ("late", 3, 60),
    ]
    assert all(isinstance(g.priority, int) for g in stored.groups)
    assert (stored.unit_id, stored.auto_ticket, stored.timeout_s) == ("1", True, None)


def test_a_queue_timeout_overrides_the_setting_only_when_set(tables):
    plain = queues.put_queue(rid("q-"), unit_id="1", name="Q", groups=[QueueGroup(group_id="g", priority=1)])
    strict = queues.put_queue(
        rid("q-"), unit_id="1", name="Q", groups=[QueueGroup(group_id="g", priority=1)], timeout_s=45
    )
    unit_settings = CallSettings(queue_timeout_s=200)
    assert queues.queue_timeout_s(plain, unit_settings) == 200
    assert queues.queue_timeout_s(strict, unit_settings) == 45
    stored = queues.find_queue(strict.queue_id)
    assert stored is not None and stored.timeout_s == 45 and stored.auto_ticket is False


@pytest.mark.parametrize(
    ("groups", "timeout_s", "message"),
    [
        ([], None, "at least one group"),
        ([QueueGroup(group_id="g", priority=1), QueueGroup(group_id="g", priority=2)], None, "listed twice"),
        ([QueueGroup(group_id="g", priority=0)], None, "priority"),
        (
            [QueueGroup(group_id="g", priority=1), QueueGroup(group_id="h", priority=2, overflow_after_s=0)],
            None,
            "overflow delay",
        ),
        ([QueueGroup(group_id="g", priority=1, overflow_after_s=10)], None, "without an overflow delay"),
        ([QueueGroup(group_id="g", priority=1)], 0, "timeout_s"),
    ],
)
def test_put_queue_refuses_a_queue_nobody_could_answer_and_writes_nothing(tables, groups, timeout_s, message):
    queue_id = rid("bad-")
    with pytest.raises(ValueError, match=message):
        queues.put_queue(queue_id, unit_id="1", name="Q", groups=groups, timeout_s=timeout_s)
    assert queues.find_queue(queue_id) is None
    assert list(Queue.scan(Queue.queue_id == queue_id)) == []


# --- settings -----------------------------------------------------------------------------------------


@pytest.fixture
def no_global_settings(tables):
    """The global scope is shared by the module's tests: start each settings test without it."""
    settings.clear_settings(settings.stored_settings())
    yield
    settings.clear_settings(settings.stored_settings())


def test_an_explicit_null_in_a_unit_turns_a_global_setting_off(no_global_settings):
    unit, other = rid("u"), rid("u")
    settings.put_settings({"daily_success_cap_per_subscriber": 3, "ring_timeout_s": 50}, by="admin")
    settings.put_settings({"daily_success_cap_per_subscriber": None}, unit_id=unit, by="admin", at=T0)
    assert settings.stored_settings(unit) == {"daily_success_cap_per_subscriber": None}
    assert settings.stored_settings(other) == {}
    mine = settings.effective_settings(unit)
    assert mine.daily_success_cap_per_subscriber is None  # off here...
    assert mine.ring_timeout_s == 50  # ...and everything else inherited
    assert settings.effective_settings(other).daily_success_cap_per_subscriber == 3
    settings.clear_settings(["daily_success_cap_per_subscriber"], unit_id=unit)
    assert settings.stored_settings(unit) == {}
    assert settings.effective_settings(unit).daily_success_cap_per_subscriber == 3


def test_a_global_null_turns_a_default_off(no_global_settings):
    assert settings.effective_settings().waiting_media_key == CallSettings().waiting_media_key
    settings.put_settings({"waiting_media_key": None}, by="admin")
    assert settings.stored_settings() == {"waiting_media_key": None}
    assert settings.effective_settings().waiting_media_key is None
    assert settings.effective_settings(rid("u")).waiting_media_key is None


def test_settings_are_stored_normalized_and_read_back_whole(no_global_settings):
    stored = settings.put_settings(
        {"blacklist": ["0909 999 999"], "end_of_day": "21:30", "login_policy": "refuse"}, by="admin"
    )
    assert stored == {"blacklist": ["84909999999"], "end_of_day": "21:30", "login_policy": "refuse"}
    assert settings.stored_settings() == stored
    effective = settings.effective_settings()
    assert effective.is_blacklisted("+84 909 999 999")
    assert (effective.end_of_day.hour, effective.end_of_day.minute, effective.login_policy) == (
        21,
        30,
        "refuse",
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"ring_timeout_s": None}, "ring_timeout_s"),  # not optional: null is not "off"
        ({"ring_timeout_s": 0}, "ring_timeout_s"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_invalid_settings_are_refused_before_anything_is_written(no_global_settings, values, field):
    unit = rid("u")
    with pytest.raises(ValidationError, match=field):
        settings.put_settings({"sla_answer_within_s": 30, **values}, unit_id=unit, by="admin")
    assert settings.stored_settings(unit) == {}


# --- dossier details ------------------------------------------------------------------------------------


def test_a_dossier_keeps_its_customer_images_dealer_and_note(tables):
    repo = DossierRepository()
    dossier_id = rid("HS-")
    repo.create(
        dossier_id,
        unit_id="6",
        request_id=rid(),
        actor="dealer",
        subscriber="84891000303",
        sub_type="ZMT",
        customer_type="KHCN",
        payment_type="prepaid",
        kyc_at_counter=True,
        customer=CustomerInfo(name="Trương Minh Khôi", id_number="046093090123"),
        images=DossierImages(id_front_key="d/f.jpg", id_back_key="d/b.jpg", portrait_key="d/p.jpg"),
        dealer_account="dbh.kv6.hue02",
        note="counter KYC required",
    )
    stored = repo.get(dossier_id)
    assert (stored.customer.name, stored.customer.id_number) == ("Trương Minh Khôi", "046093090123")
    assert (stored.images.id_front_key, stored.images.id_back_key, stored.images.portrait_key) == (
        "d/f.jpg",
        "d/b.jpg",
        "d/p.jpg",
    )
    assert (stored.payment_type, stored.kyc_at_counter, stored.dealer_account, stored.note) == (
        "prepaid",
        True,
        "dbh.kv6.hue02",
        "counter KYC required",
    )
    bare = repo.create(rid("HS-"), unit_id="6", request_id=rid(), actor="dealer", note="")
    stored = repo.get(bare.dossier_id)
    assert (stored.customer, stored.images, stored.note, stored.payment_type) == (None, None, None, None)


def test_user_items_name_no_attribute_the_model_does_not_know(tables):
    # Stream consumers read raw images: the stored names are the model's names.
    name = rid("u.")
    users.put_user(name, role=UserRole.ADMIN, unit_id=None, display_name="A", password_hash="h$1")
    raw = User.get(name).serialize()
    assert set(raw) <= set(User.get_attributes())
    assert set(raw) == {
        "username",
        "role",
        "display_name",
        "password_hash",
        "disabled",
        "created_at",
        "token_generation",
    }
