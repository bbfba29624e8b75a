"""A service's refusal shown on a page: its message, led by the form's name of the field it concerns."""

from __future__ import annotations

from collections.abc import Mapping

import dash_bootstrap_components as dbc

from ehealth.errors import DomainError
from ehealth.i18n import gettext


def refusal(error: DomainError, component_id: str, fields: Mapping[str, str] | None = None) -> dbc.Alert:
    """The service's message (already translated), with the form's name of the field it concerns when known."""
    name = (fields or {}).get(error.field or "")
    message = f"{gettext(name)}: {error}" if name else str(error)
    return dbc.Alert(message, color="danger", id=component_id)
