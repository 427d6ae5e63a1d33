"""Privacy in code: telemetry off before engines load, the core never imports Streamlit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assistant.privacy import TELEMETRY_OFF


@pytest.mark.parametrize(("name", "value"), sorted(TELEMETRY_OFF.items()))
def test_when_the_package_is_imported_then_telemetry_is_off(name: str, value: str) -> None:
    assert os.environ[name] == value


def test_when_a_shell_sets_telemetry_on_then_importing_turns_it_off() -> None:
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "True", "ORT_DISABLE_TELEMETRY": "0"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, assistant; print(os.environ['ANONYMIZED_TELEMETRY'], os.environ['ORT_DISABLE_TELEMETRY'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "1"]


def test_when_the_core_is_imported_then_streamlit_is_not() -> None:
    code = (
        "import sys, assistant.cli, assistant.services, assistant.drafting, assistant.signposting, "
        "assistant.redaction, assistant.transcription, assistant.store, assistant.accounts; "
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_when_a_remote_model_is_configured_without_permission_then_it_is_refused() -> None:
    from assistant.chat import make_chat_model
    from assistant.errors import ModelError
    from assistant.settings import Settings

    settings = Settings(provider="openai-compatible", base_url="https://models.example.org/v1")
    with pytest.raises(ModelError, match="RECONNECT_ALLOW_REMOTE"):
        make_chat_model(settings)


def test_when_openai_has_no_key_then_the_message_says_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.errors import NeedsKey
    from assistant.settings import Settings

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(NeedsKey, match="OPENAI_API_KEY"):
        Settings(provider="openai", allow_remote=True).api_key()
