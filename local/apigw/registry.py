"""The emulator's live connections, by id. Only the server adds and removes; ``@connections`` reads."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


def new_connection_id() -> str:
    # Real ids are 10 random bytes in base64, so they end in '=': keeps clients honest about quoting.
    return base64.b64encode(secrets.token_bytes(10)).decode()


@dataclass
class Connection:
    id: str
    writer: asyncio.StreamWriter
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    closing: bool = False
    close_code: int | None = None  # set when the server starts the close
    close_reason: str = ""
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def connected_at_ms(self) -> int:
        return int(self.connected_at * 1000)


class ConnectionRegistry:
    def __init__(self) -> None:
        self._by_id: dict[str, Connection] = {}

    def add(self, connection: Connection) -> None:
        self._by_id[connection.id] = connection

    def remove(self, connection_id: str) -> None:
        self._by_id.pop(connection_id, None)

    def get(self, connection_id: str) -> Connection | None:
        """The connection, or None when it is unknown or already closing (AWS answers 410 for both)."""
        connection = self._by_id.get(connection_id)
        if connection is None or connection.closing:
            return None
        return connection

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._by_id.values()))
