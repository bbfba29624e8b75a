"""What the ministry dashboards share: filters kept in the URL, the region map, charts, tables and their downloads."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
import duckdb
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from plotly.colors import sample_colorscale

from auth.callbacks import requires
from auth.permissions import Permission
from components.posted import clicked, record_id
from ehealth.calendar import today
from ehealth.i18n import N_, current_language, gettext
from settings import ROOT
from warehouse import queries
from warehouse.connection import WarehouseMissing
from warehouse.queries import Filters, Frame

GEOJSON_PATH = ROOT / "data" / "uz-regions-adm1.geojson"
# The warehouse's calendar (warehouse/schema.py dim_dates): a period outside it is a typo, not a question.
FIRST_YEAR, LAST_YEAR = 2000, 2060
DEFAULT_MONTHS = 12
MONTH_LENGTH = 7  # "2026-03"
# A spreadsheet evaluates a cell starting with one of these: downloaded text must stay text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What the page says instead of figures when the warehouse cannot be read (never an error page).
NOT_BUILT = N_(
    "The analytics warehouse is not built yet, or cannot be read just now. The figures appear after the next "
    "warehouse update (python -m etl rebuild)."
)
UNREADABLE: tuple[type[BaseException], ...] = (WarehouseMissing, duckdb.Error, OSError)


class Kind(StrEnum):
    """How a table column's values are shown and written to files."""

    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    PERCENT = "percent"


@dataclass(frozen=True)
class Column:
    """One column of a dashboard table: the query's key, its heading (a msgid) and its kind."""

    key: str
    label: str
    kind: Kind


@dataclass(frozen=True)
class Shown:
    """A table as the page shows it: headings already translated, values as the query gave them."""

    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]


def warehouse_path() -> Path:
    """The published warehouse of this installation."""
    path: Path = current_app.config["EHEALTH_SETTINGS"].warehouse_path
    return path


def not_built(component_id: str) -> dbc.Alert:
    """The plain message shown when the warehouse is missing or unreadable."""
    return dbc.Alert(gettext(NOT_BUILT), color="info", id=component_id)


# --- filters in the URL ---------------------------------------------------------------------------------------------


