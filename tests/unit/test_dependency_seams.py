"""The seam modules: the only code that touches a library's private internals, one per library.

Each was written against one release of its library, pinned exactly in ``pyproject.toml`` and the lock
files, and refuses any other release when it is imported, with a message naming both versions. What
each reaches must exist in the installed release (a real aiortc receiver and sender, PynamoDB's
models, moto's backend), so an upgrade that moved something fails here, by name.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from local import moto_patches
from sdk import aiortc_internals
from vkyc.repositories import pynamodb_internals
from vkyc.repositories.tables import ALL_MODELS

ROOT = Path(__file__).resolve().parents[2]
# (seam module, the distribution whose internals it touches, what it raises on another release)
SEAMS: list[tuple[ModuleType, str, type[Exception]]] = [
    (aiortc_internals, "aiortc", aiortc_internals.UnsupportedAiortc),
    (pynamodb_internals, "pynamodb", pynamodb_internals.UnsupportedPynamoDB),
    (moto_patches, "moto", moto_patches.UnsupportedMoto),
]
IDS = [distribution for _, distribution, _ in SEAMS]


def _pins_in(lock: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", lock.read_text(), flags=re.MULTILINE))


def _pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    return [*project["dependencies"], *(requirement for extra in extras for requirement in extra)]


@pytest.mark.parametrize(("seam", "distribution", "refusal"), SEAMS, ids=IDS)
def test_a_seam_refuses_a_release_it_was_not_written_for(seam, distribution, refusal):
    newer = seam.WRITTEN_FOR + ".post1"
    with pytest.raises(refusal) as refused:
        seam.check_version(newer)
    message = str(refused.value)
    assert seam.WRITTEN_FOR in message and newer in message and "make lock" in message
    seam.check_version(seam.WRITTEN_FOR)


@pytest.mark.parametrize(("seam", "distribution", "refusal"), SEAMS, ids=IDS)
def test_a_seam_refuses_at_import_before_touching_another_release(seam, distribution, refusal, monkeypatch):
    real = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: "0.0.1" if name == distribution else real(name)
    )
    # A fresh copy of the module, under another name: the one the rest of the process uses stays as is.
    spec = importlib.util.spec_from_file_location(f"_fresh_{distribution}_seam", seam.__file__)
    assert spec is not None and spec.loader is not None
    with pytest.raises(RuntimeError, match=r"0\.0\.1 is installed") as refused:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert type(refused.value).__name__ == refusal.__name__  # the fresh module's own class


@pytest.mark.parametrize(("seam", "distribution", "refusal"), SEAMS, ids=IDS)
def test_each_patched_library_is_pinned_exactly_to_its_seams_release(seam, distribution, refusal):
    assert importlib.metadata.version(distribution) == seam.WRITTEN_FOR
    pins = {
        requirement
        for requirement in _pyproject_requirements()
        if re.match(rf"{distribution}(\[[^\]]*\])?\s*[=<>!~]", requirement)
    }
    assert pins, f"pyproject.toml does not require {distribution}"
    for requirement in pins:
        assert requirement.endswith(f"=={seam.WRITTEN_FOR}"), f"{requirement}: pin it exactly"
    for lock in sorted((ROOT / "requirements").glob("*.txt")):
        locked = _pins_in(lock).get(distribution)
        assert locked in (None, seam.WRITTEN_FOR), f"{lock.name} locks {distribution}=={locked}"


# -- aiortc -------------------------------------------------------------------------------------------
def _with_transceiver(kind: str, check: Any) -> None:
    async def run() -> None:
        pc = RTCPeerConnection()
        try:
            transceiver = pc.addTransceiver(kind)
            check(transceiver.receiver, transceiver.sender)
        finally:
            await pc.close()

    asyncio.run(run())


class _Frames:
    def put(self, item: Any) -> None: ...

    def get(self, block: bool = True, timeout: float | None = None) -> Any: ...


def test_every_aiortc_private_the_seam_reaches_is_on_a_real_video_receiver_and_sender():
    def check(receiver, sender):
        aiortc_internals.check_stall_repair(receiver)
        # aiortc signs a transceiver's receiver reports with its sender's SSRC
        assert aiortc_internals.rtcp_ssrc(receiver) == aiortc_internals.sender_ssrc(sender)
        assert aiortc_internals.bitrate_estimator(receiver) is not None
        aiortc_internals.replace_bitrate_estimator(receiver, "estimator")
        assert aiortc_internals.bitrate_estimator(receiver) == "estimator"
        aiortc_internals.replace_decoder_queue(receiver, _Frames())
        for name in ("_send_rtcp", "_send_rtcp_nack", "_send_rtcp_pli"):
            assert callable(getattr(receiver, name))
        assert callable(aiortc_internals.sender_rtcp_handler(sender))

    _with_transceiver("video", check)


def test_an_audio_receiver_has_no_bitrate_estimator():
    def check(receiver, sender):
        assert aiortc_internals.bitrate_estimator(receiver) is None

    _with_transceiver("audio", check)


def test_the_decoder_queue_cannot_be_replaced_once_the_receiver_started():
    def check(receiver, sender):
        setattr(receiver, "_RTCRtpReceiver__started", True)  # noqa: B010
        try:
            with pytest.raises(RuntimeError, match="already started"):
                aiortc_internals.replace_decoder_queue(receiver, _Frames())
        finally:
            setattr(receiver, "_RTCRtpReceiver__started", False)  # noqa: B010  (it never really started)

    _with_transceiver("video", check)


def test_a_jitter_buffer_reset_forgets_the_missing_packets():
    def check(receiver, sender):
        aiortc_internals.missing_packets(receiver).update({7, 8})
        aiortc_internals.reset_jitter_buffer(receiver)
        assert aiortc_internals.missing_packets(receiver) == set()

    _with_transceiver("video", check)


def test_a_replaced_rtcp_handler_is_this_senders_only():
    def check(receiver, sender):
        original = aiortc_internals.sender_rtcp_handler(sender)

        async def handler(packet: Any) -> None:
            await original(packet)

        aiortc_internals.replace_sender_rtcp_handler(sender, handler)
        assert aiortc_internals.sender_rtcp_handler(sender) is handler
        assert aiortc_internals.sender_rtcp_handler(type(sender).__new__(type(sender))) is not handler

    _with_transceiver("video", check)


def test_the_ice_transports_datagram_io_is_reached_and_replaced_on_that_transport_only():
    def check(receiver, sender):
        ice = sender.transport.transport
        send, recv = aiortc_internals.ice_datagram_io(ice)
        assert callable(send) and callable(recv)

        async def shaped_send(data: bytes) -> None:
            await send(data)

        async def shaped_recv() -> bytes:
            return await recv()

        aiortc_internals.replace_ice_datagram_io(ice, shaped_send, shaped_recv)
        assert aiortc_internals.ice_datagram_io(ice) == (shaped_send, shaped_recv)
        other = type(ice).__new__(type(ice))
        with pytest.raises(RuntimeError, match="has no _send"):
            aiortc_internals.ice_datagram_io(other)  # never set on the class

    _with_transceiver("video", check)


def test_an_attribute_that_moved_is_named():
    with pytest.raises(RuntimeError, match="object has no _RTCRtpReceiver__rtcp_ssrc"):
        aiortc_internals.rtcp_ssrc(object())  # type: ignore[arg-type]


# -- PynamoDB -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.TABLE)
def test_key_names_from_the_public_api_match_pynamodbs_schema(model):
    schema = pynamodb_internals.table_schema(model)
    keys = {k["KeyType"]: k["AttributeName"] for k in schema["key_schema"]}
    assert keys["HASH"] == pynamodb_internals.hash_key_name(model)
    assert keys.get("RANGE") == pynamodb_internals.range_key_name(model)
    names = {index["index_name"] for index in schema["global_secondary_indexes"]}
    assert names == set(pynamodb_internals.indexes(model))


# -- moto -----------------------------------------------------------------------------------------------
def test_the_benchmark_can_switch_between_stock_and_patched_transactions():
    from moto.dynamodb.models import DynamoDBBackend

    before = DynamoDBBackend.transact_write_items
    try:
        moto_patches.use_stock_transactions(True)
        assert DynamoDBBackend.transact_write_items is moto_patches.STOCK_TRANSACT_WRITE_ITEMS
        moto_patches.use_stock_transactions(False)
        assert DynamoDBBackend.transact_write_items is not moto_patches.STOCK_TRANSACT_WRITE_ITEMS
    finally:
        DynamoDBBackend.transact_write_items = before  # type: ignore[method-assign]
