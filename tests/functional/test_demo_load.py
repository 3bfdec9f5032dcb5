"""Loading the demo data into the tables (moto): what is written, idempotence, nothing from a bad file."""

from __future__ import annotations

import io
import tomllib
import uuid

import pytest

from local.demo.load import load_demo, print_summary, summary_text, write_demo_data
from local.demo.schema import DEMO_FILE, DemoDataError, load_demo_file, parse_demo_data
from tests.binding import models_bound_to
from vkyc.domain.dossier import DossierEvent, DossierState
from vkyc.domain.policy import DEFAULT_SUB_TYPE_POLICY, policy_index, video_call_required
from vkyc.domain.policy import SubTypePolicy as PolicyRow
from vkyc.domain.roles import UserRole
from vkyc.domain.settings import CallSettings
from vkyc.repositories.api_keys import find_api_key
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.queues import find_queue, queue_timeout_s
from vkyc.repositories.settings import GLOBAL_SCOPE, effective_settings, stored_settings
from vkyc.repositories.tables import (
    ALL_MODELS,
    Agent,
    ApiKey,
    Dossier,
    Group,
    Hotline,
    Setting,
    SubTypePolicy,
    Unit,
)
from vkyc.repositories.users import get_user, put_user, users_of_unit
from vkyc.security.passwords import api_key_digest, hash_password, verify


@pytest.fixture
def empty_tables(tables, moto_server):
    """Empty tables under a prefix of their own, so the module's loaded tables stay as they are."""
    with models_bound_to(moto_server.url, f"e{uuid.uuid4().hex[:8]}-"):
        tables.create_all()
        yield tables
        tables.delete_all()


@pytest.fixture(scope="module")
def demo():
    return load_demo_file()


@pytest.fixture(scope="module")
def loaded(tables, demo):
    """The demo written once into the module's (empty) tables, and the summary of that load."""
    return write_demo_data(demo)


def test_units_and_serving_map(loaded):
    units = {u.unit_id: u for u in Unit.scan()}
    assert sorted(units, key=int) == [str(i) for i in range(1, 10)]
    assert units["6"].name == "Công ty khu vực 6"
    assert {k for k, u in units.items() if u.has_agents} == {"1", "2", "3", "5", "8", "9"}
    assert units["4"].served_by == "1" and units["6"].served_by == "1" and units["7"].served_by == "3"
    assert units["1"].served_by is None  # the table's convention: absent = itself


def test_groups_queues_hotlines(loaded, demo):
    assert {g.group_id for g in Group.scan()} == {g.id for g in demo.groups}
    queue = find_queue("kv1-ekyc")
    assert queue is not None
    # Offering order: the front-line team first, the overflow team after 20 s of waiting.
    assert [(g.group_id, g.priority, g.overflow_after_s) for g in queue.groups] == [
        ("kv1-xac-thuc", 1, None),
        ("kv1-du-phong", 2, 20),
    ]
    assert queue.auto_ticket is True
    assert queue.timeout_s is None  # no per-queue override: the unit's setting applies
    assert queue_timeout_s(queue, effective_settings("1")) == demo.settings.queue_timeout_s
    other = find_queue("kv2-ekyc")
    assert other is not None and other.auto_ticket is False
    assert [(g.group_id, g.priority, g.overflow_after_s) for g in other.groups] == [("kv2-xac-thuc", 1, None)]
    hotline = Hotline.get("19001001")
    assert (hotline.unit_id, hotline.queue_id, hotline.allow_call_out) == ("1", "kv1-ekyc", True)
    assert hotline.call_out_group_ids == {"kv1-xac-thuc"}
    assert Hotline.get("19001002").allow_call_out is False


def test_agents_exist_offline_and_log_in_through_the_users_table(loaded, demo):
    for agent in demo.agents:
        item = Agent.get(agent.username)
        assert (item.unit_id, item.name, item.state, item.version) == (
            str(agent.unit),
            agent.name,
            "OFFLINE",
            1,
        )
        assert item.group_ids == set(agent.groups)
        user = get_user(agent.username)
        assert (user.role, user.unit_id, user.display_name, user.agent_id, user.disabled) == (
            UserRole.AGENT.value,
            str(agent.unit),
            agent.name,
            agent.username,
            False,
        )
        assert agent.password not in str(user.serialize())
        assert verify(agent.password, user.password_hash)
        assert not verify(agent.password + "x", user.password_hash)
    for supervisor in demo.supervisors:
        user = get_user(supervisor.username)
        assert (user.role, user.unit_id, user.agent_id) == (
            UserRole.SUPERVISOR.value,
            str(supervisor.unit),
            None,
        )
        assert verify(supervisor.password, user.password_hash)
    assert [u.username for u in users_of_unit("1", UserRole.SUPERVISOR)] == ["gs.kv1"]
    assert {u.username for u in users_of_unit("1", UserRole.AGENT)} == {"tdv1.kv1", "tdv2.kv1", "tdv3.kv1"}