def default_period() -> tuple[date, date]:
    """The last twelve months, this month included."""
    end = today()
    first = end.replace(day=1)
    for _ in range(DEFAULT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, _month_end(end)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def month_of(value: object) -> date | None:
    """The first day of a month typed as YYYY-MM (or a YYYY-MM-DD date), or None when it is not one."""
    if not isinstance(value, str) or len(value) < MONTH_LENGTH or len(value) > len("2026-03-01"):
        return None
    try:
        first = date.fromisoformat(value[:MONTH_LENGTH] + "-01")
    except ValueError:
        return None
    return first if FIRST_YEAR <= first.year <= LAST_YEAR else None


def _single(value: object) -> object:
    # A key repeated in the URL arrives as a list: the first wins, as a browser form would send it.
    return value[0] if isinstance(value, list) and value else value


def filters_of(query: Mapping[str, object], categories: Sequence[str]) -> Filters:
    """The filters a URL's query carries; anything missing or invalid falls back to its default."""
    start, end = default_period()
    typed_start, typed_end = month_of(_single(query.get("from"))), month_of(_single(query.get("to")))
    if typed_start is not None and typed_end is not None and typed_start <= typed_end:
        start, end = typed_start, _month_end(typed_end)
    elif typed_start is not None and typed_end is None and typed_start <= end:
        start = typed_start
    category = _single(query.get("category"))
    return Filters(
        start=start,
        end=end,
        region_id=record_id(_single(query.get("region"))),
        organization_id=record_id(_single(query.get("facility"))),
        category=category if isinstance(category, str) and category in categories else None,
    )


def filters_of_search(search: object, categories: Sequence[str]) -> Filters:
    """The filters of a location's search string ("?from=2026-01&to=2026-03&region=1726")."""
    text = search if isinstance(search, str) and len(search) <= 500 else ""
    parsed = parse_qs(text.removeprefix("?"), keep_blank_values=True)
    return filters_of({key: values[0] for key, values in parsed.items() if values}, categories)


def search_of(f: Filters) -> str:
    """The search string that carries `f` (the inverse of filters_of_search)."""
    query: dict[str, str] = {"from": f.start.strftime("%Y-%m"), "to": f.end.strftime("%Y-%m")}
    if f.region_id is not None:
        query["region"] = str(f.region_id)
    if f.organization_id is not None:
        query["facility"] = str(f.organization_id)
    if f.category is not None:
        query["category"] = f.category
    return "?" + urlencode(query)


def filters_posted(
    start: object, end: object, region: object, facility: object, category: object, *, categories: Sequence[str]
) -> Filters:
    """The filters as the filter bar posts them (read like a URL: a forged value falls back to its default)."""
    return filters_of(
        {"from": start, "to": end, "region": region, "facility": facility, "category": category}, categories
    )


# --- names in the reader's language ---------------------------------------------------------------------------------


def region_name_key() -> str:
    """The regions frame's column with names in the current language."""
    return {"ru": "name_ru", "en": "name_en"}.get(current_language(), "name_uz")


def region_names(path: Path) -> dict[int, str]:
    """Region id → name in the current language."""
    frame = queries.regions(path)
    key = region_name_key()
    return dict(zip(frame.column("region_id"), frame.column(key), strict=True))


def region_isos(path: Path) -> dict[str, int]:
    """ISO 3166-2 code → region id (the map's regions are matched on the ISO code)."""
    frame = queries.regions(path)
    return dict(zip(frame.column("iso_code"), frame.column("region_id"), strict=True))


# --- the filter bar -------------------------------------------------------------------------------------------------


def filter_bar(
    prefix: str,
    f: Filters,
    *,
    regions: Mapping[int, str],
    facilities: Sequence[tuple[int, str]],
    categories: Mapping[str, str],
    category_label: str,
) -> dbc.Card:
    """Period (months), region, facility and category; `categories` maps each code to its label (a msgid)."""
    region_options = [{"label": name, "value": region_id} for region_id, name in sorted(regions.items(), key=_by_name)]
    facility_options = [{"label": name, "value": org_id} for org_id, name in facilities]
    category_options = [{"label": gettext(label), "value": code} for code, label in categories.items()]

    def field(label: str, control: Any, width: int) -> dbc.Col:
        return dbc.Col([dbc.Label(gettext(label), html_for=control.id), control], md=width)

    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    field(N_("From"), dbc.Input(id=f"{prefix}-from", type="month", value=f.start.strftime("%Y-%m")), 2),
                    field(N_("To"), dbc.Input(id=f"{prefix}-to", type="month", value=f.end.strftime("%Y-%m")), 2),
                    field(
                        N_("Region"),
                        dcc.Dropdown(
                            id=f"{prefix}-region",
                            options=region_options,
                            value=f.region_id if f.region_id in regions else None,
                            placeholder=gettext("All regions"),
                        ),
                        3,
                    ),
                    field(
                        N_("Facility"),
                        dcc.Dropdown(
                            id=f"{prefix}-facility",
                            options=facility_options,
                            value=f.organization_id if any(f.organization_id == o for o, _ in facilities) else None,
                            placeholder=gettext("All facilities"),
                        ),
                        3,
                    ),
                    field(
                        category_label,
                        dcc.Dropdown(
                            id=f"{prefix}-category",
                            options=category_options,
                            value=f.category,
                            placeholder=gettext("All"),
                        ),
                        2,
                    ),
                ],
                className="g-2",
            )
        ),
        className="mb-3",
    )


def _by_name(item: tuple[int, str]) -> str:
    return item[1]


