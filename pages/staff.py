"""Staff and notices (R-10): the organization's manager sees the organization's cabinets and gives the ministry
written notice of a termination or transfer within 3 working days; both deadlines show, overdue ones highlighted."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html
from dash.exceptions import PreventUpdate
from flask import current_app, request

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.labels import notice_label, role_label, status_label
from components.posted import clicked, record_id, text, typed_date
from components.tables import table
from db import request_transaction
from ehealth.access.cabinet import staff_of
from ehealth.access.models import POSITION_LENGTH, Cabinet, CabinetStatus, NoticeKind
from ehealth.access.notices import NoticeLine, notices_of, record_notice
from ehealth.calendar import today
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, gettext

dash.register_page(
    __name__,
    path="/staff",
    order=62,
    title=lambda **_: gettext("Staff and notices"),
    nav=N_("Staff and notices"),
    permission=Permission.MANAGE_STAFF,
)

# Only a cabinet still in use can be reported; an archived one has already been dealt with.
NOTIFIABLE = frozenset({CabinetStatus.ACTIVE, CabinetStatus.BLOCKED})


def _staff_table(cabinets: list[Cabinet]) -> html.P | dbc.Table:
    headers = [N_("Full name"), N_("ID number"), N_("Position"), N_("Department"), N_("Role"), N_("Status")]
    rows = [
        html.Tr(
            [
                html.Td(cabinet.full_name),
                html.Td(cabinet.id_number),
                html.Td(cabinet.position),
                html.Td(cabinet.department_name),
                html.Td(role_label(cabinet.role)),
                html.Td(status_label(cabinet.status)),
            ],
            className="text-muted" if cabinet.status != CabinetStatus.ACTIVE else None,
        )
        for cabinet in cabinets
    ]
    return table(headers, rows, "staff-people", scroll=True)


def _notices_table(lines: list[NoticeLine]) -> html.P | dbc.Table:
    headers = [
        N_("Employee"),
        N_("Event"),
        N_("Date of the event"),
        N_("Notice due"),
        N_("Notified on"),
        N_("Action due"),
        N_("Ministry action"),
    ]
    return table(headers, [_notice_row(line) for line in lines], "staff-notices", scroll=True)


def _notice_row(line: NoticeLine) -> html.Tr:
    status, notice = line.status, line.status.notice
    late = [" ", dbc.Badge(gettext("Late"), color="warning", text_color="dark")] if status.notified_late else []
    overdue = [" ", dbc.Badge(gettext("Overdue"), color="danger")] if status.action_overdue else []
    action = notice_label(notice.action) if notice.action else gettext("Awaiting the ministry")
    row_class = "table-danger" if status.action_overdue else "table-warning" if status.notified_late else None
    return html.Tr(
        [
            html.Td([line.full_name, html.Br(), html.Small(line.id_number, className="text-muted")]),
            html.Td(notice_label(notice.kind)),
            html.Td(notice.event_date.isoformat()),
            html.Td(notice.notice_due_on.isoformat()),
            html.Td([notice.notified_on.isoformat(), *late]),
            html.Td([notice.action_due_on.isoformat(), *overdue]),
            html.Td(action),
        ],
        className=row_class,
        id=f"staff-notices-row-{notice.id}",
    )


def _own_notices(who: PortalUser) -> html.P | dbc.Table:
    with request_transaction() as db:
        return _notices_table(notices_of(db, who.organization_id, today()))


def _notice_form(cabinets: list[Cabinet], day: date) -> dbc.Card:
    people = [
        {"label": f"{cabinet.full_name} — {cabinet.position} ({cabinet.id_number})", "value": str(cabinet.id)}
        for cabinet in cabinets
        if cabinet.status in NOTIFIABLE
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Record a notice"), className="h5"),
                dbc.Label(gettext("Employee"), html_for="staff-notice-cabinet"),
                dbc.Select(
                    id="staff-notice-cabinet",
                    options=people,
                    placeholder=gettext("Choose the employee"),
                    className="mb-3",
                ),
                dbc.Label(gettext("Event"), html_for="staff-notice-kind"),
                dbc.RadioItems(
                    id="staff-notice-kind",
                    options=[{"label": notice_label(kind), "value": str(kind)} for kind in NoticeKind],
                    value=str(NoticeKind.TERMINATION),
                    inline=True,
                    className="mb-3",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("Date of the event"), html_for="staff-notice-event"),
                                dbc.Input(id="staff-notice-event", type="date", max=day.isoformat()),
                            ]
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Date of the notice"), html_for="staff-notice-notified"),
                                dbc.Input(
                                    id="staff-notice-notified", type="date", value=day.isoformat(), max=day.isoformat()
                                ),
                            ]
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("New position (for a transfer)"), html_for="staff-notice-position"),
                                dbc.Input(id="staff-notice-position", maxLength=POSITION_LENGTH, disabled=True),
                            ]
                        ),
                    ],
                    className="mb-3",
                ),
                dbc.Button(gettext("Record the notice"), id="staff-notice-submit", color="primary"),
            ]
        ),
        className="mb-4",
    )


@guarded(Permission.MANAGE_STAFF)
def layout(**_query: str) -> html.Div:
    """The organization's cabinets, the notice form and the organization's notices with their deadlines."""
    who = user()
    assert who is not None  # guarded
    day = today()
    with request_transaction() as db:
        cabinets = staff_of(db, who.organization_id)
        notices = notices_of(db, who.organization_id, day)
    return html.Div(
        [
            html.H1(gettext("Staff and notices"), className="h3"),
            html.P(
                gettext(
                    "When an employee leaves or moves to another position, give the ministry written notice within "
                    "3 working days. The ministry updates the rights or blocks the cabinet within 3 working days of "
                    "the notice."
                ),
                className="text-muted",
            ),
            html.Div(id="staff-notice-result"),
            _notice_form(cabinets, day),
            html.H2(gettext("Our notices"), className="h5"),
            html.Div(_notices_table(notices), id="staff-notices-box", className="mb-4"),
            html.H2(gettext("Our staff"), className="h5"),
            html.Div(_staff_table(cabinets), id="staff-people-box"),
        ]
    )


@callback(
    Output("staff-notice-position", "disabled"),
    Input("staff-notice-kind", "value"),
)
@requires(Permission.MANAGE_STAFF)
def position_for_transfer(kind: object) -> bool:
    """The new position is asked only for a transfer."""
    return kind != NoticeKind.TRANSFER


@callback(
    Output("staff-notice-result", "children"),
    Output("staff-notices-box", "children"),
    Input("staff-notice-submit", "n_clicks"),
    State("staff-notice-cabinet", "value"),
    State("staff-notice-kind", "value"),
    State("staff-notice-event", "value"),
    State("staff-notice-notified", "value"),
    State("staff-notice-position", "value"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_STAFF)
def submit_notice(
    _clicks: object, cabinet: object, kind: object, event: object, notified: object, position: object
) -> tuple[Any, Any]:
    """Record the notice for one of the user's own cabinets, or say what is wrong and save nothing."""
    who = user()
    if who is None or clicked() != "staff-notice-submit":
        raise PreventUpdate
    settings = current_app.config["EHEALTH_SETTINGS"]
    now = today()
    try:
        event_date = typed_date(event, N_("Enter the date of the event."), "event_date")
        notified_on = typed_date(notified, N_("Enter the date of the notice."), "notified_on")
        if notified_on > now:
            raise ValidationError(N_("The notice cannot be dated later than today."), field="notified_on")
        new_position = text(position, POSITION_LENGTH) if kind == NoticeKind.TRANSFER else None
        with request_transaction() as db:
            cabinet_id = record_id(cabinet)
            # The browser's choice is checked against the organization's own list, never trusted.
            own = {c.id for c in staff_of(db, who.organization_id) if c.status in NOTIFIABLE}
            if cabinet_id is None or cabinet_id not in own:
                raise ValidationError(N_("Choose an employee from the list."), field="cabinet_id")
            notice = record_notice(
                db,
                cabinet_id=cabinet_id,
                kind=kind if isinstance(kind, str) else "",
                event_date=event_date,
                notified_on=notified_on,
                new_position=new_position,
                author=who.actor(request.remote_addr),
                week_days=settings.working_week_days,
            )
            action_due, notice_due, late = (
                notice.action_due_on,
                notice.notice_due_on,
                notified_on > notice.notice_due_on,
            )
    except DomainError as error:
        return dbc.Alert(str(error), color="danger", id="staff-notice-error"), dash.no_update
    message = [gettext("The notice was recorded. The ministry is to act by {due}.", due=action_due.isoformat())]
    if late:
        message += [" ", gettext("It was due by {due}: it is recorded as late.", due=notice_due.isoformat())]
    return (
        dbc.Alert(message, color="warning" if late else "success", id="staff-notice-recorded"),
        _own_notices(who),
    )
