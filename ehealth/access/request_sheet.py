"""The Excel side of installation requests (clause 2): the template a manager fills in, and reading it back.

`read_sheet_rows` gives each person with the sheet row it came from, so that the errors `file_request` keys by
0-based index can be shown as "row 7 of the sheet"; `read_sheet` gives the people alone.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from ehealth.access.models import DocumentType, Role
from ehealth.access.requests import REQUESTABLE_ROLES, PersonEntry
from ehealth.errors import ValidationError
from ehealth.i18n import LANGUAGES, N_, gettext, language

# The default cap on people per sheet; the template's drop-downs and text formats cover this many rows.
MAX_ROWS = 500
MAX_FILE_BYTES = 2 * 1024 * 1024
# An .xlsx is a zip: a 2 MB upload can unpack to gigabytes (a zip bomb). A real request of 500 people unpacks to
# well under 1 MB, so refuse before openpyxl reads anything bigger than this.
_MAX_UNPACKED_BYTES = 16 * 1024 * 1024
_MAX_ZIP_MEMBERS = 1000
# Bounds of what is iterated: the header is looked for near the top, left-most columns only, in a few sheets.
_HEADER_SEARCH_ROWS = 20
_MAX_COLUMNS = 50
_MAX_SHEETS = 20
# Blank rows under the list are skipped, but only this far: past it the sheet is refused rather than read forever.
_ROW_SCAN_LIMIT = 10_000
# A header row needs this many recognised titles, so a note or the lists on the instructions sheet are not taken for it.
_MIN_HEADER_MATCHES = 3

# Compound File Binary: the container of old .xls workbooks and of password-encrypted .xlsx ones.
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .xlsx keeps its key data in a CFB stream with this name (MS-OFFCRYPTO); .xls files have none.
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")

# The columns of the sheet, in template order: the PersonEntry field and its title's msgid.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("surname", N_("Surname")),
    ("given_name", N_("Given name")),
    ("patronymic", N_("Patronymic")),
    ("position", N_("Position")),
    ("department_name", N_("Department")),
    ("document_type", N_("Identity document")),
    ("document", N_("Document series and number")),
    ("pinfl", N_("PINFL")),
    ("email", N_("E-mail")),
    ("role", N_("Role")),
)
_TITLES = dict(COLUMNS)
# Typed as text, so Excel keeps the 14 digits of a PINFL instead of showing 3.01019E+13.
_TEXT_COLUMNS = frozenset({"document", "pinfl", "email"})
_WIDTHS = {"position": 28, "department_name": 28, "document": 16, "pinfl": 18, "email": 30}
_DEFAULT_WIDTH = 18

# The same msgids as components.labels, so the sheet and the pages name roles and documents alike; the domain
# layer does not import the Dash components.
_ROLE_LABELS: dict[str, str] = {
    Role.DOCTOR: N_("Doctor"),
    Role.NURSE: N_("Nurse"),
    Role.REGISTRAR: N_("Registrar"),
    Role.PHARMACIST: N_("Pharmacist"),
    Role.MANAGER: N_("Manager"),
}
_DOCUMENT_LABELS: dict[str, str] = {DocumentType.PASSPORT: N_("Passport"), DocumentType.ID_CARD: N_("ID card")}
_ROLE_ORDER = tuple(role for role in Role if role in REQUESTABLE_ROLES)

_DAMAGED = N_("The workbook is damaged and could not be read; open it in Excel, save it again as .xlsx and upload it")

_SHEET_NAME_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))
_APOSTROPHES = str.maketrans(dict.fromkeys("ʻʼ’‘`´", "'"))


@dataclass(frozen=True)
class _Header:
    """The header row: its number, the field of each (0-based) column, each field's text as found, and repeats."""

    row: int
    fields: dict[int, str]
    texts: dict[str, str]
    twice: list[str]


@dataclass(frozen=True)
class SheetRow:
    """One person read from the sheet, with the sheet's own row number (1-based, as Excel shows it)."""

    row_number: int
    entry: PersonEntry


