"""The user-inventory dashboard (issue 7) for the ministry's analysts: cabinets by role, status and region; employment
notices and installation requests against their working-day deadlines; inventory review coverage in the last 12
months; cabinets never signed in or dormant for 90 days; the inventory day by day from the warehouse's daily
snapshots; filters kept in the URL, a map of the regions and CSV / Excel of the region table. The figures are as of
the period's last day (warehouse/queries.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash
import plotly.graph_objects as go
from dash import html

from auth.guard import guarded
from auth.permissions import Permission
from components.dashboard import Board, Column, Kind, Measure, graph, page_layout, register
from components.labels import role_label, status_label
from ehealth.access.models import Role
from ehealth.i18n import N_, gettext
from warehouse import queries
from warehouse.queries import Filters, Frame

dash.register_page(
    __name__,
    path="/dashboards/users",
    order=82,
    title=lambda **_: gettext("User inventory dashboard"),
    nav=N_("User inventory dashboard"),
    permission=Permission.VIEW_DASHBOARDS,
)

PREFIX = "usrdash"
DORMANT_DAYS = 90
# The category filter of this page is the cabinet's role (msgids as on the access pages).
ROLES: dict[str, str] = {
    Role.DOCTOR: N_("Doctor"),
    Role.NURSE: N_("Nurse"),
    Role.REGISTRAR: N_("Registrar"),
    Role.PHARMACIST: N_("Pharmacist"),
    Role.MANAGER: N_("Manager"),
    Role.ANALYST: N_("Ministry analyst"),
    Role.ADMIN: N_("Ministry administrator"),
    Role.INTEGRATOR: N_("Integrator (UZINFOCOM)"),
}
DEADLINE_KINDS = {"notice": N_("Employment notices"), "installation_request": N_("Installation requests")}
STATUSES = {"active": N_("Active"), "blocked": N_("Blocked"), "archived": N_("Archived")}
REGION_COLUMNS = (
    "region_id",
    "iso_code",
    "name_uz",
    "name_ru",
    "cabinets",
    "active",
    "blocked",
    "archived",
    "reviewed_12_months",
    "coverage",
    "never_signed_in",
    "dormant",
    "dormant_share",
)


def users_by_region(path: Path, f: Filters) -> Frame:
    """Every region (or the chosen one): cabinets by status, review coverage and dormancy, in one table."""
    coverage = queries.review_coverage(path, f)
    asleep = queries.dormant(path, f, days=DORMANT_DAYS)
    counts = {row[0]: row[1:] for row in queries.cabinets_by(path, f, "region").rows}
    rows: list[tuple[Any, ...]] = []
    for covered, idle in zip(coverage.rows, asleep.rows, strict=True):
        region_id, iso, name_uz, name_ru, active, reviewed, share = covered
        never, dormant, _active = idle[4:]
        total, _same_active, blocked, archived = counts.get(region_id, (0, 0, 0, 0))
        dormant_share = dormant / active if active else None
        figures = (total, active, blocked, archived, reviewed, share, never, dormant, dormant_share)
        rows.append((region_id, iso, name_uz, name_ru, *figures))
    return Frame(REGION_COLUMNS, rows)


def _bars(title: str, labels: list[str], series: dict[str, list[Any]], *, stacked: bool) -> go.Figure:
    """Bars of several series (already translated names) over `labels`."""
    fig = go.Figure([go.Bar(x=labels, y=values, name=name) for name, values in series.items()])
    fig.update_layout(
        title=title, barmode="stack" if stacked else "group", height=320, template="plotly_white",
        legend={"orientation": "h"}, margin={"l": 40, "r": 10, "t": 40, "b": 40},
    )  # fmt: skip
    return fig


def _by_status_series(frame: Frame) -> dict[str, list[Any]]:
    return {gettext(label): frame.column(key) for key, label in STATUSES.items()}


def _history(frame: Frame) -> go.Figure:
    """Lines of the daily inventory snapshots: cabinets by status, never signed in, dormant."""
    series = {
        **_by_status_series(frame),
        gettext("Never signed in"): frame.column("never_signed_in"),
        gettext("Dormant for 90 days"): frame.column("dormant"),
    }
    days = frame.column("snapshot_date")
    fig = go.Figure([go.Scatter(x=days, y=values, name=name, mode="lines+markers") for name, values in series.items()])
    fig.update_layout(
        title=gettext("Inventory day by day"), height=320, template="plotly_white", legend={"orientation": "h"},
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
    )  # fmt: skip
    return fig


def _charts(path: Path, f: Filters) -> list[Any]:
    roles = queries.cabinets_by(path, f, "role")
    statuses = queries.cabinets_by(path, f, "status")
    kinds = queries.deadlines(path, f)
    kind_names = [gettext(DEADLINE_KINDS.get(kind, kind)) for kind in kinds.column("kind")]
    return [
        graph(
            f"{PREFIX}-roles",
            _bars(
                gettext("Cabinets by role"),
                [role_label(role) for role in roles.column("key")],
                _by_status_series(roles),
                stacked=True,
            ),
        ),
        graph(
            f"{PREFIX}-statuses",
            _bars(
                gettext("Cabinets by status"),
                [status_label(status) for status in statuses.column("key")],
                {gettext("Cabinets"): statuses.column("cabinets")},
                stacked=False,
            ),
        ),
        graph(
            f"{PREFIX}-deadlines",
            _bars(
                gettext("Working-day deadlines"),
                kind_names,
                {
                    gettext("On time"): kinds.column("on_time"),
                    gettext("Overdue"): kinds.column("overdue"),
                    gettext("Not yet due"): kinds.column("pending"),
                },
                stacked=True,
            ),
        ),
        graph(f"{PREFIX}-history", _history(queries.inventory_history(path, f))),
    ]


_TABLE = (
    Column("region", N_("Region"), Kind.TEXT),
    Column("cabinets", N_("Cabinets"), Kind.INT),
    Column("active", N_("Active"), Kind.INT),
    Column("blocked", N_("Blocked"), Kind.INT),
    Column("archived", N_("Archived"), Kind.INT),
    Column("reviewed_12_months", N_("Reviewed in 12 months"), Kind.INT),
    Column("coverage", N_("Review coverage"), Kind.PERCENT),
    Column("never_signed_in", N_("Never signed in"), Kind.INT),
    Column("dormant", N_("Dormant for 90 days"), Kind.INT),
    Column("dormant_share", N_("Dormant share"), Kind.PERCENT),
)

BOARD = Board(
    prefix=PREFIX,
    title=N_("User inventory dashboard"),
    permission=Permission.VIEW_DASHBOARDS,
    categories=ROLES,
    category_label=N_("Role"),
    facility_kinds=(None,),
    measures=(
        Measure("coverage", N_("Review coverage"), Kind.PERCENT),
        Measure("dormant_share", N_("Dormant share"), Kind.PERCENT),
        Measure("cabinets", N_("Cabinets"), Kind.INT),
    ),
    by_region=users_by_region,
    by_facility=users_by_region,  # no facility drill-down here: a chosen region narrows the region table
    region_columns=_TABLE,
    facility_columns=_TABLE,
    charts=_charts,
    file_stem=N_("user_inventory"),
    drill_down=False,
)
register(BOARD)


@guarded(Permission.VIEW_DASHBOARDS)
def layout(**query: str) -> html.Div:
    """The filters from the URL, the map, the charts and the region table."""
    return page_layout(BOARD, query)
