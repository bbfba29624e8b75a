"""What a browser posts back to a callback, read defensively: a forged request may put anything in any field."""

from __future__ import annotations

from datetime import date

import dash

from ehealth.errors import ValidationError
from ehealth.i18n import N_

LARGEST_ID = 2**63 - 1  # the database's bigint


def clicked() -> str | None:
    """The id of the button whose click fired the callback; None unless a real click (n_clicks ≥ 1) did."""
    for item in dash.ctx.triggered:
        prop_id = item.get("prop_id") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(prop_id, str) and prop_id.endswith(".n_clicks") and isinstance(value, int) and value > 0:
            return prop_id.rpartition(".")[0]
    return None


def changed() -> str | None:
    """The id of the component whose change fired the callback (Dash's own triggered_id fails on forged ids)."""
    for item in dash.ctx.triggered:
        prop_id = item.get("prop_id") if isinstance(item, dict) else None
        if isinstance(prop_id, str) and prop_id.rpartition(".")[0]:
            return prop_id.rpartition(".")[0]
    return None


def record_id(value: object) -> int | None:
    """A record id: a positive integer that fits the database, or None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= LARGEST_ID else None


def text(value: object, limit: int) -> str | None:
    """Typed text with its spaces tidied (None when empty); refused if too long or not printable."""
    tidy = " ".join(value.split()) if isinstance(value, str) else ""
    if len(tidy) > limit:
        raise ValidationError(N_("The text is too long: at most {limit} characters."), limit=limit)
    if not tidy.isprintable():
        raise ValidationError(N_("The text contains characters that cannot be saved."))
    return tidy or None


def typed_date(value: object, missing: str, field: str) -> date:
    """A date typed in the browser (YYYY-MM-DD); anything else is refused with the message `missing`."""
    if not isinstance(value, str):
        raise ValidationError(missing, field=field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(missing, field=field) from None


def pressed(button: str, *fields: str) -> bool:
    """True when a real click on `button`, or Enter in one of `fields`, fired the callback."""
    wanted = {f"{button}.n_clicks", *(f"{field}.n_submit" for field in fields)}
    for item in dash.ctx.triggered:
        prop_id = item.get("prop_id") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        if prop_id in wanted and isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return True
    return False
