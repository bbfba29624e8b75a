"""The interface language: chosen by a cookie, switched by /lang/<code>, uz (Latin) by default."""

from __future__ import annotations

from flask import Flask, abort, g, redirect, request
from werkzeug.wrappers import Response

from auth.redirects import safe_next
from ehealth.i18n import LANGUAGE_NAMES, LANGUAGES, current_language, gettext, ngettext, reset_language, set_language
from settings import Settings

COOKIE = "lang"


def init_app(server: Flask, settings: Settings) -> None:
    """Serve every request in the user's language and offer the switch route."""

    @server.before_request
    def choose_language() -> None:
        """Take the language from the cookie, else the installation's default."""
        g.language_token = set_language(request.cookies.get(COOKIE) or settings.default_language)

    @server.teardown_request
    def restore_language(_error: BaseException | None) -> None:
        """Leave the thread as it was: the next request (or test) starts from the default."""
        token = g.pop("language_token", None)
        if token is not None:
            reset_language(token)

    @server.get("/lang/<code>")
    def switch_language(code: str) -> Response:
        """Remember the chosen language and go back where the user was."""
        if code not in LANGUAGES:
            abort(404)
        response = redirect(safe_next(request.args.get("next")))
        response.set_cookie(
            COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=settings.environment == "production",
        )
        return response

    server.jinja_env.globals.update(
        _=gettext, ngettext=ngettext, current_language=current_language, language_names=LANGUAGE_NAMES
    )
