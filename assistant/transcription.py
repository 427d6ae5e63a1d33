"""Speech to text on this machine with faster-whisper.

One interface (:class:`Transcriber`), one engine here (:class:`WhisperTranscriber`), one
for a speech server on localhost (:mod:`assistant.transcription_server`), and a factory that
picks by settings. Both share :class:`ChunkedTranscriber`: the checks, the chunks, the
guards and the labels. The engine is loaded once and reused.

A recording goes through four stages, each in its own module:

1. :mod:`assistant.audio` refuses bad files and streams 16 kHz chunks (about 10
   minutes each, cut at a quiet moment) so memory stays bounded however long it is;
2. Whisper (VAD on, vocabulary as hotwords before every window) transcribes each chunk, with
   progress reported from 0 to 1 and a cancel event checked between segments;
3. :mod:`assistant.transcript_guard` drops text Whisper invents and flags segments
   the OT should check;
4. :mod:`assistant.speakers` labels each segment OT / client / other.

Nothing is written anywhere: a failed or cancelled run raises and leaves nothing
behind, and only a finished :class:`~assistant.records.Transcript` is returned.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.audio import SAMPLE_RATE, AudioChunk, AudioFile, inspect_audio, read_chunks
from assistant.errors import AudioError, ModelError
from assistant.records import Segment, Transcript, Word
from assistant.settings import Settings
from assistant.speakers import ChannelLoudness, drop_crosstalk, label_by_channel, label_mono
from assistant.transcript_guard import (
    LOGPROB_FLOOR,
    SAID_AS_NHS,
    doubtful_numbers,
    guard_segments,
    well_formed_numbers,
)

__all__ = [
    "SAMPLE_RATE",
    "ChunkedTranscriber",
    "LanguageCheck",
    "Progress",
    "Transcriber",
    "WhisperTranscriber",
    "language_code",
    "make_transcriber",
    "segments_of",
]

log = logging.getLogger("reconnect.transcription")

Progress = Callable[[float], None]
Span = tuple[float, float]  # a stretch of time, start and end in seconds

RANDOM_SEED = 0  # for Whisper's sampled fallback decodes: reproducible, not chosen for any result
CHUNK_SECONDS = 600.0  # ten minutes of audio in memory at a time (about 38 MB)
WINDOW_S = 30.0  # Whisper hears 30 s at a time
LANGUAGE_PROBE_S = WINDOW_S  # and detects a language from one window
LANGUAGE_EVERY_S = 300.0  # one probe per 5 minutes: each costs about a quarter of transcribing 30 s
MAX_LANGUAGE_PROBES = 12
LANGUAGE_SURE = 0.5
MAX_UNSURE_PROBES = 4  # unsure stretches probed for their language, per chunk and track, longest first
UNSURE_PROBE_MIN_S = 4.0  # shorter unsure stretches are not probed: too little to tell a language by
PAUSE_S = 1.0  # a pause this long between words starts a new segment
SENTENCE_PAUSE_S = 0.5  # and this long after the end of a sentence
SILENT_RMS = 1e-3  # a probe window quieter than this (about -60 dBFS) is not checked
LONGEST_WORD_S = 2.5  # no spoken word lasts this long: a "word" that does covers skipped speech
MISSED_SPEECH_S = 1.5  # this much speech between two pieces with no words in it was skipped
# tokens a clip heard again may take, per second of it: twice the fastest speech (a number said digit by
# digit is written "0-7-7-0-0", about 6 tokens a second); a loop stops there instead of at 448 tokens
CLIP_TOKENS_PER_S = 12.0
MAX_CLIP_TOKENS = 200  # per 30-s window, leaving room in Whisper's 448 for the longest vocabulary prompt (223)
# Heard again, one prompt after another, when a number in a segment looks misheard: each shows
# digits written in groups, as the NHS writes its own example number and as Ofcom's drama range
# is written. Which prompt mends a number varies from one recording to the next; the check digit
# (NHS numbers) or the shape (phone numbers) says when one has.
NHS_PROMPTS = (
    "The number is 943 476 5919.",
    "My NHS number is 943 476 5919.",
    "My NHS number is 943 476 5919. It is 401 023 2137.",
)
PHONE_PROMPTS = ("My mobile is 07700 900123.",)
REHEARD_PHONE = "heard again, as a number in it looked misheard; a phone number has no check digit: check it"
SECOND_OPINION = (
    "Whisper {model} heard {first}, which looks misheard however often it listens; Whisper {second_model} "
    "heard {second}, which passes the check digit: check it against the audio"
)


class Transcriber(Protocol):
    name: str

    def transcribe(
        self, audio: Path, *, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> Transcript: ...


@dataclass
class LanguageCheck:
    """Which language each probed stretch sounded like, for English-checking a recording."""

    expected: str
    heard: list[tuple[float, float, str, float]] = field(default_factory=list)  # start, end, code, prob

    def foreign(self) -> list[tuple[float, float, str, float]]:
        return [h for h in self.heard if h[2] != self.expected and h[3] >= LANGUAGE_SURE]

    def covers(self, start: float, end: float) -> bool:
        return any(s <= (start + end) / 2 < e for s, e, _, _ in self.foreign())

    def probed(self, start: float, end: float) -> bool:
        """Whether a probe already heard the middle of ``start``-``end``."""
        return any(s <= (start + end) / 2 < e for s, e, _, _ in self.heard)

    def main_language(self) -> str:
        if not self.heard:
            return self.expected
        totals: dict[str, float] = {}
        for start, end, code, _ in self.heard:
            totals[code] = totals.get(code, 0.0) + end - start
        return max(totals, key=lambda code: totals[code])

    def warning(self) -> str | None:
        foreign = self.foreign()
        if not foreign:
            return None
        names = sorted({_language_name(code) for _, _, code, _ in foreign})
        where = ", ".join(f"{_clock(s)}-{_clock(e)} ({_language_name(c)}, {p:.0%})" for s, e, c, p in foreign[:4])
        return (
            f"this recording has speech in {' and '.join(names)}, not {_language_name(self.expected)}: {where}. "
            "Those parts are transcribed in the language heard and flagged; the rest of the assistant works in "
            "English, so check them against the audio"
        )


def _doubts(segments: list[Segment]) -> list[tuple[str, str]]:
    """The misheard-looking numbers in ``segments``, as their digits and any letters among them ("6I8797"),
    each with why it looks misheard."""
    return [(re.sub(r"[^0-9A-Z]", "", number.upper()), why)
            for s in segments for number, why in doubtful_numbers(s.text)]


def _doubtful_digits(segments: list[Segment]) -> list[str]:
    return [digits for digits, _ in _doubts(segments)]


def _echoes_number(text: str, prompt: str, first: str) -> bool:
    """True when ``text`` holds a number written in ``prompt`` that ``first`` (the first hearing) did not."""
    said = re.sub(r"\D", "", first)
    return any(number in re.sub(r"\D", "", text) and number not in said
               for number in (re.sub(r"\D", "", m) for m in re.findall(r"\d[\d ]{6,}\d", prompt)))


def _plain_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def _without_prompt_words(segments: list[Segment], prompt: str, first: str) -> list[Segment]:
    """``segments`` without the words of ``prompt`` they open with that ``first`` did not have."""
    if not segments or not segments[0].words:
        return segments
    echo = _plain_words(prompt) - _plain_words(first)
    words = segments[0].words
    cut = 0
    while cut < len(words) and (plain := _plain_words(words[cut].text)) and plain <= echo:
        cut += 1
    if not cut:
        return segments
    kept = words[cut:]
    if not kept:
        return segments[1:]
    opened = segments[0].model_copy(update={
        "words": kept, "start": kept[0].start, "text": "".join(w.text for w in kept).strip()})
    return [opened, *segments[1:]]


def _runs_into(first: Segment, second: Segment) -> bool:
    """True when a number at the end of ``first`` may go on at the start of ``second``."""
    close = second.start - first.end < PAUSE_S
    return close and bool(re.search(r"\d\W*$", first.text)) and bool(re.match(r"\W*\d", second.text))


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pl": "Polish",
             "pt": "Portuguese", "ro": "Romanian", "ur": "Urdu", "pa": "Punjabi", "bn": "Bengali", "ar": "Arabic",
             "zh": "Chinese", "tr": "Turkish", "lt": "Lithuanian", "nl": "Dutch", "ru": "Russian", "uk": "Ukrainian",
             "hi": "Hindi", "gu": "Gujarati", "so": "Somali", "ja": "Japanese", "ko": "Korean", "cy": "Welsh"}


def _language_name(code: str) -> str:
    return LANGUAGES.get(code, code)


def language_code(language: str) -> str:
    """A language's code, given its code or its name ("en", "English", "english"): OpenAI's servers name
    the language where Whisper gives its code."""
    plain = language.strip().lower()
    return next((code for code, name in LANGUAGES.items() if name.lower() == plain), plain)


class ChunkedTranscriber:
    """What every engine shares: the checks on the file, bounded chunks, the one-voice-per-channel split,
    progress, cancelling, the guards and the speaker labels. An engine says how it hears one track of
    one chunk (:meth:`_hear_track`) and may check the language first and mend numbers after."""

    def __init__(self, settings: Settings, name: str, chunk_seconds: float) -> None:
        self.settings = settings
        self.name = name
        self.chunk_seconds = chunk_seconds
        self.word_timestamps = bool(getattr(settings, "whisper_word_timestamps", False))

    @property
    def label(self) -> str:
        """The model, as the transcript names it."""
        return f"whisper-{self.name}"

    def transcribe(
        self, audio: Path, *, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> Transcript:
        info = inspect_audio(Path(audio), self.settings.max_audio_minutes * 60)
        self._start()
        expected = self.settings.whisper_language or "en"
        languages = LanguageCheck(expected=expected)
        segments: list[Segment] = []
        missed: list[Span] = []  # speech that gave no words
        two_track: list[bool] = []
        tell: Progress = progress or (lambda _done: None)
        told = [0.0]

        def report(done: float) -> None:  # never backwards, even when a chunk is heard a second time
            if done >= told[0]:
                told[0] = done
                tell(done)

        report(0.0)
        for chunk in read_chunks(info, self.chunk_seconds):
            _stop_if(cancel)
            foreign = self._check_language(chunk, info, languages)
            loudness = ChannelLoudness.of(chunk.channels) if chunk.channels is not None else None
            split = loudness is not None and loudness.is_one_voice_per_channel()
            two_track.append(split)
            tracks: list[tuple[int | None, np.ndarray]] = [(None, chunk.samples)]
            if split and chunk.channels is not None:
                tracks = [(0, chunk.channels[0]), (1, chunk.channels[1])]
            found: list[Segment] = []
            for number, (channel, samples) in enumerate(tracks):

                def track_progress(at: float, n: int = number, c: AudioChunk = chunk, of: int = len(tracks)) -> None:
                    done = (n + (at - c.start) / c.duration) / of
                    report(min(0.99, (c.start + done * c.duration) / info.duration))

                hear = (samples, chunk.start, channel, languages, track_progress, cancel)
                heard = self._heard(*hear, foreign=foreign)
                unheard = _unheard(heard, samples, chunk.start)
                if not foreign and self._foreign_where_unsure(heard, unheard, samples, chunk.start, languages):
                    # unsure or wordless stretches were another language, forced into English (Whisper
                    # translates it, or skips it)
                    foreign = True
                    heard = self._heard(*hear, foreign=True)
                    unheard = _unheard(heard, samples, chunk.start)
                missed.extend(unheard)
                found.extend(self._mend_numbers(heard, samples, chunk.start, foreign))
            if split and loudness is not None:
                found = drop_crosstalk(found, loudness.shifted(chunk.start))
            segments.extend(s.model_copy(update={"id": len(segments) + i}) for i, s in enumerate(found))
        _stop_if(cancel)
        transcript = self._finish(info, segments, languages, missed, two_track=bool(two_track) and all(two_track))
        report(1.0)
        return transcript

    def _heard(
        self,
        samples: np.ndarray,
        offset: float,
        channel: int | None,
        languages: LanguageCheck,
        progress: Progress,
        cancel: threading.Event | None,
        *,
        foreign: bool,
    ) -> list[Segment]:
        """One track of one chunk heard through; ``progress`` gets each segment's end as it comes."""
        heard: list[Segment] = []
        for segment in self._hear_track(samples, offset, channel, foreign=foreign, languages=languages):
            _stop_if(cancel)
            heard.append(segment)
            progress(segment.end)
        return heard

    def _foreign_where_unsure(
        self, segments: list[Segment], unheard: list[Span], samples: np.ndarray, offset: float, languages: LanguageCheck
    ) -> bool:
        """True when a stretch the engine was unsure of, heard as English, or one of speech it gave no words for
        (``unheard``, recording seconds), is speech in another language."""
        return False

    def _start(self) -> None:
        """Called once before a recording is heard."""

    def _check_language(self, chunk: AudioChunk, info: AudioFile, languages: LanguageCheck) -> bool:
        """True when ``chunk`` has speech in another language than the expected one (noted in ``languages``)."""
        return False

    def _hear_track(
        self, samples: np.ndarray, offset: float, channel: int | None, *, foreign: bool, languages: LanguageCheck
    ) -> Iterator[Segment]:
        """The segments of one track of one chunk (``offset``: its start in the recording), as they come."""
        raise NotImplementedError

    def _mend_numbers(
        self, segments: list[Segment], samples: np.ndarray, offset: float, foreign: bool
    ) -> list[Segment]:
        """A track's segments, with the stretches that hold a misheard-looking number heard again.

        A number looks misheard (:func:`~assistant.transcript_guard.doubtful_numbers`) when it
        is shaped like an NHS number but fails the check digit, starts with 0 but is too short
        or long for a UK phone number, has a letter among its digits, or repeats one digit
        eight times. Such a segment, joined with a neighbour that the number runs into, is
        heard again with prompts that show numbers written in groups (:data:`NHS_PROMPTS`, :data:`PHONE_PROMPTS`).
        A new hearing is used only if no number in it looks misheard and at least one checks
        out; otherwise the segments are kept as heard and the guard flags them for the OT. A
        phone number heard again stays flagged: only an NHS number can prove itself right.

        An NHS-shaped number that still fails is heard once more by a second model where the
        engine has one (Whisper here: ``settings.whisper_second_opinion``, tiny.en by default,
        which mishears other sounds than base does). Its hearing is used on the same terms, but
        stays flagged: the two models disagree, and a number said wrongly can be misheard into
        one that passes. An engine hears a stretch again through :meth:`_hear_number`.
        """
        track_s = len(samples) / SAMPLE_RATE
        out: list[Segment] = []
        at = 0
        while at < len(segments):
            segment = segments[at]
            if not doubtful_numbers(segment.text):
                out.append(segment)
                at += 1
                continue
            group = [segment]
            # the number may have begun in the segment before, or go on into the next
            if out and _runs_into(out[-1], segment):
                group.insert(0, out.pop())
            while at + 1 < len(segments) and _runs_into(group[-1], segments[at + 1]):
                at += 1
                group.append(segments[at])
            at += 1
            a, b = max(0.0, group[0].start - offset - 0.3), min(track_s, group[-1].end - offset + 0.3)
            # prompts for the kind of number in doubt: a phone number starts with 0, an NHS number does not,
            # unless it was said as one ("Her NHS number is 041-0232137")
            doubts = _doubts(group)
            doubted = [digits for digits, _ in doubts]
            nhs_shaped = any(not d.startswith("0") or why.startswith(SAID_AS_NHS) for d, why in doubts)
            phone_shaped = any(d.startswith("0") and not why.startswith(SAID_AS_NHS) for d, why in doubts)
            prompts = (PHONE_PROMPTS if phone_shaped else ()) + (NHS_PROMPTS if nhs_shaped else ())
            clip = (samples, a, b, offset, segment.channel, foreign)
            first = " ".join(s.text for s in group)
            redone, repeated = self._hear_numbers(clip, prompts, doubted, first)
            if redone:
                out.extend(
                    s.model_copy(update={"low_confidence": True, "review_reason": REHEARD_PHONE})
                    if any(n.startswith("0") for n in well_formed_numbers(s.text))
                    else s
                    for s in redone
                )
                continue
            # ten digits heard the same way twice may be what was said (an NHS number given can be wrong)
            second = self._second_model() if nhs_shaped and not foreign and not repeated else None
            redone = self._hear_numbers(clip, NHS_PROMPTS, doubted, first, second)[0] if second else []
            if any(not n.startswith("0") for s in redone for n in well_formed_numbers(s.text)):
                heard = ", ".join(n for g in group for n, _ in doubtful_numbers(g.text))
                out.extend(self._second_opinion(s, heard) for s in redone)
                continue
            out.extend(group)
        return out

    def _hear_numbers(
        self,
        clip: tuple[np.ndarray, float, float, float, int | None, bool],
        prompts: tuple[str, ...],
        doubted: list[str],
        first: str,
        model: Any = None,
    ) -> tuple[list[Segment], bool]:
        """``clip`` heard again with one prompt after another, until no number in the hearing looks misheard
        and at least one checks out: (that hearing, False). ([], True) when the ``doubted`` numbers are ten
        digits each and come back the same (a whole NHS number, heard twice: that may be what was said, as a
        number given can be wrong); ([], False) when no prompt helps, or what comes back the same is a
        letter among digits or a digit too few or too many (what this model mishears, not what was said).

        Whisper can copy its prompt into what it hears. A hearing that holds the prompt's own example
        number, which the first hearing (``first``) did not, is the prompt's, not the speaker's, and is not
        used (it passes the check digit); words of the prompt that open the hearing and were not in the
        first hearing are taken off ("His mobile is" heard again as "My mobile is 07700 900962")."""
        for prompt in prompts:
            redone = self._hear_number(*clip, prompt, model=model)
            if _doubtful_digits(redone) == doubted:
                return [], all(d.isdigit() and len(d) == 10 for d in doubted)
            text = " ".join(s.text for s in redone)
            if _echoes_number(text, prompt, first):
                log.info("a hearing again copied its prompt's number: not used")
                continue
            if redone and not doubtful_numbers(text) and well_formed_numbers(text):
                redone = _without_prompt_words(redone, prompt, first)
                log.info("heard %r again as %r", " ".join(doubted), " ".join(s.text for s in redone))
                return redone, False
        return [], False

    def _second_opinion(self, segment: Segment, first: str) -> Segment:
        numbers = well_formed_numbers(segment.text)
        if not numbers:
            return segment
        reason = SECOND_OPINION.format(
            first=first, model=self.name, second_model=self.settings.whisper_second_opinion, second=", ".join(numbers)
        )
        return segment.model_copy(update={"low_confidence": True, "review_reason": reason})

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
        """What the engine (or ``model``, a second one) hears in ``a``-``b`` (track seconds) on its own, led by
        ``prompt`` (numbers written in groups), without the vocabulary: our segments."""
        raise NotImplementedError

    def _second_model(self) -> Any:
        """A second model for NHS numbers that still fail, or None (the engine has none)."""
        return None

    def _finish(
        self,
        info: AudioFile,
        segments: list[Segment],
        languages: LanguageCheck,
        missed: list[Span],
        *,
        two_track: bool,
    ) -> Transcript:
        warnings: list[str] = []
        guarded = guard_segments(segments)
        kept = guarded.kept
        warnings.extend(guarded.warnings())
        if missed:
            where = ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in missed[:6]) + (" and more" if missed[6:] else "")
            warnings.append(f"speech at {where} gave no words, even heard again: listen to the recording there "
                            "and add what was said")
        language_warning = languages.warning()
        if language_warning:
            warnings.append(language_warning)
            kept = [
                s.model_copy(update={"low_confidence": True, "review_reason": "; ".join(
                    filter(None, [s.review_reason, "not in the expected language"]))})
                if languages.covers(s.start, s.end) else s
                for s in kept
            ]
        if two_track:
            kept, note = label_by_channel(kept)
            warnings.append(note)
        else:
            # the recording is read again chunk by chunk: one voice vector per segment is kept, not the audio
            kept, by_voice = label_mono(kept, ((c.start, c.samples) for c in read_chunks(info, self.chunk_seconds)))
            if kept and by_voice:
                warnings.append("speakers were told apart by voice and named OT or client from the words "
                                "(mono recording): check the labels")
            elif kept:
                warnings.append("speakers were inferred from the words (mono recording): check the labels")
        if not self.word_timestamps:
            kept = [s.model_copy(update={"words": None}) if s.words else s for s in kept]
        if not kept:
            warnings.insert(0, "no speech was found in this recording: check the microphone, or that the right "
                               "file was chosen")
        return Transcript(
            text=" ".join(s.text for s in kept),
            duration=round(info.duration, 2),
            language=languages.main_language(),
            model=self.label,
            segments=kept,
            warnings=warnings,
        )


