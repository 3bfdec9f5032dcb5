"""The DynamoDB tables of vkyc: one PynamoDB model per table, the single definition of each.

The local bootstrap (``create_all``), the tests and the CloudFormation template (``infra.tables``) are all
derived from these classes, so local tables and deployed tables cannot drift apart.

Table names are ``prefix + TABLE`` (``vkyc-dossiers``). ``bind()`` re-points every model at an endpoint,
a region and a prefix; it runs once at import with the values of ``vkyc.env``. Tests call it again with
a moto server on a free port and a prefix of their own.

Conventions
-----------
* Attribute names are the same in Python and in DynamoDB (stream consumers read raw images).
* Times are ``UTCDateTimeAttribute`` strings (``2024-05-01T08:00:00.000000+0000``): readable in a stream
  image and sortable as GSI range keys.
* Every stateful item (dossier, call, offer, agent) is a ``StatefulModel``: ``state``, ``version``,
  ``created_at``, ``updated_at``, ``last_request_id``. Only ``vkyc.repositories.transitions`` writes them.
  Each has a log table keyed by (entity id, ``version``): log entry *n* says how version *n* came to be.
* Outside this package, nobody names a key: services go through the repositories.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import NUMBER, PAY_PER_REQUEST_BILLING_MODE, STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from vkyc import env
from vkyc.domain.direction import is_live_call
from vkyc.repositories import pynamodb_internals

PAY_PER_REQUEST = PAY_PER_REQUEST_BILLING_MODE
NEW_AND_OLD_IMAGES = STREAM_NEW_AND_OLD_IMAGE


class IntegerAttribute(Attribute[int]):
    """A DynamoDB number read back as ``int`` (PynamoDB's ``NumberAttribute`` is typed ``float``)."""

    attr_type = NUMBER

    def serialize(self, value: Any) -> str:
        return str(int(value))

    def deserialize(self, value: Any) -> int:
        return int(value)


class VkycModel(Model):
    """Base of every vkyc table. ``TABLE`` is the table name without the prefix."""

    TABLE: ClassVar[str]

    def entity_id(self) -> str:
        """The value of the hash key (for the tables keyed by one string hash key: every stateful table,
        users, revoked tokens...)."""
        return str(getattr(self, pynamodb_internals.hash_key_name(type(self))))


class LogModel(VkycModel):
    """Base of the transition logs. Subclasses add the hash key, named after the entity's key.

    One entry per version of the entity (range key ``version``); written in the same transaction as the
    item, with ``attribute_not_exists`` so a version is logged at most once. ``from_state`` is absent on
    the entry that records the creation (version 1).
    """

    version = IntegerAttribute(range_key=True)
    from_state = UnicodeAttribute(null=True)
    to_state = UnicodeAttribute()
    event = UnicodeAttribute()
    actor = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class StatefulModel(VkycModel):
    """Base of the items that move through a ``StateMachine``.

    ``KIND`` names the entity in errors and logs; ``LOG`` is its log table. ``state`` holds the enum's
    value; ``version`` starts at 1 and grows by one per transition.
    """

    KIND: ClassVar[str]
    LOG: ClassVar[type[LogModel]]

    state = UnicodeAttribute()
    version = IntegerAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_request_id = UnicodeAttribute()

    def derived(self, state: str, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Attributes that follow from the item's state and attributes (e.g. a sparse index's key), as
        they will be once a change writes ``state`` and ``changes`` (attribute name -> new value, None
        removes it; the item's own values for the rest). Written by every transition, creation and note
        (``vkyc.repositories.transitions``) so that no code path can forget them. None removes one."""
        return {}


# --- configuration ------------------------------------------------------------------------------------


class Unit(VkycModel):
    """A regional company (1..9). ``served_by`` is the serving map, stored on the served unit.

    "Unit 1 serves 4 and 6" is ``served_by = "1"`` on units 4 and 6: routing a call needs the serving
    unit of the caller's unit, which is then one GetItem of an item it reads anyway. Absent = itself.
    """

    TABLE = "units"

    class Meta:
        table_name = "units"
        billing_mode = PAY_PER_REQUEST

    unit_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    served_by = UnicodeAttribute(null=True)
    has_agents = BooleanAttribute(default=False)
    device_limit = IntegerAttribute(null=True)  # registerDevice licence limit; absent = unlimited
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)


class Hotline(VkycModel):
    """An entry point of a unit (the number dialled / the token's hotline)."""

    TABLE = "hotlines"

    class Meta:
        table_name = "hotlines"
        billing_mode = PAY_PER_REQUEST

    hotline_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    name = UnicodeAttribute()
    queue_id = UnicodeAttribute(null=True)
    allow_call_out = BooleanAttribute(default=False)
    call_out_group_ids = UnicodeSetAttribute(null=True)
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)


class QueueGroup(MapAttribute[str, Any]):
    """One group answering a queue. Lower ``priority`` is offered first; groups of equal priority are
    offered together. An overflow group (``overflow_after_s`` set) joins only once the call has waited
    that many seconds (and only where the ``overflow_enabled`` setting is on)."""

    group_id = UnicodeAttribute()
    priority = IntegerAttribute()
    overflow_after_s = IntegerAttribute(null=True)


class Queue(VkycModel):
    """Where a hotline's inbound calls wait for an agent of ``groups``.

    ``groups`` is ordered by ``priority`` (ties keep the configured order); ``vkyc.repositories.queues``
    writes it so. Per-queue options: ``timeout_s`` overrides the unit's ``queue_timeout_s`` setting
    (absent = the setting); ``auto_ticket`` asks for a ticket per call, honoured only while the
    ``auto_ticket`` setting is on too (seed 004).
    """

    TABLE = "queues"

    class Meta:
        table_name = "queues"
        billing_mode = PAY_PER_REQUEST

    queue_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    name = UnicodeAttribute()
    groups = ListAttribute[QueueGroup](of=QueueGroup, default=list)
    timeout_s = IntegerAttribute(null=True)
    auto_ticket = BooleanAttribute(default=False)
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)


class Group(VkycModel):
    """A team of agents. Membership is stored on the agent (``Agent.group_ids``).

    Routing conditions (``vkyc.domain.routing.GroupRule``): the group takes only calls whose customer
    type (KHCN | KHDN), SUB_TYPE (normalized) or dealer channel is in the set. Absent = any value
    (DynamoDB stores no empty set).
    """

    TABLE = "groups"

    class Meta:
        table_name = "groups"
        billing_mode = PAY_PER_REQUEST

    group_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    name = UnicodeAttribute()
    customer_types = UnicodeSetAttribute(null=True)
    sub_types = UnicodeSetAttribute(null=True)
    dealer_channels = UnicodeSetAttribute(null=True)
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)


