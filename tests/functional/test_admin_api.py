"""The admin API (``/admin/v1``) on moto, through the REST layer as the Chalice app binds it: validation
errors name the field, a stale ``If-Match`` is 412 and changes nothing, each in-use refusal has its code,
every write has its audit entry with before and after, a unit admin cannot touch another unit's objects.

The demo is loaded once into the module's tables (through the admin service, as ``make up`` does); each
test works on objects of its own or puts back what it changed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.demo.load import write_demo_data
from local.demo.schema import load_demo_file
from vkyc.domain.media import choose_node
from vkyc.protocol.errors import CATALOGUE
from vkyc.repositories import media_nodes, tables
from vkyc.repositories.settings import effective_settings
from vkyc.services.auth import AuthService, LoginRequest
from vkyc.services.integrator_auth import check_key

ADMIN = ("admin", "demo-admin-1")
UNIT_ADMIN = ("qt.kv1", "demo-qt-kv1")
SUPERVISOR = ("gs.kv1", "demo-gs-kv1")


@pytest.fixture(scope="module")
def app(tables):  # the tables must be bound before the app's services are built
    write_demo_data(load_demo_file())
    import functions.admin.app as admin_app

    return admin_app


def token(who: tuple[str, str]) -> str:
    return AuthService().login(LoginRequest(username=who[0], password=who[1])).token


@pytest.fixture(scope="module")
def admin(app):
    return Client(app, token(ADMIN))


@pytest.fixture(scope="module")
def unit_admin(app):
    return Client(app, token(UNIT_ADMIN))


class Answer:
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers

    @property
    def code(self) -> str | None:
        return self.body.get("code")

    def field(self) -> str:
        return self.body["fields"][0]["field"]


class Client:
    """Calls ``functions/admin/app.py``'s endpoints by name, as its Chalice glue does."""

    def __init__(self, app: Any, bearer: str) -> None:
        self.app, self.bearer = app, bearer

    def __call__(self, name: str, body: Any = None, *, if_match: str | None = None, **params: Any) -> Answer:
        from vkyc.api.routes import RestRequest

        endpoint = self.app.rest_api().routes[name][0]
        path_names = {p.strip("{}") for p in endpoint.path.split("/") if p.startswith("{")}
        path = {k: str(v) for k, v in params.items() if k in path_names}
        query = {k: [str(v)] for k, v in params.items() if k not in path_names}
        headers = {"authorization": f"Bearer {self.bearer}", "content-type": "application/json"}
        if if_match is not None:
            headers["if-match"] = if_match
        raw = json.dumps(body).encode() if body is not None else None
        answer = self.app.rest_api().handle(
            name, RestRequest(endpoint.method, path_params=path, query=query, headers=headers, body=raw)
        )
        if answer.status >= 400:
            assert CATALOGUE[answer.body["code"]].http_status == answer.status
        return Answer(answer.status, answer.body, answer.headers)


def audit_of(kind: str, object_id: str) -> list[tables.AdminAudit]:
    """Today's audit entries of one object, but the demo loader's."""
    today = datetime.now(UTC).date().isoformat()
    return [
        e
        for e in tables.AdminAudit.query(today)
        if e.kind == kind and e.object_id == object_id and e.actor != "demo-loader"
    ]


def slug() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def new_group(admin: Client, unit: int = 1, **extra: Any) -> dict[str, Any]:
    body = {"id": slug(), "unit": unit, "name": "Test group", **extra}
    answer = admin("admin_groups_create", body)
    assert answer.status == 200, answer.body
    return answer.body


# -- who may ---------------------------------------------------------------------------------------------


def test_a_supervisor_token_is_refused_with_admin_required(app):
    answer = Client(app, token(SUPERVISOR))("admin_groups_list")
    assert (answer.status, answer.code) == (403, "ADMIN_REQUIRED")


