"""A built report on the page: its scope, each table (numbers right-aligned, the total row bold) and its charts."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from ehealth.i18n import gettext
from ehealth.reports.base import Chart, ChartKind, Kind, Report, Table
from ehealth.reports.formatting import cell_text, numeric


def scope_line(report: Report) -> str:
    """ "Organization · department · 01.11.2026 – 26.11.2026"."""
    scope = report.scope
    parts = [scope.organization_name]
    if scope.department_name:
        parts.append(scope.department_name)
    parts.append(f"{scope.start:%d.%m.%Y} – {scope.end:%d.%m.%Y}")
    return " · ".join(parts)


def _cell(value: Any, kind: Kind, *, strong: bool = False) -> html.Td:
    text = cell_text(value, kind)
    return html.Td(html.Strong(text) if strong else text, className="text-end text-nowrap" if numeric(kind) else None)


def table_view(table: Table, report_key: str) -> html.Div:
    """One table of the report, or a line saying there is nothing in the period."""
    component = f"report-{report_key}-{table.key}"
    head = html.Thead(
        html.Tr(
            [html.Th(column.label, className="text-end" if numeric(column.kind) else None) for column in table.columns]
        ),
        className="sticky-top",
    )
    kinds = [column.kind for column in table.columns]
    body = [html.Tr([_cell(value, kind) for value, kind in zip(row, kinds, strict=True)]) for row in table.rows]
    if table.total is not None:
        body.append(
            html.Tr(
                [_cell(value, kind, strong=True) for value, kind in zip(table.total, kinds, strict=True)],
                className="table-light",
            )
        )
    parts: list[Any] = [html.H3(table.title, className="h6 mt-3")]
    if table.rows:
        grid = dbc.Table([head, html.Tbody(body)], size="sm", className="bg-white", id=component)
        parts.append(html.Div(grid, className="table-scroll mb-1"))
    else:
        parts.append(html.P(gettext("Nothing in this period."), className="text-muted", id=component))
    if table.note:
        parts.append(html.P(table.note, className="small text-muted"))
    return html.Div(parts)


def figure(report: Report, chart: Chart) -> go.Figure:
    """A plotly figure of one chart of the report."""
    table = report.table(chart.table)
    # Dates as "26.11" text: plotly would name the months in English whatever the reader's language.
    x = [
        value.strftime("%d.%m") if isinstance(value, date) else value
        for value in (row[table.column(chart.x)] for row in table.rows)
    ]
    traces: list[Any] = []
    for key in chart.y:
        column = table.columns[table.column(key)]
        y = [row[table.column(key)] for row in table.rows]
        if chart.kind == ChartKind.LINE:
            traces.append(go.Scatter(x=x, y=y, mode="lines+markers", name=column.label))
        else:
            traces.append(go.Bar(x=x, y=y, name=column.label))
    fig = go.Figure(traces)
    fig.update_layout(
        title=chart.title or table.title,
        barmode="stack" if chart.kind == ChartKind.STACKED else "group",
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        height=320,
        legend={"orientation": "h"},
        template="plotly_white",
    )
    return fig


def report_view(report: Report) -> html.Div:
    """The whole report: title, scope, charts, then tables."""
    charts = [
        dcc.Graph(figure=figure(report, chart), config={"displaylogo": False}, id=f"report-chart-{index}")
        for index, chart in enumerate(report.charts)
        if report.table(chart.table).rows
    ]
    return html.Div(
        [
            html.H2(report.title, className="h5 mb-0", id="report-title"),
            html.P(scope_line(report), className="text-muted", id="report-scope"),
            *[html.P(note, className="small") for note in report.notes],
            dbc.Row([dbc.Col(chart, lg=6) for chart in charts], className="g-2") if charts else html.Div(),
            *[table_view(table, report.key) for table in report.tables],
        ],
        id="report-view",
    )