def facility_choices(path: Path, region_id: int | None, kinds: Sequence[str | None]) -> list[tuple[int, str]]:
    """The facilities of a region (all when None) of the given kinds, by name: the facility dropdown."""
    if region_id is None:
        return []  # the whole country's facilities would make a useless list: choose a region first
    found: dict[int, str] = {}
    for kind in kinds:
        frame = queries.facilities(path, region_id, kind)
        found.update(zip(frame.column("organization_id"), frame.column("name"), strict=True))
    return sorted(found.items(), key=_by_name)


def measure_picker(component_id: str, measures: Mapping[str, str], value: str) -> dbc.Select:
    """The dropdown of what the map is coloured by; `measures` maps a column key to its label (a msgid)."""
    return dbc.Select(
        id=component_id,
        options=[{"label": gettext(label), "value": key} for key, label in measures.items()],
        value=value,
        size="sm",
    )


# --- figures --------------------------------------------------------------------------------------------------------


def _clockwise(ring: list[list[float]]) -> bool:
    """True when a ring runs clockwise (the shoelace sum over its edges is positive)."""
    return sum((x2 - x1) * (y2 + y1) for (x1, y1, *_), (x2, y2, *_) in pairwise(ring)) > 0


def _rewound(polygon: list[list[list[float]]]) -> list[list[list[float]]]:
    """A polygon with its outer ring clockwise and its holes counter-clockwise, as plotly's d3 projection wants."""
    return [ring if _clockwise(ring) == (index == 0) else list(reversed(ring)) for index, ring in enumerate(polygon)]


@cache
def regions_geojson() -> dict[str, Any]:
    """The 14 regions' boundaries (read once per process), rewound for plotly.

    The file follows RFC 7946 (outer rings counter-clockwise); d3, which plotly draws maps with, reads such a ring
    as "the whole globe except the region", so every region would cover the world and the map would show nothing.
    """
    with GEOJSON_PATH.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    for feature in loaded["features"]:
        geometry = feature["geometry"]
        if geometry["type"] == "Polygon":
            geometry["coordinates"] = _rewound(geometry["coordinates"])
        elif geometry["type"] == "MultiPolygon":
            geometry["coordinates"] = [_rewound(polygon) for polygon in geometry["coordinates"]]
    return loaded


