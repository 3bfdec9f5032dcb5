"""``make deploy STAGE=<stage>`` (``python -m infra.deploy``): ``dist/`` into an AWS account.

1. The function packages and the template go to an artifacts bucket (``--artifacts-bucket``, default
   ``vkyc-artifacts-<account>-<region>``, created with encryption and no public access if missing;
   keys are content hashes, so an unchanged function is not uploaded twice).
2. The core stack ``vkyc-<stage>`` is created or updated through a change set (SAM transform, IAM
   capabilities); a failed update is rolled back by CloudFormation itself. Parameters:
   ``--parameter Name=Value`` (repeatable; ``docs/deploy.md`` lists them), checked before anything is
   sent where this code knows better than CloudFormation's pattern: ``FrameOrigins`` (the CRM origins
   the pages may frame) is refused with its ``FRAME_ORIGIN_*`` code naming the entry, and written
   comma-separated.
3. ``web/`` goes to the stack's web bucket, with a ``config.json`` naming the REST API, and CloudFront
   forgets its copies.
4. With ``--media-image URI`` (pushed to the stack's ``MediaNodeRepositoryUri``), ``--vpc`` and
   ``--subnets``, the media node stack ``vkyc-<stage>-media`` follows.

Prints the stack's outputs. Needs AWS credentials allowed to manage these stacks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import sys
import time
from pathlib import Path
from typing import Any

from infra.chalice_build import ROOT
from vkyc.domain.frame_origins import FrameOriginError, frame_origins

TEMPLATE_MAX_INLINE = 51_200
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class DeployError(RuntimeError):
    pass


def stack_name(stage: str) -> str:
    return f"vkyc-{stage}"


def parameters(pairs: list[str]) -> list[dict[str, str]]:
    """``Name=Value`` strings as CloudFormation parameters."""
    answer = []
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise DeployError(f"--parameter {pair!r}: write Name=Value")
        answer.append({"ParameterKey": name, "ParameterValue": value})
    return answer


def core_parameters(pairs: list[str]) -> list[dict[str, str]]:
    """The core stack's ``Name=Value`` parameters, checked: ``FrameOrigins`` (comma or space separated)
    must be https origins (``vkyc.domain.frame_origins.frame_origin``); raises ``DeployError`` with the
    code."""
    answer = parameters(pairs)
    for parameter in answer:
        if parameter["ParameterKey"] == "FrameOrigins":
            try:
                origins = frame_origins(
                    parameter["ParameterValue"], local=False, source="--parameter FrameOrigins"
                )
            except FrameOriginError as exc:
                raise DeployError(str(exc)) from None
            parameter["ParameterValue"] = ",".join(origins)
    return answer


def upload(s3: Any, bucket: str, prefix: str, path: Path) -> str:
    """Put ``path`` under its content hash (once); returns the key."""
    data = path.read_bytes()
    key = f"{prefix}/{hashlib.sha256(data).hexdigest()}{path.suffix}"
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    return key


def with_uploaded_code(
    template: dict[str, Any], s3: Any, bucket: str, prefix: str, dist: Path
) -> dict[str, Any]:
    """The template with every function's ``CodeUri`` (a zip of ``dist/``) replaced by its S3 copy."""
    copy = json.loads(json.dumps(template))
    for resource in copy["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            key = upload(s3, bucket, prefix, dist / properties["CodeUri"])
            properties["CodeUri"] = {"Bucket": bucket, "Key": key}
    return copy


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except s3.exceptions.ClientError:
        pass
    options = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **options)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def apply_stack(
    cfn: Any, name: str, template_url: str, params: list[dict[str, str]], out: Any
) -> dict[str, str]:
    """Create or update ``name`` through a change set; returns its outputs."""
    try:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        kind = "CREATE" if status == "REVIEW_IN_PROGRESS" else "UPDATE"
    except cfn.exceptions.ClientError:
        kind = "CREATE"
    change_set = f"{name}-{int(time.time())}"
    cfn.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType=kind,
        TemplateURL=template_url,
        Parameters=params,
        Capabilities=CAPABILITIES,
    )
    try:
        cfn.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName=change_set)
    except Exception:
        reason = cfn.describe_change_set(StackName=name, ChangeSetName=change_set).get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            out(f"{name}: no change")
            return outputs(cfn, name)
        raise DeployError(f"{name}: change set failed: {reason}") from None
    out(f"{name}: {kind.lower()} (change set {change_set})")
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except Exception as exc:
        raise DeployError(f"{name}: {kind.lower()} failed (CloudFormation rolled it back): {exc}") from None
    return outputs(cfn, name)


