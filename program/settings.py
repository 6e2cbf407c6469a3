"""One settings object, read once from PROGRAM_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting the app reads. Each field is documented in README.md (a test checks)."""

    model_config = SettingsConfigDict(env_prefix="PROGRAM_", frozen=True)

    database: str = Field(
        str(ROOT / "data" / "program.duckdb"),
        description=(
            "The DuckDB file, or a postgresql:// URL for a database several app processes share"
            " (docs/deploy.md). Created or migrated on first start."
        ),
    )
    curricula: Path = Field(
        ROOT / "curricula",
        description="Folder of curriculum files, with instruments in its instruments/ folder.",
    )
    demo: bool = Field(
        False,
        description="Seed a demo program and demo staff accounts into a new, empty database.",
    )
    base_url: str = Field(
        "",
        description=(
            "Public address of the app, used in pulse join links and QR codes. Empty: the address"
            " the facilitator's browser is using."
        ),
    )
    session_secret: str = Field(
        "",
        description="Key that signs sign-in cookies. Empty: a random key is kept in the data folder.",
    )
    session_idle_minutes: int = Field(
        60, ge=5, le=24 * 60, description="Staff are signed out after this long without activity."
    )
    pulse_auto_close_hours: int = Field(
        48, ge=1, le=24 * 14, description="An open pulse closes by itself this long after opening."
    )
    failed_signin_limit: int = Field(
        5,
        ge=2,
        le=50,
        description=(
            "Failed sign-ins in a row for one username from one client address before that"
            " client must wait between attempts; from then on the username's password is also"
            " checked at most once a second, whoever asks."
        ),
    )
    failed_signin_pause_minutes: int = Field(
        15,
        ge=1,
        le=24 * 60,
        description=(
            "The longest wait between attempts for a client past the limit: 1 minute after the"
            " limit, doubling with each further failure up to this."
        ),
    )
    pseudo_languages: bool = Field(
        False,
        description=(
            "Also offer the participant's pages in a right-to-left stand-in language built from"
            " the English (lang=ar-XB), to check the mirrored layout. For testing only."
        ),
    )

    @field_validator("database", mode="before")
    @classmethod
    def _a_path_or_url(cls, value: object) -> object:
        # A path given as a Path (by code, not the environment) names the same file.
        return str(value) if isinstance(value, Path) else value

    @field_validator("base_url")
    @classmethod
    def _an_address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError(
                "PROGRAM_BASE_URL must be empty or an address starting with http:// or https://,"
                " such as http://192.168.1.20:8501"
            )
        return value

    @model_validator(mode="after")
    def _one_secret_for_every_replica(self) -> Settings:
        # Several app processes share a PostgreSQL database, and a browser's next request may
        # reach any of them: each must check cookies with the same key, so none may make its own.
        if self.database.startswith(("postgresql://", "postgres://")) and not self.session_secret:
            raise ValueError(
                "PROGRAM_SESSION_SECRET must be set when PROGRAM_DATABASE is a PostgreSQL URL:"
                " every app process checks sign-in cookies with it, so all need the same one"
                " (docs/deploy.md)."
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
