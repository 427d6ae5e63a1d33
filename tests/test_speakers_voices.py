"""Telling two voices apart on mono recordings, with the real speaker encoder (no fakes).

The clip ``tests/data/two-voices-espeak.flac`` is made by :func:`make_clip` (run this file with
Python to make it again): an OT asking in espeak-ng's ``en+f3`` and a client answering in
``en+m3``, 16 kHz mono. The words are written so that they alone mislead: the OT says "I found"
and "Yes", the client asks a question, so labels from the words are wrong for much of the time.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import assistant.speakers as speakers
from assistant.audio import SAMPLE_RATE, inspect_audio, read_chunks
from assistant.records import Segment
from assistant.speakers import infer_roles, label_mono

DATA = Path(__file__).parent / "data"
CLIP = DATA / "two-voices-espeak.flac"
ONE_VOICE = DATA / "nhs-number-twice-espeak.flac"  # en-gb+f3 and en-gb+m3: the same voice on espeak-ng 1.51

VOICES = {"OT": "en+f3", "client": "en+m3"}
# Pauses between turns. With 0.3 s pauses Whisper ran several turns into one segment, and a segment
# gets one label: labels by voice can be no finer than the segments (a limit of this approach).
GAP_S = 0.8
DIALOGUE = [
    ("OT", "Hello, I'm the occupational therapist from the Reconnect team. How have things been?"),
    ("client", "Not too bad. Mornings are the worst, everything is stiff."),
    ("OT", "I found a seated exercise class at the leisure centre."),
    ("client", "Is there parking near the door? Long walks are hard."),
    ("OT", "Yes, two blue badge spaces beside the entrance."),
    ("client", "Then it might be worth a go."),
    ("OT", "Lovely. Shall we set that as a goal?"),
    ("client", "Yes, that sounds good."),
]
# (start, end) of each turn in the clip, as make_clip() printed them
TURNS = [
    (0.0, 4.764), (5.564, 8.85), (9.65, 12.538), (13.338, 16.152),
    (16.952, 19.835), (20.635, 22.2), (23.0, 25.291), (26.091, 27.7),
]


def make_clip(path: Path = CLIP) -> list[tuple[float, float]]:
    """Speak :data:`DIALOGUE` with espeak-ng, join the turns with short pauses, write 16 kHz mono FLAC."""
    import av

    pieces, turns, at = [], [], 0
    for role, text in DIALOGUE:
        with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
            subprocess.run(["espeak-ng", "-v", VOICES[role], "-s", "185", "-w", wav.name, text], check=True)
            info = inspect_audio(Path(wav.name), 600)
            samples = np.concatenate([c.samples for c in read_chunks(info)])
        turns.append((round(at / SAMPLE_RATE, 3), round((at + len(samples)) / SAMPLE_RATE, 3)))
        pieces += [samples, np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)]
        at += len(samples) + int(GAP_S * SAMPLE_RATE)
    audio = np.clip(np.concatenate(pieces[:-1]), -1, 1)
    # 12-bit samples (the low 4 bits zero, which FLAC stores for free) keep the file under 300 KB
    pcm = (np.round(audio * 2047) * 16).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE)
        stream.layout = "mono"  # type: ignore[attr-defined]
        stream.options = {"compression_level": "12"}
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):  # type: ignore[attr-defined]
            container.mux(packet)
        for packet in stream.encode(None):  # type: ignore[attr-defined]
            container.mux(packet)
    return turns


def _chunks(path: Path, seconds: float = 600.0) -> list[tuple[float, np.ndarray]]:
    return [(c.start, c.samples) for c in read_chunks(inspect_audio(path, 600), seconds)]


def _oracle_segments() -> list[Segment]:
    pairs = enumerate(zip(TURNS, DIALOGUE, strict=True))
    return [Segment(id=i, start=a, end=b, text=text) for i, ((a, b), (_, text)) in pairs]


def right_share(segments: list[Segment]) -> float:
    """Share of the clip's speech time (the turns) covered by segments labelled with the right speaker."""
    step = 0.01
    truth = np.full(int(TURNS[-1][1] / step) + 1, "", dtype=object)
    for (a, b), (role, _) in zip(TURNS, DIALOGUE, strict=True):
        truth[int(a / step) : int(b / step)] = role
    said = np.full(len(truth), "", dtype=object)
    for s in segments:
        said[int(s.start / step) : int(s.end / step)] = s.speaker
    speech = truth != ""
    return float((said[speech] == truth[speech]).mean())


