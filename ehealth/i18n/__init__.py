"""Translation of every visible string: gettext catalogs for uz (Latin, default), ru and en."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES: tuple[str, ...] = ("uz", "ru", "en")
DEFAULT_LANGUAGE = "uz"
# The name each language has in itself, for the switcher.
LANGUAGE_NAMES: dict[str, str] = {"uz": "O'zbekcha", "ru": "Русский", "en": "English"}

_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of whoever is being served now."""
    return _language.get()


def set_language(language: str) -> Token[str]:
    """Serve the rest of this context in `language` (unknown codes fall back to the default)."""
    return _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def reset_language(token: Token[str]) -> None:
    """Undo a set_language (at the end of a request)."""
    _language.reset(token)


@contextmanager
def language(code: str) -> Iterator[None]:
    """Translate into `code` inside the block, then restore the previous language."""
    token = _language.set(code if code in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


@cache
def catalog(code: str) -> NullTranslations:
    """The compiled catalog of one language (msgids are English, so `en` may be empty)."""
    translations = Translations.load(str(LOCALE_DIR), [code], domain="messages")
    return translations


def gettext(message: str, **params: object) -> str:
    """Translate `message` into the current language and fill its {named} parameters."""
    text = catalog(current_language()).gettext(message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """Translate a message whose form depends on the count `n` (available as {n})."""
    text = catalog(current_language()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it yet (translated where shown)."""
    return message


_ = gettext
