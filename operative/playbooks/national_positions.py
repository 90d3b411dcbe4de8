"""National positions (1244 OP4): invitations with a link of each state's own, submissions,
reviews, and the summary.

A portal link carries a signed, expiring token naming the obligation and the Member State, so
a link opens its own state's page only; the state's mission needs no account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pendulum
import sqlalchemy as sa
from sqlmodel import Session, col, select

from operative.core import audit, clock, tokens
from operative.core.settings import get_settings
from operative.errors import Invalid, NotFound, TooLarge, UnsupportedMedia
from operative.i18n import local_time
from operative.models import FINISHED, MemberState, Obligation, Submission
from operative.playbooks import Playbook

PORTAL_PURPOSE = "portal"
VERDICTS = ("reflects", "partially", "does_not_reflect")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {".pdf", ".txt", ".md", ".docx", ".odt", ".rtf"}


class SubmissionError(Invalid):
    """A submission or review that cannot be recorded."""

    # The form was read but its content refused: the web has always answered 422 here.
    http_status = 422


class UnsupportedFileType(UnsupportedMedia, SubmissionError):
    """A file of a type not in :data:`ATTACHMENT_TYPES`."""


class FileTooLarge(TooLarge, SubmissionError):
    """A file over :data:`MAX_ATTACHMENT_BYTES`."""


# Built once, and run on the session's connection: the positions page asks on every view.
_CAMPAIGN_IDS = (
    sa.select(col(Obligation.id))
    .where(col(Obligation.playbook) == Playbook.national_positions)
    .order_by(col(Obligation.id))
)


def campaign_ids(session: Session) -> list[int]:
    """The obligations that collect national positions (the campaigns), oldest first."""
    found = session.connection().execute(_CAMPAIGN_IDS).scalars()
    return [oid for oid in found if oid is not None]  # a stored row's id is never None


def chosen_campaign(found: Sequence[int], obligation_id: int | None) -> int | None:
    """The campaign to work on among ``found``: ``obligation_id`` (``NotFound`` unless it is
    one), else the oldest; None when there is none.

    The CLI and the web both choose here, so a command given no ``--obligation`` works on the
    campaign the positions page shows first (its list names the others).
    """
    if obligation_id is not None and obligation_id not in found:
        raise NotFound(f"obligation {obligation_id} does not collect national positions")
    return obligation_id if obligation_id is not None else (found[0] if found else None)


def campaign(session: Session, obligation_id: int | None = None) -> int:
    """:func:`chosen_campaign` among the register's campaigns; ``NotFound`` when none."""
    chosen = chosen_campaign(campaign_ids(session), obligation_id)
    if chosen is None:
        raise NotFound("no obligation collects national positions")
    return chosen


def portal_token(obligation_id: int, iso3: str, *, expires_at: dt.datetime) -> str:
    """The token of one state's submission link."""
    return tokens.sign(PORTAL_PURPOSE, {"o": obligation_id, "s": iso3}, expires_at=expires_at)


def portal_link(obligation_id: int, iso3: str, *, expires_at: dt.datetime) -> str:
    """The URL a mission opens to submit its national position."""
    base = get_settings().public_url.rstrip("/")
    return f"{base}/portal/{portal_token(obligation_id, iso3, expires_at=expires_at)}"


def read_portal_token(token: str, *, at: dt.datetime | None = None) -> tuple[int, str]:
    """(obligation, state) of a valid link token; :class:`tokens.TokenError` otherwise."""
    claims = tokens.verify(token, PORTAL_PURPOSE, at=at)
    obligation, state = claims.get("o"), claims.get("s")
    if not isinstance(obligation, int) or not isinstance(state, str):
        raise tokens.TokenError("malformed token")
    return obligation, state


def _member(session: Session, iso3: str) -> MemberState:
    code = iso3.strip().upper()
    state = session.get(MemberState, code)
    if state is None or not state.active:
        raise SubmissionError(f"{code or iso3!r} is not an active Member State")
    return state


def invite(session: Session, obligation_id: int, iso3_codes: list[str]) -> int:
    """Record that these states were invited (once); returns how many were newly invited."""
    now = clock.now()
    existing = {
        row.member_state_iso3: row
        for row in session.exec(select(Submission).where(Submission.obligation_id == obligation_id))
    }
    added = 0
    for code in iso3_codes:
        row = existing.get(code)
        if row is None:
            session.add(
                Submission(
                    obligation_id=obligation_id,
                    member_state_iso3=code,
                    invited_at=now,
                    updated_at=now,
                )
            )
            added += 1
        elif row.invited_at is None:
            row.invited_at = now
            session.add(row)
            added += 1
    session.flush()
    return added


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "position"
    return stem[:100]


