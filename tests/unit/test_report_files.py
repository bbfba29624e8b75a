"""Excel and PDF files of a report: what a spreadsheet program and a PDF reader get back out of them."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject
from sqlalchemy.orm import Session

from ehealth.i18n import gettext, language
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import OrganizationKind
from ehealth.reports.base import Column, Kind, Report, ReportSpec, Scope, Table
from ehealth.reports.excel import NUMBER_FORMATS, sheet_names, to_xlsx
from ehealth.reports.formatting import cell_text
from ehealth.reports.pdf import PAGE_OF, to_pdf

FAKE_KEY = "test_fake_export"
FORMULA = "=SUM(A1:A2)"
UZBEK = ("O'zbekiston", "g'alla", "Sog'liqni saqlash", "Oʻrta Chirchiq")  # ASCII apostrophe and the official oʻ
CYRILLIC = ("Здравоохранение", "ёлка", "Қўқон")  # Russian, and Uzbek Cyrillic letters Russian lacks
COLUMNS = (
    Column("day", "Day", Kind.DATE),
    Column("name", "Name", Kind.TEXT),
    Column("visits", "Visits", Kind.INT),
    Column("average", "Average stay", Kind.DECIMAL),
    Column("share", "Share closed", Kind.PERCENT),
)
NAMES = (*UZBEK, *CYRILLIC, FORMULA)
SCOPE = Scope(
    organization_id=7,
    organization_name="Toshkent shahar 3-son oilaviy poliklinikasi",
    organization_kind=OrganizationKind.POLYCLINIC,
    start=date(2026, 3, 1),
    end=date(2026, 3, 31),
)
CREATED_AT = datetime(2026, 4, 1, 9, 30, tzinfo=TASHKENT)


def fake_rows(count: int) -> list[tuple[Any, ...]]:
    """`count` rows cycling through the names; every third share is undefined (None)."""
    return [
        (
            date(2026, 3, 1 + n % 31),
            NAMES[n % len(NAMES)],
            1200 + 37 * n,
            2.25 + n / 4,
            None if n % 3 == 2 else (n + 1) / 8 % 1,
        )
        for n in range(count)
    ]


def fake_report(scope: Scope = SCOPE, *, rows: int = len(NAMES), title: str = "Visits per day") -> Report:
    """A report with one column of each kind, Uzbek and Cyrillic text, a formula-looking text and a total row."""
    body = fake_rows(rows)
    total = ("Jami", None, sum(row[2] for row in body), 3.5, 0.125)
    table = Table("by_day", title, COLUMNS, body, total=total, note="Withdrawn records are not counted.")
    return Report(FAKE_KEY, "Polyclinic visits", scope, (table,), notes=("Counts of active records only.",))


def fake_build(_session: Session, scope: Scope) -> Report:
    """The fake report's builder, as a registered spec calls it."""
    return fake_report(scope)


FAKE_SPEC = ReportSpec(
    key=FAKE_KEY, title="Polyclinic visits", kinds=frozenset({OrganizationKind.POLYCLINIC}), build=fake_build
)


def _sheet(report: Report) -> Worksheet:
    workbook = load_workbook(io.BytesIO(to_xlsx(report, generated_at=CREATED_AT)))
    sheet = workbook.worksheets[0]
    assert isinstance(sheet, Worksheet)
    return sheet


def _heading_row(sheet: Worksheet) -> int:
    return next(row[0].row for row in sheet.iter_rows(min_col=1, max_col=1) if row[0].value == "Day")


def _cell(sheet: Worksheet, row: int, column: int) -> Cell:
    cell = sheet.cell(row=row, column=column)
    assert isinstance(cell, Cell)
    return cell


