"""The language-model boundary: one small interface, a LangChain engine for any
OpenAI-compatible endpoint, and a scripted fake for tests and evals.

Every payload passes an egress guard before it leaves the machine. Structured output
is asked for with the method the endpoint accepts: ``json_schema`` first, then
``function_calling``, then JSON mode with our own parser, because servers differ
(llama.cpp's rejects ``json_schema``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from assistant.errors import ModelError
from assistant.privacy import is_loopback
from assistant.settings import Settings

log = logging.getLogger("reconnect.chat")

T = TypeVar("T", bound=BaseModel)
Guard = Callable[[str], None]

METHODS = ("json_schema", "function_calling", "json_mode")


# US dollars per million tokens (input, output), list prices; a local server costs nothing.
# Override with RECONNECT_PRICE_INPUT / RECONNECT_PRICE_OUTPUT for other models or contracts.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


def price_for(settings: Settings) -> tuple[float, float]:
    """(input, output) dollars per million tokens for the configured model; zero for a local server."""
    if settings.price_input is not None or settings.price_output is not None:
        return settings.price_input or 0.0, settings.price_output or 0.0
    if settings.provider == "openai-compatible" and is_loopback(settings.base_url):
        return 0.0, 0.0
    return PRICES.get(settings.model, (0.0, 0.0))


@dataclass
class Usage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    method: str = ""
    cost_usd: float = 0.0
    retries: int = 0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.seconds += other.seconds
        self.method = other.method or self.method
        self.cost_usd += other.cost_usd
        self.retries += other.retries

    def as_dict(self) -> dict[str, float]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 3),
            "cost_usd": round(self.cost_usd, 6),
            "retries": self.retries,
        }


class ChatModel(Protocol):
    name: str
    usage: Usage

    def structured(self, system: str, user: str, schema: type[T]) -> T: ...


def parse_json_object(text: str, schema: type[T]) -> T:
    """Parse a model's text as ``schema``, tolerating code fences and prose around one JSON object."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body.split("\n", 1)[1] if "\n" in body else body
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise ModelError("the model did not return JSON")
    try:
        return schema.model_validate(json.loads(body[start : end + 1]))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ModelError(f"the model returned JSON that does not fit the note schema: {str(exc)[:200]}") from exc


@dataclass
class ScriptedChat:
    """A fake chat model that returns queued replies (text, dicts or exceptions) and records every call."""

    name: str = "scripted"
    replies: list[Any] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    guard: Guard | None = None

    def enqueue(self, *replies: Any) -> ScriptedChat:
        self.replies.extend(replies)
        return self

    def structured(self, system: str, user: str, schema: type[T]) -> T:
        if self.guard is not None:
            self.guard(system + "\n" + user)
        self.history.append((system, user))
        if not self.replies:
            raise ModelError("scripted model has no reply queued")
        reply = self.replies.pop(0)
        self.usage.add(Usage(calls=1, input_tokens=len((system + user).split()), method="scripted"))
        if isinstance(reply, Exception):
            raise reply
        text = reply if isinstance(reply, str) else json.dumps(reply)
        return parse_json_object(text, schema)


