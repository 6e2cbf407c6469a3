"""Every setting is documented in the README."""

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
    assert settings.database == tmp_path / "x.duckdb"
    assert settings.pulse_auto_close_hours == 6
