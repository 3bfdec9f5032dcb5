"""``python -m sdk``: the reference SDK from a command line.

::

    python -m sdk mobile --rest URL --api-key KEY --dealer D --dossier HS-KV1-0001 [--seconds N]
                         [--call] [--answer-callbacks] [--camera face|blank|FILE] [--device-id ID]
    python -m sdk agent  --rest URL --username U --password P [--status available] [--seconds N]
    python -m sdk ping   --rest URL (--username U --password P | --api-key KEY --dealer D --dossier ID
                                     | --node-id N --node-key K) [--count N]

(``--rest`` defaults to http://127.0.0.1:8000, the local stack.)

``mobile`` and ``agent`` get a token, connect, say hello, heartbeat and print every server message
as one JSON line on stdout (the session key and resume token are redacted) until ``--seconds`` have
passed (default: until Ctrl-C), then say ``session.bye``. ``agent`` first sets its status (agents
only; supervisors just watch). ``ping`` sends signed pings and prints ``{"action": "pong",
"rtt_ms": ...}`` per ping.

``mobile --call`` places a whole call with a camera (``--camera``: ``face``, built in; ``blank``; or a
video file) and media, prints each event, and returns once the call ended and its decision came (or
``--result-wait`` seconds passed); ``--answer-callbacks`` registers the device and answers every
call-back (with the same camera) until ``--seconds`` (default: until Ctrl-C). Lines of this side's
own events carry an ``sdk`` key (``sdk.mobile_call``). These two need the ``sdk-media`` extra (and
scikit-image for the built-in face).

Exit status: 0 on success; 2 with one line ``error: CODE: message`` on stderr for a refused or failed
REST call, WebSocket or request (and for bad usage).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from sdk.auth import TokenGrant, login, mobile_token, node_token
from sdk.client import DEFAULT_CLIENT_NAME, Incoming, UnknownMessage, VkycClient
from sdk.errors import SdkError, SessionLost

DEFAULT_REST = "http://127.0.0.1:8000"
SECRET_FIELDS = frozenset({"session_key", "resume_token", "token"})


class UsageError(SdkError):
    def __init__(self, message: str) -> None:
        super().__init__("BAD_USAGE", message)


def message_json(message: Incoming) -> str:
    """One server message as one JSON line, secrets redacted."""
    data: dict[str, Any] = (
        dict(message.data) if isinstance(message, UnknownMessage) else message.model_dump(mode="json")
    )
    for key in SECRET_FIELDS & data.keys():
        data[key] = "<redacted>"
    return json.dumps(data, ensure_ascii=False)


def _print_message(message: Incoming) -> None:
    print(message_json(message), flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sdk", description="vkyc reference SDK client")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the SDK's reconnects on stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--rest", default=DEFAULT_REST, help=f"REST base URL (default {DEFAULT_REST})")
        sub.add_argument("--ws", help="WebSocket URL (default: the ws_url of the token grant)")
        sub.add_argument("--client-name", default=DEFAULT_CLIENT_NAME, help="sent in session.hello")

    def staying(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--seconds", type=float, help="stay connected this long (default: until Ctrl-C)")
        sub.add_argument("--heartbeat", type=float, help="ping interval in s (default: the welcome's)")

    mobile = commands.add_parser("mobile", help="connect as the mobile SDK of one dossier")
    common(mobile)
    mobile.add_argument("--api-key", required=True, help="the unit's integrator API key")
    mobile.add_argument("--dealer", required=True, help="the dealer account")
    mobile.add_argument("--dossier", required=True, help="the dossier id, e.g. HS-KV1-0001")
    mobile.add_argument("--call", action="store_true", help="place a whole call, with media")
    mobile.add_argument(
        "--answer-callbacks", action="store_true", help="register the device and answer call-backs"
    )
    mobile.add_argument("--camera", default="face", help="face (built in), blank, or a video file's path")
    mobile.add_argument("--device-id", help="for --answer-callbacks (default: sdk-<dealer>)")
    mobile.add_argument(
        "--result-wait", type=float, default=150.0, help="after the call, wait this long for its decision"
    )
    staying(mobile)

    agent = commands.add_parser("agent", help="log in as an agent (or supervisor) and print pushes")
    common(agent)
    agent.add_argument("--username", required=True)
    agent.add_argument("--password", required=True)
    agent.add_argument(
        "--status",
        default="available",
        choices=["available", "unavailable", "offline", "none"],
        help="status to set after connecting (agents only; 'none' sets nothing)",
    )
    staying(agent)

    ping = commands.add_parser("ping", help="connect with any credentials and time signed pings")
    common(ping)
    ping.add_argument("--username")
    ping.add_argument("--password")
    ping.add_argument("--api-key")
    ping.add_argument("--dealer")
    ping.add_argument("--dossier")
    ping.add_argument("--node-id")
    ping.add_argument("--node-key")
    ping.add_argument("--count", type=int, default=1, help="how many pings (default 1)")
    return parser


async def _ping_grant(args: argparse.Namespace) -> TokenGrant:
    kinds = {
        "login": (args.username, args.password),
        "mobile": (args.api_key, args.dealer, args.dossier),
        "node": (args.node_id, args.node_key),
    }
    given = [kind for kind, values in kinds.items() if any(v is not None for v in values)]
    if len(given) != 1 or any(v is None for v in kinds[given[0]]):
        raise UsageError(
            "give exactly one set of credentials: --username/--password, "
            "--api-key/--dealer/--dossier, or --node-id/--node-key"
        )
    if given[0] == "login":
        return await login(args.rest, args.username, args.password)
    if given[0] == "mobile":
        return await mobile_token(args.rest, args.api_key, args.dealer, args.dossier)
    return await node_token(args.rest, args.node_id, args.node_key)


async def _stay(client: VkycClient, seconds: float | None) -> None:
    """Keep the session (pushes are printed as they arrive) until ``seconds`` or the session ends."""
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    while True:
        remaining = 3600.0 if deadline is None else deadline - loop.time()
        if remaining <= 0:
            return
        try:
            await client.next_push(timeout=remaining)  # already printed by on_message
        except TimeoutError:
            continue


async def run(args: argparse.Namespace) -> int:
    if args.command == "ping":
        grant = await _ping_grant(args)
        if args.count < 1:
            raise UsageError("--count must be at least 1")
        async with VkycClient.open(
            args.ws or grant.ws_url, token=grant.token, client_name=args.client_name, heartbeat=False
        ) as client:
            for _ in range(args.count):
                rtt_ms = await client.ping()
                print(json.dumps({"action": "pong", "rtt_ms": round(rtt_ms, 2)}), flush=True)
        return 0

    if args.command == "mobile":
        grant = await mobile_token(args.rest, args.api_key, args.dealer, args.dossier)
    else:
        grant = await login(args.rest, args.username, args.password)
    async with VkycClient.open(
        args.ws or grant.ws_url,
        token=grant.token,
        client_name=args.client_name,
        heartbeat_interval_s=args.heartbeat,
        on_message=_print_message,
    ) as client:
        if args.command == "agent" and grant.role == "agent" and args.status != "none":
            await client.request("agent.set_status", status=args.status)
        if args.command == "mobile" and (args.call or args.answer_callbacks):
            await _mobile_calls(client, args)
            return 0
        await _stay(client, args.seconds)
    return 0


async def _mobile_calls(client: VkycClient, args: argparse.Namespace) -> None:
    # The media (aiortc, PyAV, OpenCV: the sdk-media extra) only when a call is placed: the [sdk] extra
    # alone connects, pings and prints.
    try:
        mobile_call: Any = importlib.import_module("sdk.mobile_call")
    except ImportError as exc:
        raise UsageError(f"--call and --answer-callbacks need the sdk-media extra ({exc})") from None
    try:
        video = mobile_call.camera(args.camera)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event, ensure_ascii=False), flush=True)

    # Registered first, so that a call-back during or right after the call reaches this device.
    if args.answer_callbacks:
        await client.request("device.register", device_id=args.device_id or f"sdk-{args.dealer}")
    if args.call:
        await mobile_call.place_call(client, video, emit, result_wait_s=args.result_wait)
    if args.answer_callbacks:
        await mobile_call.answer_callbacks(client, video, emit, seconds=args.seconds)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        return asyncio.run(run(args))
    except SessionLost as exc:
        print(f"error: {exc.code}: {exc.reason}: {exc.detail}".replace("\n", " "), file=sys.stderr)
        return 2
    except SdkError as exc:
        print(f"error: {exc.code}: {exc.message}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
