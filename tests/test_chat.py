"""The chat-model boundary over a real HTTP client and a local server speaking the OpenAI protocol.

The server (tests/fake_openai.py) runs on 127.0.0.1; LangChain's ChatOpenAI and the openai
client talk to it over real sockets, so structured-output fallback, retries, timeouts and
token/cost accounting are exercised as they would be against Ollama, vLLM or OpenAI.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from assistant.chat import LangChainChat, ScriptedChat, make_chat_model, parse_json_object
from assistant.drafting import DraftOut, ModelDrafter
from assistant.errors import ModelError
from assistant.evaluation.golden import load_cases
from assistant.privacy import is_loopback
from assistant.settings import Settings
from assistant.templates import load_template
from tests.fake_openai import FakeOpenAI, Reply

ANSWER: dict[str, Any] = {
    "sections": [{"id": "subjective", "text": "Knee pain.", "statements": []}],
    "goals": [],
}


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer=ANSWER) as fake:
        yield fake


def chat_for(fake: FakeOpenAI, **overrides: Any) -> LangChainChat:
    values: dict[str, Any] = {
        "provider": "openai-compatible",
        "base_url": fake.base_url,
        "model": "local-model",
        "request_timeout": 2.0,
        "max_retries": 2,
    }
    values.update(overrides)
    return LangChainChat(Settings(**values), backoff=0.01)


# ── structured output: json_schema → function calling → JSON mode ─────────


def test_when_the_endpoint_accepts_json_schema_then_it_is_used_and_tokens_are_counted(server: FakeOpenAI) -> None:
    chat = chat_for(server, price_input=1.0, price_output=2.0)
    out = chat.structured("system", "user", DraftOut)
    assert out.sections[0].id == "subjective"
    assert server.methods == ["json_schema"]
    body = server.requests[0]
    assert body["model"] == "local-model" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert (chat.usage.calls, chat.usage.input_tokens, chat.usage.output_tokens) == (1, 120, 80)
    assert chat.usage.cost_usd == pytest.approx((120 * 1.0 + 80 * 2.0) / 1e6)
    assert chat.usage.method == "json_schema"


def test_when_a_proxy_is_set_then_a_model_on_this_machine_is_still_reached_directly(
    server: FakeOpenAI, proxy_off_machine: str
) -> None:
    assert chat_for(server).structured("system", "user", DraftOut).sections[0].id == "subjective"
    assert len(server.requests) == 1


def test_when_the_endpoint_rejects_json_schema_then_function_calling_is_used_and_remembered() -> None:
    with FakeOpenAI(answer=ANSWER, reject_json_schema=True) as fake:
        chat = chat_for(fake)
        assert chat.structured("s", "u", DraftOut).sections[0].text == "Knee pain."
        chat.structured("s", "u", DraftOut)
    assert fake.methods == ["json_schema", "function_calling", "function_calling"]
    assert fake.requests[1]["tools"][0]["function"]["name"] == "DraftOut"


def test_when_the_endpoint_rejects_schemas_and_tools_then_json_mode_with_our_parser_is_used() -> None:
    with FakeOpenAI(answer=ANSWER, reject_json_schema=True, reject_tools=True) as fake:
        fake.script = [Reply(), Reply(), Reply(text='```json\n{"sections": [{"id": "plan", "text": "x"}]}\n```')]
        out = chat_for(fake).structured("s", "u", DraftOut)
    assert fake.methods == ["json_schema", "function_calling", "json_mode"]
    assert fake.requests[-1]["response_format"] == {"type": "json_object"}
    assert out.sections[0].id == "plan"


# ── failures: junk, missing fields, 429, 500, timeouts ──────────────────────


def test_when_the_model_keeps_returning_junk_then_a_clear_model_error_follows_the_retries(server: FakeOpenAI) -> None:
    server.script = [Reply(text="I cannot help with that"), Reply(text="{not json"), Reply(text="[]")]
    chat = chat_for(server)
    with pytest.raises(ModelError, match="failed after 3 attempts") as caught:
        chat.structured("s", "u", DraftOut)
    assert "\n" not in str(caught.value)
    assert len(server.requests) == 3 and chat.usage.retries == 2


def test_when_a_field_is_missing_then_the_call_is_retried_and_the_good_reply_used(server: FakeOpenAI) -> None:
    server.script = [Reply(answer={"goals": []})]
    chat = chat_for(server)
    out = chat.structured("s", "u", DraftOut)
    assert out.sections[0].id == "subjective"
    assert len(server.requests) == 2 and chat.usage.retries == 1


@pytest.mark.parametrize("status", [429, 500])
def test_when_the_server_is_busy_or_failing_then_it_is_retried_with_backoff(server: FakeOpenAI, status: int) -> None:
    server.script = [Reply(status=status), Reply(status=status)]
    chat = chat_for(server)
    assert chat.structured("s", "u", DraftOut).sections
    assert len(server.requests) == 3 and chat.usage.retries == 2


@pytest.mark.parametrize(("status", "words"), [(429, "rate limited"), (500, "server error")])
def test_when_the_server_never_recovers_then_the_error_says_why(server: FakeOpenAI, status: int, words: str) -> None:
    server.script = [Reply(status=status)] * 3
    with pytest.raises(ModelError, match=words):
        chat_for(server).structured("s", "u", DraftOut)


def test_when_the_model_is_too_slow_then_the_call_times_out_and_says_so(server: FakeOpenAI) -> None:
    server.script = [Reply(delay=3.0), Reply(delay=3.0)]
    chat = chat_for(server, request_timeout=0.3, max_retries=1)
    started = time.perf_counter()
    with pytest.raises(ModelError, match="timed out"):
        chat.structured("s", "u", DraftOut)
    assert time.perf_counter() - started < 2.5


def test_when_the_endpoint_is_down_then_it_is_a_model_error_not_a_traceback() -> None:
    with FakeOpenAI(answer=ANSWER) as fake:
        url = fake.base_url
    chat = LangChainChat(
        Settings(provider="openai-compatible", base_url=url, request_timeout=0.5, max_retries=0), backoff=0.01
    )
    with pytest.raises(ModelError, match="could not connect"):
        chat.structured("s", "u", DraftOut)


@dataclass
class Refusing(FakeOpenAI):
    """A server that answers every request with one HTTP error and body, as Ollama, vLLM or a proxy would."""

    status: int = 400
    body: dict[str, Any] = field(default_factory=dict)

    def _respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        with self._lock:
            self.requests.append(body)
        return self.status, self.body, 0.0


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (404, {"error": {"message": 'model "llama3.2" not found, try pulling it', "type": "api_error"}}, "no model"),
        (422, {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, "refused the request"),
        (413, {"error": {"message": "request entity too large", "type": "error"}}, "too large"),
    ],
)
def test_when_the_endpoint_refuses_the_request_then_a_model_error_gives_the_status_and_reason(
    status: int, body: dict[str, Any], words: str
) -> None:
    with Refusing(status=status, body=body) as fake, pytest.raises(ModelError, match=words) as caught:
        chat_for(fake).structured("s", "u", DraftOut)
    message = str(caught.value)
    assert f"HTTP {status}" in message
    assert ("not found" if status == 404 else "field required" if status == 422 else "too large") in message
    assert len(fake.requests) == 1  # a refusal is not retried


def test_when_the_prompt_is_longer_than_the_context_window_then_it_says_so_not_a_method_problem() -> None:
    vllm = {
        "object": "error",
        "message": "This model's maximum context length is 8192 tokens. However, you requested 12000 tokens.",
        "type": "BadRequestError",
        "code": 400,
    }
    with Refusing(status=400, body=vllm) as fake, pytest.raises(ModelError, match="context window") as caught:
        chat_for(fake).structured("s", "u", DraftOut)
    assert "HTTP 400" in str(caught.value) and "8192 tokens" in str(caught.value)
    assert "structured-output method" not in str(caught.value)
    assert len(fake.requests) == 1  # not tried again with function calling and JSON mode


def test_when_every_method_gets_the_same_400_then_the_error_is_the_servers_not_the_methods() -> None:
    refusal = {"error": {"message": "messages: roles must alternate", "type": "x"}}
    with Refusing(status=400, body=refusal) as fake, pytest.raises(ModelError, match="refused the request") as caught:
        chat_for(fake).structured("s", "u", DraftOut)
    assert "HTTP 400: messages: roles must alternate" in str(caught.value)
    assert "structured-output method" not in str(caught.value)


@dataclass
class AzureLike(FakeOpenAI):
    """Azure's route carries the API version in the query string."""

    def _respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        return super()._respond(path.split("?", 1)[0], body)


