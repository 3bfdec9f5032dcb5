"""S3's notices of integrators' uploads reach the integrations function through its queue: only a notice
of the media bucket is taken; one naming another bucket (a misconfigured or hostile sender: the queue
policy trusts the account, not the bucket) is dropped without touching any dossier or object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from local.runners.sqs import sqs_event
from vkyc import env


@dataclass
class Intake:
    uploads: list[tuple[str, int]] = field(default_factory=list)

    def uploaded(self, key: str, size: int) -> bool:
        self.uploads.append((key, size))
        return True


@dataclass
class Services:
    intake: Intake = field(default_factory=Intake)


@pytest.fixture
def integrations(tables, monkeypatch):
    from functions.integrations import app as integrations_app

    services = Services()
    monkeypatch.setattr(integrations_app, "services", lambda: services)
    return integrations_app, services.intake


def _notice(bucket: str, key: str, size: int = 4096) -> dict[str, Any]:
    record = {
        "eventName": "ObjectCreated:Post",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": size}},
    }
    body = json.dumps({"Records": [record]})
    messages = [{"MessageId": "1", "ReceiptHandle": "h", "Body": body, "MD5OfBody": "", "Attributes": {}}]
    return sqs_event(
        messages, queue_arn="arn:aws:sqs:ap-southeast-1:000000000000:integrations", region="ap-southeast-1"
    )


def test_a_notice_of_the_media_bucket_is_taken(integrations):
    app, intake = integrations
    app.integration_jobs(_notice(env.bucket_name(), "uploads/d-1/front/abc+1.jpg"), None)
    assert intake.uploads == [("uploads/d-1/front/abc 1.jpg", 4096)]


def test_a_notice_naming_another_bucket_is_dropped(integrations):
    app, intake = integrations
    app.integration_jobs(_notice("someone-elses-bucket", "uploads/d-1/front/abc.jpg"), None)
    assert intake.uploads == []
