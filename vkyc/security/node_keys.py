"""Media node keys: one key per node id, derived from the deployment's node-key master secret.

A node's key is ``base64url(HMAC-SHA256(master, "vkyc-media-node-key/v1:" + node_id))`` (43
characters). Signaling holds only the master (``VKYC_MEDIA_NODE_MASTER_KEY``, at least 32 characters,
no default) and recomputes the key of the id a node claims at ``POST /auth/node``; each node holds
only its own key (``VKYC_MEDIA_NODE_KEY``). So a node's key is worth its own id and nothing else: it
cannot obtain a token as another node, and with it the registration, heartbeat and calls of that node.

Why derived rather than stored: no table and no secret-store read at ``/auth/node``, a node added by
printing its key (below), and nothing to keep in step between signaling and the nodes. The price:
revoking one node's key means rotating the master, which re-keys every node.

    python -m vkyc.security.node_keys <node-id> [<node-id> ...]

prints each node's key (one per line, in order), reading the master from the environment.
"""

from __future__ import annotations

import hashlib
import hmac
import sys

from vkyc import secret_store
from vkyc.protocol.signing import b64url
from vkyc.security.tokens import SecretMissing

MASTER_VARIABLE = "VKYC_MEDIA_NODE_MASTER_KEY"
MIN_MASTER_LENGTH = 32
_LABEL = b"vkyc-media-node-key/v1:"  # a master used for anything else never yields a node key


def master() -> bytes:
    """The deployment's node-key master; ``SecretMissing`` when unset or shorter than 32 characters."""
    value = secret_store.get(MASTER_VARIABLE)
    if len(value) < MIN_MASTER_LENGTH:
        raise SecretMissing(f"{MASTER_VARIABLE} must be set to at least {MIN_MASTER_LENGTH} characters")
    return value.encode("utf-8")


def node_key(node_id: str, master_key: bytes | None = None) -> str:
    """The key of ``node_id`` (the master from the environment unless given)."""
    digest = hmac.new(master_key or master(), _LABEL + node_id.encode("utf-8"), hashlib.sha256).digest()
    return b64url(digest)


def is_key_of(node_id: str, presented: str, master_key: bytes | None = None) -> bool:
    """Whether ``presented`` is the key of ``node_id`` (constant time). ``SecretMissing`` without a master."""
    return hmac.compare_digest(presented.encode("utf-8"), node_key(node_id, master_key).encode("ascii"))


def main(argv: list[str] | None = None) -> int:
    node_ids = sys.argv[1:] if argv is None else argv
    if not node_ids or any(arg.startswith("-") for arg in node_ids):
        print("usage: python -m vkyc.security.node_keys <node-id> [<node-id> ...]", file=sys.stderr)
        return 2
    try:
        secret = master()
    except SecretMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    for node_id in node_ids:
        print(node_key(node_id, secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())
