"""The protocol's messages: examples, refused extras, field limits, roles and signing per action, errors.

``CLIENT_EXAMPLES`` and ``SERVER_EXAMPLES`` (one valid message per action) are also used by
test_protocol_schema.py, so a new action fails both files until it has an example.
"""

from typing import Any

import pytest
from pydantic import ValidationError

from vkyc.protocol import PROTOCOL_VERSION, signing
from vkyc.protocol.errors import CATALOGUE, ProtocolError
from vkyc.protocol.messages import (
    CLIENT_ACTIONS,
    CLIENT_MESSAGE,
    SERVER_MESSAGE,
    Error,
    Hello,
    Role,
)
from vkyc.services.failures import error_message

KEY = bytes(range(32))
TS = 1767225600000  # 2026-01-01T00:00:00Z


SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
REPLY_TO = {"connection_id": "Ab3dEf9hIjKlMn0=", "request_id": "m-0104"}


def _signed(action: str, seq: int, **fields: Any) -> dict[str, Any]:
    return signing.sign(KEY, {"action": action, "request_id": f"r-{seq}", "seq": seq, "ts": TS, **fields})


CLIENT_EXAMPLES: dict[str, dict[str, Any]] = {
    "session.hello": {
        "action": "session.hello",
        "request_id": "r-0",
        "protocol": PROTOCOL_VERSION,
        "client": "sdk-py/0.1",
    },
    "ping": _signed("ping", 1),
    "session.bye": _signed("session.bye", 2),
    "agent.set_status": _signed("agent.set_status", 3, status="available"),
    "monitor.snapshot": _signed("monitor.snapshot", 4),
    "supervisor.set_agent_status": _signed(
        "supervisor.set_agent_status", 40, agent_id="tdv2.kv1", status="offline", reason="end of shift"
    ),
    "supervisor.monitor": _signed("supervisor.monitor", 41, call_id="c-1", sdp=SDP),
    "supervisor.monitor_stop": _signed("supervisor.monitor_stop", 42, call_id="c-1"),
    "node.heartbeat": _signed("node.heartbeat", 5, address="10.0.0.7:7000", capacity=40, load=3),
    "call.request": _signed("call.request", 6),
    "call.cancel": _signed("call.cancel", 7, call_id="c-1"),
    "call.hangup": _signed("call.hangup", 8, call_id="c-1"),
    "offer.accept": _signed("offer.accept", 9, offer_id="o-1"),
    "offer.reject": _signed("offer.reject", 10, offer_id="o-1", reason="Đang nghỉ"),
    "call.decide": _signed(
        "call.decide", 11, call_id="c-1", decision="C", reason="Ảnh chân dung mờ", snapshot_id="snap-1"
    ),
    "device.register": _signed("device.register", 12, device_id="install-7f3a9c"),
    "device.unregister": _signed("device.unregister", 17, device_id="install-7f3a9c"),
    "callback.start": _signed("callback.start", 13, dossier_id="HS-KV1-0001"),
    "callback.cancel": _signed("callback.cancel", 14, call_id="cb-1"),
    "callback.accept": _signed("callback.accept", 15, call_id="cb-1"),
    "callback.decline": _signed("callback.decline", 16, call_id="cb-1"),
    "media.offer": _signed("media.offer", 18, call_id="c-1", sdp=SDP),
    "media.snapshot": _signed("media.snapshot", 19, call_id="c-1"),
    "media.answer": _signed("media.answer", 20, call_id="c-1", party="mobile", sdp=SDP, reply_to=REPLY_TO),
    "media.snapshot_taken": _signed(
        "media.snapshot_taken",
        21,
        call_id="c-1",
        reply_to=REPLY_TO,
        snapshot_id="snap-20260101T000000123000Z-3f9a2c",
        key="calls/c-1/snapshots/snap-20260101T000000123000Z-3f9a2c.jpg",
        face_found=True,
        face_box=[212, 96, 180, 180],
        sharpness_tenths=1873,
        taken_at_ms=TS + 123,
        width=640,
        height=480,
    ),
    "media.event": _signed(
        "media.event",
        22,
        call_id="c-1",
        kind="link.up",
        party="agent",
        stream=1,
        links={"mobile": "up", "agent": "up"},
    ),
    "media.recording": _signed(
        "media.recording",
        23,
        call_id="c-1",
        key="calls/c-1/recording.webm",
        size=2_345_678,
        duration_ms=183_400,
        sha256="a3" * 32,
        incomplete=False,
        end_reason="completed",
    ),
    "media.error": _signed(
        "media.error",
        24,
        call_id="c-1",
        op="attach",
        code="MEDIA_CODEC_UNSUPPORTED",
        message="the offer has H264 only",
        party="mobile",
        reply_to=REPLY_TO,
    ),
    "media.sync": _signed("media.sync", 25, call_ids=["c-1", "c-2"]),
}

