"""The dossier's pictures (``vkyc.domain.images``): the rules an upload is checked against, its key's
layout, where the images check stands in eligibility's order, and the check itself where OpenCV is
(``media_node.image_check``), on pictures made here."""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace

import cv2
import numpy as np
import pytest

from local.demo.images import demo_face, dossier_images
from media_node.image_check import check_image, header_dimensions
from tests.unit.test_eligibility import CAP_2, ELIGIBLE, refusal
from vkyc.domain.images import (
    MAX_BYTES,
    MIN_BYTES,
    ImageRole,
    check_bytes,
    check_picture,
    parse_upload_key,
    sniffed_type,
    upload_key,
)

PICTURES = dossier_images("Le Van A", "001090012345", demo_face())


# -- eligibility ---------------------------------------------------------------------------------------


def test_a_dossier_missing_an_image_cannot_be_called():
    assert refusal(replace(ELIGIBLE, images_not_valid=("portrait",))) == "DOSSIER_IMAGES_REQUIRED"


def test_a_dossier_with_all_three_images_or_untracked_images_may_be_called():
    assert refusal(replace(ELIGIBLE, images_not_valid=()), live_call=True) == "CALL_IN_PROGRESS"
    assert refusal(replace(ELIGIBLE, images_not_valid=None), live_call=True) == "CALL_IN_PROGRESS"


def test_the_images_come_after_the_final_answers_and_before_the_transient_ones():
    missing = replace(ELIGIBLE, images_not_valid=("id_front", "id_back", "portrait"))
    assert refusal(replace(missing, state="A")) == "DOSSIER_ALREADY_APPROVED"
    assert refusal(replace(missing, payment_type="postpaid")) == "VIDEO_CALL_NOT_REQUIRED", (
        "a dossier that needs no call is never told to upload pictures"
    )
    assert refusal(replace(missing, sub_type="NOPE")) == "UNKNOWN_SUB_TYPE"
    assert refusal(missing, CAP_2, successful_calls_today=5, live_call=True) == "DOSSIER_IMAGES_REQUIRED"


# -- the rules ---------------------------------------------------------------------------------------


def test_the_declared_type_the_size_and_the_content_are_checked_in_that_order():
    jpeg = PICTURES["id_front"]
    assert check_bytes("image/jpeg", len(jpeg), jpeg[:16]) is None
    assert check_bytes("image/gif", 10, b"GIF89a").code == "IMAGE_TYPE_UNSUPPORTED"
    assert check_bytes("image/jpeg", MIN_BYTES - 1, jpeg[:16]).code == "IMAGE_SIZE_OUT_OF_RANGE"
    assert check_bytes("image/jpeg", MAX_BYTES + 1, jpeg[:16]).code == "IMAGE_SIZE_OUT_OF_RANGE"
    assert check_bytes("image/jpeg", 5000, b"%PDF-1.7").code == "IMAGE_TYPE_UNSUPPORTED"
    png = b"\x89PNG\r\n\x1a\n" + bytes(8)
    assert "image/png" in check_bytes("image/jpeg", 5000, png).detail
    assert sniffed_type(png) == "image/png" and sniffed_type(b"nope") is None


def test_the_picture_needs_plausible_dimensions_and_the_portrait_a_face():
    assert check_picture(ImageRole.ID_FRONT, 480, 300, None) is None
    assert check_picture(ImageRole.ID_FRONT, 480, 100, None).code == "IMAGE_DIMENSIONS_OUT_OF_RANGE"
    assert check_picture(ImageRole.ID_FRONT, 9000, 300, None).code == "IMAGE_DIMENSIONS_OUT_OF_RANGE"
    assert check_picture(ImageRole.PORTRAIT, 240, 320, False).code == "IMAGE_NO_FACE"
    assert check_picture(ImageRole.PORTRAIT, 240, 320, True) is None


def test_an_upload_key_names_its_dossier_and_role_and_nothing_else_parses():
    key = upload_key("HS-1", ImageRole.PORTRAIT, "abc", "image/png")
    assert key == "uploads/HS-1/portrait/abc.png"
    parsed = parse_upload_key(key)
    assert parsed is not None and (parsed.dossier_id, parsed.role) == ("HS-1", ImageRole.PORTRAIT)
    for other in (
        "dossiers/HS-1/portrait.jpg",
        "uploads/HS-1/selfie/a.jpg",
        "uploads/HS-1/portrait/a.gif",
        "uploads//portrait/a.jpg",
        "uploads/HS-1/portrait/x/a.jpg",
    ):
        assert parse_upload_key(other) is None, other


# -- the check, where OpenCV is -------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ImageRole))
def test_the_demo_pictures_pass_and_their_measures_are_given(role):
    verdict = check_image(role, "image/jpeg", PICTURES[role.value])
    assert verdict.ok and verdict.code is None and verdict.sha256
    assert (verdict.face_found is True) == (role is ImageRole.PORTRAIT)


def test_a_portrait_without_a_face_is_rejected():
    verdict = check_image(ImageRole.PORTRAIT, "image/jpeg", PICTURES["id_back"])
    assert (verdict.ok, verdict.code, verdict.face_found) == (False, "IMAGE_NO_FACE", False)


def _png(width: int, height: int, pixels: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels)) + bytes(2048)


def test_a_small_file_announcing_a_huge_picture_is_refused_before_decoding():
    bomb = _png(60000, 60000)
    assert header_dimensions(bomb) == (60000, 60000)
    verdict = check_image(ImageRole.ID_FRONT, "image/png", bomb)
    assert verdict.code == "IMAGE_DIMENSIONS_OUT_OF_RANGE" and verdict.width == 60000


def test_a_truncated_jpeg_does_not_decode():
    truncated = PICTURES["id_front"][: len(PICTURES["id_front"]) // 3]
    verdict = check_image(ImageRole.ID_FRONT, "image/jpeg", truncated)
    assert (verdict.ok, verdict.code) == (False, "IMAGE_NOT_DECODABLE")


def test_header_dimensions_read_baseline_and_progressive_jpegs():
    face = cv2.cvtColor(demo_face(), cv2.COLOR_RGB2BGR)
    baseline = cv2.imencode(".jpg", face)[1].tobytes()
    progressive = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    height, width = face.shape[:2]
    assert header_dimensions(baseline) == header_dimensions(progressive) == (width, height)
    assert header_dimensions(b"\xff\xd8\xff\xe0\x00") is None
    noise = np.zeros((10, 10, 3), np.uint8)
    assert header_dimensions(cv2.imencode(".png", noise)[1].tobytes()) == (10, 10)
