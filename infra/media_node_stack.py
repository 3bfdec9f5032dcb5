"""The media node stack: ``infra/media_node/Dockerfile``'s image as an ECS Fargate service.

It imports the core stack's outputs (``CoreStack``: the REST API, the media bucket, the image
repository, the node-key master, the alarm topic) and adds:

- a task of two containers: ``identity`` (runs first, as root, and exits: gets the node-key master
  from Secrets Manager through ECS, mints this task's node id and key into a file on a shared volume:
  ``media_node.fleet``) and ``node`` (``python -m media_node run``; never sees the master), with the
  node's health check (its heartbeats are accepted) and 120 s to close its calls on SIGTERM;
- a public IP per task and a security group open to the UDP ports WebRTC uses (the kernel's ephemeral
  range, ``WEBRTC_PORTS``: aioice binds there and offers no narrower range); ``MediaIceServers`` (TURN
  or STUN for the nodes, ``VKYC_MEDIA_ICE_SERVERS``): behind AWS's 1:1 NAT a task's own address is
  private, so give the nodes a STUN (or TURN) server to learn their public address from;
- the load the nodes print (``media_node.fleet.load_line``) as a metric (a log metric filter), a
  target-tracking policy on its average (``TargetUtilization``) between ``MinNodes`` and ``MaxNodes``,
  and two alarms: capacity (the average above ``CapacityAlarmPercent``) and silence (no node reports);
- the image checker (``python -m media_node check-images``, same image: OpenCV is there): its own
  service of ``ImageCheckers`` tasks, no public address, a role that reads integrators' uploads
  (``uploads/`` only), takes the image-check queue's jobs and sends verdicts to the integrations queue.
"""

from __future__ import annotations

from typing import Any

from infra.cfn import get_att, ref, sub
from infra.resources import queue_logical_id
from media_node import fleet
from vkyc.config import IMAGE_CHECK_QUEUE, INTEGRATIONS_QUEUE, QUEUES, Variable
from vkyc.domain.images import UPLOAD_PREFIX

WEBRTC_PORTS = (32768, 60999)  # Linux's default net.ipv4.ip_local_port_range (Fargate's too)
NODE_USER = 10001  # the image's `media` user (infra/media_node/Dockerfile)
IDENTITY_DIR = "/run/vkyc"
HEALTH_FILE = "/tmp/vkyc-media-alive"
LOAD_LOG_S = 15
METRIC = "MediaNodeUtilization"
NAMESPACE = "vkyc/${AWS::StackName}"


def _import(core_output: str) -> dict[str, Any]:
    return {"Fn::ImportValue": sub("${CoreStack}-" + core_output)}


PARAMETERS: dict[str, Any] = {
    "CoreStack": {"Type": "String", "Description": "The core stack's name (dist/vkyc.json deployed as)"},
    "ImageUri": {"Type": "String", "Description": "The node image (MediaNodeRepositoryUri:tag)"},
    "VpcId": {"Type": "AWS::EC2::VPC::Id"},
    "SubnetIds": {
        "Type": "List<AWS::EC2::Subnet::Id>",
        "Description": "Public subnets (a public IP per task)",
    },
    "NodeCapacity": {"Type": "Number", "Default": 8, "MinValue": 1, "Description": "Calls per node"},
    "MinNodes": {"Type": "Number", "Default": 1, "MinValue": 0},
    "MaxNodes": {"Type": "Number", "Default": 10, "MinValue": 1},
    "ImageCheckers": {
        "Type": "Number",
        "Default": 1,
        "MinValue": 0,
        "Description": "Image checker tasks (python -m media_node check-images)",
    },
    "TargetUtilization": {"Type": "Number", "Default": 60, "MinValue": 10, "MaxValue": 95},
    "CapacityAlarmPercent": {"Type": "Number", "Default": 85, "MinValue": 10, "MaxValue": 100},
    "Cpu": {"Type": "String", "Default": "1024", "AllowedValues": ["512", "1024", "2048", "4096"]},
    "Memory": {"Type": "String", "Default": "2048", "Description": "MB; must suit Cpu (Fargate's table)"},
    "MediaIceServers": {
        "Type": "String",
        "Default": "",
        "NoEcho": True,
        "Description": "VKYC_MEDIA_ICE_SERVERS: STUN/TURN for the nodes, a JSON list of RTCIceServer",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
    },
}


def _logs(prefix: str) -> dict[str, Any]:
    return {
        "LogDriver": "awslogs",
        "Options": {
            "awslogs-group": ref("NodeLogGroup"),
            "awslogs-region": ref("AWS::Region"),
            "awslogs-stream-prefix": prefix,
        },
    }


