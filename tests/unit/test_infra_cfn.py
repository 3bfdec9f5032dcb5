"""Renaming logical ids while merging the apps' templates (``infra.cfn``) and naming their functions."""

from __future__ import annotations

import json

from infra.cfn import pascal, referenced_names, rename
from infra.template import function_name


def test_every_kind_of_reference_is_renamed_and_nothing_else():
    node = {
        "A": {"Ref": "APIHandler"},
        "B": {"Fn::GetAtt": ["APIHandler", "Arn"]},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:x:${APIHandler.Arn}/${Other}"},
        "D": {"Fn::Sub": ["${Local}-${APIHandler}", {"Local": {"Ref": "APIHandler"}}]},
        "DependsOn": ["APIHandler", "Other"],
        "E": {"Ref": "AWS::Region"},
        "F": "APIHandler",
    }
    renamed = rename(node, lambda name: "Signaling" + name if name == "APIHandler" else None)
    assert renamed == {
        "A": {"Ref": "SignalingAPIHandler"},
        "B": {"Fn::GetAtt": ["SignalingAPIHandler", "Arn"]},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:x:${SignalingAPIHandler.Arn}/${Other}"},
        "D": {"Fn::Sub": ["${Local}-${SignalingAPIHandler}", {"Local": {"Ref": "SignalingAPIHandler"}}]},
        "DependsOn": ["SignalingAPIHandler", "Other"],
        "E": {"Ref": "AWS::Region"},
        "F": "APIHandler",
    }
    assert referenced_names(node) == {"APIHandler", "Other"}, "pseudo parameters are left out"


def test_names():
    assert pascal("vkyc-timers") == "VkycTimers" and pascal("dossier_log") == "DossierLog"
    assert function_name("signaling", "APIHandler") == "signaling-api-handler"
    assert function_name("reports", "AgentChanges") == "reports-agent-changes"
    assert function_name("signaling", "WebsocketDisconnect") == "signaling-websocket-disconnect"


# -- the integrations pieces of the deployment ---------------------------------------------------------


def test_the_media_bucket_tells_the_upload_queue_of_uploads_only_after_s3_may_send_to_it():
    from infra.resources import media_bucket, queue_logical_id
    from vkyc.config import QUEUES
    from vkyc.domain.images import UPLOAD_PREFIX

    resources = media_bucket()
    receivers = [queue_logical_id(q) for q in QUEUES if q.receives_uploads]
    assert receivers == ["IntegrationsQueue"]
    bucket = resources["MediaBucket"]
    notices = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notices == [
        {
            "Event": "s3:ObjectCreated:*",
            "Queue": {"Fn::GetAtt": ["IntegrationsQueue", "Arn"]},
            "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}},
        }
    ]
    policy = resources["IntegrationsQueueUploadNotices"]
    assert bucket["DependsOn"] == ["IntegrationsQueueUploadNotices"]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # No cycle: the policy does not name the bucket that waits for it.
    assert "MediaBucket" not in referenced_names(policy)


def test_only_the_integrations_function_deletes_and_only_uploads():
    from infra.iam import function_role
    from vkyc.config import FUNCTIONS

    for name, spec in FUNCTIONS.items():
        role = function_role(spec, "LogGroup")
        deleting = [
            s
            for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            if "s3:DeleteObject" in s["Action"]
        ]
        if name == "integrations":
            assert deleting == [
                {
                    "Effect": "Allow",
                    "Action": ["s3:DeleteObject"],
                    "Resource": [{"Fn::Sub": "${MediaBucket.Arn}/uploads/*"}],
                }
            ]
        else:
            assert deleting == [], name