def test_a_unit_admin_cannot_touch_another_units_group_and_nothing_is_written(unit_admin, admin):
    before = admin("admin_groups_get", object_id="kv2-xac-thuc")
    change = {**before.body["item"], "name": "Hijacked"}
    answer = unit_admin("admin_groups_update", change, object_id="kv2-xac-thuc", if_match=before.body["etag"])
    assert (answer.status, answer.code) == (403, "ADMIN_OTHER_UNIT")
    assert unit_admin("admin_groups_get", object_id="kv2-xac-thuc").code == "ADMIN_OTHER_UNIT"
    created = unit_admin("admin_groups_create", {"id": slug(), "unit": 2, "name": "Sneaky"})
    assert created.code == "ADMIN_OTHER_UNIT"
    after = admin("admin_groups_get", object_id="kv2-xac-thuc")
    assert after.body == before.body
    assert audit_of("groups", "kv2-xac-thuc") == []


def test_a_unit_admin_sees_only_its_reach_and_may_not_change_shared_things(unit_admin):
    units = {g["item"]["unit"] for g in unit_admin("admin_groups_list", limit=200).body["items"]}
    assert units == {1}
    assert unit_admin("admin_settings_patch", {"set": {"ring_timeout_s": 30}}).code == "ADMIN_SYSTEM_ONLY"
    assert unit_admin("admin_units_update", {"id": 1, "name": "x", "serves": [1]}, unit_id=1).code == (
        "ADMIN_SYSTEM_ONLY"
    )
    assert (
        unit_admin("admin_settings_patch", {"set": {"ring_timeout_s": 30}}, unit=2).code == "ADMIN_OTHER_UNIT"
    )
    me = unit_admin("admin_me").body
    assert (me["unit"], me["reach"], me["system"]) == (1, [1, 4, 6], False)


def test_a_unit_admin_changes_its_own_units_objects(unit_admin):
    group = new_group(unit_admin)
    assert group["item"]["unit"] == 1
    audit = audit_of("groups", group["item"]["id"])
    assert [(e.actor, e.action, e.unit_id) for e in audit] == [("qt.kv1", "create", "1")]


# -- validation --------------------------------------------------------------------------------------------


def test_a_bad_field_is_refused_naming_it_and_nothing_is_stored(admin):
    bad = {"id": slug(), "unit": 1, "name": "Q", "groups": [{"group": "kv1-xac-thuc", "priority": 0}]}
    answer = admin("admin_queues_create", bad)
    assert (answer.status, answer.code, answer.field()) == (400, "BAD_MESSAGE", "groups.0.priority")
    assert answer.body["fields"][0]["message"]
    misspelt = admin("admin_groups_create", {"id": slug(), "unit": 1, "name": "G", "custmer_types": []})
    assert (misspelt.code, misspelt.field()) == ("BAD_MESSAGE", "custmer_types")
    assert admin("admin_queues_get", object_id=bad["id"]).code == "ADMIN_NOT_FOUND"


def test_a_check_across_fields_is_filed_under_its_field(admin):
    only_overflow = {
        "id": slug(),
        "unit": 1,
        "name": "Q",
        "groups": [{"group": "kv1-xac-thuc", "overflow_after_s": 10}],
    }
    assert admin("admin_queues_create", only_overflow).field() == "groups"
    agent_without_group = {
        "username": "t.nogroup",
        "name": "N",
        "role": "agent",
        "unit": 1,
        "password": "x" * 10,
    }
    assert admin("admin_users_create", agent_without_group).field() == "groups"


def test_a_reference_to_another_units_group_is_refused_naming_the_field(admin):
    queue = {"id": slug(), "unit": 1, "name": "Q", "groups": [{"group": "kv2-xac-thuc"}]}
    answer = admin("admin_queues_create", queue)
    assert (answer.status, answer.code, answer.field()) == (422, "ADMIN_REFERENCE_INVALID", "groups.0.group")
    assert "unit 2" in answer.body["message"]
    assert admin("admin_queues_get", object_id=queue["id"]).code == "ADMIN_NOT_FOUND"


