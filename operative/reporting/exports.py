"""The register as spreadsheets: rows of plain cells as CSV or as an Excel workbook.

The rows are those of :mod:`operative.reporting.read_model` (``as_row``); a cell a spreadsheet
would run as a formula is written as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# A spreadsheet opens a cell starting with one of these as a formula: a text from a Member
# State must never run as one, so such a value is written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """Rows as UTF-8 CSV with a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name, "")) for name in columns])
    return buffer.getvalue().encode("utf-8")


def to_xlsx(title: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """Rows as an Excel workbook of one sheet, header in bold and frozen."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([_cell(row.get(name, "")) for name in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