def _layout(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    fig.update_layout(
        title=title,
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        height=height,
        legend={"orientation": "h"},
        template="plotly_white",
    )
    return fig


def _outer_rings(geometry: Mapping[str, Any]) -> list[list[list[float]]]:
    """The outer ring of each polygon of a (Multi)Polygon."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [polygon[0] for polygon in geometry["coordinates"]]


def choropleth(frame: Frame, measure: str, label: str, names: Mapping[int, str], kind: Kind) -> go.Figure:
    """The 14 regions coloured by `measure`, drawn as filled outlines from the local GeoJSON.

    Plain filled shapes on longitude/latitude axes, not plotly's geo maps: those fetch their world topology from a
    CDN, which hospital and ministry networks cannot reach, and then draw nothing.
    """
    values = {
        iso: _plotted(value, kind) for iso, value in zip(frame.column("iso_code"), frame.column(measure), strict=True)
    }
    shown = [value for value in values.values() if value is not None]
    low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
    hover = {
        iso: f"{names.get(region_id, iso)}: {cell_text(value, kind)}"
        for region_id, iso, value in zip(
            frame.column("region_id"), frame.column("iso_code"), frame.column(measure), strict=True
        )
    }
    fig = go.Figure()
    for feature in regions_geojson()["features"]:
        iso = feature["properties"]["shapeISO"]
        value = values.get(iso)
        share = 0.0 if value is None or high == low else (float(value) - low) / (high - low)
        color = "#eeeeee" if value is None else sample_colorscale("Blues", [0.15 + 0.85 * share])[0]
        for ring in _outer_rings(feature["geometry"]):
            fig.add_trace(
                go.Scatter(
                    x=[point[0] for point in ring],
                    y=[point[1] for point in ring],
                    fill="toself",
                    fillcolor=color,
                    line={"color": "white", "width": 1},
                    mode="lines",
                    hoveron="fills",
                    text=hover.get(iso, iso),
                    hoverinfo="text",
                    customdata=[iso] * len(ring),
                    showlegend=False,
                )
            )
    # An invisible trace carries the colour bar of the measure's range.
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker={"colorscale": "Blues", "cmin": low, "cmax": high, "color": [low], "showscale": True,
                    "colorbar": {"title": {"text": "%" if kind == Kind.PERCENT else ""}}},
            hoverinfo="skip",
            showlegend=False,
        )
    )  # fmt: skip
    _layout(fig, label, height=420)
    # Longitude shrunk by cos(41°) against latitude, so that Uzbekistan keeps its shape at its latitude.
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / 0.755)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 40, "b": 0}, clickmode="event", plot_bgcolor="white")
    return fig


def _plotted(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    return round(float(value) * 100, 1) if kind == Kind.PERCENT else value


def month_chart(frame: Frame, series: Mapping[str, str], title: str) -> go.Figure:
    """Lines by month, one per `series` key (labels are msgids); months as MM.YYYY whatever the language."""
    months = [value.strftime("%m.%Y") if isinstance(value, date) else str(value) for value in frame.column("month")]
    traces = [
        go.Scatter(x=months, y=frame.column(key), mode="lines+markers", name=gettext(label))
        for key, label in series.items()
    ]
    return _layout(go.Figure(traces), title)


def bar_chart(
    labels: Sequence[Any], values: Sequence[Any], title: str, *, horizontal: bool = True, percent: bool = False
) -> go.Figure:
    """A single-series bar chart (horizontal for long names such as INNs)."""
    shown = [_plotted(value, Kind.PERCENT) for value in values] if percent else list(values)
    names = [str(label) for label in labels]
    bar = (
        go.Bar(x=shown[::-1], y=names[::-1], orientation="h")  # the largest on top
        if horizontal
        else go.Bar(x=names, y=shown)
    )
    fig = _layout(go.Figure(bar), title)
    if horizontal:
        fig.update_layout(margin={"l": 160, "r": 10, "t": 40, "b": 40})
    return fig


def graph(component_id: str, fig: go.Figure) -> dcc.Graph:
    """A chart on the page, without plotly's logo."""
    return dcc.Graph(id=component_id, figure=fig, config={"displaylogo": False})


def clicked_region(click: object, isos: Mapping[str, int]) -> int | None:
    """The region id of a click on the map (the ISO code each region's outline carries), or None otherwise."""
    points = click.get("points") if isinstance(click, dict) else None
    point = points[0] if isinstance(points, list) and points else None
    location = point.get("customdata", point.get("location")) if isinstance(point, dict) else None
    return isos.get(location) if isinstance(location, str) else None


# --- tables and their files -----------------------------------------------------------------------------------------


def shown_table(title: str, frame: Frame, columns: Sequence[Column], names: Mapping[int, str] | None = None) -> Shown:
    """The columns of `frame` the page shows; region names put in the current language when `names` is given."""
    rows: list[tuple[Any, ...]] = []
    for row in frame.rows:
        values = dict(zip(frame.columns, row, strict=True))
        if names is not None and "region_id" in values:
            values["region"] = names.get(values["region_id"], values.get("name_uz", ""))
        rows.append(tuple(values.get(column.key) for column in columns))
    return Shown(title, tuple(columns), rows)


def cell_text(value: Any, kind: Kind) -> str:
    """A value as the page shows it: 1 234, 3.4, 12.5 %; an undefined rate as a dash."""
    if value is None:
        return "—"
    if kind == Kind.INT:
        return f"{round(value):,}".replace(",", " ")
    if kind == Kind.DECIMAL:
        return f"{float(value):.1f}"
    if kind == Kind.PERCENT:
        return f"{float(value) * 100:.1f} %"
    return str(value)


def table_view(shown: Shown, component_id: str) -> html.Div:
    """The table on the page (numbers right-aligned), or a line saying there is nothing in the period."""
    if not shown.rows:
        return html.Div(
            [
                html.H3(shown.title, className="h6 mt-3"),
                html.P(gettext("Nothing in this period."), className="text-muted", id=component_id),
            ]
        )
    numeric = [column.kind != Kind.TEXT for column in shown.columns]
    head = html.Thead(
        html.Tr(
            [
                html.Th(gettext(column.label), className="text-end" if right else None)
                for column, right in zip(shown.columns, numeric, strict=True)
            ]
        ),
        className="sticky-top",
    )
    body = [
        html.Tr(
            [
                html.Td(cell_text(value, column.kind), className="text-end text-nowrap" if right else None)
                for value, column, right in zip(row, shown.columns, numeric, strict=True)
            ]
        )
        for row in shown.rows
    ]
    grid = dbc.Table([head, html.Tbody(body)], size="sm", className="bg-white", id=component_id)
    return html.Div([html.H3(shown.title, className="h6 mt-3"), html.Div(grid, className="table-scroll mb-1")])


def _heading(column: Column) -> str:
    label = gettext(column.label)
    return f"{label}, %" if column.kind == Kind.PERCENT else label


def _file_value(value: Any, kind: Kind) -> Any:
    """A value as the CSV file carries it: the number the page shows (a rate in per cent), text kept as text."""
    if value is None:
        return ""
    if kind == Kind.INT:
        return round(value)
    if kind == Kind.DECIMAL:
        return round(float(value), 1)
    if kind == Kind.PERCENT:
        return round(float(value) * 100, 1)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(shown: Shown) -> bytes:
    """The table as CSV (UTF-8 with a byte-order mark, so that Excel reads Cyrillic and Uzbek letters right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_heading(column) for column in shown.columns])
    for row in shown.rows:
        writer.writerow([_file_value(value, column.kind) for value, column in zip(row, shown.columns, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(shown: Shown) -> bytes:
    """The table as an Excel sheet with typed numbers (rates as per-cent cells) and text that is never a formula."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its sheet
    sheet.title = "Data"
    for column_index, column in enumerate(shown.columns, start=1):
        cell = sheet.cell(row=1, column=column_index)
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", gettext(column.label))
        cell.data_type = "s"
    for row_index, row in enumerate(shown.rows, start=2):
        for column_index, (value, column) in enumerate(zip(row, shown.columns, strict=True), start=1):
            cell = sheet.cell(row=row_index, column=column_index)
            if value is None:
                continue  # an undefined rate stays empty: never 0 %
            if column.kind == Kind.INT:
                cell.value = round(value)
            elif column.kind == Kind.DECIMAL:
                cell.value = round(float(value), 1)
                cell.number_format = "0.0"
            elif column.kind == Kind.PERCENT:
                cell.value = float(value)
                cell.number_format = "0.0%"
            else:
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
                # openpyxl takes a leading "=" for a formula: force text, quoted as Excel stores a typed apostrophe.
                cell.data_type = "s"
                cell.quotePrefix = str(value).startswith(FORMULA_START)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(content: bytes, filename: str, mime: str) -> dict[str, Any]:
    """What dcc.Download takes (the dict dcc.send_bytes builds, written out for the type checker)."""
    return {"content": base64.b64encode(content).decode("ascii"), "filename": filename, "base64": True, "type": mime}


CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_buttons(prefix: str) -> html.Div:
    """The CSV and Excel buttons of the table shown, and their download."""
    return html.Div(
        [
            dbc.Button(gettext("Download CSV"), id=f"{prefix}-csv", color="secondary", outline=True, size="sm"),
            dbc.Button(gettext("Download Excel"), id=f"{prefix}-xlsx", color="secondary", outline=True, size="sm"),
            dcc.Download(id=f"{prefix}-download"),
        ],
        className="d-flex gap-2 mt-2",
    )


def safely(compute: Callable[[], Any], component_id: str) -> Any:
    """`compute()`, or the plain not-built message when the warehouse cannot be read."""
    try:
        return compute()
    except UNREADABLE:
        return not_built(component_id)


# --- one dashboard page: its layout and callbacks, shared by the prescriptions and admissions pages ----------------


@dataclass(frozen=True)
class Measure:
    """A measure the map may be coloured by: the region frame's key, its label (a msgid) and kind."""

    key: str
    label: str
    kind: Kind


@dataclass(frozen=True)
class Board:
    """What differs between the dashboard pages; the rest (filters, URL, map, drill-down, files) is shared."""

    prefix: str
    title: str  # msgid
    permission: Permission
    categories: Mapping[str, str]  # code → label msgid
    category_label: str  # msgid
    facility_kinds: tuple[str | None, ...]
    measures: tuple[Measure, ...]
    by_region: Callable[[Path, Filters], Frame]
    by_facility: Callable[[Path, Filters], Frame]
    region_columns: tuple[Column, ...]  # "region" is the region's name in the reader's language
    facility_columns: tuple[Column, ...]
    charts: Callable[[Path, Filters], list[Any]]  # the page's charts (dcc.Graph), by month first
    file_stem: str  # msgid: the downloaded file's name without extension
    # False: a chosen region narrows the region table to its row instead of listing its facilities.
    drill_down: bool = True

    def id(self, name: str) -> str:
        """A component id of this page."""
        return f"{self.prefix}-{name}"


def national(f: Filters) -> Filters:
    """The filters without region and facility: the map always shows the whole country."""
    return Filters(start=f.start, end=f.end, category=f.category)


def table_of(board: Board, path: Path, f: Filters, names: Mapping[int, str]) -> Shown:
    """The table shown: the regions, or the chosen region's facilities (the drill-down)."""
    if f.region_id is None or not board.drill_down:
        return shown_table(gettext("By region"), board.by_region(path, f), board.region_columns, names)
    title = gettext("Facilities of {region}", region=names.get(f.region_id, str(f.region_id)))
    return shown_table(title, board.by_facility(path, f), board.facility_columns, names)


def page_layout(board: Board, query: Mapping[str, object]) -> html.Div:
    """The whole page for the filters in the URL's `query` (or the plain message when there is no warehouse)."""
    f = filters_of(query, list(board.categories))
    heading = html.H1(gettext(board.title), className="h3")
    try:
        path = warehouse_path()
        names = region_names(path)
        facilities = facility_choices(path, f.region_id if f.region_id in names else None, board.facility_kinds)
    except UNREADABLE:
        return html.Div([heading, not_built(board.id("not-built"))], id=board.id("page"))
    first = board.measures[0]
    return html.Div(
        [
            heading,
            dcc.Location(id=board.id("url"), refresh=False, search=search_of(f)),
            filter_bar(
                board.prefix,
                f,
                regions=names,
                facilities=facilities,
                categories=board.categories,
                category_label=board.category_label,
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(gettext("Colour the map by"), html_for=board.id("measure")),
                            measure_picker(board.id("measure"), {m.key: m.label for m in board.measures}, first.key),
                            html.Div(
                                gettext("Click a region to see its facilities.")
                                if board.drill_down
                                else gettext("Click a region to choose it."),
                                className="small text-muted mt-1",
                            ),
                        ],
                        lg=3,
                    ),
                    dbc.Col(dcc.Loading(graph(board.id("map"), go.Figure())), lg=9),
                ],
                className="g-2 mb-2",
            ),
            dcc.Loading(html.Div(id=board.id("body"))),
            download_buttons(board.prefix),
        ],
        id=board.id("page"),
    )


