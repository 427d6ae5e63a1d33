"""Drafting an assessment note and SMART goals from a (redacted) transcript.

Two drafters behind one interface:

* :class:`OfflineDrafter` — the embedded default. Deterministic. It places what was
  said into the template's sections (MiniLM similarity plus cue words) and writes a
  statement only where a quote supports it. It never writes a fact that is not in
  the transcript; empty sections say "Not discussed".
* :class:`ModelDrafter` — a chat model through LangChain, asked for structured
  output. Its evidence is checked against the transcript and anything that does not
  check out is flagged, never silently kept; section text is rebuilt from the checked statements.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.activities import Concept, activity_list
from assistant.chat import ChatModel
from assistant.embedding import Embedder
from assistant.errors import BadInput
from assistant.records import PLACEHOLDER, Draft, Evidence, Goal, Section, Segment, Statement, Transcript
from assistant.spoken_numbers import DIGITS, TEENS, TENS
from assistant.templates import Template

T = TypeVar("T", bound=BaseModel)

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
    r"|(?:\d+|a few|a couple of|ten|twenty|thirty)\s+lengths)\b",
    re.I,
)
SUPPORT = re.compile(
    r"\b(?:with (?:my |a |the )?(?:daughter|son|wife|husband|carer|partner|friend|hoist|pool pod|stick|frame"
    r"|help|support|someone)|on (?:my|his|her|their) own|by (?:myself|himself|herself|themselves)"
    r"|independently|without (?:any )?help)\b",
    re.I,
)
TIMEFRAME = re.compile(
    r"\b(?:(?:by|in|before|for) (?:the (?:start|end) of )?(?:the )?(?:january|february|march|april|may|june|july"
    r"|august|september|october|november|december|spring|summer|autumn|winter|christmas|easter|new year|season)"
    r"|by (?:the )?(?:end of \w+|next \w+)"
    r"|in (?:\d+|a few|a couple of|six|three|two|four) (?:weeks|months)"
    r"|within (?:\d+|six|three|twelve) (?:weeks|months))\b",
    re.I,
)


class Drafter(Protocol):
    name: str

    def draft(self, transcript: Transcript, template: Template) -> Draft: ...


# ── evidence ────────────────────────────────────────────────────────────────

UNSUPPORTED_MARK = "[check: no quote supports this]"
ONLY_QUESTION = "only the OT's question supports this {what}: check what the person said, or delete it"
NO_QUOTE = "no quote in the transcript supports this {what}: check or delete it"
QUOTE_MIN_WORDS = 3  # a quote of fewer words must hold at least one distinctive word
_QUOTE_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_SENTENCE_SPAN = re.compile(r"[^.!?]+[.!?]*")
# Words too common to support anything on their own ("I", "a", "the", "yes"): a quote of one or two
# words must hold a word outside this list (a number, a name, "bungalow", "bowls").
_COMMON = """
    a an the i i'm i've i'd i'll me my mine myself you you're your yours he he's him his she she's her hers it it's
    its we we're us our they they're them their this that these those there here who what when where why how which
    and or but so if then than as because cos not no nor yes yeah yep ok okay oh ah er um well just very really quite
    too also all any some each both more most much many such only own same other again once now still even
    is am are was were be been being do does did done doing have has had having will would can could shall should
    may might must get got go going went come came say said says tell told know think see
    to of in on at by for with from up down out off over under about into onto through after before like
    mm hmm right sure thanks thank bit lot thing things one
