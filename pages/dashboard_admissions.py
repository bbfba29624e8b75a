"""The admissions dashboard (R-21) for the ministry's analysts: admissions, discharges and deaths by month, region,
facility, department profile and ICD-10 chapter; length of stay, bed occupancy, mortality, emergency vs planned;
filters kept in the URL, a map of the regions, drill-down to hospitals and CSV / Excel of the table shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash
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
from components.hospital_forms import ADMISSION_TYPES
from ehealth.i18n import N_, gettext
from warehouse import queries
from warehouse.queries import Filters

dash.register_page(
    __name__,
    path="/dashboards/admissions",
    order=81,
    title=lambda **_: gettext("Admissions dashboard"),
    nav=N_("Admissions dashboard"),
    permission=Permission.VIEW_DASHBOARDS,
)

PREFIX = "admdash"
NO_PROFILE = N_("No profile")


def _charts(path: Path, f: Filters) -> list[Any]:
    by_month = queries.admissions_by_month(path, f)
    profiles = queries.admissions_by_profile(path, f)
    chapters = queries.admissions_by_chapter(path, f)
    types = queries.admission_types(path, f)
    type_names = [gettext(ADMISSION_TYPES.get(code, code)) for code in types.column("admission_type")]
    profile_names = [name or gettext(NO_PROFILE) for name in profiles.column("department_profile")]
    return [
        graph(
            f"{PREFIX}-by-month",
            month_chart(
                by_month,
                {"admissions": N_("Admissions"), "discharges": N_("Discharges"), "deaths": N_("Deaths")},
                gettext("Admissions by month"),
            ),
        ),
        graph(
            f"{PREFIX}-types",
            bar_chart(
                type_names,
                types.column("share"),
                gettext("Emergency and planned (share of admissions, %)"),
                horizontal=False,
                percent=True,
            ),
        ),
        graph(
            f"{PREFIX}-profiles",
            bar_chart(profile_names, profiles.column("admissions"), gettext("Admissions by department profile")),
        ),
        graph(
            f"{PREFIX}-chapters",
            bar_chart(
                chapters.column("chapter"), chapters.column("admissions"), gettext("Admissions by ICD-10 chapter")
            ),
        ),
    ]


BOARD = Board(
    prefix=PREFIX,
    title=N_("Admissions dashboard"),
    permission=Permission.VIEW_DASHBOARDS,
    categories=ADMISSION_TYPES,
    category_label=N_("Admission type"),
    facility_kinds=("hospital",),
    measures=(
        Measure("admissions", N_("Admissions"), Kind.INT),
        Measure("mortality", N_("In-hospital mortality"), Kind.PERCENT),
        Measure("average_length_of_stay", N_("Average length of stay, days"), Kind.DECIMAL),
    ),
    by_region=queries.admissions_by_region,
    by_facility=queries.admissions_by_facility,
    region_columns=(
        Column("region", N_("Region"), Kind.TEXT),
        Column("admissions", N_("Admissions"), Kind.INT),
        Column("discharges", N_("Discharges"), Kind.INT),
        Column("average_length_of_stay", N_("Average length of stay, days"), Kind.DECIMAL),
        Column("mortality", N_("In-hospital mortality"), Kind.PERCENT),
        Column("emergency_share", N_("Emergency admissions"), Kind.PERCENT),
    ),
    facility_columns=(
        Column("name", N_("Hospital"), Kind.TEXT),
        Column("admissions", N_("Admissions"), Kind.INT),
        Column("discharges", N_("Discharges"), Kind.INT),
        Column("average_length_of_stay", N_("Average length of stay, days"), Kind.DECIMAL),
        Column("mortality", N_("In-hospital mortality"), Kind.PERCENT),
        Column("bed_occupancy", N_("Bed occupancy"), Kind.PERCENT),
    ),
    charts=_charts,
    file_stem=N_("admissions"),
)
register(BOARD)


@guarded(Permission.VIEW_DASHBOARDS)
def layout(**query: str) -> html.Div:
    """The filters from the URL, the map, the charts and the table."""
    return page_layout(BOARD, query)