def _roles() -> dict[str, Any]:
    ecs_assume = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    execution: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": [_import("MediaNodeRepositoryArn")],
        },
        # ECR's login token is account-wide: AWS authorizes this one action on no narrower resource.
        {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [get_att("NodeLogGroup", "Arn")],
        },
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [_import("MediaNodeMasterKeySecretArn")],
        },
    ]
    node: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [sub("${Bucket}/*", {"Bucket": _import("MediaBucketArn")})],
        },
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [_import("MediaBucketArn")]},
    ]

    def role(statements: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": ecs_assume,
                "Policies": [
                    {
                        "PolicyName": "least-privilege",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    }
                ],
            },
        }

    jobs, verdicts = _queue_export(IMAGE_CHECK_QUEUE), _queue_export(INTEGRATIONS_QUEUE)
    checker: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [sub("${Bucket}/" + UPLOAD_PREFIX + "*", {"Bucket": _import("MediaBucketArn")})],
        },
        {
            # Without it S3 answers a missing upload 403, not the NoSuchKey the checker turns into a verdict.
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [_import("MediaBucketArn")],
            "Condition": {"StringLike": {"s3:prefix": [UPLOAD_PREFIX + "*"]}},
        },
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            "Resource": [_import(jobs + "Arn")],
        },
        {
            "Effect": "Allow",
            "Action": ["sqs:GetQueueUrl", "sqs:SendMessage"],
            "Resource": [_import(verdicts + "Arn")],
        },
    ]
    return {"ExecutionRole": role(execution), "NodeRole": role(node), "ImageCheckerRole": role(checker)}


def _queue_export(variable: Variable) -> str:
    """The core stack's export prefix of the queue named by ``variable`` (``infra.template``)."""
    return next(queue_logical_id(q) for q in QUEUES if q.variable.name == variable.name)


def _image_checker() -> dict[str, Any]:
    return {
        "ImageCheckerTask": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": sub("${AWS::StackName}-image-checker"),
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": "512",
                "Memory": "1024",
                "ExecutionRoleArn": get_att("ExecutionRole", "Arn"),
                "TaskRoleArn": get_att("ImageCheckerRole", "Arn"),
                "ContainerDefinitions": [
                    {
                        "Name": "image-checker",
                        "Image": ref("ImageUri"),
                        "Essential": True,
                        "Command": ["check-images"],  # the image's entry point is python -m media_node
                        "Environment": [
                            {"Name": "AWS_REGION", "Value": ref("AWS::Region")},
                            {"Name": "VKYC_BUCKET", "Value": _import("MediaBucket")},
                            {
                                "Name": IMAGE_CHECK_QUEUE.name,
                                "Value": _import(_queue_export(IMAGE_CHECK_QUEUE) + "Name"),
                            },
                            {
                                "Name": INTEGRATIONS_QUEUE.name,
                                "Value": _import(_queue_export(INTEGRATIONS_QUEUE) + "Name"),
                            },
                        ],
                        "LogConfiguration": _logs("image-checker"),
                    }
                ],
            },
        },
        "ImageCheckerService": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": ref("Cluster"),
                "TaskDefinition": ref("ImageCheckerTask"),
                "LaunchType": "FARGATE",
                "DesiredCount": ref("ImageCheckers"),
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {
                        # Public subnets without a NAT gateway: the address reaches S3, SQS and ECR.
                        # Nothing connects to it (the security group admits nothing).
                        "AssignPublicIp": "ENABLED",
                        "Subnets": ref("SubnetIds"),
                        "SecurityGroups": [ref("ImageCheckerSecurityGroup")],
                    }
                },
                "DeploymentConfiguration": {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}},
            },
        },
        "ImageCheckerSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "vkyc image checker: outbound only",
                "VpcId": ref("VpcId"),
            },
        },
    }


def _task() -> dict[str, Any]:
    identity_file = f"{IDENTITY_DIR}/node.json"
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": sub("${AWS::StackName}-media-node"),
            "RequiresCompatibilities": ["FARGATE"],
            "NetworkMode": "awsvpc",
            "Cpu": ref("Cpu"),
            "Memory": ref("Memory"),
            "ExecutionRoleArn": get_att("ExecutionRole", "Arn"),
            "TaskRoleArn": get_att("NodeRole", "Arn"),
            "Volumes": [{"Name": "identity"}],
            "ContainerDefinitions": [
                {
                    "Name": "identity",
                    "Image": ref("ImageUri"),
                    "Essential": False,
                    "User": "0",
                    "EntryPoint": ["python", "-m", "media_node.fleet"],
                    "Command": ["identity", "--out", identity_file, "--owner", str(NODE_USER)],
                    "Secrets": [
                        {
                            "Name": "VKYC_MEDIA_NODE_MASTER_KEY",
                            "ValueFrom": _import("MediaNodeMasterKeySecretArn"),
                        }
                    ],
                    "MountPoints": [{"SourceVolume": "identity", "ContainerPath": IDENTITY_DIR}],
                    "LogConfiguration": _logs("identity"),
                },
                {
                    "Name": "node",
                    "Image": ref("ImageUri"),
                    "Essential": True,
                    "DependsOn": [{"ContainerName": "identity", "Condition": "SUCCESS"}],
                    "Environment": [
                        {"Name": "AWS_REGION", "Value": ref("AWS::Region")},
                        {"Name": "VKYC_REST_URL", "Value": _import("RestApiUrl")},
                        {"Name": "VKYC_BUCKET", "Value": _import("MediaBucket")},
                        {"Name": "VKYC_MEDIA_CAPACITY", "Value": ref("NodeCapacity")},
                        {"Name": "VKYC_MEDIA_ICE_SERVERS", "Value": ref("MediaIceServers")},
                        {"Name": fleet.IDENTITY_FILE_VARIABLE, "Value": identity_file},
                        {"Name": fleet.HEALTH_FILE_VARIABLE, "Value": HEALTH_FILE},
                        {"Name": fleet.LOAD_LOG_VARIABLE, "Value": str(LOAD_LOG_S)},
                    ],
                    "MountPoints": [
                        {"SourceVolume": "identity", "ContainerPath": IDENTITY_DIR, "ReadOnly": True}
                    ],
                    "HealthCheck": {
                        "Command": ["CMD", "python", "-m", "media_node.fleet", "health"],
                        "Interval": 10,
                        "Timeout": 5,
                        "Retries": 3,
                        "StartPeriod": 60,
                    },
                    # SIGTERM closes the calls and finalizes their recordings (Fargate allows 120 s).
                    "StopTimeout": 120,
                    "LogConfiguration": _logs("node"),
                },
            ],
        },
    }