"""
COMMON_WORDS = frozenset(_COMMON.split())


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[‘’]", "'", text)).strip().lower()


def quote_is_meaningful(quote: str) -> bool:
    """A quote that can support a statement: three words or more, or a distinctive word ("I" or "a" cannot)."""
    words = _QUOTE_WORD.findall(_norm(quote))
    if len(words) >= QUOTE_MIN_WORDS:
        return True
    return any(w not in COMMON_WORDS and (len(w) >= 3 or w.isdigit()) for w in words)


def _quote_pattern(quote: str) -> re.Pattern[str] | None:
    """The normalised quote, matched only on word boundaries ("falls" is not found inside "befalls")."""
    wanted = _norm(quote)
    if not wanted:
        return None
    head = r"(?<!\w)" if re.match(r"\w", wanted) else ""
    tail = r"(?!\w)" if re.search(r"\w$", wanted) else ""
    return re.compile(head + re.escape(wanted) + tail)


def _matches(pattern: re.Pattern[str] | None, segment: Segment | None) -> list[tuple[int, int]]:
    if pattern is None or segment is None:
        return []
    return [m.span() for m in pattern.finditer(_norm(segment.text))]


def _only_asks(segment: Segment, spans: list[tuple[int, int]]) -> bool:
    """Every place the quote is found lies inside a question the OT asked: it asserts nothing about the person."""
    if segment.speaker != "OT" or not spans:
        return False
    text = _norm(segment.text)
    questions = [m.span() for m in _SENTENCE_SPAN.finditer(text) if m.group().rstrip().endswith("?")]
    return all(any(qs <= s and e <= qe for qs, qe in questions) for s, e in spans)


def check_quote(evidence: Evidence, segments: dict[int, Segment]) -> tuple[bool, bool]:
    """(verified, supports): the quote is meaningful and found on word boundaries in the segment it cites;
    and it asserts something, i.e. it is not only (part of) a question the OT asked."""
    segment = segments.get(evidence.segment)
    if segment is None or not quote_is_meaningful(evidence.quote):
        return False, False
    spans = _matches(_quote_pattern(evidence.quote), segment)
    if not spans:
        return False, False
    return True, not _only_asks(segment, spans)


# Numbers and dates a statement or goal gives must be in the segments it quotes: a model's "walks 500 yards"
# on "I can walk about two hundred yards", or "by June" nobody said, is flagged.
NOT_SAID = "the {what} says {figures}, which the segments it quotes do not say: check it or correct it"
_FIGURE_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+")
_CARDINALS = {w: n for n, w in enumerate(DIGITS + TEENS)} | {w: 10 * n for n, w in enumerate(TENS, 2)}
_SCALES = {"hundred": 100, "thousand": 1000}
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
# words a speaker may use for a number that a written statement is not read for ("one" is also a pronoun)
_SAID_ONLY = {"once": 1, "one": 1, "dozen": 12} | {w: n for n, w in enumerate(_ORDINALS, 1)}
_DATE_WORDS = frozenset(
    (
        "january", "february", "march", "april", "june", "july", "august", "september", "october", "november",
        "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "spring",
        "summer", "autumn", "winter", "christmas", "easter",
    )
)  # fmt: skip


def _figures(text: str, said: bool) -> dict[str, str]:
    """The numbers (as digits) and date words in a text, each with how it was written. ``said``: the text is
    what was said, so read every reading of a number ("forty five" is 45, and 40 and 5)."""
    found: dict[str, str] = {}
    run: list[tuple[str, int]] = []

    def flush() -> None:
        if run and (said or [w for w, _ in run] != ["one"]):
            total = current = 0
            for _, value in run:
                if value in _SCALES.values():
                    current = max(current, 1) * value
                    if value >= 1000:
                        total, current = total + current, 0
                else:
                    current += value
            found.setdefault(str(total + current), " ".join(w for w, _ in run))
            if said:
                for word, value in run:
                    found.setdefault(str(value), word)
        run.clear()

    for token in _FIGURE_TOKEN.findall(_norm(PLACEHOLDER.sub(" ", text))):
        value = _CARDINALS.get(token, _SCALES.get(token))
        if value is None and token == "twice":
            value = 2
        if value is None and said:
            value = _SAID_ONLY.get(token)
        if value is not None:
            run.append((token, value))
            continue
        flush()
        if token[0].isdigit():
            number = float(token.replace(",", ""))
            found.setdefault(f"{number:g}", token)
        elif token in _DATE_WORDS:
            found.setdefault(token, token)
    flush()
    return found


def _not_said(claim: str, said: list[str]) -> list[str]:
    """What the claim gives as a number or date that none of the ``said`` texts says."""
    heard: set[str] = set()
    for text in said:
        heard.update(_figures(text, said=True))
    return [written for value, written in _figures(claim, said=False).items() if value not in heard]


def verify_evidence(draft: Draft, transcript: Transcript) -> Draft:
    """Mark each quote verified (or not) and flag statements and goals that nothing said supports.

    A quote is verified when it is meaningful (at least three words, or a distinctive word: never
    "I" or "a") and found verbatim, on word boundaries, in the segment it cites. A statement or goal
    needs at least one verified quote that asserts it: a question the OT asked ("Any falls this
    year?") is kept as context but supports nothing on its own. The OT's own statements (a referral
    they read out, an observation, the plan) do count. A supported statement or goal is still flagged when it
    gives a number or a date (a month, a day, a season) that none of the segments it quotes says.
    """
    segments = {s.id: s for s in transcript.segments}

    def check(items: list[Evidence], what: str, flag: str | None, claim: str) -> tuple[list[Evidence], str | None]:
        results = [check_quote(e, segments) for e in items]
        evidence = [e.model_copy(update={"verified": ok}) for e, (ok, _) in zip(items, results, strict=True)]
        if not any(supports for _, supports in results):
            asked = any(ok for ok, _ in results)
            flag = (ONLY_QUESTION if asked else NO_QUOTE).format(what=what)
        elif flag is None:
            unsaid = _not_said(claim, [segments[e.segment].text for e in evidence if e.verified])
            if unsaid:
                flag = NOT_SAID.format(what=what, figures=", ".join(f"'{w}'" for w in unsaid))
        return evidence, flag

    sections = []
    for section in draft.sections:
        statements = []
        for st in section.statements:
            evidence, flag = check(st.evidence, "statement", st.flagged, st.text)
            statements.append(st.model_copy(update={"evidence": evidence, "flagged": flag}))
        sections.append(
            section.model_copy(
                update={"statements": statements, "evidence": [e for st in statements for e in st.evidence]}
            )
        )
    goals = []
    for goal in draft.goals:
        # the goal as the note states it, with its measure, support and time frame (a model may put a
        # figure in those alone), less its activity's name ("5-a-side" is no number anyone gave)
        stated = " ".join([goal.text, goal.measure, goal.support, goal.timeframe])
        claim = re.sub(re.escape(goal.activity), " ", stated, flags=re.I) if goal.activity.strip() else stated
        evidence, flag = check(goal.evidence, "goal", goal.flagged, claim)
        goals.append(goal.model_copy(update={"evidence": evidence, "flagged": flag}))
    return draft.model_copy(update={"sections": sections, "goals": goals})


def _line(text: str, flagged: str | None) -> str:
    return f"{UNSUPPORTED_MARK} {text}" if flagged else text


def compose_texts(draft: Draft, goal_sections: Collection[str] = ("goals",)) -> Draft:
    """Write each drafted section's text from its checked statements (and a goals section from the goals).

    The text is what the UI, the review screen and the exports show, so it never says more than the
    statements do: one line a statement, and a statement (or goal) that nothing said supports keeps its
    line, marked ``[check: no quote supports this]`` so the OT and the supervisor see it for what it is.
    A section left with nothing is "Not discussed". Sections for the OT are left as they are.
    """
    sections = []
    for section in draft.sections:
        if section.status == "for_ot":
            sections.append(section)
            continue
        lines = [f"- {_line(g.text, g.flagged)}" for g in draft.goals] if section.id in goal_sections else []
        lines += [_line(st.text, st.flagged) for st in section.statements]
        if lines:
            sections.append(section.model_copy(update={"text": "\n".join(lines), "status": "drafted"}))
        else:
            sections.append(section.model_copy(update={"text": NOT_DISCUSSED, "status": "not_discussed"}))
    return draft.model_copy(update={"sections": sections})


def _says_more(text: str, section: Section) -> bool:
    """Whether a model's own section text holds a sentence that none of the shown statements or goals says."""
    shown = _norm(section.text)
    for sentence in split_sentences(re.sub(r"(?m)^\s*[-*•]\s*", "", text)):
        said = _norm(sentence).rstrip(".;:!? ")
        if said and said != _norm(NOT_DISCUSSED) and said not in shown:
            return True
    return False


