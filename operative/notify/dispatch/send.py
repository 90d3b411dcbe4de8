"""Sending one claimed delivery through Apprise, and reading what Apprise says about it.

Each delivery is one ``async_notify`` call to a service built for it, with its idempotency key
in an ``Idempotency-Key`` header. :func:`send_test` sends a test notice the same way, without
the outbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from apprise import Apprise, AppriseAttachment, AppriseResult, NotifyFormat
from apprise.result import AppriseResultStatus

from operative.core import clock
from operative.notify.channels import (
    Channel,
    ChannelConfig,
    UnknownTarget,
    load_channels,
    parse_channels,
)
from operative.notify.dispatch.claim import Claim
from operative.notify.dispatch.policy import DispatchPolicy
from operative.notify.masking import install_log_redaction, redact

_HTTP_CODE = re.compile(r"error=(\d{3})\b")
_SMTP_REFUSAL = re.compile(r"refused: (\d{3})\b")
_RETRYABLE_4XX = {408, 425, 429}
_MAX_ERROR = 500


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    result: str  # sent | transient | permanent
    error: str | None
    http_status: int | None
    apprise_attempts: int
    masked_target: str | None
    started: dt.datetime
    finished: dt.datetime = field(default_factory=clock.now)


def _error_text(result: AppriseResult) -> str:
    lines: list[str] = []
    for entry in result.logs():
        text = redact(" ".join(entry.message.split()))
        if text and text not in lines:
            lines.append(text)
    return "; ".join(lines)[:_MAX_ERROR]


def _classify(
    claim: Claim, channel: Channel, result: AppriseResult, started: dt.datetime, timeout: float
) -> Outcome:
    def outcome(
        kind: str, error: str | None, http: int | None = None, attempts: int = 1
    ) -> Outcome:
        return Outcome(claim, kind, error, http, attempts, channel.masked_url, started)

    services = result.results
    if not services:
        return outcome(
            "permanent", f"Apprise sent nothing ({result.status.name}): {_error_text(result)}"
        )
    service = services[0]
    attempts = max(1, len(service.attempts))
    if service.status == AppriseResultStatus.SUCCESS:
        return outcome("sent", None, attempts=attempts)
    detail = _error_text(result)
    if service.status == AppriseResultStatus.TIMEOUT:
        return outcome(
            "transient", f"no answer within {timeout:g} s. {detail}".strip(), attempts=attempts
        )
    code, permanent = _refusal(detail)
    return outcome(
        "permanent" if permanent else "transient",
        detail or "the send failed and Apprise gave no reason",
        code,
        attempts,
    )


def _refusal(detail: str) -> tuple[int | None, bool]:
    """The HTTP status or SMTP reply code in Apprise's log lines, and whether it refuses for
    good (a 4xx other than 408/425/429, an SMTP 5xx) rather than for now."""
    http_match = _HTTP_CODE.search(detail)
    http = int(http_match.group(1)) if http_match else None
    smtp_match = _SMTP_REFUSAL.search(detail)
    smtp = int(smtp_match.group(1)) if smtp_match else None
    permanent = (http is not None and 400 <= http < 500 and http not in _RETRYABLE_4XX) or (
        smtp is not None and smtp >= 500
    )
    return http or smtp, permanent


async def send(claim: Claim, channels: ChannelConfig, policy: DispatchPolicy) -> Outcome:
    started = clock.now()
    try:
        channel = channels.channel(claim.recipient, claim.channel)
    except UnknownTarget as exc:
        return Outcome(claim, "permanent", str(exc), None, 0, None, started)
    apprise = Apprise()
    apprise.add(channel.build(idempotency_key=claim.key, recipient=claim.recipient))
    attach = AppriseAttachment(list(claim.attachments)) if claim.attachments else None
    try:
        result = await apprise.async_notify(
            body=claim.body,
            title=claim.title,
            body_format=NotifyFormat.TEXT,
            attach=attach,
            timeout=policy.send_timeout,
        )
    except Exception as exc:
        # Apprise reports failures per service; an exception here is unexpected, and
        # retrying later is the safe answer.
        error = redact(f"{type(exc).__name__}: {exc}")[:_MAX_ERROR]
        return Outcome(claim, "transient", error, None, 1, channel.masked_url, started)
    try:
        return _classify(claim, channel, result, started, policy.send_timeout)
    finally:
        result.close()


@dataclass(frozen=True)
class TestResult:
    """One channel's answer to a test notice."""

    channel: str
    target: str
    ok: bool
    error: str | None


def send_test(
    target: str, *, channels: ChannelConfig | None = None, timeout: float = 30.0
) -> list[TestResult]:
    """Send a test notice to a tag of the configuration or to an Apprise URL."""
    install_log_redaction()
    if "://" in target:
        import yaml

        document = yaml.safe_dump({"version": 1, "urls": [{target: {"tag": "operative-test"}}]})
        routes = list(parse_channels(document, source="TARGET").channels)
        recipient = "operative-test"
    else:
        routes = (channels or load_channels()).for_recipient(target)
        recipient = target
    policy = DispatchPolicy(send_timeout=timeout)

    async def run() -> list[Outcome]:
        key = f"test-{uuid.uuid4().hex}"
        claims = [
            Claim(
                0,
                f"{key}-{channel.name}",
                recipient,
                channel.name,
                "operative: test notice",
                f"A test notice from operative through the {channel.name} channel.\n",
                (),
                0,
                0,
                "test",
            )
            for channel in routes
        ]
        config = ChannelConfig(source="TARGET", channels=tuple(routes))
        return list(await asyncio.gather(*(send(c, config, policy) for c in claims)))

    return [
        TestResult(o.claim.channel, o.masked_target or "", o.result == "sent", o.error)
        for o in asyncio.run(run())
    ]
