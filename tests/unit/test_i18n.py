"""Every visible string is in the catalogs: translated into Uzbek and Russian, placeholders intact."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ehealth.errors import ValidationError
from ehealth.i18n import LOCALE_DIR, gettext, language
from settings import ROOT

SOURCES = ("app.py", "auth", "components", "ehealth", "pages", "templates")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def source_messages() -> frozenset[str]:
    """Every msgid the code and templates mark for translation."""
    found: set[str] = set()
    for source in SOURCES:
        path = ROOT / source
        if path.is_file():
            entries = extract_from_dir(ROOT, [(source, "python")], keywords=KEYWORDS)
        else:
            entries = extract_from_dir(path, [("**.py", "python"), ("**.html", "jinja2")], keywords=KEYWORDS)
        for _file, _line, message, _comments, _context in entries:
            found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)


def catalog(code: str) -> Catalog:
    with Path(LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def test_sources_have_messages() -> None:
    assert "Sign in" in source_messages()
    assert "A patient with this PINFL is already registered." in source_messages()


@pytest.mark.parametrize("code", ["uz", "ru"])
def test_every_message_is_translated(code: str) -> None:
    translated = set()
    for message in catalog(code):
        # A plural entry's id and string are tuples: translated when every form the language has is filled in.
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and all(forms):
            translated.add(message.id if isinstance(message.id, str) else message.id[0])
    missing = sorted(m for m in source_messages() if m not in translated)
    assert missing == [], f"run `make i18n` and translate these in {code}: {missing}"


@pytest.mark.parametrize("code", ["uz", "ru"])
def test_translations_keep_placeholders(code: str) -> None:
    for message in catalog(code):
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else message.id
        strings = (message.string,) if isinstance(message.string, str) else (message.string or ())
        expected = set(PLACEHOLDER.findall(ids[-1]))  # a plural's forms follow the plural msgid
        for string in strings:
            if string:
                assert set(PLACEHOLDER.findall(string)) <= expected | {"n"}, (message.id, string)
                assert set(PLACEHOLDER.findall(string)) >= expected - {"n"}, (message.id, string)


def test_domain_errors_speak_the_users_language() -> None:
    error = ValidationError("PINFL must have 14 digits; {count} given", field="pinfl", count=3)
    with language("en"):
        english = str(error)
    with language("ru"):
        russian = str(error)
    with language("uz"):
        uzbek = str(error)
    assert english == "PINFL must have 14 digits; 3 given"
    assert len({english, russian, uzbek}) == 3 and all("3" in text for text in (russian, uzbek))


def test_uzbek_is_the_default() -> None:
    assert gettext("Sign in") == catalog("uz").get("Sign in").string  # type: ignore[union-attr]
