"""Where vkyc's AWS resources are: read once from the environment.

Production (Lambda): nothing is set but the region; boto3 and PynamoDB talk to real AWS.
Local: ``AWS_ENDPOINT_URL`` (or ``LOCALSTACK_HOST``) points every client at the moto server that
``local/`` starts on LocalStack's port, or at a real LocalStack.
"""

from __future__ import annotations

import os

DEFAULT_REGION = "ap-southeast-1"
LOCAL_ENDPOINT = "http://127.0.0.1:4566"
# The local stack's names; a deployment sets each (vkyc.config.VARIABLES, infra/package.py).
DEFAULT_TABLE_PREFIX = "vkyc-"
DEFAULT_BUCKET = "vkyc-media"
DEFAULT_TIMER_QUEUE = "vkyc-timers"
DEFAULT_INTEGRATIONS_QUEUE = "vkyc-integrations"
DEFAULT_IMAGE_CHECK_QUEUE = "vkyc-image-checks"


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def endpoint_url() -> str | None:
    """The AWS endpoint override, or None for real AWS.

    ``AWS_ENDPOINT_URL`` wins; else ``LOCALSTACK_HOST`` (``host[:port]``, LocalStack's own variable).
    """
    url = os.environ.get("AWS_ENDPOINT_URL")
    if url:
        return url.rstrip("/")
    host = os.environ.get("LOCALSTACK_HOST")
    if host:
        return host if "://" in host else f"http://{host}"
    return None


def table_prefix() -> str:
    """Prefix of every table name, so several stacks (or test runs) can share one endpoint."""
    return os.environ.get("VKYC_TABLE_PREFIX", DEFAULT_TABLE_PREFIX)


def bucket_name() -> str:
    return os.environ.get("VKYC_BUCKET", DEFAULT_BUCKET)


def timer_queue_name() -> str:
    """The SQS queue of delayed timers (ring timeout, reconnect grace, queue timeout...)."""
    return os.environ.get("VKYC_TIMER_QUEUE", DEFAULT_TIMER_QUEUE)


def stream_arn_variable(table: str) -> str:
    """The environment variable that carries a table's stream ARN to its ``on_dynamodb_record`` handlers."""
    return f"VKYC_STREAM_ARN_{table.upper()}"


def ice_servers_json() -> str:
    """``VKYC_ICE_SERVERS``: the STUN/TURN servers the parties' peer connections use, as a JSON list of
    WebRTC ``RTCIceServer`` objects (``[{"urls": ["turns:turn.example:443"], "username": "u",
    "credential": "p"}]``); empty or unset: none (the media nodes' own addresses are reachable)."""
    return os.environ.get("VKYC_ICE_SERVERS", "").strip()


def integrations_queue_name() -> str:
    """The SQS queue of the integrations app (``functions/integrations``): webhook deliveries (and their
    retries), S3's notices of image uploads, and the image checker's verdicts. Its dead-letter queue
    is this name with ``-dlq``."""
    return os.environ.get("VKYC_INTEGRATIONS_QUEUE", DEFAULT_INTEGRATIONS_QUEUE)


def image_check_queue_name() -> str:
    """The SQS queue the image checker (``python -m media_node check-images``) takes its jobs from."""
    return os.environ.get("VKYC_IMAGE_CHECK_QUEUE", DEFAULT_IMAGE_CHECK_QUEUE)


def webhooks_allow_private() -> bool:
    """``VKYC_WEBHOOK_ALLOW_PRIVATE=1``: deliver to http:// and to private, loopback and link-local
    addresses too. Only for a local stack (``make up`` sets it); never in a deployment."""
    return os.environ.get("VKYC_WEBHOOK_ALLOW_PRIVATE", "") == "1"
