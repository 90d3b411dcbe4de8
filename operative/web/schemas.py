"""What the JSON API returns and accepts: ``XPublic`` models, never the table models.

Table models skip validation and carry columns that are nobody's business (a delivery's claim,
an approval's token nonce); these say exactly what crosses the API.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from operative.models import (
    Activity,
    Approval,
    Delivery,
    Document,
    Event,
    Message,
    Record,
    Resolution,
)
from operative.reporting import reports
from operative.web import queries

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` items in all, ``limit`` from ``offset``."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorPublic(BaseModel):
    detail: str


class UserPublic(BaseModel):
    username: str
    name: str
    roles: list[str]
    can_change: bool


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime


class ResolutionPublic(BaseModel):
    id: int
    body: str
    number: str
    symbol: str | None
    title: str
    language: str
    adopted_on: dt.date | None
    key_dates: dict[str, str]

    @classmethod
    def of(cls, r: Resolution) -> ResolutionPublic:
        return cls(
            id=r.id or 0,
            body=r.body,
            number=r.number,
            symbol=r.symbol,
            title=r.title,
            language=r.language,
            adopted_on=r.adopted_on,
            key_dates=dict(r.key_dates),
        )


class ObligationPublic(BaseModel):
    id: int
    resolution_id: int
    resolution: str
    paragraph: str
    verb: str | None
    addressee: str | None
    text: str
    playbook: str
    kind: str
    actor_role: str
    status: str
    progress: int
    due_at: dt.datetime | None
    overdue: bool
    next_action: str
    pending_approvals: list[int]
    deliveries_sent: int
    deliveries_failed: int
    last_flow_run_id: str | None
    flow_run_url: str | None

    @classmethod
    def of(cls, line: reports.ObligationLine, prefect_base: str | None) -> ObligationPublic:
        o, p, r = line.obligation, line.paragraph, line.resolution
        return cls(
            id=o.id or 0,
            resolution_id=r.id or 0,
            resolution=f"{r.body} {r.number}",
            paragraph=p.num,
            verb=p.verb_text or p.verb,
            addressee=p.addressee,
            text=p.text,
            playbook=o.playbook,
            kind=o.kind,
            actor_role=o.actor_role,
            status=str(o.status),
            progress=o.progress,
            due_at=o.due_at,
            overdue=line.overdue,
            next_action=line.next_action,
            pending_approvals=[a.id or 0 for a in line.counts.pending_approvals],
            deliveries_sent=line.counts.sent,
            deliveries_failed=line.counts.failed,
            last_flow_run_id=o.last_flow_run_id,
            flow_run_url=queries.flow_run_url(prefect_base, o.last_flow_run_id),
        )


class ApprovalPublic(BaseModel):
    id: int
    obligation_id: int
    step: str
    cycle: int
    attempt: int
    role_asked: str
    drafted_by: str | None
    requested_at: dt.datetime
    decision: str | None
    decided_by: str | None
    reason: str | None
    decided_at: dt.datetime | None
    escalated: bool
    document_id: int | None
    document_title: str | None = None

    @classmethod
    def of(cls, a: Approval, document: Document | None = None) -> ApprovalPublic:
        return cls(
            id=a.id or 0,
            obligation_id=a.obligation_id,
            step=a.step,
            cycle=a.cycle,
            attempt=a.attempt,
            role_asked=a.role_asked,
            drafted_by=a.drafted_by,
            requested_at=a.requested_at,
            decision=a.decision,
            decided_by=a.decided_by,
            reason=a.reason,
            decided_at=a.decided_at,
            escalated=a.escalated_at is not None,
            document_id=a.document_id,
            document_title=document.title if document else None,
        )


class DocumentPublic(BaseModel):
    id: int
    kind: str
    cycle: int
    version: int
    title: str
    body: str
    drafted_by: str
    note: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, d: Document) -> DocumentPublic:
        return cls(
            id=d.id or 0,
            kind=d.kind,
            cycle=d.cycle,
            version=d.version,
            title=d.title,
            body=d.body,
            drafted_by=d.drafted_by,
            note=d.note,
            created_at=d.created_at,
        )


class RecordPublic(BaseModel):
    id: int
    kind: str
    text: str
    reference: str | None
    occurred_at: dt.datetime
    recorded_by: str

    @classmethod
    def of(cls, r: Record) -> RecordPublic:
        return cls(
            id=r.id or 0,
            kind=r.kind,
            text=r.text,
            reference=r.reference,
            occurred_at=r.occurred_at,
            recorded_by=r.recorded_by,
        )


class ActivityPublic(BaseModel):
    id: int
    occurred_on: dt.date
    kind: str
    title: str
    migrants_spoke: bool
    evidence_url: str | None

    @classmethod
    def of(cls, a: Activity) -> ActivityPublic:
        return cls(
            id=a.id or 0,
            occurred_on=a.occurred_on,
            kind=a.kind,
            title=a.title,
            migrants_spoke=a.migrants_spoke,
            evidence_url=a.evidence_url,
        )


class DeliveryPublic(BaseModel):
    id: int
    message: str
    kind: str
    obligation_id: int | None
    recipient: str
    channel: str
    language: str
    status: str
    attempts: int
    target: str | None
    last_error: str | None
    sent_at: dt.datetime | None
    escalated: bool

    @classmethod
    def of(cls, d: Delivery, m: Message) -> DeliveryPublic:
        return cls(
            id=d.id or 0,
            message=m.key,
            kind=m.kind,
            obligation_id=m.obligation_id,
            recipient=d.recipient,
            channel=d.channel,
            language=d.language,
            status=str(d.status),
            attempts=d.attempts,
            target=d.masked_target,
            last_error=d.last_error,
            sent_at=d.sent_at,
            escalated=d.escalated_at is not None,
        )


class EventPublic(BaseModel):
    id: int
    occurred_at: dt.datetime
    actor: str
    kind: str
    subject: str
    payload: dict[str, object]

    @classmethod
    def of(cls, e: Event) -> EventPublic:
        try:
            payload = json.loads(e.payload)
        except ValueError:
            payload = {"raw": e.payload}
        return cls(
            id=e.id or 0,
            occurred_at=e.occurred_at,
            actor=e.actor,
            kind=e.kind,
            subject=e.subject,
            payload=payload if isinstance(payload, dict) else {"value": payload},
        )


class ObligationDetailPublic(BaseModel):
    obligation: ObligationPublic
    approvals: list[ApprovalPublic]
    documents: list[DocumentPublic]
    records: list[RecordPublic]
    activities: list[ActivityPublic]
    failed_deliveries: list[DeliveryPublic]


class PositionPublic(BaseModel):
    state: str
    name: str
    language: str
    invited_at: dt.datetime | None
    reminded_at: dt.datetime | None
    received_at: dt.datetime | None
    verdict: str | None
    reviewer: str | None
    attachment: str | None

    @classmethod
    def of(cls, line: reports.PositionLine) -> PositionPublic:
        row = line.submission
        return cls(
            state=line.state.iso3,
            name=line.state.name_en,
            language=line.state.language,
            invited_at=row.invited_at if row else None,
            reminded_at=row.reminded_at if row else None,
            received_at=row.received_at if row else None,
            verdict=line.verdict or None,
            reviewer=row.reviewer if row else None,
            attachment=row.attachment_name if row else None,
        )


class PositionsSummaryPublic(BaseModel):
    obligation_id: int
    invited: int
    reminded: int
    received: int
    reviewed: int
    verdicts: dict[str, int]
    by_language: dict[str, int]
    received_by_day: list[tuple[dt.date, int]]


class DecisionIn(BaseModel):
    approve: bool
    reason: str = Field(default="", max_length=2000)


class DecisionPublic(BaseModel):
    approval: ApprovalPublic
    resume: str = Field(description="What happened to the flow run waiting for the decision.")


class ReassignIn(BaseModel):
    playbook: str = Field(max_length=80)
    reason: str = Field(default="", max_length=2000)


class ReviewIn(BaseModel):
    verdict: str = Field(max_length=40, description="reflects, partially or does_not_reflect")


class RunPublic(BaseModel):
    obligation_id: int
    playbook: str
    triggered_by: str
    pid: int
    log: str


class RetryPublic(BaseModel):
    delivery: DeliveryPublic
    sent: bool


class ReportPublic(BaseModel):
    as_of: dt.datetime
    markdown: str