def test_xlsx_holds_the_header_block_and_typed_values() -> None:
    report = fake_report()
    with language("en"):
        sheet = _sheet(report)
    assert sheet.title == "Visits per day"
    assert sheet["A1"].value == "Polyclinic visits"
    assert sheet["A1"].font.b
    header = {sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=2).value for r in range(2, 6)}
    assert header == {
        "Organization": SCOPE.organization_name,
        "Period": "01.03.2026 – 31.03.2026",
        "Department": "All departments",
        "Created": "01.04.2026 09:30",
    }
    heading = _heading_row(sheet)
    assert [sheet.cell(row=heading, column=c).value for c in range(1, 6)] == [column.label for column in COLUMNS]
    assert all(_cell(sheet, heading, c).font.b for c in range(1, 6))
    assert sheet.freeze_panes == f"A{heading + 1}"
    table = report.tables[0]
    for offset, expected in enumerate(table.rows, start=1):
        cells = [_cell(sheet, heading + offset, c) for c in range(1, 6)]
        day, name, visits, average, share = cells
        assert isinstance(day.value, datetime) and day.value.date() == expected[0]
        assert day.number_format == "DD.MM.YYYY"
        assert name.value == expected[1] and name.data_type == "s"
        assert type(visits.value) is int and visits.value == expected[2]
        assert visits.number_format == NUMBER_FORMATS[Kind.INT]
        # A spreadsheet number has no int/float distinction (openpyxl reads 3.0 back as 3): the format carries it.
        assert isinstance(average.value, int | float) and average.value == pytest.approx(expected[3])
        assert average.number_format == "0.0"
        if expected[4] is None:
            assert share.value is None  # undefined, not 0 %
        else:
            assert isinstance(share.value, int | float) and share.value == pytest.approx(expected[4])
            assert share.number_format == "0.0%"
        assert not any(cell.font.b for cell in cells)
    total_row = heading + len(table.rows) + 1
    assert table.total is not None
    assert [sheet.cell(row=total_row, column=c).value for c in range(1, 6)] == [
        "Jami", None, table.total[2], 3.5, 0.125
    ]  # fmt: skip
    assert all(_cell(sheet, total_row, c).font.b for c in range(1, 6))
    assert sheet.cell(row=total_row + 1, column=1).value == "Withdrawn records are not counted."


def test_xlsx_text_that_looks_like_a_formula_stays_text() -> None:
    dangerous = ["=SUM(A1:A2)", "+1+2", "-3+4", "@cmd", '=HYPERLINK("http://x")']
    rows = [(date(2026, 3, 1), text, 1, 1.0, 0.5) for text in [*dangerous, "g'alla"]]
    report = Report("k", "T", SCOPE, (Table("t", "Names", COLUMNS, rows),))
    payload = to_xlsx(report, generated_at=CREATED_AT)
    sheet = load_workbook(io.BytesIO(payload)).worksheets[0]
    assert isinstance(sheet, Worksheet)
    heading = _heading_row(sheet)
    for offset, text in enumerate([*dangerous, "g'alla"], start=1):
        cell = _cell(sheet, heading + offset, 2)
        assert cell.value == text
        assert cell.data_type == "s"
        assert cell.quotePrefix is (text != "g'alla")
    # No formula anywhere in the file: Excel has nothing to evaluate.
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    assert "SUM(A1:A2)" in sheet_xml


def test_sheet_names_are_valid_and_unique() -> None:
    titles = [
        "Visits per day and per doctor over the whole period",
        "Visits per day and per doctor over the whole period",
        "visits PER day and per doctor over the whole period",
        "Referrals [lab/instrumental]: done? *all* \\ here",
        "'Quoted'",
        "",
        "Short",
        "short",
    ]
    names = sheet_names(titles)
    assert len(names) == len(titles)
    assert len({name.casefold() for name in names}) == len(names)
    for name in names:
        assert 0 < len(name) <= 31
        assert not re.search(r"[\[\]:*?/\\]", name)
        assert not name.startswith("'") and not name.endswith("'")
    assert names[0] == titles[0][:31]
    assert names[1].endswith(" (2)") and names[2].endswith(" (3)")
    assert names[6] == "Short" and names[7] == "short (2)"


def test_xlsx_has_one_sheet_per_table_and_fitted_widths() -> None:
    long_text = "Sog'liqni saqlash vazirligi huzuridagi respublika ixtisoslashtirilgan markazi"
    rows = [(date(2026, 3, 2), long_text, 5, 1.0, None)]
    tables = tuple(Table(f"t{n}", "Same title", COLUMNS, rows) for n in range(3))
    workbook = load_workbook(io.BytesIO(to_xlsx(Report("k", "T", SCOPE, tables), generated_at=CREATED_AT)))
    assert workbook.sheetnames == ["Same title", "Same title (2)", "Same title (3)"]
    sheet = workbook.worksheets[0]
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDE"}
    assert widths["B"] > widths["C"]  # the long name gets a wider column than the count
    assert widths["B"] <= 60 and widths["C"] >= 8
    assert all(width >= len(column.label) for width, column in zip(widths.values(), COLUMNS, strict=True))


