"""The user-inventory dashboard: an analyst sees it built from the warehouse, nobody else calls its callbacks; the
filters round-trip through the URL, a click on the map chooses a region, the region table downloads as CSV and Excel
with the same numbers, and a missing warehouse gives a plain message."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
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
from tests.dashboard_portal import TODAY, People, downloaded, find, layout_of
from tests.factories import TASHKENT_CITY
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

SEARCH = "?from=2025-01&to=2026-03"
PERIOD = Filters(start=date(2025, 1, 1), end=date(2026, 3, 31))
PAGE = "pages.dashboard_users"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's today: open notices and requests are judged on the day the data was generated for."""
    monkeypatch.setattr(queries, "today", lambda: TODAY)


def _board() -> Board:
    board: Board = sys.modules[PAGE].BOARD
    return board


def _show(client: FlaskClient, portal: Dash, search: str, measure: str | None = None) -> Any:
    board = _board()
    values = {f"{board.id('url')}.search": search, f"{board.id('measure')}.value": measure or board.measures[0].key}
    return call(client, portal, (f"{board.id('map')}.figure", f"{board.id('body')}.children"), values)


def _layout(portal: Dash, engine: Engine, cabinet_id: int, query: dict[str, Any]) -> Any:
    """The page's layout as the router builds it for `query`, rendered for the cabinet's user."""
    return layout_of(portal, engine, cabinet_id, PAGE, "/dashboards/users", query)


def _downloaded(client: FlaskClient, portal: Dash, button: str, search: str) -> bytes:
    return downloaded(client, portal, _board(), button, search)


def _expected(portal: Dash, warehouse: Path, f: Filters) -> Shown:
    with portal.server.test_request_context("/"):
        return table_of(_board(), warehouse, f, region_names(warehouse))


def test_an_analyst_sees_the_dashboard(
    client: FlaskClient, portal: Dash, engine: Engine, people: People, warehouse: Path
) -> None:
    board = _board()
    sign_in_as(client, people.analyst)
    assert client.get("/dashboards/users").status_code == 200
    rendered = _layout(portal, engine, people.analyst, {})
    assert getattr(rendered, "id", None) == board.id("page")
    find(rendered, board.id("map"))
    answer = response_of(_show(client, portal, SEARCH))
    figure = answer[board.id("map")]["figure"]
    filled = {trace["customdata"][0]: trace["fillcolor"] for trace in figure["data"] if trace.get("customdata")}
    assert len(filled) == 14  # every region drawn from the local GeoJSON
    assert len(set(filled.values())) > 1  # coloured by review coverage
    children = answer[board.id("body")]["children"]
    shown = text_of(children)
    assert "Toshkent shahri" in shown  # region names in the reader's language (uz by default)
    graphs = {
        component["props"]["id"]
        for component in _components(children)
        if component.get("type") == "Graph" and "id" in component.get("props", {})
    }
    assert graphs == {board.id("roles"), board.id("statuses"), board.id("deadlines"), board.id("history")}
    by_region = board.by_region(warehouse, PERIOD)
    assert sum(by_region.column("cabinets")) > 0
    assert sum(by_region.column("reviewed_12_months")) > 0
    for measure in board.measures[1:]:
        assert response_of(_show(client, portal, SEARCH, measure.key))[board.id("map")]["figure"]["data"]


