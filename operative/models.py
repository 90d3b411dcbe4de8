"""The SQLModel tables of DESIGN §3, and the small types they share.

Times are stored in UTC and come back as aware UTC datetimes whatever the database
(SQLite has no time zones), through :class:`UTCDateTime`.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and read back as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: type(default)(), sa_type=sa.JSON, nullable=False)


class ParagraphKind(enum.StrEnum):
    preambular = "preambular"
    operative = "operative"


class ObligationStatus(enum.StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    awaiting_approval = "awaiting_approval"
    done = "done"
    cancelled = "cancelled"


# An obligation is finished once done or cancelled, and open in every other status; the
# lifecycle (operative.register.obligations.TRANSITIONS) lets nothing leave a finished one.
FINISHED: tuple[ObligationStatus, ...] = (ObligationStatus.done, ObligationStatus.cancelled)
OPEN: tuple[ObligationStatus, ...] = tuple(s for s in ObligationStatus if s not in FINISHED)


class UserRole(enum.StrEnum):
    """What a user may do; a user holds one or more."""

    viewer = "viewer"
    officer = "officer"
    approver = "approver"
    chair = "chair"
    director_general = "director_general"
    admin = "admin"


USER_ROLES: tuple[UserRole, ...] = tuple(UserRole)
# Who may act for the secretariat: start flows, reassign playbooks, retry deliveries and
# review positions (an admin may do anything an officer may).
OFFICER_ROLES: frozenset[UserRole] = frozenset({UserRole.officer, UserRole.admin})


class Resolution(SQLModel, table=True):
    """An adopted resolution, as ingested."""

    __table_args__ = (sa.UniqueConstraint("body", "number", name="uq_resolution_body_number"),)

    id: int | None = Field(default=None, primary_key=True)
    body: str
    number: str
    session: int | None = None
    session_roman: str | None = None
    meeting: int | None = None
    symbol: str | None = None
    adopted_on: dt.date | None = None
    title: str
    language: str = Field(max_length=2)
    preamble_intro: str | None = None
    operative_intro: str | None = None
    content_hash: str = Field(max_length=64)
    work_uri: str = Field(unique=True)
    expression_uri: str
    source_name: str
    source_text: str = Field(sa_type=sa.Text)
    key_dates: dict[str, str] = _json({})
    ingested_at: dt.datetime = _ts(nullable=False)
    updated_at: dt.datetime = _ts(nullable=False)


class Paragraph(SQLModel, table=True):
    """A preambular or operative paragraph of a resolution."""

    __table_args__ = (sa.UniqueConstraint("resolution_id", "eid", name="uq_paragraph_eid"),)

    id: int | None = Field(default=None, primary_key=True)
    resolution_id: int = Field(foreign_key="resolution.id", index=True)
    kind: ParagraphKind = Field(sa_type=sa.String(12))
    position: int
    num: str
    eid: str
    verb: str | None = None
    verb_text: str | None = None
    addressee: str | None = None
    text: str = Field(sa_type=sa.Text)
    subparagraphs: list[dict[str, Any]] = _json([])
    withdrawn_at: dt.datetime | None = _ts()


class Obligation(SQLModel, table=True):
    """What one operative paragraph requires: who, for whom, by when, and where it stands.

    "Overdue" is derived from ``due_at`` and ``status``, never stored.
    """

    id: int | None = Field(default=None, primary_key=True)
    paragraph_id: int = Field(foreign_key="paragraph.id", unique=True)
    playbook: str = Field(index=True)
    rule: str | None = None
    kind: str = "action"
    actor_role: str
    actor: str | None = None
    beneficiary: str | None = None
    due_at: dt.datetime | None = _ts(index=True)
    status: ObligationStatus = Field(
        default=ObligationStatus.planned, sa_type=sa.String(20), index=True
    )
    progress: int = 0
    reassigned: bool = False
    last_flow_run_id: str | None = None
    # The one flow run working on the obligation now (the run lease): claimed when a run
    # starts, released when it ends, taken over from a run that is no longer active. The
    # process is "host:pid:start" of an in-process run, to tell a killed one from a live one.
    active_run_id: str | None = None
    active_since: dt.datetime | None = _ts()
    active_process: str | None = None
    created_at: dt.datetime = _ts(nullable=False)
    updated_at: dt.datetime = _ts(nullable=False)


class MemberState(SQLModel, table=True):
    """A Member State of the body, with its names and working language."""

    __tablename__ = "member_state"

    iso3: str = Field(primary_key=True, max_length=3)
    name_en: str
    name_fr: str
    name_es: str
    language: str = Field(max_length=2)
    joined_year: int | None = None
    member_in_2012: bool = False
    active: bool = True


class Contact(SQLModel, table=True):
    """Someone operative writes to: a Member State's mission or an internal role.

    ``target_ref`` names an entry (tag) of the Apprise configuration; the channel URL and its
    credentials never enter the database.
    """

    id: int | None = Field(default=None, primary_key=True)
    member_state_iso3: str | None = Field(default=None, foreign_key="member_state.iso3", index=True)
    role: str | None = Field(default=None, index=True)
    name: str
    language: str = Field(default="en", max_length=2)
    timezone: str = "Europe/Zurich"
    target_ref: str
    tags: list[str] = _json([])
    active: bool = True


class OfObligation(SQLModel):
    """The columns of a row that belongs to one obligation: its own id and the obligation's
    (first in each of these tables, as the migrations created them)."""

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", index=True)


class Submission(OfObligation, table=True):
    """A Member State's national position: invited, received, reviewed."""

    __table_args__ = (
        sa.UniqueConstraint("obligation_id", "member_state_iso3", name="uq_submission_state"),
    )

    member_state_iso3: str = Field(foreign_key="member_state.iso3")
    invited_at: dt.datetime | None = _ts()
    received_at: dt.datetime | None = _ts()
    text: str | None = Field(default=None, sa_type=sa.Text)
    attachment_name: str | None = None
    attachment_path: str | None = None
    verdict: str | None = None
    reviewer: str | None = None
    reviewed_at: dt.datetime | None = _ts()
    reminded_at: dt.datetime | None = _ts()
    updated_at: dt.datetime | None = _ts()


