"""Real receivers for the notification tests: an HTTP webhook sink and an SMTP server.

The HTTP sink is what a careful webhook receiver does: it records every request it receives,
and keeps a message only the first time it sees its ``Idempotency-Key`` (a repeat is answered
200 and dropped). It can be made slow, or faulty (HTTP 500, or stalling past the client's
timeout) for chosen requests.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


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
    """A webhook receiver on 127.0.0.1 that dedups by ``Idempotency-Key``."""

    delay: float = 0.0
    # (request number, key, path) -> None to accept, or ("status", code) / ("stall", seconds)
    fault: Callable[[int, str | None, str], tuple[str, float] | None] | None = None
    received: list[Received] = field(default_factory=list)
    kept: dict[str, Received] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    aborted: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
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

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

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

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it accepts."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.recorder = _Recorder(refuse or set())
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.recorder.messages

    def close(self) -> None:
        self.controller.stop()
