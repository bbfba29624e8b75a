"""One typed settings object read from the environment; nothing else reads os.environ."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"

MIN_ARCHIVE_RETENTION_DAYS = 365
Environment = Literal["development", "test", "production"]
LANGUAGES: tuple[str, ...] = ("uz", "ru", "en")


class SettingsError(ValueError):
    """A setting is missing or has a value the portal cannot run with."""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"EHEALTH_{name}", default)


def _flag(name: str, default: bool) -> bool:
    value = _env(name, "1" if default else "0").strip().lower()
    if value not in ("1", "true", "yes", "0", "false", "no", ""):
        raise SettingsError(f"EHEALTH_{name} must be 1 or 0, not {value!r}")
    return value in ("1", "true", "yes")


def _is_loopback(hostname: str) -> bool:
    """True for names and addresses of this machine (where only a simulator would listen)."""
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return hostname.lower() == "localhost" or hostname.lower().endswith(".localhost")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one running portal."""

    environment: Environment = "development"
    database_url: str = f"sqlite:///{INSTANCE / 'ehealth.sqlite3'}"
    warehouse_path: Path = INSTANCE / "warehouse.duckdb"
    secret_key: str = "development-only-secret-change-me"  # noqa: S105  (refused in production by validate)
    # Seals the OneID-session confirmation of each prescription (HMAC), so that a changed row is caught at the
    # pharmacy; kept apart from secret_key so that rotating session cookies does not void prescriptions.
    confirmation_key: str = "development-only-confirmation-key"
    # Keys the warehouse's patient pseudonym (HMAC of the patient id): without it, analysts cannot link a
    # pseudonym back to a person; kept apart from the other keys so that rotating them leaves the warehouse stable.
    warehouse_key: str = "development-only-warehouse-key"
    # How often the portal marks prescriptions past valid-until as expired and sends pending SMS (0: only
    # `python -m ehealth.manage sweep-prescriptions`). The environment default is 60; a Settings built in code
    # (tests) runs no background work unless asked.
    expiry_sweep_minutes: int = 0
    # How often the running portal refreshes the analytics warehouse (0: only `python -m etl run`). The environment
    # default is 1; a Settings built in code (tests) runs no background ETL unless asked.
    etl_interval_minutes: float = 0
    default_language: str = "uz"
    # 5- or 6-day working week for the deadline arithmetic of clauses 3 and 10.
    working_week_days: int = 5
    # DMED signs users out after 8 hours without activity; R-17 asks for expiring personal sessions.
    session_idle_hours: float = 8.0
    # an archived cabinet is kept at least one year; a longer retention may be set, a shorter one is refused.
    archive_retention_days: int = 365
    host: str = "127.0.0.1"
    port: int = 8050
    demo_patients: int = 3000
    demo_seed: int = 20260101
    # OneID: one URL serves authorize, token and identify; empty means OneID is not configured.
    oneid_endpoint: str = ""
    oneid_client_id: str = ""
    oneid_client_secret: str = ""
    oneid_scope: str = ""
    # The callback address registered with OneID. Required in production, so that the Host header a request
    # arrives with never decides where OneID sends the code; elsewhere it is taken from the request.
    oneid_redirect_uri: str = ""
    # The local OneID simulator (development only); from_env switches it on in development without an endpoint.
    oneid_simulator: bool = False
    oneid_timeout_seconds: float = 10.0
    # E-IMZO: the organization's E-IMZO-SERVER (often on this host or its network); empty: not configured.
    eimzo_server_url: str = ""
    # The local E-IMZO simulator (development only); from_env switches it on in development without a server URL.
    eimzo_simulator: bool = False
    eimzo_timeout_seconds: float = 10.0
    # The E-IMZO application on the user's computer signs in the browser over this WebSocket (its fixed address).
    eimzo_agent_url: str = "wss://127.0.0.1:64443/service/cryptapi"
    # The API key E-IMZO issues for the portal's domain ("domain:key"); the agent refuses other sites without it.
    eimzo_api_key: str = ""
    # Repeated failed sign-ins from one address: this many within the window, then refused until it passes.
    sign_in_failures_allowed: int = 5
    sign_in_failure_window_minutes: int = 15
    # The data-exchange API (issue 8): how long a bearer token lives (an organization's client-credentials token, a
    # patient's token after OneID) and how many calls one token may make per minute.
    api_client_token_minutes: int = 15
    api_patient_token_minutes: int = 30
    api_requests_per_minute: int = 120

    @property
    def is_development(self) -> bool:
        """True when development-only helpers (demo sign-in, simulators) may run."""
        return self.environment == "development"

    def validate(self) -> Settings:
        """Refuse combinations a real deployment must never run with."""
        if self.environment not in ("development", "test", "production"):
            raise SettingsError(f"EHEALTH_ENV must be development, test or production, not {self.environment!r}")
        if self.default_language not in LANGUAGES:
            raise SettingsError(f"EHEALTH_LANGUAGE must be one of {', '.join(LANGUAGES)}")
        if self.working_week_days not in (5, 6):
            raise SettingsError("EHEALTH_WORKING_WEEK_DAYS must be 5 or 6")
        if self.environment == "production" and (
            self.secret_key.startswith("development") or len(self.secret_key) < 32
        ):
            raise SettingsError("production needs EHEALTH_SECRET_KEY of at least 32 random characters")
        if self.environment == "production" and (
            self.confirmation_key.startswith("development") or len(self.confirmation_key) < 32
        ):
            raise SettingsError("production needs EHEALTH_CONFIRMATION_KEY of at least 32 random characters")
        if self.environment == "production" and (
            self.warehouse_key.startswith("development") or len(self.warehouse_key) < 32
        ):
            raise SettingsError("production needs EHEALTH_WAREHOUSE_KEY of at least 32 random characters")
        if self.etl_interval_minutes < 0:
            raise SettingsError("EHEALTH_ETL_INTERVAL_MINUTES cannot be negative")
        if self.expiry_sweep_minutes < 0:
            raise SettingsError("EHEALTH_EXPIRY_SWEEP_MINUTES cannot be negative")
        if self.archive_retention_days < MIN_ARCHIVE_RETENTION_DAYS:
            raise SettingsError("EHEALTH_ARCHIVE_RETENTION_DAYS cannot be below 365: R-10 keeps the archive a year")
        if self.sign_in_failures_allowed < 1 or self.sign_in_failure_window_minutes < 1:
            raise SettingsError("EHEALTH_SIGN_IN_FAILURES_ALLOWED and _FAILURE_WINDOW_MINUTES must be at least 1")
        if min(self.api_client_token_minutes, self.api_patient_token_minutes, self.api_requests_per_minute) < 1:
            raise SettingsError(
                "EHEALTH_API_CLIENT_TOKEN_MINUTES, _PATIENT_TOKEN_MINUTES and _REQUESTS_PER_MINUTE must be at least 1"
            )
        self._validate_oneid()
        self._validate_eimzo()
        return self

    def _validate_eimzo(self) -> None:
        """The simulator is for development; E-IMZO-SERVER may well run on this machine, so loopback is allowed."""
        if self.eimzo_simulator and not self.is_development:
            raise SettingsError("EHEALTH_EIMZO_SIMULATOR is for development only; switch it off")
        if self.eimzo_simulator and self.eimzo_server_url:
            raise SettingsError("EHEALTH_EIMZO_SIMULATOR and EHEALTH_EIMZO_SERVER_URL exclude each other; set one")
        if self.eimzo_server_url:
            parts = urlsplit(self.eimzo_server_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SettingsError("EHEALTH_EIMZO_SERVER_URL must be an http(s) URL")

    def _validate_oneid(self) -> None:
        """The simulator and loopback endpoints are for development; a real endpoint needs the secret."""
        if self.oneid_simulator and not self.is_development:
            raise SettingsError("EHEALTH_ONEID_SIMULATOR is for development only; switch it off")
        if self.oneid_simulator and self.oneid_endpoint:
            raise SettingsError("EHEALTH_ONEID_SIMULATOR and EHEALTH_ONEID_ENDPOINT exclude each other; set one")
        if not self.oneid_endpoint:
            return
        parts = urlsplit(self.oneid_endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError("EHEALTH_ONEID_ENDPOINT must be an http(s) URL")
        if self.environment == "production":
            if _is_loopback(parts.hostname):
                raise SettingsError("EHEALTH_ONEID_ENDPOINT points at this machine (a simulator?) in production")
            if parts.scheme != "https":
                raise SettingsError("EHEALTH_ONEID_ENDPOINT must use https in production")
            if not self.oneid_client_id or not self.oneid_client_secret:
                raise SettingsError("production with EHEALTH_ONEID_ENDPOINT needs EHEALTH_ONEID_CLIENT_ID and _SECRET")
            redirect = urlsplit(self.oneid_redirect_uri)
            if redirect.scheme != "https" or not redirect.hostname or redirect.path != "/login/oneid/callback":
                raise SettingsError(
                    "production with EHEALTH_ONEID_ENDPOINT needs EHEALTH_ONEID_REDIRECT_URI: "
                    "https://<portal host>/login/oneid/callback, as registered with OneID"
                )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def from_env() -> Settings:
    """Read the settings from EHEALTH_* environment variables."""
    env = _env("ENV", "development")
    oneid_endpoint = _env("ONEID_ENDPOINT", "")
    eimzo_server_url = _env("EIMZO_SERVER_URL", "")
    return Settings(
        environment=env,  # type: ignore[arg-type]  # checked by validate()
        database_url=_env("DATABASE_URL", Settings.database_url),
        warehouse_path=Path(_env("WAREHOUSE_PATH", str(Settings.warehouse_path))),
        secret_key=_env("SECRET_KEY", Settings.secret_key),
        confirmation_key=_env("CONFIRMATION_KEY", Settings.confirmation_key),
        warehouse_key=_env("WAREHOUSE_KEY", Settings.warehouse_key),
        expiry_sweep_minutes=int(_env("EXPIRY_SWEEP_MINUTES", "60")),
        etl_interval_minutes=float(_env("ETL_INTERVAL_MINUTES", "1")),
        default_language=_env("LANGUAGE", Settings.default_language),
        working_week_days=int(_env("WORKING_WEEK_DAYS", str(Settings.working_week_days))),
        session_idle_hours=float(_env("SESSION_IDLE_HOURS", str(Settings.session_idle_hours))),
        archive_retention_days=int(_env("ARCHIVE_RETENTION_DAYS", str(Settings.archive_retention_days))),
        host=_env("HOST", Settings.host),
        port=int(_env("PORT", str(Settings.port))),
        demo_patients=int(_env("DEMO_PATIENTS", str(Settings.demo_patients))),
        demo_seed=int(_env("DEMO_SEED", str(Settings.demo_seed))),
        oneid_endpoint=oneid_endpoint,
        oneid_client_id=_env("ONEID_CLIENT_ID", ""),
        oneid_client_secret=_env("ONEID_CLIENT_SECRET", ""),
        oneid_scope=_env("ONEID_SCOPE", Settings.oneid_scope),
        oneid_redirect_uri=_env("ONEID_REDIRECT_URI", ""),
        # Development without a real endpoint signs in through the local simulator.
        oneid_simulator=_flag("ONEID_SIMULATOR", env == "development" and not oneid_endpoint),
        oneid_timeout_seconds=float(_env("ONEID_TIMEOUT_SECONDS", str(Settings.oneid_timeout_seconds))),
        sign_in_failures_allowed=int(_env("SIGN_IN_FAILURES_ALLOWED", str(Settings.sign_in_failures_allowed))),
        sign_in_failure_window_minutes=int(
            _env("SIGN_IN_FAILURE_WINDOW_MINUTES", str(Settings.sign_in_failure_window_minutes))
        ),
        eimzo_server_url=eimzo_server_url,
        # Development without an E-IMZO-SERVER signs in through the local simulator.
        eimzo_simulator=_flag("EIMZO_SIMULATOR", env == "development" and not eimzo_server_url),
        eimzo_timeout_seconds=float(_env("EIMZO_TIMEOUT_SECONDS", str(Settings.eimzo_timeout_seconds))),
        eimzo_agent_url=_env("EIMZO_AGENT_URL", Settings.eimzo_agent_url),
        eimzo_api_key=_env("EIMZO_API_KEY", ""),
        api_client_token_minutes=int(_env("API_CLIENT_TOKEN_MINUTES", str(Settings.api_client_token_minutes))),
        api_patient_token_minutes=int(_env("API_PATIENT_TOKEN_MINUTES", str(Settings.api_patient_token_minutes))),
        api_requests_per_minute=int(_env("API_REQUESTS_PER_MINUTE", str(Settings.api_requests_per_minute))),
    ).validate()
