"""Name keys and similarity: one name in Uzbek Latin, Uzbek Cyrillic and Russian meets on one key."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehealth.patients.names import jaro_winkler, name_key, similarity

SAME_NAME = [
    ("Тошматов Алишер", "Toshmatov Alisher"),
    ("ТОШМАТОВ алишер", "toshmatov  ALISHER"),
    ("Ғуломов", "G'ulomov"),
    ("Ғуломов", "Gʻulomov"),
    ("Ғуломов", "G‘ulomov"),
    ("Ғуломов", "G’ulomov"),
    ("Ғуломов", "G`ulomov"),
    ("Ғуломов", "Gulomov"),
    ("Гуломов", "Gulomov"),
    ("Юсупова", "Yusupova"),
    ("Юсупова", "Iusupova"),  # ICAO (Russian passports): ю = iu
    ("Хасанов", "Xasanov"),
    ("Хасанов", "Hasanov"),
    ("Хасанов", "Khasanov"),
    ("Ҳасанов", "Hasanov"),
    ("Эргашев", "Ergashev"),
    ("Yergashev", "Ergashev"),
    ("Алиев", "Aliyev"),  # Russian -ев, Uzbek -yev
    ("Алиева", "Aliyeva"),
    ("Дмитрий", "Dmitrii"),  # -ий: iy, ii, i
    ("Дмитрий", "Dmitriy"),
    ("Евгений", "Yevgeniy"),
    ("Джураев", "Djuraev"),
    ("Джураев", "Juraev"),
    ("Журавлёв", "Zhuravlyov"),
    ("Мухаммад", "Muxammad"),
    ("Мухаммад", "Mukhamad"),  # double letters written single
    ("Қодиров", "Qodirov"),
    ("Қодиров", "Kodirov"),
    ("Йўлдош", "Yo'ldosh"),
    ("Ёқубов", "Yoqubov"),
    ("Якубов", "Iakubov"),
    ("Мария", "Maria"),
    ("Шукуров", "Şukurov"),
    ("Ильич", "Ilich"),
    ("Абдулла-Ходжа", "Abdulla Xoja"),
]


@pytest.mark.parametrize(("a", "b"), SAME_NAME)
def test_spellings_of_one_name_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)
    assert similarity(a, b) == 1.0


def test_the_examples_of_the_brief() -> None:
    assert name_key("Тошматов Алишер") == "toshmatov alisher"
    assert {name_key(n) for n in ("Ғуломов", "G'ulomov", "Gʻulomov", "Gulomov")} == {"gulomov"}
    assert name_key("Юсупова") == name_key("Yusupova")
    assert {name_key(n) for n in ("Хасанов", "Xasanov", "Hasanov")} == {"hasanov"}
    assert name_key("Эргашев") == name_key("Ergashev") == "ergashev"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Қодиров", "Кадыров"),  # Russian writes the Uzbek o as a
        ("Jo'rayev", "Джураев"),  # and the Uzbek o' (ў) as u
        ("Toshmatov", "Toshmatova"),  # the female form
        ("Журавлёв", "Zhuravlev"),  # passports (ICAO) write ё as e
    ],
)
def test_close_spellings_are_very_similar(a: str, b: str) -> None:
    assert 0.88 <= similarity(a, b) < 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Toshmatov", "Tursunov"),
        ("Alisher", "Alijon"),
        ("Nilufar", "Nodira"),
        ("Aziz", "Anvar"),
        ("Karimov", "Rahimov"),
    ],
)
def test_different_names_are_not_similar(a: str, b: str) -> None:
    assert similarity(a, b) < 0.88


def test_similarity_of_nothing_is_zero() -> None:
    assert similarity("", "") == 0.0
    assert similarity("123", "!!") == 0.0
    assert similarity("Ali", "") == 0.0


def test_jaro_winkler_known_values() -> None:
    # The textbook pairs of Winkler (1990).
    assert jaro_winkler("martha", "marhta") == pytest.approx(0.9611, abs=1e-4)
    assert jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=1e-4)
    assert jaro_winkler("dixon", "dicksonx") == pytest.approx(0.8133, abs=1e-4)
    assert jaro_winkler("abc", "xyz") == 0.0
    assert jaro_winkler("same", "same") == 1.0


KEY = re.compile(r"^([a-z]+( [a-z]+)*)?$")


@given(st.text())
def test_name_key_is_idempotent_and_plain(text: str) -> None:
    key = name_key(text)
    assert KEY.match(key), key
    assert name_key(key) == key


@given(st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяўқғҳАБВГЕЁЖЗИЙЎҚҒҲ'ʻʼ’‘` -abcdefghijklmnopqrstuvwxyz"))
def test_name_key_is_idempotent_on_names(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)


@given(st.text(), st.text())
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    value = similarity(a, b)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(similarity(b, a))