class SubTypePolicy(VkycModel):
    """Whether a prepaid SUB_TYPE needs a video call, for individuals (KHCN) and enterprises (KHDN)."""

    TABLE = "sub_type_policy"

    class Meta:
        table_name = "sub_type_policy"
        billing_mode = PAY_PER_REQUEST

    sub_type = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    icc_profile = UnicodeAttribute()
    khcn = BooleanAttribute()
    khdn = BooleanAttribute()
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)


class Setting(VkycModel):
    """One setting: ``scope`` is ``global`` or ``unit#<unit_id>``; ``value`` is JSON.

    All settings of a scope are one Query; a unit's effective settings are two. An item without
    ``value`` is an explicit null: in a unit scope it turns an optional global setting off for that
    unit (e.g. no daily cap), which an absent item (= inherit the global value) could not say.
    PynamoDB stores None as a missing attribute, so that is how the null looks in a stream image too.
    ``vkyc.repositories.settings`` reads and writes these scopes. One more scope, ``jobs``, holds the
    marks of one-off jobs that finished (``vkyc.repositories.job_marks``, its only reader and writer).
    """

    TABLE = "settings"

    class Meta:
        table_name = "settings"
        billing_mode = PAY_PER_REQUEST

    scope = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    value = JSONAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    rev = IntegerAttribute(null=True)  # on the scope's ``_rev`` item only: the scope's ETag


class MediaNode(VkycModel):
    """A media node's registration; refreshed by its heartbeat. Few items: routing scans it.

    ``expires_at`` lets DynamoDB drop nodes long dead; readers must still check ``heartbeat_at``
    (TTL deletion is late on AWS and never happens on moto).
    """

    TABLE = "media_nodes"

    class Meta:
        table_name = "media_nodes"
        billing_mode = PAY_PER_REQUEST

    node_id = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute()
    capacity = IntegerAttribute()
    load = IntegerAttribute(default=0)
    heartbeat_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)
    # The node's socket and session (set by its heartbeat): where signaling pushes its orders. Removed
    # when the socket drops, so routing never picks a node it cannot reach.
    connection_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    # Calls assigned to the node whose recording it has not reported yet: what to end and recover if
    # it dies, and its load between heartbeats. Added with the assignment, removed with the report.
    call_ids = UnicodeSetAttribute(null=True)
    lost_at = UTCDateTimeAttribute(null=True)  # when signaling declared it dead (cleared by a heartbeat)
    draining = BooleanAttribute(null=True)  # an admin drained it: no new calls (its calls go on)
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)


# --- people and integrators --------------------------------------------------------------------------


class UsersByUnit(GlobalSecondaryIndex["User"]):
    """A unit's accounts, ``role`` as range key ("supervisors of unit 1" is a key condition).

    ``password_hash`` is deliberately not projected: listing accounts never reads a credential.
    Admins without a unit are absent from the index (a sparse index).
    """

    class Meta:
        index_name = "by_unit"
        projection = IncludeProjection(["display_name", "agent_id", "disabled"])

    unit_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute(range_key=True)


class User(VkycModel):
    """A login account: credentials and who the person is (``vkyc.domain.roles.UserRole``).

    ``password_hash`` is a ``vkyc.security.passwords.hash_password`` string, never a password.
    An agent's *state* (OFFLINE, AVAILABLE, ...) is the ``Agent`` item named by ``agent_id``; this item
    only says who may log in as that agent. ``unit_id`` is set for agents and supervisors; absent only
    for a system-wide admin. A supervisor's reach (its unit and the units it serves) is derived from
    ``Unit.served_by``, not stored here. ``disabled`` refuses the login without deleting the account.
    """

    TABLE = "users"

    class Meta:
        table_name = "users"
        billing_mode = PAY_PER_REQUEST

    username = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    unit_id = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    agent_id = UnicodeAttribute(null=True)
    disabled = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    # Grows whenever what a token vouches for changes (disabled, password, role, unit): every token
    # issued before carries a smaller ``gen`` claim and is refused (``vkyc.services.auth``).
    token_generation = IntegerAttribute(default=0)
    # Set by an admin's password reset: the next login must give a new password (``LoginRequest``).
    must_change_password = BooleanAttribute(null=True)
    # An admin disabled the agent during a call: the sweeper disables the account once the call is over.
    disable_after_call = BooleanAttribute(null=True)
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)

    by_unit = UsersByUnit()


class ApiKey(VkycModel):
    """An integrator's API key, stored as its digest (``vkyc.security.passwords.api_key_digest``,
    ``sha256$<hex>``), which is also the key: a presented key is found with one GetItem of its digest.

    Every call made with the key is attributed to ``unit_id``. A key with ``revoked_at`` set is refused;
    the item stays, so calls made with it can still be traced to its ``name``.
    """

    TABLE = "api_keys"

    class Meta:
        table_name = "api_keys"
        billing_mode = PAY_PER_REQUEST

    digest = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    # ``revoked_at`` may lie in the future: a rotated key keeps working until then (the overlap window).
    rotated_to = UnicodeAttribute(null=True)  # the id of the key that replaced it
    rev = IntegerAttribute(null=True)  # the admin API's ETag: raised by every admin write (absent = 0)


# --- attempts and the login audit ---------------------------------------------------------------------