# ── offline drafter ─────────────────────────────────────────────────────────

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
ABBREVIATION = re.compile(r"(?:^|\s)(?:mr|mrs|ms|dr|st|prof|vs|etc|approx|e\.g|i\.e)\.$", re.I)
# Clean verbatim: hesitations, cut-off words and stutters are deleted; nothing is ever added.
DISFLUENCY = re.compile(r"(?<![\w'-])(?:uh|um+|uhm|erm|er|ah|hmm+|mm+|mhm|uh-huh|mm-hmm)(?![\w'-])[\s,.]*", re.I)
# A cut-off word is deleted only where the speaker restarts it ("we- we're", "wh- what"); a suspended
# hyphen ("a two- or three-minute walk") is what was said and stays.
CUT_OFF = re.compile(r"(?<![\w'-])([\w']+)-\s+(?=\1)", re.I)
# A stutter is a repeated function word ("I I", "the the", "to, to"); "Will will", "had had" and
# "that that", "is is", "so so" and "there there" can be what was meant, so other repeats stay.
STUTTER_WORDS = (
    "i|i'm|i've|i'd|i'll|a|an|the|and|but|or|to|of|in|on|at|for|with|my|me|we|we're|you|your|he|she|it|it's|"
    "they|them|this|if|because|cos|just|um|er|uh"
)
STUTTER = re.compile(rf"(?<![\w'])({STUTTER_WORDS})(?:\s*,)?\s+\1(?![\w'])", re.I)
YOU_KNOW = re.compile(r",\s*you know\s*,", re.I)
# A client sentence led by "she"/"he" or "my friend/sister/...": about someone else, not the person.
SOMEONE_ELSE = re.compile(
    r"^(?:(?:and|but|oh|well|so|now|no|yes|yeah|because|cos)\W+)*"
    r"(?:she|he|my (?:friend|mate|sister|brother|neighbour|cousin|aunt|auntie|uncle|nan|gran|grandad|grandma))\b",
    re.I,
)
# A carer saying what the person wants: wishes come only from the person's own words.
PROXY_WISH = re.compile(
    r"\b(?:he|she)(?:'d| would| does| doesn't| does not| don't| won't| wouldn't| no longer)?"
    r"\s+(?:really\s+)?(?:wants?|likes?|loves?|needs? to)\b",
    re.I,
)
ACTIVITY_VERB = re.compile(r"\b(?:play|do|try|go|join|start|be back|get back|take up|swim|walk|dance|cycle)\b", re.I)

SHORT_ANSWER = 12  # words: an answer shorter than this is placed together with the question it answers
ANSWER_MIN_WORDS = 3  # an answer to a question may be this short and still be placed
DEFAULT_SPEAKERS: dict[str, str] = {"OT": "OT", "client": "Client", "other": "Carer/family", "unknown": "Speaker"}
SPEAKER_NAME = DEFAULT_SPEAKERS  # the labels used when a template names none


@dataclass
class Utterance:
    """One sentence of one segment: ``text`` verbatim (the evidence), ``clean`` its clean-verbatim form."""

    segment: Segment
    text: str
    clean: str
    index: int = 0
    asked: str = ""  # the OT's question this sentence answers, if it opens the reply to one

    @property
    def placing_text(self) -> str:
        """What placement reads: a short answer is read with its question ("Some, but not enough.")."""
        return f"{self.asked} {self.clean}" if self.asked and self.words < SHORT_ANSWER else self.clean

    @property
    def words(self) -> int:
        return len(self.clean.split())


def split_sentences(text: str) -> list[str]:
    """Sentences of a segment, each a verbatim piece of it (works for lower-case ASR text too)."""
    out: list[str] = []
    for part in SENTENCE_BREAK.split(text.strip()):
        part = part.strip()
        if not part:
            continue
        if out and ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def clean_verbatim(text: str) -> str:
    """Delete hesitations, cut-off words and stutters; tidy spacing. Words are only ever removed."""
    out = DISFLUENCY.sub("", text)
    out = CUT_OFF.sub("", out)
    out = YOU_KNOW.sub(",", out)
    previous = None
    while previous != out:
        previous, out = out, STUTTER.sub(r"\1", out)
    out = re.sub(r"\s+([,.;:?!])", r"\1", out)
    out = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", out)
    out = re.sub(r"\s+", " ", out).strip(" ,;:-")
    out = re.sub(r"(?<![\w'])i(?![\w])", "I", out)
    out = re.sub(r"(?<![\w'])i'", "I'", out)
    return out[:1].upper() + out[1:] if out else out


def split_utterances(transcript: Transcript) -> list[Utterance]:
    out: list[Utterance] = []
    question = ""
    for segment in transcript.segments:
        sentences = split_sentences(segment.text)
        for n, sentence in enumerate(sentences):
            asked = question if n == 0 and segment.speaker != "OT" else ""
            out.append(Utterance(segment, sentence, clean_verbatim(sentence), len(out), asked))
        last = sentences[-1] if sentences else ""
        question = clean_verbatim(last) if segment.speaker == "OT" and last.rstrip().endswith("?") else ""
    return out


