"""Annual inventory (R-14): the integrator opens the year's campaign, reviews every active cabinet (confirm, change
the role, block) and follows the coverage per organization and per region, and the cabinets not reviewed in a year."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html
from dash.exceptions import PreventUpdate
from flask import request

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import user
from components.labels import decision_label, role_label
from components.posted import clicked, record_id, text
from components.tables import table
from db import request_transaction
from ehealth.access.inventory import (
    Coverage,
    RegionCoverage,
    Unreviewed,
    campaign_of,
    count_not_reviewed_within_a_year,
    coverage,
    coverage_by_region,
    open_campaign,
    review,
    unreviewed,
)
from ehealth.access.models import InventoryCampaign, ReviewDecision, Role
from ehealth.calendar import today
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_, current_language, gettext

dash.register_page(
    __name__,
    path="/inventory",
    order=66,
    title=lambda **_: gettext("Annual inventory"),
    nav=N_("Annual inventory"),
    permission=Permission.RUN_INVENTORY,
)

SHOWN = 200  # cabinets listed (and offered for review) at a time; the total is shown beside
NOTE_LENGTH = 500
# What the integrator does to a cabinet, as the form words it.
DECISIONS: dict[str, str] = {
    ReviewDecision.CONFIRMED: N_("Confirm"),
    ReviewDecision.RIGHTS_CHANGED: N_("Change the role"),
    ReviewDecision.BLOCKED: N_("Block"),
}


def _percent(reviewed: int, active: int) -> str:
    """Reviewed as a share of active, in whole percent rounded down: 100% only when every cabinet is reviewed."""
    return f"{reviewed * 100 // active if active else 100}%"


def _campaign(campaign: InventoryCampaign | None, year: int) -> html.P:
    if campaign is None:
        return html.P(gettext("No inventory is open for {year}.", year=year), id="inventory-campaign")
    text = gettext(
        "Inventory {year}: opened {started}, due {due}.",
        year=campaign.year,
        started=campaign.started_on.isoformat(),
        due=campaign.due_on.isoformat(),
    )
    if campaign.closed_at is not None:
        text += " " + gettext("The campaign is closed.")
    return html.P(html.Strong(text), id="inventory-campaign")


def _coverage(rows: list[Coverage] | None, regions: list[RegionCoverage]) -> html.Div | html.P:
    if rows is None:
        return html.P(
            gettext("Open the inventory to see its coverage."), className="text-muted", id="inventory-coverage"
        )
    language = current_language()
    names = {region.region_id: region.name(language) for region in regions}
    by_region = [
        [region.name(language), region.reviewed, region.active, _percent(region.reviewed, region.active)]
        for region in regions
    ]
    by_organization = [
        [row.organization, names.get(row.region_id, ""), row.reviewed, row.active, _percent(row.reviewed, row.active)]
        for row in rows[:SHOWN]
    ]
    return html.Div(
        [
            html.H3(gettext("By region"), className="h6"),
            table(
                [N_("Region"), N_("Reviewed"), N_("Active cabinets"), N_("Coverage")], by_region, "inventory-regions"
            ),
            html.H3(gettext("By organization (least covered first)"), className="h6"),
            table(
                [N_("Organization"), N_("Region"), N_("Reviewed"), N_("Active cabinets"), N_("Coverage")],
                by_organization,
                "inventory-organizations",
                scroll=True,
            ),
            html.P(gettext("Showing {shown} of {total}.", shown=SHOWN, total=len(rows)), className="text-muted small")
            if len(rows) > SHOWN
            else None,
        ],
        id="inventory-coverage",
    )


def _pending(cabinets: list[Unreviewed], total: int) -> html.Div:
    rows = [
        [
            item.cabinet.full_name,
            item.cabinet.id_number,
            item.organization,
            item.cabinet.position,
            role_label(item.cabinet.role),
            item.cabinet.created_at.date().isoformat(),
        ]
        for item in cabinets
    ]
    headers = [N_("Full name"), N_("ID number"), N_("Organization"), N_("Position"), N_("Role"), N_("Created")]
    return html.Div(
        [
            html.P(
                gettext("Active cabinets not reviewed in the last 12 months: {total}.", total=total),
                id="inventory-pending-total",
            ),
            table(headers, rows, "inventory-pending", scroll=True) if rows else None,
            html.P(gettext("Showing {shown} of {total}.", shown=len(rows), total=total), className="text-muted small")
            if total > len(rows)
            else None,
        ]
    )


def _choices(cabinets: list[Unreviewed]) -> list[dict[str, str]]:
    return [
        {
            "label": f"{item.cabinet.full_name} ({item.cabinet.id_number}), {item.organization} — "
            f"{role_label(item.cabinet.role)}",
            "value": str(item.cabinet.id),
        }
        for item in cabinets
    ]


def _state() -> tuple[Any, ...]:
    """Everything the page shows, read in one transaction: campaign, open button, coverage, pending, choices."""
    day = today()
    with request_transaction() as db:
        campaign = campaign_of(db, day.year)
        rows = coverage(db, campaign.id) if campaign is not None else None
        regions = coverage_by_region(db, rows) if rows is not None else []
        cabinets = unreviewed(db, day, limit=SHOWN)
        total = count_not_reviewed_within_a_year(db, day)
    return (
        _campaign(campaign, day.year),
        campaign is not None,
        _coverage(rows, regions),
        _pending(cabinets, total),
        _choices(cabinets),
    )


def _review_form(choices: list[dict[str, str]]) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Review a cabinet"), className="h5"),
                dbc.Label(gettext("Cabinet"), html_for="inventory-review-cabinet"),
                dbc.Select(
                    id="inventory-review-cabinet",
                    options=choices,
                    placeholder=gettext("Choose the cabinet"),
                    className="mb-3",
                ),
                dbc.Label(gettext("Decision"), html_for="inventory-review-decision"),
                dbc.RadioItems(
                    id="inventory-review-decision",
                    options=[{"label": gettext(label), "value": str(code)} for code, label in DECISIONS.items()],
                    value=str(ReviewDecision.CONFIRMED),
                    inline=True,
                    className="mb-3",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("New role"), html_for="inventory-review-role"),
                                dbc.Select(
                                    id="inventory-review-role",
                                    options=[{"label": role_label(role), "value": str(role)} for role in Role],
                                    placeholder=gettext("Choose the new role"),
                                    disabled=True,
                                ),
                            ]
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Note (optional)"), html_for="inventory-review-note"),
                                dbc.Input(id="inventory-review-note", maxLength=NOTE_LENGTH),
                            ]
                        ),
                    ],
                    className="mb-3",
                ),
                dbc.Button(gettext("Record the review"), id="inventory-review-submit", color="primary"),
            ]
        ),
        className="mb-4",
    )


@guarded(Permission.RUN_INVENTORY)
def layout(**_query: str) -> html.Div:
    """The year's campaign, its coverage, the cabinets not reviewed within a year and the review form."""
    campaign, opened, covered, pending, choices = _state()
    return html.Div(
        [
            html.H1(gettext("Annual inventory"), className="h3"),
            html.P(
                gettext(
                    "Every active cabinet is reviewed at least once a year: confirm it, change its role or block it."
                ),
                className="text-muted",
            ),
            html.Div(id="inventory-result"),
            html.Div(
                [
                    html.Div(campaign, id="inventory-campaign-box"),
                    dbc.Button(
                        gettext("Open this year's inventory"),
                        id="inventory-open",
                        color="primary",
                        disabled=opened,
                    ),
                ],
                className="mb-4",
            ),
            html.H2(gettext("Coverage"), className="h5"),
            html.Div(covered, id="inventory-coverage-box", className="mb-4"),
            _review_form(choices),
            html.H2(gettext("Not reviewed in the last 12 months"), className="h5"),
            html.Div(pending, id="inventory-pending-box"),
        ]
    )


