"""My cabinet: what the personal cabinet stores about its owner (R-8)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from auth.guard import guarded
from auth.permissions import Permission
from auth.user import user
from components.labels import document_label, organization_kind_label, role_label, status_label
from db import request_transaction
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
    rows = [
        (N_("ID number"), cabinet.id_number),
        (N_("Created"), cabinet.created_at.astimezone(TASHKENT).strftime("%Y-%m-%d %H:%M")),
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
        ]
    )
