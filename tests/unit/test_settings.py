"""Settings come from the environment and refuse what a real deployment must not run with."""

from __future__ import annotations

import pytest

from settings import Settings, SettingsError, from_env


def test_defaults_are_the_embedded_development_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENV", "DATABASE_URL", "SECRET_KEY", "LANGUAGE"):
        monkeypatch.delenv(f"EHEALTH_{name}", raising=False)
    settings = from_env()
    assert settings.environment == "development" and settings.is_development
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("instance/ehealth.sqlite3")
    assert settings.default_language == "uz"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHEALTH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/x")
    monkeypatch.setenv("EHEALTH_WORKING_WEEK_DAYS", "6")
    monkeypatch.setenv("EHEALTH_LANGUAGE", "ru")
    settings = from_env()
    assert (settings.database_url, settings.working_week_days, settings.default_language) == (
        "postgresql+psycopg://postgres@127.0.0.1/x",
        6,
        "ru",
    )


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"environment": "production"}, "EHEALTH_SECRET_KEY"),
        ({"environment": "production", "secret_key": "short"}, "EHEALTH_SECRET_KEY"),
        ({"environment": "production", "secret_key": "k" * 48}, "EHEALTH_CONFIRMATION_KEY"),
        (
            {"environment": "production", "secret_key": "k" * 48, "confirmation_key": "short"},
            "EHEALTH_CONFIRMATION_KEY",
        ),
        (
            {"environment": "production", "secret_key": "k" * 48, "confirmation_key": "c" * 48},
            "EHEALTH_WAREHOUSE_KEY",
        ),
        (
            {
                "environment": "production",
                "secret_key": "k" * 48,
                "confirmation_key": "c" * 48,
                "warehouse_key": "development-only-warehouse-key-but-long-enough",
            },
            "EHEALTH_WAREHOUSE_KEY",
        ),
        ({"expiry_sweep_minutes": -1}, "EHEALTH_EXPIRY_SWEEP_MINUTES"),
        ({"environment": "staging"}, "EHEALTH_ENV"),
        ({"default_language": "de"}, "EHEALTH_LANGUAGE"),
        ({"working_week_days": 7}, "EHEALTH_WORKING_WEEK_DAYS"),
        ({"archive_retention_days": 364}, "EHEALTH_ARCHIVE_RETENTION_DAYS"),
    ],
)
def test_refuses_unsafe_or_unknown_values(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        Settings().with_(**changes).validate()


def test_production_runs_with_a_real_secret() -> None:
    settings = Settings(
        environment="production", secret_key="k" * 48, confirmation_key="c" * 48, warehouse_key="w" * 48
    ).validate()
    assert not settings.is_development


def test_development_without_oneid_endpoint_uses_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENV", "ONEID_ENDPOINT", "ONEID_SIMULATOR"):
        monkeypatch.delenv(f"EHEALTH_{name}", raising=False)
    assert from_env().oneid_simulator
    monkeypatch.setenv("EHEALTH_ONEID_ENDPOINT", "https://sso.egov.uz/sso/oauth/Authorization.do")
    assert not from_env().oneid_simulator
    monkeypatch.setenv("EHEALTH_ENV", "production")
    monkeypatch.setenv("EHEALTH_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("EHEALTH_CONFIRMATION_KEY", "c" * 48)
    monkeypatch.setenv("EHEALTH_WAREHOUSE_KEY", "w" * 48)
    with pytest.raises(SettingsError, match="CLIENT_ID"):
        from_env()


def test_production_oneid_needs_its_registered_redirect_address() -> None:
    real = Settings(
        environment="production",
        secret_key="k" * 48,
        confirmation_key="c" * 48,
        warehouse_key="w" * 48,
        oneid_endpoint="https://sso.egov.uz/sso/oauth/Authorization.do",
        oneid_client_id="ehealth",
        oneid_client_secret="s" * 32,
    )
    for wrong in ("", "http://portal.ssv.uz/login/oneid/callback", "https://portal.ssv.uz/elsewhere"):
        with pytest.raises(SettingsError, match="EHEALTH_ONEID_REDIRECT_URI"):
            real.with_(oneid_redirect_uri=wrong).validate()
    assert real.with_(oneid_redirect_uri="https://portal.ssv.uz/login/oneid/callback").validate().oneid_redirect_uri


def test_warehouse_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EHEALTH_WAREHOUSE_KEY", raising=False)
    assert from_env().warehouse_key == Settings.warehouse_key
    monkeypatch.setenv("EHEALTH_WAREHOUSE_KEY", "w" * 40)
    assert from_env().warehouse_key == "w" * 40
