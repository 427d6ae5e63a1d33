"""Scoring a drafted note against a golden case: what an evaluator signs off on.

Per case, and for one prompt version and provider:

* **evidence found** — the share of cited quotes found verbatim in the segment they cite, checked here
  against the case's own segments (whole words; a one- or two-word quote must hold a word of four
  letters or more), never taken from the drafter's ``verified`` flag;
* **unsupported statements** — statements (and goals) with no such quote at all, or that the drafter
  itself flagged (a quote that is only the OT's question);
* **fact recall** — the share of the case's gold facts (key issues, risks, baselines) that a
  verified quote in the draft covers (same turn, at least 60 % of the fact's quote words);
  ``fact_in_section`` also asks that it is in the gold section;
* **false facts** — planted false facts (``must_not``) whose patterns match the draft's text;
* **goals name the activity** — gold goals for which a drafted goal names the same activity
  (OpenActive concept, or the words themselves);
* **sections** — required sections missing from the draft, sections the service's note does not
  have (``extra``), and sections the conversation covered but the draft left "Not discussed";
* SMART completeness of goals, ROUGE-L F1 against the reference note, words, seconds, tokens, and
  any direct identifier of the case found in what was sent to a model.

Nothing here calls a drafter: :func:`score_draft` takes the draft and what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.activities import activity_list
from assistant.evaluation.golden import GoldenCase
from assistant.records import Draft, Evidence

__all__ = [
    "METRICS",
    "CaseScore",
    "Metric",
    "aggregate",
    "draft_text",
    "score_draft",
]

TO_AGREE = "[to agree]"
FACT_OVERLAP = 0.6
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Metric:
    """One column of the comparison: how it reads, which way is better, how it is shown."""

    name: str
    label: str
    better: Literal["higher", "lower"]
    percent: bool = False
    description: str = ""

    def show(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        if self.percent:
            return f"{value * 100:.0f}%"
        if float(value).is_integer():
            return f"{value:.0f}"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("evidence_found", "evidence found", "higher", True, "cited quotes found verbatim in their segment"),
        Metric("fact_recall", "fact recall", "higher", True, "gold facts covered by a verified quote"),
        Metric("fact_in_section", "facts in gold section", "higher", True, "gold facts covered in their own section"),
        Metric("false_facts", "false facts", "lower", False, "planted false facts found in the draft (all cases)"),
        Metric(
            "unsupported_statements", "unsupported", "lower", False, "statements with no verified quote (all cases)"
        ),
        Metric(
            "goals_name_activity", "goals→activity", "higher", True, "gold goals whose activity a drafted goal names"
        ),
        Metric("sections_present", "sections present", "higher", True, "required sections the draft has"),
        Metric("missing_sections", "missing sections", "lower", False, "required sections absent (per case)"),
        Metric("extra_sections", "extra sections", "lower", False, "sections outside the service's note (per case)"),
        Metric("sections_filled", "sections filled", "higher", True, "discussed sections the draft filled"),
        Metric("smart_complete", "SMART parts", "higher", True, "goal parts stated rather than left to agree"),
        Metric("rouge_l", "ROUGE-L", "higher", False, "ROUGE-L F1 against the reference note"),
        Metric("schema_valid", "drafted", "higher", True, "cases drafted without an error"),
        Metric("pii_sent", "PII sent", "lower", False, "direct identifiers found in what was sent to a model"),
        Metric("words", "words", "lower", False, "words in the draft (mean per case)"),
        Metric("seconds", "seconds", "lower", False, "drafting time per case (mean)"),
        Metric("tokens", "tokens", "lower", False, "model tokens in + out per case (mean)"),
    )
}
TABLE_METRICS = (
    "evidence_found",
    "fact_recall",
    "false_facts",
    "unsupported_statements",
    "goals_name_activity",
    "missing_sections",
    "words",
    "seconds",
)


# ── per-case records ────────────────────────────────────────────────────────


class FactResult(BaseModel):
    group: str
    section: str
    fact: str
    quote: str
    found: bool
    found_in: list[str] = Field(default_factory=list, description="the draft sections whose quotes cover it")

    @property
    def in_section(self) -> bool:
        return self.section in self.found_in


class GoalResult(BaseModel):
    activity: str
    says: str
    found: bool
    drafted: str | None = None


class Unsupported(BaseModel):
    section: str
    text: str
    reason: str


class FalseFact(BaseModel):
    fact: str
    patterns: list[str]
    excerpt: str


class CaseScore(BaseModel):
    case: str
    title: str
    version: str
    provider: str
    error: str | None = None
    seconds: float = 0.0
    words: int = 0
    statements: int = 0
    evidence_quotes: int = 0
    evidence_verified: int = 0
    unsupported: list[Unsupported] = Field(default_factory=list)
    facts: list[FactResult] = Field(default_factory=list)
    goals: list[GoalResult] = Field(default_factory=list)
    goals_drafted: list[str] = Field(default_factory=list)
    smart_complete: float | None = None
    false_facts: list[FalseFact] = Field(default_factory=list)
    required_sections: int = 0
    missing_sections: list[str] = Field(default_factory=list)
    extra_sections: list[str] = Field(default_factory=list)
    discussed_sections: int = 0
    unfilled_sections: list[str] = Field(default_factory=list)
    rouge_l: float = 0.0
    pii_sent: list[str] = Field(default_factory=list)
    tokens: int = 0
    warnings: list[str] = Field(default_factory=list)

    @property
    def missed_facts(self) -> list[FactResult]:
        return [f for f in self.facts if not f.found]

    def metrics(self) -> dict[str, float | None]:
        """This case's value of every metric (fractions as 0..1; None where nothing was there to count)."""
        if self.error is not None:  # nothing drafted: its facts and goals count as missed
            missed = {"fact_recall": 0.0, "fact_in_section": 0.0, "goals_name_activity": 0.0, "schema_valid": 0.0}
            return {name: None for name in METRICS} | missed
        return {
            "evidence_found": _ratio(self.evidence_verified, self.evidence_quotes),
            "fact_recall": _ratio(sum(f.found for f in self.facts), len(self.facts)),
            "fact_in_section": _ratio(sum(f.in_section for f in self.facts), len(self.facts)),
            "false_facts": float(len(self.false_facts)),
            "unsupported_statements": float(len(self.unsupported)),
            "goals_name_activity": _ratio(sum(g.found for g in self.goals), len(self.goals)),
            "sections_present": _ratio(self.required_sections - len(self.missing_sections), self.required_sections),
            "missing_sections": float(len(self.missing_sections)),
            "extra_sections": float(len(self.extra_sections)),
            "sections_filled": _ratio(self.discussed_sections - len(self.unfilled_sections), self.discussed_sections),
            "smart_complete": self.smart_complete,
            "rouge_l": self.rouge_l,
            "schema_valid": 1.0,
            "pii_sent": float(len(self.pii_sent)),
            "words": float(self.words),
            "seconds": self.seconds,
            "tokens": float(self.tokens),
        }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ── text helpers ────────────────────────────────────────────────────────────


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[‘’]", "'", text)).strip().lower()


