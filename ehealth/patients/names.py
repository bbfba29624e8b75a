"""Name matching across Uzbek Latin, Uzbek Cyrillic and Russian Cyrillic spellings (R-13.1 duplicate search).

`name_key` reduces a name to a plain Latin key in which the usual spellings of one name coincide: Cyrillic is
transliterated, apostrophes and case are dropped, and the variants of the transliteration schemes in use
(Uzbek Latin, Russian passport ICAO, old Soviet forms) are folded onto one letter each. The key is for
comparison only and is never shown. `similarity` compares two keys with Jaro-Winkler.
"""

from __future__ import annotations

import re
import unicodedata

# Uzbek Cyrillic and Russian letters, Latin in the Uzbek official alphabet where it has one (ў→o, қ→q, ғ→g, ҳ→h).
# Signs and the Uzbek tutuq belgisi (ъ) carry no sound of their own in a name, so they go.
_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "yo",
    "ж": "j",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "x",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    "ў": "o",
    "қ": "q",
    "ғ": "g",
    "ҳ": "h",
    # Karakalpak and Kazakh letters seen in names from Karakalpakstan.
    "ң": "ng",
    "ә": "a",
    "ө": "o",
    "ү": "u",
    "і": "i",
    "ұ": "u",
}
# Latin letters with diacritics written for Uzbek sounds (older Turkic-style Latin) before accents are stripped.
_LATIN_SPECIAL = {"ş": "sh", "ç": "ch", "ğ": "g", "ı": "i", "ñ": "ng", "ß": "ss"}
_TRANSLITERATE = str.maketrans({**_CYRILLIC, **_LATIN_SPECIAL})

# Every apostrophe-like mark: oʻ gʻ and the tutuq belgisi in all their keyboard forms are dropped (G'ulomov = Gulomov).
_APOSTROPHES = "'ʻʼ’‘`´ʹ′\u02bd\u02c8"
_SEPARATORS = re.compile(r"[\s\-‐‑–—_.,]+")
_NOT_KEY = re.compile(r"[^a-z ]")

# Spelling variants folded onto one form, applied in order until nothing changes:
# Russian -ев/-ева (Aliev) = Uzbek -yev/-yeva (Aliyev), and word-initial Е (Ergash) = Ye (Yergash);
# х is kh (Russian, ICAO) or x (Uzbek) or h (common misspelling); ж is zh (ICAO), dzh/dj (Soviet forms of дж) or j;
# қ is q in Uzbek Latin and к in Russian; w is a foreign v; every remaining y becomes i so that the ICAO
# forms iu/ia/ii (Iusupov, Dmitrii) meet yu/ya/iy (Yusupov, Dmitriy); doubled letters are written single as often.
_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"ye"), "e"),
    (re.compile(r"kh|x"), "h"),
    (re.compile(r"zh"), "j"),
    (re.compile(r"dj"), "j"),
    (re.compile(r"q"), "k"),
    (re.compile(r"w"), "v"),
    (re.compile(r"y"), "i"),
    (re.compile(r"([a-z])\1+"), r"\1"),
)
# Each fold shortens the key or removes one of x, q, w, y (which no fold produces), so a fixpoint comes quickly.
_MAX_ROUNDS = 20


def _fold(text: str) -> str:
    for _ in range(_MAX_ROUNDS):
        folded = text
        for pattern, replacement in _FOLDS:
            folded = pattern.sub(replacement, folded)
        if folded == text:
            return folded
        text = folded
    return text


def name_key(text: str) -> str:
    """A Latin key on which Uzbek Latin, Uzbek Cyrillic and Russian spellings of one name coincide."""
    lowered = unicodedata.normalize("NFC", text).casefold()
    latin = lowered.translate(_TRANSLITERATE)
    # Decompose to strip accents (é, ö); the Cyrillic ones (й, ё) were transliterated above.
    plain = "".join(char for char in unicodedata.normalize("NFKD", latin) if not unicodedata.combining(char))
    plain = plain.translate(str.maketrans("", "", _APOSTROPHES)).translate(_TRANSLITERATE).casefold()
    words = _NOT_KEY.sub("", _SEPARATORS.sub(" ", plain)).split()
    return " ".join(folded for folded in (_fold(word) for word in words) if folded)


def _jaro(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    matched_b = [False] * len(b)
    matches_a: list[str] = []
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not matched_b[j] and b[j] == char:
                matched_b[j] = True
                matches_a.append(char)
                break
    if not matches_a:
        return 0.0
    matches_b = [char for j, char in enumerate(b) if matched_b[j]]
    transpositions = sum(x != y for x, y in zip(matches_a, matches_b, strict=True)) / 2
    m = len(matches_a)
    return (m / len(a) + m / len(b) + (m - transpositions) / m) / 3


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity of two strings, 0 (nothing shared) to 1 (equal); a shared start counts more."""
    jaro = _jaro(a, b)
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def similarity(a: str, b: str) -> float:
    """How alike two names are, 0 to 1, compared on their keys (1: the same name in any spelling)."""
    key_a, key_b = name_key(a), name_key(b)
    # A name with no letters left (digits, punctuation) is like nothing, not equal to another such name.
    if not key_a or not key_b:
        return 0.0
    return jaro_winkler(key_a, key_b)