@pytest.fixture(scope="session")
def voice_model() -> None:
    """The real encoder, loaded once; these tests need it installed (``make install``)."""
    problem = speakers.voice_model_problem()
    assert problem is None, problem


def test_the_clip_is_small_and_matches_its_turns() -> None:
    info = inspect_audio(CLIP, 600)
    assert CLIP.stat().st_size < 300_000 and info.channels == 1
    assert info.duration == pytest.approx(TURNS[-1][1], abs=0.05)


def test_when_two_voices_then_labels_by_voice_are_right_and_words_alone_are_not(voice_model: None) -> None:
    labelled, by_voice = label_mono(_oracle_segments(), _chunks(CLIP))
    assert by_voice
    assert right_share(labelled) >= 0.9
    assert all(s.speaker_inferred for s in labelled)
    # the same segments from the words only: clearly worse, so the voices are what made them right
    assert right_share(infer_roles(_oracle_segments())) <= right_share(labelled) - 0.25


def test_when_chunks_cut_through_turns_then_each_segment_still_gets_one_voice(voice_model: None) -> None:
    """Short chunks (as a long recording is read) give the same labels as the whole clip at once."""
    whole, _ = label_mono(_oracle_segments(), _chunks(CLIP))
    chunked, by_voice = label_mono(_oracle_segments(), _chunks(CLIP, seconds=5.0))
    assert by_voice and [s.speaker for s in chunked] == [s.speaker for s in whole]


def test_when_someone_says_who_they_are_then_they_stay_other(voice_model: None) -> None:
    segments = _oracle_segments()
    segments[5] = segments[5].model_copy(update={"text": "I'm his daughter, he won't say how bad it is."})
    labelled, by_voice = label_mono(segments, _chunks(CLIP))
    assert by_voice and labelled[5].speaker == "other"
    assert [s.speaker for i, s in enumerate(labelled) if i != 5] == [r for i, (r, _) in enumerate(DIALOGUE) if i != 5]


def test_when_one_voice_then_labels_come_from_the_words(voice_model: None) -> None:
    chunks = _chunks(ONE_VOICE)
    duration = sum(len(s) for _, s in chunks) / SAMPLE_RATE
    texts = ["Can you tell me your NHS number?", "Sure, it is eight seven three.", "Thank you, that matches.",
             "What would you like to do?", "Swimming, I think."]
    step = duration / len(texts)
    segments = [Segment(id=i, start=i * step, end=(i + 1) * step, text=t) for i, t in enumerate(texts)]
    labelled, by_voice = label_mono(segments, chunks)
    assert not by_voice
    assert labelled == infer_roles(segments)


def test_when_there_is_too_little_speech_then_labels_come_from_the_words(voice_model: None) -> None:
    segments = _oracle_segments()[:2]
    labelled, by_voice = label_mono(segments, _chunks(CLIP))
    assert not by_voice and labelled == infer_roles(segments)


def test_when_the_model_is_missing_then_words_are_used_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import assistant.models as models

    def missing(name: str) -> Any:
        raise models.ModelError(f"the model package '{name}' is not installed")

    monkeypatch.setattr(models, "package_dir", missing)
    monkeypatch.setattr(speakers, "_session", None)
    monkeypatch.setattr(speakers, "_session_failed", None)

    def never_read() -> Any:
        raise AssertionError("the audio should not be read without a model")
        yield

    with caplog.at_level(logging.WARNING, logger="reconnect.speakers"):
        labelled, by_voice = label_mono(_oracle_segments(), never_read())
        again, _ = label_mono(_oracle_segments(), never_read())
    assert not by_voice and labelled == again == infer_roles(_oracle_segments())
    warned = [r for r in caplog.records if "from the words only" in r.getMessage()]
    assert len(warned) == 1 and "not installed" in warned[0].getMessage()  # said once, not per recording


def test_when_a_mono_visit_is_transcribed_then_speakers_are_told_apart_by_voice(tiny: Any, voice_model: None) -> None:
    transcript = tiny.transcribe(CLIP)
    assert any("told apart by voice" in w for w in transcript.warnings)
    assert not any("inferred from the words" in w for w in transcript.warnings)
    assert all(s.speaker_inferred for s in transcript.segments)
    assert right_share(transcript.segments) >= 0.9


if __name__ == "__main__":
    print(make_clip())
