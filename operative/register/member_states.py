"""IOM Member States: the shipped table (`config/member_states.csv`) and how it is built.

This module owns the names of the 175 Member States in IOM's three working languages, each state's
default language of correspondence, and whether it was a member when resolution 1244 was adopted
(27 November 2012). `read_csv` is what the application uses at runtime; `build_rows` and the
`build` command regenerate the CSV from the curated sources in `shared/data` and are run by hand.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from operative.errors import Invalid
from operative.i18n import LANGUAGES, Language

# Literal narrowing without casts: a value read from a file is a Language only if it is a key here.
_LANGUAGES: dict[str, Language] = {language: language for language in LANGUAGES}

COLUMNS: tuple[str, ...] = (
    "iso3",
    "name_en",
    "name_fr",
    "name_es",
    "language",
    "joined_year",
    "member_in_2012",
)

_SOURCE_COLUMNS: tuple[str, ...] = ("iso3", "name", "joined_year", "source_note")

SHIPPED_CSV = Path(__file__).resolve().parents[2] / "config" / "member_states.csv"
DEFAULT_SOURCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"
SOURCE_FILE = "iom_member_states.csv"
MEMBERS_2012_FILE = "iom_members_2012.txt"

_ISO3 = re.compile(r"[A-Z]{3}")
_BOOLEANS: dict[str, bool] = {"true": True, "false": False}

# The French and Spanish names start from CLDR (through Babel), which gives the names people use
# ("Corée du Sud", "Bolivia", "Royaume-Uni"). Documents addressed to Member States use the UN's
# formal short names instead ("République de Corée", "Bolivia (Estado Plurinacional de)"), as listed
# in UNTERM, and UN Spanish keeps spellings CLDR has modernised ("Kenya", "Rumania", "Trinidad y
# Tabago"). Where the two differ, the UN form is written out here. The CLDR name is looked up by ISO
# code only: a search by name is not an option, since pycountry's fuzzy search maps "Republic of
# Korea" to the Democratic People's Republic of Korea, which is not a member. The English names need
# no table: the source list is already in the UN form.
#
# A few entries repeat what current CLDR already says. They belong to states renamed recently
# (RECENT_RENAMES), and the names are pinned because babel>=2.14 spans several CLDR releases: one
# that lags would otherwise bring the old name back without anyone noticing.
FR_OVERRIDES: dict[str, str] = {
    "BLR": "Bélarus",
    "BOL": "Bolivie (État plurinational de)",
    "CIV": "Côte d'Ivoire",
    "COD": "République démocratique du Congo",
    "COG": "Congo",
    "CPV": "Cabo Verde",
    "CZE": "Tchéquie",
    "FSM": "Micronésie (États fédérés de)",
    "GBR": "Royaume-Uni de Grande-Bretagne et d'Irlande du Nord",
    "IRN": "Iran (République islamique d')",
    "KGZ": "Kirghizistan",
    "KNA": "Saint-Kitts-et-Nevis",
    "KOR": "République de Corée",
    "LAO": "République démocratique populaire lao",
    "LBR": "Libéria",
    "MDA": "République de Moldova",
    "MKD": "Macédoine du Nord",
    "MMR": "Myanmar",
    "NGA": "Nigéria",
    "NLD": "Pays-Bas (Royaume des)",
    "RUS": "Fédération de Russie",
    "SLV": "El Salvador",
    "SWZ": "Eswatini",
    "TLS": "Timor-Leste",
    "TUR": "Türkiye",
    "TZA": "République-Unie de Tanzanie",
    "USA": "États-Unis d'Amérique",
    "VAT": "Saint-Siège",
    "VEN": "Venezuela (République bolivarienne du)",
    "VNM": "Viet Nam",
}

ES_OVERRIDES: dict[str, str] = {
    "BEN": "Benin",
    "BGD": "Bangladesh",
    "BLR": "Belarús",
    "BOL": "Bolivia (Estado Plurinacional de)",
    "BWA": "Botswana",
    "CIV": "Côte d'Ivoire",
    "CZE": "Chequia",
    "DJI": "Djibouti",
    "FJI": "Fiji",
    "FSM": "Micronesia (Estados Federados de)",
    "GBR": "Reino Unido de Gran Bretaña e Irlanda del Norte",
    "GNB": "Guinea-Bissau",
    "IRN": "Irán (República Islámica del)",
    "KAZ": "Kazajstán",
    "KEN": "Kenya",
    "KNA": "Saint Kitts y Nevis",
    "KOR": "República de Corea",
    "LAO": "República Democrática Popular Lao",
    "LSO": "Lesotho",
    "MDA": "República de Moldova",
    "MKD": "Macedonia del Norte",
    "MLI": "Malí",
    "MMR": "Myanmar",
    "MWI": "Malawi",
    "NLD": "Países Bajos (Reino de los)",
    "NZL": "Nueva Zelandia",
    "PLW": "Palau",
    "PNG": "Papua Nueva Guinea",
    "ROU": "Rumania",
    "RUS": "Federación de Rusia",
    "RWA": "Rwanda",
    "SUR": "Suriname",
    "SWZ": "Eswatini",
    "TTO": "Trinidad y Tabago",
    "TUR": "Türkiye",
    "TZA": "República Unida de Tanzanía",
    "USA": "Estados Unidos de América",
    "VAT": "Santa Sede",
    "VEN": "Venezuela (República Bolivariana de)",
    "VNM": "Viet Nam",
    "ZWE": "Zimbabwe",
}

# UN names adopted by Czechia (2016), Eswatini (2018), North Macedonia (2019), Türkiye (2022).
RECENT_RENAMES: frozenset[str] = frozenset({"CZE", "MKD", "SWZ", "TUR"})

# IOM works in English, French and Spanish. A state's language here is only the default for
# correspondence with its mission, chosen as the one of the three its government writes in; the
# secretariat changes it per contact whenever a mission asks. Where a state has two of them as
# official languages, the default follows the language its government mostly uses (Cameroon: French;
# Canada, Vanuatu: English).
#
# French: states where French is an official language, plus the Maghreb states (Algeria, Mauritania,
# Morocco, Tunisia), whose administrations use French beside Arabic. Belgium and Switzerland have
# several official languages; of IOM's three, French is the one among them. Rwanda is not listed:
# it moved its administration to English in 2008.
FRENCH_CORRESPONDENCE: frozenset[str] = frozenset(
    {
        "BDI", "BEL", "BEN", "BFA", "CAF", "CHE", "CIV", "CMR", "COD", "COG", "COM",
        "DJI", "DZA", "FRA", "GAB", "GIN", "HTI", "LUX", "MAR", "MDG", "MLI", "MRT",
        "NER", "SEN", "TCD", "TGO", "TUN",
    }
)  # fmt: skip

# Spanish: the states where Spanish is the official language or the language of government.
SPANISH_CORRESPONDENCE: frozenset[str] = frozenset(
    {
        "ARG", "BOL", "CHL", "COL", "CRI", "CUB", "DOM", "ECU", "ESP", "GTM", "HND",
        "MEX", "NIC", "PAN", "PER", "PRY", "SLV", "URY", "VEN",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MemberStateRow:
    """One Member State as shipped in `config/member_states.csv`."""

    iso3: str
    name_en: str
    name_fr: str
    name_es: str
    language: Language
    joined_year: int | None
    member_in_2012: bool


def working_language(iso3: str) -> Language:
    """The default language of correspondence with a Member State."""
    if iso3 in FRENCH_CORRESPONDENCE:
        return "fr"
    if iso3 in SPANISH_CORRESPONDENCE:
        return "es"
    return "en"


def cldr_names(iso3: str) -> tuple[str | None, str | None]:
    """CLDR's French and Spanish names for an ISO alpha-3 code, looked up by code only.

    Either is None when pycountry does not know the code or CLDR has no name for it.
    """
    # Imported here: only building the CSV needs them, and reading it must stay cheap.
    import babel
    import pycountry

    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        return None, None
    alpha2: str = country.alpha_2
    fr = babel.Locale("fr").territories.get(alpha2)
    es = babel.Locale("es").territories.get(alpha2)
    return fr, es


def build_rows(source_csv: Path, members_2012: Path) -> list[MemberStateRow]:
    """Derive the shipped rows from the curated member list and the November 2012 list."""
    source = _read_source(source_csv)
    in_2012 = _read_members_2012(members_2012, source)
    rows: list[MemberStateRow] = []
    missing: list[str] = []
    for iso3, (name_en, joined_year) in sorted(source.items()):
        cldr_fr, cldr_es = cldr_names(iso3)
        name_fr = FR_OVERRIDES.get(iso3, cldr_fr)
        name_es = ES_OVERRIDES.get(iso3, cldr_es)
        if not name_fr or not name_es:
            missing.append(iso3)
            continue
        rows.append(
            MemberStateRow(
                iso3=iso3,
                name_en=name_en,
                name_fr=name_fr,
                name_es=name_es,
                language=working_language(iso3),
                joined_year=joined_year,
                member_in_2012=iso3 in in_2012,
            )
        )
    if missing:
        raise Invalid(
            f"no French or Spanish name (neither pycountry/Babel nor an override) for: "
            f"{', '.join(missing)}"
        )
    return rows


def _read_source(path: Path) -> dict[str, tuple[str, int | None]]:
    """`iom_member_states.csv` as iso3 -> (English name, year the current membership began)."""
    result: dict[str, tuple[str, int | None]] = {}
    for where, record in _csv_records(path, _SOURCE_COLUMNS):
        iso3, name, year, _note = record
        _check_iso3(iso3, result, where)
        if not name.strip():
            raise Invalid(f"{where}: {iso3} has no name")
        result[iso3] = (name, _parse_year(year, where))
    return result


def _csv_records(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, list[str]]]:
    """The records of a CSV file with the header ``columns``, each with its "path:line"."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != columns:
            raise Invalid(f"{path}:1: header must be {','.join(columns)}")
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if len(record) != len(columns):
                raise Invalid(f"{where}: expected {len(columns)} fields, got {len(record)}")
            yield where, record


