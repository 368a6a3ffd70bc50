"""Run settings: prompt, model and endpoint, cache, retry and generation parameters.

One declarative object (pydantic-settings) for the library, the CLI and the service. Each
field is written once, with its default and, where one exists, the environment variable
that sets it. Values come from keyword arguments (CLI flags), then those environment
variables, then the defaults; a wrong value raises `ConfigError` naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import ConfigError
from .prompts import DEFAULT_PROMPT

MODES = ("json_schema", "tools", "json", "md_json")
HTTP_TRANSPORTS = ("aiohttp", "httpx")
CACHE_URL_SCHEMES = ("redis://", "rediss://", "unix://")
_SWITCH = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}


def default_cache_dir() -> Path:
    """The user cache directory's results folder (EXTRACTOR_CACHE_DIR overrides it in `Settings`)."""
    return Path(platformdirs.user_cache_dir("sanctions-extractor")) / "results"


class _Environment(EnvSettingsSource):
    """The environment, for the fields that name a variable (their `validation_alias`) and no others.

    Without this, pydantic-settings would also read a variable named after every field
    (`timeout`, `seed`, ...), names the project has never documented.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = field.validation_alias
        if not isinstance(name, str):
            return None, field_name, False
        return self.env_vars.get(name), name, False  # every setting is a plain value, never JSON


class Settings(BaseSettings):
    """Everything that decides how a document is extracted: which prompt, which model, how it is called."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True, case_sensitive=True,
        env_ignore_empty=True,
    )

    # NAME or NAME@vN; NAME alone is its latest version.
    prompt: str = Field(DEFAULT_PROMPT, validation_alias="EXTRACTOR_PROMPT")
    model: str | None = Field(None, validation_alias="EXTRACTOR_MODEL")
    base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    api_key: str | None = Field(None, repr=False, validation_alias="OPENAI_API_KEY")
    mode: str = Field("json_schema", validation_alias="EXTRACTOR_MODE")
    temperature: float = 0.0
    max_tokens: int | None = Field(None, validation_alias="EXTRACTOR_MAX_TOKENS")
    seed: int | None = 0
    validation_retries: int = 2
    timeout: float = Field(120.0, validation_alias="EXTRACTOR_TIMEOUT")
    # The async client's HTTP transport: aiohttp (the SDK's faster choice for many requests in
    # flight) or httpx (the SDK's default).
    http: str = Field("aiohttp", validation_alias="EXTRACTOR_HTTP")
    transport_attempts: int = 6
    transport_budget: float = Field(300.0, validation_alias="EXTRACTOR_RETRY_BUDGET")
    cache: bool = True
    refresh: bool = False
    cache_dir: Path = Field(default_factory=default_cache_dir, validation_alias="EXTRACTOR_CACHE_DIR")
    # redis://… shares one cache between processes and machines; unset means diskcache in cache_dir.
    cache_url: str | None = Field(None, repr=False, validation_alias="EXTRACTOR_CACHE_URL")
    n_ctx: int = 8192
    context_tokens: int = Field(32768, validation_alias="EXTRACTOR_CONTEXT_TOKENS")
    require_grounding: bool = False
    # None leaves the choice to the backend (`Backend.bounded_lists`).
    list_bounds: bool | None = Field(None, validation_alias="EXTRACTOR_LIST_BOUNDS")
    # Read documents by rules instead of asking the model (calls/guided.py); None leaves the
    # choice to the backend (`Backend.guided_reading`).
    guided_reading: bool | None = Field(None, validation_alias="EXTRACTOR_GUIDED_READING")
    max_calls: int = Field(10, validation_alias="EXTRACTOR_MAX_CALLS")
    # Check the endpoint once before a run (model answers, structured-output mode accepted,
    # output budget fits the context); EXTRACTOR_PROBE=off skips it (record/replay servers).
    probe: bool = Field(True, validation_alias="EXTRACTOR_PROBE")
    # Keep every model call (request, raw response, tokens, latency) in the store's database.
    call_log: bool = Field(True, validation_alias="EXTRACTOR_CALL_LOG")
    price_in: float | None = Field(None, validation_alias="EXTRACTOR_PRICE_IN")
    price_out: float | None = Field(None, validation_alias="EXTRACTOR_PRICE_OUT")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then the environment variables the fields name; no .env or secrets files."""
        return init_settings, _Environment(settings_cls, case_sensitive=True, env_ignore_empty=True)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment, with the keyword overrides that are not None applied (CLI flags)."""
        unknown = set(overrides) - set(cls.model_fields)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**{key: value for key, value in overrides.items() if value is not None})

    def with_(self, **changes: Any) -> Settings:
        """A copy with some settings changed (checked like any other)."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return type(self)(**{**{name: getattr(self, name) for name in type(self).model_fields}, **changes})

    @field_validator("list_bounds", "guided_reading", "probe", "call_log", mode="before")
    @classmethod
    def _switch(cls, value: Any, info: ValidationInfo) -> Any:
        # `on`/`off` (or true/false, 1/0); `auto` is the field's default (for the optional ones,
        # None: the backend decides).
        if not isinstance(value, str):
            return value
        raw = value.strip().lower()
        field = cls.model_fields[str(info.field_name)]
        if raw in ("", "auto"):
            return field.default
        if raw not in _SWITCH:
            raise ConfigError(f"{field.validation_alias}={value!r}: use on, off or auto")
        return _SWITCH[raw]

    @field_validator("price_in", "price_out", mode="after")
    @classmethod
    def _unpriced(cls, value: float | None) -> float | None:
        return None if value is not None and value < 0 else value  # a negative price means "not priced"

    @model_validator(mode="after")
    def _checked(self) -> Settings:
        self.check()
        return self

    def check(self) -> None:
        """Raise `ConfigError` naming the setting that is wrong."""
        if self.mode not in MODES:
            raise ConfigError(f"EXTRACTOR_MODE / --mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.max_tokens is not None and self.max_tokens < 16:
            raise ConfigError(f"EXTRACTOR_MAX_TOKENS / --max-tokens {self.max_tokens} is too small (at least 16)")
        if self.validation_retries < 0:
            raise ConfigError("validation_retries must be 0 or more")
        if self.http not in HTTP_TRANSPORTS:
            raise ConfigError(f"EXTRACTOR_HTTP={self.http!r} is not one of {', '.join(HTTP_TRANSPORTS)}")
        if not self.timeout > 0:
            raise ConfigError(f"EXTRACTOR_TIMEOUT={self.timeout!r} must be a positive number of seconds")
        if not self.transport_budget > 0:
            raise ConfigError(f"EXTRACTOR_RETRY_BUDGET={self.transport_budget!r} must be a positive number of seconds")
        if self.transport_attempts < 1:
            raise ConfigError("transport_attempts must be at least 1")
        if self.max_calls < 1:
            raise ConfigError(f"EXTRACTOR_MAX_CALLS={self.max_calls} must be at least 1")
        if self.context_tokens < 512:
            raise ConfigError(f"EXTRACTOR_CONTEXT_TOKENS={self.context_tokens} is too small (at least 512)")
        if self.n_ctx < 512:
            raise ConfigError(f"n_ctx={self.n_ctx} is too small (at least 512)")
        if not self.prompt.strip():
            raise ConfigError("EXTRACTOR_PROMPT / --prompt is empty: name a prompt (NAME or NAME@vN)")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"OPENAI_BASE_URL / --base-url {self.base_url!r} must start with http:// or https://")
        if self.cache_url and not self.cache_url.startswith(CACHE_URL_SCHEMES):
            raise ConfigError(
                f"EXTRACTOR_CACHE_URL must start with {', '.join(CACHE_URL_SCHEMES)} (unset it for the disk cache)"
            )
        if self.model is None and self.base_url:
            raise ConfigError("OPENAI_BASE_URL is set but no model is: set EXTRACTOR_MODEL or pass --model")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Cost in the configured currency (prices are per million tokens), if priced."""
        if self.price_in is None and self.price_out is None:
            return None
        return (prompt_tokens * (self.price_in or 0) + completion_tokens * (self.price_out or 0)) / 1e6


_KINDS = {"float_parsing": "is not a number", "int_parsing": "is not a whole number",
          "int_from_float": "is not a whole number", "bool_parsing": "is not on or off"}


def _describe(exc: ValidationError) -> str:
    """One line naming the setting (by its environment variable, when it has one) and what is wrong."""
    first = exc.errors()[0]
    where = str(first["loc"][0]) if first["loc"] else "settings"
    field = Settings.model_fields.get(where)
    if field is not None and isinstance(field.validation_alias, str):
        where = f"{field.validation_alias} / {where}"
    if first["type"] == "extra_forbidden":
        return f"unknown setting: {where}"
    what = _KINDS.get(first["type"], first["msg"])
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{where}={first.get('input')!r} {what}{more}"