class Approval(OfObligation, table=True):
    """A decision asked of a role for one step of an obligation."""

    __table_args__ = (
        sa.UniqueConstraint(
            "obligation_id", "step", "cycle", "attempt", name="uq_approval_step_attempt"
        ),
    )

    step: str
    cycle: int = 0
    attempt: int = 1
    role_asked: str
    drafted_by: str | None = None
    requested_at: dt.datetime = _ts(nullable=False)
    decision: str | None = None
    decided_by: str | None = None
    reason: str | None = None
    decided_at: dt.datetime | None = _ts()
    flow_run_id: str | None = None
    document_id: int | None = Field(default=None, foreign_key="document.id")
    # The nonce of the decision token handed to the flow; cleared once the flow used it,
    # so a token can be spent once only.
    token_nonce: str | None = None
    token_used_at: dt.datetime | None = _ts()
    escalated_at: dt.datetime | None = _ts()


class StepRecord(OfObligation, table=True):
    """Completion of a side-effecting flow step, keyed by (obligation, step, cycle).

    Re-running a flow consults these rows and skips what is already done.
    """

    __tablename__ = "step_record"
    __table_args__ = (sa.UniqueConstraint("obligation_id", "step", "cycle", name="uq_step"),)

    step: str
    cycle: int = 0
    completed_at: dt.datetime = _ts(nullable=False)
    result: dict[str, Any] = _json({})


