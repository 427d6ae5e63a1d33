"""Drafting an assessment note and SMART goals from a (redacted) transcript.

Two drafters behind one interface:

* :class:`OfflineDrafter` — the embedded default. Deterministic. It places what was
  said into the template's sections (MiniLM similarity plus cue words) and writes a
  statement only where a quote supports it. It never writes a fact that is not in
  the transcript; empty sections say "Not discussed".
* :class:`ModelDrafter` — a chat model through LangChain, asked for structured
  output. Its evidence is checked against the transcript and anything that does not
  check out is flagged, never silently kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from assistant.activities import activity_list
from assistant.chat import ChatModel
from assistant.embedding import Embedder
from assistant.records import Draft, Evidence, Goal, Section, Segment, Statement, Transcript
from assistant.templates import Template

NOT_DISCUSSED = "Not discussed"
FOR_OT = "For the OT to complete"
TO_AGREE = "[to agree]"

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])")
FILLER = re.compile(
    r"^(?:yes|yeah|no|ok|okay|right|mm+|hmm+|um+|er+|uh+|oh|well|sure|thanks?|thank you|lovely|great|good)\W*$",
    re.I,
)
WISH = re.compile(
    r"\b(?:i(?:'d| would) (?:really )?(?:love|like) to|i want to|i'd like to get|i wanna|get back to|"
    r"i (?:really )?miss|i'd love|my goal is|i(?:'m| am) hoping to|i hope to)\b",
    re.I,
)
FREQUENCY = re.compile(
    r"\b(?:(?:once|twice|one|two|three|four|five|\d+)\s+(?:times?\s+)?(?:a|per|each)\s+(?:week|fortnight|month|day)"
    r"|every\s+(?:week|day|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|for\s+(?:\d+|ten|fifteen|twenty|thirty|forty|forty-five|sixty)\s+minutes"
    r"|(?:\d+|ten|twenty|thirty)\s+lengths)\b",
    re.I,
)
SUPPORT = re.compile(
    r"\b(?:with (?:my |a |the )?(?:daughter|son|wife|husband|carer|partner|friend|hoist|pool pod|stick|frame"
    r"|help|support|someone))\b",
    re.I,
)
TIMEFRAME = re.compile(
    r"\b(?:by (?:the )?(?:summer|spring|autumn|winter|christmas|easter|end of \w+|next \w+)|"
    r"in (?:\d+|a few|a couple of|six|three|two) (?:weeks|months)|within (?:\d+|six|three|twelve) (?:weeks|months))\b",
    re.I,
)


class Drafter(Protocol):
    name: str

    def draft(self, transcript: Transcript, template: Template) -> Draft: ...


# ── evidence ────────────────────────────────────────────────────────────────


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[‘’]", "'", text)).strip().lower()


def verify_evidence(draft: Draft, transcript: Transcript) -> Draft:
    """Mark each quote found (or not) verbatim in its segment; flag statements with no verified evidence."""
    texts = {s.id: _norm(s.text) for s in transcript.segments}

    def check(items: list[Evidence]) -> list[Evidence]:
        return [
            e.model_copy(update={"verified": bool(e.quote.strip()) and _norm(e.quote) in texts.get(e.segment, "")})
            for e in items
        ]

    sections = []
    for section in draft.sections:
        statements = []
        for st in section.statements:
            evidence = check(st.evidence)
            flag = st.flagged
            if not any(e.verified for e in evidence):
                flag = "no quote in the transcript supports this statement: check or delete it"
            statements.append(st.model_copy(update={"evidence": evidence, "flagged": flag}))
        sections.append(
            section.model_copy(
                update={"statements": statements, "evidence": [e for st in statements for e in st.evidence]}
            )
        )
    goals = []
    for goal in draft.goals:
        evidence = check(goal.evidence)
        flag = goal.flagged
        if not any(e.verified for e in evidence):
            flag = "no quote in the transcript supports this goal: check or delete it"
        goals.append(goal.model_copy(update={"evidence": evidence, "flagged": flag}))
    return draft.model_copy(update={"sections": sections, "goals": goals})


# ── offline drafter ─────────────────────────────────────────────────────────


@dataclass
class Utterance:
    segment: Segment
    text: str


def split_utterances(transcript: Transcript) -> list[Utterance]:
    out = []
    for segment in transcript.segments:
        for sentence in SENTENCE_END.split(segment.text.strip()):
            sentence = sentence.strip()
            if sentence:
                out.append(Utterance(segment, sentence))
    return out


def _cue_pattern(cues: Sequence[str]) -> re.Pattern[str] | None:
    if not cues:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(c.lower()) for c in cues) + r")\b", re.I)


SPEAKER_NAME = {"OT": "OT", "client": "Client", "other": "Carer/family", "unknown": "Speaker"}


def statement_for(utterance: Utterance) -> Statement:
    """A concise statement that is the quote itself, attributed: it cannot say more than was said."""
    who = SPEAKER_NAME[utterance.segment.speaker]
    return Statement(
        text=f"{who}: “{utterance.text}”",
        evidence=[Evidence(segment=utterance.segment.id, quote=utterance.text)],
    )


class OfflineDrafter:
    """Deterministic, never invents: every statement is a quote placed in a section."""

    name = "offline"

    def __init__(self, embedder: Embedder, min_similarity: float = 0.28) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity

    def draft(self, transcript: Transcript, template: Template) -> Draft:
        utterances = [
            u
            for u in split_utterances(transcript)
            if len(u.text.split()) >= 4 and not FILLER.match(u.text) and not self._is_question_only(u)
        ]
        fillable = [s for s in template.sections if s.drafted_by == "transcript"]
        chosen: dict[str, list[tuple[float, int, Utterance]]] = {s.id: [] for s in fillable}
        if utterances and fillable:
            vectors = self.embedder.embed([u.text for u in utterances])
            anchors = self.embedder.embed([f"{s.title}: {s.description}" for s in fillable])
            similarity = vectors @ anchors.T
            cues = [_cue_pattern(s.cues) for s in fillable]
            for i, utterance in enumerate(utterances):
                scores = np.array(
                    [
                        similarity[i, j] + (0.15 * min(2, len(p.findall(utterance.text))) if p else 0.0)
                        for j, p in enumerate(cues)
                    ]
                )
                best = int(np.argmax(scores))
                if scores[best] >= self.min_similarity:
                    chosen[fillable[best].id].append((float(scores[best]), i, utterance))

        goals = self._goals(transcript, template) if template.goals else []
        sections: list[Section] = []
        for spec in template.sections:
            if spec.drafted_by == "ot":
                sections.append(Section(id=spec.id, title=spec.title, text=FOR_OT, status="for_ot"))
                continue
            if spec.drafted_by == "goals":
                text = "\n".join(f"- {g.text}" for g in goals) if goals else NOT_DISCUSSED
                sections.append(
                    Section(
                        id=spec.id,
                        title=spec.title,
                        text=text,
                        evidence=[e for g in goals for e in g.evidence],
                        status="drafted" if goals else "not_discussed",
                    )
                )
                continue
            picked = sorted(chosen.get(spec.id, []), key=lambda t: (-t[0], t[1]))[: spec.max_statements]
            picked.sort(key=lambda t: t[1])
            statements = [statement_for(u) for _, _, u in picked]
            if statements:
                sections.append(
                    Section(
                        id=spec.id,
                        title=spec.title,
                        text="\n".join(s.text for s in statements),
                        statements=statements,
                        evidence=[e for s in statements for e in s.evidence],
                    )
                )
            else:
                sections.append(Section(id=spec.id, title=spec.title, text=NOT_DISCUSSED, status="not_discussed"))
        draft = Draft(template=template.id, template_version=template.version, sections=sections, goals=goals)
        return verify_evidence(draft, transcript)

    @staticmethod
    def _is_question_only(utterance: Utterance) -> bool:
        return utterance.segment.speaker == "OT" and utterance.text.rstrip().endswith("?")

    def _goals(self, transcript: Transcript, template: Template) -> list[Goal]:
        """SMART goals from what the person says they want; unknown parts stay visible placeholders."""
        goals: list[Goal] = []
        seen: set[str] = set()
        activities = activity_list()
        for utterance in split_utterances(transcript):
            if utterance.segment.speaker == "OT" or not WISH.search(utterance.text):
                continue
            found = activities.find(utterance.text)
            if not found:
                continue
            activity = found[0].label
            if activity in seen:
                continue
            seen.add(activity)
            measure = _first(FREQUENCY, utterance.text) or f"{TO_AGREE}: how often and for how long"
            support = _first(SUPPORT, utterance.text) or f"{TO_AGREE}: support needed"
            timeframe = _first(TIMEFRAME, utterance.text) or f"{TO_AGREE}: by when"
            goals.append(
                Goal(
                    text=f"To take part in {activity.lower()} ({measure}), {support}, {timeframe}.",
                    activity=activity,
                    measure=measure,
                    support=support,
                    timeframe=timeframe,
                    evidence=[Evidence(segment=utterance.segment.id, quote=utterance.text)],
                )
            )
        return goals


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(0) if match else None


# ── model drafter ───────────────────────────────────────────────────────────


class _EvidenceOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    segment: int
    quote: str


class _StatementOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str
    evidence: list[_EvidenceOut] = Field(default_factory=list)


class _SectionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    text: str = ""
    statements: list[_StatementOut] = Field(default_factory=list)


class _GoalOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str
    activity: str
    measure: str = TO_AGREE
    support: str = TO_AGREE
    timeframe: str = TO_AGREE
    evidence: list[_EvidenceOut] = Field(default_factory=list)


class DraftOut(BaseModel):
    """What a chat model must return."""

    model_config = ConfigDict(extra="ignore")
    sections: list[_SectionOut]
    goals: list[_GoalOut] = Field(default_factory=list)


def transcript_lines(transcript: Transcript) -> str:
    return "\n".join(f"[{s.id}] {SPEAKER_NAME[s.speaker]}: {s.text}" for s in transcript.segments)


class ModelDrafter:
    """A chat model drafts; only redacted text goes in; evidence is checked on the way out."""

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat
        self.name = chat.name

    def draft(self, transcript: Transcript, template: Template) -> Draft:
        sections_text = "\n".join(f"{s.id}: {s.title} — {s.description}" for s in template.sections)
        system, user = template.prompt.render(transcript=transcript_lines(transcript), sections=sections_text)
        out = self.chat.structured(system, user, DraftOut)
        by_id = {s.id: s for s in out.sections}
        sections: list[Section] = []
        warnings: list[str] = []
        for spec in template.sections:
            got = by_id.get(spec.id)
            if spec.drafted_by == "ot":
                sections.append(Section(id=spec.id, title=spec.title, text=FOR_OT, status="for_ot"))
                continue
            if got is None or (not got.statements and spec.drafted_by != "goals"):
                if got is None:
                    warnings.append(f"the model returned no '{spec.id}' section")
                sections.append(Section(id=spec.id, title=spec.title, text=NOT_DISCUSSED, status="not_discussed"))
                continue
            statements = [
                Statement(text=st.text, evidence=[Evidence(segment=e.segment, quote=e.quote) for e in st.evidence])
                for st in got.statements
            ]
            sections.append(
                Section(
                    id=spec.id,
                    title=spec.title,
                    text=got.text or "\n".join(s.text for s in statements),
                    statements=statements,
                )
            )
        goals = [
            Goal(
                text=g.text,
                activity=g.activity,
                measure=g.measure,
                support=g.support,
                timeframe=g.timeframe,
                evidence=[Evidence(segment=e.segment, quote=e.quote) for e in g.evidence],
            )
            for g in out.goals
        ]
        usage = self.chat.usage
        draft = Draft(
            template=template.id,
            template_version=template.version,
            sections=sections,
            goals=goals,
            drafter=self.name,
            warnings=warnings,
            usage={
                "calls": usage.calls,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "seconds": round(usage.seconds, 3),
            },
        )
        return verify_evidence(draft, transcript)
