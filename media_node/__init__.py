"""The vkyc media node (issue #5): relay, waiting media, recording, snapshot, evidence.

Import the modules themselves (``media_node.engine``, ``media_node.evidence``, ...): this package
imports nothing, so that light users (the decision use case calling ``media_node.evidence``) do not
load aiortc, PyAV and OpenCV. ``docs/media_node.md`` describes the modules and the API.
"""