def _check_iso3(iso3: str, seen: Container[str], where: str) -> None:
    """Refuse a code that is not three upper-case letters, or one already listed."""
    if not _ISO3.fullmatch(iso3):
        raise Invalid(f"{where}: iso3 {iso3!r} is not three upper-case letters")
    if iso3 in seen:
        raise Invalid(f"{where}: duplicate iso3 {iso3}")


def _read_members_2012(path: Path, source: dict[str, tuple[str, int | None]]) -> set[str]:
    """The codes listed in `iom_members_2012.txt`, each checked against the current list."""
    members: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            where = f"{path}:{number}"
            fields = line.split("\t")
            if len(fields) != 3:
                raise Invalid(f"{where}: expected iso3<TAB>name<TAB>basis")
            iso3, name = fields[0], fields[1]
            # The file says no member has left since 2012, so every code must still be in the
            # current list; the name check catches a code typed for the wrong state (PRK for KOR).
            if iso3 not in source:
                raise Invalid(f"{where}: {iso3} is not a current Member State")
            if source[iso3][0] != name:
                raise Invalid(f"{where}: {iso3} is {source[iso3][0]!r}, not {name!r}")
            if iso3 in members:
                raise Invalid(f"{where}: duplicate iso3 {iso3}")
            members.add(iso3)
    return members


