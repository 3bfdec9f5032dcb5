"""State for the local moto server that survives its restart and its crash: a snapshot plus a journal.

Runs inside the moto server's process (``python -m local.moto_server --state-dir DIR``):

- **journal** (``moto-journal.bin``): every request that changed something (a DynamoDB write, an SQS
  send or delete, an S3 put or delete...) is appended, with its headers and body, after moto answered
  it with success and before the answer leaves: what a client was told is stored is on disk (in the
  kernel's page cache: it survives ``kill -9`` of the server, not a power cut).
- **snapshot** (``moto-snapshot.pickle``): moto's DynamoDB, Streams, SQS and S3 backends, pickled
  every ``SNAPSHOT_EVERY`` journaled requests and when the server stops, written to a temporary file
  and renamed (never half written); the journal then starts again.
- **restore**, at start: the snapshot, then the journal's requests newer than it, replayed through
  moto in order (a record cut short by a crash is ignored). A few thousand requests at most: a restart
  takes a second or two.

Why not moto's recorder (``/moto-api/recorder/...``): it records every request, reads included, and
replays the whole history at each start: the longer a stack lives, the slower its restart. The
snapshot bounds the replay.

What is not kept exactly: an SQS message received after the last snapshot is delivered again after a
crash (receives are not journaled, so its deletion names a receipt handle the restored queue does not
know): at least once, as SQS promises, and vkyc's timers are idempotent. Shard iterators of DynamoDB
Streams taken since the snapshot are forgotten; the stream runners re-position after the last record
they saw.
"""

from __future__ import annotations

import copyreg
import io
import json
import logging
import pickle
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

log = logging.getLogger("local.moto_state")

SERVICES = ("dynamodb", "dynamodbstreams", "sqs", "s3")
SNAPSHOT = "moto-snapshot.pickle"
JOURNAL = "moto-journal.bin"
SNAPSHOT_EVERY = 1000  # journaled requests between snapshots: bounds the replay at a restart
_HEADER = struct.Struct("<II")  # JSON length, body length