def about_someone_else(utterance: Utterance) -> bool:
    """A sentence that must not be written up as the person's own: a friend's illness, a carer's wish for them."""
    if utterance.segment.speaker == "client":
        return bool(SOMEONE_ELSE.match(utterance.text))
    if utterance.segment.speaker == "other":
        return bool(PROXY_WISH.search(utterance.text))
    return False


def _cue_pattern(cues: Sequence[str]) -> re.Pattern[str] | None:
    if not cues:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(c.lower()) for c in cues) + r")\b", re.I)


def statement_for(utterance: Utterance, speakers: dict[str, str] | None = None) -> Statement:
    """A concise statement that is the quote itself (clean verbatim), attributed: it cannot say more than was said."""
    who = (speakers or DEFAULT_SPEAKERS).get(utterance.segment.speaker, "Speaker")
    return Statement(
        text=f"{who}: “{utterance.clean}”",
        evidence=[Evidence(segment=utterance.segment.id, quote=utterance.text)],
    )


class OfflineDrafter:
    """Deterministic, never invents: every statement is a quote placed in a section.

    Sentences are placed by MiniLM similarity to each section's title and description plus
    a bonus for the section's cue words; each section keeps its best ``max_statements``
    sentences, in the order they were said. Questions from the OT, fillers, sentences the
    person says about someone else and a carer's claims about what the person wants (with the rest of
    that turn) are left out.
    """

    name = "offline"

    def __init__(
        self, embedder: Embedder, min_similarity: float = 0.28, cue_weight: float = 0.15, min_words: int = 4
    ) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.cue_weight = cue_weight
        self.min_words = min_words

    def candidates(self, transcript: Transcript) -> list[Utterance]:
        utterances = split_utterances(transcript)
        # the rest of a carer's turn that claims what the person wants is the reason for that claim
        # ("he doesn't want to dance now. He'd get the steps wrong"): left out with it
        proxy_turns = {u.segment.id for u in utterances if u.segment.speaker == "other" and about_someone_else(u)}
        return [
            u
            for u in utterances
            if (u.words >= self.min_words or (u.asked and u.words >= ANSWER_MIN_WORDS))
            and not FILLER.match(u.clean)
            and not self._is_question_only(u)
            and u.segment.id not in proxy_turns
            and not about_someone_else(u)
        ]

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embed in length order (batches pad to their longest sentence), return in the given order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = self.embedder.embed([texts[i] for i in order])
        out = np.empty_like(vectors)
        out[np.array(order, dtype=np.int64)] = vectors
        return out

    def draft(self, transcript: Transcript, template: Template) -> Draft:
        utterances = self.candidates(transcript)
        fillable = [s for s in template.sections if s.drafted_by == "transcript"]
        chosen: dict[str, list[tuple[float, Utterance]]] = {s.id: [] for s in fillable}
        if utterances and fillable:
            vectors = self._embed([u.placing_text for u in utterances])
            anchors = self.embedder.embed([f"{s.title}: {s.description}" for s in fillable])
            similarity = vectors @ anchors.T
            cues = [_cue_pattern(s.cues) for s in fillable]
            bonus = np.array(
                [
                    [self.cue_weight * min(2, len(p.findall(u.placing_text))) if p else 0.0 for p in cues]
                    for u in utterances
                ]
            )
            scores = similarity + bonus
            best = scores.argmax(axis=1)
            threshold = self.min_similarity if template.min_similarity is None else template.min_similarity
            for i, utterance in enumerate(utterances):
                j = int(best[i])
                if scores[i, j] >= threshold:
                    chosen[fillable[j].id].append((float(scores[i, j]), utterance))

        speakers = template.speakers or DEFAULT_SPEAKERS
        goals = self._goals(transcript) if template.goals else []
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
            picked = sorted(chosen.get(spec.id, []), key=lambda t: (-t[0], t[1].index))[: spec.max_statements]
            picked.sort(key=lambda t: t[1].index)
            statements = [statement_for(u, speakers) for _, u in picked]
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

    def _goals(self, transcript: Transcript) -> list[Goal]:
        return draft_goals(transcript)


def _person_speaker(transcript: Transcript) -> set[str]:
    """Whose wishes count: the client's; where nobody is labelled client, anyone's but the OT's."""
    speakers = {s.speaker for s in transcript.segments}
    return {"client"} if "client" in speakers else {"unknown"}