def _parse_year(text: str, where: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) != 4:
        raise Invalid(f"{where}: joined_year {text!r} is not a four-digit year")
    return int(text)


def write_csv(rows: Iterable[MemberStateRow], path: Path) -> None:
    """Write rows in the shipped format: UTF-8, LF line endings, sorted by iso3."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in sorted(rows, key=lambda r: r.iso3):
            writer.writerow(
                (
                    row.iso3,
                    row.name_en,
                    row.name_fr,
                    row.name_es,
                    row.language,
                    "" if row.joined_year is None else str(row.joined_year),
                    "true" if row.member_in_2012 else "false",
                )
            )


def read_csv(path: Path = SHIPPED_CSV) -> list[MemberStateRow]:
    """Read and validate a Member States CSV; errors are `Invalid("path:line: reason")`."""
    rows: list[MemberStateRow] = []
    seen: set[str] = set()
    for where, record in _csv_records(path, COLUMNS):
        _check_iso3(record[0], seen, where)
        seen.add(record[0])
        rows.append(_member_state(record, where))
    return rows


def _member_state(record: list[str], where: str) -> MemberStateRow:
    """One row of a Member States CSV, its names, language and booleans checked."""
    iso3, name_en, name_fr, name_es, language, year, in_2012 = record
    for column, name in (("name_en", name_en), ("name_fr", name_fr), ("name_es", name_es)):
        if not name.strip():
            raise Invalid(f"{where}: {iso3} has an empty {column}")
    lang = _LANGUAGES.get(language)
    if lang is None:
        raise Invalid(f"{where}: language {language!r} is not one of en, fr, es")
    member_in_2012 = _BOOLEANS.get(in_2012)
    if member_in_2012 is None:
        raise Invalid(f"{where}: member_in_2012 {in_2012!r} is not true or false")
    return MemberStateRow(
        iso3=iso3,
        name_en=name_en,
        name_fr=name_fr,
        name_es=name_es,
        language=lang,
        joined_year=_parse_year(year, where),
        member_in_2012=member_in_2012,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m operative.register.member_states build`: regenerate the shipped CSV from
    shared/data."""
    parser = argparse.ArgumentParser(prog="python -m operative.register.member_states")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="regenerate config/member_states.csv")
    build.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE_DIR,
        help=f"directory holding {SOURCE_FILE} and {MEMBERS_2012_FILE}",
    )
    build.add_argument("--out", type=Path, default=SHIPPED_CSV, help="CSV to write")
    args = parser.parse_args(argv)
    source: Path = args.source
    out: Path = args.out
    try:
        rows = build_rows(source / SOURCE_FILE, source / MEMBERS_2012_FILE)
    except (OSError, Invalid) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_csv(rows, out)
    in_2012 = sum(row.member_in_2012 for row in rows)
    print(f"wrote {len(rows)} Member States ({in_2012} members in 2012) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
