"""One settings object: defaults written once, the prompt among them, the service configuration checked."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from extractor import ConfigError, Extractor, Settings
from extractor.cli import app
from extractor.core.prompts import DEFAULT_PROMPT
from extractor.service import ServiceConfig


def test_the_prompt_is_a_setting_read_from_extractor_prompt(monkeypatch):
    monkeypatch.delenv("EXTRACTOR_PROMPT")
    assert Settings().prompt == DEFAULT_PROMPT
    monkeypatch.setenv("EXTRACTOR_PROMPT", "sanctions@v1")
    settings = Settings.from_env(model="embedded")
    assert settings.prompt == "sanctions@v1"
    assert Extractor(settings).prompt.id == "sanctions@v1"
    assert Settings.from_env(prompt="sanctions@v2").prompt == "sanctions@v2"  # a flag wins over the variable


def test_only_the_documented_variables_are_read(monkeypatch):
    # pydantic-settings reads a variable per field unless told otherwise: `SEED` or `TIMEOUT` must not count.
    for name in ("SEED", "TIMEOUT", "seed", "timeout", "EXTRACTOR_SEED", "MODEL"):
        monkeypatch.setenv(name, "7")
    settings = Settings.from_env()
    assert settings.seed == 0 and settings.timeout == 120.0 and settings.model is None
    monkeypatch.setenv("EXTRACTOR_TIMEOUT", "7")
    assert Settings.from_env().timeout == 7.0


@pytest.mark.parametrize(("variable", "field", "default"), [
    ("EXTRACTOR_GUIDED_READING", "guided_reading", None), ("EXTRACTOR_LIST_BOUNDS", "list_bounds", None),
    ("EXTRACTOR_PROBE", "probe", True), ("EXTRACTOR_CALL_LOG", "call_log", True)])
def test_switches_read_on_off_and_auto(monkeypatch, variable, field, default):
    for raw, value in (("off", False), ("ON", True), ("auto", default), ("", default), ("0", False)):
        monkeypatch.setenv(variable, raw)
        assert getattr(Settings.from_env(), field) is value, raw
    monkeypatch.setenv(variable, "maybe")
    with pytest.raises(ConfigError, match=f"{variable}='maybe': use on, off or auto"):
        Settings.from_env()


def test_with_keeps_the_rest_and_checks_the_change(monkeypatch):
    settings = Settings(model="m", base_url="http://127.0.0.1:1/v1", timeout=5)
    monkeypatch.setenv("EXTRACTOR_TIMEOUT", "9")  # a copy is not read from the environment again
    changed = settings.with_(model="n")
    assert (changed.model, changed.base_url, changed.timeout) == ("n", "http://127.0.0.1:1/v1", 5)
    with pytest.raises(ConfigError, match="EXTRACTOR_MODE"):
        settings.with_(mode="yaml")


@pytest.mark.parametrize(("values", "named"), [({"workers": 0}, "--workers"), ({"lease_s": 0}, "--lease"),
                                               ({"list_path": "/nonexistent/sdn.csv"}, "--list"),
                                               ({"workers": "many"}, "workers")])
def test_service_config_refuses_bad_values_with_config_error(values, named):
    with pytest.raises(ConfigError, match=named):
        ServiceConfig(**values)


def test_service_config_holds_the_library_settings(monkeypatch):
    monkeypatch.setenv("EXTRACTOR_PROMPT", "sanctions@v1")
    assert ServiceConfig().settings.prompt == "sanctions@v1"


def test_serve_refuses_a_bad_option_in_one_line(tmp_path):
    args = ["serve", "--db", f"sqlite:///{tmp_path}/s.db", "--list", str(tmp_path / "no.csv")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "--list" in result.output and "no such file" in result.output
