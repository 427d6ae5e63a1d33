"""Who said what: OT, client, or someone else (a carer or family member).

Two ways, best first:

* **Stereo, one voice per channel** (a lapel microphone each, or a phone call
  recorded on two tracks): each channel is transcribed on its own, so even
  overlapping speech is kept, and a voice that bleeds into the other microphone is
  kept only on the channel where it is louder. Who spoke is measured, so
  ``speaker_inferred`` is False; which channel is the OT is read from the text
  (the OT asks the questions).
* **Mono**: no speaker-embedding model ships inside a PyPI package that this
  project may install, so roles are inferred from the words (questions and
  introductions are the OT's, first-person answers the client's, "I'm her
  daughter" someone else's) and marked ``speaker_inferred=True`` for the OT to check.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.audio import FRAME_S, frame_rms
from assistant.records import Segment, Speaker, Transcript

__all__ = [
    "ChannelLoudness",
    "drop_crosstalk",
    "infer_roles",
    "label_by_channel",
    "relabel",
    "role_score",
]

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
