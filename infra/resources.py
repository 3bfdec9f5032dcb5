"""The deployment's own resources beside the functions, from the code's declarations.

- the tables: ``vkyc.repositories.tables``'s models (``infra.tables``), named ``<stack>-<table>``,
  kept when the stack goes (``Retain``), point-in-time recovery on;
- one SQS queue per ``vkyc.config.QUEUES`` entry, with its dead-letter queue;
- the media bucket: encrypted, versioned, Object Lock enabled (what is written under ``evidence/`` is
  locked for ``EvidenceRetentionDays``, COMPLIANCE mode, by ``vkyc.adapters.media_bucket``), per-call
  media (``calls/``: recordings, snapshots) expiring after ``CallMediaRetentionDays``, TLS only; it tells
  the queues that ``receives_uploads`` of each upload under ``uploads/`` (S3 event notifications);
- the static web bucket behind a CloudFront distribution (``web/``, private to CloudFront, served with
  the pages' security headers, ``local/web_policy.py``; ``FrameOrigins``, the CRM origins the agent's
  answer-URL panel may frame, is their ``frame-src``);
- one Secrets Manager secret per secret variable of ``vkyc.config`` (generated at creation, 64 characters);
- the media node's image repository (ECR).
"""

from __future__ import annotations

from typing import Any

from infra import tables as table_resources
from infra.cfn import get_att, pascal, ref, sub
from local.web_policy import content_security_policy
from vkyc.config import QUEUES, VARIABLES, QueueSpec, Variable
from vkyc.domain.frame_origins import FRAME_ORIGINS
from vkyc.domain.images import UPLOAD_PREFIX
from vkyc.repositories.tables import ALL_MODELS

Resources = dict[str, Any]
STACK_PREFIX = "${AWS::StackName}-"
DLQ_RETENTION_S = 14 * 24 * 3600  # SQS's maximum: two weeks for a human to look
CALL_MEDIA_PREFIX = "calls/"
# The web pages' origins, as CloudFormation strings (infra.template defines what they name).
WS_ORIGIN = "wss://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
REST_ORIGIN = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
MEDIA_ORIGIN = "https://s3.${AWS::Region}.${AWS::URLSuffix}"
# A deployment's pages are https: they frame https origins only, comma separated (``infra.deploy``
# checks each with ``vkyc.domain.frame_origins.frame_origin`` first and says what is wrong, with its code).
_HTTPS_ORIGIN = r"https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?"
FRAME_ORIGINS_PATTERN = f"^$|^{_HTTPS_ORIGIN}(,{_HTTPS_ORIGIN})*$"

PARAMETERS: dict[str, Any] = {
    "CallMediaRetentionDays": {
        "Type": "Number",
        "Default": 365,
        "MinValue": 1,
        "Description": "Days recordings and snapshots (calls/ in the media bucket) are kept",
    },
    "EvidenceRetentionDays": {
        "Type": "Number",
        "Default": 1825,
        "MinValue": 1,
        "Description": "Days each evidence manifest is locked against deletion (S3 Object Lock, COMPLIANCE)",
    },
    "FrameOrigins": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": FRAME_ORIGINS_PATTERN,
        "ConstraintDescription": "comma-separated https origins (https://host[:port]), no wildcard, no path "
        "(FRAME_ORIGIN_INVALID, FRAME_ORIGIN_WILDCARD, FRAME_ORIGIN_NOT_HTTPS: docs/security.md)",
        "Description": f"{FRAME_ORIGINS}: the CRM origins the agent's answer-URL panel may frame (the "
        "pages' frame-src), comma-separated https://host[:port]; empty: none",
    },
}
CONDITIONS: dict[str, Any] = {"HasFrameOrigins": {"Fn::Not": [{"Fn::Equals": [ref("FrameOrigins"), ""]}]}}


def table_logical_id(table: str) -> str:
    return next(table_resources.logical_id(m) for m in ALL_MODELS if table == m.TABLE)


def tables() -> Resources:
    resources: Resources = {}
    for model in ALL_MODELS:
        properties = table_resources.table_properties(model)
        properties["TableName"] = sub(STACK_PREFIX + model.TABLE)
        properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
        properties["SSESpecification"] = {"SSEEnabled": True}
        resources[table_resources.logical_id(model)] = {
            "Type": "AWS::DynamoDB::Table",
            # Tables hold the audit trail: a stack update or deletion must never drop them.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
    return resources


def queue_logical_id(spec: QueueSpec) -> str:
    """``vkyc-timers`` -> ``TimersQueue``."""
    return pascal((spec.variable.default or spec.variable.name).removeprefix("vkyc-")) + "Queue"


def dead_letter_logical_id(spec: QueueSpec) -> str:
    return queue_logical_id(spec).removesuffix("Queue") + "DeadLetterQueue"


def queues() -> Resources:
    resources: Resources = {}
    for spec in QUEUES:
        name, dlq = queue_logical_id(spec), dead_letter_logical_id(spec)
        resources[dlq] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": DLQ_RETENTION_S, "SqsManagedSseEnabled": True},
        }
        resources[name] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": spec.visibility_timeout_s,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": get_att(dlq, "Arn"),
                    "maxReceiveCount": spec.max_receives,
                },
            },
        }
    return resources


