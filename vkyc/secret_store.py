"""Where vkyc's secrets come from: the environment locally, AWS Secrets Manager in a deployment.

A secret named ``NAME`` (``VKYC_TOKEN_SECRET``, ``VKYC_MEDIA_NODE_MASTER_KEY``) is, in this order:

1. the environment variable ``NAME`` itself (the local stack, the tests, a developer's shell);
2. else the Secrets Manager secret whose ARN is in ``NAME_ARN`` (a deployment: the template sets the ARN,
   never the value), read once with ``GetSecretValue`` and kept for the life of the process (a Lambda
   container: its cold start pays one request per secret, no invocation pays any);
3. else absent: ``get`` answers ``""`` and ``vkyc.config.load_config`` refuses to start.

A value read from the environment is read again at every ``get`` (tests change it between cases); only
what Secrets Manager answered is cached. ``load`` is what the functions call at import, through
``vkyc.config``; it raises ``SecretUnavailable`` naming the secret when Secrets Manager refuses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

ARN_SUFFIX = "_ARN"

_cache: dict[str, str] = {}
_lock = threading.Lock()


class SecretUnavailable(RuntimeError):
    """Secrets Manager did not give a secret's value (missing, no permission, unreachable)."""


def arn_variable(name: str) -> str:
    """The environment variable that holds the ARN of secret ``name`` in a deployment."""
    return name + ARN_SUFFIX


def get(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret's value, or ``""`` when neither the environment nor a loaded ARN gives one."""
    env = os.environ if environ is None else environ
    return env.get(name) or _cache.get(name, "")


def load(name: str, environ: Mapping[str, str] | None = None, client: Callable[[], Any] | None = None) -> str:
    """Make ``name`` available to ``get``: from the environment, else from Secrets Manager (once).
    Returns the value (``""`` when neither is configured)."""
    env = os.environ if environ is None else environ
    if env.get(name):
        return env[name]
    arn = env.get(arn_variable(name))
    if not arn:
        return ""
    with _lock:
        if name not in _cache:
            _cache[name] = _fetch(name, arn, client or _secrets_manager)
        return _cache[name]


def forget() -> None:
    """Drop the cached values (tests)."""
    with _lock:
        _cache.clear()


def _secrets_manager() -> Any:
    # Imported here: a function that reads its secrets from the environment never loads the client.
    import boto3

    from vkyc import env

    return boto3.client("secretsmanager", region_name=env.region(), endpoint_url=env.endpoint_url())


def _fetch(name: str, arn: str, client: Callable[[], Any]) -> str:
    try:
        answer = client().get_secret_value(SecretId=arn)
    except Exception as exc:  # botocore's errors, named in the message
        raise SecretUnavailable(f"{name}: Secrets Manager did not answer {arn}: {exc}") from exc
    value = answer.get("SecretString")
    if not isinstance(value, str) or not value:
        raise SecretUnavailable(f"{name}: the secret {arn} holds no string")
    return value
