"""The shipped Member States table and the code that builds and reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from operative.errors import Invalid
from operative.register import member_states
from operative.register.member_states import (
    COLUMNS,
    DEFAULT_SOURCE_DIR,
    ES_OVERRIDES,
    FR_OVERRIDES,
    FRENCH_CORRESPONDENCE,
    MEMBERS_2012_FILE,
    RECENT_RENAMES,
    SHIPPED_CSV,
    SOURCE_FILE,
    SPANISH_CORRESPONDENCE,
    MemberStateRow,
    build_rows,
    cldr_names,
    read_csv,
    write_csv,
)

HEADER = ",".join(COLUMNS)


@pytest.fixture(scope="module")
def shipped() -> dict[str, MemberStateRow]:
    return {row.iso3: row for row in read_csv(SHIPPED_CSV)}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_csv_lists_175_unique_states_sorted_by_code() -> None:
    """Campaigns go to every Member State exactly once; the file order keeps diffs reviewable."""
    codes = [row.iso3 for row in read_csv(SHIPPED_CSV)]
    assert len(codes) == 175
    assert len(set(codes)) == 175
    assert codes == sorted(codes)


def test_republic_of_korea_is_kor_and_prk_is_absent(shipped: dict[str, MemberStateRow]) -> None:
    """A name-based lookup confuses the two Koreas; only the Republic of Korea is a member."""
    kor = shipped["KOR"]
    assert (kor.name_en, kor.name_fr, kor.name_es) == (
        "Republic of Korea",
        "République de Corée",
        "República de Corea",
    )
    assert "PRK" not in shipped


def test_every_name_is_a_real_name(shipped: dict[str, MemberStateRow]) -> None:
    """A code, a placeholder or a typographic apostrophe would show up in letters to missions."""
    placeholders = {"", "?", "-", "TODO", "TBD", "XXX", "N/A", "None", "null"}
    for row in shipped.values():
        for name in (row.name_en, row.name_fr, row.name_es):
            assert name == name.strip(), row.iso3
            assert name not in placeholders, row.iso3
            assert name.upper() != row.iso3, row.iso3
            # The shortest real names (Chad, Cuba, Mali, Togo) have four letters.
            assert len(name) > 3, row.iso3
            # The source list uses the straight apostrophe; CLDR's curly one must not creep in.
            assert "\u2019" not in name, row.iso3


def test_override_tables_are_applied(shipped: dict[str, MemberStateRow]) -> None:
    """UN documents use the formal short names, not CLDR's common ones."""
    expected = {
        "BOL": ("Bolivie (État plurinational de)", "Bolivia (Estado Plurinacional de)"),
        "VEN": (
            "Venezuela (République bolivarienne du)",
            "Venezuela (República Bolivariana de)",
        ),
        "NLD": ("Pays-Bas (Royaume des)", "Países Bajos (Reino de los)"),
        "GBR": (
            "Royaume-Uni de Grande-Bretagne et d'Irlande du Nord",
            "Reino Unido de Gran Bretaña e Irlanda del Norte",
        ),
        "IRN": ("Iran (République islamique d')", "Irán (República Islámica del)"),
        "TZA": ("République-Unie de Tanzanie", "República Unida de Tanzanía"),
        "USA": ("États-Unis d'Amérique", "Estados Unidos de América"),
        "VAT": ("Saint-Siège", "Santa Sede"),
        "CIV": ("Côte d'Ivoire", "Côte d'Ivoire"),
        "TUR": ("Türkiye", "Türkiye"),
    }
    for iso3, (fr, es) in expected.items():
        assert (shipped[iso3].name_fr, shipped[iso3].name_es) == (fr, es)
    for iso3, name in FR_OVERRIDES.items():
        assert shipped[iso3].name_fr == name
    for iso3, name in ES_OVERRIDES.items():
        assert shipped[iso3].name_es == name


def test_override_tables_hold_no_dead_entries(shipped: dict[str, MemberStateRow]) -> None:
    """An entry that matches CLDR or names a non-member hides which overrides really matter."""
    assert set(FR_OVERRIDES).issubset(shipped)
    assert set(ES_OVERRIDES).issubset(shipped)
    for iso3 in set(FR_OVERRIDES) | set(ES_OVERRIDES):
        if iso3 in RECENT_RENAMES:
            continue
        cldr_fr, cldr_es = cldr_names(iso3)
        if iso3 in FR_OVERRIDES:
            assert FR_OVERRIDES[iso3] != cldr_fr, iso3
        if iso3 in ES_OVERRIDES:
            assert ES_OVERRIDES[iso3] != cldr_es, iso3


def test_148_states_were_members_in_november_2012(shipped: dict[str, MemberStateRow]) -> None:
    """Replaying resolution 1244 addresses the membership of its day, not today's."""
    assert sum(row.member_in_2012 for row in shipped.values()) == 148
    assert shipped["VCT"].member_in_2012  # admitted at the 101st session itself
    assert not shipped["BRB"].member_in_2012  # the 175th member, 2022
    assert not shipped["CHN"].member_in_2012