def draft_goals(transcript: Transcript) -> list[Goal]:
    """SMART goals (Bovend'Eerdt et al. 2009) from what the person says they want.

    The target activity comes from the person's own wish sentence, from its positive part only
    ("I want to give up the walking football", "I'm hoping to not have to do yoga" are not wishes for
    them). Where the wish names no activity ("I want to be back on the green") it may come from the
    person's own words just before it in the same turn, or from the OT's question just before, but
    only when the person's answer agrees to it ("Bowls?" "Yes. I want to be back on the green"), never
    from a suggestion they do not take up ("Would you try boccia?" "I want to go home really").
    A wish for two activities joined by "and", "or" or a comma ("the boccia group on my own, and swim once a
    week") gives a goal for each, each with what its own part of the sentence says.
    Quantified performance, support and time period are filled only where said in the wish sentence
    or the one right after it in the same turn (and that one only when it names no other activity, and,
    after a wish for two, only when it names this one); otherwise they stay visible "[to agree]" placeholders.
    """
    goals: list[Goal] = []
    seen: set[str] = set()
    activities = activity_list()
    people = _person_speaker(transcript)
    utterances = split_utterances(transcript)
    by_segment: dict[int, list[Utterance]] = {}
    for u in utterances:
        by_segment.setdefault(u.segment.id, []).append(u)
    positions = {s.id: i for i, s in enumerate(transcript.segments)}
    for utterance in utterances:
        if utterance.segment.speaker not in people or not WISH.search(utterance.text):
            continue
        if _negated_wish(utterance.text):
            continue
        # the next sentence of the turn: it may take the wish back, or say how much or when
        after = next((u for u in by_segment[utterance.segment.id] if u.index == utterance.index + 1), None)
        if after is not None and TAKEN_BACK.match(after.text):
            continue
        wished = " ".join(_wish_clauses(utterance.text))
        if not wished:
            continue
        heard = [Evidence(segment=utterance.segment.id, quote=utterance.text)]
        wishes = _wished_activities(wished)
        if not wishes and ACTIVITY_VERB.search(wished):
            found, context = _activity_nearby(transcript, positions[utterance.segment.id], by_segment, utterance)
            wishes = [(found[0], wished)] if found else []
            if context is not None:
                heard.append(Evidence(segment=context.segment.id, quote=context.text))
        if not wishes:
            continue
        # the next sentence speaks for a wish when it names only that activity, or, after a wish for one
        # activity, none (with two, "Twice a week" could be either)
        named_after = {c.label for c, _ in activities.mentions(after.text)} if after is not None else set()
        for concept, part in wishes:
            activity = concept.label
            if activity in seen:
                continue
            seen.add(activity)
            evidence = list(heard)
            # The wish sentence's turned-down part says nothing about the goal ("stop walking with a frame").
            window = [(utterance, part)]
            if after is not None and (named_after == {activity} or (not named_after and len(wishes) == 1)):
                window.append((after, after.text))
            parts: dict[str, str] = {}
            for key, pattern in (("measure", FREQUENCY), ("support", SUPPORT), ("timeframe", TIMEFRAME)):
                for u, said in window:
                    hit = _first(pattern, said)
                    if hit:
                        parts[key] = hit
                        if all(e.quote != u.text for e in evidence):
                            evidence.append(Evidence(segment=u.segment.id, quote=u.text))
                        break
            measure = parts.get("measure") or TO_AGREE
            support = parts.get("support") or TO_AGREE
            timeframe = parts.get("timeframe") or TO_AGREE
            goals.append(
                Goal(
                    text=f"{activity}: to take part in {activity.lower()}; how much: {measure}; support: {support}; "
                    f"by when: {timeframe}.",
                    activity=activity,
                    measure=measure,
                    support=support,
                    timeframe=timeframe,
                    evidence=evidence,
                )
            )
    return _fold_broader(goals)


# Between two activities a wish names, what makes the second a wish of its own: "I'd like to get to the
# boccia group on my own, and swim once a week again"; without it the second is part of the first ("walk to
# the swimming pool").
ALSO_WISHED = re.compile(r"[,;]|\b(?:and|or|then|also|as well as|plus)\b", re.I)


def _wished_activities(wished: str) -> list[tuple[Concept, str]]:
    """Each activity the wish clauses name, with the part of them about it: from the wish's start (for the
    first) or the last word that joins it on (for the others) up to the next one's."""
    parts: list[tuple[Concept, int]] = []
    previous_end = 0
    for concept, start, end in activity_list().first_named(wished):
        if not parts:
            parts.append((concept, 0))
        elif joins := list(ALSO_WISHED.finditer(wished, previous_end, start)):
            # the last joining word before it: "swimming, twice a week, and the boccia group" leaves "twice a
            # week" with the swimming
            parts.append((concept, joins[-1].start()))
        previous_end = end
    ends = [at for _, at in parts[1:]] + [len(wished)] if parts else []
    return [(concept, wished[at:end]) for (concept, at), end in zip(parts, ends, strict=True)]


def _fold_broader(goals: list[Goal]) -> list[Goal]:
    """One goal per activity the person wants: "Football" folds into "Walking Football" when both were wished
    for (the more specific goal keeps its own figures and gains the other's evidence)."""
    kept: list[Goal] = []
    for goal in goals:
        words = rf"\b{re.escape(goal.activity.lower())}\b"
        narrower = next((g for g in goals if g is not goal and re.search(words, g.activity.lower())), None)
        if narrower is None:
            kept.append(goal)
            continue
        extra = [e for e in goal.evidence if e not in narrower.evidence]
        narrower.evidence.extend(extra)
    return kept


def signposting_question(goal: Goal, town: str | None = None) -> str:
    """A question for the signposting service from a goal: its activity and the parts that are known.

    ``reconnect ask`` / ``Services.ask`` take it as it is; placeholders are left out, so an
    unagreed part never narrows the search.
    """
    parts = [goal.activity.lower()]
    if goal.support != TO_AGREE:
        parts.append(goal.support)
    if goal.measure != TO_AGREE:
        parts.append(goal.measure)
    if town:
        parts.append(f"in {town}")
    return " ".join(parts)


