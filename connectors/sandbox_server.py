"""The sandboxes as HTTP servers on 127.0.0.1, their state kept in a file (DESIGN.md 7, 9).

The in-process sandboxes (`XeroSandbox`, `TikTokSandbox`) answer `httpx.Request`s through a
`MockTransport`; tests plug them in with `reconciliation.transports`. For the demo every process
(web server, django-q2 workers, the demo command) must reach the same sandbox, so one process per
sandbox serves it over HTTP and the ordinary clients reach it through the base-URL settings
(`XERO_API_URL`, `XERO_IDENTITY_URL`, `TIKTOK_API_URL`, `TIKTOK_AUTH_URL`), as they reach the real
services. The server is the only owner of the sandbox's state: requests are handled one at a time
and the state is written to its file (atomically) after each one, so it survives a restart.

Each real provider has two hosts (API and identity/auth); one server stands in for both and tells
them apart by path, then hands the sandbox the request under the real host name, so the sandbox
code is the same in both modes.

Injected faults that leave the caller without an answer (Xero `timeout_after_write`,
`drop_response`, `timeout_before_write`; TikTok `timeout`) close the connection without a
response: over HTTP the client sees a dropped connection instead of a timeout, which it treats the
same way (the outcome is unknown; look the document up before creating it again).

The state file is a pickle: it is written and read only by this module, under var/ of the
checkout (never load one from anywhere else).
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "host", "content-encoding"}


@dataclass(frozen=True)
class Kind:
    """What one sandbox needs to be served: how to build an empty one, which real host a path
    belongs to, and which attributes are per-process (never persisted)."""

    build: Callable[[], object]
    host_for: Callable[[str], str]
    transient: tuple[str, ...]
    clock_attribute: str


def _xero_host(path: str) -> str:
    from connectors.xero.sandbox import API_HOST, IDENTITY_HOST, LOGIN_HOST

    if path.lower().startswith("/identity/"):
        return LOGIN_HOST  # the consent screen a browser is sent to
    return IDENTITY_HOST if path.lower().startswith("/connect/") else API_HOST


def _tiktok_host(path: str) -> str:
    # The auth host serves /api/v2/token/*; the Partner API never uses /api/v2/ (it is versioned
    # per resource: /finance/202309/..., /authorization/202309/...); the services site serves the
    # seller's consent screen at /open/authorize.
    if path.startswith("/open/"):
        return "services.tiktokshop.com"
    return "auth.tiktok-shops.com" if path.startswith("/api/v2/token/") else "open-api.tiktokglobalshop.com"


@cache
def _xero_spec():
    from connectors.xero.sandbox_http import load_spec

    return load_spec(None)


def _build_xero():
    from connectors.xero.sandbox import XeroSandbox

    sandbox = XeroSandbox(spec_path=Path(os.devnull))  # no spec loaded here: the cached one is set
    sandbox.spec = _xero_spec()
    return sandbox


def _build_tiktok():
    """The TikTok sandbox, checking every response against TikTok's description when it is there."""
    from django.conf import settings

    from connectors.tiktok.openapi import TikTokSpec
    from connectors.tiktok.sandbox import TikTokSandbox

    return TikTokSandbox(spec=TikTokSpec.load_if_present(settings.TIKTOK_OPENAPI_DIR))


KINDS = {
    "xero": Kind(_build_xero, _xero_host, ("transport", "requests", "spec", "clock"), "clock"),
    "tiktok": Kind(_build_tiktok, _tiktok_host, ("transport", "requests", "now", "spec"), "now"),
}


# -- the state file --------------------------------------------------------------------------------
class _Pickler(pickle.Pickler):
    """The sandbox's clock is a per-process callable (a lambda for Xero, shared by its token store);
    it is written as a reference and re-attached to the loading sandbox's own clock."""

    def __init__(self, file, clock):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._clock = clock

    def persistent_id(self, obj):
        return "clock" if obj is self._clock else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, clock):
        super().__init__(file)
        self._clock = clock

    def persistent_load(self, pid):
        if pid != "clock":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return self._clock


def state_save(kind: str, sandbox, path: Path) -> None:
    """Write the sandbox's state to `path` atomically (a reader never sees half a file)."""
    spec = KINDS[kind]
    state = {k: v for k, v in vars(sandbox).items() if k not in spec.transient}
    buffer = io.BytesIO()
    _Pickler(buffer, getattr(sandbox, spec.clock_attribute)).dump(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, path)


def state_load(kind: str, path: Path, *, sandbox=None):
    """A sandbox holding the state saved in `path` (a new one unless `sandbox` is given)."""
    spec = KINDS[kind]
    sandbox = sandbox if sandbox is not None else spec.build()
    with path.open("rb") as file:
        state = _Unpickler(file, getattr(sandbox, spec.clock_attribute)).load()
    vars(sandbox).update(state)
    return sandbox


# -- the server ------------------------------------------------------------------------------------
class SandboxServer:
    """`SandboxServer("xero", sandbox, state_file=...)`; `start()` serves in a thread (tests),
    `serve_forever()` in the calling thread (the `sandbox_serve` command)."""

    def __init__(self, kind: str, sandbox, *, state_file: Path | None = None, port: int = 0):
        self.kind, self.sandbox, self.state_file = kind, sandbox, state_file
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((HOST, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        if state_file is not None:
            self.save()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"{self.kind}-sandbox")
        self._thread.daemon = True
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop a server started with `start()`."""
        self._httpd.shutdown()
        self.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def close(self) -> None:
        self._httpd.server_close()

    def save(self) -> None:
        if self.state_file is not None:
            state_save(self.kind, self.sandbox, self.state_file)

    def answer(self, request: httpx.Request) -> httpx.Response | None:
        """The sandbox's response, or None when it injected a fault that leaves no answer."""
        with self._lock:  # one request at a time: the sandboxes are not thread-safe
            try:
                response = self.sandbox.transport.handle_request(request)
                response.read()
                return response
            except httpx.TransportError as exc:
                log.info("%s sandbox: %s", self.kind, exc)
                return None
            except Exception as exc:  # a spec violation in strict mode, or a sandbox bug: say so
                log.exception("%s sandbox failed on %s %s", self.kind, request.method, request.url)
                return httpx.Response(500, json={"sandbox_error": f"{type(exc).__name__}: {exc}"})
            finally:
                self.save()


def _handler_for(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    host_for = KINDS[server.kind].host_for

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connection pools expect

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
            url = f"https://{host_for(self.path)}{self.path}"
            response = server.answer(httpx.Request(self.command, url, headers=headers, content=body))
            if response is None:
                self.close_connection = True  # no status line at all: the caller cannot know
                return
            self.send_response(response.status_code)
            for key, value in response.headers.multi_items():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_PUT = do_POST = do_DELETE = _relay

        def log_message(self, format, *args):
            log.debug("%s sandbox: " + format, server.kind, *args)

    return Handler