def _open_campaign(session: Session, obligation_id: int) -> Obligation:
    """The national positions obligation, if it still takes submissions."""
    obligation = session.get(Obligation, obligation_id)
    if obligation is None or obligation.playbook != Playbook.national_positions:
        raise SubmissionError(f"obligation {obligation_id} does not collect national positions")
    if obligation.status in FINISHED:
        raise SubmissionError(
            f"the national positions campaign (obligation {obligation_id}) is {obligation.status}: "
            "no submission can be recorded"
        )
    return obligation


def _store_attachment(obligation_id: int, iso3: str, name: str, data: bytes) -> tuple[str, str]:
    """Check a submitted file and keep it under the data folder: (its safe name, its path).

    The stored name starts with the content's digest, so the same file sent twice is one file.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ATTACHMENT_TYPES:
        raise UnsupportedFileType(
            f"{name}: files of type {suffix or '(none)'} are not accepted "
            f"(accepted: {', '.join(sorted(ATTACHMENT_TYPES))})"
        )
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise FileTooLarge(
            f"{name}: {len(data):,} bytes is over the limit of {MAX_ATTACHMENT_BYTES:,}"
        )
    if not data:
        raise SubmissionError(f"{name}: the file is empty")
    digest = hashlib.sha256(data).hexdigest()[:12]
    folder = get_settings().data_dir / "submissions" / str(obligation_id) / iso3
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = _safe_name(name)
    target = folder / f"{digest}-{stored_name}"
    if not target.exists():
        temporary = target.with_suffix(target.suffix + ".part")
        temporary.write_bytes(data)
        temporary.replace(target)
    return stored_name, str(target)


def submit(
    session: Session,
    obligation_id: int,
    iso3: str,
    *,
    text: str | None = None,
    attachment: tuple[str, bytes] | None = None,
    actor: str,
) -> Submission:
    """Record (or update) a state's national position: text, a file, or both."""
    _open_campaign(session, obligation_id)
    state = _member(session, iso3)
    text = (text or "").strip() or None
    if text is None and attachment is None:
        raise SubmissionError("a national position needs a text or a file")
    stored_name = stored_path = None
    if attachment is not None:
        stored_name, stored_path = _store_attachment(obligation_id, state.iso3, *attachment)
    now = clock.now()
    row = session.exec(
        select(Submission)
        .where(
            Submission.obligation_id == obligation_id, Submission.member_state_iso3 == state.iso3
        )
        .with_for_update()
    ).first()
    updated = row is not None and row.received_at is not None
    if row is None:
        row = Submission(obligation_id=obligation_id, member_state_iso3=state.iso3)
    row.received_at = now
    row.text = text
    row.attachment_name = stored_name
    row.attachment_path = stored_path
    # A changed position needs a fresh review.
    row.verdict = row.reviewer = None
    row.reviewed_at = None
    row.updated_at = now
    return audit.write(
        session,
        row,
        actor=actor,
        kind="submission.updated" if updated else "submission.received",
        event=lambda submission: (
            f"submission:{submission.id}",
            {"obligation": obligation_id, "state": state.iso3, "file": stored_name},
        ),
    )