NEGATED_WISH = re.compile(
    r"\b(?:(?:don't|do not|never|wouldn't|would not|won't|no longer)\s+(?:really\s+)?(?:want|like|wanna)"
    r"|(?:not much|nothing|not anything)\b[^.?!]{0,12}\bwant)\b",
    re.I,
)
# What follows a wish phrase and turns it into a wish to be rid of something:
# "I want to give up / stop / quit …", "I'm hoping to not have to …", "I'd like to never …".
AVERSIVE = re.compile(
    r"\W*(?:(?:really|just|finally|be able to|try to)\s+)*"
    r"(?:not\b|never\b|no longer\b|give up\b|giving up\b|stop\b|stopping\b|quit\b|quitting\b|pack (?:in|up)\b"
    r"|cut (?:out|down)\b|get out of\b|avoid\b|be done with\b|finish with\b|get rid of\b|be rid of\b)",
    re.I,
)
# Something turned down before the first wish phrase of a sentence ("I don't want to do the gym, but ...")
TURNED_DOWN_BEFORE = re.compile(
    r"\b(?:not|never|no longer|[a-z]+n['’]t|give up|giving up|stop|stopped|quit|avoid|can['’]t stand|hate)\b", re.I
)
# An answer that takes up what the OT's question named ("Bowls?" "Yes. I want to be back on the green").
AGREES = re.compile(
    r"^\W*(?:yes|yeah|yep|definitely|absolutely|oh yes|that's (?:it|right|the one)|i'd love that|i would love that"
    r"|yes please)\b",
    re.I,
)


def _negated_wish(text: str) -> bool:
    """The sentence turns a wish down and states none ("I don't want to go swimming"); one that goes on to
    state one is not ("I don't want to go swimming, my goal is to walk to the shops")."""
    positive = re.search(r"\b(?:(?:i'd|i would) (?:really )?(?:love|like) to|my goal is|i(?:'m| am) hoping to)\b",
                         text, re.I)
    return bool(NEGATED_WISH.search(text)) and not positive


# A next sentence that takes the wish back: "Actually no.", "On second thoughts…", "Actually, I don't think I
# would." The wish before it is no goal.
TAKEN_BACK = re.compile(
    r"^\W*(?:actually,?\s+no\b|no,?\s+actually\b|on second thoughts?\b|scratch that\b|maybe not\b"
    r"|(?:actually,?\s+|no,?\s+)?i\s+(?:don'?t|do not)\s+think\s+i\s+(?:would|will|could|can)\b(?!\s+\w))",
    re.I,
)


def _wish_clauses(text: str) -> list[str]:
    """The parts of a sentence that wish for something: each wish phrase up to the next one (the first
    one from the sentence start: "Swimming, I'd love to get back to it"). A wish to give something up,
    stop it or not have to do it is left out, with what it names, but only up to the next clause: "I want
    to stop the gym and go swimming" still wishes for "go swimming"."""
    matches = _own_wishes(text)
    clauses = []
    for n, match in enumerate(matches):
        # the first wish reaches back to the sentence start ("Swimming, I'd love to get back to it"), but not
        # over something turned down before it ("I don't want to do the gym, but I'd love to go swimming")
        start = 0 if n == 0 and not TURNED_DOWN_BEFORE.search(text[: match.start()]) else match.start()
        end = matches[n + 1].start() if n + 1 < len(matches) else len(text)
        aversive = AVERSIVE.match(text, match.end())
        if aversive:
            start = _wish_resumes(text, aversive.end(), end)
        if start < end:
            clauses.append(text[start:end])
    return clauses


# Before a wish phrase in the same clause, what makes it no wish of the person's: a denial ("I don't think
# I want to", "I'm not sure I'd like to", "I can't get back to"; not "I can't wait to") and, for a phrase that
# does not say "I" itself ("get back to"), someone else's wish or advice ("my wife wants me to get back to",
# "the doctor said I should get back to", "she'd love to get back to"). Someone named before a wish that does
# say "I" leaves it the person's: "If they have a hoist, I'd love to go swimming".
DENIED = re.compile(r"\b(?:not|never|no longer|[a-z]+n['’]t|doubt)\b", re.I)
CANNOT_WAIT = re.compile(r"\bcan(?:['’]|no|\s+no)t\s+wait\b", re.I)
SOMEONE_ELSES = re.compile(
    r"\b(?:says?|said|saying|tells?|told|telling|reckons?|should|ought"
    r"|wants? me|want(?:ed)? me|(?:would|'d|['’]d) like me|he|she|they|he['’]d|she['’]d|they['’]d|he['’]s|she['’]s"
    r"|they['’]re|people|everyone|everybody|someone|somebody|(?:my|his|her|their|the) (?:wife|husband|partner"
    r"|daughter|son|carer|friend|mate|sister|brother|neighbour|mum|mother|dad|father|family|kids|children|doctor"
    r"|gp|physio|nurse|consultant|(?:social )?worker))\b",
    re.I,
)
# Where a clause starts: a comma, semicolon or colon, or "and", "but", "so".
CLAUSE_START = re.compile(r"[,;:]|\b(?:and|but|so)\b", re.I)


def _own_wishes(text: str) -> list[re.Match[str]]:
    """The wish phrases of a sentence that are the person's own and not denied: nothing in the clause before
    one says otherwise. A wish phrase right after another ("I'd love to get back to") goes with that one."""
    kept: list[re.Match[str]] = []
    previous: tuple[re.Match[str], bool] | None = None
    for match in WISH.finditer(text):
        if previous is not None and not text[previous[0].end() : match.start()].strip():
            own = previous[1]
        else:
            lead = text[: match.start()]
            lead = CANNOT_WAIT.sub(" ", lead[max((m.end() for m in CLAUSE_START.finditer(lead)), default=0) :])
            says_i = match.group().lower().startswith("i")
            own = not DENIED.search(lead) and (says_i or not SOMEONE_ELSES.search(lead))
        if own:
            kept.append(match)
        previous = (match, own)
    return kept


