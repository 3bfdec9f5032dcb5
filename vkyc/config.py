"""Each function's settings, typed and checked once, at import.

    config = load_config("signaling")   # an early statement of functions/signaling/app.py

A function whose required setting or secret is missing refuses to start: the import raises
``ConfigError`` naming the variable, so a broken deployment fails its first invocation loudly (and its
alarm fires) instead of running degraded (before this, a missing ``VKYC_WS_API_ID`` silently dropped
every push of the routing and reports functions).

This module is also the one list of what the functions need from their deployment: ``VARIABLES`` (the
environment), ``FUNCTIONS`` (which variables, secrets and AWS resources each app uses) and ``QUEUES``
(the SQS queues, each with its dead-letter queue). The local bootstrap (``local/bootstrap.py``) and the
deployment templates (``infra/package.py``) are generated from them, so adding a queue, a setting or an
app here is all either needs. The tables are ``vkyc.repositories.tables``'s models.

Secrets come from the environment locally and from AWS Secrets Manager in a deployment
(``vkyc.secret_store``: the template sets ``<NAME>_ARN``, never the value).

Kept free of pydantic and boto3: every function imports it first, before anything else is paid for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from vkyc import env, secret_store


class ConfigError(RuntimeError):
    """A required setting or secret is missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class Variable:
    """One environment variable a function reads. ``default`` None: required where used."""

    name: str
    help: str
    default: str | None = None
    secret: bool = False
    min_length: int = 0


TABLE_PREFIX = Variable("VKYC_TABLE_PREFIX", "prefix of every table name", default=env.DEFAULT_TABLE_PREFIX)
BUCKET = Variable(
    "VKYC_BUCKET", "the media bucket (recordings, snapshots, evidence)", default=env.DEFAULT_BUCKET
)
TIMER_QUEUE = Variable("VKYC_TIMER_QUEUE", "the SQS queue of delayed timers", default=env.DEFAULT_TIMER_QUEUE)
INTEGRATIONS_QUEUE = Variable(
    "VKYC_INTEGRATIONS_QUEUE",
    "the integrations app's SQS queue: webhook deliveries, S3's upload notices, image-check verdicts",
    default=env.DEFAULT_INTEGRATIONS_QUEUE,
)
IMAGE_CHECK_QUEUE = Variable(
    "VKYC_IMAGE_CHECK_QUEUE",
    "the SQS queue of ID-image checks (python -m media_node check-images takes its jobs)",
    default=env.DEFAULT_IMAGE_CHECK_QUEUE,
)
WEBHOOK_RETRY = Variable(
    "VKYC_WEBHOOK_RETRY",
    "webhook retry policy: first,max,retry_for,pause_after seconds; empty: the documented default",
    default="",
)
WS_API_ID = Variable("VKYC_WS_API_ID", "the WebSocket API's id: pushes go through its @connections")
WS_STAGE = Variable("VKYC_WS_STAGE", "the WebSocket API's stage", default="api")
WS_URL = Variable("VKYC_WS_URL", "the WebSocket API's address, handed out with every token (wss://...)")
ICE_SERVERS = Variable(
    "VKYC_ICE_SERVERS", "STUN/TURN servers for the parties, a JSON list of RTCIceServer objects", default=""
)
EVIDENCE_RETENTION_DAYS = Variable(
    "VKYC_EVIDENCE_RETENTION_DAYS",
    "days S3 Object Lock keeps each evidence manifest (COMPLIANCE mode); empty: not locked (locally)",
    default="",
)
WEB_ORIGIN = Variable(
    "VKYC_WEB_ORIGIN",
    "the web pages' origin (https://...), allowed to call the REST API; empty: the pages' own origin only",
    default="",
)
FRAME_ORIGINS = Variable(
    "VKYC_FRAME_ORIGINS",
    "the CRM origins the agent page's answer-URL panel may frame (the pages' frame-src), comma or space "
    "separated: the admin API warns of a panel URL of another origin; empty: none",
    default="",
)
TOKEN_SECRET = Variable(
    "VKYC_TOKEN_SECRET", "signs every token (HMAC-SHA256)", secret=True, min_length=32
)  # the length is vkyc.security.tokens.MIN_SECRET_LENGTH
NODE_MASTER_KEY = Variable(
    "VKYC_MEDIA_NODE_MASTER_KEY",
    "derives each media node's key (vkyc.security.node_keys)",
    secret=True,
    min_length=32,
)

