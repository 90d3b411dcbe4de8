"""Fixtures of the notification tests: real receivers, and the secret registry reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from operative.notify.masking import secrets
from tests.notify.sinks import HttpSink, SmtpServer


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Each test registers its own credentials; none leaks into the next test's masking."""
    yield
    secrets.clear()


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """A webhook receiver on loopback that dedups by Idempotency-Key."""
    sink = HttpSink()
    yield sink
    sink.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback."""
    server = SmtpServer(refuse={"closed.mission@example.org"})
    yield server
    server.close()