# DynamoDB and SQS operations that change nothing (the rest are journaled). Streams only read.
DYNAMODB_READS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "DescribeTable",
        "ListTables",
        "DescribeTimeToLive",
        "ListTagsOfResource",
        "DescribeContinuousBackups",
        "DescribeLimits",
        "DescribeEndpoints",
    }
)
# With them, what changes only who may see a message when (receipt handles are random): not journaled,
# and not serialized either (a receive long-polls for up to 20 s: holding the lock meanwhile would hold
# up every write).
SQS_READS = frozenset(
    {
        "GetQueueUrl",
        "GetQueueAttributes",
        "ListQueues",
        "ListQueueTags",
        "ListDeadLetterSourceQueues",
        "ReceiveMessage",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    }
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# A backend's locks are pickled as new, free locks: nobody holds one while the state is pickled.
copyreg.pickle(type(threading.Lock()), lambda lock: (threading.Lock, ()))
copyreg.pickle(type(threading.RLock()), lambda lock: (threading.RLock, ()))


def classify(environ: dict[str, Any], body: bytes) -> str:
    """``read`` (not locked, not journaled) or ``write`` (serialized, journaled when it succeeds)."""
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if path.startswith("/moto-api"):
        return "read"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDBStreams_"):
        return "read"
    if target.startswith("DynamoDB_"):
        return "read" if target.split(".", 1)[-1] in DYNAMODB_READS else "write"
    operation = target.split(".", 1)[-1] if target.startswith("AmazonSQS.") else ""
    credential = environ.get("HTTP_AUTHORIZATION", "")
    if not operation and "/sqs/" in credential and method == "POST":
        form = dict(pair.split("=", 1) for pair in body.decode("latin-1").split("&") if "=" in pair)
        operation = form.get("Action", "")
    if operation:
        return "read" if operation in SQS_READS else "write"
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"


def _backends() -> dict[str, Any]:
    from moto.backends import get_backend

    return {service: get_backend(service) for service in SERVICES}  # type: ignore[call-overload]


def _flatten() -> dict[str, dict[tuple[str, str], Any]]:
    return {
        service: {(account, region): backend for account, region, backend in backends.iter_backends()}
        for service, backends in _backends().items()
    }


def _install(state: dict[str, dict[tuple[str, str], Any]]) -> None:
    backends = _backends()
    for service, regions in state.items():
        for (account, region), backend in regions.items():
            dict.__setitem__(backends[service][account], region, backend)


class Journal:
    """Records, each ``<json length><body length><json><body>``; ``seq`` increases across snapshots."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: io.BufferedWriter | None = None

    def records(self) -> Iterator[tuple[dict[str, Any], bytes]]:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        offset = 0
        while offset + _HEADER.size <= len(data):
            meta_length, body_length = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + meta_length + body_length
            if end > len(data):
                log.warning("journal: the last record was cut short (a crash while writing it); ignored")
                return
            meta = json.loads(data[offset + _HEADER.size : offset + _HEADER.size + meta_length])
            yield meta, data[offset + _HEADER.size + meta_length : end]
            offset = end

    def append(self, meta: dict[str, Any], body: bytes) -> None:
        if self._file is None:
            self._file = open(self.path, "ab")  # noqa: SIM115 (kept open: one write per request)
        encoded = json.dumps(meta).encode()
        self._file.write(_HEADER.pack(len(encoded), len(body)) + encoded + body)
        self._file.flush()  # into the kernel: a killed process loses nothing written

    def restart(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.write_bytes(b"")


class PersistentState:
    """Restores moto's state from ``directory`` and wraps moto's WSGI app to keep it there."""

    def __init__(self, directory: Path, snapshot_every: int = SNAPSHOT_EVERY) -> None:
        self.directory = directory
        self.snapshot_every = snapshot_every
        self.journal = Journal(directory / JOURNAL)
        self.seq = 0  # of the last journaled request
        self.snapshot_seq = 0  # the last request the snapshot holds
        self._lock = threading.Lock()

    def restore(self, app: WsgiApp) -> int:
        """Load the snapshot and replay the newer journal through ``app``; returns the replayed count."""
        self.directory.mkdir(parents=True, exist_ok=True)
        snapshot = self.directory / SNAPSHOT
        if snapshot.exists():
            with open(snapshot, "rb") as file:
                saved = pickle.load(file)  # our own file, written by this module
            _install(saved["state"])
            self.seq = self.snapshot_seq = int(saved["seq"])
        replayed = 0
        for meta, body in self.journal.records():
            if meta["seq"] <= self.snapshot_seq:
                continue
            _call(app, meta, body)
            self.seq = meta["seq"]
            replayed += 1
        log.info(
            "moto state restored from %s: snapshot at %d, %d request(s) replayed",
            self.directory,
            self.snapshot_seq,
            replayed,
        )
        return replayed

    def snapshot(self) -> None:
        """Pickle every backend (no write in flight: callers hold the lock) and start a new journal.
        A read changing a message's visibility meanwhile may make pickling fail: then the journal is
        kept as it is and the next write tries again."""
        state = _flatten()
        temporary = self.directory / (SNAPSHOT + ".tmp")
        try:
            with open(temporary, "wb") as file:
                pickle.dump({"seq": self.seq, "state": state}, file, protocol=pickle.HIGHEST_PROTOCOL)
        except (RuntimeError, pickle.PicklingError) as exc:
            log.warning("snapshot not taken (%s); the journal keeps everything", exc)
            return
        temporary.replace(self.directory / SNAPSHOT)
        self.snapshot_seq = self.seq
        self.journal.restart()

    def close(self) -> None:
        with self._lock:
            if self.seq != self.snapshot_seq:
                self.snapshot()

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def persistent(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            body = _read_body(environ)
            kind = classify(environ, body)
            if kind == "read":
                try:
                    return app(environ, start_response)
                except KeyError:
                    # moto's answer to a shard iterator it does not know (one taken before a crash):
                    # answer as DynamoDB Streams does, and the reader takes a new one.
                    if not environ.get("HTTP_X_AMZ_TARGET", "").endswith(".GetRecords"):
                        raise
                    return _expired_iterator(start_response)
            status: list[str] = []

            def recording_start(code: str, headers: Any, *rest: Any) -> Any:
                status.append(code)
                return start_response(code, headers, *rest)

            with self._lock:
                answer = list(app(environ, recording_start))
                if status and int(status[0].split()[0]) < 400:
                    self.seq += 1
                    self.journal.append(_meta(environ, self.seq), body)
                    if self.seq - self.snapshot_seq >= self.snapshot_every:
                        self.snapshot()
            return answer

        return persistent


def _expired_iterator(start_response: Callable[..., Any]) -> list[bytes]:
    answer = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ExpiredIteratorException",
            "message": "Shard iterator unknown after a restart of the local moto server",
        }
    ).encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(answer)))],
    )
    return [answer]


def _read_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    if length:
        body: bytes = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _meta(environ: dict[str, Any], seq: int) -> dict[str, Any]:
    headers = {
        key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return {
        "seq": seq,
        "method": environ["REQUEST_METHOD"],
        "path": environ.get("PATH_INFO", "/"),
        "query": environ.get("QUERY_STRING", ""),
        "headers": headers,
    }


def _call(app: WsgiApp, meta: dict[str, Any], body: bytes) -> None:
    environ = EnvironBuilder(
        method=meta["method"],
        path=meta["path"],
        query_string=meta["query"],
        headers=meta["headers"],
        data=body,
    ).get_environ()
    outcome: list[str] = []
    try:
        for _ in app(environ, lambda code, headers, *rest: outcome.append(code)):
            pass
    except Exception:  # one bad record must not lose the rest
        log.exception("journal replay: %s %s failed", meta["method"], meta["path"])
        return
    if outcome and int(outcome[0].split()[0]) >= 400:
        log.warning("journal replay: %s %s answered %s", meta["method"], meta["path"], outcome[0])


def describe(directory: Path) -> dict[str, Any]:
    """What ``directory`` holds (for ``make up``'s first line)."""
    snapshot, journal = directory / SNAPSHOT, directory / JOURNAL
    return {
        "snapshot_bytes": snapshot.stat().st_size if snapshot.exists() else 0,
        "journal_bytes": journal.stat().st_size if journal.exists() else 0,
        "exists": snapshot.exists() or (journal.exists() and journal.stat().st_size > 0),
    }
