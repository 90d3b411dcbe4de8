"""The command line as a user meets it: start-up, bad input, init and listings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from operative.core.settings import REPO_ROOT
from tests.conftest import SEED, run_cli

SEED_TEXT = SEED.read_text(encoding="utf-8")


def test_help_does_not_import_prefect_fastapi_or_uvicorn() -> None:
    """`import prefect` costs ~2 s, FastAPI and uvicorn more: a plain command must not pay it."""
    probe = (
        "import sys\n"
        "from operative.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'prefect', 'fastapi', 'uvicorn'}\n"
        "print(f'LOADED {sorted(heavy)}' if heavy else 'CLEAN')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert "ingest" in result.stdout
    assert result.stdout.strip().endswith("CLEAN")


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[bytes, str]] = {
        "empty.txt": (b"", "empty"),
        "blank.txt": (b"\n\n   \n", "empty"),
        "binary.txt": (bytes(range(256)) * 4, "binary"),
        "latin1.txt": (
            SEED_TEXT.replace("IOM’s", "l’OIM é").encode("latin-1", errors="replace"),
            "UTF-8",
        ),
        "no-operative.txt": (
            SEED_TEXT[: SEED_TEXT.index("Resolves to:")].encode(),
            "no operative paragraphs",
        ),
        "duplicate.txt": (
            SEED_TEXT.replace("4. *Encourage*", "3. *Encourage*").encode(),
            "duplicate paragraph number 3",
        ),
        "skipped.txt": (
            SEED_TEXT.replace("3. *Affirm*", "4. *Affirm*")
            .replace("4. *Encourage*", "5. *Encourage*")
            .replace("5. *Request* the Chair", "6. *Request* the Chair")
            .encode(),
            "paragraph 3 is missing",
        ),
        "broken.xml": (
            b'<?xml version="1.0"?>\n<akomaNtoso>\n<statement>\n</akomaNtoso>\n',
            "broken.xml:",
        ),
    }
    out = {}
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        out[name] = (path, expected)
    return out


@pytest.mark.parametrize(
    "case",
    [
        "empty.txt",
        "blank.txt",
        "binary.txt",
        "latin1.txt",
        "no-operative.txt",
        "duplicate.txt",
        "skipped.txt",
        "broken.xml",
    ],
)
def test_bad_resolution_file_is_one_line_exit_2_and_nothing_written(
    case: str, tmp_path: Path, isolated_env: Path
) -> None:
    """A secretariat officer must see what is wrong and where, and the register must stay clean."""
    path, expected = _bad_inputs(tmp_path)[case]
    result = run_cli("ingest", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(path) in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (isolated_env / "operative.db").exists()


def test_bad_input_names_the_line_of_the_problem(tmp_path: Path) -> None:
    """ "Line 42" lets a person fix the file without hunting for the mistake."""
    path = tmp_path / "duplicate.txt"
    path.write_text(SEED_TEXT.replace("4. *Encourage*", "3. *Encourage*"), encoding="utf-8")
    line = (
        SEED_TEXT.splitlines().index(
            next(row for row in SEED_TEXT.splitlines() if row.startswith("4. *Encourage*"))
        )
        + 1
    )
    result = run_cli("ingest", str(path))
    assert f"{path}:{line}:" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ingest", "does-not-exist.txt"], "does-not-exist.txt: cannot read"),
        (["ingest", "."], "is a directory"),
        (["ingest", str(SEED), "--date", "hld"], "expected NAME=YYYY-MM-DD"),
        (["ingest", str(SEED), "--date", "hld=3 October"], "not a date"),
        (["obligations", "--resolution", "99"], "no resolution with id 99"),
        (["member-states", "--language", "de"], "expected en, fr or es"),
        (["reassign", "99", "track_obligation"], "no obligation 99"),
        (["akn", "99"], "no resolution with id 99"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], expected: str) -> None:
    """Every bad argument gets a reason, not a traceback."""
    result = run_cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_reassigning_to_an_unknown_playbook_is_refused(isolated_env: Path) -> None:
    """A typo in a playbook name must not leave an obligation no flow can drive."""
    document = json.loads(run_cli("ingest", str(SEED), "--json").stdout)
    first = document["obligations"][0]["id"]
    result = run_cli("reassign", str(first), "inform_everyone")
    assert result.returncode == 2
    assert "unknown playbook 'inform_everyone'" in result.stderr
    listed = json.loads(run_cli("obligations", "--json").stdout)
    assert listed[0]["playbook"] == "inform_member_states"


def test_bad_setting_is_reported_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped time zone must be named, not crash deep inside a command."""
    monkeypatch.setenv("OPERATIVE_TIMEZONE", "Europe/Geneva")
    result = run_cli("resolutions")
    assert result.returncode == 2
    assert "timezone" in result.stderr and "Europe/Geneva" in result.stderr
    assert result.stderr.count("\n") == 1


def test_production_refuses_the_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed links and decision tokens are worthless with a secret everyone knows."""
    monkeypatch.setenv("OPERATIVE_ENVIRONMENT", "production")
    result = run_cli("resolutions")
    assert result.returncode == 2
    assert "OPERATIVE_SECRET_KEY" in result.stderr


def test_init_loads_175_member_states_and_is_idempotent(db_url: str) -> None:
    """`operative init` twice must not duplicate or rewrite Member States."""
    first = json.loads(run_cli("init", "--json").stdout)
    assert first["member_states"] == {"added": 175, "updated": 0, "total": 175}
    second = json.loads(run_cli("init", "--json").stdout)
    assert second["member_states"] == {"added": 0, "updated": 0, "total": 175}
    states = {s["iso3"]: s for s in json.loads(run_cli("member-states", "--json").stdout)}
    assert states["KOR"]["name_fr"] == "République de Corée"
    assert "PRK" not in states
    french = json.loads(run_cli("member-states", "--json", "--language", "fr").stdout)
    assert french and all(s["language"] == "fr" for s in french)


def test_listings_work_from_any_directory(tmp_path: Path, isolated_env: Path) -> None:
    """The data dir comes from OPERATIVE_DATA_DIR, not from where the command runs."""
    assert run_cli("ingest", str(SEED)).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = run_cli("resolutions", "--json", cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert [r["number"] for r in json.loads(listed.stdout)] == ["1244"]
    table = run_cli("obligations", cwd=elsewhere)
    assert "forward_to_pga" in table.stdout


def test_audit_verify_reports_an_intact_chain_after_ingest(isolated_env: Path) -> None:
    """Every change is recorded in a chain a later check can trust."""
    assert run_cli("init").returncode == 0
    assert run_cli("ingest", str(SEED)).returncode == 0
    result = run_cli("audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "Audit log intact: 2 events." in result.stdout


def test_a_utf16_resolution_is_kept_as_text_and_exports(tmp_path: Path, isolated_env: Path) -> None:
    """Word saves "Unicode text" as UTF-16: it must be stored as the text, not as mojibake."""
    utf16 = tmp_path / "resolution-1244-utf16.txt"
    utf16.write_bytes(SEED_TEXT.encode("utf-16"))
    ingested = run_cli("ingest", str(utf16), "--json")
    assert ingested.returncode == 0, ingested.stderr
    exported = run_cli("akn", "1")
    assert exported.returncode == 0, exported.stderr
    assert "Further request" in exported.stdout
