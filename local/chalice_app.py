"""Load any Chalice app from its project directory, the way ``chalice local`` does, and point its
AWS clients at the local stack without changing the app's code.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from botocore.config import Config
from chalice import Chalice

MANAGEMENT_POOL_SIZE = 64


class ChaliceAppError(Exception):
    """The directory holds no usable Chalice app."""


def load_app(project_dir: str | Path) -> Chalice:
    """Import ``app.py`` of ``project_dir`` (with its ``chalicelib/`` importable) and return ``app``.

    Each directory gets its own module name, so several apps can live in one process.
    """
    directory = Path(project_dir).resolve()
    app_file = directory / "app.py"
    if not app_file.is_file():
        raise ChaliceAppError(f"{directory}: no app.py (is this a Chalice project directory?)")
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    module_name = "_chalice_app_" + "_".join(directory.parts[-3:]).replace("-", "_").replace(".", "_")
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        spec = importlib.util.spec_from_file_location(module_name, app_file)
        if spec is None or spec.loader is None:
            raise ChaliceAppError(f"{app_file}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    app = getattr(module, "app", None)
    if not isinstance(app, Chalice):
        raise ChaliceAppError(f"{app_file}: defines no Chalice object named 'app'")
    return app


class LocalManagementSession:
    """Stands in for ``app.websocket_api.session``.

    Chalice builds the ``@connections`` endpoint from the API id (``https://{id}.execute-api...``)
    and ignores ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI``; this session keeps Chalice's stage
    path but sends the requests to the emulator. Every other service goes to ``aws_endpoint``.
    """

    def __init__(self, session: Any, management_url: str, aws_endpoint: str | None) -> None:
        self._session = session
        self._management_url = management_url.rstrip("/")
        self._aws_endpoint = aws_endpoint
        self.region_name = session.region_name

    def client(self, service_name: str, **kwargs: Any) -> Any:
        if service_name == "apigatewaymanagementapi":
            stage = str(kwargs.get("endpoint_url", "")).rstrip("/").rsplit("/", 1)[-1]
            kwargs["endpoint_url"] = f"{self._management_url}/{stage}"
            # One process stands in for many Lambda containers: size the pool for the handler threads.
            kwargs.setdefault("config", Config(max_pool_connections=MANAGEMENT_POOL_SIZE))
        elif self._aws_endpoint and "endpoint_url" not in kwargs:
            kwargs["endpoint_url"] = self._aws_endpoint
        return self._session.client(service_name, **kwargs)


def point_websocket_api_at(app: Chalice, management_url: str, aws_endpoint: str | None = None) -> None:
    """Make ``app.websocket_api.send/close/info`` reach the emulator at ``management_url``."""
    import boto3

    assert app.websocket_api is not None
    base = app.websocket_api.session or boto3.Session()
    if isinstance(base, LocalManagementSession):  # re-pointed before (a new emulator for the same app)
        base = base._session
    app.websocket_api.session = LocalManagementSession(base, management_url, aws_endpoint)
    # Chalice caches the client built from the first event; drop it so ours is used.
    app.websocket_api._client = None