def test_an_overflow_delay_not_below_the_queue_timeout_is_refused(admin):
    queue = {
        "id": slug(),
        "unit": 1,
        "name": "Q",
        "timeout_s": 60,
        "groups": [
            {"group": "kv1-xac-thuc"},
            {"group": "kv1-du-phong", "priority": 2, "overflow_after_s": 60},
        ],
    }
    assert admin("admin_queues_create", queue).field() == "groups.1.overflow_after_s"


def test_a_bad_setting_is_refused_naming_it(admin):
    answer = admin("admin_settings_patch", {"set": {"ring_timeout_s": 0}})
    assert (answer.code, answer.field()) == ("BAD_MESSAGE", "set.ring_timeout_s")
    answer = admin("admin_settings_patch", {"set": {"ring_timout_s": 10}})
    assert (answer.code, answer.field()) == ("BAD_MESSAGE", "set.ring_timout_s")
    assert effective_settings().ring_timeout_s == 60


# -- optimistic concurrency -------------------------------------------------------------------------------


def test_a_stale_if_match_gets_412_and_changes_nothing(admin):
    group = new_group(admin)
    gid, first = group["item"]["id"], group["etag"]
    changed = admin(
        "admin_groups_update", {**group["item"], "name": "Renamed"}, object_id=gid, if_match=first
    )
    assert changed.status == 200 and changed.body["etag"] != first
    assert changed.headers["ETag"] == changed.body["etag"]
    stale = admin("admin_groups_update", {**group["item"], "name": "Stale"}, object_id=gid, if_match=first)
    assert (stale.status, stale.code) == (412, "PRECONDITION_FAILED")
    assert admin("admin_groups_delete", object_id=gid, if_match=first).code == "PRECONDITION_FAILED"
    assert admin("admin_groups_get", object_id=gid).body["item"]["name"] == "Renamed"
    assert [e.action for e in audit_of("groups", gid)] == ["create", "update"]


def test_a_stale_settings_etag_gets_412_and_changes_nothing(admin):
    first = admin("admin_settings_get", unit=5).body["etag"]
    assert (
        admin("admin_settings_patch", {"set": {"wrap_up_limit_s": 100}}, unit=5, if_match=first).status == 200
    )
    stale = admin("admin_settings_patch", {"set": {"wrap_up_limit_s": 200}}, unit=5, if_match=first)
    assert stale.code == "PRECONDITION_FAILED"
    assert effective_settings("5").wrap_up_limit_s == 100


# -- in use -----------------------------------------------------------------------------------------------


def test_a_queue_a_hotline_sends_calls_to_is_not_deleted(admin):
    answer = admin("admin_queues_delete", object_id="kv1-ekyc")
    assert (answer.status, answer.code) == (409, "QUEUE_IN_USE")
    assert admin("admin_queues_get", object_id="kv1-ekyc").status == 200


def test_a_queue_with_waiting_calls_is_not_deleted(admin):
    qid = slug()
    assert admin(
        "admin_queues_create", {"id": qid, "unit": 2, "name": "Q", "groups": [{"group": "kv2-xac-thuc"}]}
    )
    call = tables.Call(
        f"call-{uuid.uuid4().hex[:8]}",
        direction="in",
        unit_id="2",
        queue_id=qid,
        waiting_in="2",
        state="Q",
        version=1,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
        last_request_id="t",
    )
    call.save()
    try:
        answer = admin("admin_queues_delete", object_id=qid)
        assert (answer.code, "waiting" in answer.body["message"]) == ("QUEUE_IN_USE", True)
    finally:
        call.delete()
    assert admin("admin_queues_delete", object_id=qid).status == 200


def test_a_group_that_is_a_hotlines_only_route_is_not_deleted(admin):
    answer = admin("admin_groups_delete", object_id="kv2-xac-thuc")
    assert (answer.status, answer.code) == (409, "GROUP_ONLY_ROUTE")
    overflow = admin("admin_groups_delete", object_id="kv1-du-phong")
    assert overflow.code == "GROUP_IN_USE"