@callback(
    Output("inventory-review-role", "disabled"),
    Input("inventory-review-decision", "value"),
)
@requires(Permission.RUN_INVENTORY)
def role_for_change(decision: object) -> bool:
    """The new role is asked only when the role changes."""
    return decision != ReviewDecision.RIGHTS_CHANGED


@callback(
    Output("inventory-result", "children"),
    Output("inventory-campaign-box", "children"),
    Output("inventory-open", "disabled"),
    Output("inventory-coverage-box", "children"),
    Output("inventory-pending-box", "children"),
    Output("inventory-review-cabinet", "options"),
    Output("inventory-review-cabinet", "value"),
    Input("inventory-open", "n_clicks"),
    Input("inventory-review-submit", "n_clicks"),
    State("inventory-review-cabinet", "value"),
    State("inventory-review-decision", "value"),
    State("inventory-review-role", "value"),
    State("inventory-review-note", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RUN_INVENTORY)
def act(
    _open: object, _review: object, cabinet: object, decision: object, role: object, note: object
) -> tuple[Any, ...]:
    """Open this year's campaign or record one review; then show the result and everything refreshed."""
    who = user()
    trigger = clicked()
    if who is None or trigger not in ("inventory-open", "inventory-review-submit"):
        raise PreventUpdate
    integrator = who.actor(request.remote_addr)
    day = today()
    try:
        with request_transaction() as db:
            if trigger == "inventory-open":
                campaign = open_campaign(db, year=day.year, today=day, integrator=integrator)
                done = gettext(
                    "The {year} inventory is open; it is due by {due}.",
                    year=campaign.year,
                    due=campaign.due_on.isoformat(),
                )
            else:
                current = campaign_of(db, day.year)
                if current is None:
                    raise NotFound(N_("Open this year's inventory first."))
                cabinet_id = record_id(cabinet)
                if cabinet_id is None:
                    raise ValidationError(N_("Choose the cabinet"), field="cabinet_id")
                verdict = decision if isinstance(decision, str) else ""
                row = review(
                    db,
                    campaign_id=current.id,
                    cabinet_id=cabinet_id,
                    decision=verdict,
                    integrator=integrator,
                    new_role=role if verdict == ReviewDecision.RIGHTS_CHANGED and isinstance(role, str) else None,
                    note=text(note, NOTE_LENGTH),
                )
                done = gettext("The review was recorded: {decision}.", decision=decision_label(row.decision))
    except DomainError as error:
        failed = dbc.Alert(str(error), color="danger", id="inventory-error")
        return (failed, *([dash.no_update] * 6))
    campaign_box, opened, covered, pending, choices = _state()
    return dbc.Alert(done, color="success", id="inventory-done"), campaign_box, opened, covered, pending, choices, None