class _Titles:
    """Column titles as a message parameter, translated when the message is shown rather than when raised."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = tuple(fields)

    def __str__(self) -> str:
        return ", ".join(gettext(_TITLES[field]) for field in self.fields)

    def __repr__(self) -> str:
        return f"_Titles({self.fields!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Titles) and other.fields == self.fields

    def __hash__(self) -> int:
        return hash(self.fields)


def _normal(text: str) -> str:
    """`text` as compared with titles and labels: case, spacing, apostrophes and a trailing * or : do not count."""
    return " ".join(text.translate(_APOSTROPHES).split()).rstrip("*: ").casefold()


def _in_every_language(msgid: str) -> set[str]:
    found = set()
    for code in LANGUAGES:
        with language(code):
            found.add(_normal(gettext(msgid)))
    return found


@cache
def _header_names() -> dict[str, str]:
    """Each accepted header text (normalised) and the field it names: the title in uz, ru or en, or the field."""
    names: dict[str, str] = {}
    for field, msgid in COLUMNS:
        for name in (*_in_every_language(msgid), field, field.replace("_", " ")):
            names[_normal(name)] = field
    return names


def _codes(labels: dict[str, str]) -> dict[str, str]:
    """Each accepted spelling (normalised) of a code: its label in uz, ru or en, or the code itself."""
    codes: dict[str, str] = {}
    for code, msgid in labels.items():
        for name in (*_in_every_language(msgid), code):
            codes[_normal(name)] = code
    return codes


@cache
def _role_codes() -> dict[str, str]:
    return _codes(_ROLE_LABELS)


@cache
def _document_codes() -> dict[str, str]:
    return _codes(_DOCUMENT_LABELS)


def _sheet_title(msgid: str) -> str:
    # Excel forbids some characters and more than 31 of them in a sheet name; a translation must not break it.
    return " ".join(gettext(msgid).translate(_SHEET_NAME_FORBIDDEN).split())[:31] or "Sheet"


def template(lang: str) -> bytes:
    """The .xlsx a manager downloads to list the people of a request, titled in `lang`."""
    with language(lang):
        workbook = Workbook()
        people = workbook.worksheets[0]
        people.title = _sheet_title(N_("People"))
        guide = workbook.create_sheet(_sheet_title(N_("Instructions")))

        guide["A1"] = gettext(
            N_(
                "List one person per row on the first sheet, under the header. Choose the identity document and the "
                "role from the drop-down lists; type the document series and number (like AA1234567) and the "
                "14-digit PINFL exactly as they are in the document."
            )
        )
        guide["A1"].alignment = Alignment(wrap_text=True, vertical="top")
        guide.merge_cells("A1:D1")
        guide.row_dimensions[1].height = 75
        lists = (
            ("roles", N_("Role"), [gettext(_ROLE_LABELS[role]) for role in _ROLE_ORDER]),
            ("document_types", N_("Identity document"), [gettext(_DOCUMENT_LABELS[kind]) for kind in DocumentType]),
        )
        for column, (name, title, labels) in enumerate(lists, start=1):
            letter = get_column_letter(column)
            guide.cell(row=3, column=column, value=gettext(title)).font = Font(bold=True)
            for offset, label in enumerate(labels):
                guide.cell(row=4 + offset, column=column, value=label)
            guide.column_dimensions[letter].width = 30
            # A defined name is the drop-down source every Excel and LibreOffice version accepts across sheets.
            reference = f"{quote_sheetname(guide.title)}!${letter}$4:${letter}${3 + len(labels)}"
            workbook.defined_names[name] = DefinedName(name, attr_text=reference)

        last = MAX_ROWS + 1
        for column, (field, msgid) in enumerate(COLUMNS, start=1):
            letter = get_column_letter(column)
            title = gettext(msgid)
            header = people.cell(row=1, column=column, value=title)
            header.font = Font(bold=True)
            header.alignment = Alignment(wrap_text=True, vertical="center")
            people.column_dimensions[letter].width = max(_WIDTHS.get(field, _DEFAULT_WIDTH), len(title) + 2)
            if field in _TEXT_COLUMNS:
                # The column style covers cells typed anywhere below; the cell styles cover pasting and LibreOffice.
                people.column_dimensions[letter].number_format = "@"
                for row in range(2, last + 1):
                    people.cell(row=row, column=column).number_format = "@"
            source = {"role": "roles", "document_type": "document_types"}.get(field)
            if source:
                choice = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True)
                choice.add(f"{letter}2:{letter}{last}")
                people.add_data_validation(choice)
        people.freeze_panes = "A2"
        workbook.active = 0

        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


def _refuse(message: str, **params: object) -> ValidationError:
    return ValidationError(message, field="file", **params)


def _check_container(data: bytes) -> None:
    """Refuse what is not a reasonable .xlsx before openpyxl sees it."""
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(
            N_("The file is larger than {limit} MB; split the people into several requests"),
            limit=MAX_FILE_BYTES // 2**20,
        )
    if data.startswith(_CFB_MAGIC):
        if _ENCRYPTION_STREAM in data:
            raise _refuse(N_("The workbook is protected with a password; save it without a password and upload it"))
        raise _refuse(N_("The file is an old Excel workbook (.xls); open it in Excel, save it as .xlsx and upload it"))
    not_xlsx = N_("The file is not an Excel workbook (.xlsx); download the template, fill it in and upload it")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        # A zip's local header up front but no readable directory: most likely an upload cut short.
        raise _refuse(_DAMAGED if data.startswith(b"PK\x03\x04") else not_xlsx) from None
    names = {member.filename for member in members}
    # An .ods, .docx or plain .zip is a zip too; only a SpreadsheetML package has both of these.
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        raise _refuse(not_xlsx)
    # zipfile stops each member at its declared size (and fails its CRC past it), so the sum is a real bound.
    if len(members) > _MAX_ZIP_MEMBERS or sum(member.file_size for member in members) > _MAX_UNPACKED_BYTES:
        raise _refuse(N_("The workbook is too large once unpacked; keep only the list of people in it"))


def _text(value: object) -> str:
    """A cell's value as the text a person typed; whole numbers lose the .0 Excel gives them."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # A PINFL typed into a General cell comes back as 30101901234569 or 3.0101901234569e13; both are exact
        # in a float (14 digits < 2**53), so int() gives the digits back.
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _is_formula(value: object) -> bool:
    # With data_only=False a formula cell reads as "=..." (or an array / data-table object); a text cell that
    # starts with "=" would become a formula again when this data is exported to a spreadsheet.
    return isinstance(value, ArrayFormula | DataTableFormula) or (
        isinstance(value, str) and value.strip().startswith("=")
    )