def test_a_group_with_members_is_not_deleted_and_an_empty_one_is(admin):
    group = new_group(admin)
    gid = group["item"]["id"]
    user = {
        "username": f"t.{uuid.uuid4().hex[:6]}",
        "name": "M",
        "role": "agent",
        "unit": 1,
        "groups": [gid],
        "password": "member-pass-1",
    }
    assert admin("admin_users_create", user).status == 200
    assert admin("admin_groups_delete", object_id=gid).code == "GROUP_IN_USE"
    assert admin("admin_users_delete", username=user["username"]).status == 200
    agent = tables.Agent.get(user["username"])
    agent.update([tables.Agent.group_ids.remove()])  # a deleted account's state item keeps its groups
    assert admin("admin_groups_delete", object_id=gid).status == 200
    assert [e.action for e in audit_of("groups", gid)] == ["create", "delete"]
    assert audit_of("groups", gid)[-1].before["id"] == gid and audit_of("groups", gid)[-1].after is None


def test_a_unit_with_objects_is_not_deleted(admin):
    answer = admin("admin_units_delete", unit_id=2)
    assert (answer.status, answer.code) == (409, "UNIT_IN_USE")


def test_an_agent_in_a_call_is_not_deleted_and_is_disabled_after_the_call(app, admin):
    username = f"t.{uuid.uuid4().hex[:6]}"
    spec = {
        "username": username,
        "name": "Busy",
        "role": "agent",
        "unit": 1,
        "groups": ["kv1-xac-thuc"],
        "password": "busy-pass-12",
    }
    assert admin("admin_users_create", spec).status == 200
    tables.Agent(username).update([tables.Agent.state.set("IN_CALL")])
    assert admin("admin_users_delete", username=username).code == "USER_IN_CALL"
    moved = admin(
        "admin_users_update",
        {"name": "Busy", "role": "agent", "unit": 2, "groups": ["kv2-xac-thuc"]},
        username=username,
    )
    assert moved.code == "USER_IN_CALL"
    disabled = admin("admin_users_disable", username=username)
    assert (disabled.status, disabled.body["deferred"]) == (200, "USER_IN_CALL")
    assert disabled.body["item"]["disable_after_call"] is True and disabled.body["item"]["disabled"] is False
    from vkyc.services.admin import SYSTEM

    assert app.services()[1].finish_deferred_disables(SYSTEM) == 0  # still in the call
    tables.Agent(username).update([tables.Agent.state.set("AVAILABLE")])
    assert app.services()[1].finish_deferred_disables(SYSTEM) == 1
    view = admin("admin_users_get", username=username).body["item"]
    assert (view["disabled"], view["disable_after_call"]) == (True, False)
    assert [e.action for e in audit_of("users", username)] == ["create", "disable_after_call", "disable"]


# -- accounts ---------------------------------------------------------------------------------------------


def test_an_agent_created_by_the_admin_logs_in_and_a_disabled_one_is_cut_off(admin):
    group = new_group(admin)
    username = f"t.{uuid.uuid4().hex[:6]}"
    spec = {
        "username": username,
        "name": "New agent",
        "role": "agent",
        "unit": 1,
        "groups": [group["item"]["id"]],
        "password": "new-agent-pass",
    }
    created = admin("admin_users_create", spec)
    assert created.status == 200 and created.body["password"] is None
    assert "new-agent-pass" not in json.dumps(audit_of("users", username)[0].after)
    grant = AuthService().login(LoginRequest(username=username, password="new-agent-pass"))
    assert tables.Agent.get(username).group_ids == {group["item"]["id"]}
    assert admin("admin_users_disable", username=username).body["item"]["disabled"] is True
    from vkyc.protocol.errors import ProtocolError

    with pytest.raises(ProtocolError) as refused:
        AuthService().principal_of(grant.token)
    assert refused.value.code in ("ACCOUNT_DISABLED", "TOKEN_REVOKED")
    assert admin("admin_users_enable", username=username).body["item"]["disabled"] is False


