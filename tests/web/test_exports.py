"""Exports and the progress report: files that open in the tools people use, and pages that
show the register's data."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from operative.reporting import exports, read_model
from tests.conftest import run_cli
from tests.factories import sign_in


def test_obligations_csv_parses_with_one_row_per_paragraph(client: TestClient) -> None:
    """The CSV opens in a spreadsheet with the columns the secretariat reports on."""
    sign_in(client, "viewer")
    response = client.get("/exports/obligations.csv")
    assert response.headers["content-disposition"] == 'attachment; filename="obligations.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert [r["paragraph"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert tuple(rows[0]) == read_model.OBLIGATION_COLUMNS
    assert rows[4]["playbook"] == "forward_to_pga" and rows[4]["approvals_pending"] == "2"


def test_positions_xlsx_loads_with_one_row_per_member_state(client: TestClient) -> None:
    """The workbook has a header and the 175 Member States."""
    sign_in(client, "viewer")
    response = client.get("/exports/positions.xlsx")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == read_model.POSITION_COLUMNS
    assert len(rows) == 176
    switzerland = next(r for r in rows if r[0] == "CHE")
    assert switzerland[6] == "to review"


def test_positions_csv_and_obligations_xlsx_parse_too(client: TestClient) -> None:
    """Both formats exist for both registers."""
    sign_in(client, "viewer")
    positions = list(csv.DictReader(io.StringIO(client.get("/exports/positions.csv").text)))
    assert len(positions) == 175
    book = load_workbook(io.BytesIO(client.get("/exports/obligations.xlsx").content))
    assert book.active.max_row == 6


def test_spreadsheet_cells_never_start_a_formula() -> None:
    """A text that starts with '=' must reach a spreadsheet as text, not run as a formula."""
    data = exports.to_csv(("a", "b"), [{"a": "=1+2", "b": 3}])
    assert data.decode().splitlines()[1] == "'=1+2,3"


def test_progress_report_as_markdown_and_printable_html(client: TestClient) -> None:
    """The Council's report exists in both forms, from the same reading of the register."""
    sign_in(client, "viewer")
    markdown = client.get("/reports/progress.md").text
    assert markdown.startswith("# Progress report to the Council")
    assert "| 5 | Transmit the resolution to the President of the General Assembly |" in markdown
    assert "2 positions received, 1 reviewed" in markdown
    html = client.get("/reports/progress?resolution=1")
    assert html.status_code == 200
    assert "<h1>Progress report to the Council</h1>" in html.text and "@media print" in html.text
    assert client.get("/reports/progress?resolution=9").status_code == 404


def test_report_command_prints_markdown_or_writes_html(data_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`operative report` gives the same report without a browser."""
    printed = run_cli("report", "--resolution", "1")
    assert printed.returncode == 0, printed.stderr
    assert "## IOM Council Resolution No. 1244" in printed.stdout
    target = tmp_path / "report.html"
    written = run_cli("report", "--format", "html", "-o", str(target))
    assert written.returncode == 0 and "<table>" in target.read_text()
    bad = run_cli("report", "--format", "pdf")
    assert bad.returncode == 2 and "markdown or html" in bad.stderr


def test_every_page_shows_the_registers_data(client: TestClient) -> None:
    """A new user sees the data on each page, not an empty shell."""
    sign_in(client, "officer")
    overview = client.get("/").text
    assert overview.count('data-testid="obligation-row"') == 5 and "Further request" in overview
    assert 'data-testid="overdue"' in overview
    obligation = client.get("/obligations/5").text
    assert 'id="approve-1"' in obligation and "approval.requested" in obligation
    positions = client.get("/positions").text
    assert (
        positions.count('data-testid="position-row"') == 175 and 'id="positions-chart"' in positions
    )
    assert client.get("/approvals").text.count('data-testid="approval"') == 4
    assert 'id="delivery-1"' in client.get("/deliveries").text
    assert "forward_to_pga" in client.get("/calendar").text
    assert "BEGIN:VEVENT" in client.get("/calendar.ics").text


def test_pages_load_nothing_from_another_site(client: TestClient) -> None:
    """The pages must work with no internet: no CDN, and a policy that forbids one."""
    sign_in(client, "officer")
    for url in ("/", "/obligations/4", "/positions", "/approvals", "/signin"):
        response = client.get(url)
        assert not re.search(r'(src|href)="(https?:)?//', response.text), url
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_web_command_builds_a_server_for_the_app(data_dir) -> None:  # type: ignore[no-untyped-def]
    """`operative serve` can run the app beside its runner through this builder."""
    from operative.web.app import server

    built = server("127.0.0.1", 8765, log_level="warning")
    assert (built.config.host, built.config.port) == ("127.0.0.1", 8765)
    assert built.config.app.openapi_url == "/api/openapi.json"
