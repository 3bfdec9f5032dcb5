"""The default waiting clip is encoded once per cache directory: a node that starts again loads it."""

from __future__ import annotations

import pickle

from media_node import waiting


def test_the_clip_is_made_once_then_loaded_from_the_cache(tmp_path, monkeypatch, waiting_media):
    made: list[int] = []

    def make() -> waiting.WaitingMedia:
        made.append(1)
        return waiting_media

    monkeypatch.setattr(waiting, "make_default_waiting_media", make)
    first = waiting.cached_default_waiting_media(tmp_path)
    second = waiting.cached_default_waiting_media(tmp_path)
    assert made == [1]
    assert second.high.video == first.high.video and second.name == "default"
    assert [p.suffix for p in tmp_path.iterdir()] == [".pickle"], "no temporary file left behind"


def test_a_damaged_cache_file_is_made_again(tmp_path, monkeypatch, waiting_media):
    monkeypatch.setattr(waiting, "make_default_waiting_media", lambda: waiting_media)
    waiting.cached_default_waiting_media(tmp_path)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(b"not a pickle")
    assert waiting.cached_default_waiting_media(tmp_path).name == "default"
    assert isinstance(pickle.loads(cached.read_bytes()), waiting.WaitingMedia)