VARIABLES: tuple[Variable, ...] = (
    TABLE_PREFIX,
    BUCKET,
    TIMER_QUEUE,
    INTEGRATIONS_QUEUE,
    IMAGE_CHECK_QUEUE,
    WEBHOOK_RETRY,
    WS_API_ID,
    WS_STAGE,
    WS_URL,
    ICE_SERVERS,
    EVIDENCE_RETENTION_DAYS,
    WEB_ORIGIN,
    FRAME_ORIGINS,
    TOKEN_SECRET,
    NODE_MASTER_KEY,
)


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue the code sends to, with its dead-letter queue (``<name>-dlq``)."""

    variable: Variable  # holds the queue's name
    visibility_timeout_s: int = 30  # SQS's own retry of a failed batch; at least the consumer's timeout
    max_receives: int = 5  # deliveries before a message is parked in the dead-letter queue for a human
    receives_uploads: bool = False  # S3 tells it of each upload under vkyc.domain.images.UPLOAD_PREFIX


QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(TIMER_QUEUE),
    # A batch may hold five webhook attempts of up to 10 s each: the visibility must outlast it.
    QueueSpec(INTEGRATIONS_QUEUE, visibility_timeout_s=120, receives_uploads=True),
    QueueSpec(IMAGE_CHECK_QUEUE, visibility_timeout_s=60),
)


@dataclass(frozen=True)
class Uses:
    """What an app's functions do with the deployment's resources: their IAM policy is derived from it."""

    tables: Literal["read", "write"] = "write"
    bucket: Literal["none", "read", "write"] = "none"
    sends_to: tuple[Variable, ...] = ()  # queues (their name variables)
    pushes: bool = False  # posts to WebSocket connections (@connections)
    deletes_uploads: bool = False  # deletes integrators' uploads (vkyc.domain.images.UPLOAD_PREFIX)


@dataclass(frozen=True)
class FunctionSpec:
    """One Chalice app (``functions/<name>``): the variables it reads and what it uses."""

    name: str
    variables: tuple[Variable, ...]
    uses: Uses = field(default_factory=Uses)

    @property
    def secrets(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.secret)


_WHERE = (TABLE_PREFIX, BUCKET, TIMER_QUEUE)
_PUSH = (WS_API_ID, WS_STAGE)

FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec(
            "signaling",
            (
                *_WHERE,
                *_PUSH,
                WS_URL,
                ICE_SERVERS,
                EVIDENCE_RETENTION_DAYS,
                WEB_ORIGIN,
                TOKEN_SECRET,
                NODE_MASTER_KEY,
            ),
            Uses(tables="write", bucket="write", sends_to=(TIMER_QUEUE,), pushes=True),
        ),
        FunctionSpec(
            "routing", (*_WHERE, *_PUSH), Uses(tables="write", sends_to=(TIMER_QUEUE,), pushes=True)
        ),
        FunctionSpec(
            "integrations",
            (TABLE_PREFIX, BUCKET, INTEGRATIONS_QUEUE, IMAGE_CHECK_QUEUE, WEBHOOK_RETRY),
            Uses(
                tables="write",
                bucket="write",
                sends_to=(INTEGRATIONS_QUEUE, IMAGE_CHECK_QUEUE),
                deletes_uploads=True,  # a rejected or superseded upload, or one for no open dossier
            ),
        ),
        FunctionSpec(
            "reports",
            (*_WHERE, *_PUSH, WEB_ORIGIN, TOKEN_SECRET),
            # Writes: the report counters and marks (fed by the streams) and the count of wrong keys.
            Uses(tables="write", bucket="read", pushes=True),
        ),
        # -- the admin API (issue #13): writes configuration; ends the sessions of an account it changes
        # (pushes; ending a call may set timers); media files uploaded through its pre-signed forms.
        FunctionSpec(
            "admin",
            (*_WHERE, *_PUSH, WEB_ORIGIN, FRAME_ORIGINS, TOKEN_SECRET),
            Uses(tables="write", bucket="write", sends_to=(TIMER_QUEUE,), pushes=True),
        ),
    )
}
"""Every app under ``functions/``, by directory name (a test checks that they agree)."""


@dataclass(frozen=True)
class Config:
    """The settings of one function, as loaded: every value of its variables (secrets' values are not
    kept here: ``vkyc.secret_store.get`` serves them)."""

    function: str
    values: Mapping[str, str]

    def __getitem__(self, variable: Variable) -> str:
        return self.values[variable.name]


def load_config(function: str, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check the settings of ``function`` (a key of ``FUNCTIONS``); load its secrets.

    Raises ``ConfigError`` naming the first missing or unusable variable, and every one after it."""
    spec = FUNCTIONS.get(function)
    if spec is None:
        raise ConfigError(f"unknown function {function!r}: declare it in vkyc/config.py FUNCTIONS")
    source = os.environ if environ is None else environ
    values: dict[str, str] = {}
    problems: list[str] = []
    for variable in spec.variables:
        if variable.secret:
            try:
                value = secret_store.load(variable.name, source)
            except secret_store.SecretUnavailable as exc:
                problems.append(str(exc))
                continue
            if not value:
                problems.append(
                    f"{variable.name} is not set (nor {secret_store.arn_variable(variable.name)}, the ARN of "
                    f"the Secrets Manager secret that holds it): {variable.help}"
                )
            elif len(value) < variable.min_length:
                problems.append(f"{variable.name} must be at least {variable.min_length} characters")
            continue
        value = source.get(variable.name, "").strip() or (variable.default or "")
        if not value and variable.default is None:
            problems.append(f"{variable.name} is not set: {variable.help}")
        values[variable.name] = value
    if problems:
        raise ConfigError(f"the {function} function cannot start: " + "; ".join(problems))
    return Config(function, values)