def test_a_stored_hash_that_no_longer_verifies_is_replaced_on_reload(loaded, demo):
    agent = demo.agents[0]
    user = get_user(agent.username)
    put_user(
        agent.username,
        role=UserRole.AGENT,
        unit_id=user.unit_id,
        display_name=user.display_name,
        password_hash=hash_password("someone-changed-it"),
        agent_id=user.agent_id,
    )
    write_demo_data(demo)
    assert verify(agent.password, get_user(agent.username).password_hash)


def test_dossiers_are_in_their_demo_states_with_a_logged_history(loaded, demo):
    repo = DossierRepository()
    for dossier in demo.dossiers:
        item = repo.get(dossier.id)
        assert item.state == dossier.state.value
        assert item.unit_id == str(dossier.unit)
        assert item.subscriber == dossier.customer.subscriber_number
        assert item.kyc_at_counter is dossier.counter_kyc_required
        history = repo.history(dossier.id)
        assert [entry.version for entry in history] == list(range(1, item.version + 1))
        assert history[-1].to_state == dossier.state.value
        assert all(entry.actor == "demo-loader" for entry in history)
    approved = repo.get("HS-KV1-0003")
    assert [e.to_state for e in repo.history("HS-KV1-0003")] == ["N", "W", "A"]
    assert approved.decided_by == "demo-loader"


def test_dossiers_carry_the_customer_the_images_and_the_dealer(loaded, demo):
    repo = DossierRepository()
    for dossier in demo.dossiers:
        item = repo.get(dossier.id)
        customer = dossier.customer
        assert (item.customer.name, item.customer.id_number) == (customer.name, customer.id_number)
        assert (item.sub_type, item.customer_type, item.payment_type) == (
            customer.sub_type,
            customer.customer_type.value,
            customer.payment_type.value,
        )
        assert (item.images.id_front_key, item.images.id_back_key, item.images.portrait_key) == (
            dossier.images.id_front_key,
            dossier.images.id_back_key,
            dossier.images.portrait_key,
        )
        assert (item.dealer_account, item.note) == (dossier.dealer_account, dossier.note)
    flagged = repo.get("HS-KV6-0003")
    assert flagged.kyc_at_counter is True
    assert repo.get("HS-KV4-0003").payment_type == "postpaid"
    assert repo.get("HS-KV1-0001").images.portrait_key == "dossiers/HS-KV1-0001/portrait.jpg"


def test_policy_and_settings(loaded, demo):
    rows = [r for r in SubTypePolicy.scan()]
    assert len(rows) == len(DEFAULT_SUB_TYPE_POLICY) == 27
    index = policy_index(DEFAULT_SUB_TYPE_POLICY)
    for row in rows:
        expected = index[row.sub_type]
        assert (row.name, row.icc_profile, row.khcn, row.khdn) == (
            expected.name,
            expected.icc_profile,
            expected.khcn,
            expected.khdn,
        )
    stored_global = stored_settings()
    assert CallSettings.model_validate(stored_global) == demo.settings
    assert effective_settings() == demo.settings
    # Every field is stored, the optional ones left off as explicit nulls.
    assert set(stored_global) == set(CallSettings.model_fields)
    assert "daily_success_cap_per_subscriber" in stored_global
    assert stored_global["daily_success_cap_per_subscriber"] is None
    assert stored_settings("3") == {"ring_timeout_s": 45}
    assert effective_settings("3").ring_timeout_s == 45
    assert stored_settings("1") == {}
    assert effective_settings("1") == demo.settings


def test_settings_hold_only_global_and_unit_scopes(loaded):
    # The loader's former stopgap scopes (credential, api_key, queue#…, dossier#…) must be gone.
    scopes = {item.scope for item in Setting.scan(consistent_read=True)}
    assert GLOBAL_SCOPE in scopes
    assert all(scope == GLOBAL_SCOPE or scope.startswith("unit#") for scope in scopes), scopes


def test_a_unit_override_to_null_is_stored_and_turns_the_global_value_off(empty_tables):
    raw = tomllib.loads(DEMO_FILE.read_text(encoding="utf-8"))
    raw["settings"]["daily_success_cap_per_subscriber"] = 3
    raw["units"][2]["settings"]["daily_success_cap_per_subscriber"] = None  # unit 3; TOML has no null
    data = parse_demo_data(raw)
    write_demo_data(data)
    assert stored_settings()["daily_success_cap_per_subscriber"] == 3
    assert stored_settings("3") == {"ring_timeout_s": 45, "daily_success_cap_per_subscriber": None}
    assert effective_settings("3").daily_success_cap_per_subscriber is None
    assert effective_settings("1").daily_success_cap_per_subscriber == 3


def test_api_keys_are_stored_as_digests(loaded, demo):
    assert len(list(ApiKey.scan())) == len(demo.api_keys) == 9
    for api_key in demo.api_keys:
        stored = find_api_key(api_key_digest(api_key.key))
        assert stored is not None
        assert (stored.unit_id, stored.name, stored.revoked_at) == (str(api_key.unit), api_key.name, None)
        assert api_key.key not in str(stored.serialize())
    assert find_api_key(api_key_digest("vkyc_not_a_demo_key_0000000000000000")) is None