# Where a turned-down part ends: the next "and", "so", "but" or comma.
CLAUSE_BREAK = re.compile(r"\s*(?:,\s*(?:and|so|but)?|\b(?:and|so|but)\b)\s*", re.I)
# An aside that says nothing about what the person wants ("to be honest", "I mean", "you know"): it is no
# activity verb phrase, however much "to be honest" looks like "to ... be".
ASIDE = (
    r"(?:(?:if i['’]m|if i am|if i['’]m being|if i am being|to be|being|i['’]ll be|i will be|let['’]s be|let me be) "
    r"(?:honest|fair|frank|truthful)|to tell (?:you )?the truth|truth be told|i mean|you know|you see|mind you"
    r"|honestly|frankly|truthfully|i suppose|i guess|let['’]s face it)\b"
)
# What follows the break when the sentence goes back to wishing for something: an activity verb phrase
# ("and go swimming", "and join a walking group", "so I can walk to the park"), perhaps after an aside ("and,
# to be fair, go to the gym"); a further thing turned down ("give up the gym and the bowls", "stop going
# up and down the stairs"), with or without an aside before it ("give up the swimming, to be honest, and
# the gym"), names no verb and stays turned down.
WISH_RESUMES = re.compile(
    rf"(?:{ASIDE}[\s,]*)*(?!{ASIDE})"
    r"(?:(?:that|then|instead|also|just|maybe|actually|really|finally|to|be able to|i can|i could|i'll|i will"
    r"|start to|get to|try to|try and)\s+)*"
    r"(?:play|do|try|go|join|start|be|get|take up|swim|walk|dance|cycle|ride|run|keep|carry on|continue|learn"
    r"|visit|see|meet|spend|volunteer|garden|cook|bake|paint|sing|fish|bowl|drive|return|head|use)\b",
    re.I,
)


def _wish_resumes(text: str, start: int, end: int) -> int:
    """Where, after the turned-down part that starts at ``start``, the sentence wishes for something again
    (``end`` when it does not before ``end``)."""
    for brk in CLAUSE_BREAK.finditer(text, start, end):
        if WISH_RESUMES.match(text, brk.end(), end):
            return brk.end()
    return end


def _activity_nearby(
    transcript: Transcript, position: int, by_segment: dict[int, list[Utterance]], wish: Utterance
) -> tuple[list[Concept], Utterance | None]:
    """The activity named just before a wish that does not name one: the person's own words earlier in the
    same turn ("Bowls. I want to be back on the green"), or the OT's question just before it when the
    person's answer takes it up ("Bowls?" "Yes. I want to be back on the green"). A suggestion the person
    answers with something else ("Would you try boccia?" "I want to go home really") gives nothing."""
    activities = activity_list()
    turn = by_segment[wish.segment.id]
    nearby = [u for u in turn if u.index < wish.index]
    if position > 0 and transcript.segments[position - 1].speaker == "OT" and turn and AGREES.match(turn[0].text):
        nearby = by_segment.get(transcript.segments[position - 1].id, []) + nearby
    for u in reversed(nearby):
        found = [c for c, _ in activities.mentions(u.text)]
        if found:
            return found, u
    return [], None


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(0) if match else None


# ── model drafter ───────────────────────────────────────────────────────────


