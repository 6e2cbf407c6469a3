"""Every setting is documented in the README."""

import pytest
from pydantic import ValidationError

from program.settings import Settings
from tests.factories.paths import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        f"PROGRAM_{name.upper()}"
        for name in Settings.model_fields
        if f"`PROGRAM_{name.upper()}`" not in readme
    ]
    assert not missing, f"Document these settings in README.md: {missing}"


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROGRAM_DATABASE", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("PROGRAM_PULSE_AUTO_CLOSE_HOURS", "6")
    settings = Settings()
    assert settings.database == str(tmp_path / "x.duckdb")
    assert settings.pulse_auto_close_hours == 6


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_database_needs_the_shared_session_secret(monkeypatch, scheme):
    """Every app process on one PostgreSQL database must check cookies with the same key, so
    none may make a key of its own (docs/deploy.md)."""
    monkeypatch.setenv("PROGRAM_DATABASE", f"{scheme}://program@db.internal/program")
    monkeypatch.delenv("PROGRAM_SESSION_SECRET", raising=False)
    with pytest.raises(ValidationError, match="PROGRAM_SESSION_SECRET must be set"):
        Settings()
    monkeypatch.setenv("PROGRAM_SESSION_SECRET", "shared-by-every-replica")
    assert Settings().database == f"{scheme}://program@db.internal/program"


def test_a_duckdb_file_needs_no_session_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("PROGRAM_DATABASE", str(tmp_path / "x.duckdb"))
    monkeypatch.delenv("PROGRAM_SESSION_SECRET", raising=False)
    assert Settings().session_secret == ""


def test_a_database_given_as_a_path_is_that_file(tmp_path):
    assert Settings(database=tmp_path / "x.duckdb").database == str(tmp_path / "x.duckdb")