class LangChainChat:
    """ChatOpenAI / AzureChatOpenAI behind the one interface, with retries and a method fallback."""

    def __init__(self, settings: Settings, guard: Guard | None = None, backoff: float = 0.5) -> None:
        self.settings = settings
        self.name = f"{settings.provider}:{settings.model}"
        self.guard = guard
        self.backoff = backoff
        self.usage = Usage()
        self.prices = price_for(settings)
        self._method_ok: str | None = None
        self._llm = self._build()

    def _build(self) -> Any:
        key = self.settings.api_key()
        common: dict[str, Any] = {
            "model": self.settings.model,
            "temperature": 0,
            "timeout": self.settings.request_timeout,
            "max_retries": 0,  # we retry ourselves, with backoff, and count the attempts
        }
        if is_loopback(self.settings.base_url):
            from openai import DefaultHttpxClient

            # straight to localhost: a proxy named in the environment would carry the text off this machine
            common["http_client"] = DefaultHttpxClient(trust_env=False)
        if self.settings.provider == "azure-openai":
            from langchain_openai import AzureChatOpenAI

            return AzureChatOpenAI(
                azure_endpoint=self.settings.base_url,
                api_version=self.settings.api_version or "2024-10-21",
                azure_deployment=self.settings.model,
                api_key=key,
                **common,
            )
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(base_url=self.settings.base_url, api_key=key, **common)

    def structured(self, system: str, user: str, schema: type[T]) -> T:
        if self.guard is not None:
            self.guard(system + "\n" + user)
        methods = [self._method_ok] if self._method_ok else list(METHODS)
        rejected: list[_MethodRejected] = []
        for method in methods:
            try:
                result = self._with_retries(system, user, schema, method)
            except _MethodRejected as exc:
                log.info("endpoint rejected %s: %s", method, exc)
                rejected.append(exc)
                continue
            self._method_ok = method
            return result
        if len({exc.message for exc in rejected}) == 1:  # the same refusal whatever the method: it is the request
            raise ModelError(f"the model endpoint refused the request ({rejected[0]})")
        reasons = "; ".join(f"{m}: {exc}" for m, exc in zip(methods, rejected, strict=False))
        raise ModelError(f"the model endpoint accepted no structured-output method ({reasons})")

    def _with_retries(self, system: str, user: str, schema: type[T], method: str) -> T:
        import openai

        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                return self._call(system, user, schema, method, started)
            except openai.BadRequestError as exc:
                if _too_long(exc):
                    raise ModelError(
                        f"the request is too long for the model's context window ({_status(exc)}): "
                        "use a model with a longer context or a shorter transcript"
                    ) from exc
                raise _MethodRejected(exc) from exc
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise ModelError(f"the model endpoint refused the key ({exc.status_code}): check the API key") from exc
            except (
                openai.APITimeoutError,
                openai.RateLimitError,
                openai.InternalServerError,
                openai.APIConnectionError,
                ModelError,
                ValidationError,  # the client's own parse of a json_schema reply
                ValueError,  # json.JSONDecodeError, LangChain's output parsers
            ) as exc:
                if attempt + 1 >= attempts:
                    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
                    raise ModelError(f"the model failed after {tries}: {_describe(exc)}") from exc
                self.usage.retries += 1
                log.info("model call failed (%s); retrying", _describe(exc))
                time.sleep(min(8.0, self.backoff * 2**attempt))
            except openai.APIStatusError as exc:  # 404, 413, 422 and the rest: retrying will not help
                raise ModelError(self._refused(exc)) from exc
        raise AssertionError("unreachable")

    def _refused(self, exc: Any) -> str:
        if exc.status_code == 404:
            return (
                f"the model endpoint has no model '{self.settings.model}' ({_status(exc)}): check the model name "
                "and that the server has it (for Ollama, `ollama pull` it) and the base URL"
            )
        if exc.status_code == 413:
            return f"the request is too large for the model endpoint ({_status(exc)})"
        return f"the model endpoint refused the request ({_status(exc)})"

    def _call(self, system: str, user: str, schema: type[T], method: str, started: float) -> T:
        messages = [("system", system), ("user", user)]
        if method == "json_mode":
            raw = self._llm.bind(response_format={"type": "json_object"}).invoke(
                [*messages, ("user", "Reply with one JSON object only.")]
            )
            self._count(raw, started, method)
            return parse_json_object(str(raw.content), schema)
        runnable = self._llm.with_structured_output(schema, method=method, include_raw=True)
        out = runnable.invoke(messages)
        self._count(out["raw"], started, method)
        if out.get("parsing_error") is not None or out.get("parsed") is None:
            raw_text = getattr(out["raw"], "content", "") or ""
            if raw_text:
                return parse_json_object(str(raw_text), schema)
            raise ModelError(f"the model's reply did not parse: {out.get('parsing_error')}")
        parsed = out["parsed"]
        return parsed if isinstance(parsed, schema) else schema.model_validate(parsed)

    def _count(self, message: Any, started: float, method: str) -> None:
        meta = getattr(message, "usage_metadata", None) or {}
        tokens_in, tokens_out = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
        self.usage.add(
            Usage(
                calls=1,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                seconds=time.perf_counter() - started,
                method=method,
                cost_usd=(tokens_in * self.prices[0] + tokens_out * self.prices[1]) / 1_000_000,
            )
        )


class _MethodRejected(Exception):
    """A 400 for one structured-output method; the next method may be accepted."""

    def __init__(self, exc: Any) -> None:
        self.message = _server_message(exc)
        super().__init__(_status(exc))


def _server_message(exc: Any) -> str:
    """What the server said, on one line: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, or the text."""
    body = getattr(exc, "body", None)
    message: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        message = message or body.get("detail") or body.get("message")
    elif isinstance(body, str):
        message = body
    text = message if isinstance(message, str) else json.dumps(message) if message else str(exc)
    return " ".join(text.split())[:200]


def _status(exc: Any) -> str:
    return f"HTTP {exc.status_code}: {_server_message(exc)}"


def _too_long(exc: Any) -> bool:
    """A 400 because the prompt does not fit the model (vLLM, OpenAI, llama.cpp word it differently)."""
    text = f"{_server_message(exc)} {getattr(exc, 'code', '') or ''}".lower()
    return any(
        words in text
        for words in ("context length", "context_length", "context window", "maximum context", "too many tokens")
    ) or ("token" in text and any(w in text for w in ("exceed", "too long", "limit")))


def _describe(exc: Exception) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"timed out (no reply within the timeout: {exc})"[:200]
    if isinstance(exc, openai.RateLimitError):
        return "rate limited (429)"
    if isinstance(exc, openai.InternalServerError):
        return f"server error ({exc.status_code})"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect to the model endpoint"
    if isinstance(exc, ValidationError):
        return f"the reply does not fit the note schema ({exc.error_count()} errors)"
    if isinstance(exc, ValueError):
        return f"the reply is not valid JSON ({str(exc)[:120]})"
    return str(exc)[:200]


def make_chat_model(settings: Settings, guard: Guard | None = None) -> ChatModel | None:
    """None for the offline drafter; a LangChain model for a remote provider."""
    if settings.provider == "none":
        return None
    if settings.provider == "fake":
        return ScriptedChat(guard=guard)
    if not settings.allow_remote and not is_loopback(settings.base_url):
        raise ModelError(
            "a remote model is configured but RECONNECT_ALLOW_REMOTE is not true: personal data stays on this "
            "machine unless the service allows it (only redacted text is ever sent)"
        )
    return LangChainChat(settings, guard=guard)
