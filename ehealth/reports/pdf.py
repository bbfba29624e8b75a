"""A built report as a PDF: A4 landscape, the scope on top, every table with its headings on each page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from fpdf import FPDF, FontFace

from ehealth.i18n import N_, current_language, gettext
from ehealth.identifiers import TASHKENT
from ehealth.reports.base import Column, Report, Table
from ehealth.reports.excel import ALL_DEPARTMENTS, CREATED, DEPARTMENT, NOTHING, ORGANIZATION, PERIOD
from ehealth.reports.formatting import cell_text, numeric

MIMETYPE = "application/pdf"

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Liberation Sans 2 carries Uzbek Latin (oʻ gʻ), Uzbek and Russian Cyrillic; the PDF core fonts carry neither.
FAMILY = "LiberationSans"
PAGE_OF = N_("Page {page} of {pages}")

_MARGIN = 12.0  # mm
_FONT_SIZES = (9.0, 8.0, 7.0, 6.0)  # a wide table is set smaller before its columns are squeezed
_PADDING = 1.0  # mm each side of a cell's text
_TEXT_FLOOR = 30.0  # mm: a text column narrower than its longest value wraps, but never below this
_HEADING_FILL = (230, 230, 230)


class _Document(FPDF):
    """An FPDF page with the report's footer: the scope on the left, "page X of Y" on the right."""

    def __init__(self, scope_line: str, page_of: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.scope_line = scope_line
        self.page_of = page_of  # a translated template with {page} and {pages}

    def footer(self) -> None:
        """Scope and page number at the foot of every page ({nb} becomes the page count on closing)."""
        self.set_y(-9)
        self.set_font(FAMILY, "", 7)
        self.set_text_color(90, 90, 90)
        self.cell(self.epw * 0.75, 4, _fit(self, self.scope_line, self.epw * 0.75 - 2), align="L")
        self.cell(
            self.epw * 0.25, 4, self.page_of.format(page=self.page_no(), pages=self.str_alias_nb_pages), align="R"
        )
        self.set_text_color(0, 0, 0)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` (mm) in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _texts(table: Table) -> list[list[str]]:
    """Every body row (and the total last) written as the page writes it."""
    kinds = [column.kind for column in table.columns]
    rows = list(table.rows) + ([table.total] if table.total is not None else [])
    return [[cell_text(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in rows]


def _widths(pdf: FPDF, columns: Sequence[Column], texts: list[list[str]]) -> list[float] | None:
    """Column widths (mm) that fit the page at the current font size, or None when they cannot."""
    pad = 2 * _PADDING
    values = [max((pdf.get_string_width(row[i]) for row in texts), default=0.0) + pad for i in range(len(columns))]
    pdf.set_font(FAMILY, "B", pdf.font_size_pt)
    headings = [pdf.get_string_width(column.label) + pad for column in columns]
    # A heading may wrap between words, never inside one.
    words = [max(pdf.get_string_width(word) for word in column.label.split() or [""]) + pad for column in columns]
    pdf.set_font(FAMILY, "", pdf.font_size_pt)
    wanted = [max(value, heading) for value, heading in zip(values, headings, strict=True)]
    if sum(wanted) <= pdf.epw:
        return wanted
    # Numbers never wrap; text columns give up width down to a floor and wrap.
    floors = [
        max(word, value if numeric(column.kind) else min(value, _TEXT_FLOOR))
        for column, value, word in zip(columns, values, words, strict=True)
    ]
    if sum(floors) > pdf.epw:
        return None
    spare = pdf.epw - sum(floors)
    give = [want - floor for want, floor in zip(wanted, floors, strict=True)]
    total_give = sum(give) or 1.0
    return [floor + spare * extra / total_give for floor, extra in zip(floors, give, strict=True)]


def _table(pdf: FPDF, table: Table) -> None:
    """One table: its title, then headings repeated on each page, numbers right-aligned, the total row bold."""
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(0, 6, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    if not table.rows:
        pdf.set_font(FAMILY, "", 9)
        pdf.multi_cell(0, 5, gettext(NOTHING), new_x="LMARGIN", new_y="NEXT")
    else:
        texts = _texts(table)
        widths: list[float] | None = None
        for size in _FONT_SIZES:
            pdf.set_font(FAMILY, "", size)
            widths = _widths(pdf, table.columns, texts)
            if widths is not None:
                break
        if widths is None:  # more columns than a landscape page holds even at 6 pt: squeeze them all evenly
            widths = [pdf.epw / len(table.columns)] * len(table.columns)
        aligns = ["RIGHT" if numeric(column.kind) else "LEFT" for column in table.columns]
        bold = FontFace(emphasis="BOLD")
        with pdf.table(
            width=sum(widths),
            col_widths=widths,
            align="LEFT",
            line_height=pdf.font_size * 1.35,
            padding=(0.6, _PADDING),
            headings_style=FontFace(emphasis="BOLD", fill_color=_HEADING_FILL),
            repeat_headings=1,
            v_align="TOP",
        ) as grid:
            heading = grid.row()
            for column, align in zip(table.columns, aligns, strict=True):
                heading.cell(column.label, align=align)
            for index, row in enumerate(texts):
                is_total = table.total is not None and index == len(texts) - 1
                line = grid.row()
                for text, align in zip(row, aligns, strict=True):
                    line.cell(text, align=align, style=bold if is_total else None)
    if table.note:
        pdf.ln(1)
        pdf.set_font(FAMILY, "", 8)
        pdf.multi_cell(0, 4, table.note, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def _header(pdf: FPDF, report: Report, generated_at: datetime) -> None:
    """The report's title and scope at the top of the first page."""
    scope = report.scope
    pdf.set_font(FAMILY, "B", 15)
    pdf.multi_cell(0, 8, report.title, new_x="LMARGIN", new_y="NEXT")
    lines = [
        (gettext(ORGANIZATION), scope.organization_name),
        (gettext(PERIOD), f"{scope.start:%d.%m.%Y} – {scope.end:%d.%m.%Y}"),
        (gettext(DEPARTMENT), scope.department_name or gettext(ALL_DEPARTMENTS)),
        (gettext(CREATED), f"{generated_at.astimezone(TASHKENT):%d.%m.%Y %H:%M}"),
    ]
    pdf.set_font(FAMILY, "B", 9)
    label_width = max(pdf.get_string_width(label) for label, _value in lines) + 4
    for label, value in lines:
        pdf.set_font(FAMILY, "B", 9)
        pdf.cell(label_width, 5, label)
        pdf.set_font(FAMILY, "", 9)
        pdf.multi_cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
    for note in report.notes:
        pdf.set_font(FAMILY, "", 8)
        pdf.multi_cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def to_pdf(report: Report, *, generated_at: datetime | None = None) -> bytes:
    """The report as a PDF (A4 landscape, fonts embedded), in the language it was built in."""
    generated_at = generated_at or datetime.now(TASHKENT)
    scope = report.scope
    parts = [scope.organization_name, *([scope.department_name] if scope.department_name else [])]
    parts.append(f"{scope.start:%d.%m.%Y} – {scope.end:%d.%m.%Y}")
    # Translated here, in the caller's language: the last page's footer is drawn when the file is closed.
    pdf = _Document(" · ".join([report.title, *parts]), gettext(PAGE_OF))
    pdf.add_font(FAMILY, "", FONT_DIR / "LiberationSans-Regular.ttf")
    pdf.add_font(FAMILY, "B", FONT_DIR / "LiberationSans-Bold.ttf")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN + 2)
    pdf.set_title(report.title)
    pdf.set_author(scope.organization_name)
    pdf.set_creator("Elektron sog'liqni saqlash")
    pdf.set_lang(current_language())
    pdf.add_page()
    _header(pdf, report, generated_at)
    for table in report.tables:
        _table(pdf, table)
    if not report.tables:
        pdf.set_font(FAMILY, "", 9)
        pdf.multi_cell(0, 5, gettext(NOTHING), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