def _tls_only(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [get_att(bucket, "Arn"), sub("${" + bucket + ".Arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


PRIVATE = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def upload_notices() -> tuple[list[dict[str, Any]], Resources]:
    """The media bucket's notices of integrators' uploads (``ObjectCreated`` under ``uploads/``) to each
    queue that ``receives_uploads``, and the queue policies that let S3 send them.

    The policy names the account (``aws:SourceAccount``), not the bucket: naming the bucket's ARN would
    make the policy depend on the bucket, which must wait for the policy (S3 checks that it may send
    when the notification is written). The functions check the bucket named in each notice."""
    configurations: list[dict[str, Any]] = []
    policies: Resources = {}
    for spec in QUEUES:
        if not spec.receives_uploads:
            continue
        queue = queue_logical_id(spec)
        configurations.append(
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": get_att(queue, "Arn"),
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}},
            }
        )
        policies[queue + "UploadNotices"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [ref(queue)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "MediaBucketUploadNotices",
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": get_att(queue, "Arn"),
                            "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                        }
                    ],
                },
            },
        }
    return configurations, policies


def media_bucket() -> Resources:
    notices, policies = upload_notices()
    notifications = {"NotificationConfiguration": {"QueueConfigurations": notices}} if notices else {}
    return {
        **policies,
        "MediaBucket": {
            "Type": "AWS::S3::Bucket",
            # Recordings and evidence outlive any stack.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            **({"DependsOn": sorted(policies)} if policies else {}),
            "Properties": {
                **notifications,
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                # Enabled on the bucket, applied per object: only evidence/ is locked (a default
                # retention would lock every recording part, which the node deletes once assembled).
                "ObjectLockEnabled": True,
                "PublicAccessBlockConfiguration": PRIVATE,
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "CallMediaRetention",
                            "Status": "Enabled",
                            "Prefix": CALL_MEDIA_PREFIX,
                            "ExpirationInDays": ref("CallMediaRetentionDays"),
                        },
                        {
                            # Deleted recording parts and replaced objects: versions nobody reads.
                            "Id": "OldVersions",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                        },
                    ]
                },
            },
        },
        "MediaBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref("MediaBucket"),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [_tls_only("MediaBucket")]},
            },
        },
    }


def pages_policy() -> Any:
    """The pages' Content-Security-Policy as a CloudFormation value: with ``FrameOrigins`` (commas
    become the spaces between sources) as ``frame-src``, or ``frame-src 'none'`` when it is empty."""
    apis = {"connect": [REST_ORIGIN, WS_ORIGIN], "media": [MEDIA_ORIGIN]}
    framed = content_security_policy(**apis, frame=["${FrameSources}"])
    sources = {"Fn::Join": [" ", {"Fn::Split": [",", ref("FrameOrigins")]}]}
    return {
        "Fn::If": [
            "HasFrameOrigins",
            sub(framed, {"FrameSources": sources}),
            sub(content_security_policy(**apis)),
        ]
    }


def web() -> Resources:
    """The pages' bucket, the CloudFront distribution that alone reads it, and the pages' headers."""
    return {
        "WebBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "PublicAccessBlockConfiguration": PRIVATE,
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            },
        },
        "WebBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref("WebBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        _tls_only("WebBucket"),
                        {
                            "Sid": "CloudFrontReads",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": sub("${WebBucket.Arn}/*"),
                            "Condition": {
                                "StringEquals": {
                                    "AWS:SourceArn": sub(
                                        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${WebDistribution}"
                                    )
                                }
                            },
                        },
                    ],
                },
            },
        },
        "WebOriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": sub("${AWS::StackName}-web"),
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        "WebHeaders": {
            "Type": "AWS::CloudFront::ResponseHeadersPolicy",
            "Properties": {
                "ResponseHeadersPolicyConfig": {
                    "Name": sub("${AWS::StackName}-web-headers"),
                    "SecurityHeadersConfig": {
                        "ContentSecurityPolicy": {"ContentSecurityPolicy": pages_policy(), "Override": True},
                        "ContentTypeOptions": {"Override": True},
                        "ReferrerPolicy": {"ReferrerPolicy": "same-origin", "Override": True},
                        "StrictTransportSecurity": {"AccessControlMaxAgeSec": 31536000, "Override": True},
                    },
                }
            },
        },
        "WebDistribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Enabled": True,
                    "DefaultRootObject": "index.html",
                    "HttpVersion": "http2",
                    "Origins": [
                        {
                            "Id": "web",
                            "DomainName": get_att("WebBucket", "RegionalDomainName"),
                            "OriginAccessControlId": get_att("WebOriginAccessControl", "Id"),
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "web",
                        "ViewerProtocolPolicy": "redirect-to-https",
                        # AWS's managed CachingOptimized policy; the pages are small and change on deploy.
                        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                        "ResponseHeadersPolicyId": ref("WebHeaders"),
                        "Compress": True,
                    },
                }
            },
        },
    }


def secret_logical_id(variable: Variable) -> str:
    """``VKYC_TOKEN_SECRET`` -> ``TokenSecret``; ``VKYC_MEDIA_NODE_MASTER_KEY`` -> ``...MasterKeySecret``."""
    name = pascal(variable.name.removeprefix("VKYC_").lower())
    return name if name.endswith("Secret") else name + "Secret"


def secrets() -> Resources:
    return {
        secret_logical_id(variable): {
            "Type": "AWS::SecretsManager::Secret",
            # A lost signing key logs everyone out; a lost node master re-keys every node: keep them.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": sub(f"${{AWS::StackName}}: {variable.name} ({variable.help})"),
                "GenerateSecretString": {
                    "PasswordLength": max(64, variable.min_length),
                    "ExcludePunctuation": True,
                },
            },
        }
        for variable in VARIABLES
        if variable.secret
    }


def media_node_repository() -> Resources:
    return {
        "MediaNodeRepository": {
            "Type": "AWS::ECR::Repository",
            "Properties": {
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "ImageTagMutability": "IMMUTABLE",
                "EncryptionConfiguration": {"EncryptionType": "AES256"},
            },
        }
    }


def all_resources() -> Resources:
    return {**tables(), **queues(), **media_bucket(), **web(), **secrets(), **media_node_repository()}