def _find_header(rows: Iterable[tuple[object, ...]]) -> _Header | None:
    """The row among `rows` naming the most columns (at least three), or None if no row does."""
    names = _header_names()
    best: _Header | None = None
    for number, row in enumerate(rows, start=1):
        fields: dict[int, str] = {}
        texts: dict[str, str] = {}
        twice: list[str] = []
        for column, value in enumerate(row):
            text = _text(value) if isinstance(value, str | int | float) else ""
            field = names.get(_normal(text))
            if field is None:
                continue
            if field in texts:
                twice.append(text)
                continue
            fields[column] = field
            texts[field] = text
        if len(fields) >= _MIN_HEADER_MATCHES and (best is None or len(fields) > len(best.fields)):
            best = _Header(number, fields, texts, twice)
    return best


def _rows(sheet: Any, *, min_row: int, max_row: int) -> Iterator[tuple[object, ...]]:
    # Every bound given: read-only mode then neither trusts the sheet's own (forgeable) dimensions nor fills in
    # rows and columns beyond them, so a lone cell at XFD1048576 costs nothing.
    rows: Iterator[tuple[object, ...]] = sheet.iter_rows(
        min_row=min_row, max_row=max_row, min_col=1, max_col=_MAX_COLUMNS, values_only=True
    )
    return rows


def _person(values: dict[str, str]) -> PersonEntry:
    # Unrecognised text stays as typed, so that file_request names the field that is wrong.
    role = _role_codes().get(_normal(values["role"]), values["role"])
    document_type = _document_codes().get(_normal(values["document_type"]), values["document_type"])
    return PersonEntry(**{**values, "role": role, "document_type": document_type})


def _read_people(sheet: Any, header: _Header, max_rows: int) -> list[SheetRow]:
    header_row, fields, texts = header.row, header.fields, header.texts
    if header.twice:
        # Two columns for one field: which one the person meant cannot be told, so neither is guessed.
        raise _refuse(N_("The column “{column}” appears twice in the header row"), column=header.twice[0])
    missing = [field for field, _ in COLUMNS if field not in texts]
    if missing:
        raise _refuse(N_("The header row lacks these columns: {columns}"), columns=_Titles(missing))
    limit = header_row + max(_ROW_SCAN_LIMIT, 2 * max_rows)
    people: list[SheetRow] = []
    for number, row in enumerate(_rows(sheet, min_row=header_row + 1, max_row=limit + 1), start=header_row + 1):
        if number > limit:
            raise _refuse(N_("The sheet has rows past row {row}; delete the empty rows under the list"), row=limit)
        values: dict[str, str] = {}
        for column, field in fields.items():
            value = row[column] if column < len(row) else None
            if _is_formula(value):
                raise _refuse(
                    N_("Row {row}, column {column} ({title}) holds a formula; type the value itself"),
                    row=number,
                    column=get_column_letter(column + 1),
                    title=texts[field],
                )
            values[field] = _text(value)
        if not any(values.values()):
            continue
        if len(people) == max_rows:
            raise _refuse(
                N_("The sheet lists more than {limit} people; split them into several requests"), limit=max_rows
            )
        people.append(SheetRow(number, _person(values)))
    if not people:
        raise _refuse(N_("The sheet lists nobody; fill in at least one row under the header"))
    return people


def read_sheet_rows(data: bytes, *, max_rows: int = MAX_ROWS) -> list[SheetRow]:
    """The people of an uploaded request sheet with their sheet row numbers, or ValidationError(field="file")."""
    _check_container(data)
    try:
        # read_only streams the sheet XML instead of building it whole; data_only=False keeps formulas visible.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception:  # openpyxl raises anything from KeyError to XML parse errors on a damaged package
        raise _refuse(_DAMAGED) from None
    try:
        for sheet in workbook.worksheets[:_MAX_SHEETS]:
            header = _find_header(_rows(sheet, min_row=1, max_row=_HEADER_SEARCH_ROWS))
            if header is not None:
                return _read_people(sheet, header, max_rows)
    except ValidationError:
        raise
    except Exception:  # as above: a sheet part can be damaged while the package opened fine
        raise _refuse(_DAMAGED) from None
    finally:
        workbook.close()  # read-only workbooks hold the archive open until closed
    raise _refuse(N_("No sheet of the workbook has the template's header row; download the template and fill it in"))


def read_sheet(data: bytes, *, max_rows: int = MAX_ROWS) -> list[PersonEntry]:
    """The people of an uploaded request sheet in sheet order, or ValidationError(field="file")."""
    return [row.entry for row in read_sheet_rows(data, max_rows=max_rows)]
