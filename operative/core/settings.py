"""The one Settings object: defaults in ``config/operative.toml``, overrides by ``OPERATIVE_*``."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret"})


def config_dir() -> Path:
    """The configuration directory: ``OPERATIVE_CONFIG_DIR`` or the repository's ``config/``."""
    return Path(os.environ.get("OPERATIVE_CONFIG_DIR") or REPO_ROOT / "config").resolve()


class Settings(BaseSettings):
    """Everything operative reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="OPERATIVE_", extra="ignore")

    data_dir: Path = Path(".operative")
    database_url: str = ""
    timezone: str = "Europe/Zurich"
    due_time: str = "18:00"
    environment: Literal["development", "production"] = "development"
    secret_key: SecretStr = SecretStr("change-me")
    sqlite_busy_timeout_ms: int = 30000
    public_url: str = "http://127.0.0.1:8000"
    # Where `operative serve` serves the web app (`operative web` takes --host/--port).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=0, le=65535)
    approval_timeout_seconds: float = 3 * 24 * 3600
    approval_poll_seconds: float = 0.5
    portal_link_days: int = 120

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_dir() / "operative.toml")
        return (init_settings, env_settings, file_secret_settings, toml)

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("due_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"due_time must be HH:MM, got {value!r}")
        return value

    @model_validator(mode="after")
    def _real_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        ):
            raise ValueError("OPERATIVE_SECRET_KEY must be set to a real secret in production")
        return self

    @property
    def config_dir(self) -> Path:
        return config_dir()

    @property
    def effective_database_url(self) -> str:
        """The database URL: the configured one, or SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'operative.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once.

    A cached function rather than a bare module-level instance so that tests and the CLI
    (which may set ``OPERATIVE_*`` before its first command) can re-read the environment
    with ``get_settings.cache_clear()``.
    """
    return Settings()
