"""What a media node needs to run as one of a fleet of containers (ECS Fargate, ``infra/media_node_stack``).

- **Its identity, minted at task start.** Tasks come and go with autoscaling, so each needs its own id
  and that id's key (``vkyc.security.node_keys``) without ever holding the master. An init container
  of the task (``python -m media_node.fleet identity --out FILE``), given the master by ECS from Secrets
  Manager, names the node after its task (``media-<task id>``, from the ECS task metadata endpoint),
  writes ``{"node_id", "node_key"}`` to a file on a volume the two containers share, and exits; the node
  container, which never sees the master, reads the file (``VKYC_MEDIA_IDENTITY_FILE``).
- **A health check**: the node touches ``VKYC_MEDIA_HEALTH_FILE`` after each heartbeat signaling
  accepted; ``python -m media_node.fleet health`` (the container's health check; imports nothing heavy)
  exits 0 while the file is younger than ``HEALTHY_WITHIN_S``, so a node that lost signaling is replaced.
- **Its load, for autoscaling**: every ``VKYC_MEDIA_LOAD_LOG_S`` seconds the node prints one JSON line
  ``{"metric": "vkyc.media.load", "node_id", "calls", "capacity", "utilization"}`` (utilization in
  percent); the stack's log metric filter turns it into the metric the service scales on, at no
  request of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

IDENTITY_FILE_VARIABLE = "VKYC_MEDIA_IDENTITY_FILE"
HEALTH_FILE_VARIABLE = "VKYC_MEDIA_HEALTH_FILE"
LOAD_LOG_VARIABLE = "VKYC_MEDIA_LOAD_LOG_S"
METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
LOAD_METRIC = "vkyc.media.load"
HEALTHY_WITHIN_S = 15.0  # five heartbeats: signaling itself counts a node silent for 15 s as dead


class IdentityError(RuntimeError):
    pass


def task_node_id(metadata_url: str, timeout: float = 5.0) -> str:
    """``media-<task id>`` from the ECS task metadata endpoint (v4)."""
    with urllib.request.urlopen(metadata_url.rstrip("/") + "/task", timeout=timeout) as answer:
        arn = str(json.load(answer)["TaskARN"])
    return "media-" + arn.rsplit("/", 1)[-1]


def mint_identity(
    out: Path, environ: Mapping[str, str], *, node_id: str = "", owner: int | None = None
) -> str:
    """Write this task's identity file; returns the node id. The master comes from the environment."""
    from vkyc.security import node_keys
    from vkyc.security.tokens import SecretMissing

    if not node_id:
        metadata = environ.get(METADATA_VARIABLE)
        if not metadata:
            raise IdentityError(f"{METADATA_VARIABLE} is not set (not in ECS): pass --node-id")
        node_id = task_node_id(metadata)
    master = environ.get(node_keys.MASTER_VARIABLE, "")
    try:
        key = node_keys.node_key(node_id, master.encode("utf-8") if master else None)
    except SecretMissing as exc:
        raise IdentityError(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"node_id": node_id, "node_key": key}, file)
    if owner is not None:
        os.chown(out, owner, -1)
    return node_id


def identity_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``VKYC_MEDIA_NODE_ID`` and ``VKYC_MEDIA_NODE_KEY`` from the identity file, when one is named."""
    path = environ.get(IDENTITY_FILE_VARIABLE)
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
        return {"VKYC_MEDIA_NODE_ID": str(data["node_id"]), "VKYC_MEDIA_NODE_KEY": str(data["node_key"])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IdentityError(f"{IDENTITY_FILE_VARIABLE}={path}: no identity ({exc})") from None


def touch(path: str) -> None:
    """Mark the node alive (after a heartbeat signaling accepted)."""
    Path(path).touch()


def healthy(path: Path, now: float | None = None, within_s: float = HEALTHY_WITHIN_S) -> bool:
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return age <= within_s


def load_line(node_id: str, calls: int, capacity: int) -> str:
    utilization = round(100.0 * calls / capacity, 1) if capacity else 100.0
    return json.dumps(
        {
            "metric": LOAD_METRIC,
            "node_id": node_id,
            "calls": calls,
            "capacity": capacity,
            "utilization": utilization,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m media_node.fleet", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    identity = commands.add_parser("identity", help="mint this task's node id and key into a file")
    identity.add_argument("--out", required=True)
    identity.add_argument("--node-id", default="", help="default: media-<ECS task id>")
    identity.add_argument("--owner", type=int, default=None, help="uid to give the file to (the node's user)")
    health = commands.add_parser("health", help="exit 0 while the node's heartbeats are accepted")
    health.add_argument("--file", default=os.environ.get(HEALTH_FILE_VARIABLE, ""))
    args = parser.parse_args(argv)
    if args.command == "identity":
        try:
            node_id = mint_identity(Path(args.out), os.environ, node_id=args.node_id, owner=args.owner)
        except (IdentityError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"identity of {node_id} written to {args.out}")
        return 0
    if not args.file:
        print(f"error: {HEALTH_FILE_VARIABLE} is not set", file=sys.stderr)
        return 2
    return 0 if healthy(Path(args.file)) else 1


if __name__ == "__main__":
    sys.exit(main())