def outputs(cfn: Any, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def publish_web(s3: Any, cloudfront: Any, found: dict[str, str], distribution_id: str | None) -> int:
    """``web/`` into the web bucket, with ``config.json`` naming the REST API; returns the file count."""
    bucket = found["WebBucketName"]
    count = 0
    for path in sorted((ROOT / "web").rglob("*")):
        if path.is_file() and path.name != "config.json":
            key = path.relative_to(ROOT / "web").as_posix()
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type)
            count += 1
    config = {"api": found["RestApiUrl"], "api_origins": []}
    s3.put_object(
        Bucket=bucket, Key="config.json", Body=json.dumps(config).encode(), ContentType="application/json"
    )
    if distribution_id:
        cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": str(time.time()),
            },
        )
    return count + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--dist", default=str(ROOT / "dist"))
    parser.add_argument("--artifacts-bucket", default="")
    parser.add_argument("--parameter", action="append", default=[], help="Name=Value for the core stack")
    parser.add_argument("--media-image", default="", help="the node image URI (deploys the media node stack)")
    parser.add_argument("--vpc", default="")
    parser.add_argument("--subnets", default="", help="comma-separated public subnets for the nodes")
    parser.add_argument(
        "--media-parameter", action="append", default=[], help="Name=Value for the node stack"
    )
    args = parser.parse_args(argv)
    try:
        core = core_parameters(args.parameter)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    import boto3

    session = boto3.Session()
    region = session.region_name
    if not region:
        print("error: set AWS_REGION (or AWS_DEFAULT_REGION)", file=sys.stderr)
        return 2
    account = session.client("sts").get_caller_identity()["Account"]
    s3, cfn = session.client("s3"), session.client("cloudformation")
    name, dist = stack_name(args.stage), Path(args.dist)
    bucket = args.artifacts_bucket or f"vkyc-artifacts-{account}-{region}"
    try:
        ensure_bucket(s3, bucket, region)
        template = with_uploaded_code(json.loads((dist / "vkyc.json").read_text()), s3, bucket, name, dist)
        key = f"{name}/{hashlib.sha256(json.dumps(template).encode()).hexdigest()}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(template).encode())
        found = apply_stack(cfn, name, f"https://{bucket}.s3.{region}.amazonaws.com/{key}", core, print)
        resources = cfn.describe_stack_resources(StackName=name, LogicalResourceId="WebDistribution")
        distribution = (
            resources["StackResources"][0]["PhysicalResourceId"] if resources["StackResources"] else None
        )
        print(f"web: {publish_web(s3, session.client('cloudfront'), found, distribution)} files published")
        if args.media_image:
            media_params = parameters(
                [
                    f"CoreStack={name}",
                    f"ImageUri={args.media_image}",
                    f"VpcId={args.vpc}",
                    f"SubnetIds={args.subnets}",
                    *args.media_parameter,
                ]
            )
            media_key = upload(s3, bucket, name, dist / "media-node.json")
            apply_stack(
                cfn,
                f"{name}-media",
                f"https://{bucket}.s3.{region}.amazonaws.com/{media_key}",
                media_params,
                print,
            )
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for output, value in sorted(found.items()):
        print(f"  {output:28s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