def test_working_language_follows_the_french_and_spanish_sets(
    shipped: dict[str, MemberStateRow],
) -> None:
    """Each mission gets its correspondence in the language it works in by default."""
    assert FRENCH_CORRESPONDENCE.issubset(shipped)
    assert SPANISH_CORRESPONDENCE.issubset(shipped)
    assert not FRENCH_CORRESPONDENCE & SPANISH_CORRESPONDENCE
    for row in shipped.values():
        if row.iso3 in FRENCH_CORRESPONDENCE:
            assert row.language == "fr"
        elif row.iso3 in SPANISH_CORRESPONDENCE:
            assert row.language == "es"
        else:
            assert row.language == "en"
    assert (shipped["FRA"].language, shipped["ESP"].language, shipped["GBR"].language) == (
        "fr",
        "es",
        "en",
    )


@pytest.mark.skipif(
    not (DEFAULT_SOURCE_DIR / SOURCE_FILE).is_file(),
    reason=f"the curated sources are not checked out beside the repository ({DEFAULT_SOURCE_DIR})",
)
def test_rebuilding_from_shared_data_reproduces_the_shipped_file(tmp_path: Path) -> None:
    """The shipped CSV is generated; hand edits or CLDR drift must show up as a failure here."""
    out = tmp_path / "member_states.csv"
    status = member_states.main(["build", "--source", str(DEFAULT_SOURCE_DIR), "--out", str(out)])
    assert status == 0
    assert out.read_bytes() == SHIPPED_CSV.read_bytes()


def test_write_csv_round_trips_the_shipped_file(tmp_path: Path) -> None:
    """Reading then writing changes nothing, so the format has one spelling."""
    out = tmp_path / "copy.csv"
    write_csv(read_csv(SHIPPED_CSV), out)
    assert out.read_bytes() == SHIPPED_CSV.read_bytes()


def test_build_rows_names_a_code_without_french_or_spanish_name(tmp_path: Path) -> None:
    """A new member with no CLDR name must be caught at build time, not in a letter."""
    source = _write(
        tmp_path / SOURCE_FILE,
        "iso3,name,joined_year,source_note\nFRA,France,1992,test\nXKX,Kosovo,,test\n",
    )
    in_2012 = _write(tmp_path / MEMBERS_2012_FILE, "# comment\nFRA\tFrance\ttest\n")
    with pytest.raises(Invalid, match="XKX"):
        build_rows(source, in_2012)


def test_build_rows_rejects_a_2012_code_for_the_wrong_state(tmp_path: Path) -> None:
    """A code typed for the wrong state (PRK for KOR) must not silently drop a member."""
    source = _write(
        tmp_path / SOURCE_FILE,
        "iso3,name,joined_year,source_note\nKOR,Republic of Korea,1988,test\n",
    )
    in_2012 = _write(tmp_path / MEMBERS_2012_FILE, "PRK\tRepublic of Korea\ttest\n")
    with pytest.raises(Invalid, match=r"members_2012\.txt:1: PRK"):
        build_rows(source, in_2012)


_GOOD_ROW = "FRA,France,France,Francia,fr,1992,true"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (f"iso3,name_en,name_fr,name_es,language\n{_GOOD_ROW}\n", 1, "header"),
        (f"{HEADER}\n{_GOOD_ROW}\n{_GOOD_ROW}\n", 3, "duplicate iso3 FRA"),
        (f"{HEADER}\n{_GOOD_ROW}\nESP,Spain,Espagne,España,de,,true\n", 3, "language 'de'"),
        (f"{HEADER}\nfra,France,France,Francia,fr,1992,true\n", 2, "three upper-case"),
        (f"{HEADER}\nFRA,France,,Francia,fr,1992,true\n", 2, "empty name_fr"),
        (f"{HEADER}\nFRA,France,France,Francia,fr,1992,yes\n", 2, "member_in_2012"),
        (f"{HEADER}\nFRA,France,France,Francia,fr,92,true\n", 2, "joined_year"),
        (f"{HEADER}\nFRA,France,France\n", 2, "expected 7 fields"),
    ],
)
def test_read_csv_rejects_bad_files_with_path_and_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    """An officer editing the table must be told exactly where it went wrong."""
    path = _write(tmp_path / "member_states.csv", text)
    with pytest.raises(Invalid) as excinfo:
        read_csv(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}:{line}: ")
    assert reason in message


def test_reading_the_table_does_not_import_babel_or_pycountry() -> None:
    """The runtime reads the CSV on every start; the build-only libraries must stay unloaded."""
    code = (
        "import sys\n"
        "from operative.register.member_states import read_csv\n"
        "assert len(read_csv()) == 175\n"
        "loaded = {'babel', 'pycountry'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
