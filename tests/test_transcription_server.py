"""Transcription by an OpenAI-compatible speech server on this machine.

The server is a local HTTP server (tests/fake_openai.py) that speaks OpenAI's
``/v1/audio/transcriptions`` protocol over real sockets and really transcribes what is
uploaded, with the session's Whisper tiny.en; the client is the real ``openai`` package.
Scripted replies stand in only for a server's failures (errors, delays, junk, a language).
"""

from __future__ import annotations

import re
import socket
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest

from assistant.audio import SAMPLE_RATE, inspect_audio, read_chunks
from assistant.errors import AudioError, ModelError
from assistant.settings import Settings
from assistant.speakers import ChannelLoudness
from assistant.transcription import NHS_PROMPTS, make_transcriber
from assistant.transcription_server import ServerTranscriber
from tests.conftest import JFK, JFK_TEXT
from tests.fake_openai import FakeSpeechServer, Reply

STEREO = JFK.parent / "stereo_diarization.wav"

pytestmark = pytest.mark.skipif(not JFK.exists(), reason="../shared/data/audio is not beside this checkout")


@pytest.fixture
def server(tiny: Any) -> Iterator[FakeSpeechServer]:
    with FakeSpeechServer(model=tiny._model) as running:
        yield running


def _client(server: FakeSpeechServer, tmp_path: Path, **overrides: Any) -> ServerTranscriber:
    settings = Settings(home=tmp_path, transcription_url=server.base_url, **{"max_retries": 0, **overrides})
    transcriber = make_transcriber(settings)
    assert isinstance(transcriber, ServerTranscriber)
    return transcriber


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).strip()


def test_when_a_speech_server_transcribes_then_words_times_and_speakers_come_back(
    server: FakeSpeechServer, tmp_path: Path
) -> None:
    seen: list[float] = []
    transcriber = _client(server, tmp_path)
    transcriber.word_timestamps = True  # kept in the transcript (the app asks for them for evidence links)
    transcript = transcriber.transcribe(JFK, progress=seen.append)
    assert jiwer.wer(_plain(JFK_TEXT), _plain(transcript.text)) <= 0.1
    assert transcript.model == "server-whisper-1" and transcript.language == "en"
    assert transcript.duration == pytest.approx(11.0, abs=0.1)
    assert all(0 <= s.start < s.end <= transcript.duration + 0.01 for s in transcript.segments)
    assert all(s.speaker_inferred for s in transcript.segments)  # mono: roles from the words, marked so
    assert all(s.avg_logprob is not None and s.no_speech_prob is not None for s in transcript.segments)
    # OpenAI's words are bare: they get the text's punctuation and their times, and no made-up probability
    words = [w for s in transcript.segments for w in s.words or []]
    assert "you," in [w.text.strip() for w in words] and words[-1].text.strip() == "country."
    assert all(w.probability is None for w in words)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    (request,) = server.requests
    assert request["model"] == "whisper-1" and request["response_format"] == "verbose_json"
    assert request["prompt"] == Settings(home=tmp_path).vocabulary  # local words, as Whisper here gets them
    assert "word" in request["timestamp_granularities[]"]


def test_when_stereo_has_one_voice_per_channel_then_each_channel_is_sent_and_labelled_by_it(
    server: FakeSpeechServer, tmp_path: Path
) -> None:
    transcript = _client(server, tmp_path).transcribe(STEREO)
    assert len(server.requests) == 2  # one per channel
    assert {s.channel for s in transcript.segments} == {0, 1}
    assert {s.speaker for s in transcript.segments} == {"OT", "client"}
    assert not any(s.speaker_inferred for s in transcript.segments)
    loudness = ChannelLoudness.join(ChannelLoudness.of(c.channels) for c in read_chunks(inspect_audio(STEREO, 60))
                                    if c.channels is not None)
    assert loudness.label_accuracy(transcript.segments) >= 0.9


@pytest.mark.parametrize("url", ["https://api.openai.com/v1", "http://10.0.0.5:8000/v1", "http://gpu-box.local/v1"])
def test_when_the_server_is_off_this_machine_then_it_is_refused_even_with_remote_allowed(
    url: str, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, transcription_url=url, allow_remote=True)
    with pytest.raises(ModelError, match="cannot be redacted"):
        make_transcriber(settings)


def test_when_a_proxy_is_set_then_the_audio_still_goes_straight_to_localhost(
    server: FakeSpeechServer, tmp_path: Path, proxy_off_machine: str
) -> None:
    transcript = _client(server, tmp_path).transcribe(JFK)
    assert "country" in transcript.text and len(server.requests) == 1


