"""The REST server with the AWS endpoint down: run as ``python -m tests.integration.rest_without_aws``.

The apps are loaded with ``AWS_ENDPOINT_URL`` at a port nobody listens on (the caller gives it), so
every DynamoDB and S3 request fails to connect, as when the local moto server or LocalStack is down.
A process of its own: the test process's models stay bound to the live stack. Prints the REST URL on
one line, then serves until its stdin closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from local.chalice_app import load_app
from local.rest import RestServer

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    apps = [load_app(ROOT / "functions" / name) for name in ("signaling", "reports")]
    server = RestServer(apps, None, port=0).start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
