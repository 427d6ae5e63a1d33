"""The golden set of synthetic OT initial-assessment conversations (``evals/data/ot/*.yaml``).

Each case is one conversation written in speech-recognition style, the case details a
redactor should find, the facts a good draft must hold (goals, key issues, risks,
baselines), planted false facts that must never appear (``must_not``), and a reference
note for ROUGE. Every quote in the facts is checked against the transcript when a case is
loaded, so a typo in the data fails loudly instead of quietly lowering a score.

All people, addresses and numbers are fictional: NHS numbers come from the 999 test range,
phone numbers from Ofcom's drama ranges (07700 900xxx, 01632 960xxx).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import BadInput
from assistant.records import Segment, Speaker, Transcript

__all__ = [
    "DEFAULT_FOLDER",
    "CaseDetails",
    "Fact",
    "Facts",
    "GoalFact",
    "GoldenCase",
    "GoldenCaseError",
    "MustNot",
    "Turn",
    "load_case",
    "load_cases",
    "make_nhs_number",
    "nhs_number_valid",
]

DEFAULT_FOLDER = Path("evals/data/ot")
SECONDS_PER_TURN = 10.0

SectionId = Literal[
    "referral",
    "history",
    "occupational_profile",
    "what_matters",
    "personal_care",
    "mobility_transfers",
    "meals_domestic",
    "community_access",
    "communication",
    "cognition_mood",
    "environment",
    "risk",
    "baselines",
]
TurnSpeaker = Literal["OT", "Client", "Carer"]
SPEAKERS: dict[str, Speaker] = {"OT": "OT", "Client": "client", "Carer": "other"}


class GoldenCaseError(BadInput):
    """A golden case file is malformed or its facts do not match its transcript."""


# ── NHS numbers ─────────────────────────────────────────────────────────────


def _nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when no valid number exists."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_number_valid(text: str) -> bool:
    """True for ten digits (any spacing) whose last digit is the modulus-11 check digit."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) != 10 or re.fullmatch(r"[\d\s-]+", text.strip()) is None:
        return False
    return _nhs_check_digit(digits[:9]) == int(digits[9])


def make_nhs_number(first_nine: str) -> str:
    """A valid NHS number ('999 123 4567' style) from nine digits; use the 999 test range for fiction."""
    if re.fullmatch(r"\d{9}", first_nine) is None:
        raise ValueError(f"need exactly nine digits, got {first_nine!r}")
    check = _nhs_check_digit(first_nine)
    if check is None:
        raise ValueError(f"{first_nine} has no valid check digit; change the last digit and try again")
    digits = f"{first_nine}{check}"
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


# ── the file's shape ────────────────────────────────────────────────────────


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Turn(_Model):
    speaker: TurnSpeaker
    text: str = Field(min_length=1)


class CaseDetails(_Model):
    name: str
    preferred_name: str
    date_of_birth: str = Field(description="DD/MM/YYYY")
    address: str
    postcode: str
    nhs_number: str
    phone: str
    carers: list[str] = Field(default_factory=list)

    @field_validator("date_of_birth")
    @classmethod
    def _uk_date(cls, value: str) -> str:
        try:
            datetime.strptime(value, "%d/%m/%Y")
        except ValueError:
            raise ValueError(f"date_of_birth {value!r} must be DD/MM/YYYY, e.g. 14/03/1957") from None
        return value

    @field_validator("nhs_number")
    @classmethod
    def _nhs_mod11(cls, value: str) -> str:
        if not nhs_number_valid(value):
            raise ValueError(
                f"nhs_number {value!r} fails the modulus-11 check; "
                "make one with assistant.evaluation.golden.make_nhs_number('999xxxxxx')"
            )
        return value

    @property
    def birth_date(self) -> date:
        return datetime.strptime(self.date_of_birth, "%d/%m/%Y").date()


class GoalFact(_Model):
    """What the person wants to get back to, and their own words for it."""

    activity: str
    says: str = Field(description="verbatim words from one Client turn")


class Fact(_Model):
    section: SectionId
    fact: str
    quote: str = Field(description="verbatim words from one transcript turn")


class MustNot(_Model):
    """A plausible but false fact; any pattern matching a lower-cased draft means it was invented."""

    fact: str
    patterns: list[str] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _lowercase_regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if pattern != pattern.lower():
                raise ValueError(f"pattern {pattern!r} must be lower case (drafts are lower-cased before matching)")
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {error}") from None
        return patterns

    def found_in(self, text: str) -> list[str]:
        """The patterns that match ``text`` (lower-cased); empty when the false fact is absent."""
        lowered = text.lower()
        return [p for p in self.patterns if re.search(p, lowered)]


class Facts(_Model):
    goals: list[GoalFact] = Field(min_length=1)
    key_issues: list[Fact] = Field(min_length=1)
    risks: list[Fact] = Field(default_factory=list)
    baselines: list[Fact] = Field(default_factory=list)
    must_not: list[MustNot] = Field(min_length=3, max_length=6)