DOSSIER_VIEW: dict[str, Any] = {
    "dossier_id": "HS-KV1-0001",
    "unit_id": "1",
    "state": "W",
    "subscriber": "0901000101",
    "sub_type": "ZP",
    "customer_type": "KHCN",
    "payment_type": "prepaid",
    "customer_name": "Đỗ Văn Hùng",
    "id_number": "001090012345",
    "dealer_account": "dbh.kv1.hanoi01",
    "images": {
        "id_front": "dossiers/HS-KV1-0001/id_front.jpg",
        "id_back": "dossiers/HS-KV1-0001/id_back.jpg",
        "portrait": "dossiers/HS-KV1-0001/portrait.jpg",
    },
}

SERVER_EXAMPLES: dict[str, dict[str, Any]] = {
    "session.welcome": {
        "action": "session.welcome",
        "request_id": "r-0",
        "protocol": 1,
        "session_id": "s-3f9a",
        "role": "mobile",
        "principal_id": "dbh.kv1.hanoi01",
        "unit_id": "1",
        "session_key": signing.b64url(KEY),
        "resume_token": "rt-opaque",
        "resumed": False,
        "last_seq": 0,
        "server_time_ms": TS,
        "heartbeat_interval_s": 60,
        "reconnect_grace_s": 15,
        "renew_after_s": 6600,
    },
    "pong": {"action": "pong", "request_id": "r-1", "server_time_ms": TS + 40},
    "ack": {"action": "ack", "request_id": "r-2"},
    "error": {
        "action": "error",
        "code": "SEQ_REPLAYED",
        "message": "This message was already received.",
        "request_id": "r-2",
        "call_id": None,
    },
    "session.replaced": {
        "action": "session.replaced",
        "code": "SESSION_REPLACED",
        "message": "You logged in on another device.",
    },
    "session.ended": {"action": "session.ended", "reason": "grace_expired"},
    "peer.reconnecting": {"action": "peer.reconnecting", "role": "mobile", "grace_s": 15, "call_id": "c-1"},
    "peer.reconnected": {"action": "peer.reconnected", "role": "mobile", "call_id": "c-1"},
    "peer.left": {"action": "peer.left", "role": "agent", "reason": "grace_expired", "call_id": "c-1"},
    "media.links": {"action": "media.links", "call_id": "c-1", "links": {"mobile": "lost", "agent": "up"}},
    "agent.status": {"action": "agent.status", "agent_id": "tdv1.kv1", "status": "AVAILABLE", "since_ms": TS},
    "monitor.agents": {
        "action": "monitor.agents",
        "request_id": "r-4",
        "agents": [
            {
                "agent_id": "tdv1.kv1",
                "name": "Nguyễn Thị Lan",
                "unit_id": "1",
                "status": "IN_CALL",
                "since_ms": TS,
                "call_id": "c-1",
            }
        ],
        "queues": [{"unit_id": "1", "waiting": 2, "oldest_since_ms": TS}],
    },
    "monitor.agent": {
        "action": "monitor.agent",
        "agent": {
            "agent_id": "tdv2.kv1",
            "name": "Trần Văn Minh",
            "unit_id": "1",
            "status": "AVAILABLE",
            "since_ms": TS,
            "call_id": None,
        },
    },
    "monitor.queue": {
        "action": "monitor.queue",
        "queue": {"unit_id": "1", "waiting": 0, "oldest_since_ms": None},
    },
    "monitor.tiles": {
        "action": "monitor.tiles",
        "tiles": {
            "unit_id": "1",
            "date": "2026-01-01",
            "queued": 3,
            "answered": 2,
            "abandoned": 1,
            "service_level_percent": None,
            "sla_target_percent": 80.0,
            "sla_answer_within_s": 20,
            "avg_speed_of_answer_s": 4.5,
            "longest_wait_today_s": None,
            "waiting": 0,
            "oldest_since_ms": None,
            "agents": {"AVAILABLE": 1},
        },
    },
    "call.queued": {"action": "call.queued", "request_id": "r-6", "call_id": "c-1", "position": 1},
    "call.ringing": {"action": "call.ringing", "call_id": "c-1"},
    "call.offer": {
        "action": "call.offer",
        "offer_id": "o-1",
        "call_id": "c-1",
        "ring_timeout_s": 60,
        "expires_at_ms": TS + 60_000,
        "dossier": DOSSIER_VIEW,
    },
    "offer.withdrawn": {
        "action": "offer.withdrawn",
        "offer_id": "o-1",
        "call_id": "c-1",
        "reason": "rang_out",
    },
    "call.connected": {
        "action": "call.connected",
        "request_id": "r-9",
        "call_id": "c-1",
        "agent_id": "tdv1.kv1",
        "agent_name": "Nguyễn Thị Lan",
    },
    "call.ended": {
        "action": "call.ended",
        "request_id": "r-8",
        "call_id": "c-1",
        "state": "FINISHED",
        "reason": "completed",
        "ended_by": "agent",
    },
    "call.decided": {
        "action": "call.decided",
        "request_id": "r-11",
        "call_id": "c-1",
        "dossier_id": "HS-KV1-0001",
        "dossier_state": "C",
    },
    "call.result": {
        "action": "call.result",
        "call_id": "c-1",
        "decision": "C",
        "reason": "Ảnh chân dung mờ",
        "dossier": {**DOSSIER_VIEW, "state": "C"},
        "snapshot_id": "snap-1",
    },
    "device.unregistered": {
        "action": "device.unregistered",
        "request_id": "r-17",
        "device_id": "install-7f3a9c",
        "unit_id": "1",
        "released": True,
    },
    "device.registered": {
        "action": "device.registered",
        "request_id": "r-12",
        "device_id": "install-7f3a9c",
        "unit_id": "1",
        "new_registration": True,
    },
    "callback.ringing": {
        "action": "callback.ringing",
        "request_id": "r-13",
        "call_id": "cb-1",
        "dossier_id": "HS-KV1-0001",
        "ring_timeout_s": 60,
        "expires_at_ms": TS + 60_000,
        "mobile_online": True,
    },
    "callback.incoming": {
        "action": "callback.incoming",
        "call_id": "cb-1",
        "dossier_id": "HS-KV1-0001",
        "agent_id": "tdv1.kv1",
        "agent_name": "Nguyễn Thị Lan",
        "ring_timeout_s": 60,
        "expires_at_ms": TS + 60_000,
    },
    "media.answer": {"action": "media.answer", "request_id": "r-18", "call_id": "c-1", "sdp": SDP},
    "media.snapshot_taken": {
        "action": "media.snapshot_taken",
        "request_id": "r-19",
        "call_id": "c-1",
        "snapshot_id": "snap-20260101T000000123000Z-3f9a2c",
        "face_found": True,
        "face_box": [212, 96, 180, 180],
        "sharpness": 187.3,
        "taken_at": "2026-01-01T00:00:00.123000Z",
        "width": 640,
        "height": 480,
    },
    "media.attach": {
        "action": "media.attach",
        "call_id": "c-1",
        "party": "mobile",
        "sdp": SDP,
        "answered": False,
        "waiting_media": None,
        "reply_to": REPLY_TO,
    },
    "media.detach": {"action": "media.detach", "call_id": "c-1", "party": "monitor"},
    "media.snapshot_request": {"action": "media.snapshot_request", "call_id": "c-1", "reply_to": REPLY_TO},
    "media.close": {"action": "media.close", "call_id": "c-1", "reason": "completed"},
    "media.recover": {"action": "media.recover", "call_id": "c-1", "min_idle_s": 10},
    "media.sync_result": {"action": "media.sync_result", "request_id": "r-25", "ended": ["c-2"]},
}


