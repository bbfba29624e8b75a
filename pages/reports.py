"""Reports (R-1, R-5, R-21): a manager reads their organization's figures over a period, per department where it
applies, as tables and charts, and exports them to Excel or PDF in the background; the ministry's admin may pick any
organization. Every scope the browser posts is checked again by ehealth.reports.base.scope_of."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app
from sqlalchemy import or_, select

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.posted import clicked, record_id, text, typed_date
from components.refusals import refusal
from components.report_view import report_view
from db import request_transaction
from ehealth.access.models import Role
from ehealth.audit.trail import record
from ehealth.calendar import today
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, current_language, gettext
from ehealth.reference.models import Department, Organization, OrganizationKind
from ehealth.reports import catalog
from ehealth.reports.base import REGISTRY, Scope, build, offered, scope_of
from ehealth.reports.exports import EXPORTER_KEY, export_status, request_export
from ehealth.reports.models import ExportFormat, ExportState

dash.register_page(
    __name__,
    path="/reports",
    order=70,
    title=lambda **_: gettext("Reports"),
    nav=N_("Reports"),
    permission=Permission.VIEW_REPORTS,
)

SEARCH_LENGTH = 60
POLL_MS = 1000
FIELDS: dict[str, str] = {"period": N_("Period"), "department": N_("Department")}
ALL_DEPARTMENTS = "all"
assert catalog.KEYS  # every report module is registered before the page offers them


def _organizations(db: Any, typed: str) -> list[dict[str, str]]:
    pattern = "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = db.execute(
        select(Organization.id, Organization.name, Organization.stir)
        .where(
            Organization.kind.in_([OrganizationKind.POLYCLINIC, OrganizationKind.HOSPITAL, OrganizationKind.PHARMACY]),
            or_(Organization.name.ilike(pattern, escape="\\"), Organization.stir.like(pattern, escape="\\")),
        )
        .order_by(Organization.name)
        .limit(20)
    ).all()
    return [{"label": f"{name} · {stir}", "value": str(org_id)} for org_id, name, stir in rows]


def _choices(db: Any, organization: Organization) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The reports offered to the organization's kind, and its departments."""
    reports = [
        {"label": gettext(spec.title), "value": spec.key} for spec in offered(OrganizationKind(organization.kind))
    ]
    departments = [{"label": gettext("All departments"), "value": ALL_DEPARTMENTS}] + [
        {"label": name, "value": str(dept_id)}
        for dept_id, name in db.execute(
            select(Department.id, Department.name)
            .where(Department.organization_id == organization.id)
            .order_by(Department.name)
        ).all()
    ]
    return reports, departments


def _filters(
    who: PortalUser, organization: Organization | None, reports: list[Any], departments: list[Any]
) -> dbc.Card:
    first = today().replace(day=1)
    org_options = [{"label": organization.name, "value": str(organization.id)}] if organization else []
    org_control = dcc.Dropdown(
        id="reports-org",
        options=org_options,
        value=str(organization.id) if organization else None,
        disabled=who.role != Role.ADMIN,
        placeholder=gettext("Type the organization's name or STIR"),
        clearable=False,
    )
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col([dbc.Label(gettext("Organization"), html_for="reports-org"), org_control], lg=4),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Report"), html_for="reports-kind"),
                                dbc.Select(
                                    id="reports-kind", options=reports, value=reports[0]["value"] if reports else None
                                ),
                            ],
                            lg=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Department"), html_for="reports-dept"),
                                dbc.Select(id="reports-dept", options=departments, value=ALL_DEPARTMENTS),
                            ],
                            lg=4,
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("From"), html_for="reports-from"),
                                dbc.Input(id="reports-from", type="date", value=first.isoformat()),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("To"), html_for="reports-to"),
                                dbc.Input(id="reports-to", type="date", value=today().isoformat()),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            dbc.Button(gettext("Show"), id="reports-show", color="primary", className="w-100"),
                            md=2,
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(
                    [
                        dbc.Button(
                            gettext("Export to Excel"), id="reports-xlsx", color="secondary", outline=True, size="sm"
                        ),
                        dbc.Button(
                            gettext("Export to PDF"), id="reports-pdf", color="secondary", outline=True, size="sm"
                        ),
                        html.Span(
                            gettext("Exports are prepared in the background; you may keep working."),
                            className="small text-muted align-self-center",
                        ),
                    ],
                    className="d-flex gap-2 mt-2",
                ),
            ]
        ),
        className="mb-3",
    )