class WhisperTranscriber(ChunkedTranscriber):
    """faster-whisper with VAD, a vocabulary prompt, chunked audio, guards and speaker labels."""

    def __init__(self, settings: Settings, *, chunk_seconds: float = CHUNK_SECONDS) -> None:
        from faster_whisper import WhisperModel

        from assistant.models import whisper_model_path

        super().__init__(settings, settings.whisper_model, chunk_seconds)
        self._model = WhisperModel(
            whisper_model_path(settings.whisper_model),
            device=settings.whisper_device,
            compute_type=settings.whisper_compute_type,
            cpu_threads=settings.whisper_threads,
        )
        self._second: Any = None  # the second-opinion model, loaded the first time a number needs it
        self._second_lock = threading.Lock()

    @property
    def previous_text(self) -> bool:
        """Whether windows are decoded with the text before them (settings; by default not for tiny models)."""
        chosen = self.settings.whisper_previous_text
        return chosen if chosen is not None else "tiny" not in Path(self.name).name

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def _start(self) -> None:
        # Whisper falls back to sampling (temperature > 0) on windows it decodes poorly; a fixed seed
        # makes the same recording give the same transcript every time
        import ctranslate2

        ctranslate2.set_random_seed(RANDOM_SEED)

    def _hear_track(
        self, samples: np.ndarray, offset: float, channel: int | None, *, foreign: bool, languages: LanguageCheck
    ) -> Iterator[Segment]:
        """Whisper over one chunk of one track; a chunk with another language in it is transcribed as heard.

        Whisper sometimes jumps over a stretch of speech inside a 30-s window (the
        decoder goes straight to a later sentence, leaving one "word" that lasts
        seconds, or a long gap between two words), or stops before the last sentence. A
        piece that holds such a word, or a gap before, inside or after it that the voice
        detector says had speech in it, is transcribed again from the end of the last good
        word, once, one stretch of speech at a time, and that text replaces it.
        """
        options = self._options(foreign)
        pieces, _info = self._model.transcribe(samples, **options)
        track_s = len(samples) / SAMPLE_RATE
        speech: list[Span] | None = None
        done = 0.0  # track seconds: end of the last word kept
        for piece in pieces:
            if not piece.text.strip():
                continue
            words = list(piece.words or [])
            good = len(words)  # words before the first sign of skipped speech
            for number, word in enumerate(words):
                before = words[number - 1].end if number else done
                if word.end - word.start > LONGEST_WORD_S:
                    good = number
                elif word.start - before >= MISSED_SPEECH_S:
                    speech = speech if speech is not None else _speech_spans(samples)
                    if _overlap(speech, before, word.start) >= MISSED_SPEECH_S:
                        good = number
                if good < len(words):
                    break
            if good == len(words):
                yield from segments_of(piece, words, offset, offset + track_s, channel)
                done = max(done, words[-1].end if words else piece.end)
                continue
            # keep what came before the skip; the rest again, each stretch of speech on its own
            # (joined up again, Whisper tends to skip the same way)
            if good:
                yield from segments_of(piece, words[:good], offset, offset + track_s, channel)
            begin = words[good - 1].end if good else done
            stop = min(track_s, max(piece.end, words[-1].end) + 0.2)
            speech = speech if speech is not None else _speech_spans(samples)
            yield from self._hear_again(samples, begin, stop, speech, options, offset, channel)
            done = max(done, stop)
        # Whisper can also stop early, before the last sentence of the track
        if track_s - done >= MISSED_SPEECH_S:
            speech = speech if speech is not None else _speech_spans(samples)
            if _overlap(speech, done, track_s) >= MISSED_SPEECH_S:
                yield from self._hear_again(samples, done, track_s, speech, options, offset, channel)

    def _hear_again(
        self,
        samples: np.ndarray,
        begin: float,
        stop: float,
        speech: list[Span],
        options: dict[str, Any],
        offset: float,
        channel: int | None,
    ) -> Iterator[Segment]:
        """Transcribe ``begin``-``stop`` (track seconds) again, one stretch of speech at a time.

        A stretch can be skipped again in part: two turns with a short pause between are one stretch to
        the voice detector, and Whisper heard only the second (an NHS number read back, lost). Speech
        left without words at the start, between words or at the end of a stretch's hearing is heard
        once more on its own."""
        stretches = [(max(begin, a - 0.2), min(stop, b + 0.2)) for a, b in speech if b > begin and a < stop]
        log.info("re-transcribing %.1f-%.1f s in %d stretch(es): Whisper skipped speech there",
                 offset + begin, offset + stop, len(stretches))
        for a, b in stretches:
            if b - a < 0.3:
                continue
            heard = self._hear_clip(samples, a, b, offset, channel, options)
            ends = [a, *(t - offset for s in heard for w in (s.words or []) for t in (w.start, w.end)), b]
            gaps = [(x, y) for x, y in zip(ends[::2], ends[1::2], strict=True)
                    if y - x >= MISSED_SPEECH_S and _overlap(speech, x, y) >= MISSED_SPEECH_S]
            if not heard or not gaps or not all(s.words for s in heard):
                yield from heard
                continue
            log.info("hearing %d stretch(es) of %.1f-%.1f s again on their own: skipped again",
                     len(gaps), offset + a, offset + b)
            found = heard + [s for x, y in gaps for s in self._hear_clip(samples, x, y, offset, channel, options)]
            yield from sorted(found, key=lambda s: s.start)

    def _hear_clip(
        self,
        samples: np.ndarray,
        a: float,
        b: float,
        offset: float,
        channel: int | None,
        options: dict[str, Any],
        model: Any = None,
    ) -> list[Segment]:
        """What Whisper (``model``, else ours) hears in ``a``-``b`` (track seconds, within the track) on its own,
        as our segments. A clip is heard without the text before it: carrying its own text into its last
        fraction of a second set off slow sampled decodes (19 re-heard numbers took 39 s instead of 16 s).

        A clip is decoded once, at temperature 0, and at most :data:`CLIP_TOKENS_PER_S` tokens a second long.
        Whisper's fallback, sampling again at rising temperatures when a decode loops, is for the first
        hearing; a clip is heard again because that one failed there, and sampled it makes things up: a
        5.8-s phone number took 39 s through all six temperatures and came back with "imperial center-level
        LLC and chains together in the 18th century" after it. A loop from one decode is cut and flagged by
        the guard, and a number in it heard again with prompts (:meth:`_mend_numbers`)."""
        model = model or self._model
        budget = min(MAX_CLIP_TOKENS, int(CLIP_TOKENS_PER_S * min(b - a, WINDOW_S)) + 16)
        options = {**options, "condition_on_previous_text": False, "temperature": 0.0, "max_new_tokens": budget}
        pieces, _ = model.transcribe(samples[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)], **options)
        start, end = offset + a, offset + b
        return [s for piece in pieces for s in segments_of(piece, list(piece.words or []), start, end, channel)]

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
        options = {**self._options(foreign), "hotwords": None, "vad_filter": False, "initial_prompt": prompt}
        return self._hear_clip(samples, a, b, offset, channel, options, model=model)

    def _options(self, foreign: bool) -> dict[str, Any]:
        """faster-whisper's options for one track (``foreign``: a chunk with another language in it)."""
        language = self.settings.whisper_language if self.multilingual and not foreign else None
        options: dict[str, Any] = {
            "language": language,
            "multilingual": foreign,
            "beam_size": self.settings.whisper_beam_size,
            "vad_filter": True,
            # hotwords go in front of every 30-s window, then the text of the window before: on four
            # 5.5-minute mono conversations that context took base's WER from 6.8 % to 5.4 % on average,
            # and on the channels of five one-voice-per-channel ones from 7.8 % to 6.3 % (see the README;
            # faster-whisper drops it after a window decoded by sampling). Tiny models go without it
            # unless settings say otherwise (see Settings.whisper_previous_text)
            "hotwords": self.settings.vocabulary or None,
            "condition_on_previous_text": self.previous_text,
            # word timings cost about 5 % more and give tight segment ends (the stereo speaker split
            # and evidence links rely on them), each digit's probability (the guard flags unsure
            # numbers) and the skip check below; they are dropped from the transcript unless asked for
            "word_timestamps": True,
        }
        return options

    def _second_model(self) -> Any:
        """The second-opinion Whisper model, loaded once when first needed; None when there is none."""
        name = self.settings.whisper_second_opinion
        if not name or name == self.settings.whisper_model:
            return None
        with self._second_lock:
            if self._second is None:
                from faster_whisper import WhisperModel

                from assistant.models import whisper_model_path

                try:
                    self._second = WhisperModel(
                        whisper_model_path(name),
                        device=self.settings.whisper_device,
                        compute_type=self.settings.whisper_compute_type,
                        cpu_threads=self.settings.whisper_threads,
                    )
                except (ModelError, RuntimeError, OSError, ValueError) as exc:
                    log.warning("no second opinion on NHS numbers: Whisper %s did not load (%s)", name, exc)
                    self._second = False
        return self._second or None

    def _check_language(self, chunk: AudioChunk, info: AudioFile, languages: LanguageCheck) -> bool:
        """Detect the language of 30-s stretches spread over the recording (one per 5 minutes, at most 12).

        True when this chunk has speech in a language other than the expected one.
        """
        if not self.multilingual:  # an English-only model cannot tell
            return False
        before = len(languages.foreign())
        probe = int(LANGUAGE_PROBE_S * SAMPLE_RATE)
        spacing = int(max(LANGUAGE_EVERY_S, info.duration / MAX_LANGUAGE_PROBES) * SAMPLE_RATE)
        first = (-int(chunk.start * SAMPLE_RATE)) % spacing
        for begin in range(first, len(chunk.samples), spacing):
            self._probe(chunk.samples[begin : begin + probe], chunk.start + begin / SAMPLE_RATE, languages)
        return len(languages.foreign()) > before

    def _foreign_where_unsure(
        self, segments: list[Segment], unheard: list[Span], samples: np.ndarray, offset: float, languages: LanguageCheck
    ) -> bool:
        """The stretches Whisper was unsure of (average log-probability under its own failure bar), and those of
        speech it gave no words for, probed for their language: forced to English, Whisper translates speech in
        another language into fluent-looking English, unsure of every word, or skips it (with 2 beams, the
        German half of multilingual.mp3: 27 s without a word, even heard again). The spaced probes of
        :meth:`_check_language` miss a stretch shorter than their spacing. At most a few stretches per chunk,
        30 s each."""
        if not self.multilingual:
            return False
        before = len(languages.foreign())
        stretches: list[Span] = []
        for segment in segments:
            if segment.avg_logprob is None or segment.avg_logprob >= LOGPROB_FLOOR:
                continue
            if stretches and segment.start - stretches[-1][1] < PAUSE_S * 3:
                stretches[-1] = (stretches[-1][0], segment.end)
            else:
                stretches.append((segment.start, segment.end))
        longest = sorted(stretches + unheard, key=lambda st: st[0] - st[1])[:MAX_UNSURE_PROBES]
        for start, end in sorted(longest):
            if end - start < UNSURE_PROBE_MIN_S or languages.probed(start, end):
                continue
            a, b = int((start - offset) * SAMPLE_RATE), int((min(end, start + LANGUAGE_PROBE_S) - offset) * SAMPLE_RATE)
            self._probe(samples[max(0, a) : b], start, languages)
        return len(languages.foreign()) > before

    def _probe(self, window: np.ndarray, start: float, languages: LanguageCheck) -> None:
        """Which language ``window`` (starting ``start`` s into the recording) sounds like, noted in ``languages``."""
        if len(window) < SAMPLE_RATE * 2 or float(np.sqrt(np.mean(np.square(window)))) < SILENT_RMS:
            return
        try:
            code, prob, _ = self._model.detect_language(audio=window, vad_filter=True)
        except (RuntimeError, ValueError) as exc:  # no speech in the window after VAD
            log.debug("language probe skipped: %s", exc)
            return
        languages.heard.append((start, start + len(window) / SAMPLE_RATE, code, float(prob)))


