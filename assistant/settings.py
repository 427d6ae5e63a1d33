"""Typed settings from the environment (prefix ``RECONNECT_``) and an optional ``.env``.

Secrets (API keys) are read from the environment only and never written anywhere.
The one variable most people need is ``RECONNECT_HOME``, the data directory.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import NeedsKey

Provider = Literal["none", "openai", "azure-openai", "openai-compatible", "fake"]


def default_home() -> Path:
    return Path.home() / ".reconnect"


class Settings(BaseSettings):
    """Everything configurable, with the embedded defaults: no network, no keys."""

    model_config = SettingsConfigDict(
        env_prefix="RECONNECT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    home: Path = Field(default_factory=default_home, description="Data directory (RECONNECT_HOME).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite (WAL) under the data directory."
    )

    # speech-to-text
    whisper_model: str = Field(
        default="base",
        description="'base' (bundled), 'tiny.en' (bundled), a faster-whisper name or a local path.",
    )
    whisper_device: Literal["cpu", "cuda", "auto"] = "cpu"
    whisper_compute_type: str = "int8"
    whisper_threads: int = Field(default_factory=lambda: os.cpu_count() or 1)
    whisper_beam_size: int = Field(
        default=2,
        description="Beams searched when decoding. On eight two-voice synthetic visits 2 beams gave the same mean "
        "WER as 3 (mono 10.4 % both; per channel 10.5 and 10.3 %), more NHS numbers digit-exact (60 of 66 "
        "against 57) and a median RTF 7 % lower (see the README's Figures).",
    )
    whisper_language: str | None = Field(default="en", description="Expected language; None lets Whisper detect it.")
    whisper_previous_text: bool | None = Field(
        default=None,
        description="Decode each 30-s window with the text of the window before. None: on, except for tiny "
        "models (measured: tiny.en ran 1.8 times slower with it, and its WER rose on 2 of 4 visits).",
    )
    whisper_second_opinion: str | None = Field(
        default="tiny.en",
        description="A second Whisper model that hears an NHS number again when the first still fails its "
        "check digit after hearing it again; None or '' turns it off.",
    )
    transcription_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible speech-to-text server on this machine (its /v1 URL: speaches, vLLM, "
        "LocalAI), in place of Whisper here. Audio cannot be redacted, so a server off this machine is refused.",
    )
    transcription_model: str = Field(default="whisper-1", description="The model the speech server is asked for.")
    vocabulary: str = Field(
        default="Pool Pod, boccia, walking football, co-careldopa, Colchester, Chelmsford, Harlow, Basildon",
        description="Local words passed to Whisper as hotwords, before every 30-s window.",
    )
    max_audio_minutes: float = 150.0
    keep_audio_days: int = Field(default=0, description="0 deletes the audio once transcribed.")

    # redaction
    redaction_threshold: float = 0.4

    # drafting / chat
    provider: Provider = "none"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_version: str | None = None
    request_timeout: float = 60.0
    max_retries: int = 2
    price_input: float | None = Field(default=None, description="US$ per million input tokens (cost accounting).")
    price_output: float | None = Field(default=None, description="US$ per million output tokens.")
    allow_remote: bool = Field(
        default=False,
        description="Personal data may leave the machine only if this is true, and then only redacted.",
    )

    # signposting
    chroma_url: str | None = Field(default=None, description="Chroma server URL; default is a local PersistentClient.")
    default_k: int = 5

    # app
    session_idle_minutes: int = 30

    @model_validator(mode="after")
    def _check_provider(self) -> Settings:
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError("RECONNECT_PROVIDER=openai-compatible needs RECONNECT_BASE_URL")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'reconnect.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def audio_dir(self) -> Path:
        return self.home / "audio"

    @property
    def is_remote(self) -> bool:
        return self.provider in ("openai", "azure-openai", "openai-compatible")

    def api_key(self) -> SecretStr:
        """The key for the configured provider, from the environment only."""
        names = {
            "openai": ["OPENAI_API_KEY"],
            "azure-openai": ["AZURE_OPENAI_API_KEY"],
            "openai-compatible": ["RECONNECT_API_KEY", "OPENAI_API_KEY"],
        }.get(self.provider, [])
        for name in names:
            if os.environ.get(name):
                return SecretStr(os.environ[name])
        if self.provider == "openai-compatible":
            return SecretStr("not-needed")  # local servers (Ollama, llama.cpp) accept any key
        raise NeedsKey(f"provider '{self.provider}' needs an API key: set {' or '.join(names)} in the environment")

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
