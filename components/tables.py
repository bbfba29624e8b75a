"""The plain tables the pages show: translated headers, rows of cells (or ready rows, e.g. highlighted ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from ehealth.i18n import N_, gettext


def table(
    headers: Sequence[str],
    rows: Sequence[html.Tr | Sequence[Any]],
    component_id: str,
    *,
    empty: str = N_("None yet."),
    scroll: bool = False,
) -> html.P | dbc.Table | html.Div:
    """A small table with `headers` (msgids) and `rows`, or a line saying `empty` (a msgid) when there are none.

    `scroll` keeps a long table in a box of its own height, headers in view, so the page around it stays usable.
    """
    if not rows:
        return html.P(gettext(empty), className="text-muted", id=component_id)
    body = [row if isinstance(row, html.Tr) else html.Tr([html.Td(cell) for cell in row]) for row in rows]
    head = html.Thead(html.Tr([html.Th(gettext(header)) for header in headers]), className="sticky-top")
    grid = dbc.Table([head, html.Tbody(body)], size="sm", className="bg-white", id=component_id)
    return html.Div(grid, className="table-scroll mb-2") if scroll else grid