class Throttle(VkycModel):
    """Failures of one credential path per account or per source address (``vkyc.repositories.throttles``).

    ``throttle_key`` is ``<scope>:<account|source>:<value>`` (``login:account:tdv1.kv1``,
    ``login:source:203.0.113.7``). ``failures`` counts the failures since ``last_failure_at``'s window
    began (counted with ``ADD``, so concurrent containers do not lose one); ``locked_until`` refuses every
    attempt until then, the right one too. Times are Unix seconds. ``expires_at`` lets DynamoDB drop an
    item once its window is over (readers check the times themselves: TTL deletion is late).
    """

    TABLE = "throttles"

    class Meta:
        table_name = "throttles"
        billing_mode = PAY_PER_REQUEST

    throttle_key = UnicodeAttribute(hash_key=True)
    failures = IntegerAttribute(default=0)
    last_failure_at = IntegerAttribute(null=True)
    locked_until = IntegerAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class AuthEvent(VkycModel):
    """The login audit trail (``vkyc.repositories.auth_events``): successes, failures, lockouts, tokens
    issued and revoked, per unit, newest last.

    ``unit_id`` is the unit of the account or API key concerned, ``*`` when none is known (an unknown
    username, a wrong API key, a media node); ``event_key`` is ``<at ISO 8601>#<random>``, so a unit's
    events of a time range are one Query. Kept ``AUTH_EVENT_TTL_DAYS`` (``expires_at``).
    """

    TABLE = "auth_events"

    class Meta:
        table_name = "auth_events"
        billing_mode = PAY_PER_REQUEST

    unit_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # vkyc.repositories.auth_events.AuthEventKind
    scope = UnicodeAttribute()  # login | mobile | node | connect | session
    principal = UnicodeAttribute(null=True)  # username, agent id, dealer account, node id
    source = UnicodeAttribute(null=True)  # the client's address as API Gateway saw it
    detail = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class AdminAudit(VkycModel):
    """The admin audit log (``vkyc.repositories.admin_store``): every change made through the admin
    service, written in the same transaction as the change; and each start and stop of a supervisor's
    silent monitoring (kind ``call_monitoring``, ``vkyc.services.call_monitor``), written with the call's
    note.

    ``day`` is the UTC date of the change (``2026-12-06``), ``event_key`` ``<at ISO 8601>#<random>``: a
    day's changes are one Query, newest last. ``before`` / ``after`` are the object's admin view (JSON;
    null for a creation / a deletion). Kept for good (no TTL): changes are rare.
    """

    TABLE = "admin_audit"

    class Meta:
        table_name = "admin_audit"
        billing_mode = PAY_PER_REQUEST

    day = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    actor = UnicodeAttribute()
    unit_id = UnicodeAttribute()  # the unit of the object, ``*`` for system-wide objects
    kind = UnicodeAttribute()  # units, groups, users, api_keys, settings, ..., call_monitoring
    object_id = UnicodeAttribute()
    action = UnicodeAttribute()  # create | update | delete | disable | enable | start | stop | ...
    before = JSONAttribute(null=True)
    after = JSONAttribute(null=True)
    at = UTCDateTimeAttribute()


# --- connections --------------------------------------------------------------------------------------


class WsConnection(VkycModel):
    """An open WebSocket (API Gateway connection id) and the session it carries.

    The session's immutable facts (role, principal, unit, key) are copied here so that checking a
    signed message costs one GetItem; what changes (``last_seq``, state) lives on the ``Session``.
    """

    TABLE = "connections"

    class Meta:
        table_name = "connections"
        billing_mode = PAY_PER_REQUEST

    connection_id = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    principal_id = UnicodeAttribute()
    role = UnicodeAttribute()  # mobile | agent | supervisor | media
    unit_id = UnicodeAttribute()
    dossier_id = UnicodeAttribute(null=True)  # a mobile session's dossier: a call request reads no session
    dealer_channel = UnicodeAttribute(null=True)  # a mobile session's, for routing (no session read)
    session_key = UnicodeAttribute()  # base64url; the HMAC key of the session
    connected_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


# --- logs ---------------------------------------------------------------------------------------------


class DossierLog(LogModel):
    TABLE = "dossier_log"

    class Meta:
        table_name = "dossier_log"
        billing_mode = PAY_PER_REQUEST
        stream_view_type = NEW_AND_OLD_IMAGES  # evidence.ready webhooks (the hash arriving on an entry)

    dossier_id = UnicodeAttribute(hash_key=True)
    # On a decision's entry: the evidence bundle's manifest (``vkyc.evidence``) and its sha256, which
    # makes the bundle tamper-evident; ``evidence_claimed_at`` is the builder's claim (one at a time).
    evidence_key = UnicodeAttribute(null=True)
    evidence_sha256 = UnicodeAttribute(null=True)
    evidence_claimed_at = UTCDateTimeAttribute(null=True)


class AgentLog(LogModel):
    """Every agent status change: the source of the agent-status report (durations per state)."""

    TABLE = "agent_log"

    class Meta:
        table_name = "agent_log"
        billing_mode = PAY_PER_REQUEST

    agent_id = UnicodeAttribute(hash_key=True)


class CallEvent(LogModel):
    """The event log of a call. Every event of a call is a transition of its machine (self-loops
    included), so ``version`` orders the history."""

    TABLE = "call_events"

    class Meta:
        table_name = "call_events"
        billing_mode = PAY_PER_REQUEST

    call_id = UnicodeAttribute(hash_key=True)


class OfferLog(LogModel):
    TABLE = "offer_log"

    class Meta:
        table_name = "offer_log"
        billing_mode = PAY_PER_REQUEST

    offer_id = UnicodeAttribute(hash_key=True)


# --- stateful items -----------------------------------------------------------------------------------


class CustomerInfo(MapAttribute[str, Any]):
    """Who the dossier is about, as shown to the agent to cross-check with the ID card."""

    name = UnicodeAttribute()
    id_number = UnicodeAttribute()  # CMND (9 digits) or CCCD (12 digits)


class DossierImages(MapAttribute[str, Any]):
    """S3 keys (media bucket) of the images eKYC captured: shown to the agent, returned to mSale. A
    dossier of the integrator API has a key only once an upload of it was accepted (``image_checks``)."""

    id_front_key = UnicodeAttribute(null=True)
    id_back_key = UnicodeAttribute(null=True)
    portrait_key = UnicodeAttribute(null=True)


class ImageCheck(MapAttribute[str, Any]):
    """Where one image of a dossier stands (``vkyc.domain.images``): the accepted upload (``status``
    ``valid``, its key and what the check measured), the upload being checked (``pending_*``), and the
    last rejected one (``rejected_*``, with its catalogue code). A rejection never replaces the
    accepted image."""

    status = UnicodeAttribute()  # missing | valid
    key = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    size = IntegerAttribute(null=True)
    width = IntegerAttribute(null=True)
    height = IntegerAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    face_found = BooleanAttribute(null=True)
    uploaded_at = UTCDateTimeAttribute(null=True)
    checked_at = UTCDateTimeAttribute(null=True)
    pending_key = UnicodeAttribute(null=True)
    pending_since = UTCDateTimeAttribute(null=True)
    rejected_key = UnicodeAttribute(null=True)
    rejected_code = UnicodeAttribute(null=True)
    rejected_detail = UnicodeAttribute(null=True)
    rejected_at = UTCDateTimeAttribute(null=True)


