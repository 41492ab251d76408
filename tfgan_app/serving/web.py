"""A local static file server for an export's ``web/`` page (``tfgan serve --web``): bound to
127.0.0.1 only, with the MIME types WebAssembly needs (``application/wasm``, JavaScript
modules), quiet unless a request fails."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path


class _PageHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json",
    }

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            super().log_message(format, *args)


def page_server(folder: Path, port: int = 8080, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """A server of ``folder`` on ``host:port`` (port 0: any free one; ``server_address``
    says which); call ``serve_forever`` (or run it in a thread) and ``shutdown``."""
    handler = functools.partial(_PageHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)
