"""Plain typed records that flow through the assistant.

The UI and the CLI only ever see these, never a library's own objects. Their JSON
form (``model_dump(mode="json")``) is the CLI contract in DESIGN.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Speaker = Literal["OT", "client", "other", "unknown"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ── transcription ───────────────────────────────────────────────────────────


class Word(Record):
    start: float
    end: float
    text: str
    probability: float | None = Field(default=None, description="None when the engine gives none.")


class Segment(Record):
    id: int
    start: float
    end: float
    text: str
    speaker: Speaker = "unknown"
    speaker_inferred: bool = Field(default=True, description="True when the label was guessed, not measured.")
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    low_confidence: bool = False
    review_reason: str | None = Field(default=None, description="Why the OT should check this segment.")
    channel: int | None = Field(default=None, description="Stereo channel (0 left, 1 right) the voice came from.")
    words: list[Word] | None = None

    @field_validator("speaker", mode="before")
    @classmethod
    def _speaker_in_any_case(cls, value: Any) -> Any:
        """A label in any case ("Client", "ot") or a word the plain-text reader takes ("Carer") is read as
        that reader reads it; anything else is refused."""
        if isinstance(value, str):
            return SPEAKER_LABELS.get(value.strip().lower(), value)
        return value


class Transcript(Record):
    text: str
    duration: float
    language: str
    model: str
    segments: list[Segment]
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> Transcript:
        """A typed or pasted transcript: one segment a non-empty line, speakers from 'OT:' style prefixes."""
        segments: list[Segment] = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            speaker: Speaker = "unknown"
            head, sep, rest = line.partition(":")
            if line.startswith("[") and "]" in line[:24]:  # ACI-Bench style: "[doctor] text"
                head, sep, rest = line.partition("]")
                head += "]"
            if sep and len(head) <= 24:
                label = head.strip().lower()
                mapped = SPEAKER_PREFIXES.get(label)
                if mapped is not None:
                    speaker, line = mapped, rest.strip()
            segments.append(
                Segment(id=len(segments), start=0.0, end=0.0, text=line, speaker=speaker, speaker_inferred=False)
            )
        return cls(
            text=" ".join(s.text for s in segments),
            duration=0.0,
            language="en",
            model="text",
            segments=segments,
        )


SPEAKER_PREFIXES: dict[str, Speaker] = {
    "ot": "OT",
    "therapist": "OT",
    "occupational therapist": "OT",
    "doctor": "OT",
    "clinician": "OT",
    "[doctor]": "OT",
    "client": "client",
    "patient": "client",
    "[patient]": "client",
    "[patient_guest]": "other",
    "carer": "other",
    "family": "other",
    "daughter": "other",
    "son": "other",
    "wife": "other",
    "husband": "other",
    "other": "other",
}
# every speaker label a transcript's JSON may give, lower-cased: the four speakers and the plain-text prefixes
SPEAKER_LABELS: dict[str, Speaker] = {label: s for label, s in SPEAKER_PREFIXES.items() if not label.startswith("[")}
SPEAKER_LABELS["unknown"] = "unknown"


# ── redaction ───────────────────────────────────────────────────────────────


# How a redacted detail reads in a text: "[PERSON_1]", "[NHS_NUMBER_2]".
PLACEHOLDER = re.compile(r"\[[A-Z_]+_\d+\]")


class Finding(Record):
    """One piece of personal data found in a text; offsets index the input."""

    type: str
    start: int
    end: int
    score: float
    placeholder: str


class Redaction(Record):
    text: str
    entities: list[Finding]
    # placeholder -> original value. Kept in the local store only; never sent anywhere.
    mapping: dict[str, str] = Field(default_factory=dict, exclude=True)


# ── drafting ────────────────────────────────────────────────────────────────


class Evidence(Record):
    segment: int
    quote: str
    verified: bool = True


class Statement(Record):
    text: str
    evidence: list[Evidence]
    flagged: str | None = Field(default=None, description="Why the OT must check this statement, if anything.")


class Section(Record):
    id: str
    title: str
    text: str
    evidence: list[Evidence] = Field(default_factory=list)
    statements: list[Statement] = Field(default_factory=list)
    status: Literal["drafted", "not_discussed", "for_ot"] = "drafted"


class Goal(Record):
    text: str
    activity: str
    measure: str
    support: str
    timeframe: str
    evidence: list[Evidence] = Field(default_factory=list)
    flagged: str | None = None


class Draft(Record):
    template: str
    template_version: str = "1"
    sections: list[Section]
    goals: list[Goal] = Field(default_factory=list)
    drafter: str = "offline"
    warnings: list[str] = Field(default_factory=list)
    usage: dict[str, float] = Field(default_factory=dict)


# ── signposting ─────────────────────────────────────────────────────────────


class Location(Record):
    name: str = ""
    address: str = ""
    town: str = ""
    postcode: str = ""
    latitude: float | None = None
    longitude: float | None = None


class Schedule(Record):
    days: list[str] = Field(default_factory=list, description="MO TU WE TH FR SA SU")
    start_time: str | None = Field(default=None, description="HH:MM")
    end_time: str | None = None
    frequency: str = ""
    on: date | None = Field(default=None, description="the date of a one-off session (frequency 'once')")
    description: str = ""


class CostOption(Record):
    option: str = ""
    amount: float | None = None
    description: str = ""


class Activity(Record):
    """One activity a person could join; maps Open Referral UK 3.0 and OpenActive 2.0."""

    id: str
    name: str
    description: str = ""
    activity_types: list[str] = Field(default_factory=list)
    organisation: str = ""
    location: Location = Field(default_factory=Location)
    schedules: list[Schedule] = Field(default_factory=list)
    costs: list[CostOption] = Field(default_factory=list)
    free: bool | None = None
    carer_free: bool | None = None
    min_age: int | None = None
    max_age: int | None = None
    gender: Literal["any", "female", "male"] = "any"
    level: str = ""
    accessibility: list[str] = Field(default_factory=list, description="hoist, changing_places, hearing_loop, ...")
    accessibility_notes: str = ""
    eligibility: str = ""
    contact: str = ""
    booking: str = ""
    quality_marks: list[str] = Field(default_factory=list)
    source: str = ""
    source_id: str = ""
    last_modified: str | None = None
    sample: bool = False


class Match(Record):
    """One activity returned for a question, with why it fits."""

    id: str
    name: str
    score: float
    why: str
    town: str = ""
    days: list[str] = Field(default_factory=list)
    times: str = ""
    cost: str = ""
    accessibility: list[str] = Field(default_factory=list)
    booking: str = ""
    source: str = Field(default="", description="The feed or file the record came from, e.g. 'csv:clubs.csv'.")
    directory_id: str = Field(
        default="", description="The id the local directory holds the record under: unique across feeds."
    )


class Answer(Record):
    answer: str
    results: list[Match]
    relaxations: list[str] = Field(default_factory=list)
