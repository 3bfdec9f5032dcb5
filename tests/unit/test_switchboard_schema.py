"""The switchboard's one schema (``vkyc.domain.switchboard``): what the admin API and the demo loader
both validate with. A refusal names the field at fault, also for a check across fields; the media
files an admin uploads are recognised by their bytes, whatever type they claim."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vkyc.domain.media_uploads import PURPOSES, sniff
from vkyc.domain.switchboard import Hotline, Queue, UnitConfig, UserConfig
from vkyc.services.failures import field_errors


def fields_of(model, **data) -> list[str]:
    with pytest.raises(ValidationError) as error:
        model.model_validate(data)
    return [name for name, _ in field_errors(error.value)]


def test_a_bad_field_is_named_with_its_path():
    assert fields_of(Queue, id="q", unit=1, name="Q", groups=[{"group": "g", "priority": 0}])[0] == (
        "groups.0.priority"
    )
    assert fields_of(UnitConfig, id=1, name="U", serves=[1], colour="red") == ["colour"]


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (UnitConfig, {"id": 3, "name": "U", "serves": [7]}, "serves"),
        (
            Queue,
            {"id": "q", "unit": 1, "name": "Q", "groups": [{"group": "g", "overflow_after_s": 5}]},
            "groups",
        ),
        (Queue, {"id": "q", "unit": 1, "name": "Q", "groups": [{"group": "g"}, {"group": "g"}]}, "groups"),
        (
            Hotline,
            {"number": "1800", "unit": 1, "name": "H", "queue": "q", "call_out_groups": ["g"]},
            "call_out_groups",
        ),
        (UserConfig, {"username": "tdv.x", "name": "N", "role": "agent", "unit": 1}, "groups"),
        (UserConfig, {"username": "gs.x", "name": "N", "role": "supervisor"}, "unit"),
        (
            UserConfig,
            {"username": "gs.x", "name": "N", "role": "supervisor", "unit": 1, "groups": ["g"]},
            "groups",
        ),
    ],
)
def test_a_check_across_fields_is_filed_under_its_field(model, data, field):
    assert fields_of(model, **data) == [field]


def test_a_system_wide_admin_has_no_unit_and_needs_no_group():
    UserConfig(username="root.admin", name="Root", role="admin")


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"ID3\x04\x00" + b"\x00" * 11, "audio/mpeg"),
        (b"\xff\xfb\x90\x00" + b"\x00" * 12, "audio/mpeg"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"OggS\x00\x02" + b"\x00" * 10, "audio/ogg"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4, "video/mp4"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 12, "video/webm"),
        (b"<html><body>xx", None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, None),
    ],
)
def test_an_uploaded_files_type_is_told_by_its_bytes(head, kind):
    assert sniff(head) == kind


def test_each_purpose_accepts_only_its_kind_of_file():
    assert set(PURPOSES["ringtone"].types) == {"audio/mpeg", "audio/wav", "audio/ogg"}
    assert set(PURPOSES["waiting_media"].types) == {"video/mp4", "video/webm"}
    assert PURPOSES["ringtone"].max_bytes < PURPOSES["waiting_media"].max_bytes