def test_when_the_server_is_not_running_then_the_error_says_so(tmp_path: Path) -> None:
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    settings = Settings(home=tmp_path, transcription_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(ModelError, match=r"could not reach the speech server .* is it running"):
        make_transcriber(settings).transcribe(JFK)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(status=500), r"refused the recording \(HTTP 500: scripted 500\)"),
        (Reply(status=413), r"HTTP 413"),
        (Reply(text="<html>Bad gateway</html>"), "not a transcript"),
        (Reply(text='{"segments": "none"}'), "not a transcript"),
        (Reply(delay=3.0), "did not answer within 1 s"),
    ],
    ids=["error", "too-big", "junk", "wrong-shape", "timeout"],
)
def test_when_the_server_fails_then_a_clear_error_and_no_transcript(
    server: FakeSpeechServer, tmp_path: Path, reply: Reply, message: str
) -> None:
    server.script.append(reply)
    with pytest.raises(ModelError, match=message) as failed:
        _client(server, tmp_path, request_timeout=1.0).transcribe(JFK)
    assert "nothing was saved" in str(failed.value)


def test_when_the_server_retries_then_a_passing_error_is_overcome(server: FakeSpeechServer, tmp_path: Path) -> None:
    server.script.append(Reply(status=503))
    transcript = _client(server, tmp_path, max_retries=1).transcribe(JFK)
    assert len(server.requests) == 2 and "country" in transcript.text


def test_when_the_server_gives_no_words_then_its_segments_are_kept_whole(
    server: FakeSpeechServer, tmp_path: Path
) -> None:
    server.script.append(Reply(answer={"words": None}))  # a server that gives segment times only
    transcriber = _client(server, tmp_path)
    transcriber.word_timestamps = True
    transcript = transcriber.transcribe(JFK)
    assert jiwer.wer(_plain(JFK_TEXT), _plain(transcript.text)) <= 0.1
    assert transcript.segments and all(s.words is None for s in transcript.segments)


def test_when_the_server_hears_another_language_then_a_warning_names_it(
    server: FakeSpeechServer, tmp_path: Path
) -> None:
    server.script.append(Reply(answer={"language": "welsh"}))
    transcript = _client(server, tmp_path).transcribe(JFK)
    assert any("speech in Welsh, not English" in w for w in transcript.warnings)
    assert all(s.low_confidence and "not in the expected language" in (s.review_reason or "")
               for s in transcript.segments)


def test_when_the_file_is_bad_then_nothing_is_sent(server: FakeSpeechServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError):
        _client(server, tmp_path).transcribe(empty)
    assert server.requests == []


def test_when_the_recording_is_silent_then_the_transcript_is_empty_with_a_warning(
    server: FakeSpeechServer, tmp_path: Path
) -> None:
    hiss = tmp_path / "hiss.wav"
    with wave.open(str(hiss), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        noise = np.random.default_rng(3).standard_normal(SAMPLE_RATE * 5) * 3
        out.writeframes(noise.astype("<i2").tobytes())
    transcript = _client(server, tmp_path).transcribe(hiss)
    assert transcript.segments == [] and any("no speech was found" in w for w in transcript.warnings)


def test_when_cancelled_between_chunks_then_no_more_is_sent_and_nothing_is_returned(
    server: FakeSpeechServer, tmp_path: Path
) -> None:
    transcriber = _client(server, tmp_path)
    transcriber.chunk_seconds = 4.0  # jfk.flac's 11 s in three chunks
    cancel = threading.Event()

    def progress(done: float) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(AudioError, match="cancelled; nothing was saved"):
        transcriber.transcribe(JFK, progress=progress, cancel=cancel)
    assert len(server.requests) == 1


def test_when_a_number_comes_back_misheard_then_its_stretch_is_sent_again_with_a_number_prompt(
    server: FakeSpeechServer, tmp_path: Path
) -> None:
    """espeak-ng reading an NHS number back. The server's answers are scripted (tiny.en behind the fake hears
    this clip differently with every prompt, so it cannot stand for a server that gets it right)."""
    clip = Path(__file__).parent / "data" / "nhs-readback-espeak.flac"
    seconds = inspect_audio(clip, 600).duration

    def said(text: str) -> Reply:
        return Reply(answer={"segments": [{"start": 0.2, "end": seconds - 0.2, "text": " " + text}], "words": None})

    server.script += [said("So that's 6-I-8, 7-9-7, 3-0-9-1."), said("So that's 698 797 3091.")]
    transcript = _client(server, tmp_path).transcribe(clip)
    assert "6987973091" in re.sub(r"\D", "", transcript.text), transcript.text
    assert not any("letter among its digits" in (s.review_reason or "") for s in transcript.segments)
    first, again = server.requests
    assert first["prompt"].startswith("Pool Pod") and again["prompt"] == NHS_PROMPTS[0]  # no vocabulary
    assert len(again["file"]) <= len(first["file"])  # the stretch, padded, within the recording
    assert all(0.0 <= s.start < s.end <= seconds for s in transcript.segments)

    # heard the same way again: nothing better to use, so it stays as heard and flagged for the OT
    server.requests.clear()
    server.script += [said("So that's 6-I-8, 7-9-7, 3-0-9-1."), said("So that's 6-I-8, 7-9-7, 3-0-9-1.")]
    kept = _client(server, tmp_path).transcribe(clip)
    assert len(server.requests) == 2 and "6987973091" not in re.sub(r"\D", "", kept.text)
    assert any("a letter among its digits" in (s.review_reason or "") for s in kept.segments)
