"""boto3 clients for the local stack, made through ``localstack-client``.

Where they point: ``AWS_ENDPOINT_URL`` when set (a real LocalStack, or our moto server), else the
given endpoint, else ``LOCALSTACK_HOST``, else LocalStack's default edge port on 127.0.0.1.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from localstack_client.session import Session

from vkyc import env


def session(endpoint_url: str | None = None) -> Session:
    host = (
        urlsplit(endpoint_url).netloc if endpoint_url else os.environ.get("LOCALSTACK_HOST", "127.0.0.1:4566")
    )
    return Session(region_name=env.region(), localstack_host=host)


def client(service: str, endpoint_url: str | None = None) -> Any:
    return session(endpoint_url).client(service)