def segments_of(
    piece: Any, words: list[Any], offset: float, track_end: float, channel: int | None
) -> Iterator[Segment]:
    """An engine's ``words`` of one ``piece`` (a Whisper segment: ``text``, ``start``, ``end`` and, where the
    engine gives them, ``avg_logprob``, ``no_speech_prob``, ``compression_ratio``; words with ``word``,
    ``start``, ``end`` and maybe ``probability``) as our segments, cut at pauses; times from the recording start.
    Without words, the piece is one segment, its text as the engine wrote it."""
    ours = [
        Word(start=round(offset + w.start, 2), end=round(min(offset + w.end, track_end), 2),
             text=w.word, probability=_rounded(getattr(w, "probability", None)))
        for w in words
    ]
    for part in split_at_pauses(ours) if ours else [None]:
        text = "".join(w.text for w in part).strip() if part else piece.text.strip()
        if not text:
            continue
        yield Segment(
            id=0,
            start=part[0].start if part else round(offset + piece.start, 2),
            end=part[-1].end if part else round(min(offset + piece.end, track_end), 2),
            text=text,
            channel=channel,
            avg_logprob=_rounded(getattr(piece, "avg_logprob", None)),
            no_speech_prob=_rounded(getattr(piece, "no_speech_prob", None)),
            compression_ratio=_rounded(getattr(piece, "compression_ratio", None)),
            words=part,
        )