def test_xlsx_of_an_empty_table_says_so() -> None:
    report = Report("k", "T", SCOPE, (Table("t", "Empty", COLUMNS, []),))
    with language("en"):
        sheet = _sheet(report)
    values = [row[0] for row in sheet.iter_rows(min_col=1, max_col=1, values_only=True)]
    assert "Nothing in this period." in values


def _pdf_text(payload: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(payload)).pages]


def test_pdf_shows_uzbek_and_cyrillic_text_and_the_numbers_as_the_page_writes_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = fake_report()
    with caplog.at_level(logging.WARNING, logger="fpdf"), language("en"):
        payload = to_pdf(report, generated_at=CREATED_AT)
    assert not [r for r in caplog.records if "missing" in r.getMessage()]  # every letter has a glyph
    text = "\n".join(_pdf_text(payload))
    for word in (*UZBEK, *CYRILLIC, FORMULA, "Polyclinic visits", SCOPE.organization_name, "01.03.2026 – 31.03.2026"):
        assert word in text
    table = report.tables[0]
    for row in [*table.rows, table.total]:
        assert row is not None
        for value, column in zip(row, COLUMNS, strict=True):
            assert cell_text(value, column.kind) in text
    assert "1 237" in text.replace("\u202f", " ")  # 1200 + 37: thousands separated like the page
    assert "—" in text  # an undefined share is a dash, never 0 %
    assert "12.5 %" in text  # the total's share, one decimal


def test_pdf_embeds_the_liberation_fonts() -> None:
    reader = PdfReader(io.BytesIO(to_pdf(fake_report(), generated_at=CREATED_AT)))
    resources = reader.pages[0]["/Resources"].get_object()
    assert isinstance(resources, DictionaryObject)
    fonts = resources["/Font"].get_object()
    assert isinstance(fonts, DictionaryObject)
    names = set()
    for ref in fonts.values():
        font = ref.get_object()
        assert isinstance(font, DictionaryObject)
        names.add(str(font["/BaseFont"]))
        descendants = font["/DescendantFonts"].get_object()
        assert isinstance(descendants, ArrayObject)
        descendant = descendants[0].get_object()
        assert isinstance(descendant, DictionaryObject)
        descriptor = descendant["/FontDescriptor"].get_object()
        assert isinstance(descriptor, DictionaryObject)
        assert "/FontFile2" in descriptor  # embedded, not referenced
    # fpdf2 names a subset "<tag>+<family><style>"
    assert {name.split("+", 1)[1] for name in names} == {"LiberationSans", "LiberationSansBold"}


def test_a_long_table_runs_over_pages_with_its_headings_and_page_numbers_on_each() -> None:
    report = fake_report(rows=150)
    with language("en"):
        pages = _pdf_text(to_pdf(report, generated_at=CREATED_AT))
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert all(column.label in page for column in COLUMNS)
        assert PAGE_OF.format(page=number, pages=len(pages)) in page
    text = "\n".join(pages)
    for row in report.tables[0].rows:
        assert cell_text(row[2], Kind.INT) in text  # no row lost at a page break


def test_pdf_is_written_in_the_language_it_is_built_in() -> None:
    with language("ru"):
        text = "\n".join(_pdf_text(to_pdf(fake_report(), generated_at=CREATED_AT)))
        expected = [gettext("Organization"), gettext("Period"), gettext("All departments")]
    assert expected == ["Организация", "Период", "Все отделения"]
    assert all(label in text for label in expected)


def test_a_wide_table_still_fits_the_page() -> None:
    columns = tuple(Column(f"c{n}", f"Column number {n}", Kind.INT) for n in range(24))
    rows = [tuple(range(1000 * n, 1000 * n + 24)) for n in range(5)]
    report = Report("k", "Wide", SCOPE, (Table("t", "Wide", columns, rows),))
    reader = PdfReader(io.BytesIO(to_pdf(report, generated_at=CREATED_AT)))
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape
    text = page.extract_text()
    assert all(cell_text(value, Kind.INT) in text for value in rows[-1])
