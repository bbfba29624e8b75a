"""Home page: a greeting and the figures that matter to the user's role."""

from __future__ import annotations

from datetime import datetime

import dash
import dash_bootstrap_components as dbc
from dash import html

from auth.guard import guarded
from auth.permissions import Permission
from auth.user import user
from components.figures import kpi_cards
from components.labels import role_label
from db import request_transaction
from ehealth.home import Viewer, summary
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import Organization

dash.register_page(
    __name__,
    path="/",
    order=0,
    title=lambda **_: gettext("Electronic Health"),
    nav=N_("Home"),
    permission=Permission.VIEW_HOME,
)


@guarded(Permission.VIEW_HOME)
def layout(**_query: str) -> html.Div:
    """Greeting, organization and the role's figures."""
    who = user()
    assert who is not None  # guarded
    today = datetime.now(TASHKENT).date()
    with request_transaction() as db:
        organization = db.get(Organization, who.organization_id)
        figures = summary(db, Viewer(who.cabinet_id, who.role, who.organization_id), today)
    return html.Div(
        [
            html.H1(gettext("Welcome, {name}", name=who.full_name), className="h3", id="home-greeting"),
            html.P(
                [role_label(who.role), " · ", organization.name if organization else ""],
                className="text-muted",
                id="home-organization",
            ),
            kpi_cards(figures, "home"),
            dbc.Alert(gettext("Figures are for today, {date} (Tashkent time).", date=today.isoformat()), color="light"),
        ]
    )
