"""The three pictures of a dossier (seed 002 steps 10-11): the ID card's front and back and the eKYC
portrait, as the integrator uploads them (``POST /v1/dossiers/{id}/images``) and as they are checked.

An upload is accepted only after a check (``check_image``'s rules, run by the image checker where
OpenCV is: ``media_node.image_check``): the body is a JPEG or PNG of the declared type, within the size
range, decodes, has plausible dimensions, and, for the portrait, shows a frontal face. A rejected upload
changes nothing the dossier holds: the image it had (if any) stays, and the rejection is recorded beside
it with a catalogue code.

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ImageRole(StrEnum):
    ID_FRONT = "id_front"
    ID_BACK = "id_back"
    PORTRAIT = "portrait"


ROLES: tuple[ImageRole, ...] = (ImageRole.ID_FRONT, ImageRole.ID_BACK, ImageRole.PORTRAIT)

CONTENT_TYPES: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png"}
"""The types an upload may declare, with the extension of its key."""

MIN_BYTES = 2 * 1024
"""Smaller than any real photo of an ID card or a face: a placeholder, a truncated file or a blank."""
MAX_BYTES = 10 * 1024 * 1024
"""A 12-megapixel JPEG at high quality stays under this; what API Gateway would refuse anyway."""
MIN_SIDE_PX = 160
"""Below this the card's text or the face cannot be read by an agent."""
MAX_SIDE_PX = 8000
"""Above this the picture is not a phone's capture (and decoding it costs too much memory)."""


class ImageStatus(StrEnum):
    MISSING = "missing"  # nothing accepted yet
    VALID = "valid"  # an upload passed the check and is what the agent sees


# Catalogue codes of a rejection (vkyc.protocol.errors); the check's first failing rule is the answer.
IMAGE_TYPE_UNSUPPORTED = "IMAGE_TYPE_UNSUPPORTED"
IMAGE_SIZE_OUT_OF_RANGE = "IMAGE_SIZE_OUT_OF_RANGE"
IMAGE_NOT_DECODABLE = "IMAGE_NOT_DECODABLE"
IMAGE_DIMENSIONS_OUT_OF_RANGE = "IMAGE_DIMENSIONS_OUT_OF_RANGE"
IMAGE_NO_FACE = "IMAGE_NO_FACE"

REJECTION_CODES = frozenset(
    {
        IMAGE_TYPE_UNSUPPORTED,
        IMAGE_SIZE_OUT_OF_RANGE,
        IMAGE_NOT_DECODABLE,
        IMAGE_DIMENSIONS_OUT_OF_RANGE,
        IMAGE_NO_FACE,
    }
)

_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniffed_type(head: bytes) -> str | None:
    """The type the first bytes of a file say it is (JPEG or PNG), or None."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    return None


@dataclass(frozen=True)
class Rejection:
    code: str
    detail: str

    def __post_init__(self) -> None:
        if self.code not in REJECTION_CODES:
            raise ValueError(f"not an image rejection code: {self.code!r}")


def check_bytes(declared_type: str, size: int, head: bytes) -> Rejection | None:
    """The rules that need no decoding, in order: the declared type, the size, the content's own type
    (magic bytes) against the declared one."""
    if declared_type not in CONTENT_TYPES:
        return Rejection(
            IMAGE_TYPE_UNSUPPORTED, f"declared {declared_type[:64]!r}; send image/jpeg or image/png"
        )
    if not MIN_BYTES <= size <= MAX_BYTES:
        return Rejection(IMAGE_SIZE_OUT_OF_RANGE, f"{size} bytes; between {MIN_BYTES} and {MAX_BYTES}")
    actual = sniffed_type(head)
    if actual is None:
        return Rejection(IMAGE_TYPE_UNSUPPORTED, "the content is neither a JPEG nor a PNG image")
    if actual != declared_type:
        return Rejection(IMAGE_TYPE_UNSUPPORTED, f"declared {declared_type}, the content is {actual}")
    return None


def check_picture(role: ImageRole, width: int, height: int, face_found: bool | None) -> Rejection | None:
    """The rules on the decoded picture: its dimensions, then a face on the portrait (``face_found`` is
    None when no face check ran: only the portrait needs one)."""
    if not (min(width, height) >= MIN_SIDE_PX and max(width, height) <= MAX_SIDE_PX):
        return Rejection(
            IMAGE_DIMENSIONS_OUT_OF_RANGE,
            f"{width}x{height} px; each side between {MIN_SIDE_PX} and {MAX_SIDE_PX}",
        )
    if role is ImageRole.PORTRAIT and not face_found:
        return Rejection(IMAGE_NO_FACE, "no frontal face was found on the portrait")
    return None


def upload_key(dossier_id: str, role: ImageRole, nonce: str, content_type: str) -> str:
    """Where an upload lands in the media bucket (the pre-signed form names this exact key)."""
    return f"{UPLOAD_PREFIX}{dossier_id}/{role.value}/{nonce}.{CONTENT_TYPES[content_type]}"


UPLOAD_PREFIX = "uploads/"


@dataclass(frozen=True)
class UploadKey:
    dossier_id: str
    role: ImageRole


def parse_upload_key(key: str) -> UploadKey | None:
    """The dossier and role an upload key names (``upload_key``'s layout), or None for any other key."""
    if not key.startswith(UPLOAD_PREFIX):
        return None
    parts = key[len(UPLOAD_PREFIX) :].split("/")
    if len(parts) != 3 or not parts[0]:
        return None
    try:
        role = ImageRole(parts[1])
    except ValueError:
        return None
    stem, _, extension = parts[2].partition(".")
    if not stem or extension not in CONTENT_TYPES.values():
        return None
    return UploadKey(parts[0], role)