def _alarm(description: str, statistic: str, threshold: Any, operator: str, missing: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": sub("${AWS::StackName}: " + description),
            "Namespace": sub(NAMESPACE),
            "MetricName": METRIC,
            "Statistic": statistic,
            "Period": 60,
            "EvaluationPeriods": 5,
            "Threshold": threshold,
            "ComparisonOperator": operator,
            "TreatMissingData": missing,
            "AlarmActions": [_import("AlarmTopicArn")],
            "OKActions": [_import("AlarmTopicArn")],
        },
    }


def template() -> dict[str, Any]:
    low, high = WEBRTC_PORTS
    resources: dict[str, Any] = {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
        "NodeLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"RetentionInDays": ref("LogRetentionDays")},
        },
        "LoadMetricFilter": {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": ref("NodeLogGroup"),
                "FilterPattern": '{ $.metric = "' + fleet.LOAD_METRIC + '" }',
                "MetricTransformations": [
                    {"MetricNamespace": sub(NAMESPACE), "MetricName": METRIC, "MetricValue": "$.utilization"}
                ],
            },
        },
        "NodeSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "vkyc media nodes: WebRTC media (UDP) from anywhere",
                "VpcId": ref("VpcId"),
                "SecurityGroupIngress": [
                    {"IpProtocol": "udp", "FromPort": low, "ToPort": high, "CidrIp": "0.0.0.0/0"},
                    {"IpProtocol": "udp", "FromPort": low, "ToPort": high, "CidrIpv6": "::/0"},
                ],
            },
        },
        **_roles(),
        **_image_checker(),
        "TaskDefinition": _task(),
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": ref("Cluster"),
                "TaskDefinition": ref("TaskDefinition"),
                "LaunchType": "FARGATE",
                "DesiredCount": ref("MinNodes"),
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {
                        "AssignPublicIp": "ENABLED",
                        "Subnets": ref("SubnetIds"),
                        "SecurityGroups": [ref("NodeSecurityGroup")],
                    }
                },
                # A new node is up before an old one stops; a release whose nodes never get healthy
                # is rolled back by ECS.
                "DeploymentConfiguration": {
                    "MinimumHealthyPercent": 100,
                    "MaximumPercent": 200,
                    "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                },
            },
        },
        "ScalableTarget": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "ServiceNamespace": "ecs",
                "ScalableDimension": "ecs:service:DesiredCount",
                "ResourceId": sub("service/${Cluster}/${Service.Name}"),
                "MinCapacity": ref("MinNodes"),
                "MaxCapacity": ref("MaxNodes"),
            },
        },
        "ScalingPolicy": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {
                "PolicyName": sub("${AWS::StackName}-utilization"),
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": ref("ScalableTarget"),
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": ref("TargetUtilization"),
                    "CustomizedMetricSpecification": {
                        "Namespace": sub(NAMESPACE),
                        "MetricName": METRIC,
                        "Statistic": "Average",
                    },
                    "ScaleOutCooldown": 60,
                    # Stopping a node ends the calls it carries: scale in slowly.
                    "ScaleInCooldown": 900,
                },
            },
        },
        "CapacityAlarm": _alarm(
            "media nodes near capacity",
            "Average",
            ref("CapacityAlarmPercent"),
            "GreaterThanOrEqualToThreshold",
            "notBreaching",
        ),
        "SilenceAlarm": _alarm(
            "no media node reports its load", "SampleCount", 1, "LessThanThreshold", "breaching"
        ),
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "vkyc media nodes on ECS Fargate (generated by `make package`: do not edit)",
        "Parameters": PARAMETERS,
        "Resources": resources,
        "Outputs": {
            "ClusterName": {"Value": ref("Cluster")},
            "ServiceName": {"Value": get_att("Service", "Name")},
            "NodeLogGroupName": {"Value": ref("NodeLogGroup")},
            "ImageCheckerServiceName": {"Value": get_att("ImageCheckerService", "Name")},
        },
    }
