"""Media files an admin uploads for a setting (``ringtone``, ``waiting_media_key``): which types, how
large, where they go, and the check of the uploaded bytes (the declared type is not trusted).

Pure: imports nothing of vkyc's.
"""

from __future__ import annotations

from dataclasses import dataclass

UPLOAD_TTL_S = 900  # the pre-signed form's lifetime
MIN_BYTES = 64  # a file smaller than this is no sound or video


@dataclass(frozen=True)
class MediaPurpose:
    setting: str  # the ``CallSettings`` field the checked file is set in
    prefix: str  # S3 key prefix (media bucket); outside ``uploads/``, whose notices go to the image checker
    types: dict[str, str]  # content type -> file extension
    max_bytes: int


PURPOSES: dict[str, MediaPurpose] = {
    "ringtone": MediaPurpose(
        "ringtone",
        "media/ringtones/",
        {"audio/mpeg": "mp3", "audio/wav": "wav", "audio/ogg": "ogg"},
        1_000_000,
    ),
    "waiting_media": MediaPurpose(
        "waiting_media_key", "media/waiting/", {"video/mp4": "mp4", "video/webm": "webm"}, 20_000_000
    ),
}


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file show (``None``: none of the accepted ones)."""
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None
