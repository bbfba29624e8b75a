"""My cabinet: what the personal cabinet stores about its owner (R-8)."""

from __future__ import annotations

from datetime import datetime

import dash
import dash_bootstrap_components as dbc
from dash import html

from auth.guard import guarded
from auth.permissions import Permission
from auth.user import user
from components.labels import (
    document_label,
    method_label,
    organization_kind_label,
    outcome_label,
    role_label,
    status_label,
)
from components.tables import table
from db import request_transaction
from ehealth.access.cabinet import recent_sign_ins, sign_in_methods
from ehealth.access.models import Cabinet
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import Organization

dash.register_page(
    __name__,
    path="/cabinet",
    order=90,
    title=lambda **_: gettext("My cabinet"),
    nav=N_("My cabinet"),
    permission=Permission.VIEW_CABINET,
)


@guarded(Permission.VIEW_CABINET)
def layout(**_query: str) -> html.Div:
    """The owner's cabinet record."""
    who = user()
    assert who is not None  # guarded
    with request_transaction() as db:
        cabinet = db.get(Cabinet, who.cabinet_id)
        assert cabinet is not None
        organization = db.get(Organization, cabinet.organization_id)
        methods = sign_in_methods(db, cabinet.id)
        history = recent_sign_ins(db, cabinet.id)
    rows = [
        (N_("ID number"), cabinet.id_number),
        (N_("Created"), _when(cabinet.created_at)),
        (N_("Full name"), cabinet.full_name),
        (N_("Position"), cabinet.position),
        (N_("Department"), cabinet.department_name),
        (N_("Role"), role_label(cabinet.role)),
        (
            N_("Organization"),
            f"{organization.name} ({organization_kind_label(organization.kind)})" if organization else "",
        ),
        (
            N_("Identity document"),
            f"{document_label(cabinet.document_type)} {cabinet.document_series} {cabinet.document_number}",
        ),
        (N_("PINFL"), cabinet.pinfl),
        (N_("E-mail"), cabinet.email),
        (N_("Status"), status_label(cabinet.status)),
    ]
    return html.Div(
        [
            html.H1(gettext("My cabinet"), className="h3"),
            dbc.Table(
                html.Tbody([html.Tr([html.Th(gettext(label)), html.Td(value)]) for label, value in rows]),
                bordered=False,
                className="bg-white w-auto",
                id="cabinet-table",
            ),
            html.H2(gettext("Sign-in methods"), className="h5 mt-4"),
            table(
                [N_("Method"), N_("Account or certificate"), N_("Last used")],
                [(method_label(m.kind), m.subject, _when(m.last_used_at)) for m in methods],
                "cabinet-methods",
            ),
            html.H2(gettext("Recent sign-ins"), className="h5 mt-4"),
            table(
                [N_("Time"), N_("Method"), N_("Result"), N_("Address")],
                [(_when(s.at), method_label(s.method), outcome_label(s.outcome), s.source_ip or "") for s in history],
                "cabinet-sign-ins",
            ),
        ]
    )


def _when(moment: datetime | None) -> str:
    """A time as the users read it: Tashkent time, to the minute."""
    return moment.astimezone(TASHKENT).strftime("%Y-%m-%d %H:%M") if moment else ""
