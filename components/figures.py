"""KPI cards and other small figure blocks."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from ehealth.home import Figure
from ehealth.i18n import gettext


def kpi_cards(figures: list[Figure], id_prefix: str) -> dbc.Row:
    """A row of cards, one number each, labels translated."""
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(f"{figure.value:,}".replace(",", " "), className="kpi-value"),
                            html.Div(gettext(figure.label), className="text-muted"),
                        ]
                    ),
                    className="shadow-sm h-100",
                ),
                md=3,
                className="mb-3",
                id=f"{id_prefix}-kpi-{index}",
            )
            for index, figure in enumerate(figures)
        ]
    )
