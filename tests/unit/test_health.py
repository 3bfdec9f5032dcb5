"""``GET /health``'s checks (``HealthService``) without AWS: it names each failed dependency and why, and
keeps its answer a few seconds so that polling it cannot become a flood of AWS requests."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from vkyc.protocol.errors import ProtocolError
from vkyc.services.health import CACHE_S, HealthService


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_all_ok_says_so_per_dependency():
    assert HealthService({"dynamodb": lambda: None, "bucket": lambda: None}).status() == {
        "dynamodb": "ok",
        "bucket": "ok",
    }


def test_a_failed_dependency_is_named_with_why():
    def unreachable() -> str | None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    health = HealthService({"dynamodb": unreachable, "bucket": lambda: "NoSuchBucket"})
    with pytest.raises(ProtocolError) as failed:
        health.status()
    assert failed.value.code == "SERVICE_UNAVAILABLE"
    assert "dynamodb: EndpointConnectionError" in failed.value.message
    assert "bucket: NoSuchBucket" in failed.value.message


def test_the_answer_is_kept_a_few_seconds():
    clock, runs = Clock(), []
    health = HealthService({"dynamodb": lambda: runs.append(1)}, clock)
    health.status()
    clock.now += CACHE_S - 0.1
    health.status()
    assert len(runs) == 1
    clock.now += 0.1
    health.status()
    assert len(runs) == 2