def test_a_reset_password_must_be_changed_at_the_next_login(admin):
    from vkyc.protocol.errors import ProtocolError

    username = f"t.{uuid.uuid4().hex[:6]}"
    admin(
        "admin_users_create",
        {"username": username, "name": "S", "role": "supervisor", "unit": 1, "password": "first-pass-1"},
    )
    reset = admin("admin_users_password", {}, username=username)
    temporary = reset.body["password"]
    assert temporary and reset.body["item"]["must_change_password"] is True
    auth = AuthService()
    with pytest.raises(ProtocolError) as refused:
        auth.login(LoginRequest(username=username, password=temporary))
    assert refused.value.code == "PASSWORD_CHANGE_REQUIRED"
    with pytest.raises(ProtocolError):
        auth.login(LoginRequest(username=username, password="first-pass-1", new_password="chosen-pass-1"))
    auth.login(LoginRequest(username=username, password=temporary, new_password="chosen-pass-1"))
    auth.login(LoginRequest(username=username, password="chosen-pass-1"))
    assert admin("admin_users_get", username=username).body["item"]["must_change_password"] is False


# -- integrator API keys ----------------------------------------------------------------------------------


def test_a_key_is_shown_once_rotated_with_an_overlap_and_revoked(app, admin, monkeypatch):
    created = admin("admin_api_keys_create", {"unit": 2, "name": "CRM"})
    secret, kid = created.body["secret"], created.body["item"]["id"]
    assert check_key(secret).unit_id == "2"
    listed = admin("admin_api_keys_list", unit=2).body["items"]
    assert any(k["item"]["id"] == kid for k in listed) and secret not in json.dumps(listed)
    rotated = admin("admin_api_keys_rotate", {"overlap_s": 3600}, key_id=kid)
    new_secret = rotated.body["secret"]
    assert new_secret != secret
    assert check_key(secret).unit_id == "2" and check_key(new_secret).unit_id == "2"  # the overlap
    old = admin("admin_api_keys_list", q=kid).body["items"][0]["item"]
    assert old["rotated_to"] == rotated.body["item"]["id"]
    assert datetime.fromisoformat(old["revoked_at"]) > datetime.now(UTC) + timedelta(minutes=59)
    revoked = admin("admin_api_keys_revoke", key_id=kid)
    assert revoked.status == 200
    from vkyc.protocol.errors import ProtocolError

    with pytest.raises(ProtocolError):
        check_key(secret)
    assert check_key(new_secret).unit_id == "2"
    assert [e.action for e in audit_of("api_keys", kid)] == ["rotate", "revoke"] or [
        e.action for e in audit_of("api_keys", kid)
    ] == ["create", "revoke"]


# -- settings, blacklist ----------------------------------------------------------------------------------


def test_settings_show_each_effective_value_and_where_it_comes_from(admin):
    unit3 = admin("admin_settings_get", unit=3).body
    assert unit3["stored"]["ring_timeout_s"] == 45
    assert unit3["effective"]["ring_timeout_s"] == {"value": 45, "source": "unit"}
    assert unit3["effective"]["queue_timeout_s"] == {"value": 180, "source": "global"}
    assert unit3["effective"]["approve_requires_face"]["source"] in ("global", "default")


CRM = "https://crm.example.vn"


@pytest.fixture
def frames_the_crm(app, monkeypatch):
    """The deployment lets the pages frame ``CRM`` only (``VKYC_FRAME_ORIGINS``, read when the app's
    services are built: the browser tests run it from the environment)."""
    monkeypatch.setattr(app.services()[2], "frame_origins", (CRM,))


def set_settings(admin: Client, unit: int, values: dict[str, Any]) -> Answer:
    answer = admin("admin_settings_patch", {"set": values}, unit=unit)
    assert answer.status == 200, answer.body
    return answer