def test_when_a_proxy_is_set_then_an_azure_endpoint_on_this_machine_is_still_reached_directly(
    proxy_off_machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-test")
    with AzureLike(answer=ANSWER) as fake:
        chat = chat_for(fake, provider="azure-openai", base_url=fake.base_url.removesuffix("/v1"), model="dep")
        assert type(chat._llm).__name__ == "AzureChatOpenAI"
        assert chat.structured("s", "u", DraftOut).sections[0].id == "subjective"
    assert len(fake.requests) == 1


# ── the whole model path: drafting over HTTP, evidence checked ──────────────


def test_when_a_model_drafts_over_http_then_evidence_is_checked_and_usage_recorded() -> None:
    case = load_cases()[0]
    fact = case.facts.key_issues[0]
    answer = {
        "sections": [
            {
                "id": fact.section,
                "text": fact.fact,
                "statements": [
                    {"text": fact.fact, "evidence": [{"segment": case.turn_of(fact.quote), "quote": fact.quote}]},
                    {"text": "Takes warfarin.", "evidence": [{"segment": 3, "quote": "I take warfarin"}]},
                ],
            }
        ],
        "goals": [],
    }
    with FakeOpenAI(answer=answer, reject_json_schema=True) as fake:
        chat = chat_for(fake, price_input=0.15, price_output=0.60)
        draft = ModelDrafter(chat).draft(case.to_transcript(), load_template("ot_initial_assessment"))
    statements = next(s for s in draft.sections if s.id == fact.section).statements
    assert statements[0].flagged is None and statements[1].flagged
    assert draft.usage["calls"] == 1 and draft.usage["input_tokens"] == 120 and draft.usage["cost_usd"] > 0
    assert draft.drafter == "openai-compatible:local-model"
    sent = fake.requests[-1]["messages"][1]["content"]
    assert f"[{case.turn_of(fact.quote)}]" in sent


def test_when_a_remote_model_drafts_then_it_only_sees_the_redacted_transcript(services: Any) -> None:
    """Services.draft redacts before the model; the egress guard passes what it sends."""
    from assistant.services import Services

    case = next(c for c in load_cases() if c.case_details.name.split()[0] in " ".join(t.text for t in c.transcript))
    with FakeOpenAI(answer={"sections": [], "goals": []}) as fake:
        settings = Settings(
            home=services.settings.home,
            provider="openai-compatible",
            base_url=fake.base_url,
            request_timeout=5.0,
            max_retries=0,
        )
        local = Services(settings)
        local._engines["redactor"] = services.redactor  # reuse the loaded Presidio + spaCy
        local._engines["store"] = services.store
        draft = local.draft(case.to_transcript(), template="ot_initial_assessment", known=case.known_identifiers())
    sent = "\n".join(m["content"] for m in fake.requests[0]["messages"])
    for value in (case.case_details.name, case.case_details.nhs_number, case.case_details.phone):
        assert value not in sent
    assert case.case_details.name.split()[0] not in sent
    assert "[PERSON" in sent or "<PERSON" in sent or "PERSON_" in sent
    assert draft.drafter.startswith("openai-compatible")


# ── choosing the model by settings ──────────────────────────────────────────


def test_when_settings_choose_a_provider_then_the_right_model_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_chat_model(Settings(provider="none")) is None
    assert isinstance(make_chat_model(Settings(provider="fake")), ScriptedChat)
    local = make_chat_model(Settings(provider="openai-compatible", base_url="http://127.0.0.1:11434/v1"))
    assert isinstance(local, LangChainChat) and local.prices == (0.0, 0.0)
    with pytest.raises(ModelError, match="ALLOW_REMOTE"):
        make_chat_model(Settings(provider="openai", base_url=None))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    remote = make_chat_model(Settings(provider="openai", allow_remote=True, model="gpt-4o-mini"))
    assert isinstance(remote, LangChainChat) and remote.prices == (0.15, 0.60)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-test")
    azure = make_chat_model(
        Settings(provider="azure-openai", allow_remote=True, base_url="https://example.openai.azure.com", model="dep")
    )
    assert isinstance(azure, LangChainChat) and type(azure._llm).__name__ == "AzureChatOpenAI"


def test_when_a_url_is_on_this_machine_then_it_counts_as_local() -> None:
    assert is_loopback("http://localhost:8080/v1") and is_loopback("http://127.0.0.1:1/v1")
    assert not is_loopback("https://api.openai.com/v1") and not is_loopback(None)


def test_when_a_reply_has_prose_around_the_json_then_the_parser_finds_it() -> None:
    out = parse_json_object('Here you go:\n{"sections": [{"id": "plan"}]}\nThanks', DraftOut)
    assert out.sections[0].id == "plan"
    with pytest.raises(ModelError, match="does not fit"):
        parse_json_object('{"goals": []}', DraftOut)


def test_when_a_scripted_model_is_used_then_it_records_calls_and_raises_queued_errors() -> None:
    chat = ScriptedChat().enqueue(ANSWER, ModelError("boom"))
    assert chat.structured("s", "u", DraftOut).sections[0].id == "subjective"
    with pytest.raises(ModelError, match="boom"):
        chat.structured("s", "u", DraftOut)
    with pytest.raises(ModelError, match="no reply queued"):
        chat.structured("s", "u", DraftOut)
    assert len(chat.history) == 3 and chat.usage.calls == 2
