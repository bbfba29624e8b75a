"""One typed settings object read from the environment; nothing else reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"

Environment = Literal["development", "test", "production"]
LANGUAGES: tuple[str, ...] = ("uz", "ru", "en")


class SettingsError(ValueError):
    """A setting is missing or has a value the portal cannot run with."""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"EHEALTH_{name}", default)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one running portal."""

    environment: Environment = "development"
    database_url: str = f"sqlite:///{INSTANCE / 'ehealth.sqlite3'}"
    warehouse_path: Path = INSTANCE / "warehouse.duckdb"
    secret_key: str = "development-only-secret-change-me"  # noqa: S105  (refused in production by validate)
    default_language: str = "uz"
    # 5- or 6-day working week for the deadline arithmetic of clauses 3 and 10.
    working_week_days: int = 5
    # DMED signs users out after 8 hours without activity; R-17 asks for expiring personal sessions.
    session_idle_hours: float = 8.0
    host: str = "127.0.0.1"
    port: int = 8050
    demo_patients: int = 3000
    demo_seed: int = 20260101

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
        return self

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def from_env() -> Settings:
    """Read the settings from EHEALTH_* environment variables."""
    env = _env("ENV", "development")
    return Settings(
        environment=env,  # type: ignore[arg-type]  # checked by validate()
        database_url=_env("DATABASE_URL", Settings.database_url),
        warehouse_path=Path(_env("WAREHOUSE_PATH", str(Settings.warehouse_path))),
        secret_key=_env("SECRET_KEY", Settings.secret_key),
        default_language=_env("LANGUAGE", Settings.default_language),
        working_week_days=int(_env("WORKING_WEEK_DAYS", str(Settings.working_week_days))),
        session_idle_hours=float(_env("SESSION_IDLE_HOURS", str(Settings.session_idle_hours))),
        host=_env("HOST", Settings.host),
        port=int(_env("PORT", str(Settings.port))),
        demo_patients=int(_env("DEMO_PATIENTS", str(Settings.demo_patients))),
        demo_seed=int(_env("DEMO_SEED", str(Settings.demo_seed))),
    ).validate()
