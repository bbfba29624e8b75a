"""A OneID stand-in on loopback speaking the real protocol: pick a person, get a code, a token, an identity."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Response as BaseResponse

from auth.simulators import Served, SimulatorRefused, mask, nobody_pinfl, serve
from db import make_engine, make_session_factory
from ehealth.access.models import Cabinet
from ehealth.reference.models import Organization
from settings import Settings

PATH = "/sso/oauth/Authorization.do"  # the real service's path, so URLs look alike
LISTED = 300  # enough for the demo data's cabinets; the page is for picking, not browsing
NOBODY = "nobody"
Fault = Literal["ret_cd", "no_pin"]


@dataclass
class _Grant:
    """A code or token: whom it names, for which client and redirect, until when."""

    pinfl: str
    client_id: str
    redirect_uri: str
    expires: float


@dataclass
class _Person:
    """What OneID would know about a person."""

    pinfl: str
    surname: str
    given_name: str
    patronymic: str
    document: str


@dataclass
class SimulatorState:
    """Issued codes and tokens, plus a switch tests use to make the identify step fail."""

    client_id: str
    client_secret: str
    ttl: float
    codes: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, _Grant] = field(default_factory=dict)
    people: dict[str, _Person] = field(default_factory=dict)
    fault: Fault | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class RunningSimulator:
    """A started simulator: its endpoint URL, its state and how to stop it."""

    url: str
    state: SimulatorState
    served: Served

    def stop(self) -> None:
        """Shut the HTTP server down and wait for its thread."""
        self.served.stop()


def _person(db: Session, choice: str) -> _Person | None:
    """The person behind a choice on the page: a cabinet's owner or the stranger."""
    if choice == NOBODY:
        return _Person(nobody_pinfl(db), "Begonaxonova", "Dilnoza", "Rustamovna", "AB1234567")
    cabinet = db.get(Cabinet, int(choice)) if choice.isdigit() else None
    if cabinet is None or cabinet.pinfl is None:  # a purged cabinet's owner is no longer known
        return None
    document = f"{cabinet.document_series}{cabinet.document_number}"
    return _Person(cabinet.pinfl, cabinet.surname, cabinet.given_name, cabinet.patronymic or "", document)


def _page(db: Session, client_id: str, redirect_uri: str, scope: str, state: str) -> str:
    """The sign-in page: one button per cabinet's owner and one for a person without a cabinet."""
    rows = db.execute(
        select(Cabinet, Organization.name)
        .join(Organization, Organization.id == Cabinet.organization_id)
        .order_by(Cabinet.id)
        .limit(LISTED)
    ).all()
    hidden = "".join(
        Markup('<input type="hidden" name="{}" value="{}">').format(name, value)
        for name, value in (
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", state),
        )
    )
    buttons = [
        Markup('<li><button name="person" value="{}">{}</button> {} · {} · {} · PINFL {}</li>').format(
            cabinet.id, cabinet.full_name, cabinet.role, name, cabinet.status, mask(cabinet.pinfl)
        )
        for cabinet, name in rows
        if cabinet.pinfl is not None  # a purged cabinet's owner is no longer known
    ]
    stranger = Markup('<li><button name="person" value="{}">Another person (no cabinet)</button> PINFL {}</li>').format(
        NOBODY, mask(nobody_pinfl(db))
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>OneID simulator</title></head><body>'
        "<h1>OneID simulator</h1><p>Development only: choose who signs in.</p>"
        f'<form method="post" action="{PATH}">{hidden}<ul id="people">{"".join(buttons)}{stranger}</ul></form>'
        "</body></html>"
    )


def _error(status: int, error: str) -> tuple[Response, int]:
    return jsonify(error=error), status


