"""Local HTTP servers that speak OpenAI's protocols, for tests: chat completions
(:class:`FakeOpenAI`) and audio transcriptions (:class:`FakeSpeechServer`, which really
transcribes with the Whisper it is given).

Each runs in a thread on 127.0.0.1 (port 0: the OS picks a free port), so the real
LangChain / openai client path is exercised over real sockets. By default the chat one answers
every request with ``answer`` in whatever structured-output form the request asks for:

* ``response_format: {"type": "json_schema"}`` → the JSON as message content
  (or a 400 when ``reject_json_schema``, as llama.cpp's server does);
* ``tools`` → a tool call whose arguments are the JSON (or a 400 when ``reject_tools``);
* ``response_format: {"type": "json_object"}`` or nothing → the JSON as message content.

``script`` queues one-off behaviours for the next requests: an HTTP status (429, 500),
a delay (to trigger a client timeout), junk text instead of JSON, or another answer.
Every request body is recorded in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass
class Reply:
    """One scripted behaviour for one request."""

    status: int = 200
    delay: float = 0.0
    text: str | None = None  # raw payload in place of the JSON answer (junk, prose, fences)
    answer: dict[str, Any] | None = None  # a different JSON answer for this request


class _LocalServer:
    """An HTTP server on 127.0.0.1 (port 0: the OS picks a free one) in a thread; a subclass answers each POST."""

    _server: ThreadingHTTPServer | None = None

    def _answer(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes, float]:
        """(HTTP status, JSON body, seconds to wait before answering) for one POST."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, data, delay = fake._answer(self.path, self.headers.get("Content-Type", ""), body)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass
class FakeOpenAI(_LocalServer):
    answer: dict[str, Any] = field(default_factory=dict)
    reject_json_schema: bool = False
    reject_tools: bool = False
    prompt_tokens: int = 120
    completion_tokens: int = 80
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _answer(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes, float]:
        status, payload, delay = self._respond(path, json.loads(body or b"{}"))
        return status, json.dumps(payload).encode(), delay

    # ── the protocol ────────────────────────────────────────────────────────
    def _respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        with self._lock:
            self.requests.append(body)
            reply = self.script.pop(0) if self.script else Reply()
        if not path.rstrip("/").endswith("/chat/completions"):
            return 404, _error(f"no route {path}", "not_found"), 0.0
        fmt = (body.get("response_format") or {}).get("type")
        method = "json_schema" if fmt == "json_schema" else "function_calling" if body.get("tools") else "json_mode"
        self.methods.append(method)
        if method == "json_schema" and self.reject_json_schema:
            return 400, _error("response_format type json_schema is not supported", "invalid_request_error"), 0.0
        if method == "function_calling" and self.reject_tools:
            return 400, _error("tools are not supported by this server", "invalid_request_error"), 0.0
        if reply.status != 200:
            kinds = {429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}
            return reply.status, _error(f"scripted {reply.status}", kinds.get(reply.status, "error")), reply.delay
        payload = reply.text if reply.text is not None else json.dumps(reply.answer or self.answer)
        message: dict[str, Any] = {"role": "assistant", "content": payload}
        finish = "stop"
        if method == "function_calling":
            name = body["tools"][0]["function"]["name"]
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": name, "arguments": payload}}
                ],
            }
            finish = "tool_calls"
        return (
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": {
                    "prompt_tokens": self.prompt_tokens,
                    "completion_tokens": self.completion_tokens,
                    "total_tokens": self.prompt_tokens + self.completion_tokens,
                },
            },
            reply.delay,
        )


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


@dataclass
class FakeSpeechServer(_LocalServer):
    """A local server for OpenAI's ``POST /v1/audio/transcriptions`` that really transcribes.

    ``model`` is a faster-whisper ``WhisperModel`` (the session's tiny.en): the wav each request
    uploads is decoded and heard by it, and the answer is OpenAI's ``verbose_json``, words
    apart from the segments and without probabilities, as OpenAI sends them. ``script``
    queues one-off behaviours as for :class:`FakeOpenAI` (``answer`` is merged into the reply).
    Every request's form fields are recorded in ``requests`` (the file as its bytes).
    """

    model: Any
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _answer(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes, float]:
        form = _form(content_type, body)
        with self._lock:
            self.requests.append(form)
            reply = self.script.pop(0) if self.script else Reply()
        if not path.rstrip("/").endswith("/audio/transcriptions"):
            return 404, json.dumps(_error(f"no route {path}", "not_found")).encode(), 0.0
        if reply.status != 200:
            return reply.status, json.dumps(_error(f"scripted {reply.status}", "server_error")).encode(), reply.delay
        if reply.text is not None:
            return 200, reply.text.encode(), reply.delay
        answer = {**self._transcribe(form), **(reply.answer or {})}
        return 200, json.dumps(answer).encode(), reply.delay

    def _transcribe(self, form: dict[str, Any]) -> dict[str, Any]:
        import io
        import wave

        import numpy as np

        with wave.open(io.BytesIO(form["file"])) as audio:
            assert audio.getframerate() == 16_000 and audio.getnchannels() == 1, "the client sends 16 kHz mono"
            pcm = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
        pieces, info = self.model.transcribe(
            pcm.astype(np.float32) / 32768, word_timestamps=True, vad_filter=True, initial_prompt=form.get("prompt")
        )
        segments, words = [], []
        for number, piece in enumerate(pieces):
            segments.append({
                "id": number, "seek": piece.seek, "start": piece.start, "end": piece.end, "text": piece.text,
                "tokens": list(piece.tokens), "temperature": piece.temperature, "avg_logprob": piece.avg_logprob,
                "compression_ratio": piece.compression_ratio, "no_speech_prob": piece.no_speech_prob,
            })
            # OpenAI's words: bare (no space, no punctuation), no probability
            words += [{"word": w.word.strip(" .,?!"), "start": w.start, "end": w.end} for w in piece.words or []]
        names = {"en": "english", "fr": "french", "de": "german"}
        return {
            "task": "transcribe", "language": names.get(info.language, info.language), "duration": info.duration,
            "text": "".join(s["text"] for s in segments).strip(), "segments": segments, "words": words,
        }


def _form(content_type: str, body: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {field: value}; the file as bytes, repeated fields as lists."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        value = part.get_payload(decode=True)
        value = value if part.get_filename() else value.decode()
        if name in form:
            form[name] = [*form[name], value] if isinstance(form[name], list) else [form[name], value]
        else:
            form[name] = value
    return form