def server_actions() -> set[str]:
    return set(SERVER_MESSAGE.json_schema()["discriminator"]["mapping"])


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[dict[str, Any]]:
    return exc.value.errors()


# -- examples ---------------------------------------------------------------------------------------


def test_every_client_action_has_an_example():
    assert set(CLIENT_EXAMPLES) == set(CLIENT_ACTIONS)


def test_every_server_action_has_an_example():
    assert set(SERVER_EXAMPLES) == server_actions()


@pytest.mark.parametrize("action", sorted(CLIENT_EXAMPLES))
def test_client_example_validates(action):
    message = CLIENT_MESSAGE.validate_python(CLIENT_EXAMPLES[action])
    assert isinstance(message, CLIENT_ACTIONS[action])
    assert message.action == action
    assert message.model_dump(exclude_unset=True) == CLIENT_EXAMPLES[action]


@pytest.mark.parametrize("action", sorted(CLIENT_EXAMPLES))
def test_signed_client_examples_verify(action):
    example = CLIENT_EXAMPLES[action]
    assert ("mac" in example) == CLIENT_ACTIONS[action].SIGNED
    if "mac" in example:
        assert signing.verify(KEY, example)


@pytest.mark.parametrize("action", sorted(SERVER_EXAMPLES))
def test_server_example_validates_and_serializes_back(action):
    message = SERVER_MESSAGE.validate_python(SERVER_EXAMPLES[action])
    assert message.action == action
    dumped = SERVER_MESSAGE.dump_python(message, mode="json")
    assert {k: dumped[k] for k in SERVER_EXAMPLES[action]} == SERVER_EXAMPLES[action]