def body(board: Board, f: Filters, measure_key: object) -> tuple[go.Figure, Any]:
    """The map and what follows it (charts, then the table) for the filters `f`."""
    path = warehouse_path()
    names = region_names(path)
    measure = next((m for m in board.measures if m.key == measure_key), board.measures[0])
    regions_frame = board.by_region(path, national(f))
    fig = choropleth(regions_frame, measure.key, gettext(measure.label), names, measure.kind)
    charts = board.charts(path, f)
    shown = table_of(board, path, f, names)
    return fig, html.Div(
        [
            dbc.Row([dbc.Col(chart, lg=6) for chart in charts], className="g-2"),
            table_view(shown, board.id("table")),
        ]
    )


def register(board: Board) -> None:
    """The page's callbacks: filters → URL, region → facilities, map click → region, URL → figures, files."""
    codes = list(board.categories)

    @callback(
        Output(board.id("url"), "search"),
        Input(board.id("from"), "value"),
        Input(board.id("to"), "value"),
        Input(board.id("region"), "value"),
        Input(board.id("facility"), "value"),
        Input(board.id("category"), "value"),
        State(board.id("url"), "search"),
        prevent_initial_call=True,
    )
    @requires(board.permission)
    def filters_to_url(  # noqa: PLR0917  (Dash passes a callback's inputs and states positionally)
        start: object, end: object, region: object, facility: object, category: object, current: object
    ) -> str:
        """Keep the filters in the URL, so that the view can be bookmarked and shared."""
        search = search_of(filters_posted(start, end, region, facility, category, categories=codes))
        if search == current:
            raise PreventUpdate
        return search

    @callback(
        Output(board.id("facility"), "options"),
        Output(board.id("facility"), "value"),
        Input(board.id("region"), "value"),
        State(board.id("facility"), "value"),
        prevent_initial_call=True,
    )
    @requires(board.permission)
    def region_facilities(region: object, facility: object) -> tuple[Any, Any]:
        """The facility dropdown filled with the chosen region's facilities (the facility kept if it is there)."""
        try:
            found = facility_choices(warehouse_path(), record_id(region), board.facility_kinds)
        except UNREADABLE:
            raise PreventUpdate from None
        kept = record_id(facility)
        options = [{"label": name, "value": org_id} for org_id, name in found]
        return options, kept if any(org_id == kept for org_id, _ in found) else None

    @callback(
        Output(board.id("region"), "value"),
        Input(board.id("map"), "clickData"),
        prevent_initial_call=True,
    )
    @requires(board.permission)
    def map_clicked(click: object) -> int:
        """A click on a region drills down to its facilities (through the region filter, so the URL keeps it)."""
        try:
            region_id = clicked_region(click, region_isos(warehouse_path()))
        except UNREADABLE:
            raise PreventUpdate from None
        if region_id is None:
            raise PreventUpdate
        return region_id

    @callback(
        Output(board.id("map"), "figure"),
        Output(board.id("body"), "children"),
        Input(board.id("url"), "search"),
        Input(board.id("measure"), "value"),
    )
    @requires(board.permission)
    def show(search: object, measure: object) -> tuple[Any, Any]:
        """The map, the charts and the table for the filters in the URL."""
        try:
            return body(board, filters_of_search(search, codes), measure)
        except UNREADABLE:
            return go.Figure(), not_built(board.id("not-built"))

    @callback(
        Output(board.id("download"), "data"),
        Input(board.id("csv"), "n_clicks"),
        Input(board.id("xlsx"), "n_clicks"),
        State(board.id("url"), "search"),
        prevent_initial_call=True,
    )
    @requires(board.permission)
    def download_table(_csv: object, _xlsx: object, search: object) -> dict[str, Any]:
        """The table shown, as CSV or Excel."""
        button = clicked()
        if button not in (board.id("csv"), board.id("xlsx")):
            raise PreventUpdate
        try:
            path = warehouse_path()
            shown = table_of(board, path, filters_of_search(search, codes), region_names(path))
        except UNREADABLE:
            raise PreventUpdate from None
        stem = gettext(board.file_stem)
        if button == board.id("csv"):
            return download(csv_bytes(shown), f"{stem}.csv", CSV_MIME)
        return download(xlsx_bytes(shown), f"{stem}.xlsx", XLSX_MIME)
