"""The portal: create_app(settings) builds the Flask server and the Dash app on it; `python app.py` serves it."""

from __future__ import annotations

from urllib.parse import quote

from dash import Dash
from flask import Flask, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

import db
from api.access.http import api_access_bp
from api.fhir_routes import fhir_bp
from auth import cabinet_choice, callbacks, document_signing, report_downloads, throttle
from auth import session as auth_session
from auth.eimzo_views import init_eimzo
from auth.session import STATIC_PREFIXES
from auth.views import bp as auth_bp
from auth.views import init_oneid
from components import language, shell
from components.labels import role_label
from ehealth.i18n import N_, gettext
from ehealth.reports.exports import EXPORTER_KEY, exporter
from settings import ROOT, Settings, from_env

# Reachable without signing in: the sign-in itself, the language switch and static files; the API authenticates each
# call by its bearer token instead (api.access.http).
PUBLIC_PREFIXES = ("/login", "/lang/", "/healthz", "/api/v1/", "/fhir/", *STATIC_PREFIXES)

_ERRORS = {
    400: (N_("Bad request"), N_("The request could not be understood. Check what you entered and try again.")),
    403: (N_("No access"), N_("You do not have access to this.")),
    404: (N_("Page not found"), N_("There is no page at this address.")),
    405: (N_("Not allowed"), N_("This action is not allowed here.")),
    500: (
        N_("Something went wrong"),
        N_("The portal could not complete the request. Nothing was saved half-way; please try again."),
    ),
}


def _require_sign_in() -> ResponseReturnValue | None:
    """Deny by default: everything but the public paths needs a signed-in user."""
    # Public paths first: static files must not cost a database read of the user.
    if request.path.startswith(PUBLIC_PREFIXES) or current_user.is_authenticated:
        return None
    if request.path.startswith("/_dash-"):
        return jsonify(error=gettext("Sign in again: your session has ended.")), 401
    return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='')}")


def _error_page(error: Exception) -> ResponseReturnValue:
    """A plain page in the user's language; never a traceback."""
    code = error.code if isinstance(error, HTTPException) and error.code else 500
    title, message = _ERRORS.get(code, _ERRORS[500] if code >= 500 else _ERRORS[400])
    return render_template("error.html", code=code, title=gettext(title), message=gettext(message)), code


def create_server(settings: Settings) -> Flask:
    """The Flask server with database, sessions, language, sign-in and error pages."""
    server = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=None)
    server.config["EHEALTH_SETTINGS"] = settings
    server.config["EHEALTH_DEVELOPMENT"] = settings.is_development
    engine = db.make_engine(settings.database_url)
    db.init_app(server, db.make_session_factory(engine))
    language.init_app(server, settings)
    auth_session.init_app(server, settings)
    server.jinja_env.globals.update(role_label=role_label)
    server.register_blueprint(auth_bp)
    server.register_blueprint(cabinet_choice.bp)
    server.register_blueprint(document_signing.bp)
    server.register_blueprint(report_downloads.bp)
    server.register_blueprint(api_access_bp)
    server.register_blueprint(fhir_bp)
    throttle.init_app(server, settings)
    init_oneid(server, settings)
    init_eimzo(server, settings)
    server.before_request(_require_sign_in)
    server.register_error_handler(HTTPException, _error_page)
    server.register_error_handler(InternalServerError, _error_page)
    server.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    # Report exports run on a small thread pool of this process, never in a request thread.
    server.extensions[EXPORTER_KEY] = exporter(db.make_session_factory(engine))
    if settings.etl_interval_minutes:
        from etl.schedule import start_background as refresh_warehouse  # noqa: PLC0415  (polars only when asked)

        server.extensions["ehealth.warehouse_etl"] = refresh_warehouse(
            engine, settings.warehouse_path, settings.warehouse_key.encode(), settings.etl_interval_minutes
        )
    if settings.expiry_sweep_minutes:
        from ehealth.prescription.sweep import start_background  # noqa: PLC0415

        server.extensions["ehealth.prescription_sweep"] = start_background(
            db.make_session_factory(engine), settings.expiry_sweep_minutes
        )
    return server


def create_app(settings: Settings | None = None) -> Dash:
    """The Dash portal on its Flask server (`create_app().server` is the WSGI app)."""
    settings = (settings or from_env()).validate()
    server = create_server(settings)
    app = Dash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash's annotation omits Flask, which it accepts
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        assets_path_ignore=["signin"],  # the sign-in pages' own scripts, not part of every Dash page
        serve_locally=True,  # hospital networks are often closed: no CDN
        title="Elektron sog'liqni saqlash",
        update_title=None,  # type: ignore[arg-type]  # None turns the 'Updating' title off
        suppress_callback_exceptions=True,
    )
    app.layout = shell.layout
    shell.register_callbacks(app)
    callbacks.install(app)
    return app


def __getattr__(name: str) -> object:
    """`app:server` for a WSGI server (gunicorn): built on first access, from the environment's settings."""
    if name == "server":
        return create_app().server
    raise AttributeError(name)


if __name__ == "__main__":
    current = from_env()
    portal = create_app(current)
    print(f"Portal: http://{current.host}:{current.port}")
    print(f"Sign in: open http://{current.host}:{current.port}/login")
    if current.oneid_simulator:
        print("OneID: the local simulator stands in for sso.egov.uz (development only).")
    if current.eimzo_simulator:
        print("E-IMZO: the local simulator stands in for E-IMZO-SERVER and the browser plugin (development only).")
    portal.run(host=current.host, port=current.port, debug=False)
