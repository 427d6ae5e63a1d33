"""The OpenActive Activity List: the shared names for activities.

Used to name the activity in a goal ("I'd love to swim again" → Swimming) and to
expand the activity words in a signposting question with alternative, broader and
narrower labels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ACTIVITY_LIST = Path(__file__).resolve().parent.parent / "knowledge" / "vocab" / "activity-list.jsonld"

# Everyday verbs and words people use for an activity, mapped to its preferred label.
COLLOQUIAL: dict[str, str] = {
    "swim": "Swimming",
    "swimming": "Swimming",
    "the pool": "Swimming",
    "walk": "Walking",
    "walks": "Walking",
    "walking group": "Walking",
    "rambling": "Walking",
    "cycle": "Cycling",
    "cycling": "Cycling",
    "bike": "Cycling",
    "gym": "Gym",
    "dance": "Dance",
    "dancing": "Dance",
    "bowls": "Bowls",
    "bowling": "Bowls",
    "yoga": "Yoga",
    "tai chi": "Tai Chi",
    "football": "Football",
    "netball": "Netball",
    "aqua aerobics": "Aqua Fit",
    "aquafit": "Aqua Fit",
    "aqua fit": "Aqua Fit",
    "chair exercise": "Chair Based Exercise",
    "chair-based exercise": "Chair Based Exercise",
    "chair based exercise": "Chair Based Exercise",
    "seated exercise": "Chair Based Exercise",
    "ping pong": "Table Tennis",
    "falls prevention": "Falls and Exercise Management",
    "falls-prevention": "Falls and Exercise Management",
    "strength and balance": "Postural Stability Instruction",
    "health walk": "Walking",
    "health walks": "Walking",
    "handcycling": "Handcycling",
}

# Labels that are also everyday words in another sense ("the pool", "shooting hoops",
# "running late"): they help ranking but never, on their own, decide what is wanted.
AMBIGUOUS = frozenset({"pool", "shooting", "running", "air", "tap", "modern", "nova", "racing", "carnival"})
NEGATION = re.compile(r"\b(?:can't|cannot|can not|no longer|not|never|won't|unable to)\b(?:\s+\w+){0,3}\s*$", re.I)


@dataclass
class Concept:
    id: str
    label: str
    alt_labels: list[str] = field(default_factory=list)
    broader: list[str] = field(default_factory=list)
    narrower: list[str] = field(default_factory=list)
    definition: str = ""


class ActivityList:
    def __init__(self, path: Path = ACTIVITY_LIST) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.concepts: dict[str, Concept] = {}
        for raw in data["concept"]:
            concept = Concept(
                id=raw["id"],
                label=raw["prefLabel"],
                alt_labels=list(raw.get("altLabel", [])),
                broader=list(raw.get("broader", [])),
                narrower=list(raw.get("narrower", [])),
                definition=raw.get("definition", ""),
            )
            self.concepts[concept.id] = concept
        self.by_label: dict[str, Concept] = {}
        for concept in self.concepts.values():
            for name in (concept.label, *concept.alt_labels):
                self.by_label.setdefault(name.lower(), concept)
        for word, label in COLLOQUIAL.items():
            target = self.by_label.get(label.lower())
            if target is not None:
                self.by_label.setdefault(word, target)
        names = sorted(self.by_label, key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names if len(n) >= 3) + r")\b", re.I)

    def find(self, text: str) -> list[Concept]:
        """Concepts named in the text, longest names first, each once, in text order."""
        seen: dict[str, Concept] = {}
        for match in self._pattern.finditer(text):
            concept = self.by_label[match.group(1).lower()]
            seen.setdefault(concept.id, concept)
        return list(seen.values())

    def mentions(self, text: str) -> list[tuple[Concept, bool]]:
        """Concepts named in the text, each with whether it is a firm request.

        A mention is not firm when its label is an everyday word in another sense
        (``AMBIGUOUS``) or when it is negated ("his knees can't take running any more").
        Negated mentions are dropped altogether.
        """
        seen: dict[str, tuple[Concept, bool]] = {}
        for concept, match in self._named(text):
            word = match.group(1).lower()
            firm = word not in AMBIGUOUS and concept.label.lower() not in AMBIGUOUS
            previous = seen.get(concept.id)
            seen[concept.id] = (concept, firm or (previous is not None and previous[1]))
        return list(seen.values())

    def first_named(self, text: str) -> list[tuple[Concept, int, int]]:
        """Each concept named (not negated) in the text, once, with the start and end of its first
        mention, in text order."""
        seen: dict[str, tuple[Concept, int, int]] = {}
        for concept, match in self._named(text):
            seen.setdefault(concept.id, (concept, match.start(), match.end()))
        return list(seen.values())

    def _named(self, text: str) -> Iterator[tuple[Concept, re.Match[str]]]:
        for match in self._pattern.finditer(text):
            if not NEGATION.search(text[max(0, match.start() - 40) : match.start()]):
                yield self.by_label[match.group(1).lower()], match

    def family(self, concept: Concept, depth: int = 3) -> set[str]:
        """The concept's preferred and alternative labels and those of its narrower concepts, lower-cased."""
        labels = {concept.label.lower(), *(a.lower() for a in concept.alt_labels)}
        if depth > 0:
            for other_id in concept.narrower:
                other = self.concepts.get(other_id)
                if other is not None:
                    labels |= self.family(other, depth - 1)
        return labels

    def expand(self, concept: Concept) -> list[str]:
        """The concept's labels, its narrower concepts' labels and its broader concepts' labels."""
        labels = [concept.label, *concept.alt_labels]
        for other_id in (*concept.narrower, *concept.broader):
            other = self.concepts.get(other_id)
            if other is not None:
                labels.append(other.label)
        return labels


@lru_cache(maxsize=1)
def activity_list() -> ActivityList:
    return ActivityList()
