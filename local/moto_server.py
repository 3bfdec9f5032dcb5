"""An embedded moto server: DynamoDB (with Streams), SQS and S3 on one HTTP endpoint.

The default port is LocalStack's edge port (4566), so ``localstack-client`` and a real LocalStack
are interchangeable with it. Port 0 lets the system choose a free one (tests do): the server binds it
and reports it back, so no other process can take it in between.

By default the server runs in a process of its own (``python -m local.moto_server``): moto's work then
runs on the other core instead of competing for this process's GIL with the handlers that call it,
which halves call set-up under load on a 2-core machine. ``in_process=True`` keeps it in a thread.

With ``state_dir`` the server keeps its data there (``local.moto_state``: a snapshot and a journal of
the writes), so that a restart, or a crash, of the server loses nothing: ``make up`` runs it so. The
child runs in a session of its own: a Ctrl-C in the terminal reaches only the stack, which stops it
after everything that uses it.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from local import moto_patches, s3_forms

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
LISTENING = "moto server listening on port "  # the child's line that tells its port


def ensure_fake_credentials() -> None:
    """moto accepts any credentials, but botocore refuses to sign without some."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "ap-southeast-1"))


class MotoServer:
    """A moto server in a child process (default) or a thread of this one. ``port`` (0: the system
    picks one) and ``url`` are known once ``start()`` returns."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        in_process: bool = False,
        state_dir: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.in_process = in_process
        self.state_dir = state_dir
        if in_process and state_dir is not None:
            raise ValueError("a persistent moto server runs in a process of its own")
        self._server = (
            ThreadedMotoServer(ip_address=host, port=self.port, verbose=False) if in_process else None
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """The child is alive (always True in process)."""
        return self._process is None or self._process.poll() is None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        ensure_fake_credentials()
        deadline = time.monotonic() + timeout
        if self._server is not None:
            _quiet_werkzeug()
            moto_patches.apply()
            s3_forms.apply()  # S3's POST-form policy, which moto does not check
            self._server.start()
            self.port = self._server.get_host_and_port()[1]
        else:
            root = Path(__file__).resolve().parent.parent
            command = [
                sys.executable,
                "-m",
                "local.moto_server",
                "--host",
                self.host,
                "--port",
                str(self.port),
            ]
            if self.state_dir is not None:
                command += ["--state-dir", str(self.state_dir)]
            self._process = subprocess.Popen(
                command,
                cwd=root,
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
                },
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            self.port = self._port_of_child(deadline)
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"moto server exited with {self._process.returncode} (see its output above)"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto server did not start on {self.url}") from None
                time.sleep(0.05)

    def _port_of_child(self, deadline: float) -> int:
        """The port the child bound, from the line it prints once it serves (``main``)."""
        process = self._process
        assert process is not None and process.stdout is not None
        output = b""
        while (found := re.search(rb"^%s(\d+)\n" % LISTENING.encode(), output, re.MULTILINE)) is None:
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(process.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                self.stop()
                raise RuntimeError(
                    f"moto server on {self.host}:{self.port} did not start (exit code {process.returncode}; "
                    "see its output above)"
                )
            output += chunk
        process.stdout.close()  # the child writes nothing more to it
        return int(found.group(1))

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # a persistent server writes its snapshot first
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL the child (what a crash does)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)


@contextmanager
def running(host: str = DEFAULT_HOST, port: int = 0) -> Iterator[MotoServer]:
    server = MotoServer(host, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _quiet_werkzeug() -> None:
    # werkzeug logs every request at INFO: thousands of lines per test run.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


class _PersistentServer:
    """moto's dispatcher behind ``local.moto_state`` (restore, then journal every write), threaded."""

    def __init__(self, host: str, port: int, state_dir: Path) -> None:
        from local.moto_state import PersistentState

        _quiet_werkzeug()
        moto_patches.apply()
        self.state = PersistentState(state_dir)
        app = DomainDispatcherApplication(create_backend_app)
        self.state.restore(app)
        self._server = make_server(host, port, self.state.wrap(app), True, request_handler=MotoRequestHandler)
        self.port = self._server.server_port  # the one the system chose for port 0
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self.state.close()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT (the child process of ``MotoServer``)."""
    parser = argparse.ArgumentParser(description="vkyc's moto server (DynamoDB with isolated transactions)")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--state-dir", default=None, help="keep the data here across restarts")
    args = parser.parse_args(argv)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    server: MotoServer | _PersistentServer
    if args.state_dir:
        ensure_fake_credentials()
        server = _PersistentServer(args.host, args.port, Path(args.state_dir))
    else:
        server = MotoServer(args.host, args.port, in_process=True)
    server.start()
    # The parent reads the port from this line (``--port 0``: the one the system chose); then nothing
    # else goes to stdout, which it no longer reads.
    print(f"{LISTENING}{server.port}", flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    parent = os.getppid()
    # A parent killed without a chance to stop us (kill -9, a crashed test run) must not leave the
    # port taken: notice being orphaned.
    while not stopped.wait(1.0):
        if os.getppid() != parent:
            break
    server.stop()


if __name__ == "__main__":
    main()