def test_a_panel_url_the_pages_may_not_frame_is_saved_with_a_warning_naming_its_origin(admin, frames_the_crm):
    url = "https://other.example.com/kyc?call={callId}"
    answer = set_settings(admin, 5, {"popup_answer_url": url, "popup_answer_target": "panel"})
    (warning,) = answer.body["warnings"]
    assert (warning["code"], warning["setting"]) == ("ANSWER_URL_NOT_FRAMEABLE", "popup_answer_url")
    assert "https://other.example.com" in warning["detail"] and CRM in warning["detail"]
    assert effective_settings("5").popup_answer_url == url  # saved all the same
    assert admin("admin_settings_get", unit=5).body["warnings"] == [warning]  # and read again
    assert admin("admin_settings_get", unit=6).body["warnings"] == []  # another unit's is not this one's
    # The incoming / call-out iframe URLs are shown in the panel whatever the target.
    answer = set_settings(
        admin, 5, {"popup_answer_target": "tab", "incoming_iframe_url": "https://x.example.vn/i"}
    )
    assert [(w["code"], w["setting"]) for w in answer.body["warnings"]] == [
        ("ANSWER_URL_NOT_FRAMEABLE", "incoming_iframe_url")
    ]
    admin(
        "admin_settings_patch",
        {"clear": ["popup_answer_url", "popup_answer_target", "incoming_iframe_url"]},
        unit=5,
    )
    assert admin("admin_settings_get", unit=5).body["warnings"] == []


def test_no_warning_for_a_panel_url_of_a_listed_origin_or_a_url_opened_in_a_new_tab(admin, frames_the_crm):
    listed = "https://CRM.example.vn:443/answer?c={callId}"  # the same origin, as the browser compares it
    answer = set_settings(admin, 8, {"popup_answer_url": listed, "popup_answer_target": "panel"})
    assert answer.body["warnings"] == []
    assert effective_settings("8").popup_answer_url == listed
    elsewhere = "https://other.example.com/kyc"
    answer = set_settings(admin, 8, {"popup_answer_url": elsewhere, "popup_answer_target": "tab"})
    assert answer.body["warnings"] == []  # a new tab is not under the page's policy
    assert effective_settings("8").popup_answer_url == elsewhere
    admin("admin_settings_patch", {"clear": ["popup_answer_url", "popup_answer_target"]}, unit=8)


def test_the_blacklist_imports_a_csv_reporting_bad_and_duplicate_lines_and_exports(admin):
    unit = 8
    csv = "number\n0911111111\nnot-a-number\n+84 911 111 111\n0922222222\n"
    answer = admin("admin_blacklist_import", {"csv": csv}, unit=unit)
    assert answer.status == 200, answer.body
    report = [(line["line"], line["problem"]) for line in answer.body["report"]]
    assert report == [(3, "invalid"), (4, "duplicate")]
    assert (answer.body["added"], answer.body["total"]) == (2, 2)
    assert effective_settings(str(unit)).is_blacklisted("0922222222")
    exported = admin("admin_blacklist_export", unit=unit).body
    assert exported["csv"] == "number\n84911111111\n84922222222\n"
    removed = admin("admin_blacklist_remove", number="0911111111", unit=unit)
    assert removed.body["numbers"] == ["84922222222"]
    bad = admin("admin_blacklist_add", {"number": "12"}, unit=unit)
    assert (bad.code, bad.field()) == ("BAD_MESSAGE", "number")
    entries = audit_of("blacklist", "unit#8")
    assert [e.action for e in entries] == ["import", "remove"]
    assert entries[0].after["added"] == ["84911111111", "84922222222"]


# -- media nodes ------------------------------------------------------------------------------------------


