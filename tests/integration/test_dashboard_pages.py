"""The ministry dashboards: an analyst sees the prescriptions and admissions pages built from the warehouse, nobody
else calls their callbacks; the filters round-trip through the URL, a region drills down to its facilities, the table
shown downloads as CSV and Excel with the same numbers, and a missing warehouse gives a plain message."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import openpyxl
import pytest
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import Engine

from components.dashboard import Board, Kind, Shown, region_names, table_of
from tests import dashboard_portal, own_database
from tests.dash_calls import call, response_of, text_of
from tests.dashboard_portal import People, downloaded, find, layout_of
from tests.signin_checks import sign_in_as
from warehouse import queries
from warehouse.queries import Filters

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine
# The demo, its warehouse and the portal on them (tests/dashboard_portal.py).
people = dashboard_portal.people
warehouse = dashboard_portal.warehouse
portal = dashboard_portal.portal
bare_portal = dashboard_portal.bare_portal
client = dashboard_portal.client

SEARCH = "?from=2025-01&to=2026-12"
PERIOD = Filters(start=date(2025, 1, 1), end=date(2026, 12, 31))
# The page modules, imported by Dash when a portal is created (register_page needs the app first).
PAGES = {"prescriptions": "pages.dashboard_prescriptions", "admissions": "pages.dashboard_admissions"}


def _board(page: str) -> Board:
    board: Board = sys.modules[PAGES[page]].BOARD
    return board


def _show(client: FlaskClient, portal: Dash, board: Board, search: str, measure: str | None = None) -> Any:
    values = {f"{board.id('url')}.search": search, f"{board.id('measure')}.value": measure or board.measures[0].key}
    return call(client, portal, (f"{board.id('map')}.figure", f"{board.id('body')}.children"), values)


def _layout(portal: Dash, engine: Engine, cabinet_id: int, page: str, query: dict[str, Any]) -> Any:
    """The page's layout as the router builds it for `query`, rendered for the cabinet's user."""
    return layout_of(portal, engine, cabinet_id, PAGES[page], f"/dashboards/{page}", query)


def _expected(portal: Dash, board: Board, warehouse: Path, f: Filters) -> Shown:
    with portal.server.test_request_context("/"):
        return table_of(board, warehouse, f, region_names(warehouse))


def _as_shown(value: Any, kind: Kind) -> Any:
    """A value as the files carry it: rates in per cent, one decimal."""
    if value is None:
        return None
    if kind == Kind.PERCENT:
        return round(float(value) * 100, 1)
    if kind == Kind.DECIMAL:
        return round(float(value), 1)
    return value


@pytest.mark.parametrize("page", PAGES)
def test_an_analyst_sees_the_dashboard(
    client: FlaskClient, portal: Dash, engine: Engine, people: People, warehouse: Path, page: str
) -> None:
    board = _board(page)
    sign_in_as(client, people.analyst)
    assert client.get(f"/dashboards/{page}").status_code == 200
    rendered = _layout(portal, engine, people.analyst, page, {})
    assert getattr(rendered, "id", None) == board.id("page")
    find(rendered, board.id("map"))
    answer = response_of(_show(client, portal, board, SEARCH))
    figure = answer[board.id("map")]["figure"]
    outlined = {trace["customdata"][0] for trace in figure["data"] if trace.get("customdata")}
    assert len(outlined) == 14  # every region drawn from the local GeoJSON, matched on its ISO code
    assert "geo" not in figure["layout"]  # no plotly geo map: it would fetch its world topology from a CDN
    filled = {trace["customdata"][0]: trace["fillcolor"] for trace in figure["data"] if trace.get("customdata")}
    assert len(set(filled.values())) > 1  # coloured by the measure
    by_region = board.by_region(warehouse, PERIOD)
    assert sum(by_region.column(board.measures[0].key)) > 0  # the demo has data in the period
    shown = text_of(answer[board.id("body")]["children"])
    assert "Toshkent shahri" in shown  # region names in the reader's language (uz by default)
    for measure in board.measures[1:]:
        assert response_of(_show(client, portal, board, SEARCH, measure.key))[board.id("map")]["figure"]["data"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["doctor", "manager"])
def test_other_roles_are_refused_on_every_callback(
    client: FlaskClient, portal: Dash, people: People, page: str, role: str
) -> None:
    board = _board(page)
    sign_in_as(client, getattr(people, role))
    outputs = [key for key in portal.callback_map if f"{board.prefix}-" in key]
    assert len(outputs) == 5, outputs
    for output in outputs:
        entry = portal.callback_map[output]
        body = {
            "output": output,
            "outputs": [
                {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
                for part in output.strip(".").split("...")
            ],
            "inputs": [{"id": spec["id"], "property": spec["property"], "value": None} for spec in entry["inputs"]],
            "state": [{"id": spec["id"], "property": spec["property"], "value": None} for spec in entry["state"]],
            "changedPropIds": [f"{entry['inputs'][0]['id']}.{entry['inputs'][0]['property']}"],
        }
        if len(body["outputs"]) == 1:
            body["outputs"] = body["outputs"][0]
        assert client.post("/_dash-update-component", json=body).status_code == 403, output
    rendered = client.get(f"/dashboards/{page}")
    assert rendered.status_code == 200  # the shell; its layout refuses (tests/integration/test_every_page.py)


@pytest.mark.parametrize("page", PAGES)
def test_filters_round_trip_through_the_url(
    client: FlaskClient, portal: Dash, engine: Engine, people: People, warehouse: Path, page: str
) -> None:
    board = _board(page)
    sign_in_as(client, people.analyst)
    facility = board.by_facility(warehouse, Filters(PERIOD.start, PERIOD.end, region_id=1726))
    organization_id = facility.column("organization_id")[0] if facility.rows else None
    category = next(iter(board.categories))
    values = {
        f"{board.id('from')}.value": "2025-02",
        f"{board.id('to')}.value": "2026-01",
        f"{board.id('region')}.value": 1726,
        f"{board.id('facility')}.value": organization_id,
        f"{board.id('category')}.value": category,
        f"{board.id('url')}.search": "",
    }
    answer = response_of(call(client, portal, f"{board.id('url')}.search", values))
    search = answer[board.id("url")]["search"]
    query = {key: value[0] for key, value in parse_qs(search.removeprefix("?")).items()}
    assert query["from"] == "2025-02" and query["to"] == "2026-01" and query["region"] == "1726"
    assert query["category"] == category
    rendered = _layout(portal, engine, people.analyst, page, query)
    assert find(rendered, board.id("from")).value == "2025-02"
    assert find(rendered, board.id("to")).value == "2026-01"
    assert find(rendered, board.id("region")).value == 1726
    assert find(rendered, board.id("facility")).value == organization_id
    assert find(rendered, board.id("category")).value == category
    assert find(rendered, board.id("url")).search == search
    # The same filters again: the URL is left alone (no loop between the URL and the filters).
    same = call(client, portal, f"{board.id('url')}.search", {**values, f"{board.id('url')}.search": search})
    assert same.status_code == 204


@pytest.mark.parametrize("page", PAGES)
def test_invalid_url_values_fall_back_to_the_defaults(
    client: FlaskClient, portal: Dash, engine: Engine, people: People, page: str
) -> None:
    board = _board(page)
    sign_in_as(client, people.analyst)
    junk = {"from": "2026-13", "to": "soon", "region": "x1", "facility": "-4", "category": "<script>"}
    rendered = _layout(portal, engine, people.analyst, page, junk)
    default = _layout(portal, engine, people.analyst, page, {})
    for name in ("from", "to", "region", "facility", "category"):
        assert find(rendered, board.id(name)).value == find(default, board.id(name)).value, name
    assert find(rendered, board.id("region")).value is None
    answer = response_of(_show(client, portal, board, "?from=2026-13&to=soon&region=x1&category=%3Cscript%3E"))
    assert answer[board.id("map")]["figure"]["data"]  # the default view, not an error page
    # A list where one value is expected (a repeated key) is read like the browser's first value.
    assert find(_layout(portal, engine, people.analyst, page, {"from": ["2025-03", "x"]}), board.id("from")).value


@pytest.mark.parametrize("page", PAGES)
def test_a_region_drills_down_to_its_facilities(
    client: FlaskClient, portal: Dash, people: People, warehouse: Path, page: str
) -> None:
    board = _board(page)
    sign_in_as(client, people.analyst)
    by_region = board.by_region(warehouse, PERIOD)
    busiest = max(by_region.rows, key=lambda row: row[by_region.columns.index(board.measures[0].key)])
    region_id, iso = busiest[0], busiest[1]
    click = {"points": [{"customdata": iso, "curveNumber": 3}]}
    answer = response_of(call(client, portal, f"{board.id('region')}.value", {f"{board.id('map')}.clickData": click}))
    assert answer[board.id("region")]["value"] == region_id
    options = response_of(
        call(
            client,
            portal,
            (f"{board.id('facility')}.options", f"{board.id('facility')}.value"),
            {f"{board.id('region')}.value": region_id},
        )
    )[board.id("facility")]["options"]
    in_region = queries.facilities(warehouse, region_id, None)
    assert {option["value"] for option in options} <= set(in_region.column("organization_id"))
    facilities = board.by_facility(warehouse, Filters(PERIOD.start, PERIOD.end, region_id=region_id))
    assert facilities.rows and set(facilities.column("region_id")) == {region_id}
    body = text_of(
        response_of(_show(client, portal, board, f"{SEARCH}&region={region_id}"))[board.id("body")]["children"]
    )
    for name in facilities.column("name"):
        assert name in body
    others = board.by_facility(warehouse, PERIOD)
    strangers = [row[1] for row in others.rows if row[2] != region_id]
    assert all(name not in body for name in strangers)
    # A click outside the regions changes nothing.
    nothing = call(client, portal, f"{board.id('region')}.value", {f"{board.id('map')}.clickData": {"points": []}})
    assert nothing.status_code == 204


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("drill", [False, True])
def test_downloads_carry_the_numbers_shown(
    client: FlaskClient, portal: Dash, people: People, warehouse: Path, page: str, drill: bool
) -> None:
    board = _board(page)
    sign_in_as(client, people.analyst)
    region_id = 1726
    if drill:
        by_region = board.by_region(warehouse, PERIOD)
        region_id = max(by_region.rows, key=lambda row: row[by_region.columns.index(board.measures[0].key)])[0]
    search = f"{SEARCH}&region={region_id}" if drill else SEARCH
    f = Filters(PERIOD.start, PERIOD.end, region_id=region_id if drill else None)
    expected = _expected(portal, board, warehouse, f)
    assert expected.rows
    kinds = [column.kind for column in expected.columns]

    rows = list(csv.reader(io.StringIO(downloaded(client, portal, board, "csv", search).decode("utf-8-sig"))))
    assert len(rows) == len(expected.rows) + 1
    for got, want in zip(rows[1:], expected.rows, strict=True):
        for cell, value, kind in zip(got, want, kinds, strict=True):
            shown = _as_shown(value, kind)
            if shown is None:
                assert cell == ""
            elif kind == Kind.TEXT:
                assert cell == str(shown)
            else:
                assert float(cell) == pytest.approx(float(shown))

    sheet = openpyxl.load_workbook(io.BytesIO(downloaded(client, portal, board, "xlsx", search))).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(cells) == len(expected.rows)
    for got_row, want_row in zip(cells, expected.rows, strict=True):
        for typed, value, kind in zip(got_row, want_row, kinds, strict=True):
            if value is None:
                assert typed is None
            elif kind == Kind.TEXT:
                assert typed == value
            else:
                # Numbers stay numbers (rates as fractions shown as %); averages rounded to one decimal as shown.
                assert isinstance(typed, int | float)
                assert typed == pytest.approx(float(value), abs=0.06)
    # No click, no file.
    idle = call(client, portal, f"{board.id('download')}.data", {f"{board.id('url')}.search": search})
    assert idle.status_code == 204


@pytest.mark.parametrize("page", PAGES)
def test_a_missing_warehouse_gives_a_plain_message(
    bare_portal: Dash, engine: Engine, people: People, page: str
) -> None:
    board = _board(page)
    rendered = _layout(bare_portal, engine, people.analyst, page, {"region": "1726"})
    assert "python -m etl rebuild" in str(find(rendered, board.id("not-built")).children)  # in any language
    with bare_portal.server.test_client() as client:
        sign_in_as(client, people.analyst)
        answer = response_of(_show(client, bare_portal, board, SEARCH))
        assert "python -m etl rebuild" in text_of(answer[board.id("body")]["children"])
        nothing = call(
            client,
            bare_portal,
            f"{board.id('download')}.data",
            {f"{board.id('csv')}.n_clicks": 1},
            f"{board.id('csv')}.n_clicks",
        )
        assert nothing.status_code == 204
        assert client.get("/reports").status_code == 200  # the rest of the portal keeps working
