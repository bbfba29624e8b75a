"""A built report as an Excel workbook: one sheet per table, typed cells, the scope written above every table."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.reports.base import Kind, Report, Table
from ehealth.reports.formatting import cell_text

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Excel's own limits on a sheet name: 31 characters, none of []:*?/\ and no apostrophe at either end.
_SHEET_NAME_LENGTH = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# A text starting with one of these is taken for a formula by Excel or LibreOffice once the cell is edited or the
# sheet is saved as CSV (OWASP "CSV injection"); the tab and carriage return variants fool some importers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

NUMBER_FORMATS: dict[Kind, str] = {
    Kind.INT: "#,##0",
    Kind.DECIMAL: "0.0",
    Kind.PERCENT: "0.0%",
    Kind.DATE: "DD.MM.YYYY",
}
_MIN_WIDTH = 8
_MAX_WIDTH = 60

ORGANIZATION = N_("Organization")
PERIOD = N_("Period")
DEPARTMENT = N_("Department")
ALL_DEPARTMENTS = N_("All departments")
CREATED = N_("Created")  # when the file was made
NOTHING = N_("Nothing in this period.")


def sheet_names(titles: list[str]) -> list[str]:
    """A valid, unique (case-insensitively, as Excel compares them) sheet name for each title, in order."""
    names: list[str] = []
    seen: set[str] = set()
    for title in titles:
        base = _SHEET_NAME_FORBIDDEN.sub(" ", title).strip().strip("'").strip() or "Sheet"
        name = base[:_SHEET_NAME_LENGTH].rstrip("'")
        n = 1
        while name.casefold() in seen:
            n += 1
            suffix = f" ({n})"
            name = base[: _SHEET_NAME_LENGTH - len(suffix)].rstrip("'") + suffix
        seen.add(name.casefold())
        names.append(name)
    return names


def _cell(sheet: Worksheet, row: int, column: int) -> Cell:
    """The cell at (row, column); these sheets merge no cells, so it is always a plain one."""
    return cast(Cell, sheet.cell(row=row, column=column))


def _put(sheet: Worksheet, row: int, column: int, text: str, font: Font | None = None) -> Cell:
    """Write a text cell (title, label, heading, note) in `font`."""
    cell = _cell(sheet, row, column)
    _text(cell, text)
    if font is not None:
        cell.font = font
    return cell


def _text(cell: Cell, value: str) -> None:
    """Write `value` as plain text that Excel will never evaluate, whatever it starts with."""
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
    # openpyxl takes a leading "=" for a formula: force the string type, and set the quote prefix (what Excel
    # itself stores for a typed leading apostrophe) so that editing the cell keeps it text too.
    cell.data_type = "s"
    if value.startswith(_FORMULA_START):
        cell.quotePrefix = True


def _typed(cell: Cell, value: Any, kind: Kind) -> None:
    """Write one table value with the Python type and number format its column's kind calls for."""
    if value is None:
        return  # an undefined rate stays empty: never 0 %
    if kind == Kind.INT and isinstance(value, int | float) and not isinstance(value, bool):
        cell.value = round(value)
    elif kind in (Kind.DECIMAL, Kind.PERCENT) and isinstance(value, int | float) and not isinstance(value, bool):
        cell.value = float(value)
    elif kind == Kind.DATE and isinstance(value, date):
        # A datetime would carry a time (and openpyxl refuses a time zone): the column holds days.
        cell.value = value.date() if isinstance(value, datetime) else value
    else:
        _text(cell, str(value))
        return
    cell.number_format = NUMBER_FORMATS[kind]


def _header(sheet: Worksheet, report: Report, generated_at: datetime) -> tuple[int, int]:
    """The title and scope above the table; returns the next free row and the widest label of column A."""
    scope = report.scope
    _put(sheet, 1, 1, report.title, Font(bold=True, size=14))
    lines = [
        (gettext(ORGANIZATION), scope.organization_name),
        (gettext(PERIOD), f"{scope.start:%d.%m.%Y} – {scope.end:%d.%m.%Y}"),
        (gettext(DEPARTMENT), scope.department_name or gettext(ALL_DEPARTMENTS)),
        (gettext(CREATED), f"{generated_at.astimezone(TASHKENT):%d.%m.%Y %H:%M}"),
    ]
    row = 2
    for label, value in lines:
        _put(sheet, row, 1, label, Font(bold=True))
        _put(sheet, row, 2, value)
        row += 1
    for note in report.notes:
        _put(sheet, row, 1, note, Font(italic=True))
        row += 1
    return row + 1, max(len(label) for label, _value in lines)


def _table(sheet: Worksheet, table: Table, first_row: int, label_width: int) -> None:
    """The table's title, headings (frozen), rows, bold total row and note, from `first_row` down."""
    _put(sheet, first_row, 1, table.title, Font(bold=True, size=12))
    heading_row = first_row + 1
    kinds = [column.kind for column in table.columns]
    # The widest text of each column, as the page writes it, sets the column's width.
    widths = [len(column.label) for column in table.columns]
    if widths:
        widths[0] = max(widths[0], label_width)  # the scope's labels above share column A
    for index, column in enumerate(table.columns, start=1):
        cell = _put(sheet, heading_row, index, column.label, Font(bold=True))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    rows = list(table.rows) + ([table.total] if table.total is not None else [])
    for offset, values in enumerate(rows, start=1):
        bold = table.total is not None and offset == len(rows)
        for index, (value, kind) in enumerate(zip(values, kinds, strict=True), start=1):
            cell = _cell(sheet, heading_row + offset, index)
            _typed(cell, value, kind)
            if bold:
                cell.font = Font(bold=True)
            widths[index - 1] = max(widths[index - 1], len(cell_text(value, kind)))
    after = heading_row + len(rows) + 1
    if not table.rows:
        _put(sheet, after, 1, gettext(NOTHING))
        after += 1
    if table.note:
        _put(sheet, after, 1, table.note, Font(italic=True))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(_MAX_WIDTH, max(_MIN_WIDTH, width + 2))
    # Scrolling keeps the scope and the column headings in sight.
    sheet.freeze_panes = _cell(sheet, heading_row + 1, 1)


def to_xlsx(report: Report, *, generated_at: datetime | None = None) -> bytes:
    """The report as an .xlsx file: one sheet per table, typed cells (numbers stay numbers)."""
    generated_at = generated_at or datetime.now(TASHKENT)
    workbook = Workbook()
    workbook.properties.title = report.title
    workbook.properties.creator = "Elektron sog'liqni saqlash"
    default = workbook.active
    titles = [table.title for table in report.tables] or [report.title]
    for index, name in enumerate(sheet_names(titles)):
        sheet = workbook.create_sheet(title=name)
        next_row, label_width = _header(sheet, report, generated_at)
        if report.tables:
            _table(sheet, report.tables[index], next_row, label_width)
        else:
            _put(sheet, next_row, 1, gettext(NOTHING))
            sheet.column_dimensions["A"].width = min(_MAX_WIDTH, max(_MIN_WIDTH, label_width + 2))
    if default is not None:
        workbook.remove(default)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