def _words(text: str) -> list[str]:
    return _WORD.findall(_norm(text))


def _quote_found(evidence: Evidence, segments: dict[int, str]) -> bool:
    """Checked here, never taken from the drafter's own ``verified`` flag: the quote is a run of whole
    words of the segment it cites, and says something (three words or more, or one word of four
    letters or more: "I" or "a" support nothing)."""
    segment = segments.get(evidence.segment)
    wanted = _words(evidence.quote)
    if segment is None or not wanted:
        return False
    if len(wanted) < 3 and not any(len(w) >= 4 or w.isdigit() for w in wanted):
        return False
    said = _words(segment)
    n = len(wanted)
    return any(said[i : i + n] == wanted for i in range(len(said) - n + 1))


def draft_text(draft: Draft) -> str:
    """The whole note as an OT would read it: section titles, texts, statements and goals."""
    parts: list[str] = []
    for section in draft.sections:
        parts.append(section.title)
        parts.append(section.text)
        parts.extend(st.text for st in section.statements if st.text not in section.text)
    parts.extend(goal.text for goal in draft.goals)
    return "\n".join(p for p in parts if p)


def _covers(fact_quote: str, evidence: Evidence) -> bool:
    wanted = set(_words(fact_quote))
    if not wanted:
        return False
    cited = _norm(evidence.quote)
    if _norm(fact_quote) in cited:
        return True
    return len(wanted & set(_words(evidence.quote))) / len(wanted) >= FACT_OVERLAP


@lru_cache(maxsize=512)
def _concepts(text: str) -> frozenset[str]:
    return frozenset(c.id for c in activity_list().find(text))


