"""The page shown for an address that does not exist."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from ehealth.i18n import gettext

dash.register_page(__name__, title=lambda **_: gettext("Page not found"))


def layout(**_query: str) -> dbc.Alert:
    """A plain message and a way home."""
    return dbc.Alert(
        [
            html.H4(gettext("Page not found"), className="alert-heading"),
            html.P(gettext("There is no page at this address.")),
            html.A(gettext("Go to the home page"), href="/", className="alert-link"),
        ],
        color="warning",
        id="not-found",
    )