class Message(SQLModel, table=True):
    """One notice to send, before it is split into deliveries.

    ``key`` is the business key ("obligation:5:invitation:cycle:0"): enqueuing the same key
    again adds no message. ``attachments`` holds snapshots taken at enqueue time
    (name, path under the data dir, size, sha256), so what goes out is what was approved.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str
    obligation_id: int | None = Field(default=None, foreign_key="obligation.id", index=True)
    context: dict[str, Any] = _json({})
    attachments: list[dict[str, Any]] = _json([])
    created_at: dt.datetime = _ts(nullable=False)


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands; ``sending`` is the in-flight mark a crash can leave behind."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class Delivery(SQLModel, table=True):
    """The outbox: one row per (message, recipient, channel), sent at most once per key.

    ``recipient`` is a tag of the Apprise configuration and ``channel`` the kind of entry it
    resolved to (``email``, ``json``, ``inbox``…); the URL itself is never stored, only its
    masked form. Subject and body are rendered at enqueue time, in the recipient's language
    and time zone, so a template error stops the enqueue before anything is sent.
    """

    __table_args__ = (
        sa.UniqueConstraint("message_id", "recipient", "channel", name="uq_delivery_target"),
        sa.Index("ix_delivery_due", "status", "next_attempt_at"),
        # A message's deliveries counted by status, and its failed ones, from the index alone
        # (the dashboard's pages; migration 0007).
        sa.Index("ix_delivery_message_status", "message_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    recipient: str
    channel: str
    idempotency_key: str = Field(unique=True)
    language: str = Field(default="en", max_length=2)
    timezone: str = Field(
        default="Europe/Zurich", sa_column_kwargs={"server_default": "Europe/Zurich"}
    )
    title: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    body: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=AutoString, index=True)
    attempts: int = 0
    failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    reclaims: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = None
    masked_target: str | None = None
    next_attempt_at: dt.datetime | None = _ts()
    claimed_by: str | None = None
    claimed_at: dt.datetime | None = _ts()
    sent_at: dt.datetime | None = _ts()
    escalated_at: dt.datetime | None = _ts()
    created_at: dt.datetime = _ts(nullable=False)
    updated_at: dt.datetime | None = _ts()


class Event(SQLModel, table=True):
    """The audit log: append-only, each row chained to the one before by its hash."""

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: dt.datetime = _ts(nullable=False)
    actor: str
    kind: str = Field(index=True)
    subject: str = Field(index=True)
    payload: str = Field(sa_type=sa.Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """Where the audit log ended at the last append: a deleted, rewritten or added last event
    breaks no link of the chain, but it no longer matches this one row."""

    __tablename__ = "audit_head"

    id: int | None = Field(default=None, primary_key=True)
    sequence: int
    hash: str = Field(max_length=64)


class User(SQLModel, table=True):
    """A person who signs in: viewer, officer, approver, chair or admin."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True)
    name: str
    roles: list[str] = _json([])
    password_hash: str | None = None
    active: bool = True


class DeliveryAttempt(SQLModel, table=True):
    """One try at sending a delivery, as Apprise reported it (masked), or its interruption."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    number: int
    outcome: str = Field(max_length=12)
    http_status: int | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    masked_target: str | None = None
    dispatcher: str | None = None
    started_at: dt.datetime | None = _ts()
    finished_at: dt.datetime = _ts(nullable=False)


class Document(OfObligation, table=True):
    """A draft a flow writes and a person approves: a letter, a statement, a briefing.

    Every version is kept: a rejected draft stays beside the corrected one.
    """

    __table_args__ = (
        sa.UniqueConstraint(
            "obligation_id", "kind", "cycle", "version", name="uq_document_version"
        ),
    )

    kind: str
    cycle: int = 0
    version: int = 1
    title: str
    body: str = Field(sa_type=sa.Text)
    drafted_by: str
    note: str | None = None
    created_at: dt.datetime = _ts(nullable=False)


class Activity(OfObligation, table=True):
    """An engagement activity that gave (or did not give) migrants themselves a voice."""

    occurred_on: dt.date = Field(index=True)
    kind: str
    title: str
    migrants_spoke: bool = False
    evidence_url: str | None = None
    recorded_by: str
    recorded_at: dt.datetime = _ts(nullable=False)


class Record(OfObligation, table=True):
    """A fact an officer records against an obligation: an acknowledgement, a use, evidence."""

    kind: str = Field(index=True)
    text: str = Field(sa_type=sa.Text)
    reference: str | None = None
    occurred_at: dt.datetime = _ts(nullable=False)
    recorded_by: str
    recorded_at: dt.datetime = _ts(nullable=False)


class ReminderSent(SQLModel, table=True):
    """A reminder stage sent for a deadline to one recipient: each (target, stage, recipient)
    at most once, whatever the number of sweeps."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        sa.UniqueConstraint("target", "stage", "recipient", name="uq_reminder_stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(index=True)
    stage: str
    recipient: str
    message_id: int | None = Field(default=None, foreign_key="message.id")
    sent_at: dt.datetime = _ts(nullable=False)