def test_hello_client_defaults_to_empty():
    assert (
        CLIENT_MESSAGE.validate_python({"action": "session.hello", "request_id": "a", "protocol": 1}).client
        == ""
    )


def test_messages_are_frozen():
    hello = CLIENT_MESSAGE.validate_python(CLIENT_EXAMPLES["session.hello"])
    with pytest.raises(ValidationError):
        hello.protocol = 2


# -- refused ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(CLIENT_EXAMPLES))
def test_extra_fields_are_refused(action):
    with pytest.raises(ValidationError) as exc:
        CLIENT_MESSAGE.validate_python({**CLIENT_EXAMPLES[action], "extra": 1})
    [error] = _errors(exc)
    assert error["type"] == "extra_forbidden" and error["loc"][-1] == "extra"


@pytest.mark.parametrize("action", sorted(SERVER_EXAMPLES))
def test_server_messages_refuse_extra_fields_too(action):
    with pytest.raises(ValidationError):
        SERVER_MESSAGE.validate_python({**SERVER_EXAMPLES[action], "extra": 1})


UNKNOWN_ACTION = "media.ice"  # no trickle ICE: offers and answers carry every candidate


def test_unknown_or_missing_action_is_refused():
    assert UNKNOWN_ACTION not in CLIENT_ACTIONS
    with pytest.raises(ValidationError) as exc:
        CLIENT_MESSAGE.validate_python({"action": UNKNOWN_ACTION, "request_id": "a"})
    assert _errors(exc)[0]["type"] == "union_tag_invalid"
    with pytest.raises(ValidationError) as exc:
        CLIENT_MESSAGE.validate_python({"request_id": "a"})
    assert _errors(exc)[0]["type"] == "union_tag_not_found"


@pytest.mark.parametrize("action", sorted(CLIENT_EXAMPLES))
def test_each_required_field_is_named_when_missing(action):
    example = CLIENT_EXAMPLES[action]
    required = [
        n for n, f in CLIENT_ACTIONS[action].model_fields.items() if f.is_required() and n != "action"
    ]
    assert "request_id" in required
    for field in required:
        with pytest.raises(ValidationError) as exc:
            CLIENT_MESSAGE.validate_python({k: v for k, v in example.items() if k != field})
        [error] = _errors(exc)
        assert error["type"] == "missing" and error["loc"] == (action, field)


