"""``python -m media_node``: run a media node, verify an evidence bundle, recover a recording.

    python -m media_node [run] [--capacity N] [--rest-url URL] [--bucket NAME]
    python -m media_node serve [--control stdio] [--capacity N]
    python -m media_node verify <manifest-key> [--sha256 HEX] [--bucket NAME]
    python -m media_node recover <call-id> [--min-idle-s S] [--bucket NAME]
    python -m media_node check-images

``run`` (the default) is a media node on the signaling channel (``media_node.wiring``): a token from
``POST /auth/node`` (``VKYC_REST_URL``; ``VKYC_MEDIA_NODE_ID`` and that id's own key ``VKYC_MEDIA_NODE_KEY``,
printed by ``python -m vkyc.security.node_keys <node-id>``), role ``media`` on the WebSocket API,
heartbeats, and the orders signaling pushes, until SIGTERM/SIGINT. ``serve`` runs the engine without
signaling: idle, or with ``--control stdio`` driven by JSON lines (``media_node.control``; tests and
the capacity benchmark). On stdin's end or SIGTERM, open calls are closed and their recordings
finalized (and, for ``run``, reported to signaling). S3: ``VKYC_BUCKET`` at ``AWS_ENDPOINT_URL`` (or
real AWS); settings: ``media_node.config`` and ``media_node.wiring``.

``check-images`` checks the dossier images integrators upload (``media_node.image_check``): jobs from
``VKYC_IMAGE_CHECK_QUEUE``, verdicts to ``VKYC_INTEGRATIONS_QUEUE``, until SIGTERM/SIGINT. It needs no
signaling and no node key; run it beside the nodes, from the same image.

``verify`` exits 0 when every file matches, 1 naming the first mismatch, 2 on a usage error.
``recover`` prints the recording's description as JSON (exit 1 with the error code otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys

from media_node.config import KeyLayout, NodeConfig
from media_node.errors import MediaError
from media_node.evidence import verify_bundle
from media_node.storage import ObjectStore, S3Store

# The engine, its wiring and the recorder load aiortc, PyAV and OpenCV (seconds of imports): only the
# commands that need them import them, so ``verify`` starts at once.


def _store(bucket: str | None) -> S3Store:
    return S3Store.from_env(bucket)


async def _serve(args: argparse.Namespace) -> int:
    from media_node.control import LineWriter, event_writer, serve_stdio
    from media_node.engine import MediaEngine

    config = NodeConfig.from_env()
    if args.capacity:
        config = dataclasses.replace(config, capacity=args.capacity)
    store = _store(args.bucket)
    writer = LineWriter() if args.control == "stdio" else None
    engine = MediaEngine(store, config, on_event=event_writer(writer) if writer else None)
    await engine.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if writer is not None:
        server = loop.create_task(serve_stdio(engine, config.node_id, writer))
        stopper = loop.create_task(stop.wait())
        await asyncio.wait({server, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    else:
        logging.getLogger("vkyc.media").info(
            "media node %s up (capacity %d); waiting for the signaling wiring",
            config.node_id,
            config.capacity,
        )
        await stop.wait()
    await engine.shutdown()
    return 0


async def _run(args: argparse.Namespace) -> int:
    from media_node import fleet
    from media_node.engine import MediaEngine
    from media_node.wiring import NodeWiring, WiringConfig

    try:  # a node of a fleet has its id and key in the file its task's init container wrote
        os.environ.update(fleet.identity_environment(os.environ))
    except fleet.IdentityError as exc:
        print(exc, file=sys.stderr)
        return 2
    config = NodeConfig.from_env()
    if args.capacity:
        config = dataclasses.replace(config, capacity=args.capacity)
    wiring_config = WiringConfig.from_env()
    if args.rest_url:
        wiring_config = dataclasses.replace(wiring_config, rest_url=args.rest_url)
    if not wiring_config.node_key or "VKYC_MEDIA_NODE_ID" not in os.environ:
        # A node's key is bound to its id: without both, signaling refuses every token it asks for.
        print(
            "VKYC_MEDIA_NODE_ID and VKYC_MEDIA_NODE_KEY (that id's key: python -m vkyc.security.node_keys "
            "<node-id>) must be set: the node cannot get a token",
            file=sys.stderr,
        )
        return 2
    engine = MediaEngine(_store(args.bucket), config, on_event=lambda event: wiring.on_event(event))
    wiring = NodeWiring(engine, config, wiring_config)
    await engine.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    logging.getLogger("vkyc.media").info(
        "media node %s up (capacity %d); signaling at %s",
        config.node_id,
        config.capacity,
        wiring_config.rest_url,
    )
    await wiring.run(stop)
    await engine.shutdown()
    return 0


def _verify(args: argparse.Namespace, store: ObjectStore | None = None) -> int:
    result = verify_bundle(store or _store(args.bucket), args.manifest_key, args.sha256)
    if result.ok:
        print(f"OK {result.files_checked} files; manifest sha256 {result.manifest_sha256}")
        return 0
    print(f"MISMATCH {result.mismatch}", file=sys.stderr)
    return 1


def _recover(args: argparse.Namespace, store: ObjectStore | None = None) -> int:
    from media_node.control import to_jsonable
    from media_node.recorder import recover_recording

    try:
        info = recover_recording(
            store or _store(args.bucket),
            args.call_id,
            layout=KeyLayout(NodeConfig.from_env().key_prefix),
            min_idle_s=args.min_idle_s,
        )
    except MediaError as exc:
        print(f"{exc.code} {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(to_jsonable(info)))
    return 0


def _check_images() -> int:
    import threading

    from media_node.image_check import ImageCheckWorker

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    ImageCheckWorker.from_env().run(stop)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m media_node", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run a media node on the signaling channel (the default)")
    run.add_argument("--capacity", type=int, default=0)
    run.add_argument("--bucket", default=None)
    run.add_argument("--rest-url", default=None, help="where POST /auth/node is (default VKYC_REST_URL)")
    serve = commands.add_parser("serve", help="run the engine without signaling (idle, or driven by stdio)")
    serve.add_argument("--control", choices=["none", "stdio"], default="none")
    serve.add_argument("--capacity", type=int, default=0)
    serve.add_argument("--bucket", default=None)
    verify = commands.add_parser("verify", help="verify an evidence bundle")
    verify.add_argument("manifest_key")
    verify.add_argument("--sha256", default=None, help="the manifest hash stored on the dossier's log entry")
    verify.add_argument("--bucket", default=None)
    recover = commands.add_parser("recover", help="assemble the recording of a call whose node died")
    recover.add_argument("call_id")
    recover.add_argument("--min-idle-s", type=float, default=10.0)
    recover.add_argument("--bucket", default=None)
    commands.add_parser("check-images", help="check the dossier images integrators upload")
    return root


def main(argv: list[str] | None = None, store: ObjectStore | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aioice", "aiortc", "botocore", "urllib3"):  # per-packet and per-request chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "verify":
        return _verify(args, store)
    if args.command == "recover":
        return _recover(args, store)
    if args.command == "check-images":
        return _check_images()
    if args.command in (None, "run"):
        if args.command is None:
            args = parser().parse_args(["run"])
        return asyncio.run(_run(args))
    if args.command == "serve":
        return asyncio.run(_serve(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
