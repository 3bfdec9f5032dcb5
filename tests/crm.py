"""A local HTTP server standing for an integrator's CRM (the page the agent's answer URL opens): it
serves a small page to any GET and records the query of each request to ``/answer``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE = (
    b"<!doctype html><title>CRM</title><body style='font:16px sans-serif;background:#eef4ff'>"
    b"<h2>CRM</h2><p id=customer>customer</p></body>"
)


class Crm:
    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/answer":  # not the browser's /favicon.ico
                    crm.queries.append(parse_qs(parts.query, keep_blank_values=True))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="crm", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
