"""Domain errors: each carries a message a user can act on, translated when it is shown."""

from __future__ import annotations

from ehealth.i18n import gettext


class DomainError(Exception):
    """A rule of the domain refused an action; str() gives the message in the current language."""

    def __init__(self, message: str, *, field: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.msgid = message
        self.field = field
        self.params = params

    def __str__(self) -> str:
        return gettext(self.msgid, **self.params)


class ValidationError(DomainError):
    """A value typed by a user (or sent by a system) is not acceptable."""


class ConstraintViolation(DomainError):
    """The database refused a write because it would break one of its constraints."""


class NotFound(DomainError):
    """The record asked for does not exist (or is not visible to the asker)."""