def _names_activity(gold_activity: str, drafted: str) -> bool:
    wanted = _concepts(gold_activity)
    if wanted and wanted & _concepts(drafted):
        return True
    return _norm(gold_activity) in _norm(drafted)


def _identifier_hits(payloads: Iterable[str], identifiers: Sequence[str]) -> list[str]:
    joined = "\n".join(payloads)
    found: list[str] = []
    for value in identifiers:
        if len(value) < 3:
            continue
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", joined, re.I) and value not in found:
            found.append(value)
    return found


def _rouge_l(candidate: str, reference: str) -> float:
    from rouge_score import rouge_scorer

    scorer = _scorer(rouge_scorer)
    return float(scorer.score(reference, candidate)["rougeL"].fmeasure)


@lru_cache(maxsize=1)
def _scorer(module: Any) -> Any:
    return module.RougeScorer(["rougeL"], use_stemmer=True)


def _excerpt(text: str, pattern: str, width: int = 60) -> str:
    match = re.search(pattern, text.lower())
    if match is None:
        return ""
    start, end = max(0, match.start() - width), min(len(text), match.end() + width)
    return ("…" if start else "") + text[start:end].replace("\n", " ") + ("…" if end < len(text) else "")


# ── scoring ─────────────────────────────────────────────────────────────────


def score_draft(
    case: GoldenCase,
    draft: Draft,
    *,
    version: str,
    provider: str,
    required_sections: Sequence[str],
    seconds: float,
    payloads: Sequence[str] = (),
) -> CaseScore:
    """Score one draft of ``case``; ``payloads`` is everything that was sent to a model (empty offline)."""
    text = draft_text(draft)
    transcript = case.to_transcript()
    segments_by_text = [(s.id, _norm(s.text)) for s in transcript.segments]

    segment_text = {s.id: s.text for s in transcript.segments}
    verified: list[tuple[str, Evidence]] = []
    quotes = 0
    unsupported: list[Unsupported] = []
    statements = 0
    cited = [(section.id, st.text, st.evidence, st.flagged) for section in draft.sections for st in section.statements]
    cited += [("goals", goal.text, goal.evidence, goal.flagged) for goal in draft.goals]
    for section_id, said, evidence, flagged in cited:
        statements += 1
        quotes += len(evidence)
        good = [e for e in evidence if _quote_found(e, segment_text)]
        verified += [(section_id, e) for e in good]
        if not good:
            reason = "no quote cited" if not evidence else "cited quote not found in that segment"
            unsupported.append(Unsupported(section=section_id, text=said, reason=reason))
        elif flagged:  # found, but the drafter itself says it does not support this (only the OT asked it)
            unsupported.append(Unsupported(section=section_id, text=said, reason=f"flagged by the drafter: {flagged}"))

    facts: list[FactResult] = []
    groups = (("key_issues", case.facts.key_issues), ("risks", case.facts.risks), ("baselines", case.facts.baselines))
    for group, items in groups:
        for fact in items:
            turns = {sid for sid, seg in segments_by_text if _norm(fact.quote) in seg}
            where = sorted({sec for sec, e in verified if e.segment in turns and _covers(fact.quote, e)})
            facts.append(
                FactResult(
                    group=group,
                    section=fact.section,
                    fact=fact.fact,
                    quote=fact.quote,
                    found=bool(where),
                    found_in=where,
                )
            )

    goal_texts = [f"{g.activity} {g.text}" for g in draft.goals]
    goals = []
    for gold in case.facts.goals:
        match = next((t for t in goal_texts if _names_activity(gold.activity, t)), None)
        goals.append(GoalResult(activity=gold.activity, says=gold.says, found=match is not None, drafted=match))
    smart: float | None = None
    if draft.goals:
        parts = [p for g in draft.goals for p in (g.activity, g.measure, g.support, g.timeframe)]
        smart = sum(bool(p.strip()) and TO_AGREE not in p for p in parts) / len(parts)

    false_facts = []
    for item in case.facts.must_not:
        hits = item.found_in(text)
        if hits:
            false_facts.append(FalseFact(fact=item.fact, patterns=hits, excerpt=_excerpt(text, hits[0])))

    present = {s.id for s in draft.sections}
    required = list(dict.fromkeys(required_sections))
    missing = [s for s in required if s not in present]
    extra = [s.id for s in draft.sections if required and s.id not in required]
    discussed = sorted({f.section for f in case.all_facts()} | ({"goals"} if case.facts.goals else set()))
    discussed = [s for s in discussed if s in required or not required]
    by_id = {s.id: s for s in draft.sections}
    unfilled = [s for s in discussed if s in by_id and by_id[s].status != "drafted"]

    return CaseScore(
        case=case.id,
        title=case.title,
        version=version,
        provider=provider,
        seconds=round(seconds, 3),
        words=len(text.split()),
        statements=statements,
        evidence_quotes=quotes,
        evidence_verified=len(verified),
        unsupported=unsupported,
        facts=facts,
        goals=goals,
        goals_drafted=[g.activity for g in draft.goals],
        smart_complete=smart,
        false_facts=false_facts,
        required_sections=len(required),
        missing_sections=missing,
        extra_sections=extra,
        discussed_sections=len([s for s in discussed if s in present]),
        unfilled_sections=unfilled,
        rouge_l=round(_rouge_l(text, case.reference_note), 4),
        pii_sent=_identifier_hits(payloads, case.known_identifiers()),
        tokens=int(draft.usage.get("input_tokens", 0) + draft.usage.get("output_tokens", 0)),
        warnings=list(draft.warnings),
    )


