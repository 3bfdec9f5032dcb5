"""The one way vkyc and the media node build an S3 client."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from vkyc import env


def s3_client() -> Any:
    """An S3 client at ``AWS_ENDPOINT_URL`` (or real AWS). Path-style addressing works against moto and
    LocalStack as well as AWS, and makes pre-signed URLs usable against a local endpoint (no bucket DNS);
    s3v4 signatures are what pre-signed URLs need in every region."""
    return boto3.client(
        "s3",
        region_name=env.region(),
        endpoint_url=env.endpoint_url(),
        config=Config(
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path"},
        ),
    )
