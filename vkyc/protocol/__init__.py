"""The vkyc WebSocket protocol, shared by the signaling functions, the reference SDK and the media node.

``messages`` (every message as a pydantic model, one union per direction discriminated on
``action``), ``errors`` (the error catalogue with stable codes), ``signing`` (the HMAC over a
message's canonical form). ``docs/protocol.md`` explains it for mobile-SDK authors;
``docs/protocol/*.schema.json`` is exported from ``messages`` by ``python -m vkyc.protocol.schema``.
"""

PROTOCOL_VERSION = 1
