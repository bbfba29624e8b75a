"""Employment notices (R-10): the ministry administrator acts on the organizations' notices within 3 working days:
updates the rights after a transfer, or blocks the cabinet and moves it to the archive after a termination."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html
from dash.exceptions import PreventUpdate
from flask import current_app, request

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import user
from components.labels import notice_label, role_label
from components.posted import clicked, record_id, text
from components.tables import table
from db import request_transaction
from ehealth.access.models import POSITION_LENGTH, NoticeKind, Role
from ehealth.access.notices import (
    NoticeLine,
    block_and_archive,
    pending_notice_line,
    pending_notice_lines,
    update_rights,
)
from ehealth.access.requests import REQUESTABLE_ROLES
from ehealth.calendar import today
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_, gettext

dash.register_page(
    __name__,
    path="/access/notices",
    order=64,
    title=lambda **_: gettext("Employment notices"),
    nav=N_("Employment notices"),
    permission=Permission.MANAGE_ACCESS,
)


def _notices_table(lines: list[NoticeLine]) -> html.P | dbc.Table:
    headers = [
        N_("Number"),
        N_("Organization"),
        N_("Employee"),
        N_("Event"),
        N_("Date of the event"),
        N_("Notice due"),
        N_("Notified on"),
        N_("Action due"),
    ]
    return table(
        headers,
        [_row(line) for line in lines],
        "notices-list",
        empty=N_("No notices are awaiting the ministry."),
        scroll=True,
    )


def _row(line: NoticeLine) -> html.Tr:
    status, notice = line.status, line.status.notice
    late = [" ", dbc.Badge(gettext("Late"), color="warning", text_color="dark")] if status.notified_late else []
    overdue = [" ", dbc.Badge(gettext("Overdue"), color="danger")] if status.action_overdue else []
    who: list[Any] = [
        line.full_name,
        html.Br(),
        html.Small(f"{line.id_number} · {line.position}", className="text-muted"),
    ]
    kind: list[Any] = [notice_label(notice.kind)]
    if notice.kind == NoticeKind.TRANSFER and notice.new_position:
        kind += [html.Br(), html.Small(f"→ {notice.new_position}", className="text-muted")]
    return html.Tr(
        [
            html.Td(str(notice.id)),
            html.Td(line.organization),
            html.Td(who),
            html.Td(kind),
            html.Td(notice.event_date.isoformat()),
            html.Td(notice.notice_due_on.isoformat()),
            html.Td([notice.notified_on.isoformat(), *late]),
            html.Td([notice.action_due_on.isoformat(), *overdue]),
        ],
        className="table-danger" if status.action_overdue else "table-warning" if status.notified_late else None,
        id=f"notices-row-{notice.id}",
    )


def _choices(lines: list[NoticeLine]) -> list[dict[str, str]]:
    return [
        {
            "label": f"{line.status.notice.id}: {line.full_name} ({line.organization}) — "
            f"{notice_label(line.status.notice.kind)}",
            "value": str(line.status.notice.id),
        }
        for line in lines
    ]


def _pending() -> tuple[html.P | dbc.Table, list[dict[str, str]]]:
    with request_transaction() as db:
        lines = pending_notice_lines(db, today())
    return _notices_table(lines), _choices(lines)


def _action_form(choices: list[dict[str, str]]) -> dbc.Card:
    roles = [{"label": gettext("Keep the current role"), "value": ""}] + [
        {"label": role_label(role), "value": str(role)} for role in Role if role in REQUESTABLE_ROLES
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Act on a notice"), className="h5"),
                dbc.Label(gettext("Notice"), html_for="notices-pick"),
                dbc.Select(
                    id="notices-pick", options=choices, placeholder=gettext("Choose the notice"), className="mb-2"
                ),
                html.Div(id="notices-detail", className="mb-2"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("New position"), html_for="notices-position"),
                                dbc.Input(id="notices-position", maxLength=POSITION_LENGTH),
                            ]
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("New role"), html_for="notices-role"),
                                dbc.Select(id="notices-role", options=roles, value=""),
                            ]
                        ),
                    ],
                    className="mb-3",
                ),
                html.Div(
                    [
                        dbc.Button(gettext("Update the rights"), id="notices-update", color="primary", disabled=True),
                        dbc.Button(
                            gettext("Block and archive the cabinet"),
                            id="notices-archive",
                            color="danger",
                            disabled=True,
                        ),
                    ],
                    className="d-flex gap-2",
                ),
            ]
        ),
        className="mb-4",
    )


@guarded(Permission.MANAGE_ACCESS)
def layout(**_query: str) -> html.Div:
    """Pending notices from every organization, overdue first, and the form to act on one."""
    table, choices = _pending()
    return html.Div(
        [
            html.H1(gettext("Employment notices"), className="h3"),
            html.P(
                gettext(
                    "Notices of terminations and transfers from the organizations. Within 3 working days of the "
                    "notice, update the rights after a transfer, or block the cabinet and move it to the archive "
                    "after a termination. Overdue notices come first."
                ),
                className="text-muted",
            ),
            html.Div(id="notices-result"),
            html.Div(table, id="notices-list-box", className="mb-4"),
            _action_form(choices),
        ]
    )


@callback(
    Output("notices-detail", "children"),
    Output("notices-position", "value"),
    Output("notices-role", "value"),
    Output("notices-update", "disabled"),
    Output("notices-archive", "disabled"),
    Input("notices-pick", "value"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_ACCESS)
def pick(value: object) -> tuple[Any, ...]:
    """Show the chosen notice and offer the action its kind calls for; the new position comes from the notice."""
    notice_id = record_id(value)
    if notice_id is None:
        return None, "", "", True, True
    with request_transaction() as db:
        line = pending_notice_line(db, notice_id, today())
    if line is None:
        return (
            dbc.Alert(gettext("This notice is no longer awaiting the ministry."), color="warning"),
            "",
            "",
            True,
            True,
        )
    notice = line.status.notice
    transfer = notice.kind == NoticeKind.TRANSFER
    detail = html.P(
        [
            html.Strong(f"{line.full_name} ({line.id_number})"),
            f", {line.organization}: {notice_label(notice.kind)}. ",
            gettext("Current position: {position}; role: {role}.", position=line.position, role=role_label(line.role)),
        ],
        className="small",
        id="notices-detail-text",
    )
    return detail, (notice.new_position or "") if transfer else "", "", not transfer, transfer


@callback(
    Output("notices-result", "children"),
    Output("notices-list-box", "children"),
    Output("notices-pick", "options"),
    Output("notices-pick", "value"),
    Input("notices-update", "n_clicks"),
    Input("notices-archive", "n_clicks"),
    State("notices-pick", "value"),
    State("notices-position", "value"),
    State("notices-role", "value"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_ACCESS)
def act(_update: object, _archive: object, picked: object, position: object, role: object) -> tuple[Any, ...]:
    """Update the rights (transfer) or block and archive (termination); then show the result and the new list."""
    who = user()
    trigger = clicked()
    if who is None or trigger not in ("notices-update", "notices-archive"):
        raise PreventUpdate
    admin = who.actor(request.remote_addr)
    try:
        with request_transaction() as db:
            notice_id = record_id(picked)
            line = pending_notice_line(db, notice_id, today()) if notice_id is not None else None
            if line is None:
                raise NotFound(N_("Choose a notice from the list."))
            kind = line.status.notice.kind
            if trigger == "notices-update":
                if kind != NoticeKind.TRANSFER:
                    raise ValidationError(N_("This notice reports a termination: block and archive the cabinet."))
                cabinet = update_rights(
                    db, line.status.notice.id, admin=admin, role=_role(role), position=text(position, POSITION_LENGTH)
                )
                done = gettext(
                    "The rights of {name} were updated: {position}, {role}.",
                    name=cabinet.full_name,
                    position=cabinet.position,
                    role=role_label(cabinet.role),
                )
            else:
                if kind != NoticeKind.TERMINATION:
                    raise ValidationError(N_("This notice reports a transfer: update the rights."))
                retention = current_app.config["EHEALTH_SETTINGS"].archive_retention_days
                cabinet = block_and_archive(db, line.status.notice.id, admin=admin, retention_days=retention)
                done = gettext(
                    "The cabinet of {name} was blocked and archived; it is kept until {until}.",
                    name=cabinet.full_name,
                    until=cabinet.retain_until.isoformat() if cabinet.retain_until else "",
                )
    except DomainError as error:
        return dbc.Alert(str(error), color="danger", id="notices-error"), dash.no_update, dash.no_update, dash.no_update
    table, choices = _pending()
    return dbc.Alert(done, color="success", id="notices-done"), table, choices, None


def _role(value: object) -> str | None:
    """The new role chosen, None to keep the current one; only roles an organization's staff may have."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in REQUESTABLE_ROLES:
        raise ValidationError(N_("Choose a role this organization's staff may have"), field="role")
    return value