def create(factory: sessionmaker[Session], state: SimulatorState) -> Flask:
    """The simulator's Flask app (one URL, like the real service)."""
    app = Flask(__name__)

    def client_ok(form_or_args: dict[str, str], *, secret: bool) -> bool:
        if form_or_args.get("client_id") != state.client_id:
            return False
        return not secret or secrets.compare_digest(form_or_args.get("client_secret", ""), state.client_secret)

    def take(store: dict[str, _Grant], key: str) -> _Grant | None:
        """Remove and return a live grant: single use, and expired ones are gone."""
        with state.lock:
            grant = store.pop(key, None)
        return grant if grant is not None and grant.expires > time.monotonic() else None

    def issue(store: dict[str, _Grant], grant: _Grant) -> str:
        key = secrets.token_urlsafe(24)
        with state.lock:
            store[key] = grant
        return key

    @app.get(PATH)
    def authorize() -> tuple[str, int] | str:
        args = request.args.to_dict()
        if args.get("response_type") != "one_code" or not client_ok(args, secret=False):
            return "Unknown client or response_type", 400
        if not args.get("redirect_uri") or not args.get("state"):
            return "redirect_uri and state are required", 400
        with factory() as db:
            return _page(db, args["client_id"], args["redirect_uri"], args.get("scope", ""), args["state"])

    @app.post(PATH)
    def post() -> BaseResponse | tuple[Response, int] | tuple[str, int]:
        form = request.form.to_dict()
        grant_type = form.get("grant_type")
        if grant_type == "one_authorization_code":
            return token(form)
        if grant_type == "one_access_token_identify":
            return identify(form)
        return pick(form)

    def pick(form: dict[str, str]) -> BaseResponse | tuple[str, int]:
        if not client_ok(form, secret=False) or not form.get("redirect_uri"):
            return "Unknown client", 400
        with factory() as db:
            person = _person(db, form.get("person", ""))
        if person is None:
            return "Unknown person", 400
        grant = _Grant(person.pinfl, form["client_id"], form["redirect_uri"], time.monotonic() + state.ttl)
        code = issue(state.codes, grant)
        with state.lock:
            state.people[person.pinfl] = person
        separator = "&" if "?" in form["redirect_uri"] else "?"
        query = urlencode({"code": code, "state": form.get("state", "")})
        return redirect(f"{form['redirect_uri']}{separator}{query}", code=302)

    def token(form: dict[str, str]) -> tuple[Response, int]:
        if not client_ok(form, secret=True):
            return _error(401, "invalid_client")
        grant = take(state.codes, form.get("code", ""))
        if grant is None or grant.client_id != form["client_id"] or grant.redirect_uri != form.get("redirect_uri"):
            return _error(400, "invalid_grant")
        grant.expires = time.monotonic() + state.ttl
        access = issue(state.tokens, grant)
        body = {
            "access_token": access,
            "refresh_token": secrets.token_urlsafe(24),
            "expires_in": int(state.ttl),
            "scope": form.get("scope", ""),
            "token_type": "Bearer",
        }
        return jsonify(body), 200

    def identify(form: dict[str, str]) -> tuple[Response, int]:
        if not client_ok(form, secret=True):
            return _error(401, "invalid_client")
        grant = take(state.tokens, form.get("access_token", ""))
        if grant is None or grant.client_id != form["client_id"]:
            return _error(400, "invalid_token")
        person = state.people[grant.pinfl]
        body: dict[str, str] = {
            "pin": person.pinfl,
            "user_id": f"sim.{person.pinfl[-6:]}",
            "sur_name": person.surname,
            "first_name": person.given_name,
            "mid_name": person.patronymic,
            "birth_date": f"{person.pinfl[1:3]}.{person.pinfl[3:5]}.{person.pinfl[5:7]}",
            "pport_no": person.document,
            "ret_cd": "0",
            "auth_method": "LOGINPASSMETHOD",
            "valid": "true",
        }
        if state.fault == "ret_cd":
            body["ret_cd"] = "1"
        elif state.fault == "no_pin":
            del body["pin"]
        return jsonify(body), 200

    return app


def start(
    database_url: str,
    *,
    settings: Settings,
    client_id: str,
    client_secret: str,
    port: int = 0,
    ttl: float = 60.0,
) -> RunningSimulator:
    """Serve the simulator on 127.0.0.1 in a daemon thread; refuses outside development settings."""
    if not settings.is_development:
        raise SimulatorRefused("the OneID simulator runs only with development settings")
    state = SimulatorState(client_id=client_id, client_secret=client_secret, ttl=ttl)
    app = create(make_session_factory(make_engine(database_url)), state)
    served = serve(app, "oneid-simulator", port)
    return RunningSimulator(f"{served.base_url}{PATH}", state, served)
