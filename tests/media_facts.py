"""What a media node reports of a call in which the customer and the agent saw each other, written the
way the media service writes it (``vkyc.repositories.call_media``): for tests that decide a call
without running a media node. A decision to let the subscriber in (A, C) needs these facts
(``vkyc.domain.decision``)."""

from __future__ import annotations

from datetime import UTC, datetime

from vkyc.repositories import call_media


def customer_seen(call_id: str, snapshot_id: str = "snap-1", *, face: bool = True) -> str:
    """Both parties' media up, and one snapshot (with a face found, unless ``face`` is False). Returns
    the snapshot id, for ``call.decide``."""
    call_media.mark_media_connected(call_id, datetime.now(UTC))
    key = f"calls/{call_id}/snapshots/{snapshot_id}.jpg"
    call_media.add_snapshot(call_id, key, snapshot_id, face_found=face)
    return snapshot_id