def test_a_drained_node_gets_no_new_call_and_undrained_it_does(admin):
    now = datetime.now(UTC)
    node_id = f"node-{uuid.uuid4().hex[:6]}"
    media_nodes.record_heartbeat(node_id, "10.0.0.9", 8, 0, at=now, connection_id="c1", session_id="s1")
    drained = admin("admin_media_node_drain", node_id=node_id)
    assert drained.body["draining"] is True
    nodes = [media_nodes.view(n) for n in media_nodes.all_nodes() if n.node_id == node_id]
    assert choose_node(nodes, now) != nodes[0]
    media_nodes.record_heartbeat(node_id, "10.0.0.9", 8, 1, at=now, connection_id="c1", session_id="s1")
    assert media_nodes.find(node_id).draining is True  # a heartbeat does not undrain it
    listed = {n["node_id"]: n for n in admin("admin_media_nodes").body["nodes"]}
    assert listed[node_id]["load"] == 1 and listed[node_id]["draining"] is True
    admin("admin_media_node_undrain", node_id=node_id)
    nodes = [media_nodes.view(n) for n in media_nodes.all_nodes() if n.node_id == node_id]
    assert choose_node(nodes, now) == nodes[0]
    assert [e.action for e in audit_of("media_nodes", node_id)] == ["drain", "undrain"]


# -- the audit log ----------------------------------------------------------------------------------------


def test_the_audit_log_is_read_with_filters(admin, unit_admin):
    group = new_group(admin, unit=2)
    gid = group["item"]["id"]
    admin("admin_groups_update", {**group["item"], "name": "Audited"}, object_id=gid, if_match=group["etag"])
    log = admin("admin_audit", kind="groups", object_id=gid).body
    assert [(e["action"], e["actor"]) for e in log["entries"]] == [("update", "admin"), ("create", "admin")]
    update = log["entries"][0]
    assert (update["before"]["name"], update["after"]["name"]) == ("Test group", "Audited")
    assert unit_admin("admin_audit", object_id=gid).body["entries"] == []  # unit 2 is not in its reach
    assert admin("admin_audit", actor="nobody").body["total"] == 0
    today = datetime.now(UTC).date()
    dated = admin("admin_audit", object_id=gid, **{"from": today.isoformat(), "to": today.isoformat()})
    assert dated.body["total"] == 2
    too_long = admin("admin_audit", **{"from": (today - timedelta(days=40)).isoformat()})
    assert (too_long.code, too_long.field()) == ("BAD_MESSAGE", "from")


# -- media files --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bucket(moto_server):
    from local.aws import client
    from vkyc import env

    s3 = client("s3", moto_server.url)
    name = env.bucket_name()
    if name not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        where = {"LocationConstraint": env.region()}
        s3.create_bucket(
            Bucket=name, **({} if env.region() == "us-east-1" else {"CreateBucketConfiguration": where})
        )
    return name


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 200


def test_an_uploaded_ringtone_is_checked_then_set_and_a_fake_one_is_rejected(admin, bucket):
    from tests.integration.integrator_http import upload

    form = admin("admin_media_form", {"purpose": "ringtone", "content_type": "audio/mpeg"}, unit=9)
    assert form.status == 200, form.body
    assert form.body["max_bytes"] == 1_000_000 and form.body["key"].startswith("media/ringtones/")
    status, _ = upload(form.body, MP3, "audio/mpeg")
    assert status in (200, 201, 204)
    checked = admin("admin_media_check", {"key": form.body["key"]}, unit=9)
    assert checked.status == 200, checked.body
    assert effective_settings("9").ringtone == form.body["key"]

    fake = admin("admin_media_form", {"purpose": "ringtone", "content_type": "audio/mpeg"}, unit=9).body
    upload(fake, b"<html>" + b"x" * 200, "audio/mpeg")  # not an MP3, whatever it says
    rejected = admin("admin_media_check", {"key": fake["key"]}, unit=9)
    assert (rejected.status, rejected.code) == (422, "MEDIA_FILE_REJECTED")
    assert effective_settings("9").ringtone == form.body["key"]
    too_big = admin("admin_media_form", {"purpose": "ringtone", "content_type": "video/mp4"}, unit=9)
    assert (too_big.code, too_big.field()) == ("BAD_MESSAGE", "content_type")


# -- every write is audited ---------------------------------------------------------------------------------