class DossierImageChecks(MapAttribute[str, Any]):
    """The three images of a dossier created through the integrator API, checked after upload."""

    id_front = ImageCheck(null=True)
    id_back = ImageCheck(null=True)
    portrait = ImageCheck(null=True)


class Dossier(StatefulModel):
    """A customer dossier (hồ sơ): states N W A R C D (``vkyc.domain.dossier``).

    What decides whether a video call is required and allowed is top-level (``subscriber``,
    ``sub_type``, ``customer_type``, ``payment_type``, ``kyc_at_counter``), so conditions and future
    indexes can name it; what is only shown is grouped (``customer``, ``images``).
    """

    TABLE = "dossiers"
    KIND = "dossier"
    LOG = DossierLog

    class Meta:
        table_name = "dossiers"
        billing_mode = PAY_PER_REQUEST
        stream_view_type = NEW_AND_OLD_IMAGES

    dossier_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    subscriber = UnicodeAttribute(null=True)  # MSISDN, normalized
    sub_type = UnicodeAttribute(null=True)
    customer_type = UnicodeAttribute(null=True)  # KHCN | KHDN
    payment_type = UnicodeAttribute(null=True)  # prepaid | postpaid
    kyc_at_counter = BooleanAttribute(default=False)  # "KYC at the counter required": no video call
    customer = CustomerInfo(null=True)
    images = DossierImages(null=True)
    dealer_account = UnicodeAttribute(null=True)  # the dealer (ĐBH/ĐL) account that submitted it
    note = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    snapshot_key = UnicodeAttribute(null=True)  # S3 key of the decision screenshot
    # The dossier's latest call: a new request checks it is over (one GetItem, only on a re-call), and
    # the request's conditional write on the dossier stops two simultaneous requests.
    last_call_id = UnicodeAttribute(null=True)
    # The integrator API (``vkyc.services.dossier_intake``): the dealer's sales channel as submitted,
    # and the images' checks. A dossier without ``image_checks`` was written by another path (demo
    # loader, import) and its images are taken as given (``vkyc.domain.eligibility``).
    dealer_channel = UnicodeAttribute(null=True)
    image_checks = DossierImageChecks(null=True)


class AgentsByUnit(GlobalSecondaryIndex["Agent"]):
    """A unit's agents with their state; ``state`` as range key makes "available agents of unit X"
    a key condition. ``version`` is projected so routing can claim an agent straight from the index
    (a stale read just loses the conditional write)."""

    class Meta:
        index_name = "by_unit"
        projection = IncludeProjection(
            ["name", "group_ids", "version", "updated_at", "connection_id", "available_since"]
        )

    unit_id = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute(range_key=True)


