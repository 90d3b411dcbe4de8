"""Real receivers for the notification tests: an HTTP webhook sink and an SMTP server.

The HTTP sink is what a careful webhook receiver does: it records every request it receives,
and keeps a message only the first time it sees its ``Idempotency-Key`` (a repeat is answered
200 and dropped). It can be made slow, or faulty (HTTP 500, or stalling past the client's
timeout) for chosen requests, or taken down and brought back on the same port (while it is
down nothing listens there, so a send is refused at connect). The SMTP server can require a
login.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    """One request as the sink saw it."""

    path: str
    key: str | None
    content_type: str
    fields: dict[str, Any]
    attachments: dict[str, bytes]
    headers: dict[str, str]


def parse_payload(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Fields and attachments of a json://, form:// (urlencoded or multipart) request."""
    if content_type.startswith("application/json"):
        data = json.loads(body.decode("utf-8"))
        files = {
            item["filename"]: __import__("base64").b64decode(item["base64"])
            for item in data.get("attachments") or []
        }
        return data, files
    if content_type.startswith("multipart/form-data"):
        message = email.message_from_bytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body,
            policy=email.policy.HTTP,
        )
        fields: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename:
                files[filename] = payload
            else:
                fields[str(name)] = payload.decode("utf-8")
        return fields, files
    parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}, {}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request is expected here (the crash test does it)."""


@dataclass
class HttpSink:
    """A webhook receiver on 127.0.0.1 that dedups by ``Idempotency-Key``.

    ``listening=False`` makes it start down, on a port of its own kept for ``up()``.
    """

    delay: float = 0.0
    # (request number, key, path) -> None to accept, or ("status", code) / ("stall", seconds)
    fault: Callable[[int, str | None, str], tuple[str, float] | None] | None = None
    listening: InitVar[bool] = True
    port: int = 0
    received: list[Received] = field(default_factory=list)
    kept: dict[str, Received] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    aborted: int = 0

    def __post_init__(self, listening: bool) -> None:
        self._lock = threading.Lock()
        self._server: _QuietServer | None = None
        if listening:
            self.up()
        elif not self.port:
            self.port = free_port()

    def up(self) -> None:
        """Listen (again) on the sink's port; the first time, on one the system picks."""
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the client died mid-request: nothing arrived
                    sink.aborted += 1
                    return
                status = sink._handle(self.path, dict(self.headers.items()), body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the client died waiting for the answer
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: a send to the sink is refused at connect until ``up()``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    close = down

    def requests_per_key(self) -> Counter[str | None]:
        """How many requests arrived with each ``Idempotency-Key``."""
        with self._lock:
            return Counter(item.key for item in self.received)

    def url(self, scheme: str = "json", path: str = "/hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
        with self._lock:
            number = len(self.received)
            content_type = headers.get("Content-Type", "")
            fields, files = parse_payload(content_type, body)
            item = Received(path, key, content_type, fields, files, headers)
            self.received.append(item)
        decision = self.fault(number, key, path) if self.fault else None
        if self.delay:
            time.sleep(self.delay)
        if decision is not None and decision[0] == "status":
            with self._lock:
                self.statuses.append(int(decision[1]))
            return int(decision[1])
        if decision is not None and decision[0] == "stall":
            time.sleep(decision[1])
        with self._lock:
            if key is None or key not in self.kept:
                self.kept[key or f"unkeyed-{number}"] = item
            self.statuses.append(200)
        return 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Recorder:
    def __init__(self, refuse: set[str]) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = refuse
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it accepts.

    Given ``login`` (user, password), it accepts mail only after that login (AUTH over plain
    text, as a relay on loopback may) and records every login tried in ``logins``.
    """

    def __init__(
        self, refuse: set[str] | None = None, *, login: tuple[str, str] | None = None
    ) -> None:
        self.recorder = _Recorder(refuse or set())
        self.login = login
        self.logins: list[tuple[str, str]] = []
        self.port = free_port()
        self.controller = Controller(
            self.recorder,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            # Without TLS, aiosmtpd offers AUTH only when it need not require TLS for it.
            auth_require_tls=login is None,
        )
        self.controller.start()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        tried = (data.login.decode(), data.password.decode())
        self.logins.append(tried)
        return AuthResult(success=tried == self.login)

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.recorder.messages

    def close(self) -> None:
        self.controller.stop()
