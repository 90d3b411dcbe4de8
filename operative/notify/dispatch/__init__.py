"""Sending what the outbox holds: one call, bounded concurrency, exactly one delivery each.

:func:`dispatch_pending` first reconciles deliveries a dead dispatcher left ``sending``, then
claims due deliveries in batches (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite, so two dispatchers never claim the same row) and marks
them ``sending`` before anything goes on the wire. Each delivery is one Apprise
``async_notify`` call to a service built for it, carrying its idempotency key in an
``Idempotency-Key`` header; at most ``concurrency`` run at once, and the next batch is claimed
while the current one is still being sent. Results are written by one writer thread that
commits whatever arrived within 20 ms in a single transaction (group commit), so the window
between a send and its record stays short without a commit per send.

Outcomes, from Apprise 2's per-service result (status, attempts, captured log lines):

- success → ``sent``;
- HTTP 4xx other than 408/425/429, an SMTP 5xx refusal, a channel no longer configured →
  ``failed`` at once (permanent);
- anything else (HTTP 5xx, 408/429, timeouts, connection errors, an SMTP failure Apprise
  reports without a code) → back to ``pending`` with exponential backoff and jitter, until
  ``max_attempts``, then ``failed``.

A failed delivery is escalated: an audit event, and an ``escalation`` message to the
``secretariat`` role through the outbox (an escalation that fails is not escalated again).

After a crash, per channel:

- ``inbox://`` cannot resend: the file is named by the idempotency key and written atomically;
  reconciliation finds it and marks the delivery sent, or finds none and sends it.
- ``json://``, ``form://``, ``xml://`` (and ``mailto://``): a delivery left ``sending`` may
  have reached the receiver before the crash; the wire cannot tell, so it is sent again, with
  the same ``Idempotency-Key`` header, and the receiver drops the duplicate. A send abandoned
  on timeout may also complete later in Apprise's worker thread: the same header covers it.
- Services that take no custom headers get no key: at least once, not exactly once.

A dispatcher on this host whose process is gone is taken over at once; otherwise a ``sending``
row is taken over when its lease (``lease`` seconds from the claim) runs out.
"""

from __future__ import annotations

from operative.notify.dispatch.claim import dispatcher_id, reconcile
from operative.notify.dispatch.policy import DispatchPolicy, DispatchReport
from operative.notify.dispatch.run import dispatch_pending, dispatch_pending_async
from operative.notify.dispatch.send import TestResult, send_test

__all__ = [
    "DispatchPolicy",
    "DispatchReport",
    "TestResult",
    "dispatch_pending",
    "dispatch_pending_async",
    "dispatcher_id",
    "reconcile",
    "send_test",
]