class Agent(StatefulModel):
    """A verification agent (TĐV) and their status; ``call_id`` / ``offer_id`` point at the current work.

    State only: the login of an agent is the ``User`` whose ``agent_id`` names this item.
    """

    TABLE = "agents"
    KIND = "agent"
    LOG = AgentLog

    class Meta:
        table_name = "agents"
        billing_mode = PAY_PER_REQUEST
        stream_view_type = NEW_AND_OLD_IMAGES

    agent_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    group_ids = UnicodeSetAttribute(null=True)
    call_id = UnicodeAttribute(null=True)
    offer_id = UnicodeAttribute(null=True)
    # Where to ring the agent (their session's socket), kept here so routing needs no second read.
    connection_id = UnicodeAttribute(null=True)
    # When the agent last became AVAILABLE: routing offers a call to the agent idle longest.
    available_since = UTCDateTimeAttribute(null=True)
    # In WRAP_UP by choice after a decision (issue #16: after-call work): no limit, the agent says when.
    after_call_work = BooleanAttribute(null=True)

    by_unit = AgentsByUnit()

    def derived(self, state: str, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {} if state == "WRAP_UP" else {"after_call_work": None}


class CallsByDossier(GlobalSecondaryIndex["Call"]):
    """A dossier's calls, newest last; enough projected to tell whether one is live."""

    class Meta:
        index_name = "by_dossier"
        projection = IncludeProjection(["direction", "state", "agent_id"])

    dossier_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


REPORT_COLUMNS = [
    "direction",
    "state",
    "unit_id",
    "serving_unit_id",
    "queue_id",
    "agent_id",
    "dossier_id",
    "subscriber",
    "sub_type",
    "customer_type",
    "dealer_channel",
    "answered_at",
    "ended_at",
    "end_reason",
    "ended_by",
    "decision",
    "decided_at",
    "recording_key",
    "face_snapshot_ids",
    "evidence_built_at",
]
"""What a row of the call list (``GET /reports/calls``) shows: projected into the indexes it is read
from, so a page of the list is one Query and no item is read twice."""


class CallsByUnitCreated(GlobalSecondaryIndex["Call"]):
    """A unit's calls by time, for reports: the report columns are projected, not the whole item."""

    class Meta:
        index_name = "by_unit_created"
        projection = IncludeProjection([c for c in REPORT_COLUMNS if c != "unit_id"])

    unit_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsByAgent(GlobalSecondaryIndex["Call"]):
    """The calls an agent answered or was last offered, by time, with the report columns: the call list
    filtered by agent (``agent_id`` is cleared when an offer is rejected or rings out, so an unanswered
    call leaves the index; an answered one stays under its agent)."""

    class Meta:
        index_name = "by_agent"
        projection = IncludeProjection([c for c in REPORT_COLUMNS if c != "agent_id"])

    agent_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsWaiting(GlobalSecondaryIndex["Call"]):
    """The calls waiting for an agent of a serving unit, oldest first (sparse: only waiting calls), with
    where to tell each caller its position."""

    class Meta:
        index_name = "waiting"
        projection = IncludeProjection(["state", "version", "mobile_session_id", "mobile_connection_id"])

    waiting_in = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsBySubscriber(GlobalSecondaryIndex["Call"]):
    """A subscriber's calls by time, for the optional daily cap of successful calls (eligibility): what
    tells a successful inbound call apart is projected. Calls without ``subscriber`` are absent."""

    class Meta:
        index_name = "by_subscriber"
        projection = IncludeProjection(["state", "end_reason", "direction"])

    subscriber = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsOpen(GlobalSecondaryIndex["Call"]):
    """A unit's calls that are not final yet, oldest first (sparse): the sweeper's complete list of
    calls that may need ending, however old."""

    class Meta:
        index_name = "open"
        projection = IncludeProjection(["direction", "state"])

    open_in = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Call(StatefulModel):
    """An inbound call (``Direction.INBOUND``, mobile → agent) or a call-back (``Direction.OUTBOUND``,
    agent → mobile).

    The two directions have different machines; the caller picks the machine from ``direction``.
    ``unit_id`` is the caller's unit (the token's), ``serving_unit_id`` the unit whose agents serve it.
    """

    TABLE = "calls"
    KIND = "call"
    LOG = CallEvent

    class Meta:
        table_name = "calls"
        billing_mode = PAY_PER_REQUEST
        stream_view_type = NEW_AND_OLD_IMAGES

    call_id = UnicodeAttribute(hash_key=True)
    direction = UnicodeAttribute()  # in | out
    unit_id = UnicodeAttribute()
    serving_unit_id = UnicodeAttribute(null=True)
    dossier_id = UnicodeAttribute(null=True)
    hotline_id = UnicodeAttribute(null=True)
    queue_id = UnicodeAttribute(null=True)
    subscriber = UnicodeAttribute(null=True)
    customer_type = UnicodeAttribute(null=True)  # copied from the dossier: group conditions route on it
    sub_type = UnicodeAttribute(null=True)
    dealer_channel = UnicodeAttribute(null=True)  # the caller's, from its session: groups route on it
    device_id = UnicodeAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    offer_id = UnicodeAttribute(null=True)  # the offer currently ringing
    tried_agent_ids = UnicodeSetAttribute(null=True)  # agents that rejected or missed it: not offered again
    # Agents that rejected it once (issue #16): offered again when nobody else is free, after
    # ``reoffer_after_s`` from ``last_rejected_at`` (``vkyc.domain.routing.second_chance``); an agent
    # re-offered it moves to ``reoffered_agent_ids`` and gets no third offer.
    rejected_once_ids = UnicodeSetAttribute(null=True)
    reoffered_agent_ids = UnicodeSetAttribute(null=True)
    last_rejected_at = UTCDateTimeAttribute(null=True)
    media_node_id = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    end_reason = UnicodeAttribute(null=True)
    ended_by = UnicodeAttribute(null=True)
    mobile_session_id = UnicodeAttribute(null=True)
    agent_session_id = UnicodeAttribute(null=True)
    # Where the parties were last reached: a push tries these first, and looks the session up only
    # when the socket is gone (a resumed party has a new one). Connection ids are never reused.
    mobile_connection_id = UnicodeAttribute(null=True)
    agent_connection_id = UnicodeAttribute(null=True)
    decision = UnicodeAttribute(null=True)  # A | R | C | D, once the agent decided
    # Set (to the serving unit) only while the call waits for an agent: the sparse ``waiting`` index is
    # then each unit's queue, oldest first.
    waiting_in = UnicodeAttribute(null=True)
    # Call-backs only (``vkyc.services.callbacks``): when the mobile stops being rung (T), and the state
    # the agent started from (AVAILABLE or WRAP_UP), which is where an unanswered call-back returns them.
    ring_deadline = UTCDateTimeAttribute(null=True)
    agent_started_from = UnicodeAttribute(null=True)
    # The call the agent held (in WRAP_UP) when starting this call-back: a call-back the agent cancels
    # gives it back to them, so that it stays decidable (``vkyc.domain.decision``).
    agent_held_before = UnicodeAttribute(null=True)
    # Media (``vkyc.services.party_media``): the recording as the node reported it when it closed the call (or
    # as recovered after the node died; ``recording_closed_at`` says the facts are in), the snapshots the
    # agent took, and the decision's dossier log version (where the evidence bundle's hash goes).
    # ``recovery_node_ids``: the nodes asked to recover the recording of a call whose node died (only
    # they, and the call's own node, may report it).
    recovery_node_ids = UnicodeSetAttribute(null=True)
    recording_key = UnicodeAttribute(null=True)
    recording_size = IntegerAttribute(null=True)
    recording_duration_s = NumberAttribute(null=True)
    recording_sha256 = UnicodeAttribute(null=True)
    recording_incomplete = BooleanAttribute(null=True)
    recording_closed_at = UTCDateTimeAttribute(null=True)
    snapshot_keys = UnicodeSetAttribute(null=True)
    # The evidence a decision rests on (``vkyc.domain.decision``): when the node first reported both
    # parties' media up, the snapshots taken and those in which it found a face.
    media_connected_at = UTCDateTimeAttribute(null=True)
    snapshot_ids = UnicodeSetAttribute(null=True)
    face_snapshot_ids = UnicodeSetAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    decision_version = IntegerAttribute(null=True)
    # When the decision's evidence bundle was stored (its hash is on the dossier's log entry): what the
    # reports' evidence completeness reads from the calls' stream (``vkyc.domain.metrics``).
    evidence_built_at = UTCDateTimeAttribute(null=True)

    by_dossier = CallsByDossier()
    waiting = CallsWaiting()
    by_unit_created = CallsByUnitCreated()
    by_agent = CallsByAgent()
    by_subscriber = CallsBySubscriber()
    open_calls = CallsOpen()

    # Set (to the caller's unit) while the call is in a state its machine can leave, by ``derived``.
    open_in = UnicodeAttribute(null=True)

    def derived(self, state: str, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"open_in": self.unit_id if is_live_call(self.direction, state) else None}


class OffersByCall(GlobalSecondaryIndex["Offer"]):
    """The offers of one call (who was asked, what they did): the call-detail lookup."""

    class Meta:
        index_name = "by_call"
        projection = IncludeProjection(["agent_id", "state"])

    call_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Offer(StatefulModel):
    """An offer of one call to one agent (the ringing popup); ``ring_deadline`` is when it rings out."""

    TABLE = "offers"
    KIND = "offer"
    LOG = OfferLog

    class Meta:
        table_name = "offers"
        billing_mode = PAY_PER_REQUEST
        stream_view_type = NEW_AND_OLD_IMAGES

    offer_id = UnicodeAttribute(hash_key=True)
    call_id = UnicodeAttribute()
    agent_id = UnicodeAttribute()
    ring_deadline = UTCDateTimeAttribute(null=True)

    by_call = OffersByCall()


# --- mobile devices (call-backs) -------------------------------------------------------------------------


# --- tickets for missed calls (seed 004, ``vkyc.domain.tickets``) --------------------------------------


class TicketLog(LogModel):
    TABLE = "ticket_log"

    class Meta:
        table_name = "ticket_log"
        billing_mode = PAY_PER_REQUEST

    ticket_id = UnicodeAttribute(hash_key=True)


class TicketsByUnit(GlobalSecondaryIndex["Ticket"]):
    """A unit's tickets by time (the integrator's list), keys only: the page reads them back whole."""

    class Meta:
        index_name = "by_unit"
        projection = IncludeProjection(["state"])

    unit_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsOpen(GlobalSecondaryIndex["Ticket"]):
    """A serving unit's tickets that are not done, oldest first (sparse): what its agents work on."""

    class Meta:
        index_name = "open"
        projection = IncludeProjection(["state", "assignee_group_id", "assignee_agent_id"])

    open_in = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsOpenFor(GlobalSecondaryIndex["Ticket"]):
    """The tickets not done that wait for one assignee (``open_for_key``), oldest first (sparse): what an
    agent's list reads, one Query per key, whatever the rest of the unit's backlog. Keys only (the age
    to merge several keys' lists by is the range key): the list reads the tickets it keeps back whole,
    and a ticket's writes touch the index only when its assignee or state moves."""

    class Meta:
        index_name = "open_for"
        projection = KeysOnlyProjection()

    open_for = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


def open_for_key(serving_unit_id: str, group_id: str | None, agent_id: str | None) -> str:
    """Who a ticket not done waits for, as the ``open_for`` index's key: the agent when one is assigned
    (whatever the group: only that agent works it), else the group, else anyone of the serving unit.
    The serving unit is part of every key: an agent works the tickets of their own unit only."""
    if agent_id:
        return f"agent#{serving_unit_id}#{agent_id}"
    if group_id:
        return f"group#{serving_unit_id}#{group_id}"
    return f"unit#{serving_unit_id}"


class TicketsByCustomer(GlobalSecondaryIndex["Ticket"]):
    """One customer's tickets (``customer_key`` = serving unit + customer): the ones a call-back starts
    or closes."""

    class Meta:
        index_name = "by_customer"
        projection = IncludeProjection(["state"])

    customer_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Ticket(StatefulModel):
    """A ticket: the missed calls of one customer to follow up (``vkyc.services.tickets``).

    ``unit_id`` is the customer's unit (the integrator's, as on its calls), ``serving_unit_id`` the unit
    whose agents follow it up. ``call_ids`` in the order they were missed. The assignee is a group, an
    agent, or both (an agent of that group); neither: anyone of the serving unit.
    """

    TABLE = "tickets"
    KIND = "ticket"
    LOG = TicketLog

    class Meta:
        table_name = "tickets"
        billing_mode = PAY_PER_REQUEST
        stream_view_type = NEW_AND_OLD_IMAGES

    ticket_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    serving_unit_id = UnicodeAttribute()
    customer_key = UnicodeAttribute()
    subscriber = UnicodeAttribute(null=True)
    dossier_id = UnicodeAttribute(null=True)
    day = UnicodeAttribute()  # the local day (serving unit's zone) of its first call, YYYY-MM-DD
    bucket = UnicodeAttribute()  # the merge bucket (``vkyc.domain.tickets.bucket``)
    call_ids = ListAttribute[str](default=list)  # untyped list: strings stay strings
    directions = UnicodeSetAttribute(null=True)  # in | out: which kinds of missed calls it holds
    queue_ids = UnicodeSetAttribute(null=True)
    assignee_group_id = UnicodeAttribute(null=True)
    assignee_agent_id = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    close_reason = UnicodeAttribute(null=True)
    # Set while the ticket is not done, by ``derived``: ``open_in`` to the serving unit (the unit's whole
    # open list, which the ``open_for`` backfill walks), ``open_for`` to its assignee's key (what agents
    # read, ``open_for_key``). A ticket stored before ``open_for`` existed gets it from its next change,
    # or from ``python -m vkyc.services.ticket_index backfill`` (docs/tickets.md).
    open_in = UnicodeAttribute(null=True)
    open_for = UnicodeAttribute(null=True)

    by_unit = TicketsByUnit()
    open_tickets = TicketsOpen()
    open_for_assignee = TicketsOpenFor()
    by_customer = TicketsByCustomer()

    def derived(self, state: str, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if state == "done":
            return {"open_in": None, "open_for": None}
        after = changes or {}
        group = after.get("assignee_group_id", self.assignee_group_id)
        agent = after.get("assignee_agent_id", self.assignee_agent_id)
        return {"open_in": self.serving_unit_id, "open_for": open_for_key(self.serving_unit_id, group, agent)}


class DeviceRegistration(VkycModel):
    """A mobile device registered to be called back (``device.register``): one per subscriber number
    per unit, so a call-back of a dossier finds its device with one GetItem (unit, subscriber).

    Registering the subscriber again (a new session, another phone) updates the item and takes no
    further licence. ``session_id`` is the mobile session that registered last: where a call-back rings.
    Only ``vkyc.repositories.devices`` reads and writes this table.
    """

    TABLE = "device_registrations"

    class Meta:
        table_name = "device_registrations"
        billing_mode = PAY_PER_REQUEST

    unit_id = UnicodeAttribute(hash_key=True)
    subscriber = UnicodeAttribute(range_key=True)  # as stored on the dossier (normalized ``84…``)
    device_id = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    registered_by = UnicodeAttribute()  # the dealer account of the registering session
    registered_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class DeviceLicence(VkycModel):
    """How many registrations a unit holds, against its licence limit (setting ``device_licence_limit``).

    Incremented in the same transaction that creates a registration, on the condition that it is below
    the limit: concurrent registrations cannot exceed it. Only ``vkyc.repositories.devices`` writes it.
    """

    TABLE = "device_licences"

    class Meta:
        table_name = "device_licences"
        billing_mode = PAY_PER_REQUEST

    unit_id = UnicodeAttribute(hash_key=True)
    registered = IntegerAttribute(default=0)


# --- signaling sessions -------------------------------------------------------------------------------


class SessionLog(LogModel):
    """Every session change (connect, drop, resume, end): who was online when, and why they left."""

    TABLE = "session_log"

    class Meta:
        table_name = "session_log"
        billing_mode = PAY_PER_REQUEST

    session_id = UnicodeAttribute(hash_key=True)


class SessionsByPrincipal(GlobalSecondaryIndex["Session"]):
    """A principal's sessions, for one login per agent account."""

    class Meta:
        index_name = "by_principal"
        projection = IncludeProjection(["state", "connection_id"])

    principal_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Session(StatefulModel):
    """A logged-in client across sockets (``vkyc.domain.session``): ACTIVE, DETACHED or ENDED.

    ``generation`` grows on every drop, so a grace timer set for an older drop finds a newer one and
    does nothing. ``resume_digest`` is the sha256 of the resume token (the token itself is never stored).
    ``peer_session_id`` is the other party of the call this session is in, told about drops and resumes.
    """

    TABLE = "sessions"
    KIND = "session"
    LOG = SessionLog

    class Meta:
        table_name = "sessions"
        billing_mode = PAY_PER_REQUEST
        stream_view_type = NEW_AND_OLD_IMAGES  # presence for the live board

    session_id = UnicodeAttribute(hash_key=True)
    principal_id = UnicodeAttribute()
    role = UnicodeAttribute()
    unit_id = UnicodeAttribute()
    agent_id = UnicodeAttribute(null=True)
    dossier_id = UnicodeAttribute(null=True)
    dealer_channel = UnicodeAttribute(null=True)  # a mobile's, from its token (``/auth/mobile``)
    session_key = UnicodeAttribute()
    resume_digest = UnicodeAttribute(null=True)  # set by the first session.hello
    key_delivered = BooleanAttribute(default=False)
    last_seq = IntegerAttribute(default=0)
    connection_id = UnicodeAttribute(null=True)
    generation = IntegerAttribute(default=0)
    detached_at = UTCDateTimeAttribute(null=True)
    ended_reason = UnicodeAttribute(null=True)
    peer_session_id = UnicodeAttribute(null=True)
    call_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    # The token the session was opened with (its ``jti`` and expiry): ``session.bye`` revokes it.
    token_id = UnicodeAttribute(null=True)
    token_expires_at = UTCDateTimeAttribute(null=True)

    by_principal = SessionsByPrincipal()


# --- the integrator API and its webhooks ---------------------------------------------------------------


class WebhooksByUnit(GlobalSecondaryIndex["WebhookSubscription"]):
    """A unit's subscriptions (the fan-out reads it per event batch). The secret is not projected:
    listing subscriptions never reads a signing key."""

    class Meta:
        index_name = "by_unit"
        projection = IncludeProjection(
            [
                "url",
                "events",
                "status",
                "description",
                "created_at",
                "updated_at",
                "failing_since",
                "paused_at",
            ]
        )

    unit_id = UnicodeAttribute(hash_key=True)
    webhook_id = UnicodeAttribute(range_key=True)


class WebhookSubscription(VkycModel):
    """Where a unit's integrator wants events (``vkyc.services.webhooks``): a URL, the event types, the
    secret deliveries are signed with (kept as issued: the sender must be able to sign; docs/security.md),
    and the state of its deliveries: ``failing_since`` (the first failure since the last success) and
    ``status`` (``active``; ``paused`` by its owner or after failing for a day). During a rotation the
    previous secret signs too, until ``previous_secret_until``. ``version`` grows with every change."""

    TABLE = "webhook_subscriptions"

    class Meta:
        table_name = "webhook_subscriptions"
        billing_mode = PAY_PER_REQUEST

    webhook_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = UnicodeSetAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # active | paused
    secret = UnicodeAttribute()
    previous_secret = UnicodeAttribute(null=True)
    previous_secret_until = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    failing_since = UTCDateTimeAttribute(null=True)
    paused_at = UTCDateTimeAttribute(null=True)
    paused_reason = UnicodeAttribute(null=True)
    version = IntegerAttribute(default=1)

    by_unit = WebhooksByUnit()


class DeliveryAttempt(MapAttribute[str, Any]):
    """One attempt to deliver: when, the receiver's HTTP status (None when none came), how long it took,
    why it failed, and the start of the receiver's answer (for the owner's debugging)."""

    number = IntegerAttribute()
    at = UTCDateTimeAttribute()
    status_code = IntegerAttribute(null=True)
    latency_ms = IntegerAttribute()
    error = UnicodeAttribute(null=True)
    response_excerpt = UnicodeAttribute(null=True)
    redelivery = BooleanAttribute(default=False)


class DeliveriesByWebhook(GlobalSecondaryIndex["WebhookDelivery"]):
    """A subscription's delivery log, oldest first (``log_key`` = event time # delivery id)."""

    class Meta:
        index_name = "by_webhook"
        projection = IncludeProjection(
            [
                "kind",
                "event_id",
                "event_type",
                "state",
                "attempt_count",
                "last_status",
                "created_at",
                "next_attempt_at",
                "delivered_at",
                "notice",
            ]
        )

    webhook_id = UnicodeAttribute(hash_key=True)
    log_key = UnicodeAttribute(range_key=True)


class WebhookDelivery(VkycModel):
    """One event addressed to one subscription, and every attempt to deliver it
    (``vkyc.services.webhook_delivery``); or (``kind`` ``notice``) a line the sender wrote in the
    subscription's log for its owner (the subscription was paused). ``delivery_id`` is derived from the
    event id and the subscription, so a fan-out that runs twice writes it once. ``body`` is the JSON
    delivered, the same bytes on every attempt. States: ``pending`` (to be sent), ``retrying``
    (failed, ``next_attempt_at`` set), ``delivered``, ``dead`` (given up, in the dead-letter queue),
    ``held`` (its subscription is paused), ``cancelled`` (its subscription was deleted). Kept 30 days."""

    TABLE = "webhook_deliveries"

    class Meta:
        table_name = "webhook_deliveries"
        billing_mode = PAY_PER_REQUEST

    delivery_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="delivery")  # delivery | notice
    webhook_id = UnicodeAttribute()
    unit_id = UnicodeAttribute()
    log_key = UnicodeAttribute()
    event_id = UnicodeAttribute(null=True)
    event_type = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    notice = UnicodeAttribute(null=True)
    state = UnicodeAttribute()
    attempts = ListAttribute[DeliveryAttempt](of=DeliveryAttempt, default=list)
    attempt_count = IntegerAttribute(default=0)
    last_status = IntegerAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    next_attempt_at = UTCDateTimeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    dead_at = UTCDateTimeAttribute(null=True)
    enqueued_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_webhook = DeliveriesByWebhook()


class IdempotencyRecord(VkycModel):
    """A ``POST`` of the integrator API under its ``Idempotency-Key`` (``vkyc.services.idempotency``):
    ``record_key`` is ``<unit>#<key>``; the request's hash (method, path and canonical body) and, once it
    succeeded, its answer, replayed to a retry. Kept 24 h (``expires_at``)."""

    TABLE = "idempotency_keys"

    class Meta:
        table_name = "idempotency_keys"
        billing_mode = PAY_PER_REQUEST

    record_key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    state = UnicodeAttribute()  # running | done
    response = JSONAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class RevokedToken(VkycModel):
    """A token revoked before its expiry (``session.bye``, logout): refused at ``$connect`` and on REST
    until it would have expired anyway (``expires_at``, TTL: the item is not needed after that)."""

    TABLE = "revoked_tokens"

    class Meta:
        table_name = "revoked_tokens"
        billing_mode = PAY_PER_REQUEST

    token_id = UnicodeAttribute(hash_key=True)
    principal_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    revoked_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


# --- reports ------------------------------------------------------------------------------------------


class ReportCounter(VkycModel):
    """One cell of the reports' aggregates (``vkyc.repositories.aggregates``): the counters of one owner
    (a unit and queue, a unit, an agent) and one slice of its calls (all, or those of one SUB_TYPE…:
    part of ``counter_key``) over one bucket (15 minutes, or a local day).

    Only the keys are declared: the counters are numeric attributes named by metric (``answered``,
    ``t:IN_CALL``), added to with ``ADD`` by the stream consumer and read back raw. Only
    ``vkyc.repositories.aggregates`` reads and writes this table.
    """

    TABLE = "report_counters"

    class Meta:
        table_name = "report_counters"
        billing_mode = PAY_PER_REQUEST

    counter_key = UnicodeAttribute(hash_key=True)
    bucket = UnicodeAttribute(range_key=True)


class ReportMark(VkycModel):
    """An effect already applied to the counters: one item per milestone of a source item (a call
    answered, an agent's version *n*), written in the same transaction as its ``ADD`` s with
    ``attribute_not_exists``, so a stream record delivered twice adds nothing the second time. Kept
    ``MARK_TTL`` (``expires_at``), well beyond the 24 h a stream keeps a record."""

    TABLE = "report_marks"

    class Meta:
        table_name = "report_marks"
        billing_mode = PAY_PER_REQUEST

    mark = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()


ALL_MODELS: tuple[type[VkycModel], ...] = (
    Unit,
    Hotline,
    Queue,
    Group,
    SubTypePolicy,
    Setting,
    User,
    ApiKey,
    MediaNode,
    WsConnection,
    Session,
    SessionLog,
    Dossier,
    DossierLog,
    Agent,
    AgentLog,
    Call,
    CallEvent,
    Offer,
    OfferLog,
    DeviceRegistration,
    DeviceLicence,
    Throttle,
    AuthEvent,
    AdminAudit,
    RevokedToken,
    ReportCounter,
    ReportMark,
    WebhookSubscription,
    WebhookDelivery,
    IdempotencyRecord,
    Ticket,
    TicketLog,
)
"""Every table, in creation order."""

STATEFUL_MODELS: tuple[type[StatefulModel], ...] = (Dossier, Agent, Call, Offer, Session, Ticket)


class Binding(NamedTuple):
    """Where the models point: what ``bind()`` was last called with."""

    endpoint_url: str | None
    region: str
    prefix: str


_connection: Connection | None = None
_binding = Binding(None, "", "")
MAX_POOL_CONNECTIONS = 128  # the local stack runs up to 64 timer handlers beside the sockets' own


def bind(endpoint_url: str | None, region: str, prefix: str) -> None:
    """Point every model (and the transaction connection) at ``endpoint_url`` / ``region`` / ``prefix``.

    Drops PynamoDB's cached per-model connections, which would otherwise keep the old endpoint, and makes
    every model share one connection: PynamoDB would otherwise build one botocore client per model
    (60-190 ms each, paid on a cold start for every table touched). Botocore clients are thread-safe.
    Not safe with requests in flight: call it at start-up or between tests.
    """
    global _connection, _binding
    # One Lambda container serves one request at a time, but the local stack runs every handler in one
    # process: a pool as large as the concurrent handlers keeps connections instead of reopening them.
    shared = Connection(region=region, host=endpoint_url, max_pool_connections=MAX_POOL_CONNECTIONS)
    for model in ALL_MODELS:
        model.Meta.host = endpoint_url
        model.Meta.region = region
        model.Meta.table_name = prefix + model.TABLE
        pynamodb_internals.share_connection(model, shared)
    _connection = shared
    _binding = Binding(endpoint_url, region, prefix)


def connection() -> Connection:
    """The connection transactions go through (PynamoDB's ``TransactWrite`` needs one, not a model)."""
    assert _connection is not None, "tables.bind() has not run"
    return _connection


def prefix() -> str:
    """The table name prefix currently bound."""
    return _binding.prefix


def binding() -> Binding:
    """What the models are bound to now (to bind them back after binding them elsewhere)."""
    return _binding


HEALTH_KEY = {"S": "vkyc-health-check", "N": "0", "B": b"0"}  # a made-up key of each attribute type
BATCH_GET_MAX = 100


def missing_tables() -> list[str]:
    """The names of the tables of the bound prefix that do not exist (empty: all there).

    One BatchGetItem of a made-up key per table (up to 100 tables a request): it fails if any table is
    missing, and only then does a DescribeTable per table name the missing ones. It needs nothing but
    read access to the deployment's own tables (ListTables would need every table of the account).
    Raises what botocore raises when DynamoDB cannot be reached."""
    client: Any = connection().client
    requests: dict[str, Any] = {}
    for model in ALL_MODELS:
        schema = pynamodb_internals.table_schema(model)
        types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
        names = [k["AttributeName"] for k in schema["key_schema"]]
        key = {name: {types[name]: HEALTH_KEY[types[name]]} for name in names}
        requests[str(model.Meta.table_name)] = {"Keys": [key]}
    tables = list(requests)
    try:
        for start in range(0, len(tables), BATCH_GET_MAX):
            batch = tables[start : start + BATCH_GET_MAX]
            client.batch_get_item(RequestItems={name: requests[name] for name in batch})
        return []
    except client.exceptions.ResourceNotFoundException:
        pass
    missing = []
    for name in tables:
        try:
            client.describe_table(TableName=name)
        except client.exceptions.ResourceNotFoundException:
            missing.append(name)
    return missing


def create_all(wait: bool = True) -> None:
    """Create every missing table (with its GSIs, stream and TTL). Existing tables are left alone."""
    for model in ALL_MODELS:
        model.create_table(wait=wait)


def delete_all() -> None:
    """Delete every table of the bound prefix that exists."""
    for model in ALL_MODELS:
        if model.exists():
            model.delete_table()


bind(env.endpoint_url(), env.region(), env.table_prefix())