def _components(tree: Any) -> Iterator[dict[str, Any]]:
    """Every serialized component under `tree` (a callback's JSON answer)."""
    if isinstance(tree, dict):
        if "type" in tree and "props" in tree:
            yield tree
            yield from _components(tree["props"].get("children"))
        else:
            for value in tree.values():
                yield from _components(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _components(item)


def test_the_region_table_carries_the_warehouse_figures(portal: Dash, warehouse: Path) -> None:
    coverage = queries.review_coverage(warehouse, PERIOD)
    asleep = queries.dormant(warehouse, PERIOD)
    by_region = _board().by_region(warehouse, PERIOD)
    assert by_region.column("region_id") == coverage.column("region_id")
    assert by_region.column("coverage") == coverage.column("coverage")
    assert by_region.column("dormant") == asleep.column("dormant")
    assert by_region.column("never_signed_in") == asleep.column("never_signed_in")
    statuses = queries.cabinets_by(warehouse, PERIOD, "status")
    assert sum(by_region.column("cabinets")) == sum(statuses.column("cabinets"))
    for status in ("active", "blocked", "archived"):
        assert sum(by_region.column(status)) == sum(statuses.column(status))


@pytest.mark.parametrize("role", ["doctor", "manager"])
def test_other_roles_are_refused_on_every_callback(
    client: FlaskClient, portal: Dash, people: People, role: str
) -> None:
    board = _board()
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
    assert client.get("/dashboards/users").status_code == 200  # the shell; its layout refuses


def test_filters_round_trip_through_the_url(
    client: FlaskClient, portal: Dash, engine: Engine, people: People, warehouse: Path
) -> None:
    board = _board()
    sign_in_as(client, people.analyst)
    facilities = queries.facilities(warehouse, TASHKENT_CITY, None)
    organization_id = facilities.column("organization_id")[0]
    values = {
        f"{board.id('from')}.value": "2025-02",
        f"{board.id('to')}.value": "2026-01",
        f"{board.id('region')}.value": TASHKENT_CITY,
        f"{board.id('facility')}.value": organization_id,
        f"{board.id('category')}.value": "doctor",
        f"{board.id('url')}.search": "",
    }
    answer = response_of(call(client, portal, f"{board.id('url')}.search", values))
    search = answer[board.id("url")]["search"]
    query = {key: value[0] for key, value in parse_qs(search.removeprefix("?")).items()}
    assert query == {
        "from": "2025-02",
        "to": "2026-01",
        "region": str(TASHKENT_CITY),
        "facility": str(organization_id),
        "category": "doctor",
    }
    rendered = _layout(portal, engine, people.analyst, query)
    assert find(rendered, board.id("from")).value == "2025-02"
    assert find(rendered, board.id("to")).value == "2026-01"
    assert find(rendered, board.id("region")).value == TASHKENT_CITY
    assert find(rendered, board.id("facility")).value == organization_id
    assert find(rendered, board.id("category")).value == "doctor"
    assert find(rendered, board.id("url")).search == search
    same = call(client, portal, f"{board.id('url')}.search", {**values, f"{board.id('url')}.search": search})
    assert same.status_code == 204  # no loop between the URL and the filters
    # The role filter reaches the figures: only doctors' cabinets are counted.
    doctors = Filters(PERIOD.start, PERIOD.end, category="doctor")
    expected = _expected(portal, warehouse, doctors)
    everyone = _expected(portal, warehouse, PERIOD)
    cabinets = [column.key for column in expected.columns].index("cabinets")
    assert 0 < sum(row[cabinets] for row in expected.rows) < sum(row[cabinets] for row in everyone.rows)


def test_invalid_url_values_fall_back_to_the_defaults(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    board = _board()
    sign_in_as(client, people.analyst)
    junk = {"from": "2026-13", "to": "soon", "region": "x1", "facility": "-4", "category": "purged"}
    rendered = _layout(portal, engine, people.analyst, junk)
    default = _layout(portal, engine, people.analyst, {})
    for name in ("from", "to", "region", "facility", "category"):
        assert find(rendered, board.id(name)).value == find(default, board.id(name)).value, name
    answer = response_of(_show(client, portal, "?from=2026-13&to=soon&region=x1&category=%3Cscript%3E"))
    assert answer[board.id("map")]["figure"]["data"]


def test_a_map_click_chooses_the_region_and_narrows_the_table(
    client: FlaskClient, portal: Dash, people: People, warehouse: Path
) -> None:
    board = _board()
    sign_in_as(client, people.analyst)
    click = {"points": [{"customdata": "UZ-TK", "curveNumber": 3}]}
    answer = response_of(call(client, portal, f"{board.id('region')}.value", {f"{board.id('map')}.clickData": click}))
    assert answer[board.id("region")]["value"] == TASHKENT_CITY
    body = text_of(response_of(_show(client, portal, f"{SEARCH}&region={TASHKENT_CITY}"))[board.id("body")]["children"])
    assert "Toshkent shahri" in body
    assert "Andijon viloyati" not in body  # the table holds the chosen region only
    nothing = call(client, portal, f"{board.id('region')}.value", {f"{board.id('map')}.clickData": {"points": []}})
    assert nothing.status_code == 204


@pytest.mark.parametrize("region", [None, TASHKENT_CITY])
def test_downloads_carry_the_numbers_shown(
    client: FlaskClient, portal: Dash, people: People, warehouse: Path, region: int | None
) -> None:
    sign_in_as(client, people.analyst)
    search = SEARCH if region is None else f"{SEARCH}&region={region}"
    expected = _expected(portal, warehouse, Filters(PERIOD.start, PERIOD.end, region_id=region))
    assert len(expected.rows) == (14 if region is None else 1)
    kinds = [column.kind for column in expected.columns]

    rows = list(csv.reader(io.StringIO(_downloaded(client, portal, "csv", search).decode("utf-8-sig"))))
    assert len(rows) == len(expected.rows) + 1
    for got, want in zip(rows[1:], expected.rows, strict=True):
        for cell, value, kind in zip(got, want, kinds, strict=True):
            if value is None:
                assert cell == ""
            elif kind == Kind.TEXT:
                assert cell == str(value)
            elif kind == Kind.PERCENT:
                assert float(cell) == pytest.approx(round(float(value) * 100, 1))
            else:
                assert float(cell) == pytest.approx(float(value))

    sheet = openpyxl.load_workbook(io.BytesIO(_downloaded(client, portal, "xlsx", search))).active
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
                assert isinstance(typed, int | float)
                assert typed == pytest.approx(float(value))
    board = _board()
    idle = call(client, portal, f"{board.id('download')}.data", {f"{board.id('url')}.search": search})
    assert idle.status_code == 204


def test_a_missing_warehouse_gives_a_plain_message(bare_portal: Dash, engine: Engine, people: People) -> None:
    board = _board()
    rendered = _layout(bare_portal, engine, people.analyst, {"region": "1726"})
    assert "python -m etl rebuild" in str(find(rendered, board.id("not-built")).children)
    with bare_portal.server.test_client() as client:
        sign_in_as(client, people.analyst)
        answer = response_of(_show(client, bare_portal, SEARCH))
        assert "python -m etl rebuild" in text_of(answer[board.id("body")]["children"])
        nothing = call(
            client,
            bare_portal,
            f"{board.id('download')}.data",
            {f"{board.id('csv')}.n_clicks": 1},
            f"{board.id('csv')}.n_clicks",
        )
        assert nothing.status_code == 204
