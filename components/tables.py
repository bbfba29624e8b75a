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
) -> html.P | dbc.Table:
    """A small table with `headers` (msgids) and `rows`, or a line saying `empty` (a msgid) when there are none."""
    if not rows:
        return html.P(gettext(empty), className="text-muted", id=component_id)
    body = [row if isinstance(row, html.Tr) else html.Tr([html.Td(cell) for cell in row]) for row in rows]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(gettext(header)) for header in headers])), html.Tbody(body)],
        size="sm",
        className="bg-white",
        id=component_id,
    )