def review(
    session: Session, obligation_id: int, iso3: str, *, verdict: str, reviewer: str
) -> Submission:
    """An officer's verdict on whether a received position reflects the resolution."""
    if verdict not in VERDICTS:
        raise SubmissionError(f"verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
    state = _member(session, iso3)
    row = session.exec(
        select(Submission).where(
            Submission.obligation_id == obligation_id, Submission.member_state_iso3 == state.iso3
        )
    ).first()
    if row is None or row.received_at is None:
        raise SubmissionError(
            f"no national position received from {state.iso3} for obligation {obligation_id}"
        )
    row.verdict = verdict
    row.reviewer = reviewer
    row.reviewed_at = clock.now()
    row.updated_at = row.reviewed_at
    session.add(row)
    audit.append(
        session,
        actor=reviewer,
        kind="submission.reviewed",
        subject=f"submission:{row.id}",
        payload={"state": state.iso3, "verdict": verdict},
    )
    return row


@dataclass(frozen=True)
class Summary:
    invited: int
    reminded: int
    received: int
    reviewed: int
    verdicts: dict[str, int]

    @property
    def unreviewed(self) -> int:
        return self.received - self.reviewed

    @classmethod
    def empty(cls) -> Summary:
        """The counts of a campaign that has invited nobody yet (every verdict at zero)."""
        return cls(0, 0, 0, 0, dict.fromkeys(VERDICTS, 0))


# Complexity: radon scores each counting comprehension's condition; read as code it is five
# counts over one list, and splitting them would only hide that.
def summarise(session: Session, obligation_id: int) -> Summary:
    """Counts of the campaign: invited, reminded, received, reviewed, verdicts."""
    rows = session.exec(select(Submission).where(Submission.obligation_id == obligation_id)).all()
    verdicts = Counter(row.verdict for row in rows if row.verdict)
    return Summary(
        invited=sum(1 for row in rows if row.invited_at),
        reminded=sum(1 for row in rows if row.reminded_at),
        received=sum(1 for row in rows if row.received_at),
        reviewed=sum(1 for row in rows if row.reviewed_at),
        verdicts={verdict: verdicts.get(verdict, 0) for verdict in VERDICTS},
    )


def mark_reminded(session: Session, submission_ids: list[int], *, at: dt.datetime) -> None:
    """Stamp the first reminder on each submission; a later stage keeps that date (when to
    remind is :mod:`operative.reminders`' rule)."""
    if submission_ids:
        session.execute(
            sa.update(Submission)
            .where(col(Submission.id).in_(submission_ids), col(Submission.reminded_at).is_(None))
            .values(reminded_at=at)
        )


def active_states(session: Session) -> list[str]:
    """The ISO alpha-3 codes of every active Member State, sorted."""
    return list(
        session.exec(
            select(MemberState.iso3).where(col(MemberState.active)).order_by(col(MemberState.iso3))
        )
    )


def link_expiry(deadline: dt.datetime) -> dt.datetime:
    """When the portal links of a campaign stop working: a while after its deadline."""
    return deadline + dt.timedelta(days=get_settings().portal_link_days)


def portal_links(
    obligation_id: int, iso3_codes: list[str], *, expires_at: dt.datetime
) -> dict[str, str]:
    """Each listed state's own submission link."""
    return {code: portal_link(obligation_id, code, expires_at=expires_at) for code in iso3_codes}


def invite_all(session: Session, obligation_id: int) -> list[str]:
    """Invite every active Member State (each once); returns the codes of all invited."""
    codes = active_states(session)
    invite(session, obligation_id, codes)
    return codes


def days_left(deadline: dt.datetime, *, at: dt.datetime | None = None) -> int:
    """Calendar days from ``at`` to the deadline, counted in the secretariat's time zone."""
    zone = get_settings().timezone
    today = pendulum.instance(at or clock.now()).in_timezone(zone).date()
    return (pendulum.instance(deadline).in_timezone(zone).date() - today).days


def progress(summary: Summary, *, closed: bool) -> int:
    """How far a campaign is: 20 once invited, up to 80 as positions arrive, then reviews.

    Before the deadline the answers received move the bar; after it, the share of received
    positions that were reviewed does (a campaign with nothing to review is complete).
    """
    if summary.invited == 0:
        return 0
    if not closed:
        return 20 + (60 * summary.received) // summary.invited
    if summary.received == 0:
        return 100
    return 80 + (20 * summary.reviewed) // summary.received


def _day(value: dt.datetime | None) -> str:
    # The local day, as the pages and reports show it: a position received at 00:30 in
    # Geneva was received that day, not the day before (UTC).
    return local_time(value, "YYYY-MM-DD")


def matrix(session: Session, obligation_id: int) -> list[dict[str, str]]:
    """One row per invited state: when it was asked, reminded, answered, and the verdict."""
    rows = session.exec(
        select(Submission, MemberState)
        .join(MemberState, col(Submission.member_state_iso3) == MemberState.iso3)
        .where(Submission.obligation_id == obligation_id)
        .order_by(col(Submission.member_state_iso3))
    ).all()
    return [
        {
            "state": state.iso3,
            "name": state.name_en,
            "language": state.language,
            "invited": _day(row.invited_at),
            "reminded": _day(row.reminded_at),
            "received": _day(row.received_at),
            "verdict": row.verdict or ("to review" if row.received_at else ""),
        }
        for row, state in rows
    ]


VERDICT_LABELS = {
    "reflects": "reflects the resolution",
    "partially": "partially reflects it",
    "does_not_reflect": "does not reflect it",
}


def summary_markdown(summary: Summary, *, deadline: dt.datetime, closed: bool) -> str:
    """The campaign in a few lines of Markdown, for the run's page and reports."""
    state = "closed" if closed else "open"
    share = f"{100 * summary.received / summary.invited:.0f}%" if summary.invited else "0%"
    lines = [
        "# National positions",
        "",
        f"Deadline {local_time(deadline, 'D MMMM YYYY, HH:mm')} ({get_settings().timezone}): "
        f"{state}.",
        "",
        "| | states |",
        "|---|---:|",
        f"| invited | {summary.invited} |",
        f"| reminded | {summary.reminded} |",
        f"| positions received | {summary.received} ({share}) |",
        f"| reviewed | {summary.reviewed} |",
        f"| awaiting review | {summary.unreviewed} |",
        "",
        "## Verdicts",
        "",
        "| verdict | positions |",
        "|---|---:|",
        *(f"| {VERDICT_LABELS[v]} | {summary.verdicts.get(v, 0)} |" for v in VERDICTS),
    ]
    return "\n".join(lines) + "\n"