def test_the_image_checker_runs_the_node_image_with_a_role_for_its_queues_and_uploads_only():
    from infra.media_node_stack import template

    resources = template()["Resources"]
    container = resources["ImageCheckerTask"]["Properties"]["ContainerDefinitions"][0]
    assert container["Command"] == ["check-images"]
    assert {e["Name"] for e in container["Environment"]} >= {
        "VKYC_BUCKET",
        "VKYC_IMAGE_CHECK_QUEUE",
        "VKYC_INTEGRATIONS_QUEUE",
    }
    assert resources["ImageCheckerTask"]["Properties"]["TaskRoleArn"] == {
        "Fn::GetAtt": ["ImageCheckerRole", "Arn"]
    }
    assert resources["ImageCheckerService"]["Properties"]["TaskDefinition"] == {"Ref": "ImageCheckerTask"}
    statements = resources["ImageCheckerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {action: s["Resource"] for s in statements for action in s["Action"]}
    assert set(granted) == {
        "s3:GetObject",
        "s3:ListBucket",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
    }
    assert "uploads/*" in json.dumps(granted["s3:GetObject"])
    assert "ImageChecksQueueArn" in json.dumps(granted["sqs:ReceiveMessage"])
    assert "IntegrationsQueueArn" in json.dumps(granted["sqs:SendMessage"])
    assert "ImageChecksQueueArn" not in json.dumps(granted["sqs:SendMessage"])


# -- the pages' frame-src ----------------------------------------------------------------------------------


def evaluate(node: object, frame_origins: str) -> str:
    """The policy string CloudFormation makes of ``pages_policy()`` for a ``FrameOrigins`` value (with
    the stack's own names left as ``${...}``)."""
    assert isinstance(node, dict)
    (function, argument), *_ = node.items()
    if function == "Fn::If":
        condition, framed, plain = argument
        assert condition == "HasFrameOrigins"
        return evaluate(framed if frame_origins else plain, frame_origins)
    assert function == "Fn::Sub"
    if isinstance(argument, str):
        return argument
    text, variables = argument
    join = variables["FrameSources"]["Fn::Join"]
    split = join[1]["Fn::Split"]
    assert split[1] == {"Ref": "FrameOrigins"}
    return text.replace("${FrameSources}", join[0].join(frame_origins.split(split[0])))


def test_the_pages_frame_the_deployments_frame_origins_and_nothing_without_them():
    from infra.resources import CONDITIONS, PARAMETERS, pages_policy, web

    headers = web()["WebHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] == pages_policy()
    assert CONDITIONS["HasFrameOrigins"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "FrameOrigins"}, ""]}]}
    assert PARAMETERS["FrameOrigins"]["Default"] == ""
    framed = evaluate(pages_policy(), "https://crm.example.vn,https://crm2.example.vn:8443")
    assert "; frame-src https://crm.example.vn https://crm2.example.vn:8443; " in framed
    plain = evaluate(pages_policy(), "")
    assert "; frame-src 'none'; " in plain
    assert framed.replace("https://crm.example.vn https://crm2.example.vn:8443", "'none'") == plain


def test_cloudformation_refuses_what_the_deploy_command_refuses():
    import re

    import pytest

    from infra.resources import FRAME_ORIGINS_PATTERN
    from vkyc.domain.frame_origins import FrameOriginError, frame_origins

    good = ["", "https://crm.example.vn", "https://crm.example.vn,https://crm-2.example.vn:8443"]
    for value in good:
        assert re.fullmatch(FRAME_ORIGINS_PATTERN, value), value
        assert ",".join(frame_origins(value, local=False)) == value
    bad = [
        "*",
        "https://*.example.vn",
        "https:",
        "http://crm.example.vn",
        "http://127.0.0.1:8088",
        "https://crm.example.vn/answer",
        "https://crm.example.vn,",
        "https://crm.example.vn https://crm2.example.vn",  # the deploy command writes commas
        "'self'",
        "https://crm.example.vn;script-src",
    ]
    for value in bad:
        assert not re.fullmatch(FRAME_ORIGINS_PATTERN, value), value
    for value in bad[:6]:
        with pytest.raises(FrameOriginError):
            frame_origins(value, local=False)
