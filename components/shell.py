"""The frame around every page: navbar from the page registry (filtered by permission), language, user menu."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html

from auth.callbacks import requires
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.labels import role_label
from ehealth.i18n import LANGUAGE_NAMES, LANGUAGES, current_language, gettext


def nav_pages(who: PortalUser | None) -> list[dict[str, Any]]:
    """Pages that declare a menu label and whose permission the user holds, in registry order."""
    if who is None:
        return []
    return [page for page in dash.page_registry.values() if page.get("nav") and who.can(page["permission"])]


def _language_switcher() -> html.Div:
    current = current_language()
    return html.Div(
        [
            html.A(
                LANGUAGE_NAMES[code],
                id=f"shell-lang-{code}",
                href=f"/lang/{code}",
                lang=code,
                className="btn btn-sm " + ("btn-light" if code == current else "btn-outline-light"),
            )
            for code in LANGUAGES
        ],
        className="d-flex gap-1",
        id="shell-languages",
    )


def _user_menu(who: PortalUser) -> html.Div:
    return html.Div(
        [
            html.Span(
                [html.Strong(who.full_name), html.Br(), html.Small(role_label(who.role))],
                className="text-light me-3 lh-sm",
                id="shell-user",
            ),
            html.Form(
                html.Button(gettext("Sign out"), className="btn btn-sm btn-outline-light", id="shell-sign-out"),
                action="/logout",
                method="post",
            ),
        ],
        className="d-flex align-items-center",
    )


def navbar() -> dbc.Navbar:
    """The top bar for the signed-in user."""
    who = user()
    links = [
        dbc.NavItem(dbc.NavLink(gettext(page["nav"]), href=page["relative_path"], active="exact"))
        for page in nav_pages(who)
    ]
    right = [_language_switcher()] + ([_user_menu(who)] if who else [])
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(gettext("Electronic Health"), href="/"),
                dbc.Nav(links, navbar=True, className="me-auto", id="shell-nav"),
                html.Div(right, className="d-flex align-items-center gap-3"),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        className="mb-3",
    )


def layout() -> html.Div:
    """The whole page: navbar and the current page's content."""
    return html.Div(
        [navbar(), dbc.Container(dash.page_container, fluid=True, className="pb-4")],
        lang=current_language(),
    )


def keep_place_on_language_switch(pathname: str | None, search: str | None) -> list[str]:
    """Point the language links back at the page being viewed."""
    here = quote((pathname or "/") + (search or ""), safe="")
    return [f"/lang/{code}?next={here}" for code in LANGUAGES]


def register_callbacks(app: Dash) -> None:
    """Bind the shell's callbacks to `app` (not globally, so that every app built in a process has them)."""
    app.callback(
        [Output(f"shell-lang-{code}", "href") for code in LANGUAGES],
        Input("_pages_location", "pathname"),
        Input("_pages_location", "search"),
    )(requires(Permission.VIEW_HOME)(keep_place_on_language_switch))
