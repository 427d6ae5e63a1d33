"""Speech to text by an OpenAI-compatible server on this machine (``POST /v1/audio/transcriptions``).

A service with a GPU can run a bigger Whisper behind that protocol (speaches, vLLM,
LocalAI) and point ``RECONNECT_TRANSCRIPTION_URL`` at it. Everything around the
engine stays as it is for Whisper here (:class:`~assistant.transcription.ChunkedTranscriber`):
the checks on the file, ten-minute chunks (each sent as 16 kHz 16-bit wav, about
19 MB, under the 25 MB that OpenAI's API takes), one request per channel of a
one-voice-per-channel recording, progress, cancelling, the guards and the speaker labels.

A recording is personal data that cannot be redacted, so it goes only to a server on
this machine: a URL off it is refused, whatever ``RECONNECT_ALLOW_REMOTE`` says.

What a server does not give is not made up: without word probabilities no digit is
flagged for its own uncertainty (the other flags still apply), and without words the
segments are the server's own. A number that looks misheard is heard again, its stretch sent
on its own with prompts that show numbers written in groups, as for Whisper here (there is no
second model); one that still does not check out is flagged.
The server detects the language; speech it says is not the expected language is flagged.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import wave
from collections.abc import Iterator
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from assistant.audio import SAMPLE_RATE
from assistant.errors import ModelError
from assistant.privacy import is_loopback
from assistant.records import Segment
from assistant.settings import Settings
from assistant.transcription import CHUNK_SECONDS, ChunkedTranscriber, LanguageCheck, language_code, segments_of

log = logging.getLogger("reconnect.transcription")

KEY_VARIABLE = "RECONNECT_TRANSCRIPTION_API_KEY"  # local servers take any key


class _Word(BaseModel):
    word: str
    start: float
    end: float
    probability: float | None = None


class _Piece(BaseModel):
    text: str
    start: float
    end: float
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    words: list[_Word] | None = None  # speaches puts them here; OpenAI apart, below; some servers send null


class _Reply(BaseModel):
    """OpenAI's ``verbose_json`` transcription, as much of it as is used."""

    text: str = ""
    language: str | None = None
    segments: list[_Piece] | None = None
    words: list[_Word] | None = None


class ServerTranscriber(ChunkedTranscriber):
    """An OpenAI-compatible speech-to-text server on this machine, behind the same checks as Whisper here."""

    def __init__(self, settings: Settings, *, chunk_seconds: float = CHUNK_SECONDS) -> None:
        url = settings.transcription_url
        if not is_loopback(url):
            raise ModelError(
                f"RECONNECT_TRANSCRIPTION_URL ({url}) is not on this machine: a recording is personal data that "
                "cannot be redacted, so it is only sent to a speech server on localhost. Run the server here, "
                "or unset the URL to use Whisper on this machine"
            )
        from openai import DefaultHttpxClient, OpenAI

        super().__init__(settings, settings.transcription_model, chunk_seconds)
        self.url = str(url)
        self._client = OpenAI(
            base_url=self.url,
            api_key=os.environ.get(KEY_VARIABLE) or "not-needed",
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
            # straight to localhost: a proxy named in the environment would carry the audio off this machine
            http_client=DefaultHttpxClient(trust_env=False),
        )

    @property
    def label(self) -> str:
        return f"server-{self.name}"

    def _hear_track(
        self, samples: np.ndarray, offset: float, channel: int | None, *, foreign: bool, languages: LanguageCheck
    ) -> Iterator[Segment]:
        track_s = len(samples) / SAMPLE_RATE
        reply = self._ask(samples, self.settings.vocabulary)
        if reply.language:
            languages.heard.append((offset, offset + track_s, language_code(reply.language), 1.0))
        yield from _segments(reply, offset, offset + track_s, channel)

    def _hear_number(
        self,
        samples: np.ndarray,
        a: float,
        b: float,
        offset: float,
        channel: int | None,
        foreign: bool,
        prompt: str,
        model: Any = None,
    ) -> list[Segment]:
        clip = samples[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)]
        return list(_segments(self._ask(clip, prompt), offset + a, offset + b, channel))

    def _ask(self, samples: np.ndarray, prompt: str | None) -> _Reply:
        """Some audio (a track of a chunk, or a stretch heard again), sent as wav; the server's answer, checked."""
        import openai

        try:
            raw = self._client.audio.transcriptions.with_raw_response.create(
                file=("chunk.wav", _wav(samples), "audio/wav"),
                model=self.name,
                response_format="verbose_json",
                timestamp_granularities=["segment", "word"],
                prompt=prompt or openai.omit,
            )
            body = raw.text

        except openai.APITimeoutError as exc:
            raise ModelError(
                f"the speech server at {self.url} did not answer within {self.settings.request_timeout:.0f} s; "
                "nothing was saved. Try again, or raise RECONNECT_REQUEST_TIMEOUT for long recordings"
            ) from exc
        except openai.APIConnectionError as exc:
            raise ModelError(
                f"could not reach the speech server at {self.url}: is it running? Nothing was saved. "
                "Unset RECONNECT_TRANSCRIPTION_URL to use Whisper on this machine"
            ) from exc
        except openai.AuthenticationError as exc:
            raise ModelError(f"the speech server at {self.url} refused the key: set {KEY_VARIABLE}") from exc
        except openai.APIStatusError as exc:
            raise ModelError(
                f"the speech server at {self.url} refused the recording (HTTP {exc.status_code}: "
                f"{_message(exc)}); nothing was saved"
            ) from exc
        try:
            return _Reply.model_validate(json.loads(body))
        except (ValueError, ValidationError) as exc:
            log.warning("speech server answer not understood: %s", str(exc)[:200])
            raise ModelError(
                f"the speech server at {self.url} answered with something that is not a transcript (it must "
                "speak OpenAI's verbose_json); nothing was saved"
            ) from exc


def _segments(reply: _Reply, start: float, end: float, channel: int | None) -> Iterator[Segment]:
    """The reply's segments as ours, in ``start``-``end`` of the recording (the audio sent began at ``start``)."""
    loose, at = sorted(reply.words or [], key=lambda w: w.start), 0
    for piece in sorted(reply.segments or [], key=lambda p: p.start):
        words = piece.words
        if not words:  # OpenAI gives the words apart from the segments: each goes where its middle falls
            while at < len(loose) and (loose[at].start + loose[at].end) / 2 < piece.start:
                at += 1
            begin = at
            while at < len(loose) and (loose[at].start + loose[at].end) / 2 <= piece.end:
                at += 1
            words = loose[begin:at]
        yield from segments_of(piece, _spelled(piece.text, words), start, end, channel)


def _wav(samples: np.ndarray) -> bytes:
    """16 kHz float samples as 16-bit mono wav."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(SAMPLE_RATE)
        file.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def _plain(word: str) -> str:
    return re.sub(r"[^\w']+", "", word.lower())


def _spelled(text: str, words: list[_Word]) -> list[_Word]:
    """``words`` written as the segment's ``text`` writes them, with its punctuation and a space before each.

    OpenAI's words come bare ("Americans" where the text has "Americans,"); Whisper's own come with their
    space and punctuation. Where the words do not match the text one for one, there are none: the
    segment is then the server's text as a whole, with its times, and nothing is guessed."""
    tokens = text.split()
    if len(tokens) != len(words) or any(_plain(t) != _plain(w.word) for t, w in zip(tokens, words, strict=False)):
        return []
    return [w.model_copy(update={"word": " " + t}) for t, w in zip(tokens, words, strict=True)]


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:200]
    return str(getattr(exc, "message", exc))[:200]