def error_score(
    case: GoldenCase, *, version: str, provider: str, error: str, seconds: float, payloads: Sequence[str] = ()
) -> CaseScore:
    """A case the drafter could not draft (bad model output, refused payload): it counts as a failure."""
    facts = [
        FactResult(group=group, section=f.section, fact=f.fact, quote=f.quote, found=False)
        for group, items in (
            ("key_issues", case.facts.key_issues),
            ("risks", case.facts.risks),
            ("baselines", case.facts.baselines),
        )
        for f in items
    ]
    goals = [GoalResult(activity=g.activity, says=g.says, found=False) for g in case.facts.goals]
    return CaseScore(
        case=case.id,
        title=case.title,
        version=version,
        provider=provider,
        error=error,
        seconds=round(seconds, 3),
        facts=facts,
        goals=goals,
        pii_sent=_identifier_hits(payloads, case.known_identifiers()),
    )


# ── per version ─────────────────────────────────────────────────────────────

# Counts are summed over cases (one false fact anywhere is one too many); ratios are pooled over
# everything counted (micro-averaged); sizes and times are means per case.
_SUMMED = {"false_facts", "unsupported_statements"}
_MEAN = {"missing_sections", "extra_sections", "smart_complete", "rouge_l", "words", "seconds", "tokens"}


def aggregate(scores: Sequence[CaseScore]) -> dict[str, float | None]:
    """One value per metric for a version, over its cases (a case that failed to draft counts against it)."""
    ok = [s for s in scores if s.error is None]
    out: dict[str, float | None] = {}
    out["pii_sent"] = float(sum(len(s.pii_sent) for s in scores))
    out["schema_valid"] = _ratio(len(ok), len(scores))
    pooled = {
        "evidence_found": (sum(s.evidence_verified for s in ok), sum(s.evidence_quotes for s in ok)),
        "fact_recall": (sum(sum(f.found for f in s.facts) for s in scores), sum(len(s.facts) for s in scores)),
        "fact_in_section": (sum(sum(f.in_section for f in s.facts) for s in scores), sum(len(s.facts) for s in scores)),
        "goals_name_activity": (sum(sum(g.found for g in s.goals) for s in scores), sum(len(s.goals) for s in scores)),
        "sections_present": (
            sum(s.required_sections - len(s.missing_sections) for s in ok),
            sum(s.required_sections for s in ok),
        ),
        "sections_filled": (
            sum(s.discussed_sections - len(s.unfilled_sections) for s in ok),
            sum(s.discussed_sections for s in ok),
        ),
    }
    for name, (part, whole) in pooled.items():
        out[name] = _ratio(part, whole)
    # A case that failed to draft lists its gold facts and goals as missed (see error_score).
    for name in _SUMMED:
        out[name] = float(sum(s.metrics()[name] or 0.0 for s in ok))
    for name in _MEAN:
        values = [v for v in (s.metrics()[name] for s in ok) if v is not None]
        out[name] = sum(values) / len(values) if values else None
    if not ok:
        out["evidence_found"] = 0.0
    return {name: out.get(name) for name in METRICS}