LIMITS = [
    # (field, value, accepted)
    ("request_id", "a", True),
    ("request_id", "A-z_0.9:x", True),
    ("request_id", "x" * 64, True),
    ("request_id", "", False),
    ("request_id", "x" * 65, False),
    ("request_id", "a b", False),
    ("request_id", "a/b", False),
    ("request_id", "é", False),
    ("request_id", "a\n", False),
    ("request_id", 7, False),
    ("seq", 1, True),
    ("seq", 2**53 - 1, True),
    ("seq", 0, False),
    ("seq", -1, False),
    ("seq", 2**53, False),
    ("ts", 0, True),
    ("ts", -1, False),
    ("mac", "A" * 43, True),
    ("mac", "-_" * 21 + "A", True),
    ("mac", "A" * 42, False),
    ("mac", "A" * 44, False),
    ("mac", "A" * 42 + "=", False),
    ("mac", "A" * 42 + "+", False),
    ("mac", "A" * 42 + "/", False),
]


@pytest.mark.parametrize(("field", "value", "accepted"), LIMITS)
def test_field_limits(field, value, accepted):
    message = {**CLIENT_EXAMPLES["ping"], field: value}
    if accepted:
        CLIENT_MESSAGE.validate_python(message)
        return
    with pytest.raises(ValidationError) as exc:
        CLIENT_MESSAGE.validate_python(message)
    [error] = _errors(exc)
    assert error["loc"] == ("ping", field)


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        ("session.hello", "protocol", 0),
        ("session.hello", "protocol", 1001),
        ("session.hello", "client", "x" * 201),
        ("agent.set_status", "status", "IN_CALL"),
        ("agent.set_status", "status", "AVAILABLE"),
        ("node.heartbeat", "address", ""),
        ("node.heartbeat", "capacity", -1),
        ("node.heartbeat", "load", 10_001),
        ("call.cancel", "call_id", ""),
        ("call.cancel", "call_id", "x" * 65),
        ("call.hangup", "call_id", "c/1"),
        ("call.hangup", "call_id", 1),
        ("offer.accept", "offer_id", ""),
        ("offer.accept", "offer_id", "o 1"),
        ("offer.reject", "offer_id", "x" * 65),
        ("offer.reject", "reason", "x" * 501),
        ("call.decide", "decision", "X"),
        ("call.decide", "decision", "a"),
        ("call.decide", "decision", "approved"),
        ("call.decide", "reason", "x" * 501),
        ("call.decide", "snapshot_id", "snapshots/1.jpg"),
        ("call.decide", "snapshot_id", ""),
    ],
)
def test_action_field_limits(action, field, value):
    with pytest.raises(ValidationError) as exc:
        CLIENT_MESSAGE.validate_python({**CLIENT_EXAMPLES[action], field: value})
    assert [e["loc"] for e in _errors(exc)] == [(action, field)]


def test_reasons_and_snapshot_are_optional():
    reject = CLIENT_MESSAGE.validate_python(
        {k: v for k, v in CLIENT_EXAMPLES["offer.reject"].items() if k != "reason"}
    )
    assert reject.reason == ""
    decide = CLIENT_MESSAGE.validate_python(
        {k: v for k, v in CLIENT_EXAMPLES["call.decide"].items() if k not in ("reason", "snapshot_id")}
    )
    assert decide.reason == "" and decide.snapshot_id is None
    assert CLIENT_MESSAGE.validate_python({**CLIENT_EXAMPLES["call.decide"], "reason": "x" * 500})


@pytest.mark.parametrize("decision", ["A", "R", "C", "D"])
def test_every_decision_letter_is_accepted(decision):
    assert CLIENT_MESSAGE.validate_python({**CLIENT_EXAMPLES["call.decide"], "decision": decision})


@pytest.mark.parametrize("value", ["2", 2.0, True])
def test_integers_are_strict(value):
    with pytest.raises(ValidationError):
        CLIENT_MESSAGE.validate_python({**CLIENT_EXAMPLES["ping"], "seq": value})


# -- roles and signing ------------------------------------------------------------------------------