def _rounded(figure: float | None) -> float | None:
    return None if figure is None else round(float(figure), 3)


def _speech_spans(samples: np.ndarray) -> list[Span]:
    """Where the voice detector hears speech, in seconds (faster-whisper's own VAD, default options)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE)
            for span in get_speech_timestamps(samples, VadOptions(speech_pad_ms=0))]


def _overlap(spans: list[Span], start: float, end: float) -> float:
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)


def _unheard(segments: list[Segment], samples: np.ndarray, offset: float) -> list[Span]:
    """Stretches of a track's speech that no segment covers (``offset``: the track's start in the recording;
    recording seconds): at least :data:`LONGEST_WORD_S` of speech between two segments, more than a word's
    timing can be off by. Only the gaps are run through the voice detector."""
    gaps: list[Span] = []
    covered = offset
    for segment in sorted(segments, key=lambda s: s.start):
        gaps.append((covered, segment.start))
        covered = max(covered, segment.end)
    gaps.append((covered, offset + len(samples) / SAMPLE_RATE))
    found: list[Span] = []
    for a, b in gaps:
        if b - a < LONGEST_WORD_S:
            continue
        gap = samples[int((a - offset) * SAMPLE_RATE) : int((b - offset) * SAMPLE_RATE)]
        spans = [(a + x, a + y) for x, y in _speech_spans(gap)]
        if _overlap(spans, a, b) >= LONGEST_WORD_S:
            found.append((spans[0][0], spans[-1][1]))
    return found


def split_at_pauses(words: list[Word]) -> list[list[Word]]:
    """Whisper's segment cut where the speaker paused: a new segment after a gap of ``PAUSE_S``,
    or of ``SENTENCE_PAUSE_S`` after a full stop or question mark.

    VAD joins the speech it keeps, so one Whisper segment can span a long pause, and on a
    two-track recording the other person's whole turn; cut there, each segment is one
    stretch of one voice and its times say when it was spoken.
    """
    parts: list[list[Word]] = [[]]
    for word in words:
        last = parts[-1][-1] if parts[-1] else None
        if last is not None:
            gap = word.start - last.end
            if gap >= PAUSE_S or (gap >= SENTENCE_PAUSE_S and last.text.rstrip().endswith((".", "?", "!"))):
                parts.append([])
        parts[-1].append(word)
    return [part for part in parts if part]


def _stop_if(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise AudioError("transcription cancelled; nothing was saved. Start it again when ready")


def make_transcriber(settings: Settings) -> Transcriber:
    """Whisper on this machine, or the speech server on localhost that settings name."""
    if settings.transcription_url:
        from assistant.transcription_server import ServerTranscriber

        return ServerTranscriber(settings)
    return WhisperTranscriber(settings)


def describe(transcript: Transcript) -> dict[str, Any]:
    """A one-line summary for logs and benchmarks (no transcript text: it is personal data)."""
    return {
        "duration": transcript.duration,
        "segments": len(transcript.segments),
        "low_confidence": sum(s.low_confidence for s in transcript.segments),
        "warnings": len(transcript.warnings),
    }
