"""``local.waiting_media_cache``: the default waiting media, encoded once, loads back packet for packet."""

from __future__ import annotations

from pathlib import Path

import pytest

from local import waiting_media_cache
from media_node import waiting


def test_the_saved_default_waiting_media_is_what_a_node_process_plays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = waiting.default_waiting_media()
    path = waiting_media_cache.save(tmp_path / "default.json")
    monkeypatch.setattr(waiting, "default_waiting_media", waiting.default_waiting_media)  # restored after
    waiting_media_cache.install(path)
    loaded = waiting.default_waiting_media()
    assert loaded == encoded and loaded is not encoded
    assert loaded.high.video[0].keyframe and loaded.low.audio == encoded.low.audio
