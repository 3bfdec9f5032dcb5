"""Loading the demo data into the tables (moto): what is written, idempotence, nothing from a bad file."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest

from local.demo.load import (
    API_KEY_SCOPE,
    CREDENTIAL_SCOPE,
    GLOBAL_SCOPE,
    load_demo,
    print_summary,
    queue_scope,
    summary_text,
    unit_scope,
    write_demo_data,
)
from local.demo.schema import DEMO_FILE, DemoDataError, load_demo_file
from vkyc import env
from vkyc.domain.dossier import DossierEvent, DossierState
from vkyc.domain.policy import DEFAULT_SUB_TYPE_POLICY, policy_index, video_call_required
from vkyc.domain.policy import SubTypePolicy as PolicyRow
from vkyc.domain.settings import CallSettings, merge_settings
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import (
    ALL_MODELS,
    Agent,
    Dossier,
    Group,
    Hotline,
    Queue,
    Setting,
    SubTypePolicy,
    Unit,
)
from vkyc.security.passwords import api_key_digest, verify


@pytest.fixture
def empty_tables(tables, moto_server):
    """Empty tables under a prefix of their own, so the module's loaded tables stay as they are."""
    module_prefix = tables.prefix()
    tables.bind(moto_server.url, env.region(), f"e{uuid.uuid4().hex[:8]}-")
    tables.create_all()
    yield tables
    tables.delete_all()
    tables.bind(moto_server.url, env.region(), module_prefix)


@pytest.fixture(scope="module")
def demo():
    return load_demo_file()


@pytest.fixture(scope="module")
def loaded(tables, demo):
    """The demo written once into the module's (empty) tables, and the summary of that load."""
    return write_demo_data(demo)


def _settings(scope: str) -> dict[str, Any]:
    return {item.name: item.value for item in Setting.query(scope, consistent_read=True)}


def test_units_and_serving_map(loaded):
    units = {u.unit_id: u for u in Unit.scan()}
    assert sorted(units, key=int) == [str(i) for i in range(1, 10)]
    assert units["6"].name == "Công ty khu vực 6"
    assert {k for k, u in units.items() if u.has_agents} == {"1", "2", "3", "5", "8", "9"}
    assert units["4"].served_by == "1" and units["6"].served_by == "1" and units["7"].served_by == "3"
    assert units["1"].served_by is None  # the table's convention: absent = itself


def test_groups_queues_hotlines(loaded, demo):
    assert {g.group_id for g in Group.scan()} == {g.id for g in demo.groups}
    queue = Queue.get("kv1-ekyc")
    assert queue.group_ids == {"kv1-xac-thuc", "kv1-du-phong"}
    assert queue.timeout_s == demo.settings.queue_timeout_s
    routing = _settings(queue_scope("kv1-ekyc"))["routing"]
    assert {"group": "kv1-du-phong", "priority": 2, "overflow_after_s": 20} in routing["groups"]
    hotline = Hotline.get("19001001")
    assert (hotline.unit_id, hotline.queue_id, hotline.allow_call_out) == ("1", "kv1-ekyc", True)
    assert hotline.call_out_group_ids == {"kv1-xac-thuc"}
    assert Hotline.get("19001002").allow_call_out is False


def test_agents_exist_offline_and_their_passwords_verify(loaded, demo):
    credentials = _settings(CREDENTIAL_SCOPE)
    for agent in demo.agents:
        item = Agent.get(agent.username)
        assert (item.unit_id, item.name, item.state, item.version) == (
            str(agent.unit),
            agent.name,
            "OFFLINE",
            1,
        )
        assert item.group_ids == set(agent.groups)
        stored = credentials[agent.username]
        assert stored["role"] == "agent"
        assert agent.password not in str(stored)
        assert verify(agent.password, stored["password_hash"])
        assert not verify(agent.password + "x", stored["password_hash"])
    for supervisor in demo.supervisors:
        stored = credentials[supervisor.username]
        assert stored["role"] == "supervisor" and stored["unit_id"] == str(supervisor.unit)
        assert verify(supervisor.password, stored["password_hash"])


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
    details = _settings("dossier#HS-KV1-0001")["details"]
    assert details["portrait_key"] == "dossiers/HS-KV1-0001/portrait.jpg"


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
    stored_global = CallSettings.model_validate(_settings(GLOBAL_SCOPE))
    assert stored_global == demo.settings
    unit3 = merge_settings(stored_global, _settings(unit_scope(3)))
    assert unit3.ring_timeout_s == 45
    assert _settings(unit_scope(1)) == {}


def test_api_keys_are_stored_as_digests(loaded, demo):
    stored = _settings(API_KEY_SCOPE)
    assert len(stored) == len(demo.api_keys) == 9
    for api_key in demo.api_keys:
        assert stored[api_key_digest(api_key.key)]["unit_id"] == str(api_key.unit)
        assert api_key.key not in stored


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
    assert video_call_required(table, dossier.sub_type, dossier.customer_type, "prepaid") is True
