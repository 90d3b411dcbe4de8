"""How hard and how fast a dispatch sends, and what it reports having done."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DispatchPolicy:
    """How hard and how fast to send."""

    concurrency: int = 8
    # Claimed at a time; None: four times the concurrency, so a crash strands few claims.
    batch_size: int | None = None
    max_attempts: int = 5
    backoff_base: float = 30.0
    backoff_max: float = 3600.0
    send_timeout: float = 60.0
    lease: float = 600.0
    # How long one call may wait for retries falling due; 0 leaves them to the next call.
    wait_for_retries: float = 0.0

    @property
    def claim_size(self) -> int:
        return self.batch_size or 4 * self.concurrency

    def backoff(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` transient failures (±20 % jitter)."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(0, failures - 1))
        return float(delay) * random.uniform(0.8, 1.2)


@dataclass
class DispatchReport:
    """What one dispatch did."""

    sent: int = 0
    # Permanent refusals, and transient failures past ``max_attempts``.
    failed: int = 0
    # Transient failures put back ``pending`` with a backoff.
    retried_later: int = 0
    escalated: int = 0
    # Rows a stopped dispatcher left ``sending``, settled before the first claim.
    reconciled: int = 0
    # Still pending or sending when the call returned.
    pending: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