def test_summary_text_lists_logins_keys_and_units(loaded, demo):
    text = summary_text(loaded)
    for agent in demo.agents:
        assert agent.username in text and agent.password in text
    for supervisor in demo.supervisors:
        assert supervisor.username in text and supervisor.password in text
    for api_key in demo.api_keys:
        assert api_key.key in text
    assert "answered by unit 1" in text
    out = io.StringIO()
    print_summary(loaded, out)
    assert out.getvalue() == text + "\n"
    assert loaded.created == {"agents": len(demo.agents), "dossiers": len(demo.dossiers)}


def _snapshot() -> dict[str, list[dict]]:
    """Every item of every table, as raw attribute maps, minus write stamps of the settings."""
    snapshot = {}
    for model in ALL_MODELS:
        rows = []
        for item in model.scan(consistent_read=True):
            raw = item.serialize()
            if model is Setting:
                raw.pop("updated_at", None)
            rows.append(raw)
        snapshot[model.TABLE] = sorted(rows, key=repr)
    return snapshot


def test_loading_twice_is_idempotent(loaded, demo):
    before = _snapshot()
    summary = write_demo_data(demo)
    assert summary.created == {"agents": 0, "dossiers": 0}
    assert summary.kept == {"agents": len(demo.agents), "dossiers": len(demo.dossiers)}
    assert _snapshot() == before


def test_reload_does_not_rewind_a_dossier_moved_by_a_user(loaded, demo):
    repo = DossierRepository()
    unreachable = repo.get("HS-KV7-0002")
    assert unreachable.state == DossierState.UNREACHABLE.value
    repo.transition(unreachable, DossierEvent.RETRY, request_id="user-retry-1", actor="tdv1.kv3")
    write_demo_data(demo)
    assert repo.get("HS-KV7-0002").state == DossierState.WAITING.value


def test_a_half_finished_load_is_completed(empty_tables, demo):
    repo = DossierRepository()
    target = next(d for d in demo.dossiers if d.state is DossierState.APPROVED)
    # What an interrupted load leaves: the creation written with the loader's request id, nothing else.
    repo.create(
        target.id, unit_id=str(target.unit), request_id=f"demo:{target.id}:0:create", actor="demo-loader"
    )
    write_demo_data(demo)
    assert repo.get(target.id).state == DossierState.APPROVED.value
    assert [e.to_state for e in repo.history(target.id)] == ["N", "W", "A"]


def test_loading_a_broken_file_writes_nothing(empty_tables, tmp_path):
    broken = DEMO_FILE.read_text(encoding="utf-8").replace('username = "tdv2.kv1"', 'username = "tdv1.kv1"')
    path = tmp_path / "demo.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(DemoDataError, match=r"agents\[1\]\.username"):
        load_demo(path)
    for model in ALL_MODELS:
        assert list(model.scan()) == [], model.TABLE


def test_the_demo_dossiers_answer_the_policy_question(loaded):
    # The data an eligibility check reads: Dossier item + policy table, both from the tables.
    rows = list(SubTypePolicy.scan())
    table = [
        PolicyRow(sub_type=r.sub_type, name=r.name, icc_profile=r.icc_profile, khcn=r.khcn, khdn=r.khdn)
        for r in rows
    ]
    dossier = Dossier.get("HS-KV4-0001")
    assert video_call_required(table, dossier.sub_type, dossier.customer_type, dossier.payment_type) is True
    postpaid = Dossier.get("HS-KV4-0003")
    assert (
        video_call_required(table, postpaid.sub_type, postpaid.customer_type, postpaid.payment_type) is False
    )


def test_the_dossiers_pictures_are_put_in_the_bucket_once_and_a_replaced_one_is_kept(demo, moto_server):
    import boto3
    import cv2
    import numpy as np

    from local.demo.images import CARD_SIZE, upload_demo_images

    s3 = boto3.client("s3", endpoint_url=moto_server.url, region_name="ap-southeast-1")
    bucket = f"demo-pictures-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
    first = demo.dossiers[0].images
    s3.put_object(Bucket=bucket, Key=first.portrait_key, Body=b"the integrator's own portrait")

    assert upload_demo_images(demo, s3, bucket) == 3 * len(demo.dossiers) - 1
    for dossier in demo.dossiers:
        for key in (dossier.images.id_front_key, dossier.images.id_back_key):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            card = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
            assert card is not None and card.shape[1::-1] == CARD_SIZE
    portrait = s3.get_object(Bucket=bucket, Key=demo.dossiers[1].images.portrait_key)["Body"].read()
    assert cv2.imdecode(np.frombuffer(portrait, np.uint8), cv2.IMREAD_COLOR) is not None
    assert (
        s3.get_object(Bucket=bucket, Key=first.portrait_key)["Body"].read()
        == b"the integrator's own portrait"
    )
    assert upload_demo_images(demo, s3, bucket) == 0  # a second start writes nothing


def test_a_card_shows_the_name_without_diacritics():
    from local.demo.images import without_diacritics

    assert without_diacritics("Đỗ Văn Hùng") == "Do Van Hung"
    assert without_diacritics("Công ty TNHH Hải Phòng Xanh") == "Cong ty TNHH Hai Phong Xanh"