def test_every_kind_of_write_leaves_one_audit_entry_with_before_and_after(admin):
    def entries() -> list[tables.AdminAudit]:
        today = datetime.now(UTC).date().isoformat()
        return [e for e in tables.AdminAudit.query(today, consistent_read=True) if e.actor == "admin"]

    def audited(name: str, body: Any = None, *, created: bool = False, deleted: bool = False, **params: Any):
        before = len(entries())
        answer = admin(name, body, **params)
        assert answer.status == 200, (name, answer.body)
        new = entries()[before:]
        assert len(new) == 1, (name, [(e.kind, e.action) for e in new])
        entry = new[0]
        assert (entry.before is None) == created, name
        assert (entry.after is None) == deleted, name
        assert entry.at and entry.actor == "admin"
        return answer

    gid, qid, number, sub_type = (
        slug(),
        slug(),
        f"19{uuid.uuid4().int % 10**6:06d}",
        f"T{uuid.uuid4().hex[:5]}",
    )
    group = {"id": gid, "unit": 5, "name": "G"}
    audited("admin_groups_create", group, created=True)
    audited("admin_groups_update", {**group, "name": "G2"}, object_id=gid)
    queue = {"id": qid, "unit": 5, "name": "Q", "groups": [{"group": gid}]}
    audited("admin_queues_create", queue, created=True)
    audited("admin_queues_update", {**queue, "timeout_s": 90}, object_id=qid)
    hotline = {"number": number, "unit": 5, "name": "H", "queue": qid}
    audited("admin_hotlines_create", hotline, created=True)
    audited("admin_hotlines_update", {**hotline, "allow_call_out": True}, number=number)
    audited("admin_hotlines_delete", number=number, deleted=True)
    audited("admin_queues_delete", object_id=qid, deleted=True)
    audited("admin_groups_delete", object_id=gid, deleted=True)
    unit = {"id": 900 + uuid.uuid4().int % 99, "name": "Test unit"}
    audited("admin_units_create", unit, created=True)
    audited("admin_units_update", {**unit, "name": "Renamed unit"}, unit_id=unit["id"])
    audited("admin_units_delete", unit_id=unit["id"], deleted=True)
    row = {"sub_type": sub_type, "name": "Test", "icc_profile": "TBT2", "khcn": "Y", "khdn": "N"}
    audited("admin_sub_type_policy_create", row, created=True)
    audited("admin_sub_type_policy_update", {**row, "khdn": "Y"}, sub_type=sub_type)
    audited("admin_sub_type_policy_delete", sub_type=sub_type, deleted=True)
    username = f"t.{uuid.uuid4().hex[:6]}"
    audited(
        "admin_users_create",
        {"username": username, "name": "S", "role": "supervisor", "unit": 5, "password": "audited-pass-1"},
        created=True,
    )
    audited("admin_users_update", {"name": "S2", "role": "supervisor", "unit": 5}, username=username)
    audited("admin_users_disable", username=username)
    audited("admin_users_enable", username=username)
    audited("admin_users_password", {"password": "another-pass-1"}, username=username)
    audited("admin_users_delete", username=username, deleted=True)
    key = audited("admin_api_keys_create", {"unit": 5, "name": "K"}, created=True).body["item"]["id"]
    rotated = audited("admin_api_keys_rotate", {"overlap_s": 0}, key_id=key).body["item"]["id"]
    audited("admin_api_keys_revoke", key_id=rotated)
    audited("admin_settings_patch", {"set": {"sla_answer_within_s": 25}}, unit=5)
    audited("admin_settings_patch", {"clear": ["sla_answer_within_s"]}, unit=5)
    audited("admin_blacklist_add", {"number": "0955555555"}, unit=5)
    audited("admin_blacklist_import", {"csv": "0966666666\n"}, unit=5)
    audited("admin_blacklist_remove", number="0955555555", unit=5)
    node_id = f"node-{uuid.uuid4().hex[:6]}"
    media_nodes.record_heartbeat(node_id, "10.0.0.8", 4, 0, at=datetime.now(UTC))
    audited("admin_media_node_drain", node_id=node_id)
    audited("admin_media_node_undrain", node_id=node_id)