@guarded(Permission.VIEW_REPORTS)
def layout(**_query: str) -> html.Div:
    """The filters, the report, and the export area."""
    who = user()
    assert who is not None
    with request_transaction() as db:
        organization = db.get(Organization, who.organization_id)
        reports, departments = _choices(db, organization) if organization else ([], [])
        if who.role == Role.ADMIN and organization is not None and organization.kind == OrganizationKind.MINISTRY:
            organization, reports, departments = None, [], []  # the ministry has no reports of its own: pick one
    return html.Div(
        [
            html.H1(gettext("Reports"), className="h3"),
            _filters(who, organization, reports, departments),
            html.Div(id="reports-export", className="mb-3"),
            dcc.Store(id="reports-export-token"),
            dcc.Interval(id="reports-poll", interval=POLL_MS, disabled=True),
            dcc.Loading(html.Div(id="reports-result"), type="default"),
        ],
        id="reports-page",
    )


@callback(
    Output("reports-org", "options"),
    Input("reports-org", "search_value"),
    State("reports-org", "value"),
    State("reports-org", "options"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW_REPORTS)
def find_organization(typed: object, chosen: object, options: object) -> list[dict[str, str]]:
    """The ministry admin looks an organization up by name or STIR."""
    who = user()
    words = text(typed, SEARCH_LENGTH)
    if who is None or who.role != Role.ADMIN or not words or len(words) < 2:
        raise PreventUpdate
    with request_transaction() as db:
        found = _organizations(db, words)
    kept = (
        [option for option in options if isinstance(option, dict) and option.get("value") == chosen]
        if isinstance(options, list)
        else []
    )
    return kept + [option for option in found if option["value"] != chosen]


@callback(
    Output("reports-kind", "options"),
    Output("reports-kind", "value"),
    Output("reports-dept", "options"),
    Output("reports-dept", "value"),
    Input("reports-org", "value"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW_REPORTS)
def organization_chosen(value: object) -> tuple[Any, Any, Any, Any]:
    """The reports and departments of the chosen organization (only an admin may choose another)."""
    who = user()
    organization_id = record_id(value)
    if who is None or organization_id is None:
        raise PreventUpdate
    if who.role != Role.ADMIN and organization_id != who.organization_id:
        raise PreventUpdate
    with request_transaction() as db:
        organization = db.get(Organization, organization_id)
        if organization is None:
            raise PreventUpdate
        reports, departments = _choices(db, organization)
    return reports, reports[0]["value"] if reports else None, departments, ALL_DEPARTMENTS


@callback(
    Output("reports-dept", "disabled"),
    Input("reports-kind", "value"),
)
@requires(Permission.VIEW_REPORTS)
def report_chosen(kind: object) -> bool:
    """The department filter only for reports that have departments (a pharmacy's or the staff report have none)."""
    spec = REGISTRY.get(kind) if isinstance(kind, str) else None
    return spec is None or not spec.departments


def _scope(db: Any, who: PortalUser, org: object, dept: object, start: object, end: object) -> Scope:
    department = None if dept in (None, "", ALL_DEPARTMENTS) else record_id(dept)
    if dept not in (None, "", ALL_DEPARTMENTS) and department is None:
        raise ValidationError(N_("The department was not found in this organization."), field="department")
    return scope_of(
        db,
        who.acting(),
        organization_id=record_id(org),
        start=typed_date(start, N_("Choose the first day of the period."), "period"),
        end=typed_date(end, N_("Choose the last day of the period."), "period"),
        department_id=department,
    )


def _report_key(value: object) -> str:
    key = text(value, 40)
    if not key:
        raise ValidationError(N_("Choose a report."))
    return key


@callback(
    Output("reports-result", "children"),
    Input("reports-show", "n_clicks"),
    State("reports-org", "value"),
    State("reports-kind", "value"),
    State("reports-dept", "value"),
    State("reports-from", "value"),
    State("reports-to", "value"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW_REPORTS)
def show_report(_clicks: object, org: object, kind: object, dept: object, start: object, end: object) -> Any:
    """Build the report for the scope chosen (audited: who read which organization's figures)."""
    who = user()
    if who is None or clicked() != "reports-show":
        raise PreventUpdate
    try:
        with request_transaction() as db:
            scope = _scope(db, who, org, dept, start, end)
            key = _report_key(kind)
            report = build(db, key, scope)
            record(
                db,
                who.acting(),
                "report.viewed",
                object_type="organization",
                object_id=scope.organization_id,
                detail=f"{key} {scope.start}..{scope.end} dept={scope.department_id or '-'}",
            )
    except DomainError as error:
        return refusal(error, "reports-error", FIELDS)
    return report_view(report)


@callback(
    Output("reports-export", "children"),
    Output("reports-export-token", "data"),
    Output("reports-poll", "disabled"),
    Input("reports-xlsx", "n_clicks"),
    Input("reports-pdf", "n_clicks"),
    State("reports-org", "value"),
    State("reports-kind", "value"),
    State("reports-dept", "value"),
    State("reports-from", "value"),
    State("reports-to", "value"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW_REPORTS)
def ask_export(
    _xlsx: object, _pdf: object, org: object, kind: object, dept: object, start: object, end: object
) -> tuple[Any, Any, Any]:
    """Queue an export and start polling its progress; the file is prepared by a background worker."""
    who = user()
    button = clicked()
    if who is None or button not in ("reports-xlsx", "reports-pdf"):
        raise PreventUpdate
    fmt = ExportFormat.XLSX if button == "reports-xlsx" else ExportFormat.PDF
    try:
        with request_transaction() as db:
            scope = _scope(db, who, org, dept, start, end)
            export = request_export(
                db, who.acting(), report_key=_report_key(kind), scope=scope, fmt=fmt, language=current_language()
            )
            export_id, token = export.id, export.token
    except DomainError as error:
        return refusal(error, "reports-export-error", FIELDS), no_update, no_update
    current_app.extensions[EXPORTER_KEY].submit(export_id)
    return _progress(0, fmt), token, False


def _progress(percent: int, fmt: ExportFormat | str) -> html.Div:
    label = gettext("Preparing the {format} file…", format="Excel" if fmt == ExportFormat.XLSX else "PDF")
    return html.Div(
        [html.Div(label, className="small"), dbc.Progress(value=percent, label=f"{percent} %", id="reports-progress")],
        id="reports-export-running",
    )


@callback(
    Output("reports-export", "children", allow_duplicate=True),
    Output("reports-poll", "disabled", allow_duplicate=True),
    Input("reports-poll", "n_intervals"),
    State("reports-export-token", "data"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW_REPORTS)
def poll_export(_ticks: object, token: object) -> tuple[Any, Any]:
    """Show the export's progress; once done, the link to the file (only its requester may take it)."""
    who = user()
    if who is None or not isinstance(token, str) or not token or len(token) > 64:
        raise PreventUpdate
    try:
        with request_transaction() as db:
            export = export_status(db, who.acting(), token)
            state, percent, fmt, name, error = (
                export.state,
                export.progress,
                export.format,
                export.file_name,
                export.error,
            )
    except DomainError as failure:
        return refusal(failure, "reports-export-error"), True
    if state == ExportState.DONE:
        link = html.A(
            [gettext("Download"), " ", name or ""],
            href=f"/reports/download/{token}",
            className="btn btn-success btn-sm",
            id="reports-download",
        )
        return dbc.Alert([gettext("The file is ready."), " ", link], color="success", id="reports-export-done"), True
    if state == ExportState.FAILED:
        message = error or gettext(
            "The export failed; please try again later."
        )  # already a sentence in the user's language
        return dbc.Alert(message, color="danger", id="reports-export-failed"), True
    return _progress(percent, fmt), False
