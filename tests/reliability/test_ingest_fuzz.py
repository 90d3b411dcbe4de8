"""``operative ingest`` on damaged files: exit 0, or exit 2 with one line and nothing written.

The command runs in-process through Typer's CliRunner against the test's database (SQLite
and PostgreSQL), one file after another into the same register, so later files meet the
resolutions earlier ones registered (a changed text is refused without ``--replace``,
replaced with it).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from operative.cli import app
from operative.resolution import ResolutionParseError, parse_bytes
from tests.factories import row_counts
from tests.reliability.mutations import mutated_bytes, mutated_texts, mutated_xml

EXAMPLES_PER_DATABASE = 150

_FILES = st.one_of(
    st.tuples(mutated_texts().map(str.encode), st.sampled_from([".txt", ".md"])),
    st.tuples(mutated_bytes(), st.sampled_from([".txt", ".xml"])),
    st.tuples(mutated_xml(), st.just(".xml")),
)


def test_ingest_of_damaged_files_exits_0_or_2_with_one_line_and_writes_nothing_on_2(
    db_url: str, tmp_path: Path
) -> None:
    """Catches a traceback or exit 1 from ``operative ingest`` on a bad upload, a refusal that
    is not the parser's own message, and a refusal that leaves rows behind (a paragraph
    without its obligations, an audit event for nothing)."""
    runner = CliRunner()
    counter = itertools.count()
    outcomes = {0: 0, 2: 0}

    @settings(
        max_examples=EXAMPLES_PER_DATABASE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_FILES, st.booleans())
    def one_upload(upload: tuple[bytes, str], replace: bool) -> None:
        data, suffix = upload
        path = tmp_path / f"upload-{next(counter)}{suffix}"
        path.write_bytes(data)
        before = row_counts(db_url)
        result = runner.invoke(app, ["ingest", str(path), *(["--replace"] if replace else [])])
        assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        outcomes[result.exit_code] += 1
        if result.exit_code == 0:
            return
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("operative: "), result.stderr
        assert "Traceback" not in result.output
        try:
            parse_bytes(data, source=str(path))
        except ResolutionParseError as error:
            assert lines[0] == f"operative: {error}"
        assert row_counts(db_url) == before

    one_upload()
    # Both branches were exercised, or the test proves little.
    assert outcomes[0] >= 10 and outcomes[2] >= 10, outcomes
    verify = runner.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 0, verify.stderr