class _Out(BaseModel):
    """Part of a model's reply. A null for a field with a default ("measure": null, "statements": null) is
    that default, not a failed draft."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _nulls_as_defaults(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class _EvidenceOut(_Out):
    segment: int
    quote: str

    @field_validator("segment", mode="before")
    @classmethod
    def _segment_id(cls, value: Any) -> Any:
        """A segment id as a model may write it ("[3]", "3", "segment 3"); one with no number cites no segment
        (-1), so its quote is looked for in the transcript and the draft does not fail over it."""
        if isinstance(value, str):
            number = re.search(r"\d+", value)
            return int(number.group()) if number else -1
        return value


class _StatementOut(_Out):
    text: str
    evidence: list[_EvidenceOut] = Field(default_factory=list)


class _SectionOut(_Out):
    id: str
    text: str = ""
    statements: list[_StatementOut] = Field(default_factory=list)


class _GoalOut(_Out):
    text: str
    activity: str
    measure: str = TO_AGREE
    support: str = TO_AGREE
    timeframe: str = TO_AGREE
    evidence: list[_EvidenceOut] = Field(default_factory=list)


class DraftOut(_Out):
    """What a chat model must return."""

    sections: list[_SectionOut]
    goals: list[_GoalOut] = Field(default_factory=list)


def transcript_lines(transcript: Transcript) -> str:
    return "\n".join(f"[{s.id}] {SPEAKER_NAME[s.speaker]}: {s.text}" for s in transcript.segments)


class ModelDrafter:
    """A chat model drafts; only redacted text goes in; evidence is checked on the way out.

    A statement whose quote is not in the cited segment is flagged (``verify_evidence``);
    a quote that is in the transcript but cites the wrong segment is re-pointed to the right
    one. Each section's text is written from its checked statements (``compose_texts``), never
    from the model's own wording, so what the OT and the supervisor read says no more than
    the quotes do; unsupported lines stay visible, marked for checking. The analysis section
    stays the OT's: whatever the model drafts there is marked for the OT to complete. Token
    counts, time and cost are recorded in ``Draft.usage``.
    """

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat
        self.name = chat.name

    def draft(self, transcript: Transcript, template: Template) -> Draft:
        sections_text = "\n".join(f"{s.id}: {s.title} — {s.description}" for s in template.sections)
        system, user = template.prompt.render(transcript=transcript_lines(transcript), sections=sections_text)
        before = _usage_snapshot(self.chat)
        out = self.chat.structured(system, user, DraftOut)
        by_id: dict[str, _SectionOut] = {}
        sections: list[Section] = []
        warnings: list[str] = []
        for returned in out.sections:
            if returned.id in by_id:  # a section returned twice: keep what each says, in the order given
                first = by_id[returned.id]
                by_id[returned.id] = _SectionOut(
                    id=returned.id,
                    text="\n".join(t for t in (first.text.strip(), returned.text.strip()) if t),
                    statements=first.statements + returned.statements,
                )
            else:
                by_id[returned.id] = returned
        returned_times = Counter(s.id for s in out.sections)
        for sid, times in sorted(returned_times.items()):
            if times > 1:
                warnings.append(f"the model returned the '{sid}' section {times} times; all their statements are kept")
        known = {s.id for s in template.sections}
        for extra in sorted(set(by_id) - known):
            warnings.append(f"the model returned a section '{extra}' the template does not have; it was left out")
        model_text: dict[str, str] = {}
        for spec in template.sections:
            got = by_id.get(spec.id)
            statements = [
                Statement(text=st.text, evidence=[_locate(transcript, e.segment, e.quote) for e in st.evidence])
                for st in (got.statements if got else [])
            ]
            if spec.drafted_by == "ot":
                proposed = got.text.strip() if got is not None else ""
                text = f"{FOR_OT} (model draft): {proposed}" if proposed else FOR_OT
                sections.append(
                    Section(id=spec.id, title=spec.title, text=text, statements=statements, status="for_ot")
                )
                continue
            if got is None and spec.drafted_by != "goals":
                warnings.append(f"the model returned no '{spec.id}' section")
            model_text[spec.id] = got.text if got is not None else ""
            # the text is written from the statements once their evidence is checked (compose_texts)
            sections.append(Section(id=spec.id, title=spec.title, text=NOT_DISCUSSED, statements=statements))
        goals = [
            Goal(
                text=g.text,
                activity=g.activity,
                measure=g.measure or TO_AGREE,
                support=g.support or TO_AGREE,
                timeframe=g.timeframe or TO_AGREE,
                evidence=[_locate(transcript, e.segment, e.quote) for e in g.evidence],
            )
            for g in out.goals
        ]
        draft = Draft(
            template=template.id,
            template_version=template.version,
            sections=sections,
            goals=goals,
            drafter=self.name,
            warnings=warnings,
            usage=_usage_delta(before, self.chat),
        )
        goal_sections = {s.id for s in template.sections if s.drafted_by == "goals"}
        checked = compose_texts(verify_evidence(draft, transcript), goal_sections)
        by_section = {s.id: s for s in checked.sections}
        replaced = [sid for sid, text in model_text.items() if _says_more(text, by_section[sid])]
        if replaced:
            checked.warnings.append(
                f"the model's own wording of {', '.join(replaced)} said more than its quoted statements and is "
                "not shown: those sections are written from the statements alone"
            )
        unverified = sum(1 for s in checked.sections for st in s.statements if st.flagged) + sum(
            1 for g in checked.goals if g.flagged
        )
        if unverified:
            checked.warnings.append(
                f"{unverified} statement(s) have no quote found in the transcript that supports them: "
                f"flagged for the OT and marked {UNSUPPORTED_MARK} in the text"
            )
        return checked

    def refine(self, draft: Draft, transcript: Transcript, template: Template, instruction: str) -> Draft:
        """The OT's request in words ("make goal 2 more specific", "add that she uses a stick outdoors").

        The model gets the redacted transcript, the current draft and the request, and returns the
        whole note again; its evidence is checked exactly as for a first draft.
        """
        if not instruction.strip():
            raise BadInput("say what to change, for example: make goal 2 more specific")
        current = json.dumps(
            {
                "sections": [
                    {
                        "id": s.id,
                        "text": s.text,
                        "statements": [st.model_dump(exclude={"flagged"}) for st in s.statements],
                    }
                    for s in draft.sections
                ],
                "goals": [g.model_dump(exclude={"flagged"}) for g in draft.goals],
            },
            ensure_ascii=False,
        )
        refined = ModelDrafter(_Refining(self.chat, current, instruction))
        out = refined.draft(transcript, template)
        return out.model_copy(update={"drafter": self.name})


class _Refining:
    """Wraps a chat model so the prompt carries the current draft and the OT's request."""

    def __init__(self, chat: ChatModel, current: str, instruction: str) -> None:
        self.chat = chat
        self.name = chat.name
        self.usage = chat.usage
        self.current = current
        self.instruction = instruction

    def structured(self, system: str, user: str, schema: type[T]) -> T:
        user = (
            f"{user}\n\nThe current draft (JSON):\n{self.current}\n\n"
            f"The OT asks: {self.instruction}\n"
            "Return the whole note again with only that change; every statement still cites a verbatim quote."
        )
        return self.chat.structured(system, user, schema)


def _locate(transcript: Transcript, segment: int, quote: str) -> Evidence:
    """The evidence as cited, re-pointed to the segment that holds the quote if the model cited the wrong one.

    Only a meaningful quote is re-pointed (never "I" or "a"), and to a segment where it asserts something
    rather than one where the OT only asked it, when there is one.
    """
    pattern = _quote_pattern(quote)
    if pattern is not None and quote_is_meaningful(quote):
        cited = next((s for s in transcript.segments if s.id == segment), None)
        if not _matches(pattern, cited):
            holding = [(s, spans) for s in transcript.segments if (spans := _matches(pattern, s))]
            if holding:
                best = next((s for s, spans in holding if not _only_asks(s, spans)), holding[0][0])
                return Evidence(segment=best.id, quote=quote)
    return Evidence(segment=segment, quote=quote)


def _usage_snapshot(chat: ChatModel) -> dict[str, float]:
    usage = chat.usage
    return usage.as_dict() if hasattr(usage, "as_dict") else {}


def _usage_delta(before: dict[str, float], chat: ChatModel) -> dict[str, float]:
    after = _usage_snapshot(chat)
    return {k: round(v - before.get(k, 0.0), 6) for k, v in after.items()}
