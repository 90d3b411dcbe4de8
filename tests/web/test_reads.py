"""Page views under load: the overview pages by resolution, reads never wait for SQLite's
write lock, and a write that cannot get the lock in time is a 503 the client can retry."""

from __future__ import annotations

import datetime as dt
import gc
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from operative.core import clock
from operative.core.db import dispose_engines
from operative.core.settings import get_settings
from operative.models import Obligation, ObligationStatus, Resolution
from operative.playbooks import national_positions as positions
from operative.web.app import create_app
from tests.factories import sign_in
from tests.web.conftest import ECHO_COMMAND, Register


def _add_resolutions(register: Register, how_many: int) -> list[int]:
    """Resolutions adopted one day apart after 1244 (no paragraphs): their ids, oldest first."""
    ids = []
    with register.session() as session:
        for n in range(1, how_many + 1):
            resolution = Resolution(
                body="Test Council",
                number=str(9000 + n),
                adopted_on=dt.date(2013, 1, 1) + dt.timedelta(days=n),
                title=f"Test resolution {n}",
                language="en",
                content_hash=f"{n:064x}",
                work_uri=f"/akn/test/{n}",
                expression_uri=f"/akn/test/{n}/eng@",
                source_name=f"test-{n}.txt",
                source_text="",
                ingested_at=clock.now(),
                updated_at=clock.now(),
            )
            session.add(resolution)
            session.flush()
            ids.append(resolution.id or 0)
        session.commit()
    return ids


def _shown_resolutions(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'id="resolution-(\d+)"', html)]


@contextmanager
def _write_lock_held(database: Path) -> Iterator[sqlite3.Connection]:
    """Another process's writer, as SQLite sees it: a connection holding BEGIN IMMEDIATE."""
    other = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def impatient_client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with a busy timeout of 300 ms, so a test waiting on the lock fails fast."""
    monkeypatch.setenv("OPERATIVE_SQLITE_BUSY_TIMEOUT_MS", "300")
    get_settings.cache_clear()
    dispose_engines()
    with TestClient(create_app(run_command=ECHO_COMMAND), follow_redirects=False) as test_client:
        yield test_client


def test_overview_shows_ten_resolutions_a_page_newest_first_with_the_total(
    client: TestClient, register: Register
) -> None:
    """A register of hundreds of resolutions must not become one page of thousands of rows."""
    added = _add_resolutions(register, 12)
    sign_in(client, "viewer")
    first = client.get("/")
    assert first.status_code == 200
    newest_first = list(reversed(added))
    assert _shown_resolutions(first.text) == newest_first[:10]
    assert 'data-testid="overview-total">13<' in first.text
    assert 'href="/?offset=10&amp;limit=10" rel="next"' in first.text
    second = client.get("/?offset=10&limit=10")
    # 1244 (adopted 2012) is the oldest, so it closes the last page with its obligations.
    assert _shown_resolutions(second.text) == [*newest_first[10:], 1]
    assert second.text.count('data-testid="obligation-row"') == 5
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text


def test_overview_refuses_a_page_size_that_would_render_the_whole_register(
    client: TestClient,
) -> None:
    """The page size is bounded, so no request can ask for every obligation at once."""
    sign_in(client, "viewer")
    assert client.get("/?limit=51").status_code == 422
    assert client.get("/?limit=50").status_code == 200


def test_overview_counts_a_campaigns_positions_as_summarise_does(
    client: TestClient, register: Register
) -> None:
    """The overview counts the positions of all its campaigns in one grouped query: its next
    action must say what positions.summarise says of the campaign alone."""
    with register.session() as session:
        campaign = session.get(Obligation, 4)
        assert campaign is not None and campaign.playbook == "national_positions"
        campaign.status = ObligationStatus.in_progress
        session.add(campaign)
        session.commit()
        summary = positions.summarise(session, 4)
        session.commit()
    assert summary.received > 0
    sign_in(client, "viewer")
    overview = client.get("/").text
    row = re.search(r'id="obligation-4".*?data-testid="next-action">([^<]*)<', overview, re.S)
    assert row is not None
    if summary.unreviewed:
        assert row[1] == f"Review {summary.unreviewed} received national positions"
    else:
        assert row[1] == (
            f"Collect national positions ({summary.received} of {summary.invited} received)"
        )
    page = client.get("/obligations/4").text
    assert f'id="obligation-next-action">{row[1]}<' in page


@pytest.mark.parametrize("path", ["/", "/obligations/4", "/positions", "/api/obligations"])
def test_a_page_renders_while_another_connection_holds_the_write_lock(
    impatient_client: TestClient, data_dir: Path, path: str
) -> None:
    """Page views begin deferred: a writer elsewhere (a flow, the CLI) never makes them wait."""
    sign_in(impatient_client, "viewer")
    # Earlier tests leave apps and engines behind; collecting them (0.2-0.6 s on a loaded
    # machine) during the request timed below would be no wait on the lock.
    gc.collect()
    with _write_lock_held(data_dir / "operative.db"):
        started = time.monotonic()
        response = impatient_client.get(path)
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text[:300]
    assert elapsed < 0.3 * 3  # well under the busy timeout the other writer would cost


def test_a_write_that_cannot_get_the_lock_answers_503_with_retry_after(
    impatient_client: TestClient, data_dir: Path, register: Register
) -> None:
    """A form posted while another writer holds the lock past the busy timeout is a clear 503
    the client may retry, not a 500 and a dropped connection; nothing changes."""
    csrf = sign_in(impatient_client, "officer")
    with _write_lock_held(data_dir / "operative.db"):
        page = impatient_client.post(
            "/obligations/2/reassign",
            data={"playbook": "track_obligation", "reason": "busy", "csrf_token": csrf},
        )
        api = impatient_client.post(
            "/api/obligations/2/reassign",
            json={"playbook": "track_obligation", "reason": "busy"},
            headers={"X-CSRF-Token": csrf},
        )
    assert page.status_code == 503 and page.headers["Retry-After"] == "2"
    assert "The database is busy" in page.text
    assert api.status_code == 503 and api.headers["Retry-After"] == "2"
    assert api.json() == {
        "detail": "The database is busy with other changes: try again in a moment."
    }
    assert register.get(Obligation, 2).playbook != "track_obligation"
    again = impatient_client.post(
        "/obligations/2/reassign",
        data={"playbook": "track_obligation", "reason": "retried", "csrf_token": csrf},
    )
    assert again.status_code == 303
    assert register.get(Obligation, 2).playbook == "track_obligation"
