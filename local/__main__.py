"""Command line of the local stack.

python -m local up                          # everything, with demo data (what `make up` runs)
python -m local ws --project-dir DIR        # the WebSocket emulator alone, for any Chalice app
python -m local csp --ws-url URL --media-url URL [--frame-origins ORIGINS]
                                            # the web pages' security headers, for a deployment
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys

from local.apigw.server import Limits, WebSocketEmulator
from local.chalice_app import ChaliceAppError, load_app


def _ws(args: argparse.Namespace) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)
    try:
        app = load_app(args.project_dir)
    except ChaliceAppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    limits = Limits(idle_timeout_s=args.idle_timeout, max_connection_s=args.max_connection_time)
    emulator = WebSocketEmulator(
        app,
        host=args.host,
        port=args.port,
        stage=args.stage,
        region=args.region,
        limits=limits,
        aws_endpoint=os.environ.get("AWS_ENDPOINT_URL"),
        route_responses=args.route_responses,
    )

    async def serve() -> None:
        await emulator.start()
        print(
            f"WebSocket API  {emulator.url}  (@connections on {emulator.management_url}/@connections)",
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await emulator.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def _csp(args: argparse.Namespace) -> int:
    from pathlib import Path

    from local.web_policy import WebConfigError, load_web_config, security_headers
    from vkyc.domain.frame_origins import frame_origins

    try:
        config = load_web_config(Path(args.config))
        frames = frame_origins(args.frame_origins, local=False, source="--frame-origins")
        headers = security_headers(config, ws_url=args.ws_url, media_url=args.media_url, frame_origins=frames)
    except (WebConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, value in headers.items():
        print(f"{name}: {value}")
    return 0


def _up(args: argparse.Namespace) -> int:
    from local.stack import run_stack

    return run_stack(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-level", default=os.environ.get("VKYC_LOG_LEVEL", "WARNING"))
    sub = parser.add_subparsers(dest="command", required=True)

    ws = sub.add_parser("ws", help="serve one Chalice app's websocket handlers like API Gateway")
    ws.add_argument("--project-dir", required=True, help="the Chalice project directory (holds app.py)")
    ws.add_argument("--host", default="127.0.0.1")
    ws.add_argument("--port", type=int, default=int(os.environ.get("VKYC_WS_PORT", "3001")))
    ws.add_argument("--stage", default="local")
    ws.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-1"))
    ws.add_argument("--idle-timeout", type=float, default=600.0, help="seconds (API Gateway: 600)")
    ws.add_argument("--max-connection-time", type=float, default=7200.0, help="seconds (API Gateway: 7200)")
    ws.add_argument(
        "--route-responses",
        action="store_true",
        help="send a handler's returned body back to the client (two-way routes)",
    )
    ws.set_defaults(func=_ws)

    csp = sub.add_parser("csp", help="print the security headers the static pages must be served with")
    csp.add_argument("--config", default="web/config.json", help="the deployed config.json (API origins)")
    csp.add_argument("--ws-url", required=True, help="the WebSocket API, e.g. wss://ID.execute-api.REGION...")
    csp.add_argument(
        "--media-url",
        required=True,
        help="where pre-signed media URLs point, e.g. https://s3.REGION.amazonaws.com",
    )
    csp.add_argument(
        "--frame-origins",
        default=os.environ.get("VKYC_FRAME_ORIGINS", ""),
        help="the CRM origins the agent's answer-URL panel may frame, https only, comma or space "
        "separated (default: VKYC_FRAME_ORIGINS; none: frame-src 'none')",
    )
    csp.set_defaults(func=_csp)

    up = sub.add_parser("up", help="start the whole local stack with demo data")
    up.add_argument("--demo", default=None, help="demo data file (default: local/demo/demo.toml)")
    up.add_argument("--no-demo", action="store_true", help="create the tables but load no demo data")
    up.add_argument("--no-media-node", action="store_true", help="start no media node (no video)")
    up.add_argument(
        "--state-dir", default=None, help="where the data is kept (default: VKYC_STATE_DIR or .vkyc-state)"
    )
    up.add_argument("--no-state", action="store_true", help="keep nothing: the data goes with the stack")
    up.set_defaults(func=_up)

    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
