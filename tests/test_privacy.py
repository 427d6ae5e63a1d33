"""Privacy in code: telemetry off before engines load, the core never imports Streamlit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Written out here, not read from assistant.privacy: deleting a variable there must fail a test.
EXPECTED_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    "TOKENIZERS_PARALLELISM": "false",
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
}
# What a shell might say instead: every one of them turns something on.
SHELL_ON: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "0",
    "ANONYMIZED_TELEMETRY": "True",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "true",
    "HF_HUB_OFFLINE": "0",
    "HF_HUB_DISABLE_TELEMETRY": "0",
    "TRANSFORMERS_OFFLINE": "0",
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "https://publicsuffix.org/list/public_suffix_list.dat",
    "TOKENIZERS_PARALLELISM": "true",
    "LANGSMITH_TRACING": "true",
    "LANGSMITH_TRACING_V2": "true",
    "LANGCHAIN_TRACING_V2": "true",
    "LANGCHAIN_TRACING": "true",
}


@pytest.mark.parametrize(("name", "value"), sorted(EXPECTED_OFF.items()))
def test_when_the_package_is_imported_then_telemetry_is_off(name: str, value: str) -> None:
    assert os.environ[name] == value


def test_when_a_shell_sets_telemetry_and_tracing_on_then_importing_turns_them_off() -> None:
    env = {**os.environ, **SHELL_ON, "LANGSMITH_API_KEY": "ls-test"}
    code = (
        "import json, os, assistant, langsmith.utils as u; "
        f"print(json.dumps([{{n: os.environ[n] for n in {sorted(EXPECTED_OFF)!r}}}, u.tracing_is_enabled()]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)

    values, tracing = json.loads(out.stdout)
    assert values == EXPECTED_OFF
    assert tracing is False


LANGSMITH_PROBE = textwrap.dedent(
    """
    import gzip, os, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got = []

    class Tracing(BaseHTTPRequestHandler):
        def _any(self):
            got.append(self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_PATCH = do_GET = _any

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tracing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["LANGSMITH_ENDPOINT"] = os.environ["LANGCHAIN_ENDPOINT"] = f"http://127.0.0.1:{server.server_address[1]}"

    import assistant  # noqa: F401
    from assistant.chat import LangChainChat
    from assistant.drafting import DraftOut
    from assistant.settings import Settings
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI(answer={"sections": [], "goals": []}) as fake:
        chat = LangChainChat(Settings(provider="openai-compatible", base_url=fake.base_url, max_retries=0))
        chat.structured("system", "[1] Client: SECRET-MARKER-Okafor", DraftOut)
    from langchain_core.tracers.langchain import wait_for_all_tracers

    wait_for_all_tracers()
    time.sleep(0.5)
    blob = b"".join(gzip.decompress(b) if b[:2] == b"\\x1f\\x8b" else b for b in got)
    print(len(got), b"SECRET-MARKER" in blob)
    """
)


def test_when_a_shell_turns_langsmith_tracing_on_then_no_prompt_reaches_a_tracing_endpoint() -> None:
    env = {**os.environ, **SHELL_ON, "LANGSMITH_API_KEY": "ls-test", "LANGCHAIN_API_KEY": "ls-test"}
    out = subprocess.run(
        [sys.executable, "-c", LANGSMITH_PROBE], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["0", "False"], out.stdout


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
