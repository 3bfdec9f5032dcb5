"""Renaming logical ids while merging the apps' templates (``infra.cfn``) and naming their functions."""

from __future__ import annotations

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