class GoldenCase(_Model):
    id: str
    title: str
    condition: str
    template: Literal["ot_initial_assessment"]
    adversarial: str | None = Field(default=None, description="the trap this case sets for a drafter, if any")
    case_details: CaseDetails
    transcript: list[Turn] = Field(min_length=2)
    facts: Facts
    reference_note: str = Field(min_length=1)

    def to_transcript(self) -> Transcript:
        """The conversation as the assistant's own record: one segment a turn, ids 0..n-1, 10 s a turn."""
        segments = [
            Segment(
                id=index,
                start=index * SECONDS_PER_TURN,
                end=index * SECONDS_PER_TURN + SECONDS_PER_TURN - 0.5,
                text=turn.text,
                speaker=SPEAKERS[turn.speaker],
                speaker_inferred=False,
            )
            for index, turn in enumerate(self.transcript)
        ]
        return Transcript(
            text=" ".join(turn.text for turn in self.transcript),
            duration=len(self.transcript) * SECONDS_PER_TURN,
            language="en",
            model=f"golden:{self.id}",
            segments=segments,
        )

    def known_identifiers(self) -> list[str]:
        """Direct identifiers a redactor must remove: names (and their parts), DOB, address, postcode, NHS, phone."""
        details = self.case_details
        values = [details.name, *details.name.split(), details.preferred_name, details.date_of_birth]
        values += [details.address, details.postcode, details.nhs_number, details.phone]
        for carer in details.carers:
            values += [carer, *carer.split()]
        unique: list[str] = []
        for value in values:
            if value and value not in unique:
                unique.append(value)
        return unique

    def all_facts(self) -> list[Fact]:
        return [*self.facts.key_issues, *self.facts.risks, *self.facts.baselines]

    def turn_of(self, quote: str) -> int:
        """The id of the first turn holding ``quote`` verbatim, or -1."""
        return next((i for i, turn in enumerate(self.transcript) if quote in turn.text), -1)

    def problems(self) -> list[str]:
        """Everything wrong with the case's data, each saying how to fix it; empty when the case is sound."""
        found: list[str] = []
        for index, goal in enumerate(self.facts.goals):
            if not any(goal.says in t.text for t in self.transcript if t.speaker == "Client"):
                found.append(
                    f"facts.goals[{index}].says {goal.says!r} is not verbatim in any Client turn; "
                    "copy the words exactly from what the client said"
                )
        for group in ("key_issues", "risks", "baselines"):
            for index, fact in enumerate(getattr(self.facts, group)):
                if self.turn_of(fact.quote) < 0:
                    found.append(
                        f"facts.{group}[{index}].quote {fact.quote!r} is not verbatim in any transcript turn; "
                        "copy the words exactly from one turn"
                    )
        for index, item in enumerate(self.facts.must_not):
            hits = item.found_in(self.reference_note)
            if hits:
                found.append(
                    f"facts.must_not[{index}] ({item.fact!r}) matches the reference note via {hits}; "
                    "fix the note or narrow the pattern"
                )
        for value in self.known_identifiers():
            if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", self.reference_note):
                found.append(
                    f"reference_note contains the identifier {value!r}; write the note without direct identifiers"
                )
        return found


# ── loading ─────────────────────────────────────────────────────────────────


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def load_case(path: Path | str) -> GoldenCase:
    """Read and validate one case file; raise `GoldenCaseError` naming the file and the fix."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise GoldenCaseError(f"{path}: cannot read the golden case ({error.strerror}); check the path") from None
    except yaml.YAMLError as error:
        raise GoldenCaseError(f"{path}: not valid YAML ({error}); fix the quoting on that line") from None
    if not isinstance(raw, dict):
        raise GoldenCaseError(f"{path}: a golden case must be a YAML mapping with id, transcript, facts, ...")
    try:
        case = GoldenCase.model_validate(raw)
    except ValidationError as error:
        details = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in error.errors())
        raise GoldenCaseError(f"{path}: {details}") from None
    problems = case.problems()
    if problems:
        raise GoldenCaseError(f"{path}: " + "; ".join(problems))
    return case


def load_cases(folder: Path | str = DEFAULT_FOLDER) -> list[GoldenCase]:
    """Every ``*.yaml`` case in ``folder``, sorted by file name, with unique ids."""
    folder = Path(folder)
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise GoldenCaseError(f"no golden cases (*.yaml) in {folder}; run from the repository root or pass the folder")
    cases = [load_case(path) for path in paths]
    seen: dict[str, Path] = {}
    for case, path in zip(cases, paths, strict=True):
        if case.id in seen:
            raise GoldenCaseError(
                f"{path}: id {case.id!r} is already used by {seen[case.id]}; give each case its own id"
            )
        seen[case.id] = path
    return cases
