"""The prescriptions dashboard (R-21) for the ministry's analysts: issued, dispensed and expired by month and region,
dispense rate and antibiotic share by region and facility, top INNs and ATC groups, reimbursed programme use;
filters kept in the URL, a map of the regions, drill-down to facilities and CSV / Excel of the table shown."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import dash
import plotly.graph_objects as go
from dash import html

from auth.guard import guarded
from auth.permissions import Permission
from components.dashboard import (
    Board,
    Column,
    Kind,
    Measure,
    bar_chart,
    graph,
    month_chart,
    page_layout,
    register,
)
from ehealth.i18n import N_, gettext
from ehealth.prescription.models import PrescriptionCategory
from warehouse import queries
from warehouse.queries import Filters, Frame

dash.register_page(
    __name__,
    path="/dashboards/prescriptions",
    order=80,
    title=lambda **_: gettext("Prescriptions dashboard"),
    nav=N_("Prescriptions dashboard"),
    permission=Permission.VIEW_DASHBOARDS,
)

PREFIX = "rxdash"
TOP = 10


def controlled_chart(frame: Frame, title: str) -> go.Figure:
    """Controlled medicines dispensed by month, one stacked bar per INN (units of each medicine's form)."""
    months = sorted({value for value in frame.column("month") if isinstance(value, date)})
    labels = [month.strftime("%m.%Y") for month in months]
    volumes: dict[str, dict[date, int]] = {}
    for month, inn, quantity in frame.rows:
        volumes.setdefault(inn, {})[month] = quantity
    bars = [
        go.Bar(x=labels, y=[by_month.get(month, 0) for month in months], name=inn) for inn, by_month in volumes.items()
    ]
    fig = go.Figure(bars)
    fig.update_layout(
        title=title, barmode="stack", height=320, template="plotly_white", legend={"orientation": "h"},
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
    )  # fmt: skip
    return fig


def _charts(path: Path, f: Filters) -> list[Any]:
    by_month = queries.prescriptions_by_month(path, f)
    inns = queries.top_inns(path, f, limit=TOP)
    atc = queries.top_atc_groups(path, f, level=3, limit=TOP)
    reimbursed = queries.reimbursed_use(path, f)
    controlled = queries.controlled_volume(path, f)
    return [
        graph(
            f"{PREFIX}-by-month",
            month_chart(
                by_month,
                {"issued": N_("Issued"), "dispensed": N_("Dispensed"), "expired": N_("Expired")},
                gettext("Prescriptions by month"),
            ),
        ),
        graph(
            f"{PREFIX}-reimbursed",
            month_chart(
                reimbursed,
                {"prescriptions": N_("Reimbursed prescriptions"), "dispensed_any": N_("Dispensed at least once")},
                gettext("Reimbursed programme use"),
            ),
        ),
        graph(
            f"{PREFIX}-inns",
            bar_chart(inns.column("inn"), inns.column("items"), gettext("Top INNs (prescribed items)")),
        ),
        graph(
            f"{PREFIX}-atc",
            bar_chart(atc.column("atc"), atc.column("items"), gettext("Top ATC groups (prescribed items)")),
        ),
        graph(f"{PREFIX}-controlled", controlled_chart(controlled, gettext("Controlled medicines dispensed (units)"))),
    ]


BOARD = Board(
    prefix=PREFIX,
    title=N_("Prescriptions dashboard"),
    permission=Permission.VIEW_DASHBOARDS,
    categories={
        PrescriptionCategory.REGULAR.value: N_("Regular"),
        PrescriptionCategory.CHRONIC.value: N_("Chronic"),
        PrescriptionCategory.REIMBURSED.value: N_("Reimbursed"),
        PrescriptionCategory.CONTROLLED.value: N_("Controlled"),
    },
    category_label=N_("Category"),
    facility_kinds=("polyclinic", "hospital"),
    measures=(
        Measure("issued", N_("Prescriptions issued"), Kind.INT),
        Measure("dispense_rate", N_("Dispense rate"), Kind.PERCENT),
        Measure("antibiotic_share", N_("Antibiotic (J01) share"), Kind.PERCENT),
    ),
    by_region=queries.prescriptions_by_region,
    by_facility=queries.prescriptions_by_facility,
    region_columns=(
        Column("region", N_("Region"), Kind.TEXT),
        Column("issued", N_("Prescriptions issued"), Kind.INT),
        Column("dispensed_any", N_("Dispensed at least once"), Kind.INT),
        Column("dispense_rate", N_("Dispense rate"), Kind.PERCENT),
        Column("antibiotic_share", N_("Antibiotic (J01) share"), Kind.PERCENT),
        Column("median_hours_to_dispense", N_("Median hours to dispense"), Kind.DECIMAL),
    ),
    facility_columns=(
        Column("name", N_("Facility"), Kind.TEXT),
        Column("issued", N_("Prescriptions issued"), Kind.INT),
        Column("dispensed_any", N_("Dispensed at least once"), Kind.INT),
        Column("dispense_rate", N_("Dispense rate"), Kind.PERCENT),
        Column("antibiotic_share", N_("Antibiotic (J01) share"), Kind.PERCENT),
    ),
    charts=_charts,
    file_stem=N_("prescriptions"),
)
register(BOARD)


@guarded(Permission.VIEW_DASHBOARDS)
def layout(**query: str) -> html.Div:
    """The filters from the URL, the map, the charts and the table."""
    return page_layout(BOARD, query)