EVERYONE = {Role.MOBILE, Role.AGENT, Role.SUPERVISOR, Role.MEDIA}
CONTRACT_ROLES = {
    "session.hello": EVERYONE,
    "ping": EVERYONE,
    "session.bye": EVERYONE,
    "agent.set_status": {Role.AGENT},
    "monitor.snapshot": {Role.SUPERVISOR},
    "supervisor.set_agent_status": {Role.SUPERVISOR},
    "supervisor.monitor": {Role.SUPERVISOR},
    "supervisor.monitor_stop": {Role.SUPERVISOR},
    "node.heartbeat": {Role.MEDIA},
    "call.request": {Role.MOBILE},
    "call.cancel": {Role.MOBILE},
    "call.hangup": {Role.MOBILE, Role.AGENT},
    "offer.accept": {Role.AGENT},
    "offer.reject": {Role.AGENT},
    "call.decide": {Role.AGENT},
    "device.register": {Role.MOBILE},
    "device.unregister": {Role.MOBILE},
    "callback.start": {Role.AGENT},
    "callback.cancel": {Role.AGENT},
    "callback.accept": {Role.MOBILE},
    "callback.decline": {Role.MOBILE},
    "media.offer": {Role.MOBILE, Role.AGENT},
    "media.snapshot": {Role.AGENT},
    "media.answer": {Role.MEDIA},
    "media.snapshot_taken": {Role.MEDIA},
    "media.event": {Role.MEDIA},
    "media.recording": {Role.MEDIA},
    "media.error": {Role.MEDIA},
    "media.sync": {Role.MEDIA},
}


def test_roles_per_action_are_the_contract():
    assert {action: set(cls.ROLES) for action, cls in CLIENT_ACTIONS.items()} == CONTRACT_ROLES


def test_only_hello_is_unsigned():
    assert [action for action, cls in CLIENT_ACTIONS.items() if not cls.SIGNED] == ["session.hello"]
    assert Hello.SIGNED is False


@pytest.mark.parametrize("action", sorted(CLIENT_ACTIONS))
def test_signed_messages_require_seq_ts_and_mac(action):
    cls = CLIENT_ACTIONS[action]
    fields = {"seq", "ts", "mac"}
    if cls.SIGNED:
        assert fields <= {n for n, f in cls.model_fields.items() if f.is_required()}
    else:
        assert not fields & set(cls.model_fields)


def test_hello_refuses_signing_fields():
    with pytest.raises(ValidationError):
        CLIENT_MESSAGE.validate_python({**CLIENT_EXAMPLES["session.hello"], "seq": 1})


# -- errors -----------------------------------------------------------------------------------------


def test_protocol_error_refuses_unknown_codes():
    with pytest.raises(ValueError, match="NO_SUCH_CODE"):
        ProtocolError("NO_SUCH_CODE")


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_protocol_error_knows_every_catalogue_code(code):
    error = ProtocolError(code, call_id="c-1")
    assert error.code == code and error.info is CATALOGUE[code] and error.call_id == "c-1"
    assert error.message == CATALOGUE[code].message


def test_protocol_error_message_carries_the_detail():
    error = ProtocolError("BAD_MESSAGE", "Field seq: must be at least 1.")
    assert error.message == "The message does not match the protocol. Field seq: must be at least 1."
    assert str(error) == "BAD_MESSAGE: Field seq: must be at least 1."


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_catalogue_entries_are_complete(code):
    info = CATALOGUE[code]
    assert info.code == code and code.isupper() and " " not in code
    assert 400 <= info.http_status <= 599
    assert info.message and info.when and info.what_to_do


@pytest.mark.parametrize("code", sorted(CATALOGUE))
@pytest.mark.parametrize(("request_id", "call_id"), [("r-7", "c-9"), (None, None)])
def test_the_error_message_of_every_catalogue_code_is_the_error_server_message(code, request_id, call_id):
    error = ProtocolError(code, "Detail for people.", call_id=call_id)
    reply = error_message(error, request_id)
    parsed = SERVER_MESSAGE.validate_python(reply)
    assert isinstance(parsed, Error)
    assert (parsed.code, parsed.request_id, parsed.call_id) == (code, request_id, call_id)
    assert parsed.message == f"{CATALOGUE[code].message} Detail for people."
    assert parsed.model_dump(mode="json") == reply, "no field the schema does not know, none it lacks"
